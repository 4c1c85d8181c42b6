"""Polishing: coordinate descent on a network's exact training loss (deepcrn.experiments.train.polish)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepcrn.experiments.train import TrainConfig, train_network
from deepcrn.experiments.train.polish import polish_network
from deepcrn.network import Layer, Network

from .strategies import random_network


def _objective(net: Network, x: np.ndarray, y: np.ndarray, loss: str, sparsity: float = 0.0) -> float:
    """The training loss of ``net`` written out in NumPy, plus training's L1 penalty on the
    quantised weights (integer weights count as ``w / 3``, the latent weight they round from)."""
    out = net.forward(x)
    if loss == "ce":
        shifted = out - out.max(1, keepdims=True)
        value = float(np.mean(np.log(np.exp(shifted).sum(1)) - shifted[np.arange(len(y)), y]))
    else:
        target = -np.ones_like(out)
        target[np.arange(len(y)), y] = 1.0
        value = float(np.mean(np.maximum(1.0 - target * out, 0.0) ** 2))
    unit = 3 if net.weight_kind == "integer" else 1
    return value + sparsity * sum(float(np.abs(layer.weights).mean()) / unit for layer in net.layers)


def _data(seed: int, n_in: int, n_classes: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in))
    y = (x @ rng.normal(size=(n_in, n_classes))).argmax(1)
    return x, y


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["binary", "ternary", "integer"]),
    widths=st.lists(st.integers(1, 6), min_size=1, max_size=2),
    loss=st.sampled_from(["hinge", "ce"]),
    sparsity=st.sampled_from([0.0, 0.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_polishing_lowers_the_exact_objective_and_keeps_the_network_kind(
    kind: str, widths: list[int], loss: str, sparsity: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x, y = _data(seed, 3, 3)
    net = random_network(rng, kind, [3, *widths, 3])
    done = polish_network(net, x, y, loss, sweeps=2, sparsity=sparsity)
    polished = done.network
    # The objective it reports is the one the networks have, recomputed independently.
    assert done.before == pytest.approx(_objective(net, x, y, loss, sparsity), rel=1e-9, abs=1e-12)
    assert done.after == pytest.approx(_objective(polished, x, y, loss, sparsity), rel=1e-9, abs=1e-12)
    assert done.after <= done.before
    assert (done.moves == 0) == (done.after == done.before)
    assert 1 <= done.sweeps <= 2
    # Same kind (Network checks the weight set), shapes, scales and activations.
    assert polished.weight_kind == kind and polished.shape == net.shape
    for old, new in zip(net.layers, polished.layers):
        assert (old.scale, old.activation) == (new.scale, new.activation)
        assert np.array_equal(new.weights, np.rint(new.weights))
    if kind == "integer":
        assert max(np.abs(layer.weights).max() for layer in polished.layers) <= 3


def test_polishing_improves_a_poor_network_and_is_deterministic() -> None:
    x, y = _data(0, 4, 3, n=200)
    net = random_network(np.random.default_rng(1), "ternary", [4, 6, 3])
    first = polish_network(net, x, y, "hinge", sweeps=20)
    again = polish_network(net, x, y, "hinge", sweeps=20)
    assert first.network == again.network and first.moves == again.moves
    before = np.mean(net.predict(x) == y)
    after = np.mean(first.network.predict(x) == y)
    assert after >= 0.8 > before
    assert first.after < 0.5 * first.before


def test_sparsity_makes_polishing_remove_weights() -> None:
    x, y = _data(2, 5, 2, n=100)
    net = random_network(np.random.default_rng(3), "ternary", [5, 8, 2])

    def nonzero(n: Network) -> int:
        return sum(int(np.count_nonzero(layer.weights)) for layer in n.layers)

    plain = polish_network(net, x, y, sweeps=5).network
    sparse = polish_network(net, x, y, sweeps=5, sparsity=5.0).network
    assert nonzero(sparse) < nonzero(plain)
    assert nonzero(sparse) < nonzero(net)


def test_training_polishes_when_asked() -> None:
    x, y = _data(4, 3, 3, n=150)
    config = TrainConfig(hidden=(4,), epochs=15, seed=5)
    plain = train_network(x[:100], y[:100], x[100:], y[100:], 3, config)
    polished = train_network(x[:100], y[:100], x[100:], y[100:], 3, replace(config, polish=3))
    assert plain.polish is None and polished.polish is not None
    # Polishing starts from the network training returns and only lowers its training loss.
    assert polished.polish["before"] == pytest.approx(_objective(plain.network, x[:100], y[:100], "hinge"), rel=1e-9)
    assert polished.polish["after"] == pytest.approx(_objective(polished.network, x[:100], y[:100], "hinge"), rel=1e-9)
    assert polished.polish["after"] <= polished.polish["before"]
    assert polished.network.extra == plain.network.extra


def test_degenerate_data_still_polishes_and_never_leaves_the_network_limits() -> None:
    net = random_network(np.random.default_rng(5), "ternary", [3, 4, 3])
    x, y = _data(6, 3, 3)
    # One example: its pre-activations have no spread; the bias ladder falls back to their size.
    one = polish_network(net, x[:1], y[:1], "hinge", sweeps=5)
    assert one.moves > 0 and one.after < one.before
    # Inputs so large that the first bias steps would pass the largest bias a network holds
    # (1e100): those steps are skipped, and overflowing candidates never win.
    for loss in ("hinge", "ce"):
        huge = polish_network(net, x * 1e99, y, loss, sweeps=2)
        assert huge.after <= huge.before
        assert all(np.abs(layer.bias).max() <= 1e100 for layer in huge.network.layers)


def test_the_bias_ladder_follows_the_layer_scales() -> None:
    """A neuron's bias steps are multiples of its pre-activation's spread; when that does not
    vary, of its value's size; when that is 0 too, of what one unit weight adds to it from unit
    inputs, 1 / (d_1 ... d_l). (Steps of 1 whatever the layers' scales took a bias thousands of
    moves on networks trained with a small --weight-scale.)"""
    from deepcrn.experiments.train.polish import _spread, _State

    x = np.random.default_rng(2).normal(size=(20, 2))
    net = Network(
        (
            Layer(np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros(2), "relu", 10.0),
            Layer(np.zeros((2, 2)), np.array([0.0, -0.5]), "linear", 100.0),
        ),
        "ternary",
    )
    state = _State(net, x, 0.0, 1)
    assert _spread(state, 0, 0) == pytest.approx(np.std(x[:, 0], ddof=1) / 10, rel=1e-12)
    assert (_spread(state, 0, 1), _spread(state, 1, 0), _spread(state, 1, 1)) == pytest.approx((0.1, 1e-3, 0.5))


def test_bad_arguments_are_refused() -> None:
    net = random_network(np.random.default_rng(0), "ternary", [3, 2, 3])
    x, y = _data(0, 3, 3)
    with pytest.raises(ValueError, match="sweeps must be 0 or more"):
        polish_network(net, x, y, sweeps=-1)
    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        polish_network(net, x, y, "mse")
    with pytest.raises(ValueError, match="polish must be 0 or more"):
        train_network(x, y, x, y, 3, TrainConfig(hidden=(2,), epochs=1, polish=-2))
    assert polish_network(net, x, y, sweeps=0).network == net
