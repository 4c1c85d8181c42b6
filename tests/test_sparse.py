"""The sparse product that hands dense enough rows to BLAS (deepcrn._sparse), against SciPy's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import deepcrn._sparse as sparse


@pytest.mark.parametrize("gain", [0, 16, 10**9])  # never dense, the default, always dense when it can
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40))
def test_product_is_scipys_exactly(gain: int, seed: int, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.0, 1.0, size=(m, 1))  # some heavy rows, some light, some empty
    a = sp.csr_matrix(np.where(rng.random((m, k)) < density, rng.integers(-5, 6, (m, k)), 0).astype(float))
    b = sp.csr_matrix(np.where(rng.random((k, n)) < 0.3, rng.integers(-5, 6, (k, n)), 0).astype(float))
    old = sparse.DENSE_GAIN
    sparse.DENSE_GAIN = gain
    try:
        got = sparse.product(a, b)
    finally:
        sparse.DENSE_GAIN = old
    assert isinstance(got, sp.csr_matrix) and got.shape == (m, n)
    np.testing.assert_array_equal(got.toarray(), (a @ b).toarray())  # integers: exact either way
