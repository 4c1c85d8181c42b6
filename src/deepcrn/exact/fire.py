"""The firing engine: the exact final state of a rate-independent CRN, batched over examples.

Each reaction fires to completion, in topological order; its extent is the minimum over the
species it net-consumes of ``concentration / net consumption`` (zero if a catalyst it needs is
absent). Reactions of one topological level are independent, so a level is one gather (the
extents) and one matrix product (the net changes) over a species-major ``(species, batch)``
block. It handles any rate-independent CRN and gives every species' final amount.

With molecule counts (:meth:`FiringPlan.fire_counts`) the same schedule runs on int64 counts
with the integer semantics a stochastic trajectory has: a reaction fires while every reactant
has at least its coefficient in molecules, so its extent is the minimum over the species it
net-consumes of ``(count - coefficient) // net consumption + 1`` (``count // coefficient`` when
the two are equal), and zero unless each catalyst has at least its coefficient.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> 2 Y_p\\nX_n -> 2 Y_n")
    >>> plan = FiringPlan.for_outputs(crn)
    >>> plan.evaluate(np.array([[1.5], [-2.0]])).ravel().tolist()
    [3.0, -4.0]
    >>> plan.evaluate_counts(np.array([[1.5], [-2.0]]), 3).ravel().tolist()  # 4 and 6 molecules
    [2.6666666666666665, -4.0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..analysis import check_rate_independent, reaction_levels
from ..crn import CRN
from ..errors import DataError
from ..io_map import MAX_COUNT, OutputMap, check_finite, input_amounts, to_counts
from .production import Block, RailBlock, blocks, rail_pairs

CHUNK = 2048  # examples per block: bounds memory to CHUNK * species * 8 bytes per array
_FLOAT_EXACT = 2.0**52  # below this, float64 sums of non-negative integers are exact, with margin


@dataclass(frozen=True)
class _Level:
    slots: np.ndarray  # (n_reactions, arity) tracked column of each net-consumed reactant
    divisors: np.ndarray  # (n_reactions, arity) its net consumption (1 in unused slots)
    coefs: np.ndarray  # (n_reactions, arity) int64: its reactant coefficient (1 in unused slots)
    padding: np.ndarray  # (n_reactions, arity) 0, or inf in unused slots so they never limit
    used: np.ndarray  # (n_reactions, arity) bool: the slot holds a real reactant
    catalysts: np.ndarray  # (n_cat, 2): (reaction position, column) of reactants not net-consumed
    catalyst_coefs: np.ndarray  # (n_cat,) int64: their reactant coefficients
    reactions: np.ndarray  # (n_reactions,) index of each of the level's reactions in the CRN
    blocks: tuple[Block | RailBlock, ...]  # the net production (:mod:`deepcrn.exact.production`)

    def produce(self, c: np.ndarray, extent: np.ndarray) -> None:
        """Add what the level's reactions make with ``extent`` ``(n_reactions, batch)`` to the
        species-major block ``c``, in place."""
        for block in self.blocks:
            block.produce(c, extent)


class FiringPlan:
    """The levelled firing schedule of a CRN, built once and applied to many inputs.

    ``track`` limits the species followed to those named (plus every reactant, which the
    schedule needs); by default all species are followed. Raises
    :class:`~deepcrn.errors.CRNError` for a CRN that is not rate-independent
    (:func:`~deepcrn.analysis.rate_independence`).
    """

    def __init__(self, crn: CRN, track: Iterable[str] | None = None) -> None:
        check_rate_independent(crn)
        self.crn = crn
        reactant_names = {name for r in crn.reactions for name, _ in r.reactants}
        wanted = set(crn.species) if track is None else set(track) | reactant_names
        #: indices (into ``crn.species``) of the species followed, in the CRN's order
        self.tracked = np.array([crn.index[s] for s in crn.species if s in wanted], dtype=np.int64)
        self.output_map = OutputMap.of(crn, self.tracked) if set(crn.output_species) <= wanted else None
        col = {int(s): k for k, s in enumerate(self.tracked)}
        twin = {col[i]: col[j] for i, j in rail_pairs(crn).items() if i in col and j in col}
        self.levels: list[_Level] = []
        for group in reaction_levels(crn, late=True):
            arity = max(len(crn.reactions[i].reactants) for i in group)
            slots = np.zeros((len(group), arity), dtype=np.int64)
            divisors = np.ones((len(group), arity))
            coefs = np.ones((len(group), arity), dtype=np.int64)
            padding = np.full((len(group), arity), np.inf)
            catalysts = []
            catalyst_coefs = []
            rows: list[int] = []
            cols: list[int] = []
            vals: list[float] = []
            for k, i in enumerate(group):
                r = crn.reactions[i]
                net = r.net()
                slot = 0
                for name, coef in r.reactants:
                    c = col[crn.index[name]]
                    if net.get(name, 0) < 0:
                        slots[k, slot] = c
                        divisors[k, slot] = -net[name]
                        coefs[k, slot] = coef
                        padding[k, slot] = 0.0
                        slot += 1
                    else:
                        catalysts.append((k, c))
                        catalyst_coefs.append(coef)
                for name, change in net.items():
                    c_idx = col.get(crn.index[name])
                    if change > 0 and c_idx is not None:
                        rows.append(k)
                        cols.append(c_idx)
                        vals.append(float(change))
            self.levels.append(
                _Level(
                    slots,
                    divisors,
                    coefs,
                    padding,
                    padding == 0.0,
                    np.array(catalysts, dtype=np.int64).reshape(-1, 2),
                    np.array(catalyst_coefs, dtype=np.int64),
                    np.array(group, dtype=np.int64),
                    blocks(len(group), (rows, cols, vals), slots[:, 0], twin),
                )
            )

    @classmethod
    def for_outputs(cls, crn: CRN) -> FiringPlan:
        """A plan that follows only what the outputs need."""
        return cls(crn, track=crn.output_species)

    def fire(self, c: np.ndarray) -> None:
        """Fire every reaction to completion, in place, on a species-major block
        ``(n_tracked, batch)`` of tracked concentrations."""
        for level in self.levels:
            limits = c[level.slots] / level.divisors[:, :, None] + level.padding[:, :, None]
            extent = limits.min(axis=1)  # (n_reactions, batch)
            if len(level.catalysts):
                absent = c[level.catalysts[:, 1]] <= 0
                if absent.any():
                    hit = np.zeros(extent.shape, dtype=bool)
                    np.logical_or.at(hit, level.catalysts[:, 0], absent)
                    extent[hit] = 0.0
            # Consumption: each consumed species belongs to one reaction (non-competitive).
            for q in range(level.slots.shape[1]):
                rows = level.used[:, q]
                left = c[level.slots[rows, q]] - extent[rows] * level.divisors[rows, q][:, None]
                c[level.slots[rows, q]] = np.maximum(left, 0.0)  # rounding can leave -1e-17
            level.produce(c, extent)

    def fire_counts(self, c: np.ndarray) -> np.ndarray:
        """Fire every reaction to completion, in place, on a species-major int64 block
        ``(n_tracked, batch)`` of molecule counts, with integer semantics (module docstring).
        Returns each reaction's extent (number of firings), int64 ``(n_reactions, batch)`` in the
        CRN's reaction order (zero for reactions the plan does not follow). Exact: counts are
        int64, and a :class:`~deepcrn.errors.DataError` names the species whose count would
        pass :data:`~deepcrn.io_map.MAX_COUNT`."""
        extents = np.zeros((len(self.crn.reactions), c.shape[1]), dtype=np.int64)
        for level in self.levels:
            held = c[level.slots]  # (n_reactions, arity, batch)
            limits = (held - level.coefs[:, :, None]) // level.divisors.astype(np.int64)[:, :, None] + 1
            limits[~level.used] = MAX_COUNT
            extent = np.maximum(limits.min(axis=1), 0)
            if len(level.catalysts):
                absent = c[level.catalysts[:, 1]] < level.catalyst_coefs[:, None]
                if absent.any():
                    hit = np.zeros(extent.shape, dtype=bool)
                    np.logical_or.at(hit, level.catalysts[:, 0], absent)
                    extent[hit] = 0
            extents[level.reactions] = extent
            for q in range(level.slots.shape[1]):
                rows = level.used[:, q]
                c[level.slots[rows, q]] -= extent[rows] * level.divisors[rows, q].astype(np.int64)[:, None]
            for block in level.blocks:
                for plain in block.plain():
                    c[plain.rows] += self._production_counts(plain, c[plain.rows], extent)
        return extents

    def _production_counts(self, block: Block, held: np.ndarray, extent: np.ndarray) -> np.ndarray:
        """What a production block makes, int64 ``(n_rows, batch)``, exactly: in float64 while
        every partial sum (of non-negative integers) stays below 2**52, else in int64, and an
        error where a count would pass MAX_COUNT."""
        used = extent if block.columns is None else extent[block.columns]
        made = block.matrix @ used.astype(np.float64)
        top = held.astype(np.float64) + made
        if float(top.max(initial=0.0)) < _FLOAT_EXACT:
            return np.rint(made).astype(np.int64)
        if not float(top.max(initial=0.0)) <= MAX_COUNT:
            row, col = (int(v) for v in np.unravel_index(int(np.argmax(top)), top.shape))
            name = self.crn.species[int(self.tracked[block.rows[row]])]
            raise DataError(
                f"species {name} would reach {float(top[row, col]):.3g} molecules (example {col + 1}), more than the "
                f"{MAX_COUNT:.3g} that exact integer (int64) arithmetic can hold; use fewer molecules per unit"
            )
        return np.asarray(block.matrix.astype(np.int64) @ used)

    def count_block(
        self, x: np.ndarray | None, molecules_per_unit: float, start: int = 0, stop: int | None = None
    ) -> np.ndarray:
        """The species-major int64 block ``(n_tracked, batch)`` of initial molecule counts:
        ``rint(N * amount)`` of :meth:`block` (declared initial amount plus encoded input, summed
        first; :func:`~deepcrn.io_map.to_counts`)."""
        labels = [f"species {self.crn.species[int(s)]}" for s in self.tracked]
        return to_counts(self.block(x, start, stop).T, molecules_per_unit, labels, start).T.copy()

    def run_counts(self, x: np.ndarray | None, molecules_per_unit: float) -> tuple[np.ndarray, np.ndarray]:
        """Final molecule counts of the tracked species, int64 ``(batch, n_tracked)``, and each
        reaction's extent, int64 ``(batch, n_reactions)``, for inputs ``(batch, n_inputs)``."""
        if x is None:
            c = self.count_block(None, molecules_per_unit)
            return c.T, self.fire_counts(c).T
        arr = np.asarray(x, dtype=np.float64)
        arr = arr[None, :] if arr.ndim == 1 else arr
        out = np.empty((len(arr), len(self.tracked)), dtype=np.int64)
        extents = np.empty((len(arr), len(self.crn.reactions)), dtype=np.int64)
        for start in range(0, len(arr), CHUNK):
            c = self.count_block(arr, molecules_per_unit, start, start + CHUNK)
            extents[start : start + CHUNK] = self.fire_counts(c).T
            out[start : start + CHUNK] = c.T
        return out, extents

    def evaluate_counts(self, x: np.ndarray | None, molecules_per_unit: float) -> np.ndarray:
        """Output values ``(batch, n_outputs)`` with ``N = molecules_per_unit`` molecules per
        unit: ``(count(O+) - count(O-)) / (N * scale)`` at the integer-count equilibrium."""
        if self.output_map is None:
            raise ValueError("this plan does not track the output species")
        return self.output_map.count_values(self.run_counts(x, molecules_per_unit)[0], molecules_per_unit)

    def block(self, x: np.ndarray | None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The species-major initial block ``(n_tracked, batch)`` of examples ``start:stop`` of
        ``x``, built directly (no ``(batch, all species)`` state)."""
        crn = self.crn
        row = {int(s): k for k, s in enumerate(self.tracked)}
        base = np.zeros(len(self.tracked))
        for name, value in crn.init.items():
            if crn.index[name] in row:
                base[row[crn.index[name]]] = value
        if x is None:
            if crn.inputs:
                raise DataError(f"this CRN has {len(crn.inputs)} inputs; give input values")
            return base[:, None].copy()
        chunk = x[start:stop]
        c = np.repeat(base[:, None], len(chunk), axis=1)
        for name, amount in input_amounts(crn, chunk).items():
            k = row.get(crn.index[name])
            if k is not None:  # an input species no reaction consumes affects nothing tracked
                c[k] += amount
        return c

    def run(self, x: np.ndarray | None = None) -> np.ndarray:
        """Final concentrations of the tracked species, shape ``(batch, n_tracked)``, for inputs
        ``(batch, n_inputs)``, a chunk of examples at a time."""
        if x is None:
            c = self.block(None)
            self.fire(c)
            return check_finite(c.T, "the final state")
        arr = np.asarray(x, dtype=np.float64)
        arr = arr[None, :] if arr.ndim == 1 else arr
        out = np.empty((len(arr), len(self.tracked)))
        for start in range(0, len(arr), CHUNK):
            c = self.block(arr, start, start + CHUNK)
            self.fire(c)
            out[start : start + CHUNK] = c.T
        return check_finite(out, "the final state")

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray:
        """Output values at equilibrium, ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
        if self.output_map is None:
            raise ValueError("this plan does not track the output species")
        return check_finite(self.output_map.values(self.run(x)), "the outputs")
