"""Rate constants: unit, as written in the CRN, or random (seeded, log-uniform).

>>> from deepcrn.crn_text import parse_crn
>>> crn = parse_crn("A -> B\\nB -> C  [k=2.0]")
>>> resolve_rates(crn, "given").tolist(), resolve_rates(crn, "unit").tolist()
([1.0, 2.0], [1.0, 1.0])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..crn import CRN
from ..errors import SimulationError

RateMode = Literal["unit", "given", "random"]
RATE_MODES: tuple[RateMode, ...] = ("unit", "given", "random")


def random_rates(n_reactions: int, seed: int = 0, low: float = 0.1, high: float = 10.0) -> np.ndarray:
    """``n_reactions`` rate constants drawn log-uniformly from ``[low, high]`` with ``seed``."""
    if not (0 < low <= high):
        raise SimulationError(f"random rates need 0 < low <= high, got low={low}, high={high}")
    rng = np.random.default_rng(seed)
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
    if not np.all(np.isfinite(values) & (values > 0)):
        raise SimulationError("rate constants must be finite and positive")
    return values
