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

from ..analysis import check_rate_independent, circuit_class, net_stoichiometry, reactant_terms, reaction_levels
from ..crn import CRN
from ..errors import CircuitError, DataError
from ..io_map import MAX_COUNT, check_finite, input_values

EXACT_LIMIT = 2.0**53  # float64 holds every integer below this exactly
_FLOAT_EXACT = 2.0**52  # sums bounded by this are exact in float64, with margin for the bound's own rounding
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

    def evaluate_counts(self, counts: np.ndarray) -> np.ndarray:
        """``count(O+) - count(O-)`` at the equilibrium, int64 ``(batch, n_outputs)``, given each
        input's count ``rint(N * (x - offset))``, int64 ``(batch, n_inputs)``, for a circuit derived
        with ``integer_constants`` from a CRN whose initial amounts are molecule counts and whose
        input species declare no initial amount (so that each rail's count is ``max(+-count, 0)``).

        Exact integer arithmetic: each weighted sum runs in float64 where every partial sum is
        bounded below 2**52, else in int64; a :class:`~deepcrn.errors.DataError` where a sum could
        pass :data:`~deepcrn.io_map.MAX_COUNT`."""
        counts = np.atleast_2d(np.asarray(counts, dtype=np.int64))
        out = np.empty((len(counts), len(self.crn.outputs)), dtype=np.int64)
        for start in range(0, len(counts), CHUNK):
            part = counts[start : start + CHUNK]
            block = np.empty((len(part), len(self.input_columns)), dtype=np.int64)
            for c, (k, kind) in enumerate(self.input_columns):
                v = part[:, k]
                block[:, c] = v if kind == 0 else np.maximum(v if kind == 1 else -v, 0)
            sources = [block]
            for stage in self.layers:
                sources.append(np.maximum(self._apply_exact(stage, sources, len(part)), 0))
            out[start : start + CHUNK] = self._apply_exact(self.output, sources, len(part))
        return out

    @staticmethod
    def _apply_exact(stage: Stage, sources: list[np.ndarray], n: int) -> np.ndarray:
        reads = [
            (sources[b.source] if b.columns is None else sources[b.source][:, b.columns], b.weights)
            for b in stage.blocks
        ]
        bound = np.repeat(np.abs(stage.bias)[None, :], n, axis=0)
        for src, w in reads:
            bound += np.abs(src).astype(np.float64) @ np.abs(w)
        top = float(bound.max(initial=0.0))
        if top < _FLOAT_EXACT:
            acc = np.repeat(stage.bias[None, :], n, axis=0)
            for src, w in reads:
                acc += src.astype(np.float64) @ w
            return acc.astype(np.int64)
        if not top <= MAX_COUNT:
            raise DataError(
                f"a weighted sum of molecule counts could reach {top:.3g}, more than the {MAX_COUNT:.3g} that exact "
                "integer (int64) arithmetic can hold; use fewer molecules per unit"
            )
        total = np.repeat(stage.bias.astype(np.int64)[None, :], n, axis=0)
        for src, w in reads:
            total += src @ w.astype(np.int64)
        return total


def _rows(matrix: sp.csr_matrix, rows: list[int]) -> sp.csr_matrix:
    return matrix[rows] if rows else sp.csr_matrix((0, matrix.shape[1]))


def _max_abs(values: np.ndarray | sp.spmatrix, first: int = 1) -> float:
    """The largest ``|value|`` in columns from ``first`` (1 leaves out the constants' column 0)."""
    if values.shape[1] <= first or values.shape[0] == 0:
        return 0.0
    if sp.issparse(values):
        csr = sp.csr_matrix(values)
        return float(np.max(np.abs(csr.data[csr.indices >= first]), initial=0.0))
    part = values[:, first:]
    return float(max(part.max(), -part.min()))


def _inexact(values: np.ndarray | sp.spmatrix, first: int = 1) -> bool:
    """Whether integer coefficients (columns from ``first``) reach 2**53."""
    data = np.asarray(values.data if sp.issparse(values) else values)
    if data.size == 0 or max(data.max(), -data.min()) < EXACT_LIMIT:  # every column below: none of them reach it
        return False
    return _max_abs(values, first) >= EXACT_LIMIT


def _exact_product(a: np.ndarray | sp.spmatrix, b: np.ndarray | sp.spmatrix, what: str, first: int = 1) -> np.ndarray:
    """``a @ b`` (dense) for integer-valued ``a`` and ``b`` (columns of ``b`` before ``first``
    excepted: constants), refusing when a partial sum could leave float64's exact integers.
    Every partial sum is at most ``|a| @ |b|``, itself at most (largest row sum of ``|a|``) x
    (largest ``|b|``); the exact bound is computed only when that cheap one reaches 2**53."""
    rows = abs(a).sum(axis=1) if sp.issparse(a) else np.abs(a).sum(axis=1)
    if float(np.max(np.asarray(rows), initial=0.0)) * _max_abs(b, first) >= EXACT_LIMIT:
        bound = abs(a) @ abs(b[:, first:])
        top = 0.0 if 0 in bound.shape else bound.max() if sp.issparse(bound) else np.max(bound)
        if float(top) >= EXACT_LIMIT:
            raise CircuitError(f"{what}: coefficients exceed 2**53, so the algebra would not be exact")
    product = a @ b
    return product.toarray() if sp.issparse(product) else np.asarray(product)


_DEEP = 200  # more levels than this: extents by one triangular solve instead of level by level
_SAMPLE = 64  # reader rows on which a layer's substitution picks its side
_DENSE_LIMIT = 50_000_000  # largest dense (reactions x basis) table the circuit builds (400 MB)


def _extents_by_level(
    crn: CRN, levels: list[list[int]], kinds: np.ndarray, reactant: np.ndarray, start: Any, min_col: np.ndarray
) -> sp.csr_matrix:
    """Every reaction's extent as an expression ``(n_reactions, n_basis)``, level by level with
    sparse matrices: a linear reaction's extent is its reactant's amount when it fires (initial
    amount plus what earlier reactions made), a min reaction's extent is its own column. Cheap
    when levels are few (compiled networks), whatever their width. ``reactant``: each
    reaction's first reactant (species index); ``min_col``: each min reaction's basis column."""
    n_reactions, n_basis = len(kinds), start(np.zeros(0, dtype=np.int64)).shape[1]
    _, produced = crn.stoichiometry
    done = np.zeros(0, dtype=np.int64)  # reactions with extents so far, in the order of ``stacked``'s rows
    blocks: list[sp.csr_matrix] = []
    stacked = sp.csr_matrix((0, n_basis))
    for group in levels:
        members = np.asarray(group, dtype=np.int64)
        linear, level_mins = members[kinds[members] == 1], members[kinds[members] == 2]
        amounts = start(reactant[linear]) + produced[reactant[linear]][:, done] @ stacked
        units = sp.csr_matrix(
            (np.ones(len(level_mins)), (np.arange(len(level_mins)), min_col[level_mins])),
            shape=(len(level_mins), n_basis),
        )
        blocks += [sp.csr_matrix(amounts), units]
        done = np.concatenate([done, linear, level_mins])
        stacked = sp.vstack(blocks, format="csr")
    where = np.empty(n_reactions, dtype=np.int64)
    where[done] = np.arange(len(done))
    return stacked[where]


def _extents_by_solve(
    crn: CRN, levels: list[list[int]], kinds: np.ndarray, reactant: np.ndarray, start: Any, min_col: np.ndarray
) -> sp.csr_matrix:
    """The same extents from one sparse triangular solve, ``E = B + P E`` with reactions in
    topological order (``P``: what earlier reactions add to a linear reaction's reactant,
    ``B``: initial amounts, or a min reaction's own column): linear in the size of the CRN
    however deep it is (a chain of a million reactions)."""
    n = len(kinds)
    _, produced = crn.stoichiometry
    linear, mins = np.flatnonzero(kinds == 1), np.flatnonzero(kinds == 2)
    first = start(reactant[linear]).toarray()
    base = np.zeros((n, first.shape[1]))
    base[linear] = first
    base[mins, min_col[mins]] = 1.0
    feeds = produced[reactant[linear]].tocoo()  # (linear, reactions)
    p = sp.csr_matrix((feeds.data, (linear[feeds.row], feeds.col)), shape=(n, n))
    order = np.concatenate([np.asarray(g, dtype=np.int64) for g in levels])
    lower = (sp.identity(n, format="csr") - p)[order][:, order].tocsr()
    solved = spsolve_triangular(lower, base[order], lower=True)
    extent = np.empty_like(solved)
    extent[order] = solved
    return sp.csr_matrix(extent)


def relu_circuit(crn: CRN, *, integer_constants: bool = False) -> ReluCircuit:
    """The ReLU circuit of ``crn``'s equilibrium outputs (module docstring).

    ``integer_constants``: the CRN's initial amounts are whole numbers (molecule counts), and
    the biases must stay exact integers too (a :class:`~deepcrn.errors.CircuitError` when they
    would pass 2**53), so that :meth:`ReluCircuit.evaluate_counts` is exact.

    Raises :class:`~deepcrn.errors.CRNError` if the CRN's final state depends on its rates and
    :class:`~deepcrn.errors.CircuitError` if it has a reaction outside the circuit's class.
    """
    first = 0 if integer_constants else 1
    check_rate_independent(crn)
    if integer_constants and any(v >= EXACT_LIMIT for v in crn.init.values()):
        raise CircuitError("initial amounts reach 2**53, so the algebra on them would not be exact")
    reason = circuit_class(crn)
    if reason is not None:
        raise CircuitError(reason)
    index = crn.index
    indptr, reactant_species, _ = reactant_terms(crn)
    kinds = np.diff(indptr)  # 1: linear, 2: min
    reactant = reactant_species[indptr[:-1]]  # each reaction's first reactant (as written)

    # Basis of every expression: a constant 1, the input species' encoded amounts, then one
    # column per min reaction (its extent, later its ReLU node).
    n_reactions = len(crn.reactions)
    input_cols: dict[str, int] = {}
    for spec in crn.inputs:
        for name in (spec.pos, spec.neg):
            if name is not None:
                input_cols[name] = 1 + len(input_cols)
    mins = np.flatnonzero(kinds == 2).tolist()
    n0 = 1 + len(input_cols)
    min_col = np.zeros(n_reactions, dtype=np.int64)
    min_col[mins] = n0 + np.arange(len(mins))
    n_basis = n0 + len(mins)
    init_of = np.zeros(len(crn.species))
    for name, value in crn.init.items():
        init_of[index[name]] = value
    input_of = np.zeros(len(crn.species), dtype=np.int64)  # basis column of each input species, or 0
    for name, col in input_cols.items():
        input_of[index[name]] = col

    def start(species: np.ndarray) -> sp.csr_matrix:
        """Initial amounts of ``species`` (indices) as expressions: init * 1 (+ the input's amount)."""
        k = np.arange(len(species))
        has_init, has_input = init_of[species] != 0, input_of[species] > 0
        rows = np.concatenate([k[has_init], k[has_input]])
        cols = np.concatenate([np.zeros(int(has_init.sum()), dtype=np.int64), input_of[species][has_input]])
        vals = np.concatenate([init_of[species][has_init], np.ones(int(has_input.sum()))])
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(species), n_basis))

    _, produced = crn.stoichiometry

    table_size = max(n_reactions, len(mins) + len(crn.outputs)) * n_basis
    if table_size > _DENSE_LIMIT:
        raise CircuitError(
            f"{len(mins)} min reactions over {n_reactions} reactions make tables of {table_size:.3g} entries, "
            f"beyond the circuit's limit of {_DENSE_LIMIT:g}"
        )
    levels = reaction_levels(crn)
    min_levels = [[i for i in group if kinds[i] == 2] for group in levels]
    min_levels = [group for group in min_levels if group]
    by = _extents_by_solve if len(levels) > _DEEP else _extents_by_level
    extent = by(crn, levels, kinds, reactant, start, min_col)
    min_row = np.zeros(n_reactions, dtype=np.int64)
    min_row[mins] = np.arange(len(mins))
    sides = [reactant[mins], reactant_species[indptr[mins] + 1]] if mins else [np.zeros(0, np.int64)] * 2
    a_expr, b_expr = (sp.csr_matrix(start(side) + produced[side] @ extent) for side in sides)
    # Amounts only add non-negative terms, so bounding the results bounds every partial sum.
    for what, values in (("extent", extent), ("reactant amount", a_expr), ("reactant amount", b_expr)):
        if _inexact(values, first):
            raise CircuitError(f"{what} coefficients exceed 2**53, so the algebra would not be exact")

    net_change = net_stoichiometry(crn)
    pos = [index[o.pos] for o in crn.outputs]
    neg = [index[o.neg] for o in crn.outputs]
    final = (start(np.array(pos, dtype=np.int64)) - start(np.array(neg, dtype=np.int64))).toarray()
    final += _exact_product(_rows(net_change, pos) - _rows(net_change, neg), extent, "outputs", first)

    # Group the min reactions by depth among min reactions (1 + the deepest one whose extent
    # their reactants' amounts include): nodes of one layer are substituted together, since the
    # copies they forward cancel only jointly, even where they fire at different levels.
    reads = sp.csr_matrix(abs(a_expr[:, n0:]) + abs(b_expr[:, n0:]))  # (node, node): the extents it reads
    depth = np.zeros(len(mins), dtype=np.int64)
    for level in min_levels:
        members = min_row[level]
        rows = reads[members]
        has = np.diff(rows.indptr) > 0
        if rows.nnz:
            depth[members[has]] = np.maximum.reduceat(depth[rows.indices], rows.indptr[:-1][has])
        depth[members] += 1
    layers = [np.flatnonzero(depth == d).tolist() for d in range(1, int(depth.max(initial=0)) + 1)]

    # Substitute extents by ReLU nodes, deepest layer first: extent = a - relu(a - b), or b's
    # way round, whichever leaves fewer terms in the rows that read the layer (judged on a
    # sample of those rows; either way is exact). Only the columns the layer's expressions
    # use change, besides the layer's own columns.
    n_out = len(crn.outputs)
    table = np.zeros((n_out + len(mins), n_basis))  # outputs, then each node's pre-activation
    table[:n_out] = final
    pre = sp.coo_matrix(a_expr - b_expr)
    table[n_out + pre.row, pre.col] = pre.data
    for ks in reversed(layers):
        own = n0 + np.asarray(ks, dtype=np.int64)
        readers = np.flatnonzero(np.any(table[:, own] != 0.0, axis=1))
        coef = table[np.ix_(readers, own)]
        a_rows, b_rows = a_expr[ks], b_expr[ks]
        used = np.flatnonzero(np.bincount(np.concatenate([a_rows.indices, b_rows.indices]), minlength=n_basis))
        exprs = [rows[:, used].toarray() for rows in (a_rows, b_rows)]
        constant = int(len(used) > 0 and used[0] == 0)  # the constants' column is among them (first)
        local_first = constant if first else 0  # left out of the bounds, as everywhere
        rest = table[np.ix_(readers, used)]
        sample = np.unique(np.linspace(0, len(readers) - 1, min(len(readers), _SAMPLE)).astype(np.int64))
        terms = [
            np.count_nonzero((rest[sample] + _exact_product(coef[sample], e, "ReLU layer", local_first))[:, constant:])
            for e in exprs
        ]
        side = int(terms[1] < terms[0])
        updated = rest + _exact_product(coef, exprs[side], "ReLU layer", local_first)
        if _inexact(updated, local_first):
            raise CircuitError("circuit weights exceed 2**53, so the algebra would not be exact")
        table[np.ix_(readers, used)] = updated
        table[np.ix_(readers, own)] = -coef
        if side == 1:  # the node reads b - a
            table[[n_out + k for k in ks]] *= -1.0
    if _inexact(table, first):
        raise CircuitError("circuit weights or biases exceed 2**53, so the algebra would not be exact")

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
