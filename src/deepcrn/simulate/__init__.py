"""Simulators: exact equilibrium (:mod:`.equilibrium`) and mass-action kinetics (:mod:`.ode`)."""

from .equilibrium import ExactPlan, equilibrium, equilibrium_outputs, output_plan
from .ode import ODEResult, simulate_ode
from .rates import random_rates, resolve_rates

__all__ = [
    "ExactPlan",
    "ODEResult",
    "equilibrium",
    "equilibrium_outputs",
    "output_plan",
    "random_rates",
    "resolve_rates",
    "simulate_ode",
]
