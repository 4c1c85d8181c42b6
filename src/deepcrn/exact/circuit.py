"""Exact equilibrium outputs of a CRN as a ReLU circuit, derived from its reactions alone.

In a non-competitive, feed-forward CRN every reaction fires once, to completion. When each
reaction is either *linear* (one reactant, coefficient 1: its extent is the amount of that
reactant) or a *min* reaction (two distinct reactants, coefficient 1 each: its extent is the
smaller amount), every final concentration is a linear function of the inputs and of the
extents of the min reactions. Writing each such extent as ``min(a, b) = a - relu(a - b)`` and
collecting terms turns the CRN into a circuit: one ReLU node per min reaction, in layers (by
depth among the min reactions), each node reading ``a - b`` as a weighted sum of the inputs and of earlier nodes, and
each output a weighted sum of the same.

The algebra keeps every reaction's extent as a symbol of its own while it can: an output, or a
node's ``a - b``, starts as a sum of extents (what made its species), and each extent is then
replaced by its definition (its reactant's amount, or ``a - relu(a - b)``), the last reactions
first. Forwarded copies cancel as soon as the reaction that consumed them is replaced, so the
rows stay about as sparse as the CRN, instead of expanding every absolute amount in the inputs
first (dense from the second layer on). Chains of linear reactions (fan-out trees, relays) are
collapsed to their first reaction before that.

The weights are sums of products of stoichiometric coefficients, so the algebra is done on
integers (held in float64 and checked to stay below 2**53, where float64 arithmetic on integers
is exact) and terms that cancel vanish exactly. Which reactant plays ``a`` does not change any
value, only which terms cancel; the min reactions of each topological level keep the choice
that leaves fewer terms (judged on a sample of the rows that read them). For a CRN
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

import numpy as np
import scipy.sparse as sp

from .._sparse import product
from ..analysis import check_rate_independent, circuit_class, reactant_terms, reaction_levels
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


_SAMPLE = 64  # reader rows on which a layer's orientation is judged (:func:`_orient`)
_DENSE_LIMIT = 50_000_000  # largest dense (rows x basis) table the circuit builds (400 MB)


def _chains(kinds: np.ndarray, reactant: np.ndarray, produced: sp.csr_matrix, seeded: np.ndarray) -> sp.csr_matrix:
    """``(reactions, reactions)``: each extent as a multiple of another. A linear reaction whose
    reactant has no initial amount (``seeded``: species with one or an input's) and a single
    producer fires ``c`` times that producer's extent (``c``: the reactant's coefficient among
    its products); following such links to their end collapses chains (forwarded copies,
    fan-out trees) to the reaction that starts them, in ``log2(length)`` rounds."""
    made = sp.csr_matrix(produced)
    made.eliminate_zeros()
    n = len(kinds)
    target, factor = np.arange(n), np.ones(n)
    linear = np.flatnonzero(kinds == 1)
    species = reactant[linear]
    single = (np.diff(made.indptr)[species] == 1) & ~seeded[species]
    linear, species = linear[single], species[single]
    target[linear] = made.indices[made.indptr[species]]
    factor[linear] = made.data[made.indptr[species]]
    while not np.array_equal(target[target], target):
        factor, target = factor * factor[target], target[target]
        if float(np.max(np.abs(factor), initial=0.0)) >= EXACT_LIMIT:
            raise CircuitError("extent coefficients exceed 2**53, so the algebra would not be exact")
    return sp.csr_matrix((factor, (np.arange(n), target)), shape=(n, n))


def _take_columns(rows: sp.csr_matrix, columns: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``rows`` without ``columns``, and those columns (one pass over the entries, where slicing
    the columns and masking them out would make two)."""
    position = np.full(rows.shape[1], -1, dtype=np.int64)
    position[columns] = np.arange(len(columns))
    where = position[rows.indices]
    hit = np.flatnonzero(where >= 0)
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))[hit]
    taken = sp.csr_matrix((rows.data[hit], (row_of, where[hit])), shape=(rows.shape[0], len(columns)))
    kept = rows.copy()
    kept.data[hit] = 0.0
    kept.eliminate_zeros()
    return kept, taken


def _substitute(
    basis_rows: sp.csr_matrix,
    extent_rows: sp.csr_matrix,
    reads: sp.csr_matrix,
    definition: tuple[sp.csr_matrix, sp.csr_matrix],
    first: int,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Rows with some extents (whose coefficients ``reads`` holds, already taken out of
    ``extent_rows``) replaced by their ``definition`` (basis part, extents part), refusing when
    a partial sum could leave float64's exact integers (basis columns before ``first``
    excepted: constants)."""
    if reads.nnz == 0:
        return basis_rows, extent_rows
    out = []
    for rows, part, low in ((basis_rows, definition[0], first), (extent_rows, definition[1], 0)):
        added, bound = _exact_sparse_product(reads, part, low)
        total = sp.csr_matrix(rows + added)
        if _max_abs(rows, low) + bound >= EXACT_LIMIT and _inexact(total, low):
            raise CircuitError("circuit coefficients exceed 2**53, so the algebra would not be exact")
        out.append(total)
    return out[0], out[1]


def _exact_sparse_product(a: sp.csr_matrix, b: sp.csr_matrix, first: int) -> tuple[sp.csr_matrix, float]:
    """``a @ b`` and a bound on its partial sums, for integer-valued ``a`` and ``b`` (columns of
    ``b`` before ``first`` excepted: constants), refusing when a partial sum could leave
    float64's exact integers. Every partial sum is at most ``|a| @ |b|``, itself at most
    (largest row sum of ``|a|``) x (largest ``|b|``); the exact bound is computed only when that
    cheap one reaches 2**53; below that, a BLAS product (:func:`deepcrn._sparse.product`) is as exact as a
    sparse one, whatever order it sums in."""
    bound = float(np.max(np.asarray(abs(a).sum(axis=1)), initial=0.0)) * _max_abs(b, first)
    if bound >= EXACT_LIMIT:
        bound = _max_abs(abs(a) @ abs(b[:, first:]), 0)
        if bound >= EXACT_LIMIT:
            raise CircuitError("circuit coefficients exceed 2**53, so the algebra would not be exact")
    return product(a, b), bound


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
    # column per min reaction: its ReLU node (relu(a - b), or relu(b - a) when b plays a).
    n_reactions = len(crn.reactions)
    input_cols: dict[str, int] = {}
    for spec in crn.inputs:
        for name in (spec.pos, spec.neg):
            if name is not None:
                input_cols[name] = 1 + len(input_cols)
    mins = np.flatnonzero(kinds == 2).tolist()
    n0 = 1 + len(input_cols)
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

    consumed, produced = crn.stoichiometry
    n_out = len(crn.outputs)
    table_size = (n_out + len(mins)) * n_basis
    if table_size > _DENSE_LIMIT:
        raise CircuitError(
            f"{len(mins)} min reactions over {n_reactions} reactions make a table of {table_size:.3g} entries, "
            f"beyond the circuit's limit of {_DENSE_LIMIT:g}"
        )

    def amount(species: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Amounts of ``species`` when everything has fired, as (basis part, extents part)."""
        return start(species), sp.csr_matrix(produced[species])

    node = sp.csr_matrix(
        (np.ones(len(mins)), (np.asarray(mins, dtype=np.int64), n0 + np.arange(len(mins)))),
        shape=(n_reactions, n_basis),
    )
    # Each extent's definition: a linear reaction's extent is its reactant's amount, a min
    # reaction's is a - relu(a - b) with ``a`` its first reactant as written (which one plays
    # ``a`` is settled afterwards, by :func:`_orient`); chains of linear reactions collapsed to
    # their first reaction.
    roots = _chains(kinds, reactant, produced, (init_of != 0) | (input_of > 0))
    a_basis, a_extents = amount(reactant)
    b_basis, b_extents = amount(reactant_species[indptr[mins] + 1])  # each min reaction's second reactant
    a_extents, b_extents = (_exact_sparse_product(part, roots, 0)[0] for part in (a_extents, b_extents))
    definition = (sp.csr_matrix(a_basis - node), a_extents)
    if _inexact(definition[0], first) or _inexact(b_basis, first) or _inexact(a_extents, 0) or _inexact(b_extents, 0):
        raise CircuitError("extent coefficients exceed 2**53, so the algebra would not be exact")

    # The rows to resolve: the outputs' final values, then each node's pre-activation a - b,
    # over the basis and the extents; extents are replaced by their definitions, last level
    # first, until only the basis is left.
    pos = np.array([index[o.pos] for o in crn.outputs], dtype=np.int64)
    neg = np.array([index[o.neg] for o in crn.outputs], dtype=np.int64)
    basis_rows = sp.vstack([start(pos) - start(neg), a_basis[mins] - b_basis], format="csr")
    made = [_rows(produced, list(rows)) - _rows(consumed, list(rows)) for rows in (pos, neg)]  # net change
    outputs_made = _exact_sparse_product(made[0] - made[1], roots, 0)[0]
    extent_rows = sp.vstack([outputs_made, a_extents[mins] - b_extents], format="csr")
    live = np.diff(roots.tocsc().indptr) > 0  # the extents left after collapsing chains
    min_row = np.zeros(n_reactions, dtype=np.int64)
    min_row[mins] = np.arange(len(mins))
    levels = reaction_levels(crn)
    for group in reversed(levels):
        members = np.asarray(group, dtype=np.int64)
        members = members[live[members]]
        if members.size:
            extent_rows, reads = _take_columns(extent_rows, members)
            part = (definition[0][members], definition[1][members])
            basis_rows, extent_rows = _substitute(basis_rows, extent_rows, reads, part, first)
    if extent_rows.count_nonzero():
        raise AssertionError("extents left after substituting every level")  # pragma: no cover
    table = basis_rows.toarray()
    if _inexact(table, first):
        raise CircuitError("circuit weights or biases exceed 2**53, so the algebra would not be exact")
    layers = [[int(k) for k in min_row[[i for i in group if kinds[i] == 2]]] for group in levels]
    layers = [group for group in layers if group]
    _orient(table, n_out, n0, layers, first)

    groups = live_groups(table, n_out, n0, layers)
    used_rows = np.array(list(range(n_out)) + [n_out + k for group in groups for k in group], dtype=np.int64)

    # Input block: a dual-rail input whose two rails always carry opposite weights reads the
    # value itself (pos - neg = x - offset exactly); otherwise each rail is its own column.
    pos_col = np.array([input_cols[spec.pos] for spec in crn.inputs], dtype=np.int64)
    neg_col = np.array([input_cols[spec.neg] if spec.neg is not None else 0 for spec in crn.inputs], dtype=np.int64)
    used = table[used_rows]
    value = np.array([spec.neg is None for spec in crn.inputs], dtype=bool) | np.all(
        used[:, pos_col] == -used[:, neg_col], axis=0
    )
    input_columns: list[tuple[int, int]] = []
    in_cols: list[int] = []
    for k in range(len(crn.inputs)):
        if value[k]:  # a shifted single rail's amount is its value
            input_columns.append((k, 0))
            in_cols.append(int(pos_col[k]))
        else:
            input_columns += [(k, 1), (k, 2)]
            in_cols += [int(pos_col[k]), int(neg_col[k])]
    inputs_part = table[:, in_cols]

    stages = [stage(table, inputs_part, [n_out + k for k in group], n0, groups) for group in groups]
    nodes = [[mins[k] for k in group] for group in groups]
    output = stage(table, inputs_part, list(range(n_out)), n0, groups)
    return ReluCircuit(crn, input_columns, stages, output, nodes)


def _orient(table: np.ndarray, n_out: int, n0: int, order: list[list[int]], first: int) -> None:
    """Settle which reactant of each min reaction plays ``a``, layer by layer from the first, in
    place. ``table``'s rows: the outputs, then each node's pre-activation ``a - b`` (``a`` the
    first reactant as written); columns: the constant, the input block up to ``n0``, then one
    per node. A node can as well read ``b - a``: ``relu(a - b) = relu(b - a) + (a - b)``, so
    every row reading it gains its pre-activation times the row's coefficient. Where the CRN
    forwards ``b`` rather than ``a`` (its reactants written the other way round), that cancels
    what its readers read around it. A layer's nodes are turned together, when that leaves fewer
    terms in a sample of their readers (a layer built alike has one right way round, and its
    readers' terms cancel only jointly)."""
    n_nodes = table.shape[1] - n0
    for group in _layers(table, n_out, n0, order, n_nodes):
        cols = n0 + group
        readers = np.flatnonzero(np.any(table[:, cols] != 0.0, axis=1))
        if readers.size == 0:
            continue
        pre = table[n_out + group]
        sample = readers[np.unique(np.linspace(0, len(readers) - 1, min(len(readers), _SAMPLE)).astype(np.int64))]
        turned = table[sample] + table[np.ix_(sample, cols)] @ pre
        if np.count_nonzero(turned[:, 1:]) >= np.count_nonzero(table[sample, 1:]):
            continue
        coef = table[np.ix_(readers, cols)]
        bound = np.abs(table[readers, first:]).max(initial=0.0) + float(np.abs(coef).sum(axis=1).max()) * float(
            np.abs(pre[:, first:]).max(initial=0.0)
        )
        if bound >= EXACT_LIMIT:
            raise CircuitError("circuit weights exceed 2**53, so the algebra would not be exact")
        table[readers] += coef @ pre
        table[n_out + group] *= -1.0


def _layers(table: np.ndarray, n_out: int, n0: int, order: list[list[int]], n_nodes: int) -> list[np.ndarray]:
    """The nodes grouped by depth in the circuit (1 + the deepest node they read); ``order``:
    groups of nodes, each reading only nodes of earlier groups."""
    depth = np.zeros(n_nodes, dtype=np.int64)
    for group in order:
        reads = table[n_out + np.asarray(group, dtype=np.int64), n0:] != 0.0
        depth[group] = 1 + np.where(reads, depth, 0).max(axis=1, initial=0)
    return [np.flatnonzero(depth == d) for d in range(1, int(depth.max(initial=0)) + 1)]


def live_groups(table: np.ndarray, n_out: int, n0: int, order: list[list[int]]) -> list[list[int]]:
    """The nodes no output depends on dropped, the rest grouped in layers by depth in the circuit
    (1 + the deepest node they read), which can be shallower than their group in ``order`` (e.g. a
    node fed by biases only).

    ``table``: one row per output, then one per node (its pre-activation); columns: the constant,
    the input block up to ``n0``, then one per node. ``order``: groups of nodes, each node's row
    reading only nodes of earlier groups.
    """
    n_nodes = table.shape[1] - n0
    live = np.any(table[:n_out, n0:] != 0.0, axis=0)
    for group in reversed(order):
        rows = np.asarray(group, dtype=np.int64)
        rows = rows[live[rows]]
        if rows.size:
            live |= np.any(table[n_out + rows, n0:] != 0.0, axis=0)
    groups = [group[live[group]].tolist() for group in _layers(table, n_out, n0, order, n_nodes)]
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
