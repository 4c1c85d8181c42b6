"""Hypothesis strategies and helpers shared by the tests: random networks of every weight kind."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from deepcrn.network import Layer, Network


def random_network(
    rng: np.random.Generator,
    kind: str,
    widths: list[int],
    zero_row: bool = False,
    zero_col: bool = False,
) -> Network:
    """Weights of ``kind`` (with optional all-zero rows/columns), biases negative, zero and positive."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        if kind == "binary":
            w = rng.choice([-1, 1], size=(n_in, n_out))
        elif kind == "ternary":
            w = rng.choice([-1, 0, 1], size=(n_in, n_out), p=[0.35, 0.3, 0.35])
        else:
            w = rng.integers(-3, 4, size=(n_in, n_out))
        if kind != "binary":
            if zero_row:
                w[rng.integers(n_in)] = 0
            if zero_col:
                w[:, rng.integers(n_out)] = 0
        bias = rng.normal(scale=1.5, size=n_out) * rng.choice([0.0, 1.0], size=n_out, p=[0.2, 0.8])
        scale = float(rng.choice([1.0, 2.0, 3.0, 0.5])) if kind == "integer" else 1.0
        last = i == len(widths) - 2
        layers.append(Layer(w, bias, "linear" if last else "relu", scale))
    return Network(tuple(layers), kind)  # type: ignore[arg-type]


@st.composite
def networks(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = ("binary", "ternary", "integer"),
    max_hidden: int = 4,
    max_width: int = 40,
) -> Network:
    kind = draw(st.sampled_from(kinds))
    hidden = draw(st.integers(1, max_hidden))
    widths = [draw(st.integers(1, max_width)) for _ in range(hidden + 2)]
    seed = draw(st.integers(0, 2**32 - 1))
    return random_network(
        np.random.default_rng(seed), kind, widths, zero_row=draw(st.booleans()), zero_col=draw(st.booleans())
    )


@st.composite
def inputs_for(draw: st.DrawFn, n_inputs: int, max_batch: int = 8) -> np.ndarray:
    """Inputs with zeros, negatives and positives."""
    batch = draw(st.integers(1, max_batch))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(scale=2.0, size=(batch, n_inputs))
    x[rng.random(size=x.shape) < 0.2] = 0.0
    return x


def magnitude(net: Network, x: np.ndarray) -> np.ndarray:
    """An upper bound on the size of every term the CRN adds up (for floating-point tolerances)."""
    h = np.abs(x)
    for layer in net.layers:
        h = h @ np.abs(layer.effective_weights) + np.abs(layer.bias)
    return 1.0 + h
