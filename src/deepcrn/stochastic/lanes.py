"""Exact firing times of reactions other than ``X -> ...``, many lanes at once (a *lane* is one
reaction in one example), given when molecules of their reactants arrive.

A lane's propensity ``a(t) = c * prod_q n_q (n_q - 1) ... (n_q - k_q + 1)`` depends on its
reactants' counts ``n_q``, which rise at arrivals (known in advance: earlier levels made them)
and fall by ``nu_q`` at each of its own firings (``k_q``: reactant coefficient, ``nu_q``: net
consumption, 0 for a catalyst). Every lane is in one of these phases, each handled for all
lanes in it at once:

- **short** of a reactant (``a = 0``): nothing can fire until enough molecules arrive, so the
  lane jumps to the first arrival after which it can (a binary search over cumulative arrivals).
- **tail** (no arrivals left): the process is a pure death chain, so its holding times are
  independent, ``E_i / a(n - i nu)``, all drawn at once and summed.
- **arrivals pending, A + B -> ...** (two distinct reactants, coefficient 1, both consumed: every
  ReLU node of a compiled CRN): one clock per molecule. The propensity ``c n_A n_B`` is the sum
  of ``n_A`` per-molecule hazards ``c n_B(t)``, so each molecule of the scarcer reactant ``A``
  rings at rate ``c n_B(t) <= c b_bar`` (``b_bar``: ``n_B`` plus what arrives in the window), and
  a ring at ``tau`` fires with probability ``n_B(tau) / b_bar`` (thinning per molecule). A block
  draws the first rings of the molecules present (order statistics: gaps ``E_i / ((n_A - i) c
  b_bar)``) and of those arriving in the window, sorts them, and decides them in time order
  speculatively (every earlier ring fired, until one does not; that molecule's next ring cuts
  the block). Molecules of ``A`` arriving do not change any other's hazard, so a block spans
  many arrivals: the window stops only after ``k ~ sqrt(2 n_B)`` molecules of either reactant,
  which keeps ``b_bar`` within a few percent of ``n_B`` and most rings firing.
- **arrivals pending, any other reaction**: thinning (Lewis and Shedler) in blocks. A window
  ``[t, W)`` takes the next arrivals while they add at most ``EPS`` of each reactant's count (``W``: the next
  arrival after them), so ``a_bar = c prod_q ff(n_q + what arrives in the window, k_q)`` bounds
  the propensity there (arrivals only add, firings only remove). Candidates come from a Poisson
  process of rate ``a_bar``, ``M`` at a time; candidate ``m`` at time ``tau_m`` fires with
  probability ``a(tau_m) / a_bar``, where ``a(tau_m)`` counts the arrivals before ``tau_m`` and
  the firings accepted before it. The sequential part (each acceptance lowers the counts the
  next candidate sees) is resolved speculatively: assume every remaining candidate fires, find
  the first that does not, keep what came before, repeat; with ``a_bar`` close to ``a`` a few
  passes decide a whole block. A block ends at its last candidate, or at ``W`` (the partly
  elapsed candidate gap is discarded: the exponential is memoryless), or at ``t_max``.

Thinning is exact: the accepted candidates are the jump times of the process with propensity
``a(t)``, whatever the bound, so the firing times have exactly the law of Gillespie's process.

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

EPS = 0.05  # a window's arrivals add at most this fraction to each reactant's count
WINDOW = 16  # arrivals looked at per block
M_MIN, M_START, M_MAX = 4, 16, 256  # candidates per block (adapted to how many fit a window)
PAIR_MAX = 1024  # candidates per block of the per-molecule scheme
TAIL_BLOCK = 2**20  # tails are drawn in padded pieces of about this many holding times


@dataclass(frozen=True)
class Arrivals:
    """Arrival events of every lane: grouped by lane, sorted in time within it."""

    time: np.ndarray  # (n,)
    inc: np.ndarray  # (n,) int64 molecules arriving
    slot: np.ndarray  # (n,) int64 which reactant
    bounds: np.ndarray  # (lanes + 1,) lane l owns events bounds[l]:bounds[l + 1]
    cum: tuple[np.ndarray, ...]  # per slot (n,) int64: its arrivals in the lane up to and including each event

    @classmethod
    def build(cls, time: np.ndarray, inc: np.ndarray, slot: np.ndarray, lane: np.ndarray, width: int) -> Arrivals:
        """From events in any order; ``lane`` ``(n,)`` is each event's lane, ``width`` the
        number of reactant slots. Lanes count up to the largest lane number plus one."""
        order = np.lexsort((time, lane))
        time, inc, slot, lane = time[order], inc[order], slot[order], lane[order]
        n_lanes = int(lane.max(initial=-1)) + 1
        return cls.sorted(time, inc, slot, lane, n_lanes, width)

    @classmethod
    def sorted(
        cls, time: np.ndarray, inc: np.ndarray, slot: np.ndarray, lane: np.ndarray, n_lanes: int, width: int
    ) -> Arrivals:
        """From events already grouped by lane and sorted in time within each."""
        bounds = np.concatenate([[0], np.cumsum(np.bincount(lane, minlength=n_lanes))]).astype(np.int64)
        sizes = np.diff(bounds)
        cum = []
        for q in range(width):
            total = np.cumsum(np.where(slot == q, inc, 0))
            before = np.concatenate([[0], total])[bounds[:-1]]
            cum.append(total - np.repeat(before, sizes))
        return cls(time, inc.astype(np.int64), slot.astype(np.int64), bounds, tuple(cum))


@dataclass(frozen=True)
class LaneOutcome:
    counts: np.ndarray  # (lanes,) int64 firings
    last: np.ndarray  # (lanes,) time of the last firing (0 when none)
    truncated: np.ndarray  # (lanes,) bool: stopped by t_max while it could still fire or receive
    lanes: np.ndarray  # (r,) lane of each recorded firing, grouped by lane
    times: np.ndarray  # (r,) its time, increasing within each lane


def propensity(rate: np.ndarray, counts: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``rate * prod_q n_q (n_q - 1) ... (n_q - k_q + 1)``: ``rate`` ``(A,)``, ``counts``
    ``(A, Q, X)`` int64, ``coef`` ``(A, Q)`` (0: a padding slot, factor 1); result ``(A, X)``."""
    out = np.repeat(rate[:, None].astype(np.float64), counts.shape[2], axis=1)
    for q in range(counts.shape[1]):
        k = coef[:, q]
        for m in range(int(k.max(initial=0))):
            out *= np.where((m < k)[:, None], np.maximum(counts[:, q, :] - m, 0), 1)
    return out


class _Recorder:
    """Growable (lane, time) arrays of recorded firings."""

    def __init__(self) -> None:
        self.lane = np.empty(1024, dtype=np.int64)
        self.time = np.empty(1024)
        self.n = 0

    def add(self, lane: np.ndarray, time: np.ndarray) -> None:
        m = self.n + len(lane)
        if m > len(self.lane):
            size = max(m, 2 * len(self.lane))
            self.lane = np.resize(self.lane, size)
            self.time = np.resize(self.time, size)
        self.lane[self.n : m] = lane
        self.time[self.n : m] = time
        self.n = m

    def by_lane(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.lane[: self.n], kind="stable")
        return self.lane[: self.n][order], self.time[: self.n][order]


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
        self.m = M_START
        self.recorder = _Recorder()
        self.width = coef.shape[1]
        self.times_pad = np.append(arrivals.time, np.inf)
        # A + B -> ... (distinct, coefficient 1, both consumed): the per-molecule scheme
        self.pair = (
            (coef.shape[1] == 2) & (coef == 1).all(axis=1) & (nu == 1).all(axis=1)
            if coef.shape[1] == 2
            else np.zeros(len(rate), dtype=bool)
        )

    def run(self) -> LaneOutcome:
        n_lanes = len(self.rate)
        out_f = np.zeros(n_lanes, dtype=np.int64)
        out_last = np.zeros(n_lanes)
        out_trunc = np.zeros(n_lanes, dtype=bool)
        s = _State(
            ids=np.arange(n_lanes),
            t=np.zeros(n_lanes),
            f=np.zeros(n_lanes, dtype=np.int64),
            p=self.arr.bounds[:-1].copy(),
            avail=self.init.copy(),
            last=np.zeros(n_lanes),
        )
        while len(s.ids):
            done = np.zeros(len(s.ids), dtype=bool)
            trunc = np.zeros(len(s.ids), dtype=bool)
            short = (s.avail < self.coef[s.ids]).any(axis=1)
            if short.any():
                self._jump(s, np.flatnonzero(short), done, trunc)
            tail = ~done & (s.p == self.arr.bounds[s.ids + 1])
            if tail.any():
                self._tail(s, np.flatnonzero(tail), trunc)
                done |= tail
            rest = ~done
            pairs = np.flatnonzero(rest & self.pair[s.ids])
            if len(pairs):
                self._pair_block(s, pairs, done, trunc)
            others = np.flatnonzero(rest & ~self.pair[s.ids])
            if len(others):
                self._block(s, others, done, trunc)
            if done.any():
                gone = s.ids[done]
                out_f[gone], out_last[gone], out_trunc[gone] = s.f[done], s.last[done], trunc[done]
                s.keep(~done)
        lanes, times = self.recorder.by_lane()
        return LaneOutcome(out_f, out_last, out_trunc, lanes, times)

    # ----------------------------------------------------------------------------- phases
    def _jump(self, s: _State, rows: np.ndarray, done: np.ndarray, trunc: np.ndarray) -> None:
        """Lanes short of a reactant: to the first arrival after which they can fire."""
        ids = s.ids[rows]
        lo, hi = s.p[rows], self.arr.bounds[ids + 1]
        to = lo.copy()
        for q in range(self.width):
            need = self.coef[ids, q] + self.nu[ids, q] * s.f[rows] - self.init[ids, q]
            to = np.maximum(to, _first_at_least(self.arr.cum[q], need, lo, hi))
        when = self.times_pad[np.minimum(to, len(self.arr.time))]
        never = to >= hi
        late = ~never & (when > self.t_max)
        done[rows[never | late]] = True
        trunc[rows[late]] = True
        go = ~(never | late)
        rows, ids, to = rows[go], ids[go], to[go]
        s.t[rows] = when[go]
        for q in range(self.width):
            s.avail[rows, q] = self.init[ids, q] + self.arr.cum[q][to] - self.nu[ids, q] * s.f[rows]
        s.p[rows] = to + 1

    def _tail(self, s: _State, rows: np.ndarray, trunc: np.ndarray) -> None:
        """Lanes with no arrivals left: every remaining firing at once (a pure death chain)."""
        ids = s.ids[rows]
        nu, coef, avail = self.nu[ids], self.coef[ids], s.avail[rows]
        with np.errstate(divide="ignore"):
            room = np.where(nu > 0, (avail - coef) // np.maximum(nu, 1) + 1, np.iinfo(np.int64).max)
        left = np.maximum(room.min(axis=1), 0)
        # Lanes of similar length together, padded, in pieces of bounded size.
        order = np.argsort(left, kind="stable")
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop + 1 - start) * left[order[stop]] <= TAIL_BLOCK:
                stop += 1
            part = order[start:stop]
            self._tail_padded(s, rows[part], left[part], trunc)
            start = stop

    def _tail_padded(self, s: _State, rows: np.ndarray, left: np.ndarray, trunc: np.ndarray) -> None:
        width = int(left.max(initial=0))
        if width == 0:
            return
        ids = s.ids[rows]
        i = np.arange(width)
        counts = s.avail[rows][:, :, None] - self.nu[ids][:, :, None] * i[None, None, :]
        rate = propensity(self.rate[ids], counts, self.coef[ids])
        use = i[None, :] < left[:, None]
        with np.errstate(divide="ignore"):
            gaps = np.where(use, self.rng.standard_exponential(rate.shape) / rate, 0.0)
        times = s.t[rows][:, None] + np.cumsum(gaps, axis=1)
        fired = use & (times <= self.t_max)
        n = fired.sum(axis=1)
        trunc[rows] |= n < left
        self._take(s, rows, times, fired, n)

    def _block(self, s: _State, rows: np.ndarray, done: np.ndarray, trunc: np.ndarray) -> None:
        """Lanes with arrivals pending: one block of thinning (module docstring)."""
        arr, t_max = self.arr, self.t_max
        ids = s.ids[rows]
        a, width, m = len(rows), self.width, self.m
        coef, nu, rate = self.coef[ids], self.nu[ids], self.rate[ids]
        end = arr.bounds[ids + 1]
        p = s.p[rows]
        j = p[:, None] + np.arange(WINDOW)[None, :]
        inside = j < end[:, None]
        jc = np.minimum(j, len(arr.time) - 1)
        w_time = np.where(inside, arr.time[jc], np.inf)
        w_inc = np.where(inside, arr.inc[jc], 0)
        avail = s.avail[rows]
        # Window: arrivals while each adds at most EPS of the reactant's count so far.
        gained = np.zeros((a, width, WINDOW + 1), dtype=np.int64)
        fits = inside.copy()
        for q in range(width):
            gained[:, q, 1:] = np.cumsum(np.where(arr.slot[jc] == q, w_inc, 0), axis=1)
            fits &= gained[:, q, 1:] <= EPS * avail[:, q][:, None]
        n_win = fits.sum(axis=1)  # a prefix: counts only grow
        after = p + n_win
        edge = np.where(after < end, self.times_pad[np.minimum(after, len(arr.time))], np.inf)
        stop = np.minimum(edge, t_max)
        bound = propensity(rate, (avail + gained[np.arange(a), :, n_win])[:, :, None], coef)[:, 0]
        # Candidates and the counts each one sees (arrivals before it; firings added below).
        tau = s.t[rows][:, None] + np.cumsum(self.rng.standard_exponential((a, m)), axis=1) / bound[:, None]
        n_valid = (tau < stop[:, None]).sum(axis=1)
        seen = (w_time[:, None, :] < tau[:, :, None]).sum(axis=2)  # (a, m) window arrivals before each
        counts = avail[:, :, None] + np.take_along_axis(gained, np.repeat(seen[:, None, :], width, axis=1), axis=2)
        level = self.rng.random((a, m)) * bound[:, None]
        accepted = self._decide(rate, coef, nu, counts, level, n_valid)
        n_acc = accepted.sum(axis=1)
        self._take(s, rows, tau, accepted, n_acc)
        # Where the block ends: the last candidate, the window's edge, or t_max.
        full = n_valid == m
        at_edge = ~full & (edge <= t_max)
        horizon = ~full & ~at_edge
        before_end = np.minimum((w_time <= t_max).sum(axis=1), n_win)
        taken = np.where(full, seen[:, -1], np.where(at_edge, n_win + 1, before_end))  # arrivals absorbed
        s.t[rows] = np.where(full, tau[:, -1], np.where(at_edge, edge, t_max))
        new_p = p + taken
        for q in range(width):
            s.avail[rows, q] = (
                self.init[ids, q] + _cum_before(arr.cum[q], new_p, arr.bounds[ids]) - nu[:, q] * s.f[rows]
            )
        s.p[rows] = new_p
        if horizon.any():
            hr = np.flatnonzero(horizon)
            could = propensity(rate[hr], s.avail[rows[hr]][:, :, None], coef[hr])[:, 0] > 0
            done[rows[hr]] = True
            trunc[rows[hr]] = could | (new_p[hr] < end[hr])
        share = full.mean()
        self.m = min(2 * m, M_MAX) if share > 0.5 else max(m // 2, M_MIN) if share < 0.1 else m

    def _pair_block(self, s: _State, rows: np.ndarray, done: np.ndarray, trunc: np.ndarray) -> None:
        """``A + B -> ...`` lanes with arrivals pending: one block of the per-molecule scheme
        (module docstring)."""
        arr, t_max, rng = self.arr, self.t_max, self.rng
        ids = s.ids[rows]
        a = len(rows)
        lane = np.arange(a)
        rate = self.rate[ids]
        avail = s.avail[rows]
        few = np.argmin(avail, axis=1)  # the scarcer reactant: one clock per molecule
        a0, b0 = avail[lane, few], avail[lane, 1 - few]
        k = np.clip(np.ceil(np.sqrt(2.0 * b0)).astype(np.int64), 1, PAIR_MAX)
        width = int(k.max())
        cols = np.arange(width)
        # Window: the next arrivals while at most k molecules of each reactant arrive.
        end = arr.bounds[ids + 1]
        p = s.p[rows]
        j = p[:, None] + cols[None, :]
        inside = j < end[:, None]
        jc = np.minimum(j, len(arr.time) - 1)
        w_time = np.where(inside, arr.time[jc], np.inf)
        w_inc = np.where(inside, arr.inc[jc], 0)
        is_a = arr.slot[jc] == few[:, None]
        gain_a = np.cumsum(np.where(is_a, w_inc, 0), axis=1)
        gain_b = np.cumsum(np.where(is_a, 0, w_inc), axis=1)
        n_win = (inside & (gain_a <= k[:, None]) & (gain_b <= k[:, None])).sum(axis=1)
        after = p + n_win
        edge = np.where(after < end, self.times_pad[np.minimum(after, len(arr.time))], np.inf)
        stop = np.minimum(edge, t_max)
        b_bar = b0 + np.concatenate([np.zeros((a, 1), dtype=np.int64), gain_b], axis=1)[lane, n_win]
        clock = rate * b_bar  # each molecule of the scarcer reactant fires at most at this rate
        # Candidates: the first k order statistics of the present molecules' clocks, and one
        # clock per molecule arriving in the window.
        left = a0[:, None] - cols[None, :]
        with np.errstate(divide="ignore"):
            gaps = np.where(left > 0, rng.standard_exponential((a, width)) / (left * clock[:, None]), np.inf)
        present = s.t[rows][:, None] + np.cumsum(gaps, axis=1)
        present[cols[None, :] >= k[:, None]] = np.inf
        horizon = np.where(a0 > k, present[lane, k - 1], np.inf)  # later clocks were not drawn
        # one clock per molecule of the scarcer reactant arriving in the window
        in_win = cols[None, :] < n_win[:, None]
        inc_a = np.where(is_a & in_win, w_inc, 0)
        per_lane = inc_a.sum(axis=1)
        born = np.repeat(w_time.ravel(), inc_a.ravel())  # grouped by lane, in time order
        slot_in_lane = np.arange(len(born)) - np.repeat(np.cumsum(per_lane) - per_lane, per_lane)
        arriving = np.full((a, width), np.inf)
        arriving[np.repeat(lane, per_lane), slot_in_lane] = born + rng.standard_exponential(len(born)) / np.repeat(
            clock, per_lane
        )
        cand = np.sort(np.concatenate([present, arriving], axis=1), axis=1)
        n_valid = ((cand < stop[:, None]) & (cand <= horizon[:, None])).sum(axis=1)
        # A candidate fires with probability b(tau) / b_bar, b(tau) counting the other
        # reactant's arrivals before it and, speculatively, every earlier candidate as fired.
        n_c = cand.shape[1]
        b_time = np.where(~is_a & in_win, w_time, np.inf)
        merged = np.concatenate([cand, b_time], axis=1)
        order = np.argsort(merged, axis=1, kind="stable")
        weight = np.concatenate([np.zeros((a, n_c), dtype=np.int64), np.where(~is_a & in_win, w_inc, 0)], axis=1)
        running = np.cumsum(np.take_along_axis(weight, order, axis=1), axis=1)
        gained_b = running[order < n_c].reshape(a, n_c)  # candidates keep their order
        level = rng.random(cand.shape) * b_bar[:, None]
        bound = np.minimum(stop, horizon)
        accepted, decided, ring = self._pair_decide(cand, gained_b, b0, level, n_valid, clock)
        n_acc = accepted.sum(axis=1)
        self._take(s, rows, cand, accepted, n_acc)
        # The block ends at its last decided candidate when a rejected molecule's next clock
        # rings before the block's bound (that ring must not be skipped), or when nothing else
        # bounds it; else at the last clock drawn, at the window's edge (taking in that arrival)
        # or at t_max.
        rejected = ring < bound
        open_end = ~rejected & np.isinf(bound)
        last_decided = np.where(decided > 0, cand[lane, np.maximum(decided - 1, 0)], s.t[rows])
        t_end = np.where(rejected | open_end, last_decided, bound)
        at_edge = ~rejected & ~open_end & (edge <= horizon) & (edge <= t_max)
        hit_max = ~rejected & ~open_end & ~at_edge & (t_max <= horizon)
        taken = ((w_time < t_end[:, None]) & (cols[None, :] < n_win[:, None])).sum(axis=1) + at_edge
        s.t[rows] = t_end
        new_p = p + taken
        for q in range(2):
            s.avail[rows, q] = self.init[ids, q] + _cum_before(arr.cum[q], new_p, arr.bounds[ids]) - s.f[rows]
        s.p[rows] = new_p
        if hit_max.any():
            hr = np.flatnonzero(hit_max)
            could = (s.avail[rows[hr]] > 0).all(axis=1)
            done[rows[hr]] = True
            trunc[rows[hr]] = could | (new_p[hr] < end[hr])

    def _pair_decide(
        self,
        cand: np.ndarray,
        gained_b: np.ndarray,
        b0: np.ndarray,
        level: np.ndarray,
        n_valid: np.ndarray,
        clock: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which candidates fire in a per-molecule block (``(a, c)`` bool), how many were
        decided (``(a,)``, at most ``n_valid``) and the earliest next clock of a rejected molecule
        (``(a,)``, inf when none was rejected). Candidate ``m`` fires when ``level[m] < b0 +
        gained_b[m] - (firings before it)``, resolved by speculation. A rejected candidate's
        molecule draws its next clock; the candidates before that rings still are each the first
        clock of their molecule and are decided, the rest are left to the next block."""
        a, c = cand.shape
        cols = np.arange(c)
        accepted = np.zeros((a, c), dtype=bool)
        start = np.zeros(a, dtype=np.int64)
        stop = n_valid.copy()
        missed = np.zeros(a, dtype=np.int64)
        earliest = np.full(a, np.inf)
        while True:
            live = np.flatnonzero(start < stop)
            if not len(live):
                return accepted, stop, earliest
            st, sp_ = start[live], stop[live]
            ahead = (cols[None, :] >= st[:, None]) & (cols[None, :] < sp_[:, None])
            fired_before = cols[None, :] - missed[live][:, None]  # speculatively, all since the last miss fired
            miss = ahead & (level[live] >= b0[live][:, None] + gained_b[live] - fired_before)
            has = miss.any(axis=1)
            first = np.where(has, np.argmax(miss, axis=1), sp_)
            accepted[live] |= ahead & (cols[None, :] < first[:, None])
            start[live] = np.where(has, first + 1, sp_)
            hit = live[has]
            if len(hit):
                ring = cand[hit, first[has]] + self.rng.standard_exponential(len(hit)) / clock[hit]
                earliest[hit] = np.minimum(earliest[hit], ring)
                stop[hit] = np.minimum(stop[hit], (cand[hit] < ring[:, None]).sum(axis=1))
                missed[hit] += 1

    def _decide(
        self,
        rate: np.ndarray,
        coef: np.ndarray,
        nu: np.ndarray,
        counts: np.ndarray,
        level: np.ndarray,
        n_valid: np.ndarray,
    ) -> np.ndarray:
        """Which of each lane's first ``n_valid`` candidates fire (``(a, m)`` bool): candidate
        ``m`` fires when ``level[m] < propensity(counts[m] - nu * firings in the block before
        it)``, resolved by speculation (module docstring)."""
        a, m = level.shape
        cols = np.arange(m)
        accepted = np.zeros((a, m), dtype=bool)
        start = np.zeros(a, dtype=np.int64)  # first undecided candidate
        fired = np.zeros(a, dtype=np.int64)  # accepted so far in this block
        while True:
            live = np.flatnonzero(start < n_valid)
            if not len(live):
                return accepted
            st, nv, base = start[live], n_valid[live], fired[live]
            ahead = (cols[None, :] >= st[:, None]) & (cols[None, :] < nv[:, None])
            guess = base[:, None] + np.maximum(cols[None, :] - st[:, None], 0)  # all of them fire
            hazard = propensity(rate[live], counts[live] - nu[live][:, :, None] * guess[:, None, :], coef[live])
            miss = ahead & ~(level[live] < hazard)
            has = miss.any(axis=1)
            first = np.where(has, np.argmax(miss, axis=1), nv)
            accepted[live] |= ahead & (cols[None, :] < first[:, None])
            fired[live] += first - st
            # After a miss, candidates that see a zero propensity (nothing new arrived) miss too.
            now = fired[live][:, None]
            zero = propensity(rate[live], counts[live] - nu[live][:, :, None] * now[:, None, :], coef[live]) <= 0
            later = ~zero & (cols[None, :] > first[:, None]) & (cols[None, :] < nv[:, None])
            start[live] = np.where(has, np.where(later.any(axis=1), np.argmax(later, axis=1), nv), nv)

    def _take(self, s: _State, rows: np.ndarray, times: np.ndarray, fired: np.ndarray, n: np.ndarray) -> None:
        """Account ``n`` firings per lane at ``times[fired]`` (each row's fired times increasing)."""
        ids = s.ids[rows]
        s.f[rows] += n
        some = n > 0
        if some.any():
            last_col = np.where(some, fired.shape[1] - 1 - np.argmax(fired[:, ::-1], axis=1), 0)
            s.last[rows[some]] = times[np.flatnonzero(some), last_col[some]]
        keep = self.record[ids]
        if keep.any():
            rr, cc = np.nonzero(fired & keep[:, None])
            self.recorder.add(ids[rr], times[rr, cc])


@dataclass
class _State:
    """The active lanes: lane number, time, firings, next arrival, available counts, last firing."""

    ids: np.ndarray
    t: np.ndarray
    f: np.ndarray
    p: np.ndarray
    avail: np.ndarray
    last: np.ndarray

    def keep(self, mask: np.ndarray) -> None:
        self.ids, self.t, self.f, self.p = self.ids[mask], self.t[mask], self.f[mask], self.p[mask]
        self.avail, self.last = self.avail[mask], self.last[mask]


def _cum_before(cum: np.ndarray, p: np.ndarray, lane_start: np.ndarray) -> np.ndarray:
    """Cumulative arrivals of the events before ``p`` in each lane (0 at the lane's start)."""
    return np.where(p > lane_start, cum[np.maximum(p - 1, 0)] if len(cum) else 0, 0)


def _first_at_least(values: np.ndarray, need: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per lane, the first index ``j`` in ``[lo, hi)`` with ``values[j] >= need`` (``values``
    non-decreasing there), or ``hi``: one binary search for all lanes at once."""
    lo, hi = lo.copy(), hi.copy()
    top = max(len(values) - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        ok = values[np.minimum(mid, top)] >= need
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)
