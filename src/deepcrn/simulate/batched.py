"""A batched, structure-exploiting implicit integrator for rate-independent CRNs.

For a non-competitive, feed-forward CRN whose reactions are ``X -> ...`` or ``A + B -> ...``
(A != B, no catalysts; every CRN deepcrn compiles), one **backward Euler** step
``C' = C + h f(C')`` is solved exactly by one sweep in topological order: when a reaction's
turn comes, everything that produces its reactants has been solved, so its reactants hold
``a`` (and ``b``), and its extent over the step is closed-form:

- ``X -> ...``:      ``e = a h k / (1 + h k)``;
- ``A + B -> ...``:  ``e = h k (a - e)(b - e)``, the root in ``[0, min(a, b)]``:
  ``e = 2 h k a b / (s + sqrt(h^2 k^2 (a - b)^2 + 2 h k (a + b) + 1))``, ``s = h k (a + b) + 1``.

No LU, no Newton iterations, and every step fires reactions by extents their reactants can
afford, so concentrations stay >= 0 and the exact equilibrium *from the current state* never
changes. Steps adapt per example by step doubling (one step of ``h`` against two of ``h/2``;
the two-half-step result is kept), and each example stops by the same residual rule as
:func:`deepcrn.simulate.ode.simulate_ode`. The whole batch moves together as
``(species, batch)`` arrays (NumPy), in chunks that bound memory.
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm import tqdm

from ..crn import CRN
from ..errors import SimulationError
from .equilibrium import ExactPlan, output_plan
from .ode import ODEResult
from .rates import RateMode, resolve_rates

log = logging.getLogger(__name__)
CHUNK = 2048


def qualifies(crn: CRN) -> str | None:
    """``None`` if the batched integrator handles ``crn``, else the reason it does not."""
    if not crn.is_non_competitive():
        return "the CRN is competitive"
    if not crn.is_feed_forward():
        return "the CRN is not feed-forward"
    for i, r in enumerate(crn.reactions):
        names = [s for s, _ in r.reactants]
        if any(c != 1 for _, c in r.reactants) or len(names) > 2:
            return f"reaction {i + 1} ({r}) is not X -> ... or A + B -> ..."
        if any(s in names for s, _ in r.products):
            return f"reaction {i + 1} ({r}) has a catalyst"
    return None


class BatchedIntegrator:
    """Backward Euler by topological sweeps (module docstring) for one CRN and rate vector."""

    def __init__(self, crn: CRN, rates: np.ndarray, plan: ExactPlan | None = None) -> None:
        reason = qualifies(crn)
        if reason is not None:
            raise SimulationError(f"the batched integrator needs X -> ... / A + B -> ... reactions: {reason}")
        self.crn = crn
        self.plan = plan or output_plan(crn)
        self.k = [np.asarray(rates, dtype=np.float64)[level.reactions][:, None] for level in self.plan.levels]
        self.bi = [
            level.used[:, 1] if level.slots.shape[1] > 1 else np.zeros(len(level.reactions), bool)
            for level in self.plan.levels
        ]
        where = {int(s): i for i, s in enumerate(self.plan.tracked)}
        self.pos = np.array([where[crn.index[o.pos]] for o in crn.outputs], dtype=np.int64)
        self.neg = np.array([where[crn.index[o.neg]] for o in crn.outputs], dtype=np.int64)
        self.scale = np.array([o.scale for o in crn.outputs])[:, None]

    def outputs(self, c: np.ndarray) -> np.ndarray:
        """Output values ``(n_outputs, batch)`` of a species-major block."""
        return (c[self.pos] - c[self.neg]) / self.scale

    def step(self, c: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One backward Euler step of sizes ``h`` ``(batch,)`` from ``c`` ``(n_tracked, batch)``."""
        cur = c.copy()
        for level, k, bi in zip(self.plan.levels, self.k, self.bi):
            hk = k * h[None, :]
            a = cur[level.slots[:, 0]]
            extent = np.empty_like(a)
            uni = ~bi
            extent[uni] = a[uni] * (hk[uni] / (1.0 + hk[uni]))  # < a, so a - extent >= 0 exactly
            if bi.any():
                ab, b, hkb = a[bi], cur[level.slots[bi, 1]], hk[bi]
                s = hkb * (ab + b) + 1.0
                root = np.sqrt((hkb * (ab - b)) ** 2 + 2.0 * hkb * (ab + b) + 1.0)
                e = np.minimum(2.0 * hkb * ab * b / (s + root), np.minimum(ab, b))
                extent[bi] = e
                cur[level.slots[bi, 1]] = b - e
            cur[level.slots[:, 0]] = a - extent
            if level.span.stop > level.span.start:
                cur[level.span] += level.production_t @ extent
        return cur

    def residual(self, c: np.ndarray) -> np.ndarray:
        """How far each example's outputs can still move ``(batch,)``: exact from the current state."""
        final = c.copy()
        self.plan.fire(final)
        return np.abs(self.outputs(final) - self.outputs(c)).max(axis=0, initial=0.0)


def _crossing(t0: np.ndarray, r0: np.ndarray, t1: np.ndarray, r1: np.ndarray, tol: float) -> np.ndarray:
    """When the residual fell to ``tol`` between checks ``(t0, r0)`` and ``(t1, r1)``: log-log
    interpolation (the slow tail is a power law in t); ``t1`` where that is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (np.log(tol) - np.log(r0)) / (np.log(r1) - np.log(r0))
        est = np.exp(np.log(t0) + frac * (np.log(t1) - np.log(t0)))
    ok = (t0 > 0) & np.isfinite(r0) & (r1 > 0) & (r0 > tol) & (r1 <= tol) & np.isfinite(est)
    return np.where(ok, np.clip(est, t0, t1), t1)


def simulate_batched(
    crn: CRN,
    x: np.ndarray | None = None,
    rates: RateMode | np.ndarray = "given",
    *,
    seed: int = 0,
    tol: float = 1e-3,
    t_max: float = 1e6,
    rtol: float = 3e-2,
    atol: float | None = None,
    record: int = 0,
    progress: bool = False,
    max_steps: int = 100_000,
) -> ODEResult:
    """Mass-action kinetics of every example at once (module docstring).

    Same arguments and result as :func:`~deepcrn.simulate.ode.simulate_ode`; ``rtol``/``atol``
    control the local error of each step (on every tracked species; ``atol`` defaults to
    ``tol / 100``, so the slow tail near the stopping point stays resolved); ``record`` keeps the
    output trajectories of the first ``record`` examples.

    Accuracy: the outputs at the stop are within ``tol`` of the equilibrium whatever the step
    error (every step is a valid firing, and the rule measures what is left exactly); the step
    control shapes the trajectory. Backward Euler is first order: with the default tolerances
    the stopping times come out within about 15% of SciPy BDF's at rtol 1e-6 on networks, and
    up to ~40% late on a pure ``1/(k t)`` tail (a ReLU input exactly at 0); output
    trajectories agree to about 1% of the output scale. ``rtol=1e-2`` brings the tail within
    ~20% at about 1.6x the steps.
    """
    atol = tol / 100 if atol is None else atol
    if not (tol > 0 and t_max > 0 and rtol > 0 and atol > 0):
        raise SimulationError("tol, t_max, rtol and atol must be positive")
    k = resolve_rates(crn, rates, seed)
    integ = BatchedIntegrator(crn, k)
    states = crn.initial_state(x)
    batch = states.shape[0]
    result = ODEResult.empty(batch, len(crn.outputs), k, "batched")
    traj_t: list[list[float]] = [[0.0] for _ in range(min(record, batch))]
    traj_v: list[list[np.ndarray]] = [
        [integ.outputs(states[i, integ.plan.tracked][:, None])[:, 0]] for i in range(min(record, batch))
    ]
    h0 = 1e-3 / float(k.max())
    bar = tqdm(total=batch, desc="ODE (batched)", unit="example", disable=not progress, leave=False)
    for start in range(0, batch, CHUNK):
        ids = np.arange(start, min(start + CHUNK, batch))
        c = np.ascontiguousarray(states[ids][:, integ.plan.tracked].T)
        t = np.zeros(len(ids))
        h = np.full(len(ids), h0)
        steps = np.zeros(len(ids), dtype=np.int64)
        next_check = np.zeros(len(ids))
        res = np.full(len(ids), np.inf)
        last_t = np.zeros(len(ids))  # the previous check, for interpolating the stopping time
        last_res = np.full(len(ids), np.inf)
        for _ in range(max_steps):
            # Check the stopping rule where t has grown 10% since the last check, and at t_max.
            due = (t >= next_check) | (t >= t_max)
            if due.any():
                last_t[due], last_res[due] = t[due], res[due]
                res[due] = integ.residual(c[:, due])
                next_check[due] = t[due] * 1.1
            done = (res <= tol) | (t >= t_max)
            if done.any():
                d = ids[done]
                result.outputs[d] = integ.outputs(c[:, done]).T
                result.times[d] = _crossing(last_t[done], last_res[done], t[done], res[done], tol)
                result.converged[d] = res[done] <= tol
                result.residual[d] = res[done]
                result.steps[d] = steps[done]
                bar.update(int(done.sum()))
                keep = ~done
                ids, c, t, h, steps, next_check, res, last_t, last_res = (
                    ids[keep],
                    c[:, keep],
                    t[keep],
                    h[keep],
                    steps[keep],
                    next_check[keep],
                    res[keep],
                    last_t[keep],
                    last_res[keep],
                )
                if not len(ids):
                    break
            # At most 25% of the time so far per step, so the stopping time is resolved.
            h = np.minimum(np.minimum(h, np.maximum(0.25 * t, h0)), t_max - t)
            full = integ.step(c, h)
            half = integ.step(integ.step(c, h / 2), h / 2)
            scale = atol + rtol * np.maximum(np.abs(half), np.abs(c))
            err = np.max(np.abs(half - full) / scale, axis=0, initial=0.0)
            ok = err <= 1.0
            c[:, ok] = half[:, ok]
            t[ok] += h[ok]
            steps[ok] += 1
            factor = np.clip(0.9 / np.sqrt(np.maximum(err, 1e-12)), 0.2, 4.0)
            h = h * np.where(ok, factor, np.minimum(factor, 0.5))
            for j in np.flatnonzero(ok & (ids < len(traj_t))):
                traj_t[ids[j]].append(float(t[j]))
                traj_v[ids[j]].append(integ.outputs(c[:, j : j + 1])[:, 0])
        else:
            raise SimulationError(f"the batched integrator took {max_steps} steps without finishing")
    bar.close()
    result.trajectories = [(np.array(ts), np.array(vs)) for ts, vs in zip(traj_t, traj_v)]
    for b in result.not_converged:
        log.warning("example %d did not converge by t=%g (residual %.3g > tol %.3g)", b, t_max, result.residual[b], tol)
    return result
