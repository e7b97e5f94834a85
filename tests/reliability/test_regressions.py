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
    with pytest.raises(ValueError, match=r"x has shape \(3, 4\), y\.T has shape \(5, 3\)"):
        f(np.ones((3, 4)), np.ones((3, 5)))


# NumPy's maximum/minimum loops return their second operand on a tie of +0.0 and -0.0
# on this machine's SIMD path (its documentation says np.where(x1 >= x2, x1, x2), the
# first); the C kernels return the first. Values are equal; only the sign bit differs.
_NUMPY_TAKES_SECOND = bool(np.signbit(np.maximum(np.array([0.0] * 8), -0.0))[0])


@pytest.mark.xfail(_NUMPY_TAKES_SECOND, strict=True,
                   reason="open: C maximum/minimum(+0.0, -0.0) returns the first operand, "
                          "the NumPy reference the second (sign of zero differs)")
def test_maximum_of_signed_zeros_matches_the_reference():
    x, y = T.dvector("x"), T.dvector("y")
    outs = [T.maximum(x, y), T.minimum(x, y)]
    a, b = np.array([0.0, -0.0]), np.array([-0.0, 0.0])
    c = th.function([x, y], outs, mode="C")(a, b)
    py = th.function([x, y], outs, mode="PY")(a, b)
    for got, want in zip(c, py):
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
