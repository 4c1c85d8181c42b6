"""Exact equilibrium outputs of a CRN as a ReLU circuit, derived from its reactions alone.

In a non-competitive, feed-forward CRN every reaction fires once, to completion. When each
reaction is either *linear* (one reactant, coefficient 1: its extent is the amount of that
reactant) or a *min* reaction (two distinct reactants, coefficient 1 each: its extent is the
smaller amount), every final concentration is a linear function of the inputs and of the
extents of the min reactions. Writing each such extent as ``min(a, b) = a - relu(a - b)`` and
collecting terms turns the CRN into a circuit: one ReLU node per min reaction, in layers (by
depth among the min reactions), each node reading ``a - b`` as a weighted sum of the inputs and of earlier nodes, and
each output a weighted sum of the same.

The weights are sums of products of stoichiometric coefficients, so the algebra is done on
integers (held in float64 and checked to stay below 2**53, where float64 arithmetic on integers
is exact) and terms that cancel vanish exactly. Which reactant plays ``a`` does not change any
value, only which terms cancel; each layer of min reactions keeps the choice that leaves fewer
terms. For a CRN
compiled from a ReLU network the forwarded copies cancel and the circuit is the network again
(the paper's correctness theorem, recovered from the reactions): evaluating it costs one matrix
product per layer, like the network's forward pass. It gives the output values only;
:class:`~deepcrn.exact.fire.FiringPlan` gives every species' final amount.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn('''
    ...     input x = X_p - X_n
    ...     output y = Y_p - Y_n
    ...     X_p -> I_p
    ...     X_n -> I_n
    ...     I_p -> M + Y_p
    ...     M + I_n -> Y_n''')
    >>> circuit = relu_circuit(crn)
    >>> circuit.widths, circuit.evaluate(np.array([[2.0], [-3.0]])).ravel().tolist()
    ((1,), [2.0, 0.0])

CRNs outside this class (catalysts, reactant coefficients above 1, three reactants) raise
:class:`~deepcrn.errors.CircuitError`; :func:`deepcrn.exact.evaluate` then fires the reactions
instead (:class:`~deepcrn.exact.fire.FiringPlan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve_triangular

from ..analysis import check_rate_independent, circuit_class, reaction_levels
from ..crn import CRN
from ..errors import CircuitError
from ..io_map import check_finite, input_values

EXACT_LIMIT = 2.0**53  # float64 holds every integer below this exactly
CHUNK = 65_536  # examples per block: bounds memory to CHUNK * (widest layer) * 8 bytes


@dataclass(frozen=True)
class Block:
    """One weighted sum: ``source[:, columns] @ weights``."""

    source: int  # 0: the input block, k >= 1: the ReLU nodes of layer k
    columns: np.ndarray | None  # the source columns read (None: all of them)
    weights: np.ndarray  # (n_read, n_nodes), integer values


@dataclass(frozen=True)
class Stage:
    """A layer of nodes (or the outputs): the sum of its blocks plus ``bias``."""

    blocks: tuple[Block, ...]
    bias: np.ndarray  # (n_nodes,)


class ReluCircuit:
    """The circuit a CRN computes at equilibrium (see the module docstring); built by
    :func:`relu_circuit`, evaluated by :meth:`evaluate`."""

    def __init__(
        self,
        crn: CRN,
        input_columns: list[tuple[int, int]],
        layers: list[Stage],
        output: Stage,
        nodes: list[list[int]],
    ) -> None:
        self.crn = crn  # the CRN the circuit was derived from
        # Input block column c holds input k's value (kind 0), its positive rail (1) or its
        # negative rail (2); the block is the validated values themselves when it can be.
        self.input_columns = input_columns
        self._identity = input_columns == [(k, 0) for k in range(len(crn.inputs))]
        self.layers = layers
        self.output = output
        self.nodes = nodes  # indices of the min reactions that are each layer's nodes
        self.scale = np.array([o.scale for o in crn.outputs])

    @property
    def widths(self) -> tuple[int, ...]:
        """ReLU nodes per layer."""
        return tuple(len(stage.bias) for stage in self.layers)

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds per example that matter: the non-zero weights (blocks are stored dense)."""
        return sum(int(np.count_nonzero(b.weights)) for stage in [*self.layers, self.output] for b in stage.blocks)

    def _input_block(self, values: np.ndarray) -> np.ndarray:
        if self._identity:
            return values
        block = np.empty((len(values), len(self.input_columns)))
        for c, (k, kind) in enumerate(self.input_columns):
            v = values[:, k]
            block[:, c] = v if kind == 0 else np.maximum(v if kind == 1 else -v, 0.0)
        return block

    @staticmethod
    def _apply(stage: Stage, sources: list[np.ndarray], n: int) -> np.ndarray:
        acc = None
        for block in stage.blocks:
            src = sources[block.source]
            term = (src if block.columns is None else src[:, block.columns]) @ block.weights
            acc = term if acc is None else np.add(acc, term, out=acc)
        if acc is None:
            return np.repeat(stage.bias[None, :], n, axis=0)
        acc += stage.bias
        return acc

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray:
        """Output values at equilibrium, shape ``(batch, n_outputs)``, for inputs
        ``(batch, n_inputs)`` (checked like :func:`~deepcrn.io_map.input_values`)."""
        if x is None:
            values = np.zeros((1, len(self.crn.inputs)))
        else:
            values = input_values(self.crn, x)
        out = np.empty((len(values), len(self.crn.outputs)))
        for start in range(0, len(values), CHUNK):
            part = values[start : start + CHUNK]
            sources = [self._input_block(part)]
            for stage in self.layers:
                h = self._apply(stage, sources, len(part))
                sources.append(np.maximum(h, 0.0, out=h))
            out[start : start + CHUNK] = self._apply(self.output, sources, len(part)) / self.scale
        return check_finite(out, "the outputs")


def _rows(matrix: sp.csr_matrix, rows: list[int]) -> sp.csr_matrix:
    return matrix[rows] if rows else sp.csr_matrix((0, matrix.shape[1]))


def _inexact(values: np.ndarray) -> bool:
    """Whether integer coefficients (every column but the constants' column 0) reach 2**53."""
    return values.shape[1] > 1 and values.shape[0] > 0 and float(np.abs(values[:, 1:]).max()) >= EXACT_LIMIT


def _exact_product(a: np.ndarray | sp.spmatrix, b: np.ndarray, what: str) -> np.ndarray:
    """``a @ b`` for integer-valued ``a`` and ``b`` (column 0 of ``b`` excepted: constants),
    refusing when a partial sum could leave float64's exact integers."""
    bound = abs(a) @ np.abs(b[:, 1:])
    if bound.size and float(np.max(bound)) >= EXACT_LIMIT:
        raise CircuitError(f"{what}: coefficients exceed 2**53, so the algebra would not be exact")
    return np.asarray(a @ b)


_DEEP = 200  # more levels than this: extents by one triangular solve instead of level by level
_DENSE_LIMIT = 50_000_000  # largest dense (reactions x basis) table the circuit builds (400 MB)


def _extents_by_level(
    crn: CRN, levels: list[list[int]], kinds: list[int], start: Any, min_col: dict[int, int], n_basis: int
) -> np.ndarray:
    """Every reaction's extent as an expression ``(n_reactions, n_basis)``, level by level with
    sparse matrices: a linear reaction's extent is its reactant's amount when it fires (initial
    amount plus what earlier reactions made), a min reaction's extent is its own column. Cheap
    when levels are few (compiled networks), whatever their width."""
    index, n_reactions = crn.index, len(crn.reactions)
    _, produced = crn.stoichiometry
    extent = sp.csr_matrix((n_reactions, n_basis))
    for group in levels:
        linear = [i for i in group if kinds[i] == 1]
        level_mins = [i for i in group if kinds[i] == 2]
        names = [crn.reactions[i].reactants[0][0] for i in linear]
        amounts = start(names) + _rows(produced, [index[n] for n in names]) @ extent
        units = sp.csr_matrix(
            (np.ones(len(level_mins)), (np.arange(len(level_mins)), [min_col[i] for i in level_mins])),
            shape=(len(level_mins), n_basis),
        )
        place = sp.csr_matrix(
            (np.ones(len(group)), (linear + level_mins, np.arange(len(group)))), shape=(n_reactions, len(group))
        )
        extent = (extent + place @ sp.vstack([amounts, units])).tocsr()
    return extent.toarray()


def _extents_by_solve(
    crn: CRN, levels: list[list[int]], kinds: list[int], start: Any, min_col: dict[int, int], n_basis: int
) -> np.ndarray:
    """The same extents from one sparse triangular solve, ``E = B + P E`` with reactions in
    topological order (``P``: what earlier reactions add to a linear reaction's reactant,
    ``B``: initial amounts, or a min reaction's own column): linear in the size of the CRN
    however deep it is (a chain of a million reactions)."""
    index, n = crn.index, len(crn.reactions)
    _, produced = crn.stoichiometry
    linear = [i for i in range(n) if kinds[i] == 1]
    mins = [i for i in range(n) if kinds[i] == 2]
    names = [crn.reactions[i].reactants[0][0] for i in linear]
    base = np.zeros((n, n_basis))
    base[linear] = start(names).toarray()
    base[mins, [min_col[i] for i in mins]] = 1.0
    feeds = _rows(produced, [index[name] for name in names]).tocoo()  # (linear, reactions)
    rows = np.asarray(linear, dtype=np.int64)[feeds.row]
    p = sp.csr_matrix((feeds.data, (rows, feeds.col)), shape=(n, n))
    order = np.concatenate([np.asarray(g, dtype=np.int64) for g in levels])
    lower = (sp.identity(n, format="csr") - p)[order][:, order].tocsr()
    solved = spsolve_triangular(lower, base[order], lower=True)
    extent = np.empty_like(solved)
    extent[order] = solved
    return extent


def relu_circuit(crn: CRN) -> ReluCircuit:
    """The ReLU circuit of ``crn``'s equilibrium outputs (module docstring).

    Raises :class:`~deepcrn.errors.CRNError` if the CRN's final state depends on its rates and
    :class:`~deepcrn.errors.CircuitError` if it has a reaction outside the circuit's class.
    """
    check_rate_independent(crn)
    reason = circuit_class(crn)
    if reason is not None:
        raise CircuitError(reason)
    index = crn.index
    kinds = [len(r.reactants) for r in crn.reactions]  # 1: linear, 2: min

    # Basis of every expression: a constant 1, the input species' encoded amounts, then one
    # column per min reaction (its extent, later its ReLU node).
    n_reactions = len(crn.reactions)
    input_cols: dict[str, int] = {}
    for spec in crn.inputs:
        for name in (spec.pos, spec.neg):
            if name is not None:
                input_cols[name] = 1 + len(input_cols)
    mins = [i for i, k in enumerate(kinds) if k == 2]
    n0 = 1 + len(input_cols)
    min_col = {r: n0 + k for k, r in enumerate(mins)}
    n_basis = n0 + len(mins)

    def start(names: list[str]) -> sp.csr_matrix:
        """Initial amounts of ``names`` as expressions: init * 1 (+ the input's amount)."""
        terms = [(k, 0, crn.init[name]) for k, name in enumerate(names) if name in crn.init]
        terms += [(k, input_cols[name], 1.0) for k, name in enumerate(names) if name in input_cols]
        rows, cols, vals = zip(*terms) if terms else ((), (), ())
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(names), n_basis))

    consumed, produced = crn.stoichiometry

    table_size = max(n_reactions, len(mins) + len(crn.outputs)) * n_basis
    if table_size > _DENSE_LIMIT:
        raise CircuitError(
            f"{len(mins)} min reactions over {n_reactions} reactions make tables of {table_size:.3g} entries, "
            f"beyond the circuit's limit of {_DENSE_LIMIT:g}"
        )
    levels = reaction_levels(crn)
    min_levels = [[i for i in group if kinds[i] == 2] for group in levels]
    min_levels = [group for group in min_levels if group]
    if len(levels) > _DEEP:
        dense_extent = _extents_by_solve(crn, levels, kinds, start, min_col, n_basis)
    else:
        dense_extent = _extents_by_level(crn, levels, kinds, start, min_col, n_basis)
    a_expr = np.zeros((len(mins), n_basis))
    b_expr = np.zeros((len(mins), n_basis))
    min_row = {r: k for k, r in enumerate(mins)}
    for side, expr in ((0, a_expr), (1, b_expr)):
        if mins:
            names = [crn.reactions[i].reactants[side][0] for i in mins]
            expr[:] = start(names).toarray() + _rows(produced, [index[n] for n in names]) @ dense_extent
    # Amounts only add non-negative terms, so bounding the results bounds every partial sum.
    for what, values in (("extent", dense_extent), ("reactant amount", a_expr), ("reactant amount", b_expr)):
        if _inexact(values):
            raise CircuitError(f"{what} coefficients exceed 2**53, so the algebra would not be exact")

    net_change = (produced - consumed).tocsr()
    pos = [index[o.pos] for o in crn.outputs]
    neg = [index[o.neg] for o in crn.outputs]
    final = (start([o.pos for o in crn.outputs]) - start([o.neg for o in crn.outputs])).toarray()
    final += _exact_product(_rows(net_change, pos) - _rows(net_change, neg), dense_extent, "outputs")

    # Group the min reactions by depth among min reactions (1 + the deepest one whose extent
    # their reactants' amounts include): nodes of one layer are substituted together, since the
    # copies they forward cancel only jointly, even where they fire at different levels.
    depth = np.zeros(len(mins), dtype=np.int64)
    for level in min_levels:
        for k in (min_row[i] for i in level):
            reads = np.flatnonzero(np.any(np.stack([a_expr[k, n0:], b_expr[k, n0:]]) != 0.0, axis=0))
            depth[k] = 1 + (int(depth[reads].max()) if len(reads) else 0)
    layers = [np.flatnonzero(depth == d).tolist() for d in range(1, int(depth.max(initial=0)) + 1)]

    # Substitute extents by ReLU nodes, deepest layer first: extent = a - relu(a - b), or b's
    # way round, whichever leaves fewer terms in the rows that read the layer.
    n_out = len(crn.outputs)
    table = np.vstack([final, a_expr - b_expr])  # outputs, then each node's pre-activation
    for ks in reversed(layers):
        cols = [n0 + k for k in ks]
        readers = np.flatnonzero(np.any(table[:, cols] != 0.0, axis=1))
        coef = table[readers][:, cols]
        rest = table[readers]
        rest[:, cols] = 0.0
        best = None
        for side, expr in ((0, a_expr), (1, b_expr)):
            trial = rest + _exact_product(coef, expr[ks], "ReLU layer")
            trial[:, cols] = -coef
            terms = np.count_nonzero(trial[:, 1:])
            if best is None or terms < best[0]:
                best = (terms, side, trial)
        assert best is not None
        _, side, trial = best
        table[readers] = trial
        if side == 1:  # the node reads b - a
            table[[n_out + k for k in ks]] *= -1.0
        if _inexact(table[readers]):
            raise CircuitError("circuit weights exceed 2**53, so the algebra would not be exact")

    groups = live_groups(table, n_out, n0, layers)
    used_rows = list(range(n_out)) + [n_out + k for group in groups for k in group]

    # Input block: a dual-rail input whose two rails always carry opposite weights reads the
    # value itself (pos - neg = x - offset exactly); otherwise each rail is its own column.
    input_columns: list[tuple[int, int]] = []
    in_weights: list[np.ndarray] = []
    for k, spec in enumerate(crn.inputs):
        p = table[:, input_cols[spec.pos]]
        if spec.neg is None:
            input_columns.append((k, 0))  # a shifted single rail's amount is its value
            in_weights.append(p)
            continue
        n = table[:, input_cols[spec.neg]]
        if np.array_equal(p[used_rows], -n[used_rows]):
            input_columns.append((k, 0))
            in_weights.append(p)
        else:
            input_columns += [(k, 1), (k, 2)]
            in_weights += [p, n]
    inputs_part = np.stack(in_weights, axis=1) if in_weights else np.zeros((len(table), 0))

    stages = [stage(table, inputs_part, [n_out + k for k in group], n0, groups) for group in groups]
    nodes = [[mins[k] for k in group] for group in groups]
    output = stage(table, inputs_part, list(range(n_out)), n0, groups)
    return ReluCircuit(crn, input_columns, stages, output, nodes)


def live_groups(table: np.ndarray, n_out: int, n0: int, order: list[list[int]]) -> list[list[int]]:
    """The nodes no output depends on dropped, the rest grouped in layers by depth in the circuit
    (1 + the deepest node they read), which can be shallower than their group in ``order`` (e.g. a
    node fed by biases only).

    ``table``: one row per output, then one per node (its pre-activation); columns: the constant,
    the input block up to ``n0``, then one per node. ``order``: groups of nodes, each node's row
    reading only nodes of earlier groups.
    """
    n_nodes = table.shape[1] - n0
    depth = np.zeros(n_nodes, dtype=np.int64)
    for group in order:
        for k in group:
            reads = np.flatnonzero(table[n_out + k, n0:])
            depth[k] = 1 + (int(depth[reads].max()) if len(reads) else 0)
    live = np.zeros(n_nodes, dtype=bool)
    live[np.flatnonzero(np.any(table[:n_out, n0:] != 0.0, axis=0))] = True
    for group in reversed(order):
        for k in group:
            if live[k]:
                live[np.flatnonzero(table[n_out + k, n0:])] = True
    groups = [np.flatnonzero(live & (depth == d)).tolist() for d in range(1, int(depth.max(initial=0)) + 1)]
    return [group for group in groups if group]


def stage(table: np.ndarray, inputs_part: np.ndarray, rows: list[int], n0: int, groups: list[list[int]]) -> Stage:
    """The weighted sums of ``table``'s ``rows``: one dense block per source they read (the
    input block ``inputs_part``, or a group of nodes), keeping only the columns read."""
    blocks = []
    parts = [inputs_part[rows]] + [table[np.ix_(rows, [n0 + k for k in group])] for group in groups]
    for source, part in enumerate(parts):
        used = np.flatnonzero(np.any(part != 0.0, axis=0))
        if len(used) == 0:
            continue
        columns = None if len(used) == part.shape[1] else used
        weights = np.ascontiguousarray((part if columns is None else part[:, used]).T)
        blocks.append(Block(source, columns, weights))
    return Stage(tuple(blocks), table[rows, 0].copy())
