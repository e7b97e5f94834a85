"""The fusion stage: elementwise groups become one Composite, elementwise
producers of a reduction one FusedReduce; results are bit-identical to the
unfused graph, and gradients are the same before and after fusion."""

import time

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.graph.basic import toposort
from symtheano.printing import debugprint, pp
from symtheano.tensor.composite import Composite, FusedReduce, elemwise_value, ufunc_for
from symtheano.tensor.elemwise import SCALAR_OPS, DimShuffle, Elemwise
from symtheano.tensor.type import TensorType

NONE = Mode(optimizer=None)
FUSE = Mode(optimizer=None, including=["fusion"])  # fusion (and merge) only
FUSE_INPLACE = Mode(optimizer=None, including=["fusion", "inplace"])
RNG = np.random.default_rng(7)


def ops_of(f, cls):
    return [n for n in f.fgraph.apply_nodes if isinstance(n.op, cls)]


def assert_bit_identical(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                      want.view(f"u{want.itemsize}"))
    else:
        np.testing.assert_array_equal(got, want)


def compare(inputs, outputs, values, mode=FUSE):
    """Compile fused and unfused; assert bit-identical results; return the fused one."""
    f = th.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    g = th.function(inputs, outputs, mode=NONE, on_unused_input="ignore")
    copies = [np.array(v, copy=True) for v in values]
    with np.errstate(all="ignore"):
        got, want = f(*values), g(*values)
    for a, b in zip(got if isinstance(got, list) else [got],
                    want if isinstance(want, list) else [want]):
        assert_bit_identical(a, b)
    for v, c in zip(values, copies):
        np.testing.assert_array_equal(v, c)  # inputs untouched
    return f


# -- it fires ----------------------------------------------------------------------------------

def test_chain_of_ten_ops_is_one_composite():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    out = x
    for k in range(10):
        out = [T.sin, T.exp, T.tanh, lambda v: v * y, lambda v: v - x][k % 5](out)
    values = [RNG.random((4, 5)), RNG.random((4, 5))]
    f = compare([x, y], out, values)
    g = th.function([x, y], out, mode=NONE)
    assert len(g.fgraph.apply_nodes) == 10
    (node,) = f.fgraph.apply_nodes
    assert isinstance(node.op, Composite) and len(node.op.steps) == 10
    assert f.rewrite_report().counts["elemwise_fusion"] == 1


def test_fast_run_fuses_and_prints_readably():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.sqr(x - y) + 1)
    text = debugprint(f, file="str")
    assert "Composite{add(sqr(sub(i0, i1)), 1)}" in text
    (out,) = f.fgraph.outputs
    assert pp(out) == "Composite{add(sqr(sub(i0, i1)), 1)}(x, y)"


def test_sum_of_squared_difference_is_one_node():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.sum((x - y) ** 2))
    (node,) = f.fgraph.apply_nodes
    assert isinstance(node.op, FusedReduce)
    assert str(node.op) == "FusedReduce{Sum{axis=(0, 1)}, sqr(sub(i0, i1))}"
    assert f.rewrite_report().counts["reduce_fusion"] == 1
    a, b = RNG.random((3, 4)), RNG.random((3, 4))
    assert f(a, b) == np.sum((a - b) ** 2)


@pytest.mark.parametrize("reduce_fn", [T.sum, T.prod, T.max, T.min])
def test_reductions_fuse_with_their_producers(reduce_fn):
    x, y = T.dtensor3("x"), T.drow("y")
    out = reduce_fn(T.exp(x) * y - x, axis=(0, 2))
    f = compare([x, y], out, [RNG.random((2, 3, 4)), RNG.random((1, 4))])
    assert [type(n.op) for n in f.fgraph.apply_nodes] == [FusedReduce]


def test_all_any_fuse():
    a, b = T.bmatrix("a"), T.bmatrix("b")
    out = [T.all(T.gt(a, b), axis=1), T.any(T.eq(a * 2, b))]
    f = compare([a, b], out, [RNG.integers(-3, 3, (3, 4)).astype("int8")] * 2)
    assert all(isinstance(n.op, FusedReduce) for n in f.fgraph.apply_nodes)


def test_excluding_fusion_leaves_the_graph_unfused():
    x = T.dvector("x")
    for names in (["fusion"], ["elemwise_fusion", "reduce_fusion"]):
        f = th.function([x], T.sum(T.exp(x) * 2 + 1), mode=Mode(excluding=names + ["inplace"]))
        assert not ops_of(f, Composite) and not ops_of(f, FusedReduce)
    f = th.function([x], T.sum(T.exp(x) * 2 + 1),
                    mode=Mode(excluding=["elemwise_fusion", "inplace"]))
    assert ops_of(f, Elemwise) and len(ops_of(f, FusedReduce)) == 1  # one node into the sum


# -- multiple readers ------------------------------------------------------------------------------

def test_value_read_outside_the_group_is_computed_once():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    h = T.tanh(x * 2 + 1)                  # read by the dot and by the elementwise tail
    out = T.dot(h, w) + T.sqr(h) - 1
    f = compare([x, w], out, [RNG.random((3, 3)), RNG.random((3, 3))])
    comps = ops_of(f, Composite)
    assert len(comps) == 2
    tanh_steps = [s for c in comps for s in c.op.steps if s[0].name == "tanh"]
    assert len(tanh_steps) == 1  # not recomputed in the second group


def test_value_that_is_also_an_output_stays_a_separate_output():
    x = T.dvector("x")
    e = T.exp(x) + 1
    f = compare([x], [e, T.log(e) * 3], [RNG.random(5)])
    assert len(ops_of(f, Composite)) == 2


def test_shared_subexpression_inside_a_group_is_evaluated_once():
    x, y = T.dvector("x"), T.dvector("y")
    d = x - y
    f = compare([x, y], T.sqr(d) + T.exp(d) * d, [RNG.random(5), RNG.random(5)])
    (node,) = f.fgraph.apply_nodes
    assert [s[0].name for s in node.op.steps].count("sub") == 1


# -- bit-identical results ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "int32", "uint16", "bool"])
def test_bit_identical_over_dtypes(dtype):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    if dtype == "bool":
        outs = [T.xor(T.and_(x, y), T.invert(x)), T.sum(x * y + x, axis=0), T.gt(x, y) | y]
        values = [RNG.random((4, 5)) > 0.5, RNG.random((4, 5)) > 0.5]
    else:
        outs = [T.exp(T.sin(x) * y) - 2 * x, T.sqrt(T.abs(x)) + y // 3, T.gt(x * y + 1, y),
                T.sum(T.abs(x - y) * 3, axis=1), T.switch(T.lt(x, y), x * x, y - 1)]
        low, high = (-40, 40) if dtype != "uint16" else (0, 200)
        values = [(RNG.uniform(low, high, (4, 5))).astype(dtype) for _ in range(2)]
    f = compare([x, y], outs, values)
    assert not ops_of(f, Elemwise)
    # Non-contiguous inputs, and overwriting intermediates, give the same bits.
    for mode in (FUSE, FUSE_INPLACE):
        compare([x, y], outs, [np.asfortranarray(v) for v in values], mode)
        compare([x, y], outs, [np.repeat(v, 2, axis=1)[:, ::2] for v in values], mode)
    compare([x, y], [T.exp(x * 2) - y, T.sum(T.sqr(x * y), axis=0) + 1], values, FUSE_INPLACE)


def test_bit_identical_with_row_col_scalar_broadcasting():
    r, c, s = T.drow("r"), T.dcol("c"), T.dscalar("s")
    out = T.tanh(r + c) * s + T.exp(s) - r / (c + 2)
    f = compare([r, c, s], out, [RNG.random((1, 5)), RNG.random((3, 1)), np.array(0.3)])
    (node,) = f.fgraph.apply_nodes
    assert node.outputs[0].type.shape == (3, 5) or node.outputs[0].type.shape == (None, None)


def test_lower_dimensional_intermediates_keep_their_shape():
    s, v = T.dscalar("s"), T.dvector("v")
    out = T.exp(T.sin(s) * 2) + v       # the scalar part is computed once, then broadcast
    f = compare([s, v], [out, T.exp(s) * 2 + T.sin(s)], [np.array(0.5), RNG.random(4)])
    assert not [n for n in f.fgraph.apply_nodes if isinstance(n.op, DimShuffle)]


def test_zero_d_and_empty_inputs():
    x, y = T.dscalar("x"), T.dscalar("y")
    compare([x, y], [T.exp(x) * y - 1, T.sum(T.sqr(x - y))], [np.array(1.5), np.array(-2.0)])
    m = T.dmatrix("m")
    f = compare([m], [T.exp(m) * 2 + 1, T.sum(T.sqr(m) + 1, axis=0)], [np.zeros((0, 3))])
    assert ops_of(f, Composite) and ops_of(f, FusedReduce)


def test_undeclared_broadcast_is_an_error_as_without_fusion():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], T.exp(x) + y * 2, mode=FUSE)
    assert ops_of(f, Composite)
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones((3, 4)), np.ones((1, 4)))


def test_random_elementwise_graphs_are_bit_identical():
    unary = ["exp", "sin", "tanh", "neg", "sqr", "abs", "log1p", "sqrt", "floor"]
    binary = ["add", "sub", "mul", "true_div", "maximum", "minimum", "pow"]
    rng = np.random.default_rng(11)
    for trial in range(40):
        dtype = ["float32", "float64"][trial % 2]
        shapes = [(1, 4), (3, 1), (3, 4), ()]
        inputs = [TensorType(dtype, s).make_variable(f"v{k}") for k, s in enumerate(shapes)]
        values = [rng.uniform(0.1, 2.0, s).astype(dtype) for s in shapes]
        pool = list(inputs)
        for _ in range(rng.integers(3, 15)):
            if rng.random() < 0.4:
                name = unary[rng.integers(len(unary))]
                pool.append(getattr(T, name)(pool[rng.integers(len(pool))]))
            else:
                name = binary[rng.integers(len(binary))]
                a, b = (pool[rng.integers(len(pool))] for _ in range(2))
                pool.append(getattr(T, name)(a, b))
        outputs = [v for v in pool[len(inputs):] if rng.random() < 0.3] + [pool[-1]]
        compare(inputs, outputs, values)


# -- the ufunc fast path is the reference impl --------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n in SCALAR_OPS if not n.startswith("cast_")))
def test_ufunc_out_path_is_bit_identical_to_impl(name):
    op = SCALAR_OPS[name]
    nin = op.nin or 2
    for dtype in ("float32", "float64", "int16", "uint8", "bool"):
        try:
            out_dtype = op.output_dtype(*[dtype] * nin)
        except TypeError:
            continue
        args_dtypes = [out_dtype] * nin if op.float_output else [dtype] * nin
        spec = ufunc_for(op, args_dtypes, out_dtype)
        if spec is None:
            continue
        ufunc, pattern = spec
        args = [RNG.uniform(0.2, 0.9, (3, 7)).astype(dtype) for _ in range(nin)]
        want = elemwise_value(op, args, out_dtype)
        cast = [a.astype(out_dtype) if op.float_output else a for a in args]
        buf = np.empty(want.shape, dtype=out_dtype)
        with np.errstate(all="ignore"):
            ufunc(*[cast[i] for i in pattern], out=buf)
            if cast[0].dtype == np.dtype(out_dtype):  # in place over the first operand
                first = cast[0].copy()
                ufunc(*[first if i == 0 else cast[i] for i in pattern], out=first)
                assert_bit_identical(first, want)
        assert_bit_identical(buf, want)


# -- gradients --------------------------------------------------------------------------------

def test_gradient_before_and_after_fusion_agree():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    cost = T.sum(T.exp(x * y) + T.sqr(x - y) * T.tanh(y))
    fused_cost = th.function([x, y], cost, mode=FUSE).fgraph.outputs[0]
    assert isinstance(fused_cost.owner.op, FusedReduce)
    before = th.function([x, y], T.grad(cost, [x, y]), mode=NONE)
    after = th.function([x, y], T.grad(fused_cost, [x, y]), mode=NONE)
    values = [RNG.random((3, 4)), RNG.random((3, 4))]
    for a, b in zip(after(*values), before(*values)):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    # And the gradient of the fused graph compiles (fused again) to the same values.
    again = th.function([x, y], T.grad(fused_cost, [x, y]))
    for a, b in zip(again(*values), before(*values)):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_composite_gradient_with_broadcast_and_int_inputs():
    r, c, k = T.drow("r"), T.dcol("c"), T.ivector("k")
    out = T.tanh(r * c) + r * k
    f = th.function([r, c, k], out, mode=FUSE)
    (node,) = ops_of(f, Composite)
    fused_out = f.fgraph.outputs[0]
    g = T.grad(T.sum(fused_out), [r, c])
    g0 = T.grad(T.sum(out), [r, c])
    vals = [RNG.random((1, 3)), RNG.random((2, 1)), np.arange(3, dtype="int32")]
    got = th.function([r, c, k], g, mode=NONE)(*vals)
    want = th.function([r, c, k], g0, mode=NONE)(*vals)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-15)


# -- scale ----------------------------------------------------------------------------------------

def test_chain_of_ten_thousand_ops_fuses_in_seconds():
    x = T.dvector("x")
    out = x
    fns = [T.sin, T.cos, T.tanh]
    for k in range(10_000):
        out = fns[k % 3](out)
    start = time.perf_counter()
    f = th.function([x], out, mode="PY")  # fusion itself; C kernels are tested in codegen/
    elapsed = time.perf_counter() - start
    (node,) = f.fgraph.apply_nodes
    assert isinstance(node.op, Composite) and len(node.op.steps) == 10_000
    assert elapsed < 20, f"compiling took {elapsed:.1f} s"
    assert len(str(node.op)) < 300  # the label is shortened
    values = RNG.random(50)
    assert_bit_identical(f(values), th.function([x], out, mode=NONE)(values))


def test_equal_composites_merge():
    x = T.dvector("x")
    a = T.exp(x) * 2 + 1
    b = T.exp(x) * 2 + 1
    f = th.function([x], [a, b])
    assert len(ops_of(f, Composite)) == 1


def test_composite_op_checks_its_inputs():
    x = T.dvector("x")
    op, outer = Composite.from_nodes(toposort([T.exp(x) + 1]))
    with pytest.raises(TypeError, match="input 0"):
        op(T.fvector("y"))
    with pytest.raises(TypeError, match="takes 1 inputs"):
        op(x, x)


def test_fused_variadic_add_accumulates_in_the_output_dtype():
    # add(int8, int8, int64) must not wrap in int8 before reaching int64, fused or not.
    a, b = T.bvectors("a", "b")
    c = T.lvector("c")
    out = T.add(a, b, c) * 1
    args = (np.array([100], "int8"), np.array([100], "int8"), np.array([0]))
    fused = th.function([a, b, c], out)
    plain = th.function([a, b, c], out, mode=Mode(optimizer=None))
    np.testing.assert_array_equal(fused(*args), [200])
    np.testing.assert_array_equal(plain(*args), [200])


def test_gradient_of_a_composite_whose_inputs_depend_on_each_other():
    # x * exp(x) fused with exp(x) computed outside: the Composite's inputs are x and
    # exp(x), and the gradient through exp(x) must be counted once.
    from symtheano.tensor.composite import Composite

    x = T.dvector("x")
    e = T.exp(x)
    y = x * e
    op, outer = Composite.from_nodes([y.owner])
    assert [v.name for v in outer][:1] == ["x"] and outer[1] is e
    g = T.grad(T.sum(op(*outer)), x)
    xv = np.linspace(-1.0, 2.0, 5)
    for mode in ("PY", "C"):
        got = th.function([x], g, mode=mode)(xv)
        np.testing.assert_allclose(got, np.exp(xv) * (1 + xv), rtol=1e-14)
