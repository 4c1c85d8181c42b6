"""Mass-action kinetics with SciPy's stiff integrators and a sparse Jacobian, one example at a time.

``d[S]/dt = sum_r (net change of S in r) * k_r * prod_{reactants R} [R]^coef``.

Any CRN: rate-independent ones stop by the residual rule, others by the stationary rule
(:mod:`deepcrn.kinetics.stopping`). Species are ordered topologically where the CRN is
feed-forward, so the Jacobian is (block) lower triangular and BDF's LU factorisation in that
natural order has no fill-in (about 10x faster than SciPy's default column ordering).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from ..analysis import is_feed_forward, is_rate_independent, species_order
from ..crn import CRN
from ..errors import SimulationError
from ..io_map import OutputMap, initial_state
from .result import KineticsResult
from .stopping import Residual, Stationarity

Solver = Literal["BDF", "Radau", "LSODA"]
SOLVERS: tuple[Solver, ...] = ("BDF", "Radau", "LSODA")
RTOL, ATOL = 1e-6, 1e-10  # the SciPy integrator's own default tolerances
#: Largest initial amount this engine takes: beyond it mass action's time scales spread so far
#: apart (bimolecular ones shrink as 1 / amount) that SciPy's integrators lose the trajectory.
MAX_AMOUNT = 1e8


class MassAction:
    """Right-hand side and sparse Jacobian of mass-action kinetics for one CRN.

    ``rhs(t, c)`` and ``jacobian(t, c)`` take a state of shape ``(n_species,)`` with species in
    ``order`` (default: the CRN's); negative concentrations (integrator round-off) are read as 0.
    """

    def __init__(self, crn: CRN, rates: np.ndarray, order: list[str] | None = None) -> None:
        n, m = len(crn.species), len(crn.reactions)
        #: state position of each species (``order``, default the CRN's own order)
        self.position = {name: k for k, name in enumerate(order or crn.species)}
        if len(self.position) != n or set(self.position) != set(crn.species):
            raise SimulationError("the species order must list every species once")
        arity = max((len(r.reactants) for r in crn.reactions), default=1)
        self.slots = np.full((m, arity), n, dtype=np.int64)  # column n holds a constant 1
        self.coefs = np.zeros((m, arity))
        rows, cols, vals = [], [], []
        for j, r in enumerate(crn.reactions):
            for k, (name, coef) in enumerate(r.reactants):
                self.slots[j, k] = self.position[name]
                self.coefs[j, k] = coef
            for name, change in r.net().items():
                if change:
                    rows.append(self.position[name])
                    cols.append(j)
                    vals.append(float(change))
        self.rates = np.asarray(rates, dtype=np.float64)
        self.k = self.rates
        self.orders = self.coefs.sum(axis=1)
        self.stoich = sp.csr_matrix((vals, (rows, cols)), shape=(n, m))
        real = self.slots < n
        self._jrows = np.nonzero(real)[0]
        self._jslot = np.nonzero(real)[1]
        self._jcols = self.slots[real]
        self.n = n

    def rescale(self, unit: float) -> None:
        """Measure concentrations in units of ``unit``: the same kinetics, with each rate constant
        multiplied by ``unit ** (order - 1)``. Keeps the integrator's numbers near 1 however large
        the amounts."""
        self.k = self.rates * unit ** (self.orders - 1.0)

    def _powers(self, c: np.ndarray) -> np.ndarray:
        ext = np.append(np.maximum(c, 0.0), 1.0)
        return ext[self.slots] ** self.coefs  # (m, arity)

    def reaction_rates(self, c: np.ndarray) -> np.ndarray:
        return self.k * self._powers(c).prod(axis=1)

    def rhs(self, t: float, c: np.ndarray) -> np.ndarray:
        return self.stoich @ self.reaction_rates(c)

    def jacobian(self, t: float, c: np.ndarray) -> sp.csc_matrix:
        ext = np.append(np.maximum(c, 0.0), 1.0)
        base = ext[self.slots]
        powers = base**self.coefs
        # d rate_j / d c_s for reactant slot q = k_j * coef * c^(coef-1) * product of the other slots
        partial = self.coefs * base ** np.maximum(self.coefs - 1, 0)
        for q in range(self.slots.shape[1]):
            partial[:, q] *= np.prod(np.delete(powers, q, axis=1), axis=1)
        vals = (self.k[:, None] * partial)[self._jrows, self._jslot]
        d_rate = sp.csr_matrix((vals, (self._jrows, self._jcols)), shape=(len(self.k), self.n))
        return (self.stoich @ d_rate).tocsc()


def _natural_lu(a: sp.spmatrix) -> Any:
    """LU of ``I - c J`` in the given (topological) order, pivoting on the diagonal, which is
    >= 1 because mass action never makes a species speed its own production."""
    from scipy.sparse.linalg import splu  # here: importing it costs commands that never get here 0.1 s

    return splu(sp.csc_matrix(a), permc_spec="NATURAL", diag_pivot_thresh=0.0)


def simulate_scipy(
    crn: CRN,
    x: np.ndarray | None,
    rates: np.ndarray,
    *,
    solver: Solver = "BDF",
    tol: float = 1e-3,
    t_max: float = 1e6,
    rtol: float | None = None,
    atol: float | None = None,
    record: int = 0,
    progress: bool = False,
) -> KineticsResult:
    """Integrate each example with SciPy's ``solver`` until its stopping rule holds (tolerance
    ``tol`` relative to the example's scale) or ``t_max`` passes. ``rtol``/``atol``: the
    integrator's own tolerances (default 1e-6 and 1e-10, ``atol`` relative to the example's
    scale); ``record``: keep the output trajectories of the first ``record`` examples."""
    if solver not in SOLVERS:
        raise SimulationError(f"unknown SciPy solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    rtol = RTOL if rtol is None else rtol
    atol = ATOL if atol is None else atol
    biggest = float(initial_state(crn, x).max(initial=0.0))
    if biggest > MAX_AMOUNT:
        raise SimulationError(
            f"an initial amount is {biggest:.3g}; the scipy engine takes amounts up to {MAX_AMOUNT:g} (its "
            "integrators lose the trajectory beyond); rescale the inputs, or use the batched engine"
        )
    order = species_order(crn)
    perm = np.array([crn.index[s] for s in order], dtype=np.int64)
    states = initial_state(crn, x)[:, perm]
    model = MassAction(crn, rates, order)
    outputs = OutputMap.of(crn, perm)
    exact = Residual(crn) if is_rate_independent(crn) else None
    stationary = Stationarity(model.rhs, model.jacobian)
    # Species positions of the residual rule's tracked columns in this engine's state order.
    tracked = None if exact is None else np.array([model.position[crn.species[s]] for s in exact.plan.tracked])
    from scipy import integrate  # loaded when SciPy integrates (0.35 s), not at start-up

    solver_cls = {"BDF": integrate.BDF, "Radau": integrate.Radau, "LSODA": integrate.LSODA}[solver]
    rule = exact.name if exact is not None else stationary.name
    batch = states.shape[0]
    result = KineticsResult.empty(batch, len(crn.outputs), np.asarray(rates), "scipy", solver, rule)
    for b in tqdm(range(batch), desc="ODE (SciPy)", unit="example", disable=not progress, leave=False):
        # Integrate in units of the largest initial amount (at least 1): the numbers the
        # integrator sees stay near 1, so its tolerances mean the same at any magnitude.
        unit = max(1.0, float(states[b].max(initial=0.0)))
        model.rescale(unit)
        y0 = states[b] / unit
        if exact is not None:
            assert tracked is not None
            start = exact.final_outputs(states[b][tracked][:, None])
            scale = float(np.maximum(1.0, np.abs(start).max(initial=0.0)))

            def measure(t: float, c: np.ndarray, start: np.ndarray | None = start, unit: float = unit) -> float:
                return float(exact.measure(np.maximum(c[tracked], 0.0)[:, None] * unit, start)[0])

        else:
            scale = stationary.scale(states[b])

            def measure(t: float, c: np.ndarray, start: np.ndarray | None = None, unit: float = unit) -> float:
                return stationary.measure(t, c) * unit

        kwargs: dict[str, object] = {"rtol": rtol, "atol": atol * scale / unit}
        kwargs["jac"] = (lambda t, c: model.jacobian(t, c).toarray()) if solver == "LSODA" else model.jacobian
        keep = b < record
        ts, vs = [0.0], [outputs.values(states[b])[0]]
        res = measure(0.0, y0)
        steps = 0
        next_check = 0.0
        try:
            with np.errstate(all="ignore"):  # failures are caught below and by the drift check
                integrator = solver_cls(model.rhs, 0.0, y0, t_max, **kwargs)
                if solver == "BDF" and is_feed_forward(crn):
                    integrator.lu = _natural_lu
                while res > tol * scale and integrator.status == "running":
                    message = integrator.step()
                    steps += 1
                    if integrator.status == "failed":
                        raise SimulationError(
                            f"example {b + 1}: the {solver} integrator failed at t={integrator.t:g}: {message}"
                        )
                    # The rule is checked whenever t has grown by 5% (and at t_max): the reported
                    # stopping time overshoots the first time the rule holds by at most 5%.
                    if integrator.t >= next_check or integrator.status != "running":
                        res = measure(integrator.t, integrator.y)
                        next_check = integrator.t * 1.05
                    if keep:
                        ts.append(integrator.t)
                        vs.append(outputs.values(integrator.y)[0] * unit)
        except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            raise SimulationError(f"example {b + 1}: the {solver} integrator failed: {err}") from err
        if not np.isfinite(res) or not np.all(np.isfinite(integrator.y)):
            raise SimulationError(
                f"example {b + 1}: the {solver} integrator produced non-finite values at t={integrator.t:g}"
            )
        result.outputs[b] = outputs.values(integrator.y)[0] * unit
        result.times[b] = integrator.t
        result.converged[b] = res <= tol * scale
        result.residual[b] = res
        result.tolerance[b] = tol * scale
        result.steps[b] = steps
        if keep:
            result.trajectories.append((np.array(ts), np.array(vs)))
    return result
