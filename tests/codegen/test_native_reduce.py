"""The native entries of reductions (codegen/c/reduce_emit.py, runtime/reduce_node.h)
and the Python caller of node entries (codegen/c/node_call.py): every kind runs
in the program runner, and equals NumPy (exactly where it is documented to:
extrema, indices, logical and integer reductions, contiguous sums) over axes,
keepdims, negative strides, Fortran order, zero strides, broadcast inputs of a
fused reduction, integer dtypes; empty arrays and undeclared broadcasting go
to the reference; without the runner the same entries give the same bits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from symtheano.codegen.c import build, node_call, vm
from symtheano.codegen.c.linker import native_entry

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.composite import FusedReduce
from symtheano.tensor.reduce import All, Any, Argmax, Argmin, Max, Min, Prod, Reduce, Sum

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)
if not vm.available():  # pragma: no cover - depends on the machine
    pytest.skip("no program runner (Python headers) here", allow_module_level=True)

REDUCTIONS = {"sum": T.sum, "prod": T.prod, "max": T.max, "min": T.min, "all": T.all,
              "any": T.any, "argmax": T.argmax, "argmin": T.argmin}
NUMPY = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "all": np.all,
         "any": np.any, "argmax": np.argmax, "argmin": np.argmin}
EXACT = ("max", "min", "all", "any", "argmax", "argmin")
REDUCTION_OPS = (Sum, Prod, Max, Min, All, Any, Argmax, Argmin, FusedReduce)


def _no_fallback(self, node, inputs, output_storage):
    raise AssertionError(f"{self}: the native entry declined a call it should serve")


def strict(inputs, outputs):
    """The function compiled (mode="C") while the reductions' reference performs
    raise, so a call its native entries decline fails instead of falling back."""
    with pytest.MonkeyPatch.context() as patch:
        for cls in REDUCTION_OPS:
            patch.setattr(cls, "perform", _no_fallback)
        return th.function(inputs, outputs, mode="C")


def native_reductions(f):
    return [n for n in f.program.native_nodes()
            if isinstance(n.op, Reduce | Argmax | FusedReduce)]


def layouts(a):
    """`a` in C order, reversed in every dimension, spaced inside a larger buffer,
    in Fortran order, and (same values along axis 0) with a zero stride there."""
    yield "c", a
    flip = tuple(slice(None, None, -1) for _ in a.shape)
    yield "reversed", np.ascontiguousarray(a[flip])[flip]
    big = np.zeros(tuple(2 * n + 1 for n in a.shape), a.dtype)
    spaced = big[tuple(slice(1, None, 2) for _ in a.shape)]
    spaced[...] = a
    yield "spaced", spaced
    yield "fortran", np.asfortranarray(a)
    yield "zero-stride", np.broadcast_to(a[:1], a.shape)


def values(rng, name, dtype, shape):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith(("int", "uint")):
        lo = 0 if dtype.startswith("uint") else -50
        return rng.integers(lo, 50, shape).astype(dtype)
    if name in EXACT:
        x = rng.standard_normal(shape)
        x = np.round(x * 4) / 4  # ties: the first in C order wins
    else:  # no cancellation: sums and products are well posed
        x = rng.uniform(0.9, 1.1, shape) if name == "prod" else rng.uniform(0.5, 2.0, shape)
    return x.astype(dtype)


def expect(name, a, axis, dtype):
    if name.startswith("arg"):
        return NUMPY[name](a, axis=axis)
    if name in ("sum", "prod"):
        return np.asarray(NUMPY[name](a, axis=axis, dtype=dtype))
    return np.asarray(NUMPY[name](a, axis=axis))


def agree(got, want, exact, label, rtol=None):
    assert got.dtype == want.dtype and got.shape == want.shape, label
    if exact or got.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=label)
    else:
        rtol = rtol or (1e-5 if got.dtype == np.float32 else 1e-13)
        np.testing.assert_allclose(got, want, rtol=rtol, err_msg=label)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int8", "uint16", "bool"])
def test_every_reduction_runs_natively_and_matches_numpy(name, dtype):
    rng = np.random.default_rng(11)
    shape = (7, 130, 3)
    x = T.tensor(dtype, (None,) * 3, "x")
    axes = [None, 0, 1, 2]
    if not name.startswith("arg"):
        axes += [(0, 1), (0, 2), (1, 2)]
    for axis in axes:
        out = REDUCTIONS[name](x, axis=axis)
        f = strict([x], out)
        assert len(native_reductions(f)) == 1, f.program.kinds
        for how, a in layouts(values(rng, name, dtype, shape)):
            agree(f(a), expect(name, a, axis, out.dtype), name in EXACT,
                  f"{name} {dtype} axis={axis} {how}")


def test_keepdims_patterns_and_the_output_shapes():
    rng = np.random.default_rng(12)
    x = T.dtensor3("x")
    a = rng.standard_normal((4, 5, 6))
    for axis in (None, 0, 2, (0, 2), (1, 2)):
        outs = [T.max(x, axis=axis, keepdims=True), T.sum(x, axis=axis, keepdims=True),
                T.any(x > 0, axis=axis, keepdims=True)]
        f = strict([x], outs)
        assert len(native_reductions(f)) == 3
        for how, v in layouts(a):
            got = f(v)
            agree(got[0], np.max(v, axis=axis, keepdims=True), True, f"max {axis} {how}")
            agree(got[1], np.sum(v, axis=axis, keepdims=True), False, f"sum {axis} {how}")
            agree(got[2], np.any(v > 0, axis=axis, keepdims=True), True, f"any {axis} {how}")


def test_argmax_counts_in_c_order_whatever_the_memory_order():
    x = T.dmatrix("x")
    f = strict([x], [T.argmax(x), T.argmin(x, axis=0), T.argmax(x, axis=1)])
    assert len(native_reductions(f)) == 3
    a = np.zeros((6, 140))
    a[1, 7] = a[3, 2] = a[5, 139] = 5.0    # tie: (1, 7) first in C order
    a[2, 100] = a[4, 100] = -3.0
    a[0, 50] = np.nan                       # NaN wins, as in NumPy
    for how, v in layouts(a):
        for got, want in zip(f(v), [np.argmax(v), np.argmin(v, axis=0), np.argmax(v, axis=1)]):
            np.testing.assert_array_equal(got, want, err_msg=how)


def test_contiguous_float_sums_are_bit_identical_to_numpy():
    rng = np.random.default_rng(13)
    x, X = T.fvector("x"), T.dmatrix("X")
    f, rows, cols = strict([x], T.sum(x)), strict([X], T.sum(X, axis=1)), strict(
        [X], T.sum(X, axis=0))
    for g in (f, rows, cols):
        assert len(native_reductions(g)) == 1
    for n in (1, 7, 9, 128, 129, 1000, 4099):
        v = (rng.standard_normal(n) * np.exp(rng.standard_normal(n) * 4)).astype("float32")
        assert f(v) == np.sum(v), n
        m = rng.standard_normal((5, n)) * 1e3
        np.testing.assert_array_equal(rows(m), m.sum(axis=1))
        m = rng.standard_normal((min(n, 128), 9))  # up to 128 rows: NumPy's order exactly
        np.testing.assert_array_equal(cols(m), m.sum(axis=0))


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "any", "all"])
def test_fused_reductions_with_broadcast_inputs_run_natively(name):
    X, r, c, s = T.dmatrix("X"), T.drow("r"), T.dcol("c"), T.dscalar("s")
    inner = T.tanh(X * r + c) - s
    if name in ("any", "all"):
        inner = inner > 0
    rng = np.random.default_rng(14)
    for axis in (None, 0, 1):
        f = strict([X, r, c, s], REDUCTIONS[name](inner, axis=axis))
        g = th.function([X, r, c, s], REDUCTIONS[name](inner, axis=axis), mode="PY")
        fused = native_reductions(f)
        assert len(fused) == 1 and isinstance(fused[0].op, FusedReduce)
        for shape in ((30, 140), (140, 30), (1, 9), (9, 1)):
            rv, cv = rng.standard_normal((1, shape[1])), rng.standard_normal((shape[0], 1))
            for how, a in layouts(rng.standard_normal(shape)):
                for args in ([a, rv, cv, 0.25], [a, rv[:, ::-1], cv[::-1], -0.5]):
                    # C's tanh may differ from NumPy's in the last bit (which a
                    # product of factors near 0 amplifies): not exact
                    agree(f(*args), g(*args), name in ("any", "all"),
                          f"{name} {axis} {shape} {how}", 1e-9 if name == "prod" else 1e-12)


def test_undeclared_broadcasting_raises_the_reference_error():
    X, Y = T.dmatrices("X", "Y")
    out = T.sum(T.exp(X) * Y, axis=0)
    f, g = th.function([X, Y], out, mode="C"), th.function([X, Y], out, mode="PY")
    assert len(native_reductions(f)) == 1
    a, b = np.ones((4, 3)), np.ones((1, 3))
    with pytest.raises(ValueError) as want:
        g(a, b)
    with pytest.raises(ValueError) as got:
        f(a, b)
    assert "declared broadcastable" in str(got.value) and str(got.value) == str(want.value)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        f(a, np.ones((2, 3)))


def test_empty_inputs_take_the_reference():
    x = T.dmatrix("x")
    outs = [T.sum(x, axis=0), T.prod(x, axis=0), T.all(x, axis=0), T.any(x), T.sum(x, axis=1),
            T.max(x, axis=1)]
    f = th.function([x], outs, mode="C")
    assert len(native_reductions(f)) == len(outs)
    got = f(np.zeros((0, 3)))
    for g, w in zip(got[:5], [np.zeros(3), np.ones(3), np.ones(3, bool), np.False_,
                              np.zeros(0)]):
        np.testing.assert_array_equal(g, w)
        assert g.shape == np.shape(w)
    assert got[5].shape == (0,)
    f_max = th.function([x], T.max(x, axis=0), mode="C")
    with pytest.raises(ValueError, match="has no identity"):
        f_max(np.zeros((0, 3)))


def test_more_dimensions_than_the_entries_take_run_on_the_reference(monkeypatch):
    # (node by node: the runner's argument specs stop at 32 dimensions too)
    monkeypatch.setattr(vm, "available", lambda: False)
    x = T.tensor("float64", (None,) * 33, "x")
    f = th.function([x], T.sum(x, axis=0), mode="C")
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, Reduce)]
    assert native_entry(node) is None
    a = np.arange(6.0).reshape((2, 3) + (1,) * 31)
    np.testing.assert_array_equal(f(a), a.sum(axis=0))


def test_without_the_runner_the_same_entries_give_the_same_bits(monkeypatch):
    rng = np.random.default_rng(15)
    X, r = T.dmatrix("X"), T.drow("r")
    outs = [T.sum(X, axis=0), T.sum(T.exp(X) * r, axis=1), T.prod(X), T.argmax(X, axis=0),
            T.max(X * r)]
    native = th.function([X, r], outs, mode="C")
    assert len(native_reductions(native)) == len(outs)
    monkeypatch.setattr(vm, "available", lambda: False)
    stepwise = th.function([X, r], outs, mode="C")
    assert not hasattr(stepwise.program, "native_nodes")
    compiled = stepwise.program.compiled_nodes()
    assert len([n for n in compiled if isinstance(n.op, Reduce | Argmax | FusedReduce)]) == 5
    for how, a in layouts(rng.standard_normal((150, 37))):
        rv = rng.standard_normal((1, 37))
        for got, want in zip(native(a, rv), stepwise(a, rv)):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want, err_msg=how)
    debug = th.function([X, r], outs, mode="DEBUG")  # compiled against the reference
    a = rng.standard_normal((20, 37))
    for got, want in zip(debug(a, rv), native(a, rv)):
        np.testing.assert_array_equal(got, want)
    swapped = a.astype(">f8")  # the entry cannot read it: the reference runs
    for got, want in zip(stepwise(swapped, rv), native(a, rv)):
        np.testing.assert_allclose(got, want, rtol=1e-13)


# -- node_call: the callbacks an entry may use ----------------------------------------------

_TEST_ENTRIES = r"""
#include "st_node.h"
/* output 0: input 0 transposed, as a view */
int st_view_t(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    st_tensor v = in[0];
    (void)n_in; (void)out;
    v.shape[0] = in[0].shape[1]; v.shape[1] = in[0].shape[0];
    v.strides[0] = in[0].strides[1]; v.strides[1] = in[0].strides[0];
    return ctx->view(ctx, 0, 0, &v);
}
/* output 0: input 0 itself, scaled by params[0] in place */
int st_reuse_scale(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    (void)in; (void)n_in;
    if (ctx->reuse(ctx, 0, 0, out)) return ST_ERROR;
    for (int64_t i = 0; i < out->shape[0]; i++)
        for (int64_t j = 0; j < out->shape[1]; j++)
            *(double *)(out->data + i * out->strides[0] + j * out->strides[1]) *= ctx->params[0];
    return ST_OK;
}
/* an output too large to allocate: the callback fails */
int st_huge(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t shape[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    (void)in; (void)n_in;
    return ctx->alloc(ctx, 0, 2, shape, out) ? ST_ERROR : ST_OK;
}
int st_decline(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    (void)ctx; (void)in; (void)n_in; (void)out;
    return ST_FALLBACK;
}
"""
_TEST_CDEF = "\n".join(f"int {n}(void *, void *, int64_t, void *);"
                       for n in ("st_view_t", "st_reuse_scale", "st_huge", "st_decline"))


def test_node_call_views_reuse_errors_and_fallback():
    ffi, lib = build.load(_TEST_ENTRIES, _TEST_CDEF, description="node_call test entries")
    x = T.dmatrix("x")
    node = (x.T).owner  # one float64 matrix in, one out

    def perform(name, params=()):
        return node_call.entry_perform(node, int(ffi.cast("uintptr_t", getattr(lib, name))),
                                       params)

    a = np.arange(12.0).reshape(3, 4)[:, ::-1]
    storage = [[None]]
    perform("st_view_t")(node, [a], storage)
    view = storage[0][0]
    assert np.shares_memory(view, a) and not view.flags.owndata
    np.testing.assert_array_equal(view, a.T)
    b = np.arange(6.0).reshape(2, 3)
    perform("st_reuse_scale", (3,))(node, [b], storage)
    assert storage[0][0] is b
    np.testing.assert_array_equal(b, 3 * np.arange(6.0).reshape(2, 3))
    with pytest.raises((MemoryError, ValueError)):
        perform("st_huge")(node, [b], storage)
    perform("st_decline")(node, [a], storage)  # the op's perform: a transposed view
    np.testing.assert_array_equal(storage[0][0], a.T)


def test_reduction_params_are_all_the_entry_needs():
    """Functions reducing the same expression over other axes share one library."""
    x = T.dtensor3("x")
    entries = set()
    for axis in itertools.chain([None], range(3), itertools.combinations(range(3), 2)):
        f = th.function([x], T.sum(x, axis=axis), mode="C")
        (node,) = native_reductions(f)
        address, params = native_entry(node)
        entries.add(address)
        axes = range(3) if axis is None else np.atleast_1d(axis)
        assert params[1] == sum(1 << int(d) for d in axes)
    assert len(entries) == 1


def test_one_compiled_perform_may_run_in_several_threads_at_once():
    """The Python caller reuses its contexts; calls in flight never share one."""
    import threading

    from symtheano.codegen.c.linker import c_perform

    X = T.dmatrix("X")
    f = th.function([X], T.sum(T.exp(X), axis=0), mode="C")
    (node,) = native_reductions(f)
    perform = c_perform(node)  # one callable, as a node-by-node program holds it
    rng = np.random.default_rng(16)
    arrays = [rng.standard_normal((300, 40 + k)) for k in range(4)]
    wants = [f(a) for a in arrays]
    failures = []

    def work(k):
        for _ in range(50):
            storage = [[None]]
            try:
                perform(node, [arrays[k]], storage)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(repr(exc))
                continue
            got = storage[0][0]
            if got.shape != wants[k].shape or not np.array_equal(got, wants[k]):
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
