"""Prove that a CRN computes a network for every input, not just on test examples.

:func:`~deepcrn.exact.circuit.relu_circuit` derives from a CRN's reactions alone the ReLU
circuit its equilibrium computes. :func:`verify_equivalence` writes the network in the same
canonical form (integer weights ``Z``, biases ``b * d_1 * ... * d_l``, nodes no output depends
on dropped, nodes grouped in layers by depth, zero columns left out) and compares the two: the integer
weights must be identical and the biases equal up to rounding. If they are, the CRN's
equilibrium outputs equal the network's outputs for every input (within the declared lower
bounds of shifted inputs), whatever the rate constants. The compiler is not involved, so this
checks it.

A CRN that computes the network in some other arrangement (nodes in another order, or another
tool's encoding) is reported as *not proven*, which is not the same as different; compare
outputs with ``deepcrn evaluate`` then.

Example (a CRN written by hand: relu(x) - relu(-x) is x)::

    >>> from deepcrn.interop.text import parse_crn
    >>> from deepcrn.network import from_dict
    >>> net = from_dict({"format": "deepcrn-network", "version": 1, "layers": [
    ...     {"weights": [[1, -1]], "bias": [0, 0], "activation": "relu"},
    ...     {"weights": [[1], [-1]], "bias": [0], "activation": "linear"}]})
    >>> crn = parse_crn('''
    ...     input x = X_p - X_n
    ...     output y = Y_p - Y_n
    ...     X_p -> A + B_n
    ...     X_n -> A_n + B
    ...     A -> MA + Y_p
    ...     MA + A_n -> Y_n
    ...     B -> MB + Y_n
    ...     MB + B_n -> Y_p''')
    >>> verify_equivalence(net, crn).reason.split(":")[0]
    "the CRN's ReLU circuit is the network"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crn import CRN
from .exact.circuit import ReluCircuit, Stage, live_groups, relu_circuit, stage
from .network import Network


@dataclass(frozen=True)
class Equivalence:
    """The verdict: ``equivalent`` and, in words, what was proven or the first difference."""

    equivalent: bool
    reason: str
    widths: tuple[int, ...] = ()
    max_bias_diff: float = 0.0


def network_stages(net: Network) -> tuple[list[Stage], Stage, float]:
    """The network in the canonical form of :func:`~deepcrn.exact.circuit.relu_circuit`:
    (ReLU layers, output stage, output scale)."""
    hidden = net.layers[:-1]
    n_nodes = sum(layer.n_out for layer in hidden)
    n_out, n0 = net.n_outputs, 1 + net.n_inputs
    table = np.zeros((n_out + n_nodes, n0 + n_nodes))
    scale = 1.0
    first = 0  # first node of the layer feeding the current one (-1: the inputs)
    order: list[list[int]] = []
    for depth, layer in enumerate(net.layers):
        scale *= layer.scale
        last = depth == len(net.layers) - 1
        start = sum(len(group) for group in order)
        rows = list(range(n_out)) if last else [n_out + start + j for j in range(layer.n_out)]
        table[rows, 0] = layer.bias * scale
        reads = range(1, n0) if depth == 0 else range(n0 + first, n0 + first + layer.n_in)
        table[np.ix_(rows, list(reads))] = layer.weights.T
        if not last:
            first = start
            order.append(list(range(start, start + layer.n_out)))
    groups = live_groups(table, n_out, n0, order)
    inputs_part = table[:, 1:n0]
    layers = [stage(table, inputs_part, [n_out + k for k in group], n0, groups) for group in groups]
    return layers, stage(table, inputs_part, list(range(n_out)), n0, groups), scale


def _magnitudes(stages: list[Stage]) -> list[np.ndarray]:
    """Per stage, the size of the terms its biases sum up (the network at input 0, in absolute
    values): the scale of their rounding."""
    sizes: list[np.ndarray] = []
    for s in stages:
        size = np.abs(s.bias).copy()
        for block in s.blocks:
            if block.source > 0:
                prev = sizes[block.source - 1]
                size += (prev if block.columns is None else prev[block.columns]) @ np.abs(block.weights)
        sizes.append(size)
    return sizes


def _input_bias(circuit: ReluCircuit, s: Stage) -> np.ndarray | str:
    """``s``'s bias in terms of the inputs ``x`` rather than ``x - offset``, or why it cannot be."""
    bias = s.bias.copy()
    offsets = np.array([spec.offset for spec in circuit.crn.inputs])
    for block in s.blocks:
        if block.source != 0:
            continue
        cols = range(len(circuit.input_columns)) if block.columns is None else block.columns
        for row, c in enumerate(cols):
            k, kind = circuit.input_columns[int(c)]
            if kind != 0:
                return f"input {circuit.crn.inputs[k].name}'s two rails are read separately"
            bias -= block.weights[row] * offsets[k]
    return bias


def verify_equivalence(net: Network, crn: CRN, rtol: float = 1e-9, circuit: ReluCircuit | None = None) -> Equivalence:
    """Whether ``crn``'s ReLU circuit is ``net`` (module docstring).

    Biases may differ by ``rtol`` times the size of the terms they sum. ``circuit``: ``crn``'s,
    if already built. Raises :class:`~deepcrn.errors.CRNError` if the CRN's equilibrium depends
    on its rates and :class:`~deepcrn.errors.CircuitError` if it has no circuit.
    """
    if len(crn.inputs) != net.n_inputs or len(crn.outputs) != net.n_outputs:
        return Equivalence(
            False,
            f"the CRN has {len(crn.inputs)} inputs and {len(crn.outputs)} outputs, "
            f"the network {net.n_inputs} and {net.n_outputs}",
        )
    circuit = circuit or relu_circuit(crn)
    layers, output, scale = network_stages(net)
    widths = tuple(len(s.bias) for s in layers)
    if circuit.widths != widths:
        return Equivalence(
            False, f"ReLU nodes per layer: CRN {list(circuit.widths)}, network {list(widths)}", circuit.widths
        )
    if not np.allclose(circuit.scale, scale, rtol=1e-12, atol=0.0):
        return Equivalence(False, f"output scale: CRN {circuit.scale.tolist()}, network {scale}", widths)
    mine, theirs = [*circuit.layers, circuit.output], [*layers, output]
    sizes = _magnitudes(theirs)
    worst = 0.0
    for depth, (a, b, size) in enumerate(zip(mine, theirs, sizes), start=1):
        where = "the outputs" if depth == len(mine) else f"ReLU layer {depth}"
        if [blk.source for blk in a.blocks] != [blk.source for blk in b.blocks]:
            return Equivalence(False, f"{where} read other sources", widths)
        for x, y in zip(a.blocks, b.blocks):
            same_cols = (x.columns is None and y.columns is None) or (
                x.columns is not None and y.columns is not None and np.array_equal(x.columns, y.columns)
            )
            if not same_cols or not np.array_equal(x.weights, y.weights):
                return Equivalence(False, f"{where}: weights from source {x.source} differ", widths)
        bias = _input_bias(circuit, a)
        if isinstance(bias, str):
            return Equivalence(False, f"not proven: {bias}", widths)
        diff = np.abs(bias - b.bias)
        worst = max(worst, float(diff.max(initial=0.0)))
        bad = np.flatnonzero(diff > rtol * (1.0 + size))
        if len(bad):
            node = int(bad[0])
            return Equivalence(
                False,
                f"{where}, node {node}: bias {bias[node]:.17g} in the CRN, {b.bias[node]:.17g} in the network",
                widths,
            )
    n_weights = circuit.multiply_adds
    return Equivalence(
        True,
        f"the CRN's ReLU circuit is the network: {len(widths)} ReLU layer{'' if len(widths) == 1 else 's'} "
        f"({'-'.join(map(str, widths)) or 'none'}), "
        f"{n_weights} integer weights identical, biases within {worst:.2g}; its equilibrium outputs equal "
        "the network's for every input, under any rates",
        widths,
        worst,
    )
