"""Mass-action kinetics: how a CRN gets to its equilibrium, and how long it takes.

One public entry, :func:`simulate`, with two engines:

- ``"batched"`` (:mod:`~deepcrn.kinetics.batched`): every example at once, backward Euler
  solved in closed form by topological sweeps; rate-independent CRNs whose reactions are
  ``X -> ...`` or ``A + B -> ...`` (every CRN deepcrn compiles).
- ``"scipy"`` (:mod:`~deepcrn.kinetics.scipy_engine`): SciPy's BDF, Radau or LSODA (``solver``)
  one example at a time; any CRN.
- ``"auto"``: batched when the CRN qualifies, else SciPy BDF.

Every engine stops each example by the rules of :mod:`~deepcrn.kinetics.stopping` (or at
``t_max``) and reports which rule it used; examples that miss it are reported, never hidden.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = Y_p - Y_n\\nX_p -> Y_p\\nX_n -> Y_n")
    >>> res = simulate(crn, np.array([[2.0]]), tol=1e-6)
    >>> res.engine, bool(res.converged[0]), round(float(res.outputs[0, 0]), 4)
    ('batched', True, 2.0)
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np

from ..crn import CRN, MAX_AMOUNT
from ..errors import SimulationError
from .batched import qualifies, simulate_batched
from .rates import RATE_MODES, RateMode, check_seed, random_rates, resolve_rates
from .result import KineticsResult
from .scipy_engine import SOLVERS, Solver, simulate_scipy

log = logging.getLogger(__name__)
Engine = Literal["auto", "batched", "scipy"]
ENGINES: tuple[Engine, ...] = ("auto", "batched", "scipy")


def _positive(value: float | None, name: str, upper: float = math.inf) -> None:
    if value is not None and not (math.isfinite(value) and 0 < value <= upper):
        raise SimulationError(
            f"{name} must be a finite number > 0{'' if upper == math.inf else f' and <= {upper:g}'}, got {value!r}"
        )


def simulate(
    crn: CRN,
    x: np.ndarray | None = None,
    rates: RateMode | np.ndarray = "given",
    *,
    engine: Engine = "auto",
    solver: Solver | None = None,
    seed: int = 0,
    tol: float = 1e-3,
    t_max: float = 1e6,
    rtol: float | None = None,
    atol: float | None = None,
    record: int = 0,
    progress: bool = False,
) -> KineticsResult:
    """Integrate mass-action kinetics for each example until its stopping rule holds or
    ``t_max`` passes.

    ``x``: inputs ``(batch, n_inputs)``; ``rates``: ``"given"``, ``"unit"``, ``"random"``
    (log-uniform over [0.1, 10], drawn with ``seed``) or an array ``(n_reactions,)``; ``tol``:
    stopping tolerance relative to each example's scale (:mod:`~deepcrn.kinetics.stopping`);
    ``rtol``/``atol``: the engine's local error control (each engine has its own defaults);
    ``solver``: SciPy's method (BDF by default; naming one picks the scipy engine); ``record``:
    keep output trajectories of the first ``record`` examples; ``progress``: a progress bar on
    stderr.
    """
    if engine not in ENGINES:
        raise SimulationError(f"unknown kinetics engine {engine!r}; choose one of {', '.join(ENGINES)}")
    _positive(tol, "tol", 1.0)
    _positive(t_max, "t_max", MAX_AMOUNT)
    _positive(rtol, "rtol", 1.0)
    _positive(atol, "atol", 1.0)
    if isinstance(record, bool) or not isinstance(record, int) or record < 0:
        raise SimulationError(f"record must be a count of examples >= 0, got {record!r}")
    k = resolve_rates(crn, rates, check_seed(seed))
    if solver is not None and engine == "batched":
        raise SimulationError(f"solver {solver!r} applies to the scipy engine, not the batched one")
    reason = qualifies(crn)
    if engine == "batched" and reason is not None:
        raise SimulationError(f"the batched engine cannot run this CRN: {reason}")
    if engine == "batched" or (engine == "auto" and solver is None and reason is None):
        return simulate_batched(crn, x, k, tol=tol, t_max=t_max, rtol=rtol, atol=atol, record=record, progress=progress)
    if engine == "auto" and reason is not None:
        log.info("SciPy instead of the batched engine: %s", reason)
    return simulate_scipy(
        crn, x, k, solver=solver or "BDF", tol=tol, t_max=t_max, rtol=rtol, atol=atol, record=record, progress=progress
    )


__all__ = [
    "ENGINES",
    "RATE_MODES",
    "SOLVERS",
    "Engine",
    "KineticsResult",
    "RateMode",
    "Solver",
    "random_rates",
    "resolve_rates",
    "simulate",
]
