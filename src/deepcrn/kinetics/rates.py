"""Rate constants: unit, as written in the CRN, or random (seeded, log-uniform).

>>> from deepcrn.interop.text import parse_crn
>>> crn = parse_crn("A -> B\\nB -> C  [k=2.0]")
>>> resolve_rates(crn, "given").tolist(), resolve_rates(crn, "unit").tolist()
([1.0, 2.0], [1.0, 1.0])
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from ..crn import CRN, MAX_AMOUNT
from ..errors import SimulationError

RateMode = Literal["unit", "given", "random"]
RATE_MODES: tuple[RateMode, ...] = ("unit", "given", "random")


def check_rate_range(low: float, high: float) -> None:
    """Raise unless ``0 < low <= high <= 1e100`` (finite)."""
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high <= MAX_AMOUNT):
        raise SimulationError(
            f"random rates need finite 0 < low <= high <= {MAX_AMOUNT:g}, got low={low:g}, high={high:g}"
        )


def check_seed(seed: int) -> int:
    """``seed`` if it is an integer NumPy can seed with (0 <= seed < 2**63), else an error."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise SimulationError(f"a seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def random_rates(n_reactions: int, seed: int = 0, low: float = 0.1, high: float = 10.0) -> np.ndarray:
    """``n_reactions`` rate constants drawn log-uniformly from ``[low, high]`` with ``seed``."""
    check_rate_range(low, high)
    rng = np.random.default_rng(check_seed(seed))
    return np.exp(rng.uniform(np.log(low), np.log(high), size=n_reactions))


def resolve_rates(
    crn: CRN,
    rates: RateMode | np.ndarray = "given",
    seed: int = 0,
    low: float = 0.1,
    high: float = 10.0,
) -> np.ndarray:
    """Rate constant per reaction: ``"unit"`` (all 1), ``"given"`` (the CRN's own, 1 where
    unset), ``"random"`` (see :func:`random_rates`) or an explicit array."""
    if isinstance(rates, str):
        if rates == "unit":
            return np.ones(len(crn.reactions))
        if rates == "given":
            return crn.rate_constants()
        if rates == "random":
            return random_rates(len(crn.reactions), seed, low, high)
        raise SimulationError(f"unknown rates {rates!r}; choose one of {', '.join(RATE_MODES)}")
    values = np.asarray(rates, dtype=np.float64)
    if values.shape != (len(crn.reactions),):
        raise SimulationError(f"expected {len(crn.reactions)} rate constants, got shape {values.shape}")
    if not np.all(np.isfinite(values) & (values > 0) & (values <= MAX_AMOUNT)):
        raise SimulationError(f"rate constants must be finite, positive and at most {MAX_AMOUNT:g}")
    return values
