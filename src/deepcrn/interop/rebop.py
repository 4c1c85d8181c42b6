"""rebop (a Rust Gillespie simulator, https://github.com/Armavica/rebop) as an independent SSA.

:func:`to_rebop` writes a CRN as a ``rebop.Gillespie`` system (reactants and products repeated
by coefficient; mass-action constants ``k * N**(1 - order)``, :mod:`deepcrn.stochastic.propensity`),
and :func:`run_rebop` runs one trajectory to completion or ``t_max`` with rebop's sparse
representation, returning the final counts of some species, the time of the last event and
the number of events. It calls rebop's Rust core (``Gillespie.gillespie.run``, what rebop's
``Gillespie.run`` calls) directly: the wrapper's xarray Dataset costs about 30 ms per call, more
than a whole trajectory of a small CRN. rebop is an optional dependency (``pip install 'deepcrn[ssa]'``), imported
here only.

>>> import numpy as np
>>> from deepcrn.interop.text import parse_crn
>>> crn = parse_crn("A -> B\\nB + C -> D")
>>> run = run_rebop(to_rebop(crn, np.ones(2), 1.0), crn, np.array([3, 0, 2, 0]), seed=1, species=["D"])
>>> run.counts.tolist(), run.events, run.completed
([2], 5, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..crn import CRN
from ..errors import SimulationError
from ..stochastic.propensity import propensity_constants


def _rebop() -> Any:
    try:
        import rebop
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise SimulationError("the rebop engine needs rebop: pip install 'deepcrn[ssa]'") from err
    return rebop


#: Most species names (each term repeated by its coefficient) :func:`to_rebop` writes.
MAX_NAMES = 10**7


def to_rebop(crn: CRN, rates: np.ndarray, molecules_per_unit: float) -> Any:
    """A ``rebop.Gillespie`` system for ``crn`` with rate constants ``rates`` ``(n_reactions,)``
    and ``N = molecules_per_unit`` (module docstring). rebop takes stoichiometry as repeated
    species names, so a CRN needing more than :data:`MAX_NAMES` of them (large coefficients,
    as the reduced form of a deep network can have) raises :class:`SimulationError` rather
    than exhausting memory."""
    reactants, products = crn.stoichiometry
    names = float(reactants.data.sum() + products.data.sum())
    if names > MAX_NAMES:
        top = float(max(reactants.data.max(initial=0.0), products.data.max(initial=0.0)))
        raise SimulationError(
            f"rebop takes stoichiometry as repeated species names, and this CRN needs {names:.3g} of them "
            f"(coefficients up to {top:.0f}; the limit is {MAX_NAMES:.0e}); use the levels engine"
        )
    model = _rebop().Gillespie()
    for r, k in zip(crn.reactions, propensity_constants(crn, rates, molecules_per_unit)):
        reactants = [name for name, coef in r.reactants for _ in range(coef)]
        products = [name for name, coef in r.products for _ in range(coef)]
        model.add_reaction(float(k), reactants, products)
    return model


@dataclass(frozen=True)
class RebopRun:
    counts: np.ndarray  # int64, the requested species' counts at the end (or at t_max)
    last: float  # time of the last event (0 when none)
    events: int  # events up to the end (or t_max)
    completed: bool  # no reaction could fire any more


def run_rebop(
    model: Any, crn: CRN, counts: np.ndarray, seed: int, species: list[str], t_max: float = math.inf
) -> RebopRun:
    """One trajectory of ``model`` from initial ``counts`` (int64 ``(n_species,)``, the CRN's
    order) with rebop's sparse representation, recording every event (``nb_steps=0``) but only
    ``species``. Stops when no reaction can fire or at ``t_max`` (an event rebop applies past
    ``t_max`` is undone here: only events up to ``t_max`` count)."""
    init = {name: int(n) for name, n in zip(crn.species, counts.tolist()) if n}
    core = model.gillespie
    core.set_init(init)
    raw_times, raw_values = core.run(t_max, 0, params={}, seed=int(seed) % 2**64, sparse=True, var_names=species)
    times = np.asarray(raw_times)
    # times[0] is the start, then one entry per event; the last is inf when nothing could fire.
    events = int(np.count_nonzero(np.isfinite(times[1:]) & (times[1:] <= t_max)))
    values = np.array([raw_values[name][events] for name in species], dtype=np.int64)
    completed = bool(np.isinf(times[-1]) and events == len(times) - 2)
    return RebopRun(values, float(times[events]), events, completed)
