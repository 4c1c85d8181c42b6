"""Simulators: exact equilibrium (:mod:`.equilibrium` fires the reactions, :mod:`.circuit` derives
the ReLU circuit they compute) and mass-action kinetics (:mod:`.ode`, :mod:`.batched`)."""

from .circuit import ReluCircuit, relu_circuit
from .equilibrium import ENGINES, ExactPlan, equilibrium, equilibrium_outputs, output_evaluator, output_plan
from .ode import ODEResult, simulate_ode
from .rates import random_rates, resolve_rates

__all__ = [
    "ENGINES",
    "ExactPlan",
    "ODEResult",
    "ReluCircuit",
    "equilibrium",
    "equilibrium_outputs",
    "output_evaluator",
    "output_plan",
    "random_rates",
    "relu_circuit",
    "resolve_rates",
    "simulate_ode",
]
