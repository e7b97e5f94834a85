"""The inplace stage: elementwise ops overwrite dead intermediates, never an
input, a shared value, a constant or an output; `check_destroy` proves that no
value is read after being overwritten, and catches hand-built violations."""

import tracemalloc

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.graph.basic import toposort
from symtheano.graph.fg import FunctionGraph
from symtheano.rewrite.inplace import DestroyError, check_destroy, view_pairs
from symtheano.tensor.composite import Composite, FusedReduce
from symtheano.tensor.elemwise import SCALAR_OPS, Elemwise
from symtheano.tensor.type import TensorType
from tests.rewrite.test_fusion import assert_bit_identical
from tests.tensor.registry import collect_cases

RNG = np.random.default_rng(3)
NO_INPLACE = Mode(excluding=["inplace"])
NO_FUSION = Mode(excluding=["fusion"])


def destroyers(f):
    return [n for n in f.fgraph.apply_nodes if getattr(n.op, "destroy_map", None)]


def inplace_op(expr_of, ndim=1):
    """A Composite computing expr_of(i0) that overwrites its input."""
    v = TensorType("float64", (None,) * ndim).make_variable("v")
    op, _ = Composite.from_nodes(toposort([expr_of(v)]))
    return op.with_inplace(0)


def compare_inplace(inputs, outputs, values, modes=(Mode(), NO_FUSION)):
    """Results with inplace equal those without, and the caller's arrays stay intact."""
    want = th.function(inputs, outputs, mode=NO_INPLACE, on_unused_input="ignore")(*values)
    fired = 0
    for mode in modes:
        f = th.function(inputs, outputs, mode=mode, on_unused_input="ignore")
        copies = [np.array(v, copy=True) for v in values]
        for _ in range(2):  # a second call sees the same (unmodified) inputs
            got = f(*values)
            for a, b in zip(got if isinstance(got, list) else [got],
                            want if isinstance(want, list) else [want]):
                assert_bit_identical(a, b)
            for v, c in zip(values, copies):
                np.testing.assert_array_equal(v, c)
        check_destroy(f.fgraph)
        fired += len(destroyers(f))
    return fired


# -- it fires where it may ---------------------------------------------------------------------

def test_chain_on_an_intermediate_overwrites_it():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    out = T.tanh(T.dot(x, w) * 2 + 1)
    f = th.function([x, w], out)
    (node,) = destroyers(f)
    assert isinstance(node.op, Composite) and node.op.destroy_map == {0: [0]}
    assert "[inplace i0]" in str(node.op)
    assert f.rewrite_report().counts["elemwise_inplace"] == 1
    assert compare_inplace([x, w], out, [RNG.random((3, 4)), RNG.random((4, 3))])


def test_unfused_elemwise_chain_becomes_inplace_composites():
    x = T.dvector("x")
    out = T.exp(T.sin(T.cos(x)))
    f = th.function([x], out, mode=NO_FUSION)
    assert len(destroyers(f)) == 2  # cos(x) must not overwrite x
    assert compare_inplace([x], out, [RNG.random(6)]) >= 2


def test_perform_really_writes_into_the_destroyed_input():
    op = inplace_op(lambda v: T.exp(T.sin(v)) * 2)
    arr = RNG.random(1000)
    want = np.exp(np.sin(arr)) * 2
    got = op.evaluate([arr])
    assert np.shares_memory(got, arr)
    assert_bit_identical(got, want)
    reduce_op = FusedReduce(inplace_op(lambda v: T.exp(v) + 1), T.sum(T.dvector()).owner.op)
    assert reduce_op.destroy_map == {0: [0]}


def test_fused_reduce_may_use_its_input_as_scratch():
    x = T.dmatrix("x")
    out = T.sum(T.exp(T.dot(x, x)) - 1, axis=0)
    f = th.function([x], out)
    (node,) = destroyers(f)
    assert isinstance(node.op, FusedReduce)
    compare_inplace([x], out, [RNG.random((3, 3))])


# -- it does not fire where it must not ------------------------------------------------------

def test_inputs_shared_values_and_constants_are_never_overwritten():
    x = T.dvector("x")
    w = th.shared(np.arange(4.0), name="w")
    c = T.constant(np.linspace(0, 1, 4))
    outs = [T.exp(x) * 2, T.sin(w) + 1, T.cos(c) * x, T.tanh(x + w)]
    f = th.function([x], outs, mode=NO_FUSION)
    for node in destroyers(f):
        (k,) = node.op.destroy_map[0]
        assert node.inputs[k].owner is not None
    w_before = w.get_value().copy()
    compare_inplace([x], outs, [RNG.random(4)])
    np.testing.assert_array_equal(w.get_value(), w_before)


def test_updates_and_outputs_are_not_overwritten():
    x = T.dvector("x")
    w = th.shared(np.ones(3), name="w")
    h = T.exp(x * w)                  # an output, and read again below
    f = th.function([x], [h, T.sin(h) + 1], updates=[(w, w * 2 + T.sum(h))])
    for node in destroyers(f):
        (k,) = node.op.destroy_map[0]
        assert node.inputs[k] is not f.fgraph.outputs[0]
    a = RNG.random(3)
    h1, s1 = f(a)
    # compiled exp may differ from NumPy's in the last bits; an overwritten value would not
    np.testing.assert_allclose(h1, np.exp(a), rtol=1e-14)
    np.testing.assert_allclose(s1, np.sin(np.exp(a)) + 1, rtol=1e-14)
    np.testing.assert_allclose(w.get_value(), 2 + np.sum(np.exp(a)), rtol=1e-14)


def test_value_with_another_reader_or_a_view_is_not_overwritten():
    x = T.dmatrix("x")
    e = T.exp(x)
    outs = [T.sin(e) + T.cos(e).T, T.tanh(e.T) * 2]  # e has several readers; e.T is a view
    f = th.function([x], outs, mode=NO_FUSION)
    for node in destroyers(f):
        (k,) = node.op.destroy_map[0]
        var = node.inputs[k]
        assert len(f.fgraph.clients[var]) == 1 and view_pairs(var.owner) == []
    compare_inplace([x], outs, [RNG.random((3, 3))])


def test_dtype_or_broadcast_mismatch_is_not_overwritten():
    x = T.ivector("x")
    f = th.function([x], T.sqr(x * 2) + 1.5, mode=NO_FUSION)  # int intermediate, float result
    assert [n.op.steps[0][0].name for n in destroyers(f)] == ["sqr"]
    r, c = T.drow("r"), T.dcol("c")
    out = T.sin(T.exp(r)) + c                               # row intermediate, matrix result
    f = th.function([r, c], out, mode=NO_FUSION)
    (node,) = destroyers(f)
    assert node.op.steps[0][0].name == "sin"
    compare_inplace([r, c], out, [RNG.random((1, 3)), RNG.random((2, 1))])


def test_stale_inplace_op_is_undone_when_its_input_gains_a_reader():
    x = T.dvector("x")
    f = th.function([x], T.sin(T.exp(x)), mode=NO_FUSION)
    (node,) = destroyers(f)
    out = f.fgraph.outputs[0]
    e = node.inputs[0]               # exp(x), overwritten by the sin node
    g = th.function([x], [out, e * 2])
    a = RNG.random(4)
    got_sin, got_e2 = g(a)
    np.testing.assert_allclose(got_e2, np.exp(a) * 2, rtol=1e-14)
    np.testing.assert_allclose(got_sin, np.sin(np.exp(a)), rtol=1e-14)


# -- the destroy checker --------------------------------------------------------------------

def test_checker_accepts_a_valid_graph():
    x = T.dvector("x")
    e = T.exp(x)
    out = inplace_op(T.sin)(e)
    check_destroy(FunctionGraph([x], [out]))


def test_checker_rejects_overwriting_an_input():
    x = T.dvector("x")
    with pytest.raises(DestroyError, match="function input"):
        check_destroy(FunctionGraph([x], [inplace_op(T.sin)(x)]))


def test_checker_rejects_overwriting_a_constant_or_an_output():
    x = T.dvector("x")
    c = T.constant(np.ones(3))
    with pytest.raises(DestroyError, match="constant"):
        check_destroy(FunctionGraph([x], [inplace_op(T.sin)(c) + x]))
    e = T.exp(x)
    with pytest.raises(DestroyError, match="output"):
        check_destroy(FunctionGraph([x], [e, inplace_op(T.sin)(e)]))


def test_checker_rejects_a_read_after_the_overwrite():
    x = T.dvector("x")
    e = T.exp(x)
    d = inplace_op(T.sin)(e)
    # The program runs nodes in toposort order, which visits inputs left to right:
    # here cos(e) runs after sin overwrote e ...
    with pytest.raises(DestroyError, match="cos reads it afterwards"):
        check_destroy(FunctionGraph([x], [d + T.cos(e)]))
    # ... and here before, which is legal.
    check_destroy(FunctionGraph([x], [T.cos(e) * d]))


def test_checker_rejects_overwriting_a_view():
    x = T.dmatrix("x")
    with pytest.raises(DestroyError, match="share memory"):
        check_destroy(FunctionGraph([x], [inplace_op(T.sin, 2)(x.T)]))
    e = T.exp(x)
    with pytest.raises(DestroyError):
        check_destroy(FunctionGraph([x], [inplace_op(T.sin, 2)(e.T) + e]))


def test_checker_rejects_reading_an_alias_in_the_same_node():
    x = T.dmatrix("x")
    e = T.exp(x)
    v = TensorType("float64", (None, None)).make_variable()
    w = TensorType("float64", (None, None)).make_variable()
    op, _ = Composite.from_nodes(toposort([v + w]))
    with pytest.raises(DestroyError, match="while reading"):
        check_destroy(FunctionGraph([x], [op.with_inplace(0)(e, e.T)]))


def test_checker_over_many_compiled_graphs():
    rng = np.random.default_rng(5)
    unary = [T.exp, T.sin, T.tanh, T.sqr, T.neg, lambda v: v.T, lambda v: T.sum(v, axis=0)]
    binary = [T.add, T.sub, T.mul, T.maximum, T.dot]
    fired = 0
    for _ in range(60):
        x, y = T.dmatrix("x"), T.dmatrix("y")
        pool = [x, y]
        for _ in range(rng.integers(2, 12)):
            if rng.random() < 0.5:
                v = pool[rng.integers(len(pool))]
                fn = unary[rng.integers(len(unary))]
                if v.ndim == 2 or fn in (T.exp, T.sin, T.tanh, T.sqr, T.neg):
                    pool.append(fn(v))
            else:
                a, b = (pool[rng.integers(len(pool))] for _ in range(2))
                fn = binary[rng.integers(len(binary))]
                if fn is not T.dot or (a.ndim == 2 and b.ndim == 2):
                    pool.append(fn(a, b))
        outs = [v for v in pool[2:] if rng.random() < 0.3] + [pool[-1]]
        values = [rng.random((3, 3)), rng.random((3, 3))]
        fired += compare_inplace([x, y], outs, values, modes=(Mode(), NO_FUSION))
    assert fired > 20


# -- aliasing facts the stage relies on ----------------------------------------------------------

def test_view_pairs_cover_every_alias_seen_in_the_op_registry():
    """Run every registry case node by node: whenever an output shares memory with
    an input, view_pairs must say so (else inplace could overwrite a view)."""
    for case in collect_cases():
        for sample in case.samples(np.random.default_rng(0))[:2]:
            shapes = [tuple(1 if s == 1 else None for s in np.shape(a)) for a in sample]
            inputs = [TensorType(np.asarray(a).dtype, s).make_variable()
                      for a, s in zip(sample, shapes)]
            outs = case.build(*inputs)
            outs = list(outs) if isinstance(outs, list | tuple) else [outs]
            values = {v: np.asarray(a) for v, a in zip(inputs, sample)}
            for node in toposort(outs):
                for v in node.inputs:
                    if v not in values:
                        values[v] = v.data
                storage = [[None] for _ in node.outputs]
                with np.errstate(all="ignore"):
                    node.op.perform(node, [values[v] for v in node.inputs], storage)
                declared = set(view_pairs(node))
                for o, (out, cell) in enumerate(zip(node.outputs, storage)):
                    values[out] = cell[0]
                    for i, v in enumerate(node.inputs):
                        if np.shares_memory(cell[0], values[v]):
                            assert (o, i) in declared, (
                                f"{case.name}: {node.op} output {o} aliases input {i}")


@pytest.mark.parametrize("name", sorted(n for n in SCALAR_OPS if not n.startswith("cast_")))
def test_elemwise_pass_through_is_declared(name):
    op = SCALAR_OPS[name]
    for nin in ([op.nin] if op.nin else [1, 2]):
        for dtype in ("bool", "int8", "uint16", "int64", "float32", "float64"):
            inputs = [TensorType(dtype, (None,)).make_variable() for _ in range(nin)]
            try:
                node = Elemwise(op).make_node(*inputs)
            except TypeError:
                continue
            arrays = [np.array([0, 1, 1], dtype=dtype) for _ in range(nin)]
            storage = [[None]]
            with np.errstate(all="ignore"):
                node.op.perform(node, arrays, storage)
            for i, a in enumerate(arrays):
                if np.shares_memory(storage[0][0], a):
                    assert (0, i) in view_pairs(node), f"{name}({dtype}) returns input {i}"


# -- memory ---------------------------------------------------------------------------------

def _peak(f, value):
    f(value)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        f(value)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_inplace_bounds_the_peak_memory_of_a_long_chain():
    x = T.dvector("x")
    out = x
    for k in range(20):
        out = [T.sin, T.exp, T.tanh, lambda v: v * 1.5, lambda v: v + 0.25][k % 5](out)
    value = RNG.random(500_000)  # 4 MB
    size = value.nbytes
    plain = _peak(th.function([x], out, mode=Mode(excluding=["fusion", "inplace"])), value)
    inplace = _peak(th.function([x], out, mode=NO_FUSION), value)
    fused = _peak(th.function([x], out), value)
    assert plain > 15 * size     # every intermediate is kept until the call ends
    assert inplace < 2.5 * size  # one buffer, overwritten down the chain
    assert fused < 2.5 * size


# -- BLAS products: the added term, and shared variables updated in place -----------------------

def _blas_destroyers(f):
    from symtheano.tensor.blas_ops import Gemm, Gemv, Ger

    return sorted(type(n.op).__name__ for n in destroyers(f) if isinstance(n.op, Gemm | Gemv | Ger))


def _sgd_step(mode, w1_value, w2_value, lr=1e-3):
    """The 2-layer ReLU network's training step (tutorials/04_mlp_relu.py)."""
    w1 = th.shared(w1_value.copy(), name="w1")
    w2 = th.shared(w2_value.copy(), name="w2")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    loss = T.sum((T.dot(T.nnet.relu(T.dot(x, w1)), w2) - y) ** 2)
    g1, g2 = T.grad(loss, [w1, w2])
    f = th.function([x, y], loss, mode=mode, updates=[(w1, w1 - lr * g1), (w2, w2 - lr * g2)])
    return f, w1, w2


def _numpy_step(w1, w2, x, y, lr=1e-3):
    h = x @ w1
    hr = np.maximum(h, 0)
    diff = hr @ w2 - y
    g_pred = 2.0 * diff
    g_h = g_pred @ w2.T
    g_h[h < 0] = 0
    return np.sum(diff ** 2), w1 - lr * (x.T @ g_h), w2 - lr * (hr.T @ g_pred)


@pytest.mark.parametrize("mode", ["C", "PY", "DEBUG"])
def test_sgd_step_updates_the_weights_in_place(mode):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(8, 30)), rng.normal(size=(8, 4))
    w1v, w2v = rng.normal(size=(30, 12)), rng.normal(size=(12, 4))
    f, w1, w2 = _sgd_step(mode, w1v, w2v)
    assert _blas_destroyers(f) == ["Gemm", "Gemm"]
    check_destroy(f.fgraph)
    addresses = set()
    for _ in range(4):
        loss, w1v, w2v = _numpy_step(w1v, w2v, x, y)
        np.testing.assert_allclose(f(x, y), loss, rtol=1e-12)
        np.testing.assert_allclose(w1.get_value(), w1v, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w2.get_value(), w2v, rtol=1e-12, atol=1e-14)
        addresses.add(w1.get_value(borrow=True).__array_interface__["data"][0])
    assert len(addresses) == 1  # the same storage, written in place every step


def test_update_not_read_later_and_intermediate_term_are_overwritten():
    A, B, C = T.dmatrix("A"), T.dmatrix("B"), T.dmatrix("C")
    w = th.shared(np.ones((3, 3)), name="w")
    out = T.exp(C) * 0.5 + T.dot(A, B)     # gemm(exp(C) * 0.5, 1, A, B, 1): a dead term
    f = th.function([A, B, C], out, updates=[(w, w - 0.1 * T.dot(A.T, B))])
    assert _blas_destroyers(f) == ["Gemm", "Gemm"]
    vals = [RNG.random((3, 3)) for _ in range(3)]
    copies = [v.copy() for v in vals]
    got = f(*vals)
    np.testing.assert_allclose(got, np.exp(vals[2]) * 0.5 + vals[0] @ vals[1], rtol=1e-14)
    np.testing.assert_allclose(w.get_value(), 1 - 0.1 * vals[0].T @ vals[1], rtol=1e-14)
    for v, c in zip(vals, copies):
        np.testing.assert_array_equal(v, c)


def test_shared_term_read_later_or_returned_is_not_overwritten():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    a, b = RNG.random((3, 3)), RNG.random((3, 3))
    # v's update reads w after w's own update (in the program's order): w stays intact
    w = th.shared(np.ones((3, 3)), name="w")
    v = th.shared(np.zeros((3, 3)), name="v")
    f = th.function([A, B], [], updates=[(w, w - 0.5 * T.dot(A, B)), (v, v + w * 2)])
    assert _blas_destroyers(f) == []
    f(a, b)
    np.testing.assert_allclose(w.get_value(), 1 - 0.5 * a @ b, rtol=1e-14)
    np.testing.assert_array_equal(v.get_value(), np.full((3, 3), 2.0))
    # w itself (or a view of it) is an output: the old value is returned
    for shown in (lambda s: s, lambda s: s.T):
        w.set_value(np.ones((3, 3)))
        g = th.function([A, B], shown(w), updates=[(w, w - 0.5 * T.dot(A, B))])
        assert _blas_destroyers(g) == []
        np.testing.assert_array_equal(g(a, b), np.ones((3, 3)))
        np.testing.assert_allclose(w.get_value(), 1 - 0.5 * a @ b, rtol=1e-14)


def test_update_that_is_not_the_product_itself_keeps_the_term():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    w = th.shared(np.ones((3, 3)), name="w")
    step = w - 0.5 * T.dot(A, B)
    f = th.function([A, B], step, updates=[(w, T.tanh(step))])
    assert _blas_destroyers(f) == []
    a, b = RNG.random((3, 3)), RNG.random((3, 3))
    np.testing.assert_allclose(f(a, b), 1 - 0.5 * a @ b, rtol=1e-14)
    np.testing.assert_allclose(w.get_value(), np.tanh(1 - 0.5 * a @ b), rtol=1e-14)


def test_product_update_that_is_also_an_output_is_returned_as_a_copy():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    w = th.shared(np.ones((3, 3)), name="w")
    new = w - 0.5 * T.dot(A, B)
    f = th.function([A, B], new, updates=[(w, new)])
    assert _blas_destroyers(f) == ["Gemm"]
    a, b = RNG.random((3, 3)), RNG.random((3, 3))
    first = f(a, b)
    assert not np.may_share_memory(first, w.get_value(borrow=True))
    kept = first.copy()
    f(a, b)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_allclose(w.get_value(), 1 - a @ b, rtol=1e-14)


def test_gemv_and_ger_updates_in_place():
    A, x, z = T.dmatrix("A"), T.dvector("x"), T.dvector("z")
    b = th.shared(np.ones(3), name="b")
    M = th.shared(np.ones((3, 4)), name="M")
    a, v, u = RNG.random((3, 4)), RNG.random(4), RNG.random(3)
    for mode in ("C", "PY", "DEBUG"):
        b.set_value(np.ones(3))
        M.set_value(np.ones((3, 4)))
        f = th.function([A, x, z], [], mode=mode,
                        updates=[(b, b - 0.5 * T.dot(A, x)), (M, M + 0.25 * T.outer(z, x))])
        assert _blas_destroyers(f) == ["Gemv", "Ger"]
        for step in range(1, 3):
            f(a, v, u)
            np.testing.assert_allclose(b.get_value(), 1 - step * 0.5 * a @ v, rtol=1e-14)
            np.testing.assert_allclose(M.get_value(), 1 + step * 0.25 * np.outer(u, v),
                                       rtol=1e-14)


def test_blas_inplace_can_be_switched_off():
    f, _, _ = _sgd_step(Mode(linker="c", excluding=["blas_inplace"]), np.ones((5, 3)),
                        np.ones((3, 2)))
    assert _blas_destroyers(f) == []
    f, _, _ = _sgd_step(Mode(linker="c", excluding=["inplace"]), np.ones((5, 3)),
                        np.ones((3, 2)))
    assert destroyers(f) == []


def test_checker_rejects_overwriting_a_shared_value_not_replaced_by_the_product():
    from symtheano.tensor.blas_ops import gemm_inplace

    A, B = T.dmatrix("A"), T.dmatrix("B")
    w = th.shared(np.ones((2, 2)), name="w")
    out = gemm_inplace(w, T.constant(1.0), A, B, T.constant(1.0))
    fg = FunctionGraph([A, B, w], [out])
    with pytest.raises(DestroyError, match="shared variable"):
        check_destroy(fg)
    fg.update_outputs = {w: 0}  # the function replaces w with the product: allowed
    check_destroy(fg)
    fg2 = FunctionGraph([A, B, w], [out, T.exp(out)])
    fg2.update_outputs = {w: 1}  # w is replaced by something else: refused
    with pytest.raises(DestroyError, match="shared variable"):
        check_destroy(fg2)
