"""Pruning keeps the function exactly, for every input, and the CRN of a pruned network is proven."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from deepcrn.compile import compile_network
from deepcrn.network import Layer, Network
from deepcrn.prune import prune
from deepcrn.verify import verify_equivalence

from .strategies import magnitude, random_network


def _net(w1: list[list[int]], b1: list[float], w2: list[list[int]], b2: list[float], kind: str = "ternary") -> Network:
    return Network(
        (Layer(np.array(w1), np.array(b1), "relu"), Layer(np.array(w2), np.array(b2), "linear")),
        kind,  # type: ignore[arg-type]
    )


def test_each_rule() -> None:
    # Neuron 1 has no fan-out, neuron 2 is constant relu(1.5) = 1.5, neuron 3 repeats neuron 0.
    net = _net([[1, -1, 0, 1], [0, 1, 0, 0]], [0.5, 0.2, 1.5, 0.5], [[1, 0], [0, 0], [1, -1], [1, 1]], [0.0, 0.0])
    small, report = prune(net)
    assert report.removed == {"no fan-out": 1, "constant": 1, "never active": 0, "duplicate": 1}
    assert small.shape == (2, 1, 2) and report.before == (4,) and report.after == (1,)
    np.testing.assert_array_equal(small.layers[1].weights, [[2, 1]])  # merged: now integer weights
    assert small.weight_kind == "integer"
    np.testing.assert_allclose(small.layers[1].bias, [1.5, -1.5])
    # Never active: a second-layer neuron whose inputs (ReLU outputs, >= 0) only lower it.
    deep = Network(
        (
            Layer(np.array([[1, -1]]), np.array([0.0, 0.0]), "relu"),
            Layer(np.array([[-1, 1], [0, 1]]), np.array([-0.5, 0.1]), "relu"),
            Layer(np.array([[1], [1]]), np.array([0.0]), "linear"),
        ),
        "ternary",
    )
    small, report = prune(deep)
    assert report.removed["never active"] == 1 and small.shape == (1, 2, 1, 1)
    x = np.linspace(-5, 5, 41)[:, None]
    np.testing.assert_array_equal(small.forward(x), deep.forward(x))
    # The first layer's inputs may be negative: the same pattern there is kept.
    assert prune(_net([[-1, 1]], [-0.5, 0.0], [[1], [1]], [0.0]))[0].shape == (1, 2, 1)


def test_nothing_to_prune_is_the_same_network() -> None:
    net = _net([[1, -1], [1, 1]], [0.5, -0.5], [[1, 0], [0, 1]], [0.1, 0.2])
    small, report = prune(net)
    assert small == net and sum(report.removed.values()) == 0


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["binary", "ternary", "integer"]),
    st.lists(st.integers(1, 12), min_size=1, max_size=3),
)
def test_pruned_network_computes_the_same_and_compiles_to_a_proven_crn(seed: int, kind: str, hidden: list[int]) -> None:
    rng = np.random.default_rng(seed)
    widths = [3, *hidden, 2]
    net = random_network(rng, kind, widths, zero_row=True, zero_col=True)
    # Duplicate a hidden neuron of the first layer, so the duplicate rule has work to do.
    first = net.layers[0]
    w = np.column_stack([first.weights, first.weights[:, :1]])
    b = np.append(first.bias, first.bias[0])
    nxt = net.layers[1]
    net = Network(
        (
            Layer(w, b, "relu", first.scale),
            Layer(np.vstack([nxt.weights, nxt.weights[:1]]), nxt.bias, nxt.activation, nxt.scale),
            *net.layers[2:],
        ),
        net.weight_kind,
    )
    small, report = prune(net)
    assert sum(report.removed.values()) >= 1  # the copy goes, by one rule or another
    assert all(a <= b for a, b in zip(small.shape, net.shape)) and small.shape[0] == 3 and small.shape[-1] == 2
    x = rng.normal(scale=3.0, size=(64, 3))
    x[rng.random(x.shape) < 0.2] = 0.0
    np.testing.assert_allclose(small.forward(x), net.forward(x), rtol=0, atol=1e-12 * magnitude(net, x).max())
    assert verify_equivalence(small, compile_network(small)).equivalent
