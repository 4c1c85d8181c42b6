"""Compiled loops (Numba) of the batched integrator's sweep (:mod:`deepcrn.kinetics.batched`).

Each loop does in one pass over ``(rows, batch)`` what NumPy does with a gather, a few
temporaries and a scatter: the closed-form extents of a level's reactions, and the amounts
their productions add (with the dense matrix products left to BLAS). Same arithmetic as the
NumPy expressions they replace, element by element. Compiled on first use and cached on disk
(``cache=True``), so a fresh install pays about 2 s once. Only the batched integrator imports
this module: exact evaluation and the command line's start-up never load Numba.

Arrays are species-major blocks ``(rows, batch)``; ``rows``/``pos`` index their first axis.
"""

from __future__ import annotations

import numpy as np
from numba import njit as _njit


def njit(function):
    """Compiled once and cached on disk (float division by zero gives inf, NumPy's semantics, not
    an error); where no cache directory is writable (a read-only install), compiled per process."""
    try:
        return _njit(cache=True, error_model="numpy")(function)
    except RuntimeError:  # Numba: "cannot cache function ...: no locator available"
        return _njit(error_model="numpy")(function)


@njit
def fire_linear(cur, rows, k, h, extent, pos):
    """``X -> ...`` over a backward-Euler step ``h``: ``e = a h k / (1 + h k)``, written
    ``a / (1 + 1 / (h k))`` so that ``h = inf`` fires to completion (``e = a``) and ``e <= a``
    always; ``cur[row] -= e``, ``extent[pos] = e``."""
    for i in range(rows.shape[0]):
        r, kk, p = rows[i], k[i], pos[i]
        for j in range(cur.shape[1]):
            a = cur[r, j]
            e = a / (1.0 + 1.0 / (kk * h[j]))
            cur[r, j] = a - e
            extent[p, j] = e


@njit
def fire_min(cur, rows_a, rows_b, k, h, extent, pos):
    """``A + B -> ...``: the root of ``e = h k (a - e)(b - e)`` in ``[0, min(a, b)]``. In units of
    ``m = max(a, b)`` (``x = a / m``, ``y = b / m``, ``u = 1 / (h k m)``, so that nothing
    squared overflows, whatever the amounts): ``e = m 2 x y / (x + y + u + sqrt((x - y)^2 +
    2 (x + y) u + u^2))``; ``h = inf`` (``u = 0``) fires to completion, ``e = min(a, b)`` exactly
    (the formula's limit, taken without its rounding: an infinite step is the firing engine's)."""
    for i in range(rows_a.shape[0]):
        ra, rb, kk, p = rows_a[i], rows_b[i], k[i], pos[i]
        for j in range(cur.shape[1]):
            a = cur[ra, j]
            b = cur[rb, j]
            e = 0.0
            if a > 0.0 and b > 0.0:
                m = max(a, b)
                x, y = a / m, b / m
                u = 1.0 / (kk * h[j] * m)
                e = min(a, b)
                if u > 0.0:
                    root = np.sqrt((x - y) ** 2 + 2.0 * (x + y) * u + u * u)
                    e = min(m * (2.0 * x * y / (x + y + u + root)), e)
            cur[ra, j] = a - e
            cur[rb, j] = b - e
            extent[p, j] = e


@njit
def add_rows(cur, rows, values):
    """``cur[rows] += values``."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(cur.shape[1]):
            cur[r, j] += values[i, j]


@njit
def add_sparse(cur, rows, indptr, indices, data, extent):
    """``cur[rows] += M @ extent`` for a CSR matrix ``M`` whose column indices are rows of
    ``extent``."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for q in range(indptr[i], indptr[i + 1]):
            c, v = indices[q], data[q]
            for j in range(cur.shape[1]):
                cur[r, j] += v * extent[c, j]


@njit
def rail_sums(extent, cols_u, cols_v, total, diff):
    """``total = e[u] + e[v]``, ``diff = e[u] - e[v]`` (a dual-rail block's two inputs)."""
    for i in range(cols_u.shape[0]):
        u, v = cols_u[i], cols_v[i]
        for j in range(extent.shape[1]):
            total[i, j] = extent[u, j] + extent[v, j]
            diff[i, j] = extent[u, j] - extent[v, j]


@njit
def add_rails(cur, rows_p, rows_n, total, diff):
    """``cur[p] += max((total + diff) / 2, 0)``, ``cur[n] += max((total - diff) / 2, 0)``: each
    rail's amount is a sum of non-negative terms; rounding must not make it negative."""
    for i in range(rows_p.shape[0]):
        p, n = rows_p[i], rows_n[i]
        for j in range(cur.shape[1]):
            cur[p, j] += max(0.5 * (total[i, j] + diff[i, j]), 0.0)
            cur[n, j] += max(0.5 * (total[i, j] - diff[i, j]), 0.0)


@njit
def step_error(half, full, start, atol, rtol):
    """Per example (column), ``max |half - full| / (atol + rtol max(half, start))`` over species
    (amounts are >= 0); NaN if any term is."""
    err = np.zeros(half.shape[1])
    for i in range(half.shape[0]):
        for j in range(half.shape[1]):
            d = abs(half[i, j] - full[i, j]) / (atol[j] + rtol * max(half[i, j], start[i, j]))
            e = err[j]
            if e == e and not d <= e:  # a NaN, once there, stays
                err[j] = d
    return err
