"""Training: quantisation, straight-through export equal to the torch model, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepcrn.compile import compile_network
from deepcrn.exact import evaluate
from deepcrn.experiments.train import QuantMLP, TrainConfig, quantize, train_network


def test_quantize_sets() -> None:
    w = torch.tensor([-1.0, -0.6, -0.2, 0.0, 0.3, 0.5, 0.9])
    assert quantize(w, "binary").tolist() == [-1, -1, -1, 1, 1, 1, 1]
    assert quantize(w, "ternary").tolist() == [-1, -1, 0, 0, 0, 1, 1]
    assert quantize(w, "integer", levels=3).tolist() == [-3, -2, -1, 0, 1, 2, 3]


@pytest.mark.parametrize("kind", ["binary", "ternary", "integer"])
def test_export_equals_torch_eval_output(kind: str) -> None:
    torch.manual_seed(0)
    model = QuantMLP((5, 7, 6, 3), kind, dropout=0.5)  # type: ignore[arg-type]
    with torch.no_grad():
        for layer in model.layers:
            layer.bias.normal_()  # type: ignore[operator]
    model.eval()
    net = model.to_network()
    assert net.weight_kind == kind
    x = np.random.default_rng(1).normal(size=(50, 5))
    with torch.no_grad():
        expected = model.double()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(net.forward(x), expected, rtol=1e-12, atol=1e-12)
    # ... and the CRN compiled from the export computes the same.
    np.testing.assert_allclose(evaluate(compile_network(net), x), expected, atol=1e-9)


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
