"""What a kinetics engine reports for a batch of examples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class KineticsResult:
    """Outcome of :func:`deepcrn.kinetics.simulate` for a batch of examples.

    ``outputs`` ``(batch, n_outputs)``: output values when the example stopped; ``times``
    ``(batch,)``: stopping time (units of 1/k); ``converged`` ``(batch,)``: the stopping rule held
    by ``t_max``; ``residual`` ``(batch,)``: the rule's measure at that time; ``tolerance``
    ``(batch,)``: what the measure had to reach (``tol`` times the example's scale);
    ``steps`` ``(batch,)``: integrator steps; ``trajectories``: per recorded example ``(t,
    values)`` with ``t`` shape ``(T,)`` and ``values`` shape ``(T, n_outputs)``.
    """

    outputs: np.ndarray
    times: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    tolerance: np.ndarray
    steps: np.ndarray
    rates: np.ndarray
    engine: str  #: "batched" or "scipy"
    solver: str  #: "backward-euler", "BDF", "Radau" or "LSODA"
    stopping_rule: str  #: "residual" or "stationary" (see :mod:`deepcrn.kinetics.stopping`)
    trajectories: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @classmethod
    def empty(
        cls, batch: int, n_outputs: int, rates: np.ndarray, engine: str, solver: str, stopping_rule: str
    ) -> KineticsResult:
        """A result for ``batch`` examples, to be filled in by an engine."""
        return cls(
            outputs=np.zeros((batch, n_outputs)),
            times=np.zeros(batch),
            converged=np.zeros(batch, dtype=bool),
            residual=np.zeros(batch),
            tolerance=np.zeros(batch),
            steps=np.zeros(batch, dtype=np.int64),
            rates=rates,
            engine=engine,
            solver=solver,
            stopping_rule=stopping_rule,
        )

    @property
    def not_converged(self) -> list[int]:
        """Indices of the examples that missed the stopping rule by ``t_max``."""
        return [int(i) for i in np.flatnonzero(~self.converged)]
