"""What a level of reactions makes: the production step shared by firing and the batched ODE.

A level's net production is a matrix (species made x reactions) applied to the reactions'
extents ``(n_reactions, batch)``. Fan-out reactions (many products) and the rest are kept in
separate blocks, each over exactly the species it makes, dense where that pays.

**Dual rail, half the work.** A fan-out block of a dual-rail CRN has a symmetry: the reactions
come in pairs ``U+``, ``U-`` (the two rails of one value) and the species they make in pairs
``P+``, ``P-``, and the ``U-`` reaction makes of ``P-`` what the ``U+`` one makes of ``P+`` (and
of ``P+`` what it makes of ``P-``). With ``A`` (what ``U+`` makes of the ``P+``) and ``B`` (of the
``P-``), the block is ``[[A, B], [B, A]]``, and

    P+ += ((A + B) (e+ + e-) + (A - B) (e+ - e-)) / 2,   P- += (... - ...) / 2

two products of half the size: half the multiply-adds (for ternary weights, ``A + B = |W|``
and ``A - B = W``, the network's own layer). The rail pairs are read off the reactions
(:func:`rail_pairs`), and a block uses this form only when the symmetry holds exactly.

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = Xp - Xn\\noutput y = Yp - Yn\\nXp -> 2 Yp + Yn\\nXn -> 2 Yn + Yp")
    >>> twin = rail_pairs(crn)
    >>> twin[crn.index["Xp"]] == crn.index["Xn"], twin[crn.index["Yp"]] == crn.index["Yn"]
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..crn import CRN

WIDE = 8  # reactions with at least this many products (fan-outs) get their own production block
DENSE = 0.1  # a production block this dense or more is stored dense (BLAS beats sparse there)


@dataclass(frozen=True)
class Block:
    """What some of a level's reactions make: ``c[rows] += matrix @ extent[columns]``."""

    rows: np.ndarray  # (n_rows,) tracked columns produced, each once
    columns: np.ndarray | None  # (n_cols,) positions of the reactions within the level (None: all)
    matrix: np.ndarray | sp.csr_matrix  # (n_rows, n_cols) net production

    def produce(self, c: np.ndarray, extent: np.ndarray) -> None:
        c[self.rows] += self.matrix @ (extent if self.columns is None else extent[self.columns])

    def plain(self) -> tuple[Block, ...]:
        """The block as plain blocks (itself): for exact integer arithmetic."""
        return (self,)


@dataclass(frozen=True)
class RailBlock:
    """A dual-rail fan-out block ``[[A, B], [B, A]]`` as two half-size products (module docstring)."""

    rows_p: np.ndarray  # (n,) tracked columns of one rail of each pair made
    rows_n: np.ndarray  # (n,) ... and of the other
    cols_u: np.ndarray  # (m,) positions (in the level) of one reaction of each pair
    cols_v: np.ndarray  # (m,) ... and of its twin
    plus: np.ndarray  # (n, m) A + B
    minus: np.ndarray  # (n, m) A - B

    def produce(self, c: np.ndarray, extent: np.ndarray) -> None:
        eu, ev = extent[self.cols_u], extent[self.cols_v]
        total = self.plus @ (eu + ev)
        diff = self.minus @ (eu - ev)
        # Each rail's amount is a sum of non-negative terms; rounding must not make it negative.
        c[self.rows_p] += np.maximum(0.5 * (total + diff), 0.0)
        c[self.rows_n] += np.maximum(0.5 * (total - diff), 0.0)

    def plain(self) -> tuple[Block, ...]:
        """The same production as two plain blocks ``[A B]`` and ``[B A]`` over ``(u, v)``, for
        exact integer arithmetic (no halving)."""
        a, b = (self.plus + self.minus) / 2, (self.plus - self.minus) / 2
        columns = np.concatenate([self.cols_u, self.cols_v])
        return Block(self.rows_p, columns, np.hstack([a, b])), Block(self.rows_n, columns, np.hstack([b, a]))


def rail_pairs(crn: CRN) -> dict[int, int]:
    """Species (by index) paired with the other rail of the same value, both ways: declared
    dual-rail inputs and outputs, the two reactants of each min reaction ``A + B -> ...``, and,
    where a reactant is made only by a linear reaction ``X -> A + P``, the pairs ``(X, B)`` and
    (when both reactions make exactly one other species) ``(P, Q)`` with ``A + B -> Q``: in a
    compiled CRN, ``I+``/``I-`` and ``Y+``/``Y-`` of each ReLU node. A pairing is only a hint:
    :func:`blocks` uses one only where the production matrix has the symmetry exactly."""
    index = crn.index
    twin: dict[int, int] = {}

    def pair(a: str, b: str) -> None:
        i, j = index[a], index[b]
        if i != j and i not in twin and j not in twin:
            twin[i], twin[j] = j, i

    for spec in crn.inputs:
        if spec.neg is not None:
            pair(spec.pos, spec.neg)
    for out in crn.outputs:
        pair(out.pos, out.neg)
    producers: dict[str, list[int]] = {}
    for i, r in enumerate(crn.reactions):
        for name, change in r.net().items():
            if change > 0:
                producers.setdefault(name, []).append(i)
    for r in crn.reactions:
        if len(r.reactants) != 2 or any(c != 1 for _, c in r.reactants):
            continue
        (a, _), (b, _) = r.reactants
        traced = False
        for mine, other in ((a, b), (b, a)):
            made_by = producers.get(mine, [])
            if len(made_by) != 1:
                continue
            source = crn.reactions[made_by[0]]
            if len(source.reactants) != 1 or source.reactants[0][1] != 1:
                continue
            traced = True
            pair(source.reactants[0][0], other)
            rest = [name for name, _ in source.products if name != mine]
            if len(rest) == 1 and len(r.products) == 1:
                pair(rest[0], r.products[0][0])
        if not traced:
            pair(a, b)
    return twin


def _rail_block(
    matrix: np.ndarray, rows: np.ndarray, positions: np.ndarray, reactants: np.ndarray, twin: Mapping[int, int]
) -> RailBlock | None:
    """``matrix`` (rows x positions) as a :class:`RailBlock`, if its rows and reactions pair up
    under ``twin`` (tracked column -> tracked column) with the dual-rail symmetry exactly."""

    def halves(keys: np.ndarray) -> tuple[list[int], list[int]] | None:
        where = {int(k): i for i, k in enumerate(keys)}
        first: list[int] = []
        second: list[int] = []
        for i, k in enumerate(keys.tolist()):
            j = where.get(twin.get(k, -1))
            if j is None:
                return None
            if i < j:
                first.append(i)
                second.append(j)
        return (first, second) if 2 * len(first) == len(keys) else None

    row_pairs, col_pairs = halves(rows), halves(reactants)
    if row_pairs is None or col_pairs is None:
        return None
    (p, n), (u, v) = row_pairs, col_pairs
    a, b = matrix[np.ix_(p, u)], matrix[np.ix_(n, u)]
    if not (np.array_equal(matrix[np.ix_(p, v)], b) and np.array_equal(matrix[np.ix_(n, v)], a)):
        return None
    return RailBlock(rows[p], rows[n], positions[u], positions[v], a + b, a - b)


def blocks(
    n: int,
    entries: tuple[list[int], list[int], list[float]],
    reactants: np.ndarray,
    twin: Mapping[int, int],
) -> tuple[Block | RailBlock, ...]:
    """Production blocks of a level of ``n`` reactions from its entries ``(reaction positions,
    tracked columns, amounts)``: reactions with many products (fan-outs) in one block, the others
    in another, each over exactly the columns it produces, dense where that pays, and dual-rail
    fan-outs as :class:`RailBlock`. ``reactants``: each reaction's first reactant's tracked
    column; ``twin``: rail pairs as tracked columns."""
    rows, cols, vals = entries
    if not rows:
        return ()
    where = np.array(rows, dtype=np.int64)
    column = np.array(cols, dtype=np.int64)
    amount = np.array(vals, dtype=np.float64)
    wide = np.bincount(where, minlength=n) >= WIDE
    out: list[Block | RailBlock] = []
    for mask in (wide, ~wide):
        positions = np.flatnonzero(mask)
        if not len(positions):
            continue
        pick = mask[where]
        produced, local_rows = np.unique(column[pick], return_inverse=True)
        local_cols = np.searchsorted(positions, where[pick])
        matrix = sp.csr_matrix((amount[pick], (local_rows, local_cols)), shape=(len(produced), len(positions)))
        if matrix.nnz < DENSE * matrix.shape[0] * matrix.shape[1]:
            out.append(Block(produced, None if len(positions) == n else positions, matrix))
            continue
        dense = matrix.toarray()
        rail = _rail_block(dense, produced, positions, reactants[positions], twin) if mask is wide else None
        out.append(rail or Block(produced, None if len(positions) == n else positions, dense))
    return tuple(out)
