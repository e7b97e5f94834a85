"""Bugs the reliability suite found, one test each (fixed ones pass; open ones are
strict xfails that describe the bug and start failing the day it is fixed).

A failure printed by scripts/fuzz.py or test_random_graphs.py comes with its inputs
and steps; paste it here as a small graph with those values.
"""

from __future__ import annotations

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T

from .graph_checks import check_gradient, check_values  # noqa: F401  (pasted cases use them)
from .random_graphs import Built, with_layout  # noqa: F401

MODES = ["C", "PY"]


@pytest.mark.parametrize("mode", MODES)
def test_argmax_over_a_non_empty_axis_of_an_empty_array(mode):
    """Found by the bad-input matrix: argmax/argmin raised "empty axis" for a (0, 3)
    matrix along axis 1, whose reduced axis has 3 elements; NumPy returns an empty
    result. Fixed in tensor/reduce.py (Argmax.perform checks only the reduced axis)."""
    m = T.dmatrix("m")
    f = th.function([m], [T.argmax(m, axis=1), T.argmin(m, axis=1)], mode=mode)
    a, b = f(np.ones((0, 3)))
    assert a.shape == b.shape == (0,) and a.dtype == b.dtype == np.int64
    with pytest.raises(ValueError, match="empty axis of m"):  # the reduced axis is empty
        th.function([m], T.argmax(m, axis=0), mode=mode)(np.ones((0, 3)))


@pytest.mark.parametrize("mode", MODES)
def test_a_ragged_list_names_the_argument(mode):
    """Found by the bad-input matrix: a ragged nested list raised NumPy's bare ValueError
    from inside the message builder of Function._filter (np.ndim of the list), so the
    message named neither the input nor its position. Fixed in compile/function.py
    (_given describes such a value as ragged)."""
    x = T.dmatrix("x")
    f = th.function([x], x + 1, mode=mode)
    with pytest.raises(TypeError, match=r"input 0 'x'.*given list of inhomogeneous"):
        f([[1.0], [1.0, 2.0]])


@pytest.mark.parametrize("mode", MODES)
def test_a_product_mismatch_names_the_operands(mode):
    """Found by the bad-input matrix: gemm/gemv/dot size errors named an operand
    computed by another node by its internal name ("DimShuffle{1,0}.out"), not by the
    expression the user wrote ("y.T"). Fixed in tensor/blas.py and blas_ops.py
    (printing.short_label, as the elementwise errors do)."""
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.dot(x, y.T), mode=mode)
    # (issue 9 added the arguments each operand comes from)
    with pytest.raises(ValueError, match=r"argument 0 'x' has shape \(3, 4\), y\.T \(from "
                                         r"argument 1 'y'\) has shape \(5, 3\)"):
        f(np.ones((3, 4)), np.ones((3, 5)))


# The sign of zero from maximum/minimum and max/min (issue 9). Found by the security
# test: C kernels returned the first operand on a tie of +0.0 and -0.0, NumPy the
# second. Fixed in codegen/c/runtime (symtheano_rt.h, vecmath.h, reduce_kinds.h).
SPECIALS = [0.0, -0.0, np.nan, -np.nan, 1.0, -1.0, np.inf, -np.inf]
FLOATS = ["float64", "float32"]


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    unsigned = f"u{want.dtype.itemsize}"
    bad = got.view(unsigned) != want.view(unsigned)
    assert not bad.any(), f"differ at {np.flatnonzero(bad)[:8]}: {got[bad][:8]} != {want[bad][:8]}"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
def test_maximum_and_minimum_match_numpy_bit_for_bit(mode, dtype):
    """Every ordered pair of +-0.0, +-NaN, +-1, +-inf, in kernels of every shape
    (vector loops, their scalar tails, strided operands, a scalar operand, fused with
    another step): NumPy's bits, sign of zero and of NaN included. NumPy's rule, the
    same on every loop of its: the first operand if it is NaN, else the second if it
    is NaN, else the larger (smaller), and the second on a tie."""
    vals = np.array(SPECIALS, dtype)
    pairs = np.array([(a, b) for a in vals for b in vals], dtype)
    a, b = np.tile(pairs[:, 0], 3), np.tile(pairs[:, 1], 3)  # 192 pairs: vector loops
    x, y, s = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype), T.scalar("s", dtype=dtype)
    two = np.asarray(2, dtype)
    f = th.function([x, y], [T.maximum(x, y), T.minimum(x, y), T.maximum(x, y) * two,
                             T.minimum(y, x) * two], mode=mode)
    for u, v in [(a, b), (a[:3], b[:3]), (a[-5:], b[-5:]),
                 (np.repeat(a, 2)[::2], np.repeat(b, 2)[::2])]:
        want = [np.maximum(u, v), np.minimum(u, v), np.maximum(u, v) * two,
                np.minimum(v, u) * two]
        for got, expected in zip(f(u, v), want):
            _same_bits(got, expected)
    g = th.function([x, s], [T.maximum(x, s), T.minimum(s, x)], mode=mode)
    for value in vals:
        for got, expected in zip(g(a, value), [np.maximum(a, value), np.minimum(value, a)]):
            _same_bits(got, expected)


def _zero_rows(n, dtype):
    """Every sequence of n zeros of either sign, one per row."""
    signs = (np.arange(2**n)[:, None] >> np.arange(n)[::-1]) & 1
    return np.where(signs == 1, -0.0, 0.0).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
def test_max_and_min_of_signed_zeros_match_numpy(mode, dtype):
    """max and min over zeros of both signs, for every sign sequence up to 10 long
    (rows, columns, fused with a step) and long ones: the sign NumPy gives, which is
    the last zero's, as folding numpy.maximum (minimum) in C order gives."""
    m, v = T.matrix("m", dtype=dtype), T.vector("v", dtype=dtype)
    two = np.asarray(2, dtype)
    f = th.function([m], [T.max(m, axis=1), T.min(m, axis=1), T.max(m, axis=0),
                          T.min(m, axis=0), T.max(m * two, axis=1), T.min(m, axis=None)],
                    mode=mode)
    g = th.function([v], [T.max(v), T.min(v)], mode=mode)
    rng = np.random.default_rng(9)
    cases = [_zero_rows(n, dtype) for n in range(1, 11)]
    cases += [rng.choice(np.array([0.0, -0.0], dtype), shape) for shape in
              [(3, 127), (4, 129), (2, 1000), (300, 3)]]
    for zeros in cases:
        for layout in (zeros, np.ascontiguousarray(zeros.T), np.asfortranarray(zeros)):
            want = [np.max(layout, axis=1), np.min(layout, axis=1), np.max(layout, axis=0),
                    np.min(layout, axis=0), np.max(layout * two, axis=1), np.min(layout)]
            for got, expected in zip(f(layout), want):
                np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
        for row in zeros[:8]:
            for got, expected in zip(g(row), [np.max(row), np.min(row)]):
                assert np.signbit(got) == np.signbit(expected)


@pytest.mark.parametrize("dtype", FLOATS)
def test_c_max_and_min_fold_left_to_right(dtype):
    """Where values other than zeros take part, NumPy's own result for the sign of a
    zero extremum depends on the array's length and layout (its vector lanes); the C
    reductions give what folding numpy.maximum (minimum) over the values in C order
    gives, every time: the first NaN, else the last of tied extrema."""
    m = T.matrix("m", dtype=dtype)
    f = th.function([m], [T.max(m, axis=1), T.min(m, axis=1), T.max(m, axis=0),
                          T.min(m, axis=0)], mode="C")
    rng = np.random.default_rng(11)
    for shape in [(3, 7), (4, 9), (5, 17), (4, 130), (200, 5), (2, 1000)]:
        for pool in ([0.0, -0.0, -1.0, 1.0, -2.0], [0.0, -0.0, -1.0, 1.0, np.nan, -np.nan]):
            a = rng.choice(np.array(pool, dtype), shape)
            for layout in (a, np.asfortranarray(a), a[:, ::-1], np.repeat(a, 2, axis=1)[:, ::2]):
                want = [np.maximum.accumulate(layout, axis=1)[:, -1],
                        np.minimum.accumulate(layout, axis=1)[:, -1],
                        np.maximum.accumulate(layout, axis=0)[-1],
                        np.minimum.accumulate(layout, axis=0)[-1]]
                for got, expected in zip(f(layout), want):
                    _same_bits(got, expected)
