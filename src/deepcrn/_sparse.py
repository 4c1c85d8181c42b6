"""A sparse matrix product that hands the dense enough part to BLAS.

Reducing a CRN and deriving its ReLU circuit multiply sparse matrices whose products can be
nearly dense (values forwarded through every layer, a fan-out of an input reaching a thousand
species). SciPy's sparse product does one multiply-add at a time; BLAS does many times more per
second. :func:`product` splits the rows of ``a`` into heavy ones (at least an eighth of the
longest row's entries) and the rest, and computes the heavy rows' product densely, on the
columns in use, when that costs less than :data:`DENSE_GAIN` times the sparse multiply-adds.
On integer-valued operands whose partial sums stay below 2**53 both ways are exact, whatever
order BLAS sums in (the callers check that bound).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DENSE_GAIN = 16  # dense multiply-adds worth one sparse one


def product(a: sp.spmatrix, b: sp.spmatrix) -> sp.csr_matrix:
    """``a @ b`` as a CSR matrix (module docstring)."""
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    lengths = np.diff(a.indptr)
    heavy = np.flatnonzero(lengths >= max(1, int(lengths.max(initial=0)) // 8))
    part = a[heavy]
    inner = np.flatnonzero(part.getnnz(axis=0))
    used_b = b[inner]
    outer = np.flatnonzero(used_b.getnnz(axis=0))
    sparse_work = float(part.getnnz(axis=0)[inner] @ used_b.getnnz(axis=1))
    if float(len(heavy)) * len(inner) * len(outer) >= DENSE_GAIN * sparse_work:
        return sp.csr_matrix(a @ b)
    dense = part[:, inner].toarray() @ used_b[:, outer].toarray()
    r, c = np.nonzero(dense)
    out = sp.csr_matrix((dense[r, c], (heavy[r], outer[c])), shape=(a.shape[0], b.shape[1]))
    light = np.ones(a.shape[0], dtype=bool)
    light[heavy] = False
    if light.any():
        rest = sp.diags(light.astype(np.float64)) @ a  # the other rows, zero where heavy
        out = out + sp.csr_matrix(rest @ b)
    return sp.csr_matrix(out)
