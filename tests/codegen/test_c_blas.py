"""The BLAS emitters (codegen/c/blas_emit.py) against the NumPy reference: Dot,
TensorDot and MatMul as built, Gemm/Gemv/Ger as the rewrites make them, over
ranks, memory layouts (C and Fortran order, strided, reversed, padded rows,
broadcast zero strides), float32 and float64, empty dimensions, broadcast
added terms, and the IEEE cases where BLAS and the reference formula part
ways (beta == 0 meeting inf/NaN, alpha == 0, an empty inner dimension)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from symtheano.codegen.c import blas, build

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.blas_ops import gemm, gemv, ger

try:
    build.compiler()
    blas.library()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)
except blas.BlasUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no BLAS: {exc}", allow_module_level=True)

C_RAW = Mode(linker="c", optimizer=None)    # the graph as built, compiled
PY_RAW = Mode(linker="py", optimizer=None)  # the same graph on the reference
C = Mode(linker="c")                        # rewritten (dot -> gemm/gemv/ger), compiled
FLOATS = ("float32", "float64")
LAYOUTS = ("c", "f", "strided", "reversed", "padded", "zero-stride")


def layout(a, how):
    """An array with `a`'s values (for "zero-stride": its first row repeated) in the
    memory layout named `how`."""
    a = np.asarray(a)
    if how == "c" or a.ndim == 0:
        return np.ascontiguousarray(a)
    if how == "f":
        return np.asfortranarray(a)
    if how == "strided":
        big = np.zeros(tuple(2 * s for s in a.shape), a.dtype)
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if how == "reversed":
        flip = tuple(slice(None, None, -1) for _ in a.shape)
        return np.ascontiguousarray(a[flip])[flip]
    if how == "padded":  # rows inside wider rows: a leading dimension beyond the width
        big = np.zeros(a.shape[:-1] + (a.shape[-1] + 3,), a.dtype)
        big[..., : a.shape[-1]] = a
        return big[..., : a.shape[-1]]
    if how == "zero-stride":
        if a.shape[0] == 0:
            return a
        return np.broadcast_to(a[:1], a.shape)
    raise ValueError(how)


def layout_triples():
    """Layouts for (term, first operand, second operand): every pair for the two
    operands, the term's layout cycling through all of them alongside."""
    pairs = itertools.product(LAYOUTS, repeat=2)
    return [(LAYOUTS[i % len(LAYOUTS)], a, b) for i, (a, b) in enumerate(pairs)]


def close(got, want, label=""):
    """Equal to the reference: float64 to 1e-12 (float32 to 1e-5) relative, with
    NaN and inf in the same places."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, label
    assert got.shape == want.shape, label
    rtol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3, equal_nan=True,
                               err_msg=label)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=label)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=label)


def compiled_ops(f):
    """Names of the ops of `f` that run compiled code rather than their perform (`!=`:
    each attribute access makes a new bound method, so `is not` would always hold)."""
    return sorted(type(node.op).__name__ for node in f.program.compiled_nodes())


def check(inputs, output, args, mode=C_RAW, ref_mode=PY_RAW, expect=None):
    """The compiled function equals the reference on `args` and leaves them unchanged;
    `expect` (an op name) must run compiled."""
    f_c = th.function(inputs, output, mode=mode)
    f_py = th.function(inputs, output, mode=ref_mode)
    if expect is not None:
        assert expect in compiled_ops(f_c), (expect, compiled_ops(f_c))
    copies = [np.array(a, copy=True) for a in args]
    got, want = f_c(*args), f_py(*args)
    close(got, want, f"{[a.shape for a in args]} {[a.strides for a in args]}")
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c, err_msg="an input was modified")
    return got


# -- Dot: every rank, layout and dtype ------------------------------------------------------

SHAPES = [(3, 4, 5), (0, 4, 5), (3, 0, 5), (3, 4, 0), (1, 4, 1), (1, 4, 5), (3, 4, 1),
          (1, 1, 5), (5, 1, 1), (2, 1, 3), (17, 33, 9)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("ranks", [(1, 1), (2, 1), (1, 2), (2, 2)], ids=str)
def test_dot_matches_numpy_over_ranks_layouts_and_sizes(dtype, ranks):
    rng = np.random.default_rng(0)
    a = T.tensor(dtype, shape=(None,) * ranks[0], name="a")
    b = T.tensor(dtype, shape=(None,) * ranks[1], name="b")
    f = th.function([a, b], T.dot(a, b), mode=C_RAW)
    assert compiled_ops(f) == ["Dot"]
    tol = 1e-5 if dtype == "float32" else 1e-12
    for m, k, n in SHAPES:
        if (ranks[0] == 1 and m != 1) or (ranks[1] == 1 and n != 1):
            continue
        av = rng.normal(size=(m, k)[2 - ranks[0]:]).astype(dtype)
        bv = rng.normal(size=(k, n)[: ranks[1]]).astype(dtype)
        for la, lb in itertools.product(LAYOUTS, LAYOUTS):
            x, y = layout(av, la), layout(bv, lb)
            got = f(x, y)
            want = np.dot(x, y)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{la} {lb}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_rewritten_to_gemm_gemv_ger_over_layouts(dtype):
    """The rewritten products (gemm for matrices, gemv with a vector, ger for an outer
    product) on operands of every layout, including transposes in the graph."""
    rng = np.random.default_rng(1)
    A, B = T.tensor(dtype, (None, None), "A"), T.tensor(dtype, (None, None), "B")
    v, w = T.tensor(dtype, (None,), "v"), T.tensor(dtype, (None,), "w")
    cases = [([A, B], T.dot(A, B), "Gemm"), ([A, B], T.dot(A.T, B), "Gemm"),
             ([A, B], T.dot(A, B.T), "Gemm"), ([A, v], T.dot(A, v), "Gemv"),
             ([A, v], T.dot(v, A), "Gemv"), ([A, v], T.dot(A.T, v), "Gemv"),
             ([v, w], T.outer(v, w), "Ger")]
    for inputs, out, op in cases:
        f_c = th.function(inputs, out, mode=C)
        f_py = th.function(inputs, out, mode="PY")
        assert op in compiled_ops(f_c), (op, compiled_ops(f_c))
        for size in (0, 1, 6):
            vals = [rng.normal(size=(size, size)[: i.ndim]).astype(dtype) for i in inputs]
            for lays in itertools.product(LAYOUTS, repeat=len(vals)):
                args = [layout(x, how) for x, how in zip(vals, lays)]
                close(f_c(*args), f_py(*args), f"{out} {lays} {size}")


def test_dot_mixed_dtypes_cast_like_numpy_and_integers_stay_on_perform():
    rng = np.random.default_rng(2)
    for da, db in [("float32", "float64"), ("int32", "float64"), ("int64", "float32"),
                   ("bool", "float32")]:
        a, b = T.tensor(da, (None, None), "a"), T.tensor(db, (None,), "b")
        av = (rng.normal(size=(4, 3)) * 5).astype(da)
        bv = rng.normal(size=3).astype(db)
        got = check([a, b], T.dot(a, b), [av, bv], expect="Dot")
        close(got, np.dot(av, bv))
    a, b = T.lmatrix("a"), T.lmatrix("b")
    f = th.function([a, b], T.dot(a, b), mode=C)
    assert "Dot" not in compiled_ops(f)
    av = rng.integers(-5, 5, size=(3, 4))
    np.testing.assert_array_equal(f(av, av.T), np.dot(av, av.T))


def test_big_endian_and_misaligned_inputs_are_handled():
    """A byte-swapped operand is converted; a misaligned one runs the reference."""
    rng = np.random.default_rng(3)
    A, B = T.dmatrix("A"), T.dmatrix("B")
    av, bv = rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    check([A, B], T.dot(A, B), [av.astype(">f8"), bv], expect="Dot")
    check([A, B], T.dot(A, B), [av.astype(">f8"), bv], mode=C, ref_mode="PY", expect="Gemm")
    raw = np.zeros(av.nbytes + 1, np.uint8)
    misaligned = raw[1:].view(np.float64).reshape(av.shape)
    misaligned[...] = av
    assert not misaligned.flags.aligned
    check([A, B], T.dot(A, B), [misaligned, bv], expect="Dot")
    check([A, B], T.dot(A, B), [misaligned, bv], mode=C, ref_mode="PY", expect="Gemm")


def test_mismatched_shapes_raise_the_reference_error():
    A, B, v = T.dmatrix("A"), T.dmatrix("B"), T.dvector("v")
    for inputs, out, args in [([A, B], T.dot(A, B), [np.ones((2, 3)), np.ones((4, 2))]),
                              ([A, v], T.dot(A, v), [np.ones((2, 3)), np.ones(4)])]:
        for mode in (C, C_RAW):
            with pytest.raises(ValueError, match="inner dimensions"):
                th.function(inputs, out, mode=mode)(*args)


# -- Gemm, Gemv, Ger: added terms, broadcasting and IEEE semantics -------------------------

def _gemm_graph(dtype, c_shape):
    Cv = T.tensor(dtype, c_shape, "C")
    A, B = T.tensor(dtype, (None, None), "A"), T.tensor(dtype, (None, None), "B")
    alpha, beta = T.tensor(dtype, (), "alpha"), T.tensor(dtype, (), "beta")
    return [Cv, alpha, A, B, beta], gemm(Cv, alpha, A, B, beta)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("c_static", [(None, None), (1, None), (None, 1), (1, 1)], ids=str)
def test_gemm_broadcast_terms_layouts_and_sizes(dtype, c_static):
    rng = np.random.default_rng(4)
    inputs, out = _gemm_graph(dtype, c_static)
    f_c, f_py = th.function(inputs, out, mode=C_RAW), th.function(inputs, out, mode=PY_RAW)
    assert compiled_ops(f_c) == ["Gemm"]
    s = np.asarray
    for (m, k, n), (al, be) in itertools.product(
            [(3, 4, 5), (0, 4, 5), (3, 0, 5), (3, 4, 0), (1, 4, 1), (6, 1, 2), (20, 30, 10)],
            [(1.0, 0.0), (-0.5, 1.0), (2.0, -3.0), (0.0, 1.0)]):
        c_shape = tuple(1 if st == 1 else d for st, d in zip(c_static, (m, n)))
        vals = [rng.normal(size=c_shape), rng.normal(size=(m, k)), rng.normal(size=(k, n))]
        vals = [v.astype(dtype) for v in vals]
        for lays in layout_triples():
            cv, av, bv = (layout(v, how) for v, how in zip(vals, lays))
            args = [cv, s(al, dtype), av, bv, s(be, dtype)]
            close(f_c(*args), f_py(*args), f"{(m, k, n)} {lays} {al} {be}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_ieee_cases_follow_the_formula_not_blas(dtype):
    """beta == 0 with inf/NaN in C gives NaN there (BLAS would skip C); alpha == 0
    with inf in A gives NaN (BLAS would skip the product); an empty inner
    dimension with alpha == inf gives NaN (inf * 0)."""
    inputs, out = _gemm_graph(dtype, (None, None))
    f_c, f_py = th.function(inputs, out, mode=C_RAW), th.function(inputs, out, mode=PY_RAW)
    rng = np.random.default_rng(5)
    s = np.asarray
    A, B = rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=(3, 5)).astype(dtype)
    Cv = rng.normal(size=(4, 5)).astype(dtype)
    Cv[1, 2], Cv[3, 0], Cv[0, 4] = np.inf, np.nan, -np.inf
    got = f_c(Cv, s(1, dtype), A, B, s(0, dtype))
    close(got, f_py(Cv, s(1, dtype), A, B, s(0, dtype)))
    assert np.isnan(got[1, 2]) and np.isnan(got[3, 0]) and np.isnan(got[0, 4])
    assert np.isfinite(np.delete(got.ravel(), [1 * 5 + 2, 3 * 5 + 0, 4])).all()
    A_inf = A.copy()
    A_inf[2, 1] = np.inf
    clean = rng.normal(size=(4, 5)).astype(dtype)
    got = f_c(clean, s(0, dtype), A_inf, B, s(1, dtype))
    close(got, f_py(clean, s(0, dtype), A_inf, B, s(1, dtype)))
    assert np.isnan(got[2]).all() and np.isfinite(np.delete(got, 2, axis=0)).all()
    empty_a, empty_b = np.zeros((4, 0), dtype), np.zeros((0, 5), dtype)
    for al, be in [(np.inf, 1.0), (np.nan, 0.0), (1.0, np.inf), (2.0, np.nan)]:
        for a_, b_ in [(empty_a, empty_b), (A, B), (A_inf, B)]:
            args = [Cv, s(al, dtype), a_, b_, s(be, dtype)]
            close(f_c(*args), f_py(*args), f"alpha={al} beta={be} k={a_.shape[1]}")


def test_gemm_from_the_rewrites_keeps_inf_in_the_term():
    """The graph a user writes: 0 * C + dot(A, B) with inf in C is NaN there."""
    A, B, Cm = T.dmatrix("A"), T.dmatrix("B"), T.dmatrix("C")
    out = T.dot(A, B) + 0.0 * Cm
    rng = np.random.default_rng(6)
    Cv = rng.normal(size=(3, 3))
    Cv[0, 0] = np.inf
    got = check([A, B, Cm], out, [rng.normal(size=(3, 2)), rng.normal(size=(2, 3)), Cv],
                mode=C, ref_mode="PY")
    assert np.isnan(got[0, 0]) and np.isfinite(got.ravel()[1:]).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("y_static", [None, 1], ids=["y", "y-broadcast"])
def test_gemv_terms_layouts_sizes_and_ieee(dtype, y_static):
    rng = np.random.default_rng(7)
    y = T.tensor(dtype, (y_static,), "y")
    A, x = T.tensor(dtype, (None, None), "A"), T.tensor(dtype, (None,), "x")
    alpha, beta = T.tensor(dtype, (), "alpha"), T.tensor(dtype, (), "beta")
    inputs, out = [y, alpha, A, x, beta], gemv(y, alpha, A, x, beta)
    f_c, f_py = th.function(inputs, out, mode=C_RAW), th.function(inputs, out, mode=PY_RAW)
    assert compiled_ops(f_c) == ["Gemv"]
    s = np.asarray
    for (m, k), (al, be) in itertools.product(
            [(3, 4), (0, 4), (3, 0), (1, 5), (5, 1), (40, 30)],
            [(1.0, 0.0), (0.5, -1.0), (0.0, 1.0), (np.inf, 1.0), (1.0, np.nan)]):
        yv = rng.normal(size=(1 if y_static == 1 else m,)).astype(dtype)
        if yv.size:
            yv[0] = np.inf
        av, xv = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k,)).astype(dtype)
        for lays in layout_triples():
            yl, al_, xl = (layout(v, how) for v, how in zip((yv, av, xv), lays))
            args = [yl, s(al, dtype), al_, xl, s(be, dtype)]
            close(f_c(*args), f_py(*args), f"{(m, k)} {lays} {al} {be}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("a_static", [(None, None), (1, None), (None, 1), (1, 1)], ids=str)
def test_ger_terms_layouts_sizes_and_ieee(dtype, a_static):
    rng = np.random.default_rng(8)
    A = T.tensor(dtype, a_static, "A")
    x, y = T.tensor(dtype, (None,), "x"), T.tensor(dtype, (None,), "y")
    alpha = T.tensor(dtype, (), "alpha")
    inputs, out = [A, alpha, x, y], ger(A, alpha, x, y)
    f_c, f_py = th.function(inputs, out, mode=C_RAW), th.function(inputs, out, mode=PY_RAW)
    assert compiled_ops(f_c) == ["Ger"]
    s = np.asarray
    for (m, n), al in itertools.product([(3, 4), (0, 4), (3, 0), (1, 1), (30, 20)],
                                        [1.0, -0.25, 0.0, np.inf]):
        a_shape = tuple(1 if st == 1 else d for st, d in zip(a_static, (m, n)))
        av = rng.normal(size=a_shape).astype(dtype)
        xv, yv = rng.normal(size=m).astype(dtype), rng.normal(size=n).astype(dtype)
        if m > 1:
            xv[1] = np.inf  # with alpha == 0: NaN, which BLAS's ger would skip
        for lays in layout_triples():
            args = [layout(av, lays[0]), s(al, dtype), layout(xv, lays[1]),
                    layout(yv, lays[2])]
            close(f_c(*args), f_py(*args), f"{(m, n)} {lays} {al}")


# -- MatMul and TensorDot -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
def test_matmul_batches_broadcast_and_layouts(dtype):
    rng = np.random.default_rng(9)
    cases = [((None, None, None), (None, None, None), (3, 4, 5), (3, 5, 2)),
             ((1, None, None), (None, None, None), (1, 4, 5), (3, 5, 2)),
             ((None, None, None), (1, None, None), (3, 4, 1), (1, 1, 2)),
             ((None, 1, None, None), (1, None, None, None), (2, 1, 4, 5), (1, 3, 5, 6)),
             ((None, None, None), (None, None, None), (0, 4, 5), (0, 5, 2)),
             ((None, None, None), (None, None, None), (2, 0, 5), (2, 5, 3)),
             ((None, None, None), (None, None, None), (2, 3, 0), (2, 0, 3))]
    for sa, sb, shape_a, shape_b in cases:
        a, b = T.tensor(dtype, sa, "a"), T.tensor(dtype, sb, "b")
        out = T.matmul(a, b)
        av = rng.normal(size=shape_a).astype(dtype)
        bv = rng.normal(size=shape_b).astype(dtype)
        for la, lb in itertools.product(LAYOUTS, repeat=2):
            got = check([a, b], out, [layout(av, la), layout(bv, lb)], expect="MatMul")
            close(got, np.matmul(layout(av, la), layout(bv, lb)))


def test_matmul_batch_mismatch_raises_the_reference_error():
    a, b = T.dtensor3("a"), T.dtensor3("b")
    f = th.function([a, b], T.matmul(a, b), mode=C_RAW)
    with pytest.raises(ValueError, match="batch dimension"):
        f(np.ones((2, 3, 4)), np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="static size is 1"):
        f(np.ones((1, 3, 4)), np.ones((3, 4, 5)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_tensordot_axes_and_layouts(dtype):
    rng = np.random.default_rng(10)
    cases = [((3, 4, 5), (5, 2), [[2], [0]]), ((3, 4, 5), (4, 3, 2), [[0, 1], [1, 0]]),
             ((3, 4), (5, 6), [[], []]), ((3, 4, 5), (3, 4, 5), [[0, 1, 2], [0, 1, 2]]),
             ((2, 0, 3), (3, 4), [[2], [0]]), ((2, 0, 3), (0, 4), [[1], [0]]),
             ((4, 3, 2, 2), (2, 3, 5), [[1, 3], [1, 0]])]
    for shape_a, shape_b, axes in cases:
        a = T.tensor(dtype, (None,) * len(shape_a), "a")
        b = T.tensor(dtype, (None,) * len(shape_b), "b")
        out = T.tensordot(a, b, axes)
        op = type(out.owner.op).__name__ if out.owner else None
        av = rng.normal(size=shape_a).astype(dtype)
        bv = rng.normal(size=shape_b).astype(dtype)
        for la, lb in itertools.product(LAYOUTS, repeat=2):
            x, y = layout(av, la), layout(bv, lb)
            got = check([a, b], out, [x, y], expect=op)
            close(got, np.tensordot(x, y, axes), f"{shape_a} {shape_b} {axes}")


# -- a whole training step, and the library ------------------------------------------------

def test_mlp_training_step_runs_its_products_through_blas():
    """The tutorial network's SGD step: every product compiled, values as the reference."""
    rng = np.random.default_rng(11)
    N, D_in, H, D_out = 16, 30, 20, 5
    x, y = T.dmatrix("x"), T.dmatrix("y")
    w1_0, w2_0 = rng.normal(size=(D_in, H)), rng.normal(size=(H, D_out))
    xv, yv = rng.normal(size=(N, D_in)), rng.normal(size=(N, D_out))
    results = {}
    for mode in ("C", "PY"):
        w1, w2 = th.shared(w1_0.copy(), name="w1"), th.shared(w2_0.copy(), name="w2")
        loss = T.sum((T.dot(T.nnet.relu(T.dot(x, w1)), w2) - y) ** 2)
        g1, g2 = T.grad(loss, [w1, w2])
        train = th.function([x, y], loss, mode=mode,
                            updates=[(w1, w1 - 1e-3 * g1), (w2, w2 - 1e-3 * g2)])
        if mode == "C":
            products = [type(n.op).__name__ for n in train.fgraph.apply_nodes
                        if type(n.op).__name__ in ("Dot", "Gemm", "Gemv", "Ger")]
            assert products and all(p in compiled_ops(train) for p in products)
        losses = [train(xv, yv) for _ in range(5)]
        results[mode] = (losses, w1.get_value(), w2.get_value())
    for got, want in zip(results["C"], results["PY"]):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_thread_count_can_be_pinned():
    before = blas.get_num_threads()
    try:
        blas.set_num_threads(1)
        assert blas.get_num_threads() == 1
    finally:
        blas.set_num_threads(before)
    assert blas.get_num_threads() == before


def test_kernel_source_names_the_library_and_nothing_of_the_user():
    source = blas.source()
    assert blas.openblas()["prefix"] in source and '#include "blas.h"' in source
    assert len(source.splitlines()) == 3
