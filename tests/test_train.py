"""Training: quantisation, straight-through export equal to the torch model, reproducibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from deepcrn.compile import compile_network
from deepcrn.errors import DataError
from deepcrn.exact import evaluate
from deepcrn.experiments.train import QuantMLP, TrainConfig, quantize, train_network


def test_quantize_sets() -> None:
    w = torch.tensor([-1.0, -0.6, -0.2, 0.0, 0.3, 0.5, 0.9])
    assert quantize(w, "binary").tolist() == [-1, -1, -1, 1, 1, 1, 1]
    assert quantize(w, "ternary").tolist() == [-1, -1, 0, 0, 0, 1, 1]
    assert quantize(w, "integer", levels=3).tolist() == [-3, -2, -1, 0, 1, 2, 3]


@pytest.mark.parametrize("kind", ["binary", "ternary", "integer"])
def test_export_equals_torch_eval_output(kind: str) -> None:
    gens = [torch.Generator().manual_seed(s) for s in (0, 1, 2)]
    model = QuantMLP((5, 7, 6, 3), kind, dropout=0.5, generators=gens)  # type: ignore[arg-type]
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_()  # type: ignore[operator]
    model.eval()
    x = np.random.default_rng(1).normal(size=(50, 5))
    with torch.no_grad():
        expected = model.double()(torch.tensor(x)).numpy()
    assert expected.shape == (3, 50, 3)
    for copy in range(3):
        net = model.to_network(copy=copy)
        assert net.weight_kind == kind
        np.testing.assert_allclose(net.forward(x), expected[copy], rtol=1e-12, atol=1e-12)
        # ... and the CRN compiled from the export computes the same.
        np.testing.assert_allclose(evaluate(compile_network(net), x), expected[copy], atol=1e-9)
    assert model.to_network(copy=0) != model.to_network(copy=1)  # each copy its own initial weights


def test_training_learns_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    config = TrainConfig(hidden=(4,), epochs=40, seed=3)
    a = train_network(x[:150], y[:150], x[150:], y[150:], 2, config, progress=False)
    b = train_network(x[:150], y[:150], x[150:], y[150:], 2, config, progress=False)
    assert a.network == b.network
    assert np.mean(a.network.predict(x[150:]) == y[150:]) >= 0.9
    assert len(a.history["loss"]) <= 40 and a.history["loss"][-1] < a.history["loss"][0]
    ce = train_network(
        x[:150], y[:150], x[150:], y[150:], 2, TrainConfig(hidden=(4,), epochs=40, loss="ce"), progress=False
    )
    assert np.mean(ce.network.predict(x[150:]) == y[150:]) >= 0.9


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def test_paper_settings_export_exactly() -> None:
    """Weights +-1 unscaled (H = 1): every layer's scale is 1 and the export is the torch model."""
    x, y = _blobs()
    config = TrainConfig(
        hidden=(4,), epochs=5, threshold=0.15, fan_in_scale=False, lr_scale="glorot", keep="last-best",
        drop_last=True, patience=None, dropout_in=0.1, dropout=0.05,
    )  # fmt: skip
    result = train_network(x, y, x, y, 3, config)
    assert [layer.scale for layer in result.network.layers] == [1.0, 1.0]
    model = QuantMLP((3, 4, 3), "ternary", fan_in_scale=False, threshold=0.15)
    model.eval()
    np.testing.assert_allclose(
        model.to_network().forward(x), model.double()(torch.tensor(x)).detach().numpy()[0], atol=1e-12
    )


@pytest.mark.parametrize(("kind", "fan_in_scale"), [("ternary", False), ("integer", False), ("binary", True)])
def test_weight_scale_exports_exactly_and_scales_outputs(kind: str, fan_in_scale: bool) -> None:
    """Weights +-h: each layer's exported scale is the unscaled one divided by h, the export is
    the torch model, and with zero biases the outputs scale by h**layers (ReLU is homogeneous)."""
    x = np.random.default_rng(3).normal(size=(40, 5))
    outputs = {}
    for h in (1.0, 0.25):
        torch.manual_seed(7)
        model = QuantMLP((5, 6, 4, 3), kind, fan_in_scale=fan_in_scale, weight_scale=h)  # type: ignore[arg-type]
        model.eval()
        net = model.to_network()
        levels = 3 if kind == "integer" else 1
        unscaled = [(np.sqrt(n) if fan_in_scale else 1.0) * levels for n in (5, 6, 4)]
        assert [layer.scale for layer in net.layers] == pytest.approx([d / h for d in unscaled], rel=1e-15)
        outputs[h] = model.double()(torch.tensor(x)).detach().numpy()[0]
        np.testing.assert_allclose(net.forward(x), outputs[h], rtol=1e-12, atol=1e-12)
    assert np.abs(outputs[1.0]).max() > 0
    np.testing.assert_allclose(outputs[0.25], outputs[1.0] * 0.25**3, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("h", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_weight_scale(h: float) -> None:
    x, y = _blobs()
    with pytest.raises(ValueError, match="weight_scale must be a finite number > 0"):
        train_network(x, y, x, y, 3, TrainConfig(hidden=(2,), epochs=1, weight_scale=h))


def test_diverged_training_is_a_clear_error() -> None:
    x, y = _blobs()
    with pytest.raises(DataError, match="training diverged: .* lower the learning rate or the weight scale"):
        train_network(x, y, x, y, 3, TrainConfig(hidden=(2,), epochs=2, lr=1e30))


def test_glorot_learning_rates() -> None:
    from deepcrn.experiments.train.layers import glorot_lr_scale
    from deepcrn.experiments.train.loop import _optimizer, make_model

    config = TrainConfig(hidden=(8,), lr=0.1, lr_scale="glorot")
    opt = _optimizer(make_model((2, 8, 2), config), config)
    lrs = [group["lr"] for group in opt.param_groups]
    # weights, bias of layer 1; weights, bias of layer 2: BinaryConnect's 1 / sqrt(1.5 / (n_in + n_out)).
    assert lrs == pytest.approx([0.1 * np.sqrt(10 / 1.5), 0.1, 0.1 * np.sqrt(10 / 1.5), 0.1])
    assert glorot_lr_scale(196, 64) == pytest.approx(np.sqrt(260 / 1.5))


def test_last_best_keeps_the_last_epoch_with_the_best_validation_accuracy() -> None:
    x, y = _blobs(1)
    for keep in ("last-best", "best"):
        result = train_network(
            x[:80], y[:80], x[80:], y[80:], 3, TrainConfig(hidden=(4,), epochs=30, keep=keep, patience=None, seed=2)
        )
        val = np.array(result.history["val_acc"])
        assert val[result.best_epoch] == val.max()
        if keep == "last-best":
            assert result.best_epoch == np.flatnonzero(val == val.max())[-1]


def test_sparsity_pressure_zeroes_weights() -> None:
    x, y = _blobs(2)
    base = TrainConfig(hidden=(8,), epochs=40, threshold=0.3, seed=1, patience=None)
    zeros = []
    for sparsity in (0.0, 1.0):
        net = train_network(x, y, x, y, 3, replace(base, sparsity=sparsity)).network
        zeros.append(sum(int((layer.weights == 0).sum()) for layer in net.layers))
    assert zeros[1] > zeros[0]


def test_restarts_follow_their_own_random_streams() -> None:
    """Each copy draws its initial weights, batch order and dropout masks from its own generator,
    as a single run with its seed does. With a zero learning rate the weights never move, so the
    networks must be identical and each epoch's loss (which depends on the order through the
    dropped last batch and on the masks) equal up to rounding: batched products may round
    differently from single ones, so no test asks for the bits of trained weights."""
    from deepcrn.experiments.train.loop import restart_seed

    x, y = _blobs(3)
    config = TrainConfig(
        hidden=(5,), epochs=6, seed=5, lr=0.0, patience=None, dropout=0.3, dropout_in=0.2, batch_size=7,
        drop_last=True,
    )  # fmt: skip
    three = train_network(x[:80], y[:80], x[80:], y[80:], 3, replace(config, restarts=3))
    seeds = (5, restart_seed(5, 1), restart_seed(5, 2))
    singles = [train_network(x[:80], y[:80], x[80:], y[80:], 3, replace(config, seed=s)) for s in seeds]
    assert singles[0].network != singles[1].network != singles[2].network
    chosen = singles[three.chosen]
    assert three.network == chosen.network
    np.testing.assert_allclose(three.history["loss"], chosen.history["loss"], rtol=1e-5)
    assert len(set(np.round(chosen.history["loss"], 6))) > 1  # the masks and orders change per epoch
    for a, b in zip(three.restart_scores, (single.restart_scores[0] for single in singles)):
        assert a == pytest.approx(b, abs=1.5 / 40)  # at most one example decided otherwise by rounding


@pytest.mark.parametrize("patience", [None, 3])
def test_restarts_keep_the_best_and_one_thread_is_restored(patience: int | None) -> None:
    x, y = _blobs(3)
    config = TrainConfig(hidden=(3,), epochs=15, seed=5, patience=patience, dropout=0.2, sparsity=0.01)
    before = torch.get_num_threads()
    three = train_network(x[:80], y[:80], x[80:], y[80:], 3, replace(config, restarts=3))
    assert torch.get_num_threads() == before
    scores = three.restart_scores
    assert len(scores) == 3 and three.chosen == max(range(3), key=lambda c: (scores[c], -c))
    kept = three.best_epoch
    assert (three.history["val_acc"][kept], three.history["train_acc"][kept]) == scores[three.chosen]
    net = three.network  # the chosen copy's kept weights, exported
    assert np.mean(net.predict(x[80:]) == y[80:]) == pytest.approx(scores[three.chosen][0], abs=1.5 / 40)
    if patience is not None:
        assert len(three.history["loss"]) <= 15
    again = train_network(x[:80], y[:80], x[80:], y[80:], 3, replace(config, restarts=3))
    assert again.network == three.network and again.restart_scores == scores
