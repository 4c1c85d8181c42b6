"""What a CRN does, read off its reactions: non-competition, feed-forward levels, cycles, rate
independence, the ReLU-circuit class and size statistics.

A CRN is *non-competitive* when no species that a reaction net-consumes is a reactant of any
other reaction, and *feed-forward* when the graph "reactant -> net product" has no cycle. If,
besides, every reaction net-consumes one of its reactants (so it stops when that runs out), the
CRN reaches the same final state under any positive rate constants and rate law (Vasic et al.,
PNAS 2022): it is *rate-independent*, and :mod:`deepcrn.exact` computes that state.

Example::

    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("A -> B\\nB + C -> D")
    >>> reaction_levels(crn), rate_independence(crn) is None
    ([[0], [1]], True)
    >>> rate_independence(parse_crn("A -> A + B"))
    'reaction 1 (A -> A + B) consumes none of its reactants, so it never stops: the CRN has no equilibrium'

Every fact is computed once per CRN (kept in ``crn.cache``) and in time linear in the size of
the reactions: levels come from one pass of Kahn's algorithm over the species-reaction graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from .crn import CRN, ReactionTable
from .errors import CRNError

T = TypeVar("T")
_SMALL = 16  # frontiers up to this size are released in plain Python (cheaper than NumPy calls)


def _memo(crn: CRN, key: str, compute: Callable[[], T]) -> T:
    if key not in crn.cache:
        crn.cache[key] = compute()
    return crn.cache[key]


# --------------------------------------------------------------------------- non-competition
@dataclass(frozen=True)
class Competition:
    """A species net-consumed by one reaction and also a reactant of others."""

    species: str
    reactions: tuple[int, ...]


def net_stoichiometry(crn: CRN) -> sp.csr_matrix:
    """Net stoichiometry ``products - reactants`` ``(species, reactions)``, computed once."""

    def compute() -> sp.csr_matrix:
        reactants, products = crn.stoichiometry
        return (products - reactants).tocsr()

    return _memo(crn, "net", compute)


def _net_by_reaction(crn: CRN) -> sp.csr_matrix:
    """Net stoichiometry by reaction ``(reactions, species)``: straight from a reaction table's
    rows (no transpose of its products, which can hold millions of entries)."""

    def compute() -> sp.csr_matrix:
        if isinstance(crn.reactions, ReactionTable):
            return sp.csr_matrix(crn.reactions.products - crn.reactions.reactants)
        return net_stoichiometry(crn).T.tocsr()

    return _memo(crn, "net_by_reaction", compute)


def _signs_by_reaction(crn: CRN, positive: bool) -> sp.csr_matrix:
    """0/1 matrix ``(reactions, species)``: where the net stoichiometry is positive (or negative)."""
    net = _net_by_reaction(crn)
    keep = net.data > 0 if positive else net.data < 0
    rows = np.repeat(np.arange(net.shape[0]), np.diff(net.indptr))[keep]
    return sp.csr_matrix((np.ones(int(keep.sum())), (rows, net.indices[keep])), shape=net.shape)


def _made_by(crn: CRN) -> sp.csr_matrix:
    """0/1 matrix ``(reactions, species)``: row r lists the species r net-produces."""
    return _memo(crn, "made_by", lambda: _signs_by_reaction(crn, positive=True))


def _uses(crn: CRN) -> sp.csr_matrix:
    """0/1 matrix ``(species, reactions)``: the species is a reactant of the reaction."""

    def compute() -> sp.csr_matrix:
        if isinstance(crn.reactions, ReactionTable):
            uses = crn.reactions.reactants.T.tocsr()
        else:
            uses = crn.stoichiometry[0].copy()
        uses.data[:] = 1.0
        return uses

    return _memo(crn, "uses", compute)


def _incidence(crn: CRN) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(uses, makes)``: 0/1 matrices ``(species, reactions)``: the species is a reactant of the
    reaction; the reaction net-produces the species."""
    return _uses(crn), _memo(crn, "makes", lambda: _made_by(crn).T.tocsr())


def _consumes(crn: CRN) -> sp.csr_matrix:
    """0/1 matrix ``(species, reactions)``: the reaction net-consumes the species."""
    return _memo(crn, "consumes", lambda: _signs_by_reaction(crn, positive=False).T.tocsr())


def competitions(crn: CRN) -> list[Competition]:
    """Every species that breaks non-competition, with the reactions that use it."""

    def compute() -> list[Competition]:
        uses = _uses(crn)
        consumers = np.diff(uses.indptr)
        consumed = np.diff(_consumes(crn).indptr) > 0
        bad = np.flatnonzero(consumed & (consumers > 1))
        return [
            Competition(crn.species[s], tuple(uses.indices[uses.indptr[s] : uses.indptr[s + 1]].tolist()))
            for s in bad.tolist()
        ]

    return _memo(crn, "competitions", compute)


def is_non_competitive(crn: CRN) -> bool:
    return not competitions(crn)


# --------------------------------------------------------------------------- levels (Kahn)
@dataclass(frozen=True)
class _Order:
    levels: list[list[int]]  # reactions grouped by topological level (all of them when feed-forward)
    species: list[int]  # species in the order they became final (all of them when feed-forward)
    pending_species: np.ndarray  # producers not yet fired, per species (non-zero only on a cycle)
    level_of: np.ndarray  # level of each reaction, -1 for those on or after a cycle


class _Graph:
    """CSR adjacency ``indptr``/``targets`` with per-target ``pending`` counts, released a frontier
    at a time: vectorised for wide frontiers, plain Python (on lists made once) for narrow ones,
    so the whole pass is linear in the edges however deep the graph."""

    def __init__(self, indptr: np.ndarray, targets: np.ndarray, pending: np.ndarray) -> None:
        self.indptr, self.targets, self.pending = indptr, targets, pending
        self._lists: tuple[list[int], list[int]] | None = None

    def release(self, nodes: list[int] | np.ndarray) -> list[int] | np.ndarray:
        """Decrement ``pending`` of every target of ``nodes``; the targets that reach 0, sorted."""
        if len(nodes) <= _SMALL:
            if self._lists is None:
                self._lists = (self.indptr.tolist(), self.targets.tolist())
            indptr, targets = self._lists
            pending = self.pending
            done: list[int] = []
            for node in nodes:
                for t in targets[indptr[node] : indptr[node + 1]]:
                    left = pending[t] - 1
                    pending[t] = left
                    if not left:
                        done.append(t)
            if len(done) > 1:
                done.sort()
            return done
        nodes = np.asarray(nodes, dtype=np.int64)
        starts = self.indptr[nodes]
        counts = self.indptr[nodes + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return []
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        reached = self.targets[offsets]
        if 4 * total >= len(self.pending):  # counting beats sorting when the targets are many
            times = np.bincount(reached, minlength=len(self.pending))
            hit = np.flatnonzero(times)
            times = times[hit]
        else:
            hit, times = np.unique(reached, return_counts=True)
        self.pending[hit] -= times
        return hit[self.pending[hit] == 0]


def _order(crn: CRN) -> _Order:
    """Kahn's algorithm over the bipartite graph species -> (consuming) reactions -> (net
    produced) species: a reaction's level is reached when every reactant is final, a species is
    final when every reaction net-producing it has fired."""

    def compute() -> _Order:
        uses, made_by = _uses(crn), _made_by(crn)
        pending_r = np.diff(uses.tocsc().indptr).astype(np.int64)  # distinct reactants per reaction
        pending_s = np.bincount(made_by.indices, minlength=len(crn.species)).astype(np.int64)  # producers
        to_reactions = _Graph(uses.indptr, uses.indices, pending_r)  # species -> the reactions using it
        to_species = _Graph(made_by.indptr, made_by.indices, pending_s)
        ready: list[int] | np.ndarray = np.flatnonzero(pending_s == 0)
        species_order = [ready]
        frontier = to_reactions.release(ready)
        levels: list[list[int] | np.ndarray] = []
        while len(frontier):
            levels.append(frontier)
            ready = to_species.release(frontier)
            species_order.append(ready)
            frontier = to_reactions.release(ready)
        groups = [g if isinstance(g, list) else g.tolist() for g in levels]
        level_of = np.full(len(crn.reactions), -1, dtype=np.int64)
        if groups:
            flat = np.fromiter(itertools.chain.from_iterable(groups), dtype=np.int64)
            level_of[flat] = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
        order = [s for g in species_order for s in (g if isinstance(g, list) else g.tolist())]
        return _Order(groups, order, pending_s, level_of)

    return _memo(crn, "order", compute)


def is_feed_forward(crn: CRN) -> bool:
    """No cycle "reactant -> net product" (equivalently, among reactions "net-produces a
    reactant of")."""
    return bool(np.all(_order(crn).level_of >= 0))


def reaction_levels(crn: CRN, *, late: bool = False) -> list[list[int]]:
    """Reactions grouped in topological levels: a reaction's reactants are net-produced only by
    reactions of earlier levels. Raises :class:`CRNError` naming a cycle.

    Each reaction sits at the earliest level its reactants allow; with ``late``, at the latest
    one its products' consumers allow (as late as possible; the same number of levels). Either
    order fires every reaction after everything that makes its reactants; the late one puts the
    two rails of a value's fan-out (``Y+`` made one level before ``Y-`` in a compiled CRN)
    in the same level, where their productions share one matrix product
    (:mod:`deepcrn.exact.production`)."""
    if not is_feed_forward(crn):
        raise CRNError(f"CRN is not feed-forward: cycle {' -> '.join(find_cycle(crn) or ['?'])}")
    return _late_levels(crn) if late else _order(crn).levels


def _late_levels(crn: CRN) -> list[list[int]]:
    """The as-late-as-possible levels (:func:`reaction_levels`): walking the early levels
    backwards, a reaction goes one level before the earliest reaction using what it makes, or
    to the last level when nothing uses it."""

    def compute() -> list[list[int]]:
        early = _order(crn).levels
        feeds = (_made_by(crn) @ _uses(crn)).tocsr()  # (reactions, reactions): r makes a reactant of q
        last = len(early) - 1
        late = np.full(len(crn.reactions), last, dtype=np.int64)
        for group in reversed(early):
            rows = feeds[group]
            counts = np.diff(rows.indptr)
            if not rows.nnz:
                continue
            firsts = np.minimum.reduceat(late[rows.indices], rows.indptr[:-1][counts > 0])
            late[np.asarray(group)[counts > 0]] = firsts - 1
        return [np.flatnonzero(late == level).tolist() for level in range(last + 1)]

    return _memo(crn, "late_levels", compute)


def depth(crn: CRN) -> int | None:
    """The longest chain of reactions each needing the one before (the number of levels), which
    bounds the time to compute; None for a CRN with a cycle."""
    return len(_order(crn).levels) if is_feed_forward(crn) else None


def find_cycle(crn: CRN) -> list[str] | None:
    """A cycle of species ``[A, B, ..., A]`` in the graph reactant -> net product, or None.

    Walks back from a reaction Kahn's algorithm never reached: one of its reactants is not
    final, so a reaction producing it was not reached either, and so on until a reaction
    repeats. Linear in the size of the CRN.
    """
    order = _order(crn)
    stuck = np.flatnonzero(order.level_of < 0)
    if not len(stuck):
        return None
    uses, makes = _incidence(crn)
    reactants_of = uses.tocsc()  # column r: reactant species of r
    seen: dict[int, int] = {}
    path: list[int] = []  # species, walking backwards
    r = int(stuck[0])
    while r not in seen:
        seen[r] = len(path)
        col = reactants_of.indices[reactants_of.indptr[r] : reactants_of.indptr[r + 1]]
        s = int(next(s for s in col.tolist() if order.pending_species[s] > 0))
        producers = makes.indices[makes.indptr[s] : makes.indptr[s + 1]]
        r = int(next(p for p in producers.tolist() if order.level_of[p] < 0))
        path.append(s)
    cycle = [crn.species[s] for s in reversed(path[seen[r] :])]
    return cycle + [cycle[0]]


def species_order(crn: CRN) -> list[str]:
    """Species in a topological order of "reactant -> net product" (reactants first); the
    declared order where the CRN has a cycle."""
    order = _order(crn)
    if len(order.species) != len(crn.species):
        return list(crn.species)
    return [crn.species[s] for s in order.species]


# --------------------------------------------------------------------------- rate independence
def never_stopping(crn: CRN) -> list[int]:
    """Reactions that net-consume none of their reactants (``A -> A + B``): they never stop."""

    def compute() -> list[int]:
        return np.flatnonzero(np.diff(_consumes(crn).tocsc().indptr) == 0).tolist()

    return _memo(crn, "never_stopping", compute)


def rate_independence(crn: CRN) -> str | None:
    """None when ``crn`` is non-competitive, feed-forward and every reaction stops (its final
    state is the same under any rates), else why not, naming the culprit."""
    comps = competitions(crn)
    if comps:
        c = comps[0]
        listed = "; ".join(f"#{i + 1} {crn.reactions[i]}" for i in c.reactions[:4])
        return (
            f"CRN is competitive: species {c.species} is consumed by {len(c.reactions)} reactions "
            f"({listed}), so its outcome depends on the rates"
        )
    if not is_feed_forward(crn):
        return f"CRN is not feed-forward: cycle {' -> '.join(find_cycle(crn) or ['?'])}"
    stuck = never_stopping(crn)
    if stuck:
        i = stuck[0]
        return (
            f"reaction {i + 1} ({crn.reactions[i]}) consumes none of its reactants, so it never stops: "
            "the CRN has no equilibrium"
        )
    return None


def is_rate_independent(crn: CRN) -> bool:
    return rate_independence(crn) is None


def check_rate_independent(crn: CRN) -> None:
    """Raise :class:`CRNError` naming the culprit unless :func:`rate_independence` holds."""
    reason = rate_independence(crn)
    if reason is not None:
        raise CRNError(reason)


def reactant_terms(crn: CRN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every reaction's reactants as arrays, in the order written: ``(indptr, species,
    coefficients)``, reaction ``i``'s reactants being ``species[indptr[i]:indptr[i + 1]]``
    (indices into ``crn.species``)."""

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if isinstance(crn.reactions, ReactionTable):
            r = crn.reactions.reactants
            return r.indptr.astype(np.int64), r.indices.astype(np.int64), r.data.copy()
        index = crn.index
        sizes = [len(r.reactants) for r in crn.reactions]
        indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        species = np.fromiter((index[n] for r in crn.reactions for n, _ in r.reactants), np.int64, int(indptr[-1]))
        coefs = np.fromiter((c for r in crn.reactions for _, c in r.reactants), np.float64, int(indptr[-1]))
        return indptr, species, coefs

    return _memo(crn, "reactant_terms", compute)


def circuit_class(crn: CRN) -> str | None:
    """None when every reaction is *linear* (``X -> ...``) or a *min* reaction (``A + B -> ...``,
    A != B), reactants with coefficient 1 and no catalysts: the class whose equilibrium is a
    ReLU circuit (:mod:`deepcrn.exact.circuit`) and that the batched integrator
    (:mod:`deepcrn.kinetics.batched`) steps in closed form. Else why not."""
    indptr, _, coefs = reactant_terms(crn)
    reactants, products = crn.stoichiometry
    catalytic = np.diff((reactants.multiply(products)).tocsc().indptr) > 0
    counts = np.diff(indptr)
    heavy = np.zeros(len(counts), dtype=bool)
    if len(coefs):
        heavy = np.maximum.reduceat(np.append(coefs, 0.0), np.minimum(indptr[:-1], len(coefs)))[: len(counts)] > 1
    bad = np.flatnonzero((counts > 2) | heavy | catalytic)
    if not len(bad):
        return None
    i = int(bad[0])
    return (
        f"reaction {i + 1} ({crn.reactions[i]}) is not linear (one reactant) or a min reaction (two "
        "reactants), each consumed with coefficient 1 and none a catalyst"
    )


# --------------------------------------------------------------------------- statistics
def stats(crn: CRN) -> dict[str, Any]:
    """Sizes: species, reactions by molecularity, reactants and products per reaction (sums of
    coefficients), the longest chain of reactions (``depth``, None with a cycle)."""

    def compute() -> dict[str, Any]:
        reactants, products = crn.stoichiometry
        orders = np.asarray(reactants.sum(axis=0)).ravel()  # float64: sums of coefficients <= 2**53
        made = np.asarray(products.sum(axis=0)).ravel()
        kinds = np.diff(products.tocsc().indptr)
        return {
            "n_species": len(crn.species),
            "n_reactions": len(crn.reactions),
            "n_unimolecular": int(np.sum(orders == 1)),
            "n_bimolecular": int(np.sum(orders == 2)),
            "n_higher_order": int(np.sum(orders > 2)),
            "max_reactants": int(orders.max(initial=0)),
            "max_products": int(made.max(initial=0)),
            "total_products": int(made.sum()),
            "max_product_species": int(kinds.max(initial=0)),
            "depth": depth(crn),
            "n_inputs": len(crn.inputs),
            "n_outputs": len(crn.outputs),
        }

    return dict(_memo(crn, "stats", compute))
