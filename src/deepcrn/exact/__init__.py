"""Exact equilibrium of a rate-independent CRN: where it ends, whatever the rates.

One public entry, :func:`evaluate` (output values), and :func:`final_state` (every species'
final amount). Two independent engines, which the tests check against each other:

- ``"fire"`` (:class:`~deepcrn.exact.fire.FiringPlan`): fire the reactions to completion level
  by level; any rate-independent CRN, and every species' final amount.
- ``"circuit"`` (:func:`~deepcrn.exact.circuit.relu_circuit`): the ReLU circuit derived from the
  reactions, about the cost of the network's forward pass; CRNs whose reactions are all
  ``X -> ...`` or ``A + B -> ...`` (:func:`deepcrn.analysis.circuit_class`).
- ``"auto"``: the circuit when the CRN has one, else firing.

With ``molecules_per_unit=N`` both engines work on integer molecule counts instead
(:mod:`~deepcrn.exact.counts`: ``rint(N * amount)`` initially, exact int64 arithmetic, outputs
``(count(O+) - count(O-)) / (N * scale)``), and :func:`~deepcrn.exact.counts.rounding_bound`
bounds how far that moves each output.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> M + Y_p\\nM + X_n -> Y_n")
    >>> evaluate(crn, np.array([[2.0], [-3.0]])).ravel().tolist()
    [2.0, 0.0]
    >>> evaluate(crn, np.array([[0.123]]), molecules_per_unit=100).ravel().tolist()  # 12 molecules
    [0.12]
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

from ..crn import CRN
from ..errors import CircuitError, SimulationError
from .circuit import ReluCircuit, relu_circuit
from .counts import CountCircuit, CountFiring, count_evaluator, extents, final_counts, rounding_bound
from .fire import FiringPlan

Engine = Literal["auto", "circuit", "fire"]
ENGINES: tuple[Engine, ...] = ("auto", "circuit", "fire")


class Evaluator(Protocol):
    """Something built once per CRN whose ``evaluate(x)`` gives its exact output values."""

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray: ...


def evaluator(
    crn: CRN, engine: Engine = "auto", molecules_per_unit: float | None = None
) -> ReluCircuit | FiringPlan | CountCircuit | CountFiring:
    """The engine for ``crn`` (module docstring), built once, to evaluate many inputs; on
    integer counts with ``molecules_per_unit`` molecules per unit of concentration when given.

    Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state depends on its rates and
    :class:`~deepcrn.errors.CircuitError` for ``engine="circuit"`` on a CRN with no circuit.
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown exact engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if molecules_per_unit is not None:
        return count_evaluator(crn, molecules_per_unit, engine)
    if engine == "fire":
        return FiringPlan.for_outputs(crn)
    try:
        return relu_circuit(crn)
    except CircuitError:
        if engine == "circuit":
            raise
        return FiringPlan.for_outputs(crn)


def engine_name(ev: ReluCircuit | FiringPlan | CountCircuit | CountFiring) -> str:
    """``"circuit"`` or ``"fire"``: which engine an :func:`evaluator` is."""
    return "circuit" if isinstance(ev, (ReluCircuit, CountCircuit)) else "fire"


def evaluate(
    crn: CRN, x: np.ndarray | None = None, engine: Engine = "auto", molecules_per_unit: float | None = None
) -> np.ndarray:
    """Output values at equilibrium, shape ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``;
    at integer counts, ``N = molecules_per_unit`` molecules per unit, when given."""
    return evaluator(crn, engine, molecules_per_unit).evaluate(x)


def final_state(crn: CRN, x: np.ndarray | None = None) -> np.ndarray:
    """Final concentrations of every species, shape ``(batch, n_species)``, by firing."""
    return FiringPlan(crn).run(x)


__all__ = [
    "ENGINES",
    "CountCircuit",
    "CountFiring",
    "Engine",
    "Evaluator",
    "FiringPlan",
    "ReluCircuit",
    "count_evaluator",
    "engine_name",
    "evaluate",
    "evaluator",
    "extents",
    "final_counts",
    "final_state",
    "relu_circuit",
    "rounding_bound",
]
