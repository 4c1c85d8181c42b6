"""Stochastic simulation with molecule counts (Gillespie's process), one trajectory per example.

With ``N`` molecules per unit of concentration every species starts with ``rint(N * amount)``
molecules (:func:`deepcrn.io_map.initial_counts`, exactly as the integer-count equilibrium of
:mod:`deepcrn.exact.counts`) and reactions fire one molecule-event at a time with stochastic
mass-action propensities (:mod:`.propensity`). A non-competitive, feed-forward CRN ends in one
final state whatever the order of events (DESIGN section 9), so every trajectory that completes
ends exactly at the integer-count equilibrium; what a trajectory adds is time: when it
completes, how many events it takes, what the outputs are on the way, and where they are if
stopped at ``t_max``.

One public entry, :func:`simulate`, with two engines (exact in distribution, no leaping):

- ``"levels"`` (:mod:`.levels`): level by level, each reaction for every example at once,
  exploiting that no two reactions compete for a reactant; rate-independent CRNs.
- ``"rebop"``: the independent Rust simulator rebop (:mod:`deepcrn.interop.rebop`; Gillespie's
  direct method), one example at a time; needs ``pip install 'deepcrn[ssa]'``.
- ``"auto"``: levels.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n")
    >>> res = simulate(crn, np.array([[0.5], [-0.25]]), molecules_per_unit=100, seed=1)
    >>> res.outputs.ravel().tolist(), res.events.tolist(), res.completed.tolist()
    ([0.5, 0.0], [50, 0], [True, True])
"""

from __future__ import annotations

import math
import time
from typing import Literal

import numpy as np
from tqdm import tqdm

from ..crn import CRN
from ..errors import SimulationError
from ..exact.fire import FiringPlan
from ..io_map import OutputMap, check_molecules_per_unit, count_output_values, initial_counts
from ..kinetics.rates import RateMode, check_seed, resolve_rates
from .levels import LevelsEngine
from .propensity import propensity_constants
from .result import SSAResult

Engine = Literal["auto", "levels", "rebop"]
ENGINES: tuple[Engine, ...] = ("auto", "levels", "rebop")
#: Default limit on the events of one trajectory (checked before simulating, from the exact
#: integer-count equilibrium, which fixes how many times each reaction fires).
MAX_EVENTS = 10**9
#: Work, in events and arrivals held at once, that sets how many examples share a chunk.
CHUNK_WORK = 2 * 10**7
TRAJECTORY_POINTS = 300


def _check(molecules_per_unit: float, t_max: float | None, record: int, max_events: int) -> float:
    n = check_molecules_per_unit(molecules_per_unit)
    if t_max is not None and not (isinstance(t_max, (int, float)) and math.isfinite(t_max) and t_max > 0):
        raise SimulationError(f"t_max must be a finite number > 0 (or None: run to completion), got {t_max!r}")
    if isinstance(record, bool) or not isinstance(record, int) or record < 0:
        raise SimulationError(f"record must be a count of examples >= 0, got {record!r}")
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        raise SimulationError(f"max_events must be a whole number >= 1, got {max_events!r}")
    return n


def event_counts(crn: CRN, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the events of a complete trajectory (fixed: every reaction fires its
    integer-count extent) and the arrivals the levels engine handles (each event times the
    product species a later reaction reads), from initial counts ``(batch, n_species)``."""
    plan = FiringPlan(crn)
    block = np.ascontiguousarray(counts[:, plan.tracked].T)
    extents = plan.fire_counts(block).T  # (batch, n_reactions)
    read = {name for r in crn.reactions for name, _ in r.reactants}
    fan = np.array([1 + sum(1 for name, _ in r.products if name in read) for r in crn.reactions])
    return extents.sum(axis=1), extents @ fan


def simulate(
    crn: CRN,
    x: np.ndarray | None = None,
    molecules_per_unit: float = 1000.0,
    rates: RateMode | np.ndarray = "given",
    *,
    engine: Engine = "auto",
    seed: int = 0,
    t_max: float | None = None,
    record: int = 0,
    max_events: int = MAX_EVENTS,
    progress: bool = False,
) -> SSAResult:
    """One stochastic trajectory per example of inputs ``x`` ``(batch, n_inputs)``, with
    ``N = molecules_per_unit`` molecules per unit of concentration, until no reaction can fire
    (``t_max=None``, the default) or until ``t_max`` (units of 1/k).

    ``rates``: ``"given"`` (the CRN's, 1 where unset), ``"unit"``, ``"random"`` (log-uniform over
    [0.1, 10], drawn with ``seed``) or an array ``(n_reactions,)``; ``seed`` also seeds the
    trajectories (the same seed and inputs give the same trajectories); ``record``: keep the
    output trajectories of the first ``record`` examples; ``max_events``: refuse (before
    simulating) an example whose complete trajectory needs more events; ``progress``: a progress
    bar on stderr. Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state depends
    on its rates, :class:`~deepcrn.errors.DataError` for bad inputs or counts that would overflow.
    """
    start_clock = time.perf_counter()
    if engine not in ENGINES:
        raise SimulationError(f"unknown SSA engine {engine!r}; choose one of {', '.join(ENGINES)}")
    n = _check(molecules_per_unit, t_max, record, max_events)
    seed = check_seed(seed)
    k = resolve_rates(crn, rates, seed)
    counts = initial_counts(crn, x, n)
    horizon = math.inf if t_max is None else float(t_max)
    engine_obj = LevelsEngine(crn, n, k)  # checks rate independence before any work
    events, work = event_counts(crn, counts)
    if t_max is None and len(events) and int(events.max()) > max_events:
        worst = int(np.argmax(events))
        raise SimulationError(
            f"example {worst + 1} needs {int(events[worst]):.3g} reaction events for one complete trajectory at "
            f"{n:g} molecules per unit (more than the limit {max_events:.3g}); use fewer molecules per unit, a "
            "t_max, or raise the limit (--max-events)"
        )
    out = OutputMap.of(crn)
    record = min(record, len(counts))
    if engine == "rebop":
        result = _simulate_rebop(crn, counts, n, k, seed, horizon, out)
    else:
        result = _simulate_levels(engine_obj, counts, work, seed, horizon, record, out, progress)
    outputs = count_output_values(result[0], n, out.scale)
    res = SSAResult(
        outputs=outputs,
        output_counts=result[0],
        times=result[1],
        events=result[2],
        completed=result[3],
        molecules_per_unit=n,
        rates=k,
        engine="rebop" if engine == "rebop" else "levels",
        seed=seed,
        t_max=t_max,
        trajectories=result[4],
    )
    res.seconds = time.perf_counter() - start_clock
    return res


Outcome = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]


def _simulate_levels(
    engine: LevelsEngine,
    counts: np.ndarray,
    work: np.ndarray,
    seed: int,
    t_max: float,
    record: int,
    out: OutputMap,
    progress: bool,
) -> Outcome:
    crn = engine.crn
    batch = len(counts)
    rng = np.random.default_rng([seed, 1])
    per_chunk = max(1, int(CHUNK_WORK // max(1, int(work.max(initial=1)))))
    diff = np.zeros((batch, len(crn.outputs)), dtype=np.int64)
    last = np.zeros(batch)
    events = np.zeros(batch, dtype=np.int64)
    completed = np.zeros(batch, dtype=bool)
    net_out = engine.net[np.concatenate([out.pos, out.neg])].T.tocsr().astype(np.int64)  # (reactions, 2 * outputs)
    trajectories: list[tuple[np.ndarray, np.ndarray]] = []
    starts = range(0, batch, per_chunk)
    for lo in tqdm(starts, desc="SSA", unit="chunk", disable=not progress or len(starts) < 2):
        hi = min(lo + per_chunk, batch)
        run = engine.run(counts[lo:hi], rng, t_max, max(0, min(record - lo, hi - lo)))
        final = counts[lo:hi][:, np.concatenate([out.pos, out.neg])] + np.asarray(run.firings @ net_out)
        k = len(out.pos)
        diff[lo:hi] = final[:, :k] - final[:, k:]
        last[lo:hi] = run.last
        events[lo:hi] = run.firings.sum(axis=1)
        completed[lo:hi] = run.completed
        for e in range(max(0, min(record - lo, hi - lo))):
            trajectories.append(_trajectory(engine, counts[lo + e], run.recorded, e, run.last[e], out))
    return diff, last, events, completed, trajectories


def _trajectory(
    engine: LevelsEngine,
    counts: np.ndarray,
    recorded: dict[tuple[int, int], np.ndarray],
    e: int,
    end: float,
    out: OutputMap,
) -> tuple[np.ndarray, np.ndarray]:
    """Output values of example ``e`` at 0 and at log-spaced times up to its last event, from
    the recorded firing times of the reactions that change an output."""
    times = {r: t for (r, ex), t in recorded.items() if ex == e and len(t)}
    first = min((float(t[0]) for t in times.values()), default=end)
    if end > first > 0:
        grid = np.concatenate([[0.0], np.geomspace(first, end, TRAJECTORY_POINTS)])
    else:
        grid = np.array([0.0, end])
    cols = np.concatenate([out.pos, out.neg])
    level = np.repeat(counts[cols][None, :].astype(np.int64), len(grid), axis=0)
    net = engine.net[cols].tocsc()
    for r, t in times.items():
        fired = np.searchsorted(t, grid, side="right")
        col = net[:, r]
        level[:, col.indices] += fired[:, None] * col.data.astype(np.int64)[None, :]
    k = len(out.pos)
    return grid, count_output_values(level[:, :k] - level[:, k:], engine.molecules_per_unit, out.scale)


def _simulate_rebop(
    crn: CRN, counts: np.ndarray, n: float, k: np.ndarray, seed: int, t_max: float, out: OutputMap
) -> Outcome:
    from ..interop.rebop import run_rebop, to_rebop

    model = to_rebop(crn, k, n)
    names = [crn.species[i] for i in np.concatenate([out.pos, out.neg])]
    batch = len(counts)
    diff = np.zeros((batch, len(crn.outputs)), dtype=np.int64)
    last = np.zeros(batch)
    events = np.zeros(batch, dtype=np.int64)
    completed = np.zeros(batch, dtype=bool)
    seeds = np.random.SeedSequence([seed, 2]).generate_state(max(batch, 1), dtype=np.uint64)
    m = len(out.pos)
    for i in range(batch):
        run = run_rebop(model, crn, counts[i], int(seeds[i]), names, t_max)
        diff[i] = run.counts[:m] - run.counts[m:]
        last[i], events[i], completed[i] = run.last, run.events, run.completed
    return diff, last, events, completed, []


__all__ = [
    "ENGINES",
    "MAX_EVENTS",
    "Engine",
    "LevelsEngine",
    "SSAResult",
    "event_counts",
    "propensity_constants",
    "simulate",
]
