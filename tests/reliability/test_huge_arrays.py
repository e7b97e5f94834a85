"""More than 2**31 elements: sizes, strides and indices must not pass through 32-bit
integers anywhere (elementwise loops, reductions, argmax). One-byte dtypes keep each
array at ~2 GiB; the whole module needs ~7 GiB of memory and runs only with
--runslow (or SYMTHEANO_RUN_SLOW=1)."""

from __future__ import annotations

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T

pytestmark = pytest.mark.slow
N = 2**31 + 2**15 + 17  # odd: vector loops have a tail past the 32-bit boundary


@pytest.fixture(scope="module")
def ones():
    return np.ones(N, dtype=np.uint8)


def test_elementwise_over_more_than_2_31_elements(ones):
    x = T.vector("x", dtype="uint8")
    f = th.function([x], x * np.uint8(3) + np.uint8(1))
    ones[-1] = 5
    try:
        out = f(ones)
    finally:
        ones[-1] = 1
    assert out.shape == (N,) and out.dtype == np.uint8
    assert out[0] == 4 and out[2**31 - 1] == 4 and out[2**31] == 4 and out[-1] == 16
    assert np.count_nonzero(out != 4) == 1


def test_sum_over_more_than_2_31_elements(ones):
    x = T.vector("x", dtype="uint8")
    total = th.function([x], T.sum(x))(ones)
    assert int(total) == N  # no 32-bit wrap of the count or the accumulator
    b = T.vector("b", dtype="bool")
    assert int(th.function([b], T.sum(b))(ones.view(np.bool_))) == N


def test_argmax_beyond_2_31(ones):
    x = T.vector("x", dtype="uint8")
    f = th.function([x], [T.argmax(x), T.max(x), T.argmin(x)])
    ones[N - 3] = 9
    ones[2**31 + 1] = 0
    try:
        where, top, low = f(ones)
    finally:
        ones[N - 3] = 1
        ones[2**31 + 1] = 1
    assert int(where) == N - 3 and int(top) == 9 and int(low) == 2**31 + 1


def test_reduction_along_an_axis_of_a_huge_matrix(ones):
    rows = 2**16 + 1
    m = ones[: rows * 2**15].reshape(rows, 2**15)  # 2**31 + 2**15 elements
    x = T.matrix("x", dtype="uint8")
    f = th.function([x], [T.sum(x, axis=0), T.sum(x, axis=1)])
    by_column, by_row = f(m)
    assert by_column.shape == (2**15,) and (by_column == rows).all()
    assert by_row.shape == (rows,) and (by_row == 2**15).all()
