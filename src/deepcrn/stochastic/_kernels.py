"""Compiled loops (Numba) of the stochastic ``levels`` engine: each lane's Gillespie loop
(:class:`~deepcrn.stochastic.lanes.Lanes`) and the counting sort that hands arrivals to lanes
(:meth:`~deepcrn.stochastic.levels.LevelsEngine._gather`). Imported when a CRN is simulated,
never at the command line's start-up; compiled once and cached on disk, like
:mod:`deepcrn.kinetics._kernels`, whose decorator they share.
"""

from __future__ import annotations

import numpy as np

from ..kinetics._kernels import njit


@njit
def gather(time, source, example, first_piece, piece_group, piece_slot, piece_inc, n_examples, n_lanes, width):
    """The arrival events of lanes ``group * B + example``, grouped by lane, keeping the order
    of the firings within each lane (a counting sort): ``(time, molecules, slot, bounds,
    totals)``, lane ``l`` owning ``bounds[l]:bounds[l + 1]`` and receiving ``totals[l, q]``
    molecules of reactant slot ``q`` (of ``width``). Firing ``i`` happened at ``time[i]`` in
    ``example[i]``, made by ``source[i]``, whose pieces ``first_piece[source]:first_piece[source
    + 1]`` each deliver ``piece_inc`` molecules of reactant slot ``piece_slot`` to the lanes of
    group ``piece_group``."""
    sizes = np.zeros(n_lanes + 1, dtype=np.int64)
    for i in range(time.shape[0]):
        s, e = source[i], example[i]
        for k in range(first_piece[s], first_piece[s + 1]):
            sizes[piece_group[k] * n_examples + e + 1] += 1
    bounds = np.cumsum(sizes)
    fill = bounds[:-1].copy()
    total = bounds[-1]
    out_time = np.empty(total)
    out_inc = np.empty(total, dtype=np.int64)
    out_slot = np.empty(total, dtype=np.int64)
    totals = np.zeros((n_lanes, width), dtype=np.int64)
    for i in range(time.shape[0]):
        s, e = source[i], example[i]
        for k in range(first_piece[s], first_piece[s + 1]):
            lane = piece_group[k] * n_examples + e
            at = fill[lane]
            out_time[at] = time[i]
            out_inc[at] = piece_inc[k]
            out_slot[at] = piece_slot[k]
            fill[lane] = at + 1
            totals[lane, piece_slot[k]] += piece_inc[k]
    return out_time, out_inc, out_slot, bounds, totals


@njit
def seed(seed):
    np.random.seed(seed)


@njit
def run_lanes(rate, coef, nu, init, a_time, a_inc, a_slot, bounds, offset, t_max, counts, last, truncated, times):
    """Gillespie's direct method, lane by lane (module docstring). Lane ``l``'s firing times go
    to ``times[offset[l]:]`` when ``offset[l] >= 0`` (room for every firing it can make)."""
    width = coef.shape[1]
    avail = np.empty(width, dtype=np.int64)
    for lane in range(rate.shape[0]):
        for q in range(width):
            avail[q] = init[lane, q]
        t = 0.0
        fired = 0
        p, end = bounds[lane], bounds[lane + 1]
        out = offset[lane]
        while True:
            can = True  # decided on the counts: a propensity can underflow to 0 and still be positive
            a = rate[lane]
            for q in range(width):
                if avail[q] < coef[lane, q]:
                    can = False
                for m in range(coef[lane, q]):
                    a *= max(avail[q] - m, 0)
            arrival = a_time[p] if p < end else np.inf
            if can:
                tau = t + (np.random.standard_exponential() / a if a > 0.0 else np.inf)  # a underflowed
                if tau < arrival or p >= end:  # it fires before anything arrives (if ever: at inf)
                    if tau > t_max:
                        truncated[lane] = True
                        break
                    t = tau
                    for q in range(width):
                        avail[q] -= nu[lane, q]
                    if out >= 0:
                        times[out + fired] = tau
                    fired += 1
                    last[lane] = tau
                    continue
            if p >= end:  # it cannot fire and nothing more arrives: complete
                break
            if arrival > t_max:
                truncated[lane] = True
                break
            t = arrival
            avail[a_slot[p]] += a_inc[p]
            p += 1
        counts[lane] = fired
