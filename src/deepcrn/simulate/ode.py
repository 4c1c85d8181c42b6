"""Mass-action kinetics with SciPy's stiff integrators and a sparse Jacobian.

``d[S]/dt = sum_r (net change of S in r) * k_r * prod_{reactants R} [R]^coef``.

**Stopping rule.** A ReLU node whose input is near 0 converges slowly: ``M + I- -> Y-`` with
equal amounts ``a`` decays like ``a / (1 + a k t)``, so no fixed end time suits every input.
For a rate-independent (non-competitive, feed-forward) CRN, the equilibrium reached *from the
current state* is computed exactly, so after every integrator step we measure the
**residual**: ``max_j |exact_outputs(C(t)) - outputs(C(t))|``, how much the outputs can still
move. An example has converged when the residual is at most ``tol``; its outputs and the time
are then reported. For any other CRN the rule is ``t * max_S |d[S]/dt| <= tol`` over every
species (the remaining change of a ``1/t`` tail; upstream species count, since the outputs
can stand still while they move). An example that does not meet the rule by ``t_max`` is reported as
not converged, never hidden.

Example::

    >>> import numpy as np
    >>> from deepcrn.crn_text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> Y_p\\nX_n -> Y_n")
    >>> res = simulate_ode(crn, np.array([[2.0]]), tol=1e-6)
    >>> bool(res.converged[0]), round(float(res.outputs[0, 0]), 4)
    (True, 2.0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.integrate import BDF, LSODA, Radau
from scipy.sparse.linalg import splu
from tqdm import tqdm

from ..crn import CRN
from ..errors import SimulationError
from .equilibrium import output_plan
from .rates import RateMode, resolve_rates

log = logging.getLogger(__name__)
Method = Literal["auto", "batched", "BDF", "Radau", "LSODA"]
METHODS: tuple[Method, ...] = ("auto", "batched", "BDF", "Radau", "LSODA")


class MassAction:
    """Right-hand side and sparse Jacobian of mass-action kinetics for one CRN.

    ``rhs(c)`` and ``jacobian(c)`` take a state of shape ``(n_species,)`` with species in
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
        self.k = np.asarray(rates, dtype=np.float64)
        self.stoich = sp.csr_matrix((vals, (rows, cols)), shape=(n, m))
        real = self.slots < n
        self._jrows = np.nonzero(real)[0]
        self._jslot = np.nonzero(real)[1]
        self._jcols = self.slots[real]
        self.n = n

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
    return splu(sp.csc_matrix(a), permc_spec="NATURAL", diag_pivot_thresh=0.0)


@dataclass
class ODEResult:
    """Outcome of :func:`simulate_ode` for a batch of examples.

    ``outputs`` ``(batch, n_outputs)``: output values when the example stopped; ``times``
    ``(batch,)``: stopping time (units of 1/k); ``converged`` ``(batch,)``; ``residual``
    ``(batch,)``: the stopping rule's measure at that time; ``steps`` ``(batch,)``: integrator
    steps; ``trajectories``: per example ``(t, values)`` with ``t`` shape ``(T,)`` and ``values``
    shape ``(T, n_outputs)`` (output values over time), when recorded.
    """

    outputs: np.ndarray
    times: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    steps: np.ndarray
    rates: np.ndarray
    trajectories: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    method: str = "BDF"  #: the engine that ran: "batched", "BDF", "Radau" or "LSODA"

    @classmethod
    def empty(cls, batch: int, n_outputs: int, rates: np.ndarray, method: str) -> ODEResult:
        """A result for ``batch`` examples, to be filled in by an engine."""
        return cls(
            outputs=np.zeros((batch, n_outputs)),
            times=np.zeros(batch),
            converged=np.zeros(batch, dtype=bool),
            residual=np.zeros(batch),
            steps=np.zeros(batch, dtype=np.int64),
            rates=rates,
            method=method,
        )

    @property
    def not_converged(self) -> list[int]:
        """Indices of the examples that missed the stopping rule by ``t_max``."""
        return [int(i) for i in np.flatnonzero(~self.converged)]


def simulate_ode(
    crn: CRN,
    x: np.ndarray | None = None,
    rates: RateMode | np.ndarray = "given",
    *,
    seed: int = 0,
    tol: float = 1e-3,
    t_max: float = 1e6,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    method: Method = "auto",
    record: bool = True,
    progress: bool = False,
) -> ODEResult:
    """Integrate mass-action kinetics for each example until the stopping rule (module docstring)
    holds or ``t_max`` passes.

    ``x``: inputs ``(batch, n_inputs)``; ``rates``: see :func:`~deepcrn.simulate.rates.resolve_rates`
    (``seed`` draws random ones); ``tol``: stopping tolerance on the outputs (absolute, in output
    units); ``rtol``/``atol``: the SciPy integrator's own tolerances. ``method="auto"`` uses the
    batched integrator (:mod:`deepcrn.simulate.batched`) when the CRN qualifies, else SciPy BDF;
    ``"batched"`` insists on it; ``"BDF"``, ``"Radau"``, ``"LSODA"`` integrate one example at a
    time with SciPy.
    """
    if method not in METHODS:
        raise SimulationError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not (tol > 0 and t_max > 0):
        raise SimulationError("tol and t_max must be positive")
    if method in ("auto", "batched"):
        from .batched import qualifies, simulate_batched

        reason = qualifies(crn)
        if reason is None:
            n = 0 if x is None else len(np.atleast_2d(x))
            return simulate_batched(
                crn, x, rates, seed=seed, tol=tol, t_max=t_max, record=max(n, 1) if record else 0, progress=progress
            )
        if method == "batched":
            raise SimulationError(f"the batched integrator cannot run this CRN: {reason}")
        log.info("SciPy BDF instead of the batched integrator: %s", reason)
        method = "BDF"
    k = resolve_rates(crn, rates, seed)
    # Topological species order: the Jacobian of a feed-forward CRN is then (block) lower
    # triangular, and an LU factorisation in that natural order has no fill-in.
    order = crn.species_order()
    perm = np.array([crn.index[s] for s in order], dtype=np.int64)
    states = crn.initial_state(x)[:, perm]
    model = MassAction(crn, k, order)
    jac = model.jacobian
    plan = None
    feed_forward = crn.is_feed_forward()
    if feed_forward and crn.is_non_competitive():
        plan = output_plan(crn)
    solver_cls = {"BDF": BDF, "Radau": Radau, "LSODA": LSODA}[method]
    pos = np.array([model.position[o.pos] for o in crn.outputs], dtype=np.int64)
    neg = np.array([model.position[o.neg] for o in crn.outputs], dtype=np.int64)
    scale = np.array([o.scale for o in crn.outputs])
    if plan is not None:
        where = {int(s): i for i, s in enumerate(plan.tracked)}
        ppos = np.array([where[crn.index[o.pos]] for o in crn.outputs], dtype=np.int64)
        pneg = np.array([where[crn.index[o.neg]] for o in crn.outputs], dtype=np.int64)
        unpermuted = np.empty((1, len(crn.species)))

    def values(c: np.ndarray) -> np.ndarray:
        return (c[..., pos] - c[..., neg]) / scale

    def residual(t: float, c: np.ndarray) -> float:
        now = values(c)
        if plan is not None:
            unpermuted[0, perm] = np.maximum(c, 0.0)
            final = plan.run(unpermuted)
            return float(np.max(np.abs((final[0, ppos] - final[0, pneg]) / scale - now), initial=0.0))
        if t <= 0:
            return np.inf
        return float(t * np.max(np.abs(model.rhs(t, c)), initial=0.0))

    batch = states.shape[0]
    result = ODEResult.empty(batch, len(crn.outputs), k, method)
    for b in tqdm(range(batch), desc="ODE", unit="example", disable=not progress, leave=False):
        y0 = states[b]
        kwargs: dict[str, object] = {"rtol": rtol, "atol": atol}
        if method == "LSODA":
            kwargs["jac"] = lambda t, c: jac(t, c).toarray()
        else:
            kwargs["jac"] = jac
        solver = solver_cls(model.rhs, 0.0, y0, t_max, **kwargs)
        if method == "BDF" and feed_forward:
            solver.lu = _natural_lu
        ts, vs = [0.0], [values(y0)]
        res = residual(0.0, y0)
        steps = 0
        next_check = 0.0
        while res > tol and solver.status == "running":
            message = solver.step()
            steps += 1
            if solver.status == "failed":
                raise SimulationError(f"example {b}: the {method} integrator failed at t={solver.t:g}: {message}")
            # The rule is checked whenever t has grown by 5% (and at t_max): the reported
            # stopping time overshoots the first time the rule holds by at most 5%.
            if solver.t >= next_check or solver.status != "running":
                res = residual(solver.t, solver.y)
                next_check = solver.t * 1.05
            if record:
                ts.append(solver.t)
                vs.append(values(solver.y))
        result.outputs[b] = values(solver.y)
        result.times[b] = solver.t
        result.converged[b] = res <= tol
        result.residual[b] = res
        result.steps[b] = steps
        if record:
            result.trajectories.append((np.array(ts), np.array(vs)))
        if res > tol:
            log.warning("example %d did not converge by t=%g (residual %.3g > tol %.3g)", b, t_max, res, tol)
    return result
