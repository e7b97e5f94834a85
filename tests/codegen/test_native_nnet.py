"""The native entries of the softmax family (codegen/c/nnet_emit.py,
runtime/nnet_node.h): Softmax, LogSoftmax, LogSumExp, SoftmaxCrossentropy and
OneHot against independent NumPy references (computed in long double) and
against the reference program: float32 and float64, every axis, strided and
negative-stride inputs, long rows, empty arrays, NaN and the infinities, and
the reference's errors."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c import build

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.nnet import LogSoftmax, OneHot, Softmax
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy, logsumexp_op

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

RNG = np.random.default_rng(11)
ULPS = 8  # allowed distance from the long-double reference, in units of the dtype's eps


def both(inputs, outputs):
    return th.function(inputs, outputs, mode="C"), th.function(inputs, outputs, mode="PY")


def native_ops(f):
    return {type(node.op) for node in f.program.native_nodes()}


def layouts(a):
    """`a`, reversed in every dimension (negative strides), and spaced out in a
    larger buffer (non-contiguous)."""
    out = [a]
    if a.ndim and a.size:
        out.append(np.flip(a).copy()[tuple(slice(None, None, -1) for _ in a.shape)])
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        spaced = big[tuple(slice(None, None, 2) for _ in a.shape)]
        spaced[...] = a
        out.append(spaced)
    return out


# -- independent references (long double) -------------------------------------------------------

def _axes(a, axis):
    return tuple(range(a.ndim)) if axis is None else axis


def ref_softmax(a, axis):
    x = a.astype(np.longdouble)
    e = np.exp(x - np.max(x, axis=_axes(a, axis), keepdims=True))
    return e / np.sum(e, axis=_axes(a, axis), keepdims=True)


def ref_log_softmax(a, axis):
    x = a.astype(np.longdouble)
    s = x - np.max(x, axis=_axes(a, axis), keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=_axes(a, axis), keepdims=True))


def ref_logsumexp(a, axes):
    x = a.astype(np.longdouble)
    m = np.max(x, axis=axes, keepdims=True)
    return np.squeeze(m, axis=axes) + np.log(np.sum(np.exp(x - m), axis=axes))


def close(got, want, dtype, scale=1.0):
    """got within ULPS eps of the long-double `want` (relative, or absolute at `scale`)."""
    eps = np.finfo(dtype).eps
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.astype(np.longdouble), want, rtol=ULPS * eps,
                               atol=ULPS * eps * scale)


def agree(got, ref, scale=0.0):
    """C and the reference program agree: NaN and infinities at the same places, the
    finite values to a few ulp (relative, or absolute at `scale` where the last step
    may cancel)."""
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
    finite = np.isfinite(ref)
    eps = np.finfo(got.dtype).eps
    np.testing.assert_allclose(got[finite], ref[finite], rtol=ULPS * eps, atol=ULPS * eps * scale)


def special_rows(dtype, n=6):
    """Rows with NaN, +inf, -inf, all -inf, huge and tiny values, one element."""
    rows = np.array([
        [0.5, np.nan, 1.0, 2.0, -1.0, 0.0],
        [1.0, np.inf, 3.0, np.inf, -np.inf, 0.0],
        [-np.inf] * n,
        [-np.inf, 2.0, -np.inf, -np.inf, 1.0, -np.inf],
        [1e4, -1e4, 3e3, 1e4, 0.0, -5.0],
        [-800.0, -801.0, -799.5, -2000.0, -800.0, -900.0],
        [np.inf] * n,
    ])
    return rows.astype(dtype)


# -- Softmax and LogSoftmax ----------------------------------------------------------------------

# log_softmax ends with log(sum), whose rounding is absolute: relative only for softmax
LOG_SCALE = {Softmax: 0.0, LogSoftmax: 1.0}

SHAPES_AXES = [((64, 10), 1), ((64, 10), 0), ((64, 10), None), ((3, 1000), 1), ((4, 5, 6), 1),
               ((4, 5, 6), None), ((7,), 0), ((2, 3, 300), 2)]


@pytest.mark.parametrize("op, ref", [(Softmax, ref_softmax), (LogSoftmax, ref_log_softmax)],
                         ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES, ids=str)
def test_softmax_family_matches_references(op, ref, dtype, shape, axis):
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    f_c, f_py = both([x], op(axis)(x))
    assert op in native_ops(f_c)
    a = (RNG.normal(size=shape) * 4).astype(dtype)
    for v in layouts(a):
        got = f_c(v)
        agree(got, f_py(v), LOG_SCALE[op])
        scale = 1.0 if op is Softmax else float(np.max(np.abs(a))) + 10
        if dtype == "float64":
            close(got, ref(v, axis), dtype, scale)
        else:  # the reference rounds x - max to float32 first: a relative error of |x| eps
            close(got, ref(v, axis), dtype, (float(np.max(np.abs(a))) + 1) * 4)


@pytest.mark.parametrize("op", [Softmax, LogSoftmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_family_special_values(op, dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    f_c, f_py = both([x], [op(1)(x), op(0)(x), op(None)(x)])
    assert op in native_ops(f_c)
    rows = special_rows(dtype)
    for v in (rows, rows[::-1, ::-1], rows[:, :1], rows[4:6]):
        for got, ref in zip(f_c(v), f_py(v), strict=True):
            agree(got, ref, LOG_SCALE[op])
    finite = f_c(rows[4:6])[0]
    assert np.all(np.isfinite(finite))


@pytest.mark.parametrize("op", [Softmax, LogSoftmax], ids=["softmax", "log_softmax"])
def test_float32_rounds_the_shift_as_the_reference(op):
    # x - max is rounded to float32 by the reference before exp: far from the maximum
    # that costs up to |x - max| * eps / 2 of relative accuracy, which C reproduces.
    x = T.fmatrix("x")
    f_c, f_py = both([x], op(1)(x))
    a = np.concatenate([RNG.uniform(-80, 0, size=(50, 20)), np.full((50, 1), 0.3)], axis=1)
    a = a.astype("float32")
    for v in layouts(a):
        agree(f_c(v), f_py(v), LOG_SCALE[op])


@pytest.mark.parametrize("op", [Softmax, LogSoftmax], ids=["softmax", "log_softmax"])
def test_softmax_family_empty_and_scalar(op):
    x = T.dmatrix("x")
    s = T.dscalar("s")
    f_c, f_py = both([x, s], [op(1)(x), op(0)(x), op(None)(s)])
    assert op in native_ops(f_c)
    for shape in ((0, 4), (3, 0), (0, 0)):
        got = f_c(np.zeros(shape), np.float64(3.0))
        ref = f_py(np.zeros(shape), np.float64(3.0))
        for g, r in zip(got, ref, strict=True):
            assert g.shape == r.shape
            agree(g, r)
        assert got[2] == (1.0 if op is Softmax else 0.0)


def test_softmax_gradient_graph_runs_natively():
    x = T.dmatrix("x")
    y = T.ivector("y")
    cost = T.softmax_crossentropy(x, y).sum()
    f_c, f_py = both([x, y], [cost, T.grad(cost, x)])
    assert {SoftmaxCrossentropy, Softmax, OneHot} <= native_ops(f_c)
    a = RNG.normal(size=(16, 5))
    labels = RNG.integers(0, 5, size=16).astype("int32")
    got_cost, got_grad = f_c(a, labels)
    ref_cost, ref_grad = f_py(a, labels)
    agree(got_cost, ref_cost)
    agree(got_grad, ref_grad, 1.0)
    want = ref_softmax(a, 1) - np.eye(5)[labels]
    close(got_grad, want, "float64")


# -- LogSumExp --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, axes", [((20, 30), (1,)), ((20, 30), (0,)), ((20, 30), (0, 1)),
                                          ((3, 4, 5), (0, 2)), ((2, 500), (1,)), ((5,), (0,))],
                         ids=str)
def test_logsumexp_matches_references(dtype, shape, axes):
    x = T.tensor(dtype, shape=(None,) * len(shape), name="x")
    f_c, f_py = both([x], logsumexp_op(x, axes))
    assert LogSumExp in native_ops(f_c)
    a = (RNG.normal(size=shape) * 5).astype(dtype)
    for v in layouts(a):
        got = f_c(v)
        agree(got, f_py(v), float(np.max(np.abs(a))))
        close(got, ref_logsumexp(v, axes), dtype, float(np.max(np.abs(a))) * 4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_logsumexp_special_values_and_empty_axes(dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    f_c, f_py = both([x], [logsumexp_op(x, 1), logsumexp_op(x, 0), logsumexp_op(x, None)])
    assert LogSumExp in native_ops(f_c)
    rows = special_rows(dtype)
    for v in (rows, rows[::-1, ::2], np.zeros((3, 0), dtype), np.zeros((0, 3), dtype)):
        for got, ref in zip(f_c(v), f_py(v), strict=True):
            agree(got, ref, 1e4)
    got = f_c(np.zeros((2, 0), dtype))
    np.testing.assert_array_equal(got[0], [-np.inf, -np.inf])
    # finite where exp overflows or underflows everywhere
    big = np.array([[1e4, 1e4 - 1], [-1e4, -1e4 - 1]], dtype)
    np.testing.assert_allclose(f_c(big)[0], big[:, 0] + np.log1p(np.exp(-1.0)), rtol=1e-6)


# -- SoftmaxCrossentropy and OneHot -----------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8"])
def test_softmax_crossentropy(dtype, label_dtype):
    x = T.tensor(dtype, shape=(None, None, None), name="x")
    y = T.tensor(label_dtype, shape=(None, None), name="y")
    f_c, f_py = both([x, y], T.softmax_crossentropy(x, y))
    assert SoftmaxCrossentropy in native_ops(f_c)
    a = (RNG.normal(size=(3, 4, 7)) * 6).astype(dtype)
    labels = RNG.integers(0, 7, size=(3, 4)).astype(label_dtype)
    for v in layouts(a):
        for lab in layouts(labels):
            got = f_c(v, lab)
            agree(got, f_py(v, lab))
            picked = np.take_along_axis(v.astype(np.longdouble), lab[..., None].astype(int), -1)
            want = -np.log(np.take_along_axis(ref_softmax(v, 2), lab[..., None].astype(int), -1))
            assert np.all(np.isfinite(picked))
            close(got, want[..., 0], dtype, 40.0)


def test_softmax_crossentropy_special_values_empty_and_errors():
    x = T.dmatrix("x")
    y = T.lvector("y")
    f_c, f_py = both([x, y], T.softmax_crossentropy(x, y))
    rows = special_rows("float64")
    for labels in ([0, 1, 2, 3, 4, 5, 0], [1, 4, 0, 1, 3, 3, 5]):
        agree(f_c(rows, np.array(labels)), f_py(rows, np.array(labels)))
    big = np.array([[0.0, -1e4], [1e4, -1e4]])
    got = f_c(big, np.array([1, 1]))  # the probability underflows: the cost stays finite
    np.testing.assert_allclose(got, [1e4, 2e4])
    agree(f_c(np.zeros((0, 4)), np.zeros(0, "int64")), f_py(np.zeros((0, 4)), np.zeros(0, "int64")))
    for args in ((rows, np.array([0, 1, 2, 3, 4, 6, 0])),  # label out of range
                 (rows, np.array([0, 1, 2, 3, 4, -1, 0])),
                 (rows, np.array([0, 1])),  # label count does not match
                 (np.zeros((2, 0)), np.array([0, 0]))):
        for f in (f_py, f_c):
            with pytest.raises(ValueError):
                f(*args)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "bool", "uint16"])
def test_one_hot(dtype):
    y = T.ivector("y")
    m = T.imatrix("m")
    n = T.lscalar("n")
    f_c, f_py = both([y, m, n], [T.nnet.OneHot(dtype)(y, n), T.nnet.OneHot(dtype)(m, 4)])
    assert OneHot in native_ops(f_c)
    labels = np.array([3, 0, 2, 2, 1], dtype="int32")
    mat = RNG.integers(0, 4, size=(3, 2)).astype("int32")
    for lab in layouts(labels):
        for mv in layouts(mat):
            got = f_c(lab, mv, np.int64(5))
            for g, r, w in zip(got, f_py(lab, mv, np.int64(5)),
                               (np.eye(5)[lab], np.eye(4)[mv]), strict=True):
                assert g.dtype == r.dtype == np.dtype(dtype)
                np.testing.assert_array_equal(g, r)
                np.testing.assert_array_equal(g, w.astype(dtype))
    empty = f_c(np.zeros(0, "int32"), mat, np.int64(3))[0]
    assert empty.shape == (0, 3)
    for bad in (np.array([5, 0], "int32"), np.array([-1], "int32")):
        for f in (f_py, f_c):
            with pytest.raises(ValueError):
                f(bad, mat, np.int64(5))
