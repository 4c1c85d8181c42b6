"""Exact equilibrium of a rate-independent CRN: where it ends, whatever the rates.

One public entry, :func:`evaluate` (output values), and :func:`final_state` (every species'
final amount). Two independent engines, which the tests check against each other:

- ``"fire"`` (:class:`~deepcrn.exact.fire.FiringPlan`): fire the reactions to completion level
  by level; any rate-independent CRN, and every species' final amount.
- ``"circuit"`` (:func:`~deepcrn.exact.circuit.relu_circuit`): the ReLU circuit derived from the
  reactions, about the cost of the network's forward pass; CRNs whose reactions are all
  ``X -> ...`` or ``A + B -> ...`` (:func:`deepcrn.analysis.circuit_class`).
- ``"auto"``: the circuit when the CRN has one, else firing.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n")
    >>> evaluate(crn, np.array([[2.0], [-3.0]])).ravel().tolist()
    [2.0, 0.0]
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

from ..crn import CRN
from ..errors import CircuitError, SimulationError
from .circuit import ReluCircuit, relu_circuit
from .fire import FiringPlan

Engine = Literal["auto", "circuit", "fire"]
ENGINES: tuple[Engine, ...] = ("auto", "circuit", "fire")


class Evaluator(Protocol):
    """Something built once per CRN whose ``evaluate(x)`` gives its exact output values."""

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray: ...


def evaluator(crn: CRN, engine: Engine = "auto") -> ReluCircuit | FiringPlan:
    """The engine for ``crn`` (module docstring), built once, to evaluate many inputs.

    Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state depends on its rates and
    :class:`~deepcrn.errors.CircuitError` for ``engine="circuit"`` on a CRN with no circuit.
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown exact engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "fire":
        return FiringPlan.for_outputs(crn)
    try:
        return relu_circuit(crn)
    except CircuitError:
        if engine == "circuit":
            raise
        return FiringPlan.for_outputs(crn)


def engine_name(ev: ReluCircuit | FiringPlan) -> str:
    """``"circuit"`` or ``"fire"``: which engine an :func:`evaluator` is."""
    return "circuit" if isinstance(ev, ReluCircuit) else "fire"


def evaluate(crn: CRN, x: np.ndarray | None = None, engine: Engine = "auto") -> np.ndarray:
    """Output values at equilibrium, shape ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
    return evaluator(crn, engine).evaluate(x)


def final_state(crn: CRN, x: np.ndarray | None = None) -> np.ndarray:
    """Final concentrations of every species, shape ``(batch, n_species)``, by firing."""
    return FiringPlan(crn).run(x)


__all__ = [
    "ENGINES",
    "Engine",
    "Evaluator",
    "FiringPlan",
    "ReluCircuit",
    "engine_name",
    "evaluate",
    "evaluator",
    "final_state",
    "relu_circuit",
]
