"""Hypothesis strategies and helpers shared by the tests: random networks of every weight kind."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from deepcrn.cli import main
from deepcrn.crn import CRN, InputSpec, OutputSpec, Reaction
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


@st.composite
def random_crns(draw: st.DrawFn, general: bool = False) -> CRN:
    """Non-competitive, feed-forward CRNs of linear and min reactions that no compiler wrote:
    species made by several reactions, initial amounts anywhere, outputs on any species.
    ``general``: also reactant coefficients of 2, three reactants and catalysts (a species a
    reaction needs but gives back, which any number of reactions may share)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_inputs = int(rng.integers(1, 4))
    species: list[str] = []
    inputs = []
    for k in range(n_inputs):
        if rng.random() < 0.7:
            species += [f"X{k}p", f"X{k}n"]
            inputs.append(InputSpec(f"x{k}", f"X{k}p", f"X{k}n", float(rng.choice([0.0, 0.5]))))
        else:
            species.append(f"X{k}")
            inputs.append(InputSpec(f"x{k}", f"X{k}", None, -3.0))
    pool = list(species)  # made or given, not yet consumed
    shared: list[str] = []  # catalysts: never consumed, so never back in the pool
    reactions = []
    for _ in range(int(rng.integers(1, 12))):
        if not pool:
            break
        arity = min(len(pool), int(rng.integers(1, 4 if general else 3)))
        picks = rng.choice(len(pool), size=arity, replace=False)
        reactants = [pool[int(i)] for i in picks]
        pool = [s for s in pool if s not in reactants]
        coefs = [int(rng.choice([1, 2])) if general else 1 for _ in reactants]
        catalysts = []
        if general and rng.random() < 0.4:
            pick = rng.random()
            if pick < 0.3 and pool:  # a species made upstream: it arrives while the reaction runs
                catalysts.append(pool.pop(int(rng.integers(len(pool)))))
            elif pick < 0.6 and shared:
                catalysts.append(shared[int(rng.integers(len(shared)))])
            else:
                catalysts.append(f"C{len(species)}")
                species.append(catalysts[-1])
            shared.append(catalysts[-1])
        products = [(c, 1) for c in catalysts]
        for _ in range(int(rng.integers(0, 4))):
            if pool and rng.random() < 0.4:
                name = pool[int(rng.integers(len(pool)))]
            else:
                name = f"S{len(species)}"
                species.append(name)
                pool.append(name)
            products.append((name, int(rng.integers(1, 4))))
        reactions.append(Reaction(tuple(zip(reactants + catalysts, coefs + [1] * len(catalysts))), tuple(products)))
    init = {s: float(rng.choice([0.0, 0.7, 2.0])) for s in species if not s.startswith("X") and rng.random() < 0.4}
    init.update({s: float(rng.choice([0.0, 0.3, 1.0])) for s in species if s.startswith("C")})
    outputs = []
    for j in range(int(rng.integers(1, 3))):
        pos, neg = rng.choice(len(species), size=2, replace=False) if len(species) > 1 else (0, 0)
        if pos == neg:
            species.append(f"Z{j}")
            neg = len(species) - 1
        outputs.append(OutputSpec(f"y{j}", species[int(pos)], species[int(neg)], float(rng.choice([1.0, 3.0]))))
    return CRN(tuple(species), tuple(reactions), init, tuple(inputs), tuple(outputs))


def run_cli(args: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``deepcrn ARGS`` in this process; its exit code, stdout and stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
