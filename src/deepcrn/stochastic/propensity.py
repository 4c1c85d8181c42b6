"""Stochastic mass action: how a rate constant becomes a propensity with molecule counts.

With ``N`` molecules per unit of concentration, reaction ``r`` with rate constant ``k`` (the
ODE's: ``rate = k * prod [S]^coef``) fires with propensity
``k * N**(1 - order) * prod_S n_S (n_S - 1) ... (n_S - coef_S + 1)`` (``n_S`` molecule counts,
``order`` the sum of the reactant coefficients), so that the ODE is the large-``N`` limit of the
stochastic process in the same time units (1/k). rebop's mass-action rates use the same falling
factorials, so :mod:`deepcrn.interop.rebop` passes it these constants.

>>> from deepcrn.interop.text import parse_crn
>>> crn = parse_crn("A -> B  [k=2]\\nA2 + B2 -> C  [k=3]\\n2 C2 -> D")
>>> propensity_constants(crn, crn.rate_constants(), 100).tolist()
[2.0, 0.03, 0.01]
"""

from __future__ import annotations

import numpy as np

from ..crn import CRN


def propensity_constants(crn: CRN, rates: np.ndarray, molecules_per_unit: float) -> np.ndarray:
    """``k * N**(1 - order)`` per reaction, ``(n_reactions,)`` (module docstring)."""
    order = np.array([r.order for r in crn.reactions], dtype=np.float64)
    return np.asarray(rates, dtype=np.float64) * float(molecules_per_unit) ** (1.0 - order)
