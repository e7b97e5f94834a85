"""The native entries of products (codegen/c/blas_emit.py, runtime/blas_node.h):
Dot, TensorDot, MatMul, Gemm, Gemv and Ger run in the program runner and equal
NumPy over ranks, memory layouts (negative and zero strides, Fortran order,
padded rows), casts of integer, bool and float32 operands, broadcast added
terms and batches; shapes that do not fit raise the reference's errors,
integer products stay on the reference, and without the runner the same
entries give the same bits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from symtheano.codegen.c import blas, build, vm

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.blas import Dot, MatMul, TensorDot
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger, gemm
from tests.codegen.test_c_blas import LAYOUTS, close, layout

try:
    build.compiler()
    blas.library()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)
except blas.BlasUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no BLAS: {exc}", allow_module_level=True)
if not vm.available():  # pragma: no cover - depends on the machine
    pytest.skip("no program runner (Python headers) here", allow_module_level=True)

C_RAW = Mode(linker="c", optimizer=None)  # the graph as built
PRODUCTS = (Dot, TensorDot, MatMul, Gemm, Gemv, Ger)


def _no_fallback(self, node, inputs, output_storage):
    raise AssertionError(f"{self}: the native entry declined a call it should serve")


def strict(inputs, outputs, mode="C"):
    """The function compiled while the products' reference performs raise, so a
    call its native entries decline fails instead of falling back."""
    with pytest.MonkeyPatch.context() as patch:
        for cls in PRODUCTS:
            patch.setattr(cls, "perform", _no_fallback)
        return th.function(inputs, outputs, mode=mode)


def operand(rng, dtype, shape):
    """Random values of `dtype`; integers over much of their range (beyond what a
    narrower type holds), so that a cast reading the wrong width shows."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -(2**33)), min(info.max, 2**33)
        return rng.integers(lo, hi, shape, endpoint=True).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def native_products(f):
    return sorted(type(n.op).__name__ for n in f.program.native_nodes()
                  if isinstance(n.op, PRODUCTS))


def all_products(f):
    return sorted(type(n.op).__name__ for n in f.fgraph.apply_nodes
                  if isinstance(n.op, PRODUCTS))


@pytest.mark.parametrize("da, db", [("float64", "float64"), ("float32", "float32"),
                                    ("float32", "float64"), ("int32", "float64"),
                                    ("int64", "float32"), ("bool", "float32"),
                                    ("uint8", "float64"), ("int16", "float32")])
def test_dot_of_every_rank_and_operand_dtype_runs_natively(da, db):
    rng = np.random.default_rng(20)
    for ra, rb in itertools.product((1, 2), repeat=2):
        a = T.tensor(da, (None,) * ra, "a")
        b = T.tensor(db, (None,) * rb, "b")
        f = strict([a, b], T.dot(a, b), mode=C_RAW)
        assert native_products(f) == ["Dot"], f.program.kinds
        for m, k, n in [(3, 4, 5), (1, 6, 1), (9, 1, 7), (20, 33, 2), (2, 0, 3)]:
            if (ra == 1 and m != 1) or (rb == 1 and n != 1):
                continue
            av = operand(rng, da, (m, k)[2 - ra:])
            bv = operand(rng, db, (k, n)[:rb])
            for la, lb in itertools.product(LAYOUTS, repeat=2):
                x, y = layout(av, la), layout(bv, lb)
                close(f(x, y), np.dot(x, y), f"{da} {db} {(m, k, n)} {la} {lb}")


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "uint32"])
def test_tensordot_and_matmul_run_natively(dtype):
    rng = np.random.default_rng(21)
    for sa, sb, axes in [((3, 4, 5), (5, 2), [[2], [0]]), ((3, 4, 5), (4, 3, 2), [[0, 1], [1, 0]]),
                         ((3, 4), (5, 6), [[], []]), ((2, 1, 3), (3, 1, 4), [[2, 1], [0, 1]]),
                         ((4, 3, 2, 2), (2, 3, 5), [[1, 3], [1, 0]])]:
        a = T.tensor(dtype, (None,) * len(sa), "a")
        b = T.tensor("float32", (None,) * len(sb), "b")
        f = strict([a, b], T.tensordot(a, b, axes), mode=C_RAW)
        assert native_products(f) == ["TensorDot"], f.program.kinds
        av, bv = operand(rng, dtype, sa), operand(rng, "float32", sb)
        for la, lb in itertools.product(LAYOUTS, repeat=2):
            x, y = layout(av, la), layout(bv, lb)
            close(f(x, y), np.tensordot(x, y, axes), f"{sa} {sb} {axes} {la} {lb}")
    for sa, sb, va, vb in [((None,) * 3, (None,) * 3, (3, 4, 5), (3, 5, 2)),
                           ((1, None, None), (None,) * 3, (1, 4, 5), (3, 5, 2)),
                           ((None, 1, None, None), (1, None, None, None), (2, 1, 4, 5),
                            (1, 3, 5, 6)),
                           ((None,) * 3, (None,) * 3, (0, 4, 5), (0, 5, 2))]:
        a, b = T.tensor(dtype, sa, "a"), T.tensor("float32", sb, "b")
        f = strict([a, b], T.matmul(a, b), mode=C_RAW)
        assert native_products(f) == ["MatMul"], f.program.kinds
        av, bv = operand(rng, dtype, va), operand(rng, "float32", vb)
        for la, lb in itertools.product(LAYOUTS, repeat=2):
            x, y = layout(av, la), layout(bv, lb)
            close(f(x, y), np.matmul(x, y), f"{va} {vb} {la} {lb}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rewritten_products_run_natively(dtype):
    """gemm, gemv and ger as the rewrites make them: bias rows, scaled terms."""
    rng = np.random.default_rng(22)
    A, B = T.tensor(dtype, (None, None), "A"), T.tensor(dtype, (None, None), "B")
    v, w = T.tensor(dtype, (None,), "v"), T.tensor(dtype, (None,), "w")
    r = T.tensor(dtype, (1, None), "r")
    cases = [([A, B], T.dot(A, B), "Gemm"), ([A, B, r], T.dot(A, B.T) + r, "Gemm"),
             ([A, B], 2 * T.dot(A.T, B) - B, "Gemm"), ([A, v], T.dot(A, v), "Gemv"),
             ([A, v], T.dot(v, A) * 3 + v, "Gemv"), ([v, w], T.outer(v, w), "Ger"),
             ([A, v, w], A - 0.5 * T.outer(v, w), "Ger")]
    for inputs, out, op in cases:
        f_c, f_py = strict(inputs, out), th.function(inputs, out, mode="PY")
        assert all_products(f_c) == [op] and native_products(f_c) == [op], all_products(f_c)
        for size in (1, 7, 30):
            vals = [rng.normal(size=(1, size) if i is r else (size, size)[:i.ndim]).astype(dtype)
                    for i in inputs]
            for lays in itertools.product(LAYOUTS, repeat=len(vals)):
                args = [layout(x, how) for x, how in zip(vals, lays)]
                close(f_c(*args), f_py(*args), f"{out} {size} {lays}")


def test_gemm_term_and_scalars_follow_the_reference_formula():
    Cv, A, B = T.dmatrix("C"), T.dmatrix("A"), T.dmatrix("B")
    alpha, beta = T.dscalar("alpha"), T.dscalar("beta")
    out = gemm(Cv, alpha, A, B, beta)
    f_c = strict([Cv, alpha, A, B, beta], out, mode=C_RAW)
    f_py = th.function([Cv, alpha, A, B, beta], out, mode=Mode(linker="py", optimizer=None))
    assert native_products(f_c) == ["Gemm"]
    rng = np.random.default_rng(23)
    c, a, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    c[1, 1], c[2, 3] = np.inf, np.nan
    for al, be in [(1.0, 0.0), (0.0, 1.0), (-2.0, 0.5), (np.inf, 1.0)]:
        args = [c, np.asarray(al), a, b, np.asarray(be)]
        got = f_c(*args)
        close(got, f_py(*args), f"{al} {be}")
        if be == 0.0:  # beta * inf is NaN, as in the formula (BLAS would skip C)
            assert np.isnan(got[1, 1]) and np.isnan(got[2, 3])


def test_shapes_that_do_not_fit_raise_the_reference_errors():
    A, B, v = T.dmatrix("A"), T.dmatrix("B"), T.dvector("v")
    a3, b3 = T.dtensor3("a3"), T.dtensor3("b3")
    cases = [([A, B], T.dot(A, B), [np.ones((2, 3)), np.ones((4, 2))], "inner dimensions"),
             ([A, v], T.dot(A, v), [np.ones((2, 3)), np.ones(4)], "inner dimensions"),
             ([a3, b3], T.matmul(a3, b3), [np.ones((2, 3, 4)), np.ones((3, 4, 5))],
              "batch dimension"),
             ([a3, b3], T.matmul(a3, b3), [np.ones((1, 3, 4)), np.ones((3, 4, 5))],
              "static size is 1"),
             ([a3, B], T.tensordot(a3, B, [[2], [0]]), [np.ones((2, 3, 4)), np.ones((5, 2))],
              "inner dimensions")]
    for inputs, out, args, message in cases:
        for mode in ("C", C_RAW):
            f = th.function(inputs, out, mode=mode)
            assert native_products(f), f.program.kinds
            with pytest.raises(ValueError, match=message):
                f(*args)
    Cr = T.dmatrix("Cr")  # an added term of size 1 not declared broadcastable
    f = th.function([Cr, A, B], T.dot(A, B) + Cr, mode="C")
    assert native_products(f) == ["Gemm"]
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones((1, 2)), np.ones((3, 4)), np.ones((4, 2)))


def test_integer_products_stay_on_the_reference():
    a, b = T.lmatrix("a"), T.imatrix("b")
    f = th.function([a, b], T.dot(a, b), mode=C_RAW)
    assert native_products(f) == [] and all_products(f) == ["Dot"]
    av, bv = np.arange(12).reshape(3, 4), np.arange(8, dtype="int32").reshape(4, 2)
    np.testing.assert_array_equal(f(av, bv), np.dot(av, bv))


def test_without_the_runner_the_same_entries_give_the_same_bits(monkeypatch):
    rng = np.random.default_rng(24)
    A, B, I = T.dmatrix("A"), T.dmatrix("B"), T.imatrix("I")
    v, r = T.dvector("v"), T.drow("r")
    outs = [T.dot(A, B) + r, T.dot(A, v), T.outer(v, v) + A, T.dot(I, B)]
    native = th.function([A, B, I, v, r], outs, mode="C")
    assert native_products(native) == ["Dot", "Gemm", "Gemv", "Ger"]
    monkeypatch.setattr(vm, "available", lambda: False)
    stepwise = th.function([A, B, I, v, r], outs, mode="C")
    assert sorted(type(n.op).__name__ for n in stepwise.program.compiled_nodes()
                  if isinstance(n.op, PRODUCTS)) == ["Dot", "Gemm", "Gemv", "Ger"]
    n = 9
    vals = [rng.normal(size=(n, n)), rng.normal(size=(n, n)),
            rng.integers(-9, 9, size=(n, n)).astype("int32"), rng.normal(size=n),
            rng.normal(size=(1, n))]
    for lays in [("c",) * 5, ("f", "reversed", "strided", "reversed", "c"),
                 ("zero-stride", "padded", "f", "strided", "c")]:
        args = [layout(x, how) for x, how in zip(vals, lays)]
        for got, want in zip(native(*args), stepwise(*args)):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want, err_msg=str(lays))


# -- the inplace variants: the result written into the added term ---------------------------------

def _inplace_entry(op, dtype):
    from symtheano.codegen.c import node_call
    from symtheano.codegen.c.blas_emit import product_entry

    names = {"Gemm": ("C", 2, "A", 2, "B", 2), "Gemv": ("y", 1, "A", 2, "x", 1),
             "Ger": ("A", 2, "x", 1, "y", 1)}[op]
    term, a, b = (T.tensor(dtype, (None,) * names[i + 1], names[i]) for i in (0, 2, 4))
    alpha, beta = T.tensor(dtype, (), "alpha"), T.tensor(dtype, (), "beta")
    cls = {"Gemm": Gemm, "Gemv": Gemv, "Ger": Ger}[op]
    args = (term, alpha, a, b, beta) if op != "Ger" else (term, alpha, a, b)
    node = cls(inplace=True)(*args).owner
    entry = product_entry(node)
    assert entry is not None and tuple(entry[1])[-1] == 1
    return node, node_call.entry_perform(node, *entry)


def _term_in(values, how):
    """`values` in a writable array laid out as `how`; "overlapping" puts two rows
    on the same memory (zero stride), so it must never be written in place."""
    if how == "overlapping":
        base = np.array(values[:1], copy=True)
        return np.lib.stride_tricks.as_strided(base, values.shape,
                                               (0,) + base.strides[1:], writeable=True)
    return layout(values, how)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("op", ["Gemm", "Gemv", "Ger"])
def test_inplace_entries_write_into_the_term_where_they_may(op, dtype):
    node, perform = _inplace_entry(op, dtype)
    rng = np.random.default_rng(31)
    shapes = [(5, 4, 6), (1, 3, 4), (4, 1, 5), (4, 3, 1), (0, 3, 2), (4, 0, 3), (7, 9, 8)]
    scalars = [(1.0, 1.0), (-1e-3, 1.0), (0.5, -2.0), (0.0, 1.0), (1.0, 0.0), (np.inf, 1.0)]
    k = 0
    for (m, kk, n), how in itertools.product(shapes, ("c", "f", "strided", "reversed",
                                                      "padded", "overlapping")):
        al, be = scalars[k % len(scalars)]
        k += 1
        if op == "Gemm":
            term, a, b = (rng.normal(size=s).astype(dtype) for s in ((m, n), (m, kk), (kk, n)))
        elif op == "Gemv":
            term, a, b = (rng.normal(size=s).astype(dtype) for s in ((m,), (m, kk), (kk,)))
        else:
            term, a, b = (rng.normal(size=s).astype(dtype) for s in ((m, n), (m,), (n,)))
        if term.size > 1 and how != "overlapping":
            term.flat[0], term.flat[-1] = np.nan, np.inf
        t = _term_in(term, how) if term.ndim == 2 or how != "overlapping" else layout(term, "c")
        scal = [np.asarray(al, dtype), np.asarray(be, dtype)]
        inputs = [t, scal[0], a, b, scal[1]] if op != "Ger" else [t, scal[0], a, b]
        copies = [np.array(v, copy=True) for v in inputs]
        want = [[None]]
        node.op.with_inplace(False).perform(node, copies, want)
        storage = [[None]]
        perform(node, inputs, storage)
        got = storage[0][0]
        label = f"{op} {dtype} {(m, kk, n)} {how} alpha={al} beta={be}"
        close(got, want[0][0], label)
        writable = all(s != 0 or n <= 1 for s, n in zip(t.strides, t.shape))
        if not t.size:
            continue                          # nothing to write: either answer is right
        if writable:
            assert got is t, label            # written in place: the output is the term
        else:
            assert got is not t, label
            np.testing.assert_array_equal(t, copies[0], err_msg=label)


def test_inplace_entry_leaves_a_term_sharing_memory_with_an_operand():
    node, perform = _inplace_entry("Gemm", "float64")
    rng = np.random.default_rng(32)
    big = rng.normal(size=(4, 8))
    c, a, b = big[:, 2:6], big[:, 0:4], rng.normal(size=(4, 4))   # C overlaps A
    before = c.copy()
    want = 0.5 * (a @ b) + 2.0 * c
    storage = [[None]]
    perform(node, [c, np.asarray(0.5), a, b, np.asarray(2.0)], storage)
    close(storage[0][0], want)
    assert storage[0][0] is not c
    np.testing.assert_array_equal(c, before)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_weight_update_in_place_through_the_runner(dtype, order):
    """W <- W - lr * X^T G on storage of either memory order, natively, over steps."""
    rng = np.random.default_rng(33)
    X, G = T.tensor(dtype, (None, None), "X"), T.tensor(dtype, (None, None), "G")
    w0 = rng.normal(size=(20, 7)).astype(dtype)
    W = th.shared(np.array(w0, order=order), name="W")
    lr = T.constant(np.asarray(0.01, dtype))
    f = th.function([X, G], [], updates=[(W, W - lr * T.dot(X.T, G))])
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Gemm)]
    assert node.op.inplace and native_products(f) == ["Gemm"]
    x, g = rng.normal(size=(9, 20)).astype(dtype), rng.normal(size=(9, 7)).astype(dtype)
    want = w0
    address = W.get_value(borrow=True).__array_interface__["data"][0]
    for _ in range(3):
        f(x, g)
        want = (want - np.asarray(0.01, dtype) * (x.T @ g)).astype(dtype)
        close(W.get_value(), want)
        stored = W.get_value(borrow=True)
        assert stored.__array_interface__["data"][0] == address
        assert stored.flags[order + "_CONTIGUOUS"]
        del stored
