"""The native entries of shape and view ops (codegen/c/shape_emit.py,
runtime/shape_node.h) against NumPy and the reference program: values, dtypes,
views where NumPy makes them, strided and negative-stride inputs, empty arrays,
and the reference's errors for calls the entries decline."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c import build

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.elemwise import DimShuffle
from symtheano.tensor.join import Join
from symtheano.tensor.shape import Alloc, MakeVector, Reshape, Shape, ShapeI, SpecifyShape
from symtheano.tensor.subtensor import IncSubtensor, Subtensor

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)


def both(inputs, outputs):
    """(the function compiled with mode="C", the same with mode="PY")."""
    return th.function(inputs, outputs, mode="C"), th.function(inputs, outputs, mode="PY")


def native_ops(f):
    return {type(node.op) for node in f.program.native_nodes()}


def layouts(a):
    """`a` as given, reversed in every dimension (negative strides), with every
    other element of a larger buffer (non-contiguous), and in Fortran order."""
    a = np.asarray(a)
    out = [a, np.asfortranarray(a)]
    if a.ndim:
        flipped = np.flip(a).copy()[tuple(slice(None, None, -1) for _ in a.shape)]
        big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
        spaced = big[tuple(slice(1, None, 2) for _ in a.shape)]
        spaced[...] = a
        out += [flipped, spaced]
    return out


def check(f_c, f_py, args, want=None):
    """C equals the reference (and `want`, NumPy's result) exactly, dtype included."""
    got, ref = f_c(*args), f_py(*args)
    got, ref = (got, ref) if isinstance(got, list) else ([got], [ref])
    wants = want if isinstance(want, list) else [want]
    for k, (g, r) in enumerate(zip(got, ref, strict=True)):
        assert g.dtype == r.dtype and g.shape == r.shape, (k, g.dtype, g.shape, r.dtype, r.shape)
        np.testing.assert_array_equal(g, r)
        if want is not None:
            w = np.asarray(wants[k])
            assert g.shape == w.shape
            np.testing.assert_array_equal(g, w)


def same_error(f_c, f_py, args, exc_type):
    """Both programs raise `exc_type` (the C entry declined; perform raised)."""
    with pytest.raises(exc_type):
        f_py(*args)
    with pytest.raises(exc_type):
        f_c(*args)


def raw(f, args):
    """The program's own outputs (before the copies that keep results private)."""
    return f.program(list(args))


RNG = np.random.default_rng(7)


# -- DimShuffle -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "bool", "uint64"])
def test_dimshuffle_patterns(dtype):
    x = T.tensor(dtype, shape=(None, 1, None), name="x")
    outs = [x.dimshuffle(2, 0, 1), x.dimshuffle("x", 0, 2), x.dimshuffle(2, "x", 0, "x"),
            x.dimshuffle(0, 2)]
    f_c, f_py = both([x], outs)
    assert DimShuffle in native_ops(f_c)
    a = (RNG.normal(size=(3, 1, 4)) * 5).astype(dtype)
    for v in layouts(a):
        check(f_c, f_py, [v], [v.transpose(2, 0, 1), v[None, :, 0, :],
                               v[:, 0, :].T[:, None, :, None], v[:, 0, :]])


def test_dimshuffle_returns_a_view_and_drops_only_size_one():
    x = T.dmatrix("x")
    f_c, f_py = both([x], DimShuffle(2, (1,))(x))
    a = RNG.normal(size=(1, 5))[:, ::-1]
    (out,) = raw(f_c, [a])
    assert np.shares_memory(out, a)
    np.testing.assert_array_equal(out, a[0])
    same_error(f_c, f_py, [RNG.normal(size=(2, 5))], ValueError)


def test_dimshuffle_of_a_scalar_and_of_empty_arrays():
    s = T.dscalar("s")
    m = T.dmatrix("m")
    f_c, f_py = both([s, m], [s.dimshuffle("x", "x"), m.T])
    assert DimShuffle in native_ops(f_c)
    check(f_c, f_py, [np.float64(2.5), np.zeros((0, 3))], [np.full((1, 1), 2.5), np.zeros((3, 0))])


# -- Reshape ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "int16", "bool"])
def test_reshape_constant_shapes(dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    outs = [x.reshape((-1,)), x.reshape((2, -1, 3)), x.reshape((1, 24, 1)), x.T.reshape((8, 3))]
    f_c, f_py = both([x], outs)
    assert Reshape in native_ops(f_c)
    a = (RNG.normal(size=(4, 6)) * 9).astype(dtype)
    for v in layouts(a):
        check(f_c, f_py, [v], [v.reshape(-1), v.reshape(2, -1, 3), v.reshape(1, 24, 1),
                               v.T.reshape(8, 3)])


def test_reshape_views_where_numpy_does():
    x = T.dmatrix("x")
    f_c, _ = both([x], x.reshape((-1,)))
    contiguous = RNG.normal(size=(3, 4))
    mergeable = RNG.normal(size=(6, 4))[::2]  # rows strided, each row contiguous
    for a, view in ((contiguous, True), (contiguous.T, False), (mergeable, False),
                    (contiguous[::-1, ::-1], True), (contiguous[:, ::-1], False)):
        (out,) = raw(f_c, [a])
        assert np.shares_memory(out, a) == view == np.shares_memory(a.reshape(-1), a)
        np.testing.assert_array_equal(out, a.reshape(-1))
    f_c, _ = both([x], x.reshape((3, 2, 2)))
    (out,) = raw(f_c, [mergeable])  # (3, 4) rows strided: splitting a row is a view
    assert np.shares_memory(out, mergeable)
    np.testing.assert_array_equal(out, mergeable.reshape(3, 2, 2))


def test_reshape_symbolic_shapes_and_errors():
    x = T.dvector("x")
    n = T.lscalar("n")
    shp = T.ivector("shp")
    f_c, f_py = both([x, n], x.reshape((n, -1)))
    assert {Reshape, MakeVector} <= native_ops(f_c)
    a = np.arange(12.0)
    for k in (1, 2, 3, 4, 6, 12):
        check(f_c, f_py, [a, np.int64(k)], a.reshape(k, -1))
    check(f_c, f_py, [np.zeros(0), np.int64(3)], np.zeros((3, 0)))
    for k in (5, 0, -2):  # does not divide, -1 beside 0, negative size
        same_error(f_c, f_py, [a, np.int64(k)], ValueError)
    g_c, g_py = both([x, shp], T.reshape(x, shp, ndim=2))
    assert Reshape in native_ops(g_c)
    check(g_c, g_py, [a, np.array([3, 4], dtype="int32")], a.reshape(3, 4))
    check(g_c, g_py, [a[::-1], np.array([-1, 2], dtype="int32")], a[::-1].reshape(-1, 2))
    for bad in ([-1, -1], [5, 2], [-3, -4]):  # two -1, wrong size, negative sizes
        same_error(g_c, g_py, [a, np.array(bad, dtype="int32")], ValueError)
    # a shape vector of the wrong length: the reference's own (internal) type error
    same_error(g_c, g_py, [a, np.array([3, 4, 1], dtype="int32")], TypeError)


# -- Subtensor --------------------------------------------------------------------------------

INDEXES = [
    (1,), (-1,), (slice(1, 3),), (slice(None, None, -1),), (slice(-2, None, -2), 1),
    (slice(7, -9, -3),), (None, 2, slice(None, None, 2)), (slice(100, None),),
    (slice(-100, 2),), (slice(None), -3), (0, 0), (slice(2, 2),), (slice(None, -100, -1),),
    (Ellipsis, None), (slice(1, None, 5), None, slice(None, 2)),
]


@pytest.mark.parametrize("index", INDEXES, ids=str)
@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8"])
def test_subtensor_constant_indexes(index, dtype):
    x = T.tensor(dtype, shape=(None, None), name="x")
    f_c, f_py = both([x], x[index])
    assert Subtensor in native_ops(f_c)
    a = np.arange(5 * 4).reshape(5, 4).astype(dtype)
    for v in layouts(a):
        check(f_c, f_py, [v], np.asarray(v[index]))
    check(f_c, f_py, [np.zeros((5, 3), dtype=dtype)], np.asarray(np.zeros((5, 3), dtype)[index]))


def test_subtensor_is_a_view_except_for_scalars():
    x = T.dmatrix("x")
    f_c, _ = both([x], [x[1:, ::-2], x[1, 2]])
    a = RNG.normal(size=(4, 5))
    part, scalar = raw(f_c, [a])
    assert np.shares_memory(part, a) and not np.shares_memory(scalar, a)
    np.testing.assert_array_equal(part, a[1:, ::-2])
    assert scalar.shape == () and scalar == a[1, 2]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8", "uint64"])
def test_subtensor_symbolic_bounds_follow_python_slices(dtype):
    x = T.dvector("x")
    start, stop, step, i = (T.scalar(dtype=dtype, name=n) for n in "abci")
    f_c, f_py = both([x, start, stop, step, i], [x[start:stop:step], x[i], x[start::step]])
    assert Subtensor in native_ops(f_c)
    a = np.arange(7.0) * 1.5
    values = range(-9, 10) if np.dtype(dtype).kind == "i" else range(0, 10)
    steps = [s for s in values if s != 0]
    for b, e, s in zip(RNG.choice(list(values), 60), RNG.choice(list(values), 60),
                       RNG.choice(steps, 60)):
        k = int(b) % 7
        args = [a, *(np.array(v, dtype=dtype) for v in (b, e, s, k))]
        check(f_c, f_py, args, [a[int(b):int(e):int(s)], np.asarray(a[k]), a[int(b)::int(s)]])


def test_subtensor_errors():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    s = T.lscalar("s")
    f_c, f_py = both([x, i, s], [x[i], x[::s]])
    a = RNG.normal(size=(3, 2))
    check(f_c, f_py, [a, np.int64(-3), np.int64(-1)], [a[-3], a[::-1]])
    same_error(f_c, f_py, [a, np.int64(3), np.int64(1)], IndexError)
    same_error(f_c, f_py, [a, np.int64(-4), np.int64(1)], IndexError)
    same_error(f_c, f_py, [a, np.int64(0), np.int64(0)], ValueError)  # zero step
    g_c, g_py = both([x], x[:, 5])
    same_error(g_c, g_py, [a], IndexError)


# -- IncSubtensor / SetSubtensor --------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "uint16", "bool"])
@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
def test_inc_and_set_subtensor(dtype, set_):
    x = T.tensor(dtype, shape=(None, None), name="x")
    y = T.tensor(dtype, shape=(None,), name="y")
    r = T.tensor(dtype, shape=(1, None), name="r")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    outs = [fn(x[1:, ::-2], r), fn(x[-1], y), fn(x[::2, 1], y[:2])]
    f_c, f_py = both([x, y, r], outs)
    assert IncSubtensor in native_ops(f_c)
    a = (RNG.normal(size=(4, 5)) * 60).astype(dtype)
    yv = (RNG.normal(size=5) * 60).astype(dtype)
    rv = (RNG.normal(size=(1, 3)) * 60).astype(dtype)
    for v in layouts(a):
        want = []
        for index, value in (((slice(1, None), slice(None, None, -2)), rv), ((-1,), yv),
                             ((slice(None, None, 2), 1), yv[:2])):
            w = v.copy()
            if set_:
                w[index] = value
            else:
                w[index] += value  # integers wrap as NumPy's
            want.append(w)
        check(f_c, f_py, [v, yv, rv], want)
        np.testing.assert_array_equal(v, a)  # the input is never written


def test_inc_subtensor_errors():
    x = T.dmatrix("x")
    y = T.dvector("y")
    i = T.lscalar("i")
    f_c, f_py = both([x, y, i], T.inc_subtensor(x[i, 1:], y))
    a = RNG.normal(size=(3, 4))
    check(f_c, f_py, [a, np.ones(3), np.int64(-1)])
    same_error(f_c, f_py, [a, np.ones(3), np.int64(3)], IndexError)
    same_error(f_c, f_py, [a, np.ones(2), np.int64(0)], ValueError)
    same_error(f_c, f_py, [a, np.ones(1), np.int64(0)], ValueError)  # 1 not declared broadcastable


# -- shapes as values, SpecifyShape -----------------------------------------------------------

def test_shape_shape_i_and_make_vector():
    x = T.dtensor3("x")
    n = T.bscalar("n")
    outs = [x.shape, T.shape_i(x, 1), T.shape_i(x, 2) * 2,
            MakeVector("int64")(T.shape_i(x, 0), n)]
    f_c, f_py = both([x, n], outs)
    assert {Shape, ShapeI, MakeVector} <= native_ops(f_c)
    for shape in ((2, 3, 4), (0, 5, 1)):
        a = np.zeros(shape)
        check(f_c, f_py, [a, np.int8(-7)], [np.array(shape), np.array(shape[1]),
                                             np.array(shape[2] * 2), np.array([shape[0], -7])])
    s = T.dscalar("s")
    g_c, g_py = both([s], s.shape)
    check(g_c, g_py, [np.float64(1)], np.zeros(0, dtype="int64"))


def test_specify_shape_and_broadcast_patterns():
    x = T.dmatrix("x")
    outs = [T.specify_shape(x, (3, None)) * 2, T.addbroadcast(x, 1) + x]
    f_c, f_py = both([x], outs)
    assert SpecifyShape in native_ops(f_c)
    a = RNG.normal(size=(3, 1))
    check(f_c, f_py, [a[::-1]], [a[::-1] * 2, a[::-1] * 2])
    same_error(f_c, f_py, [RNG.normal(size=(2, 1))], ValueError)
    same_error(f_c, f_py, [RNG.normal(size=(3, 2))], ValueError)


# -- Alloc and Join ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_alloc(dtype):
    v = T.tensor(dtype, shape=(1, None), name="v")
    s = T.tensor(dtype, shape=(), name="s")
    n = T.iscalar("n")
    m = T.lscalar("m")
    outs = [T.alloc(v, n, m, v.shape[1]), T.alloc(s, n, m), T.zeros((n, 3), dtype=dtype)]
    f_c, f_py = both([v, s, n, m], outs)
    assert Alloc in native_ops(f_c)
    vv = (RNG.normal(size=(1, 4)) * 9).astype(dtype)
    for sv in (np.zeros((), dtype), np.ones((), dtype)):
        for shape in ((2, 1), (0, 3), (3, 0)):
            n_, m_ = np.int32(shape[0]), np.int64(shape[1])
            for layout in layouts(vv):
                check(f_c, f_py, [layout, sv, n_, m_],
                      [np.broadcast_to(layout, (*shape, 4)), np.full(shape, sv),
                       np.zeros((shape[0], 3), dtype)])


def test_alloc_errors():
    v = T.dvector("v")
    n = T.lscalar("n")
    f_c, f_py = both([v, n], T.alloc(v, n, 3))
    check(f_c, f_py, [np.arange(3.0), np.int64(2)], np.tile(np.arange(3.0), (2, 1)))
    same_error(f_c, f_py, [np.arange(1.0), np.int64(2)], ValueError)  # not declared broadcastable
    same_error(f_c, f_py, [np.arange(3.0), np.int64(-1)], ValueError)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_join(axis):
    a, b, c = T.dmatrix("a"), T.dmatrix("b"), T.dmatrix("c")
    f_c, f_py = both([a, b, c], T.concatenate([a, b, c], axis=axis))
    assert Join in native_ops(f_c)
    shapes = {0: [(2, 3), (0, 3), (4, 3)], 1: [(2, 1), (2, 0), (2, 5)]}[axis % 2]
    vals = [RNG.normal(size=s) for s in shapes]
    for lay in zip(*(layouts(v) for v in vals)):
        check(f_c, f_py, list(lay), np.concatenate(lay, axis=axis))
    bad = [RNG.normal(size=(3, 3)) for _ in range(2)] + [RNG.normal(size=(4, 4))]
    same_error(f_c, f_py, bad, ValueError)


def test_join_of_mixed_dtypes_is_left_to_the_reference():
    a, b = T.ivector("a"), T.dvector("b")
    f_c, f_py = both([a, b], T.concatenate([a, b]))
    assert Join not in native_ops(f_c)
    check(f_c, f_py, [np.arange(3, dtype="int32"), np.ones(2)],
          np.concatenate([np.arange(3), np.ones(2)]))


def test_a_view_chain_runs_natively_end_to_end():
    x = T.dmatrix("x")
    f_c, f_py = both([x], x.T.reshape((-1,))[1:5] * 2)
    assert len(f_c.program.native_nodes()) == len(f_c.program.nodes)
    for v in layouts(RNG.normal(size=(3, 4))):
        check(f_c, f_py, [v], v.T.reshape(-1)[1:5] * 2)
