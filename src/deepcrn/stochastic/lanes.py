"""Exact firing times of reactions other than ``X -> ...``, many lanes at once (a *lane* is one
reaction in one example), given when molecules of their reactants arrive.

A lane's propensity ``a(t) = c * prod_q n_q (n_q - 1) ... (n_q - k_q + 1)`` depends on its
reactants' counts ``n_q``, which rise at arrivals (known in advance: earlier levels made them)
and fall by ``nu_q`` at each of its own firings (``k_q``: reactant coefficient, ``nu_q``: net
consumption, 0 for a catalyst). Between two arrivals only the lane's own firings change ``a``,
so each lane is a small Markov chain driven by known arrival times, and Gillespie's direct
method for it is one loop: with propensity ``a``, the next firing comes after an Exp(1) / ``a``
wait unless the next arrival comes first, in which case the clock restarts at that arrival
(the exponential is memoryless); with ``a = 0`` the lane waits for the next arrival. Every
lane of a level runs that loop in compiled code (Numba,
:func:`~deepcrn.stochastic._kernels.run_lanes`), one lane after another: each event costs one
exponential draw and a few integer updates, whatever the number of products (they are the
arrivals of later levels). A lane stops when it cannot fire and
nothing more arrives (it completed), or when its next event would come after ``t_max``
(truncated).

The random numbers come from Numba's generator, seeded from the caller's NumPy generator at
each :meth:`Lanes.run`, so a seed gives the same trajectories.

>>> import numpy as np
>>> arrivals = Arrivals.build(np.array([0.5, 1.0]), np.array([1, 2]), np.array([1, 1]), np.array([0, 0]), width=2)
>>> lanes = Lanes(np.array([2.0]), np.array([[1, 1]]), np.array([[1, 1]]), np.array([[4, 0]]), arrivals,
...               np.array([True]), np.inf, np.random.default_rng(0))
>>> out = lanes.run()
>>> out.counts.tolist(), out.truncated.tolist(), len(out.times)  # min(4, 1 + 2) firings
([3], [False], 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Arrivals:
    """Arrival events of every lane: grouped by lane, sorted in time within it."""

    time: np.ndarray  # (n,)
    inc: np.ndarray  # (n,) int64 molecules arriving
    slot: np.ndarray  # (n,) int64 which reactant
    bounds: np.ndarray  # (lanes + 1,) lane l owns events bounds[l]:bounds[l + 1]
    totals: np.ndarray  # (lanes, slots) int64: molecules of each reactant arriving in each lane

    @classmethod
    def build(cls, time: np.ndarray, inc: np.ndarray, slot: np.ndarray, lane: np.ndarray, width: int) -> Arrivals:
        """From events in any order; ``lane`` ``(n,)`` is each event's lane, ``width`` the
        number of reactant slots. Lanes count up to the largest lane number plus one."""
        order = np.lexsort((time, lane))
        n_lanes = int(lane.max(initial=-1)) + 1
        bounds = np.concatenate([[0], np.cumsum(np.bincount(lane[order], minlength=n_lanes))])
        return cls.sorted(time[order], inc[order], slot[order], bounds, width)

    @classmethod
    def sorted(cls, time: np.ndarray, inc: np.ndarray, slot: np.ndarray, bounds: np.ndarray, width: int) -> Arrivals:
        """From events already grouped by lane, lane ``l`` owning ``bounds[l]:bounds[l + 1]``,
        and sorted in time within each."""
        inc, slot, bounds = inc.astype(np.int64), slot.astype(np.int64), bounds.astype(np.int64)
        totals = np.zeros((len(bounds) - 1, width), dtype=np.int64)
        for q in range(width):
            running = np.concatenate([[0], np.cumsum(np.where(slot == q, inc, 0))])
            totals[:, q] = running[bounds[1:]] - running[bounds[:-1]]
        return cls(time.astype(np.float64), inc, slot, bounds, totals)


@dataclass(frozen=True)
class LaneOutcome:
    counts: np.ndarray  # (lanes,) int64 firings
    last: np.ndarray  # (lanes,) time of the last firing (0 when none)
    truncated: np.ndarray  # (lanes,) bool: stopped by t_max while it could still fire or receive
    lanes: np.ndarray  # (r,) lane of each recorded firing, grouped by lane
    times: np.ndarray  # (r,) its time, increasing within each lane


class Lanes:
    """Lanes with propensity constants ``rate`` ``(L,)``, reactant coefficients ``coef`` and net
    consumptions ``nu`` ``(L, Q)`` int64, initial counts ``init`` ``(L, Q)`` int64, their
    ``arrivals``, whether to ``record`` each lane's firing times ``(L,)``, a time limit and a
    random generator (module docstring)."""

    def __init__(
        self,
        rate: np.ndarray,
        coef: np.ndarray,
        nu: np.ndarray,
        init: np.ndarray,
        arrivals: Arrivals,
        record: np.ndarray,
        t_max: float,
        rng: np.random.Generator,
    ) -> None:
        self.rate, self.coef, self.nu, self.init = rate, coef, nu, init
        self.arr = arrivals
        self.record = record
        self.t_max = t_max
        self.rng = rng

    def most_firings(self) -> np.ndarray:
        """Per lane, the most firings it can make ``(L,)``: each one net-consumes ``nu_q`` of
        some reactant, of which at most its initial count plus its arrivals are ever there."""
        total = self.init + self.arr.totals
        with np.errstate(divide="ignore"):
            most = np.where(self.nu > 0, total // np.maximum(self.nu, 1), np.iinfo(np.int64).max).min(axis=1)
        return np.where(most == np.iinfo(np.int64).max, 0, most)

    def run(self) -> LaneOutcome:
        n_lanes = len(self.rate)
        room = np.where(self.record, self.most_firings(), 0)
        offset = np.where(self.record, np.cumsum(room) - room, -1).astype(np.int64)
        times = np.empty(int(room.sum()))
        counts = np.zeros(n_lanes, dtype=np.int64)
        last = np.zeros(n_lanes)
        truncated = np.zeros(n_lanes, dtype=bool)
        from ._kernels import run_lanes, seed  # compiled on first use (Numba): not at import

        seed(int(self.rng.integers(2**32)))
        arr = self.arr
        run_lanes(
            self.rate.astype(np.float64),
            self.coef.astype(np.int64),
            self.nu.astype(np.int64),
            self.init.astype(np.int64),
            arr.time,
            arr.inc,
            arr.slot,
            arr.bounds,
            offset,
            float(self.t_max),
            counts,
            last,
            truncated,
            times,
        )
        kept = np.flatnonzero(self.record)
        lanes = np.repeat(kept, counts[kept])
        starts = np.repeat(offset[kept], counts[kept])
        within = np.arange(len(lanes)) - np.repeat(np.cumsum(counts[kept]) - counts[kept], counts[kept])
        return LaneOutcome(counts, last, truncated, lanes, times[starts + within])
