"""The C back end's reductions (codegen/c/reduce.py, runtime/reduce.h) against the
NumPy reference: every kind over dtypes, axes and memory layouts (both loop
orders: rows and tiles), fused producers computed in the reduction's loop,
NaN/inf, empty axes, and the accuracy of pairwise summation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from symtheano.codegen.c import build, reduce
from symtheano.codegen.c.linker import c_perform

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.composite import FusedReduce

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

C = Mode(linker="c")
REDUCTIONS = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min, "all": T.all,
              "any": T.any, "argmax": T.argmax, "argmin": T.argmin}


def _functions(inputs, out):
    f_c = th.function(inputs, out, mode=C)
    assert f_c.program.c_nodes() >= 1, f_c.fgraph.apply_nodes
    return f_c, th.function(inputs, out, mode="PY")


def _close(got, want, label, rtol=None):
    assert got.dtype == want.dtype and got.shape == want.shape, label
    if got.dtype.kind == "f":
        if rtol is None:
            rtol = 1e-5 if got.dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True, err_msg=label)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=label)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=label)
    else:
        np.testing.assert_array_equal(got, want, err_msg=label)


def _layouts(a):
    """The same values laid out as: C order, reversed, strided, Fortran order."""
    yield "contiguous", a
    yield "reversed", a[::-1]
    big = np.zeros(tuple(2 * n + 1 for n in a.shape), a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    yield "strided", view
    yield "fortran", np.asfortranarray(a)


def _values(rng, name, dtype, shape):
    if dtype == "bool":
        return rng.random(shape) < rng.choice([0.01, 0.5, 0.99])
    if dtype.startswith("int"):
        return rng.integers(-100, 100, shape).astype(dtype)
    if dtype.startswith("uint"):
        return rng.integers(0, 100, shape).astype(dtype)
    if name == "prod":
        return rng.uniform(0.9, 1.1, shape).astype(dtype)
    x = rng.uniform(0.5, 2.0, shape).astype(dtype)  # no cancellation: sums are well posed
    if name in ("max", "min", "argmax", "argmin"):
        x = np.round(x * 4) / 4  # ties: the first occurrence wins
    return x


SHAPES = [(300, 5), (5, 300), (130, 17), (3, 260, 9), (1, 1000)]


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "uint16", "bool"])
def test_every_reduction_matches_the_reference(name, dtype):
    rng = np.random.default_rng(7)
    for shape in SHAPES:
        x = T.tensor(dtype, (None,) * len(shape), "x")
        axes = [None] + list(range(len(shape)))
        if not name.startswith("arg"):
            axes += list(itertools.combinations(range(len(shape)), 2))
        for axis in axes:
            f_c, f_py = _functions([x], REDUCTIONS[name](x, axis=axis))
            for layout, a in _layouts(_values(rng, name, dtype, shape)):
                _close(f_c(a), f_py(a), f"{name} {dtype} {shape} axis={axis} {layout}")


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8"])
def test_wide_outputs_span_several_tile_blocks(dtype):
    """Column reductions of rows wider than a tile block (2048 outputs), with NaN."""
    rng = np.random.default_rng(8)
    x = T.tensor(dtype, (None, None), "x")
    for name in ("sum", "max", "argmin", "any"):
        f_c, f_py = _functions([x], REDUCTIONS[name](x, axis=0))
        for shape in ((3, 4099), (130, 2050)):
            a = _values(rng, name, dtype, shape)
            if dtype.startswith("float"):
                a[1, 2049] = a[2, shape[1] - 1] = np.nan
            for layout, view in _layouts(a):
                _close(f_c(view), f_py(view), f"{name} {dtype} {shape} {layout}")


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin", "sum", "prod"])
def test_nan_and_inf_positions_match(name):
    rng = np.random.default_rng(3)
    x = T.dmatrix("x")
    for axis in (None, 0, 1):
        f_c, f_py = _functions([x], REDUCTIONS[name](x, axis=axis))
        for shape in ((300, 20), (20, 300), (7, 5)):
            for specials in ([np.nan], [np.inf], [-np.inf], [np.inf, -np.inf], [np.nan, np.inf]):
                a = rng.standard_normal(shape)
                for v in specials:
                    a.flat[rng.integers(0, a.size, 3)] = v
                for layout, view in _layouts(a):
                    with np.errstate(all="ignore"):
                        _close(f_c(view), f_py(view), f"{name} axis={axis} {specials} {layout}")


def test_argmax_is_the_first_maximum_and_the_first_nan_in_c_order():
    x = T.dmatrix("x")
    f = th.function([x], [T.argmax(x), T.argmin(x), T.argmax(x, axis=0), T.argmax(x, axis=1)],
                    mode=C)
    a = np.zeros((5, 300))
    a[1, 7] = a[3, 2] = 5.0  # tie: (1, 7) comes first in C order
    a[2, 250] = a[4, 250] = -1.0
    b = a.copy()
    b[3, 1] = b[3, 200] = np.nan
    for arr in (a, b, np.asfortranarray(b), b[::-1, ::-1]):
        want = [np.argmax(arr), np.argmin(arr), np.argmax(arr, axis=0), np.argmax(arr, axis=1)]
        for got, w in zip(f(arr), want):
            np.testing.assert_array_equal(got, w)


def test_sum_of_a_million_float64_agrees_with_numpy_and_fsum():
    rng = np.random.default_rng(0)
    x, y = T.dvectors("x", "y")
    X = T.dmatrix("X")
    f = th.function([x], T.sum(x), mode=C)
    g = th.function([x, y], T.sum((x - y) ** 2), mode=C)
    cols = th.function([X], T.sum(X, axis=0), mode=C)
    a, b = rng.random(10**6), rng.standard_normal(10**6)
    for v in (a, b, b[::-1], np.repeat(b, 2)[::2]):
        exact = math.fsum(v)
        assert abs(f(v) - np.sum(v)) <= 1e-14 * abs(exact)
        assert abs(f(v) - exact) <= 1e-14 * abs(exact)
    d = a - b
    assert abs(g(a, b) - math.fsum(d * d)) <= 1e-14 * math.fsum(d * d)
    # a column of 1e5 values: pairwise here, where NumPy adds one by one
    m = rng.random((10**5, 3))
    exact = np.array([math.fsum(m[:, j]) for j in range(3)])
    np.testing.assert_allclose(cols(m), exact, rtol=1e-15)
    np.testing.assert_allclose(cols(m), m.sum(axis=0), rtol=1e-13)


def test_contiguous_sums_are_bit_identical_to_numpy():
    rng = np.random.default_rng(1)
    x = T.vector("x", dtype="float32")
    X = T.dmatrix("X")
    f, rows = th.function([x], T.sum(x), mode=C), th.function([X], T.sum(X, axis=1), mode=C)
    cols = th.function([X], T.sum(X, axis=0), mode=C)
    for n in [1, 7, 8, 9, 127, 128, 129, 1000, 4099, 100003]:
        v = (rng.standard_normal(n) * np.exp(rng.standard_normal(n) * 5)).astype("float32")
        assert f(v) == np.sum(v), n
        m = rng.standard_normal((3, n)) * 1e3
        np.testing.assert_array_equal(rows(m), m.sum(axis=1))
        m = rng.standard_normal((min(n, 128), 20))  # up to 128 rows: NumPy's order exactly
        np.testing.assert_array_equal(cols(m), m.sum(axis=0))


def test_fused_producer_runs_inside_the_reduction():
    x, y = T.dvectors("x", "y")
    f = th.function([x, y], T.sum((x - y) ** 2), mode=C)
    (node,) = f.fgraph.apply_nodes
    assert isinstance(node.op, FusedReduce) and f.program.c_nodes() == 1
    rng = np.random.default_rng(2)
    a, b = rng.random(1001), rng.random(1001)
    before = a.copy(), b.copy()
    assert f(a, b) == np.sum((a - b) ** 2)
    assert f(a[::-2], b[::2]) == pytest.approx(np.sum((a[::-2] - b[::2]) ** 2), rel=1e-14)
    np.testing.assert_array_equal(a, before[0])
    np.testing.assert_array_equal(b, before[1])


@pytest.mark.parametrize("reduction", ["sum", "max", "min", "prod", "any", "all"])
def test_fused_reductions_with_broadcast_inputs(reduction):
    X, r, c, s = T.dmatrix("X"), T.drow("r"), T.dcol("c"), T.dscalar("s")
    inner = T.tanh(X * r + c) - s
    if reduction in ("any", "all"):
        inner = inner > 0
    rng = np.random.default_rng(5)
    for axis in (None, 0, 1):
        out = REDUCTIONS[reduction](inner, axis=axis)
        f_c, f_py = _functions([X, r, c, s], out)
        assert any(isinstance(n.op, FusedReduce) for n in f_c.fgraph.apply_nodes)
        for shape in ((40, 300), (300, 40), (1, 9)):
            args = [rng.standard_normal(shape), rng.standard_normal((1, shape[1])),
                    rng.standard_normal((shape[0], 1)), 0.25]
            for layout, a in _layouts(args[0]):
                _close(f_c(a, *args[1:]), f_py(a, *args[1:]),
                       f"{reduction} axis={axis} {shape} {layout}", rtol=1e-12)


def test_mixed_dtypes_accumulate_in_the_output_dtype():
    F, I = T.fmatrix("F"), T.bmatrix("I")
    cases = [T.sum(F, axis=0, dtype="float64"), T.sum(F * 2 + 1, dtype="float64"),
             T.sum(I), T.sum(I, dtype="int8"), T.prod(I, axis=1), T.sum(I > 0, axis=0),
             T.mean(F, axis=1), T.max(F * I, axis=0)]
    f_c, f_py = _functions([F, I], cases)
    rng = np.random.default_rng(6)
    fv = rng.standard_normal((50, 300)).astype("float32")
    iv = rng.integers(-128, 127, (50, 300)).astype("int8")  # int8 sums wrap, as NumPy
    for k, (got, want) in enumerate(zip(f_c(fv, iv), f_py(fv, iv))):
        _close(got, want, f"case {k}")


def test_empty_axes_give_the_identity_or_the_reference_error():
    x = T.dmatrix("x")
    empty = np.zeros((0, 3))
    f = th.function([x], [T.sum(x, axis=0), T.prod(x, axis=0), T.all(x, axis=0),
                          T.any(x, axis=0), T.sum(x, axis=1)], mode=C)
    for got, want in zip(f(empty), [np.zeros(3), np.ones(3), np.ones(3, bool),
                                    np.zeros(3, bool), np.zeros(0)]):
        np.testing.assert_array_equal(got, want)
    for fn in (T.max, T.min, T.argmax):
        f_c = th.function([x], fn(x, axis=0), mode=C)
        f_py = th.function([x], fn(x, axis=0), mode="PY")
        with pytest.raises(ValueError) as want:
            f_py(empty)
        with pytest.raises(ValueError) as got:
            f_c(empty)
        assert str(got.value) == str(want.value)


def test_zero_d_outputs_and_inputs():
    s, v = T.dscalar("s"), T.dvector("v")
    f_c, f_py = _functions([s, v], [T.sum(v), T.max(v * s), T.argmin(v), T.any(v > s)])
    for got, want in zip(f_c(2.0, np.arange(5.0)), f_py(2.0, np.arange(5.0))):
        assert got.shape == () and got.dtype == want.dtype and got == want


def test_byte_swapped_and_misaligned_inputs_fall_back_to_numpy():
    x = T.dvector("x")
    f = th.function([x], T.sum(x), mode=C)
    a = np.arange(100.0)
    swapped = a.astype(">f8")
    raw = np.zeros(801, np.uint8)
    misaligned = raw[1:].view(np.float64)
    misaligned[:] = a
    for arr in (swapped, misaligned):
        assert f(arr) == np.sum(a)


def test_kernel_source_depends_on_the_expression_only():
    x = T.dmatrix("x")
    nodes = []
    for axis in (0, 1, None):
        f = th.function([x], T.sum(T.exp(x), axis=axis), mode=C)
        nodes += [n for n in f.fgraph.apply_nodes if isinstance(n.op, FusedReduce)]
    sources = {reduce.render_reduction("ST_SUM", ["float64"], "float64", n.op.composite)
               for n in nodes}
    assert len(sources) == 1


def test_names_never_reach_generated_source():
    evil = '*/ #include <stdio.h> "quote" \n int main(){}'
    x, y = T.dvector(evil), T.dvector(evil + "2")
    f = th.function([x, y], T.sum(T.exp(x) - y), mode=C)
    (node,) = f.fgraph.apply_nodes
    source = reduce.render_reduction("ST_SUM", ["float64"] * 2, "float64", node.op.composite)
    assert "quote" not in source and "stdio" not in source
    assert c_perform(node) is not None
    assert f(np.zeros(3), np.ones(3)) == 0.0


def test_fused_steps_without_c_fall_back_to_the_reference():
    x = T.dvector("x")
    f = th.function([x], T.sum(T.erfinv(x) * 2), mode=C)  # may have no C expression
    xv = np.array([-0.5, 0.0, 0.3])
    g = th.function([x], T.sum(T.erfinv(x) * 2), mode="PY")
    np.testing.assert_allclose(f(xv), g(xv), rtol=1e-14)
