"""The ``levels`` engine: exact stochastic simulation of a rate-independent CRN, one
topological level at a time, many trajectories at once.

**Why it is exact.** Gillespie's direct method samples a Markov jump process that Kurtz's random
time change writes as ``F_r(t) = Y_r(integral_0^t a_r(X(s)) ds)``: ``F_r`` counts the firings of
reaction ``r``, ``a_r`` is its propensity (:mod:`.propensity`) and the ``Y_r`` are independent
unit-rate Poisson processes, one per reaction. In a non-competitive, feed-forward CRN, ``a_r``
depends only on the counts of ``r``'s reactants, and those change only by ``r``'s own firings
(no other reaction consumes them) and by firings of reactions in earlier topological levels
(which make them). So, given the firing times of the earlier levels, ``r``'s firing times are a
function of ``Y_r`` alone: simulating level by level, each reaction driven by its own
randomness, samples trajectories with exactly the law of the whole CRN's Gillespie process. Each
reaction is simulated for every example of a chunk at once (a *lane* is a reaction in one
example):

- ``X -> ...`` (one reactant, coefficient 1) has propensity ``k n_X(t)``: each molecule of ``X``
  fires after its own Exp(k) time from its arrival (a superposition of independent clocks, and
  the firing times are their order statistics). So the firing times are the arrival times of
  the molecules plus independent Exp(k) draws, all at once.
- Any other reaction (``A + B -> ...`` and the rest): each lane runs Gillespie's direct method
  on its own, driven by the known arrival times of its reactants, in compiled code
  (:class:`~deepcrn.stochastic.lanes.Lanes`).

Arrivals of a reactant are the firing times of the reactions that make it (with their
coefficients), gathered from earlier levels. A lane stops when no reaction event can happen any
more (it *completed*) or, with ``t_max``, when the next event would come later (*truncated*,
and so the example is incomplete). Firing times are kept only where a later level or a recorded
trajectory needs them. The number of firings of each reaction in each example comes out of the
simulation itself; that it equals the integer-count equilibrium's extent is what the tests
check.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n")
    >>> engine = LevelsEngine(crn, 10.0, crn.rate_constants())
    >>> run = engine.run(engine.initial_counts(np.array([[0.5]])), np.random.default_rng(0))
    >>> run.firings.tolist(), run.completed.tolist()
    ([[5, 0]], [True])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..analysis import check_rate_independent, net_stoichiometry, reaction_levels
from ..crn import CRN
from ..io_map import initial_counts
from .lanes import Arrivals, Lanes
from .propensity import propensity_constants

ARRIVALS_AT_ONCE = 10**7  # arrival events (or molecules) held at once: a level's lanes run in parts


@dataclass
class _Fired:
    """One reaction's firings in a chunk of ``B`` examples."""

    counts: np.ndarray  # (B,) int64
    last: np.ndarray  # (B,) time of the last firing (0 when none)
    truncated: np.ndarray  # (B,) bool: stopped by t_max while it could still fire
    times: np.ndarray | None  # firing times, example-major (None when no one needs them)

    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.counts)])


@dataclass
class ChunkRun:
    """Outcome for a chunk of ``B`` examples."""

    firings: np.ndarray  # (B, n_reactions) int64: how many times each reaction fired
    last: np.ndarray  # (B,) time of the last event
    completed: np.ndarray  # (B,) bool
    recorded: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (reaction, example) -> times


@dataclass(frozen=True)
class _Pieces:
    """Where the arrivals of a level's lanes come from: one row per (lane group, reactant slot,
    producing reaction)."""

    group: np.ndarray  # lane group (the level's reaction position)
    slot: np.ndarray  # reactant slot of that reaction
    producer: np.ndarray  # reaction that makes the reactant
    inc: np.ndarray  # molecules it makes per firing


class LevelsEngine:
    """The levels engine for one CRN, ``N`` molecules per unit and rate constants ``rates``
    ``(n_reactions,)`` (module docstring). Build once, then :meth:`run` chunks of examples."""

    def __init__(self, crn: CRN, molecules_per_unit: float, rates: np.ndarray) -> None:
        check_rate_independent(crn)
        self.crn = crn
        self.molecules_per_unit = float(molecules_per_unit)
        self.c = propensity_constants(crn, rates, molecules_per_unit)
        self.levels = [list(group) for group in reaction_levels(crn)]
        index = crn.index
        self.net = net_stoichiometry(crn)  # (species, reactions)
        # reactants: (species, coefficient, net consumption) per reaction
        self.slots: list[list[tuple[int, int, int]]] = []
        for reaction in crn.reactions:
            net = reaction.net()
            self.slots.append([(index[name], coef, max(0, -net.get(name, 0))) for name, coef in reaction.reactants])
        self.linear = [len(s) == 1 and s[0][1] == 1 for s in self.slots]
        made = self.net.tocsc()
        producers: dict[int, list[tuple[int, int]]] = {}
        for r in range(len(crn.reactions)):
            col = slice(made.indptr[r], made.indptr[r + 1])
            for s, v in zip(made.indices[col].tolist(), made.data[col].tolist()):
                if v > 0:
                    producers.setdefault(s, []).append((r, int(v)))
        self.producers = producers
        level_of = {r: k for k, group in enumerate(self.levels) for r in group}
        # the last level that reads each reaction's firing times (-1: none)
        self.last_use = np.full(len(crn.reactions), -1, dtype=np.int64)
        for r, slots in enumerate(self.slots):
            for s, _, _ in slots:
                for p, _ in producers.get(s, []):
                    self.last_use[p] = max(self.last_use[p], level_of[r])
        out = sorted({index[name] for name in crn.output_species})
        self.output_columns = np.array(out, dtype=np.int64)
        touch = self.net[self.output_columns]
        self.touches_output = np.zeros(len(crn.reactions), dtype=bool)
        self.touches_output[np.unique(touch.indices)] = True
        self.pieces = [(self._pieces(group, True), self._pieces(group, False)) for group in self.levels]
        self._record = 0  # examples of the current chunk whose output trajectories are recorded
        self._recorded: dict[tuple[int, int], np.ndarray] = {}

    def _pieces(self, group: list[int], linear: bool) -> _Pieces:
        rows = []
        for g, r in enumerate(r for r in group if self.linear[r] == linear):
            for q, (s, _, _) in enumerate(self.slots[r]):
                rows += [(g, q, p, inc) for p, inc in self.producers.get(s, [])]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        return _Pieces(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])

    def initial_counts(self, x: np.ndarray | None) -> np.ndarray:
        """Initial molecule counts, int64 ``(batch, n_species)`` (:func:`deepcrn.io_map.initial_counts`)."""
        return initial_counts(self.crn, x, self.molecules_per_unit)

    # ----------------------------------------------------------------------------- arrivals
    def _gather(
        self,
        pieces: _Pieces,
        fired: dict[int, _Fired],
        n_examples: int,
        n_lanes: int,
        width: int = 1,
        in_order: bool = True,
    ) -> Arrivals:
        """Arrival events of a level's lanes ``g * B + b``, grouped by lane and, ``in_order``, in
        time order within each. The producers' firings are put in time order once (NumPy's
        sort), then copied to the lanes they feed by a compiled counting sort
        (:func:`~deepcrn.stochastic._kernels.gather`), which keeps that order."""
        from ._kernels import gather  # compiled on first use (Numba): not at import

        b = n_examples
        by_producer = np.argsort(pieces.producer, kind="stable")
        producers, per_producer = np.unique(pieces.producer, return_counts=True)
        first_piece = np.concatenate([[0], np.cumsum(per_producer)]).astype(np.int64)
        runs = [fired[prod] for prod in producers.tolist()]
        assert all(run.times is not None for run in runs), "firing times dropped while still needed"
        counts = np.array([run.counts for run in runs], dtype=np.int64).reshape(len(runs), b)
        time = np.concatenate([run.times for run in runs if run.times is not None] or [np.zeros(0)])
        source = np.repeat(np.arange(len(runs)), counts.sum(axis=1))
        example = np.tile(np.arange(b), len(runs)).repeat(counts.ravel())
        if in_order:  # two firings at one instant have probability 0, and their order no effect
            order = np.argsort(time)
            time, source, example = time[order], source[order], example[order]
        return Arrivals(
            *gather(
                time.astype(np.float64),
                source.astype(np.int64),
                example.astype(np.int64),
                first_piece,
                pieces.group[by_producer].astype(np.int64),
                pieces.slot[by_producer].astype(np.int64),
                pieces.inc[by_producer].astype(np.int64),
                b,
                n_lanes,
                width,
            )
        )

    # ----------------------------------------------------------------------------- X -> ...
    def _run_linear(
        self,
        group: list[int],
        pieces: _Pieces,
        n0: np.ndarray,
        fired: dict[int, _Fired],
        rng: np.random.Generator,
        t_max: float,
        keep: np.ndarray,
    ) -> None:
        """Firing times of the level's ``X -> ...`` reactions: each molecule's arrival time plus
        an independent Exp(k) holding time; in parts whose molecules fit :data:`ARRIVALS_AT_ONCE`."""
        for part, part_pieces in self._parts(group, pieces, fired, n0):
            self._linear_part(part, part_pieces, n0, fired, rng, t_max, keep)

    def _linear_part(
        self,
        group: list[int],
        pieces: _Pieces,
        n0: np.ndarray,
        fired: dict[int, _Fired],
        rng: np.random.Generator,
        t_max: float,
        keep: np.ndarray,
    ) -> None:
        b = len(n0)
        n_lanes = len(group) * b
        arrivals = self._gather(pieces, fired, b, n_lanes, in_order=False)
        times, inc = arrivals.time, arrivals.inc
        lane = np.repeat(np.arange(n_lanes), np.diff(arrivals.bounds))
        reactant = np.array([self.slots[r][0][0] for r in group], dtype=np.int64)
        init = n0[:, reactant].T.ravel()  # (lanes,) lane-major: g * B + b
        mol_lane = np.concatenate([np.repeat(np.arange(n_lanes), init), np.repeat(lane, inc)])
        mol_time = np.concatenate([np.zeros(int(init.sum())), np.repeat(times, inc)])
        order = np.argsort(mol_lane, kind="stable")
        mol_lane = mol_lane[order]
        rates = self.c[np.array(group, dtype=np.int64)]
        fire = mol_time[order] + rng.standard_exponential(len(order)) / np.repeat(rates, b)[mol_lane]
        truncated = np.zeros(n_lanes, dtype=bool)
        if math.isfinite(t_max):
            late = fire > t_max
            truncated[np.unique(mol_lane[late])] = True
            fire, mol_lane = fire[~late], mol_lane[~late]
        counts = np.bincount(mol_lane, minlength=n_lanes).astype(np.int64)
        last = np.zeros(n_lanes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        busy = counts > 0
        if busy.any():
            last[busy] = np.maximum.reduceat(fire, starts[busy])
        for g, r in enumerate(group):
            lo, hi = g * b, (g + 1) * b
            segment = slice(int(starts[lo]), int(starts[lo] + counts[lo:hi].sum()))
            self._store(fired, r, counts[lo:hi], last[lo:hi], truncated[lo:hi], fire[segment], keep)

    def _store(
        self,
        fired: dict[int, _Fired],
        r: int,
        counts: np.ndarray,
        last: np.ndarray,
        truncated: np.ndarray,
        times: np.ndarray | None,
        keep: np.ndarray,
    ) -> None:
        """Keep reaction ``r``'s firings; ``times`` (example-major) may cover only the first
        examples when ``r`` is not ``keep``-ed: those whose trajectories are recorded."""
        fired[r] = _Fired(counts, last, truncated, times if keep[r] else None)
        if self.touches_output[r] and self._record and times is not None:
            offsets = np.concatenate([[0], np.cumsum(counts)])
            for e in range(min(self._record, len(counts))):
                self._recorded[(r, e)] = np.sort(times[offsets[e] : offsets[e + 1]])

    # ----------------------------------------------------------------------------- the rest
    def _run_general(
        self,
        group: list[int],
        pieces: _Pieces,
        n0: np.ndarray,
        fired: dict[int, _Fired],
        rng: np.random.Generator,
        t_max: float,
        keep: np.ndarray,
    ) -> None:
        """Firing times of the level's other reactions (:mod:`.lanes`), in parts whose arrival
        events fit :data:`ARRIVALS_AT_ONCE`."""
        for part, part_pieces in self._parts(group, pieces, fired, None):
            self._run_lanes(part, part_pieces, n0, fired, rng, t_max, keep)

    def _parts(
        self, group: list[int], pieces: _Pieces, fired: dict[int, _Fired], n0: np.ndarray | None
    ) -> list[tuple[list[int], _Pieces]]:
        """``group`` cut into consecutive parts whose load fits :data:`ARRIVALS_AT_ONCE` (at least
        one reaction each), with their pieces: the load is the arrival events or, given initial
        counts ``n0``, the molecules (initial ones included) of each reaction's reactant."""
        producers, which = np.unique(pieces.producer, return_inverse=True)
        made = np.array([fired[prod].counts.sum() for prod in producers.tolist()], dtype=np.float64)
        per_piece = made[which] * (1 if n0 is None else pieces.inc)
        load = np.bincount(pieces.group, weights=per_piece, minlength=len(group))
        if n0 is not None:
            load += n0[:, [self.slots[r][0][0] for r in group]].sum(axis=0)
        parts = []
        start = 0
        while start < len(group):
            stop, total = start + 1, load[start]
            while stop < len(group) and total + load[stop] <= ARRIVALS_AT_ONCE:
                total += load[stop]
                stop += 1
            rows = (pieces.group >= start) & (pieces.group < stop)
            part = _Pieces(pieces.group[rows] - start, pieces.slot[rows], pieces.producer[rows], pieces.inc[rows])
            parts.append((group[start:stop], part))
            start = stop
        return parts

    def _run_lanes(
        self,
        group: list[int],
        pieces: _Pieces,
        n0: np.ndarray,
        fired: dict[int, _Fired],
        rng: np.random.Generator,
        t_max: float,
        keep: np.ndarray,
    ) -> None:
        b = len(n0)
        n_groups = len(group)
        n_lanes = n_groups * b
        width = max(len(self.slots[r]) for r in group)
        species = np.zeros((n_groups, width), dtype=np.int64)
        coef = np.zeros((n_groups, width), dtype=np.int64)  # 0 in padding: a factor of 1
        nu = np.zeros((n_groups, width), dtype=np.int64)
        for g, r in enumerate(group):
            for q, (sp_, k, v) in enumerate(self.slots[r]):
                species[g, q], coef[g, q], nu[g, q] = sp_, k, v
        init = np.where(coef[:, None, :] > 0, n0.T[species].transpose(0, 2, 1), 0).reshape(n_lanes, width)
        arrivals = self._gather(pieces, fired, b, n_lanes, width)
        reactions = np.array(group, dtype=np.int64)
        lane_example = np.tile(np.arange(b), n_groups)
        record = np.repeat(keep[reactions], b) | (
            np.repeat(self.touches_output[reactions], b) & (lane_example < self._record)
        )
        lanes = Lanes(
            np.repeat(self.c[reactions], b),
            np.repeat(coef, b, axis=0),
            np.repeat(nu, b, axis=0),
            init,
            arrivals,
            record,
            t_max,
            rng,
        )
        out = lanes.run()
        bounds = np.searchsorted(out.lanes, np.arange(0, n_lanes + 1, b))
        for g, r in enumerate(group):
            lo, hi = g * b, (g + 1) * b
            # every example's times when kept, else (touching an output) the recorded examples' only
            times_r = out.times[bounds[g] : bounds[g + 1]]
            self._store(fired, r, out.counts[lo:hi], out.last[lo:hi], out.truncated[lo:hi], times_r, keep)

    # ----------------------------------------------------------------------------- driver
    def run(self, n0: np.ndarray, rng: np.random.Generator, t_max: float = math.inf, record: int = 0) -> ChunkRun:
        """Simulate one trajectory per row of ``n0`` (initial counts, int64 ``(B, n_species)``)
        until it completes or ``t_max`` passes; keep the firing times of reactions that change
        an output for the first ``record`` rows."""
        self._record = record
        self._recorded = {}
        fired: dict[int, _Fired] = {}
        keep = self.last_use >= 0
        for k, group in enumerate(self.levels):
            linear = [r for r in group if self.linear[r]]
            other = [r for r in group if not self.linear[r]]
            lin_pieces, gen_pieces = self.pieces[k]
            if linear:
                self._run_linear(linear, lin_pieces, n0, fired, rng, t_max, keep)
            if other:
                self._run_general(other, gen_pieces, n0, fired, rng, t_max, keep)
            for r in np.flatnonzero(self.last_use == k).tolist():
                fired[r].times = None  # no later level reads them
        b = len(n0)
        firings = np.zeros((b, len(self.crn.reactions)), dtype=np.int64)
        last = np.zeros(b)
        truncated = np.zeros(b, dtype=bool)
        for r, run in fired.items():
            firings[:, r] = run.counts
            last = np.maximum(last, run.last)
            truncated |= run.truncated
        return ChunkRun(firings, last, ~truncated, self._recorded)
