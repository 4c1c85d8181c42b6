"""When a kinetics run has finished: the stopping rules every engine shares.

**residual** (rate-independent CRNs). The equilibrium reached *from the current state* is
computed exactly (:class:`~deepcrn.exact.fire.FiringPlan`), so the largest amount any output
can still move is known: an example has converged when that residual is at most its tolerance.
On an exact trajectory that equilibrium never changes; an engine whose steps are not exact
firings (SciPy's) also measures how far it has drifted from the equilibrium of the initial
state, so integration error cannot pass for convergence.
This copes with the slow tail of a ReLU node whose input is near 0 (``M + I- -> Y-`` with equal
amounts ``a`` decays like ``a / (1 + a k t)``, so a tolerance ``tol`` takes time ~
``1 / (k tol)``).

**stationary** (any other CRN, whose final state depends on the rates). The distance still to
travel is estimated from the current state ``c``: the Newton step to a stationary state,
``|J(c)^+ f(c)|`` (``f`` the mass-action derivative, ``J`` its Jacobian, ``+`` the
least-squares inverse), and the remaining change of a ``1/t`` tail, ``t |f(c)|``; an example has
converged when the larger of the two is within tolerance for every species. Right after the
start, when ``t |f|`` is tiny because little time has passed, the Newton step is not, so the
rule does not stop early; a reaction that never stops (``A -> A + B``) never converges.

Tolerances are relative to each example's scale: ``tol * max(1, s)``, with ``s`` the largest
exact output value (residual rule) or the largest initial concentration (stationary rule).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ..crn import CRN
from ..exact.fire import FiringPlan

Rule = str  # "residual" | "stationary"
_DENSE = 400  # Jacobians up to this many species are solved densely


class Residual:
    """The residual rule on species-major blocks ``(n_tracked, batch)`` of a
    :class:`FiringPlan`'s tracked species."""

    name = "residual"

    def __init__(
        self, crn: CRN, plan: FiringPlan | None = None, fire: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> None:
        self.plan = plan or FiringPlan.for_outputs(crn)
        assert self.plan.output_map is not None
        self.outputs = self.plan.output_map.values_t
        #: the final state of a block (a new array): the plan's firing unless given another
        #: (the batched integrator's sweep with an infinite step, compiled)
        self.fire = fire or self._fire_plan

    def _fire_plan(self, block: np.ndarray) -> np.ndarray:
        final = block.copy()
        self.plan.fire(final)
        return final

    def final_outputs(self, block: np.ndarray) -> np.ndarray:
        """Output values ``(n_outputs, batch)`` of the equilibrium reached from ``block``."""
        return self.outputs(self.fire(block))

    def scale(self, block: np.ndarray) -> np.ndarray:
        """Each example's scale ``(batch,)``: max(1, its largest exact output value)."""
        return np.maximum(1.0, np.abs(self.final_outputs(block)).max(axis=0, initial=0.0))

    def measure(self, block: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """How far each example's outputs can still move, ``(batch,)``. With ``start`` (the
        equilibrium outputs ``(n_outputs, batch)`` of the initial state), also how far the
        equilibrium has drifted from it: zero on an exact trajectory, so an integrator whose
        error moved the destination is not reported as converged."""
        final = self.final_outputs(block)
        moving = np.abs(final - self.outputs(block)).max(axis=0, initial=0.0)
        if start is None:
            return moving
        return np.maximum(moving, np.abs(final - start).max(axis=0, initial=0.0))


class Stationarity:
    """The stationary rule for one example at a time, given the mass-action derivative ``rhs(t,
    c)`` and its sparse Jacobian ``jacobian(t, c)``."""

    name = "stationary"

    def __init__(
        self, rhs: Callable[[float, np.ndarray], np.ndarray], jacobian: Callable[[float, np.ndarray], sp.spmatrix]
    ) -> None:
        self.rhs = rhs
        self.jacobian = jacobian

    @staticmethod
    def scale(state: np.ndarray) -> float:
        return max(1.0, float(np.max(np.abs(state), initial=0.0)))

    def measure(self, t: float, c: np.ndarray) -> float:
        f = self.rhs(t, c)
        if not np.any(f):
            return 0.0
        jac = self.jacobian(t, c)
        if jac.shape[0] <= _DENSE:
            step = np.linalg.lstsq(jac.toarray(), f, rcond=None)[0]
        else:
            from scipy.sparse.linalg import lsqr  # here: importing it costs commands that never get here 0.1 s

            step = lsqr(jac, f, atol=1e-10, btol=1e-10, iter_lim=10 * jac.shape[0])[0]
        return float(max(np.max(np.abs(step)), t * np.max(np.abs(f))))
