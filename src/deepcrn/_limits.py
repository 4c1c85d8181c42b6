"""The numeric range every record keeps to, so sums and products stay exact or finite in float64.

:mod:`deepcrn.crn` and :mod:`deepcrn.network` both check against these; nothing else defines them.
"""

from __future__ import annotations

#: Largest stoichiometric coefficient or integer weight: every integer up to 2**53 is exact in float64.
MAX_COEFFICIENT = 2**53
#: Largest concentration, rate constant, offset, scale or bias a record may declare: sums of products
#: of such amounts with coefficients stay far inside float64's range (about 1e308).
MAX_AMOUNT = 1e100
#: Smallest scale (the reciprocal of MAX_AMOUNT), so values divided by a scale stay finite.
MIN_SCALE = 1.0 / MAX_AMOUNT
