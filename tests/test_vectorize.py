"""vectorize_graph (symtheano/vectorize.py): every batching rule against a loop of
the unbatched graph, the Blockwise fallback, and the errors.

The registry cases (tests/tensor/cases_*.py) give one graph per op behaviour; each
is batched over its float inputs one at a time and all together (no fallback
allowed: every op with a float input has a rule), and over all its inputs (integer
indices and shapes too, where declining to a Blockwise loop is allowed)."""

from __future__ import annotations

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.graph.basic import toposort
from symtheano.tensor.type import TensorType
from symtheano.vectorize import BATCHING_RULES, Blockwise, fallback_nodes, vectorize_graph
from tests.tensor.registry import collect_cases

CASES = collect_cases()
BATCH = 3


def _as_list(x):
    return list(x) if isinstance(x, list | tuple) else [x]


def _item_type(a, case, i):
    shape = case.static_shapes.get(i, tuple(1 if s == 1 else None for s in a.shape))
    return TensorType(a.dtype, shape)


def _batch_values(a, rng, perturb=True):
    """BATCH items near `a` (floats moved a little; integers and bools repeated, so
    that indices stay valid)."""
    items = [a]
    for k in range(1, BATCH):
        if a.dtype.kind == "f" and perturb:
            items.append((a + 0.1 * k * rng.uniform(-1, 1, size=a.shape)).astype(a.dtype))
        else:
            items.append(a.copy())
    return np.stack(items)


def _patterns(sample):
    floats = [i for i, a in enumerate(sample) if np.asarray(a).dtype.kind == "f"]
    patterns = [("float", (i,)) for i in floats]
    if len(floats) > 1:
        patterns.append(("float", tuple(floats)))
    if len(floats) != len(sample):
        patterns.append(("all", tuple(range(len(sample)))))
    return patterns


def check_against_loop(build, sample, batched_positions, item_types, mode="PY", strict=True,
                       perturb=True):
    """Vectorise build(*inputs) over the inputs at `batched_positions` and compare
    with a loop of the unbatched function; `strict`: no Blockwise in the graph."""
    rng = np.random.default_rng(7)
    inputs = [t.make_variable(f"in{i}") for i, t in enumerate(item_types)]
    outs = _as_list(build(*inputs))
    batch_vars = {}
    for i in batched_positions:
        t = item_types[i]
        batch_vars[i] = TensorType(t.dtype, (None,) + t.shape).make_variable(f"batch{i}")
    vec = vectorize_graph(outs, {inputs[i]: batch_vars[i] for i in batched_positions})
    if strict:
        loops = [n for n in fallback_nodes(vec) if not isinstance(n.op.core_op, _looped_ops())]
        assert not loops, f"fallback loops: {loops}"
    for o, v in zip(outs, vec):
        assert v.ndim == o.ndim + 1 and v.dtype == o.dtype, (o.type, v.type)
    args = [batch_vars.get(i, x) for i, x in enumerate(inputs)]
    f_vec = th.function(args, vec, mode=mode, on_unused_input="ignore")
    f_one = th.function(inputs, outs, mode=mode, on_unused_input="ignore")
    values = [_batch_values(np.asarray(a), rng, perturb) if i in batch_vars else np.asarray(a)
              for i, a in enumerate(sample)]
    got = f_vec(*values)
    items = [f_one(*[v[k] if i in batch_vars else v for i, v in enumerate(values)])
             for k in range(BATCH)]
    for j, g in enumerate(got):
        want = np.stack([np.asarray(item[j]) for item in items])
        assert g.shape == want.shape, f"output {j}: shape {g.shape}, loop gives {want.shape}"
        assert g.dtype == want.dtype
        if want.dtype.kind == "f":
            np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-12, equal_nan=True,
                                       err_msg=f"output {j}")
        else:
            np.testing.assert_array_equal(g, want, err_msg=f"output {j}")
    return vec


# Cases whose output shape depends on the values of a float input (a mask x > 0, an
# arange of float bounds): batched over that input, the items may differ in shape,
# so they fall back to the Blockwise loop by design; checked with repeated items.
RAGGED = {"join_arange_float", "subtensor_mask_full", "subtensor_mask_partial_nd",
          "extra_unique", "extra_unique_all"}


def _looped_ops():
    """Ops whose batch is a loop by design: the linear algebra takes one matrix (as in
    Theano; each item costs a factorisation, next to which the loop is cheap),
    searchsorted one sorted vector, and a scan loops over its items (a batched inner
    graph would need the batching rules applied inside the loop: not done yet)."""
    from symtheano.scan_module.op import Scan
    from symtheano.tensor import extra_ops, linalg

    return (linalg.MatrixInverse, linalg.Det, linalg.SLogDet, linalg.Solve,
            linalg.SolveTriangular, linalg.Cholesky, linalg.Eigh, linalg.QR, linalg.SVD,
            linalg.MatrixPinv, extra_ops.SearchSorted, Scan)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_registry_case_batched_matches_loop(case):
    samples = case.samples(np.random.default_rng(1234))[:3]
    for k, sample in enumerate(samples):
        sample = [np.asarray(a) for a in sample]
        item_types = [_item_type(a, case, i) for i, a in enumerate(sample)]
        for kind, positions in _patterns(sample):
            try:
                ragged = case.name in RAGGED
                check_against_loop(case.build, sample, positions, item_types,
                                   strict=kind == "float" and not ragged, perturb=not ragged)
            except Exception as exc:
                exc.add_note(f"{case.name} sample {k}, batched inputs {positions}")
                raise


# -- rules checked one by one ------------------------------------------------------------------

def _types(*shapes, dtype="float64"):
    return [TensorType(dtype, s) for s in shapes]


def _values(rng, *shapes):
    return [rng.uniform(-1, 1, size=s) for s in shapes]


PRODUCT_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4))]


@pytest.mark.parametrize("shapes", PRODUCT_SHAPES, ids=str)
@pytest.mark.parametrize("positions", [(0,), (1,), (0, 1)], ids=str)
@pytest.mark.parametrize("mode", ["PY", "C"])
def test_dot_batched(shapes, positions, mode):
    rng = np.random.default_rng(0)
    check_against_loop(T.dot, _values(rng, *shapes), positions,
                       _types(*[(None,) * len(s) for s in shapes]), mode=mode)


TENSORDOT_CASES = [(1, (2, 4, 3), (3, 5)), (2, (2, 4, 3), (4, 3, 5)),
                   (([0, 2], [1, 0]), (2, 4, 3), (3, 2, 5)), (([2], [0]), (2, 4, 3), (3,)),
                   (([0, 1, 2], [2, 0, 1]), (2, 4, 3), (4, 3, 2))]


@pytest.mark.parametrize("axes, a_shape, b_shape", TENSORDOT_CASES, ids=str)
@pytest.mark.parametrize("positions", [(0,), (1,), (0, 1)], ids=str)
def test_tensordot_batched(axes, a_shape, b_shape, positions):
    rng = np.random.default_rng(1)
    check_against_loop(lambda a, b: T.tensordot(a, b, axes), _values(rng, a_shape, b_shape),
                       positions, _types((None,) * len(a_shape), (None,) * len(b_shape)))


@pytest.mark.parametrize("positions", [(0,), (1,), (0, 1)], ids=str)
def test_matmul_batched_with_broadcast_batch(positions):
    rng = np.random.default_rng(2)
    check_against_loop(T.matmul, _values(rng, (1, 2, 3), (4, 3, 2)), positions,
                       _types((1, None, None), (None, None, None)), mode="C")


def test_batched_products_are_one_product_each():
    """A product of two batched operands is one MatMul (or an elementwise product and
    sum), not a loop; a product with a shared operand is one Dot or TensorDot."""
    from symtheano.tensor.blas import Dot, MatMul, TensorDot

    a, b = T.dmatrix("a"), T.dmatrix("b")
    A, B = T.tensor3("A", dtype="float64"), T.tensor3("B", dtype="float64")
    both = vectorize_graph(T.dot(a, b), {a: A, b: B})
    ops = [type(n.op) for n in toposort([both])]
    assert ops.count(MatMul) == 1 and Dot not in ops and TensorDot not in ops
    one = vectorize_graph(T.dot(a, b), {a: A})
    ops = [type(n.op) for n in toposort([one])]
    assert ops.count(TensorDot) + ops.count(Dot) == 1 and MatMul not in ops


@pytest.mark.parametrize("index", [
    lambda x: x[1:, 0], lambda x: x[None, ::-1, 1], lambda x: x[[0, 2, 1]],
    lambda x: x[[0, 1], :, [1, 0]], lambda x: x[:, [2, 0]], lambda x: x[1, :, [0, 1]],
    lambda x: x[np.array([True, False, True])], lambda x: x[0, [1, 0]]], ids=range(8))
def test_indexing_batched(index):
    rng = np.random.default_rng(3)
    check_against_loop(index, _values(rng, (3, 4, 2)), (0,), _types((None,) * 3))


@pytest.mark.parametrize("index", [
    lambda x: x[1:, 0], lambda x: x[[0, 2]], lambda x: x[[0, 1], :, [1, 0]],
    lambda x: x[1, :, [0, 1]], lambda x: x[:, [2, 0]]], ids=range(5))
@pytest.mark.parametrize("positions", [(0,), (1,), (0, 1)], ids=str)
@pytest.mark.parametrize("set_", [False, True])
def test_set_and_inc_subtensor_batched(index, positions, set_):
    rng = np.random.default_rng(4)
    x = T.dtensor3("x")
    y_ndim = index(x).ndim
    fn = T.set_subtensor if set_ else T.inc_subtensor
    # y of one dimension fewer than x[idx]: it broadcasts from the right.
    check_against_loop(lambda x, y: fn(index(x), y),
                       [rng.uniform(size=(3, 4, 2)),
                        rng.uniform(size=np.shape(index(np.zeros((3, 4, 2))))[1:])],
                       positions, _types((None,) * 3, (None,) * (y_ndim - 1)))


def test_inc_subtensor_repeated_indices_batched():
    rng = np.random.default_rng(5)
    check_against_loop(lambda x, y: T.inc_subtensor(x[[0, 0, 2]], y),
                       _values(rng, (3, 2), (3, 2)), (1,), _types((None, None), (None, None)))


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_rewritten_graph_ops_batched(mode):
    """Composite, FusedReduce, Gemm/Gemv/Ger and PaddedSum come from the rewrites: batch
    a compiled graph's outputs over its inputs."""
    from symtheano.tensor.blas_ops import Gemm, Gemv, Ger
    from symtheano.tensor.composite import Composite, FusedReduce
    from symtheano.tensor.padded_sum import PaddedSum

    rng = np.random.default_rng(6)
    x, v, w = T.dvector("x"), T.dvector("v"), T.dvector("w")
    A, C = T.dmatrix("A"), T.dmatrix("C")
    outs = [T.exp(x) * 2 + T.log1p(x ** 2),                          # Composite
            T.sum((x - 1) ** 2),                                      # FusedReduce
            T.dot(A, C) * 2.0 + C,                                    # Gemm
            T.dot(A, v) * 3.0 + w,                                    # Gemv
            A + 0.5 * T.outer(v, w),                                  # Ger
            T.grad(T.sum(x[1:] * x[:-1]) + T.sum(x[2:] ** 3), x)]     # PaddedSum
    f = th.function([x, v, w, A, C], outs, mode="C")
    rewritten = list(f.fgraph.outputs)
    found = {type(n.op) for n in toposort(rewritten)}
    wanted = {Composite, FusedReduce, Gemm, Gemv, Ger, PaddedSum}
    assert wanted <= found, f"the rewrites no longer make {wanted - found}"
    roots = list(f.fgraph.inputs)
    shapes = [(3,), (3,), (3,), (3, 3), (3, 3)]
    patterns = [(i,) for i in range(len(roots))] + [tuple(range(len(roots)))]
    for out in rewritten:
        for positions in patterns:
            check_against_loop(lambda *ins, out=out: _rebuild(out, roots, ins),
                               _values(rng, *shapes), positions, [r.type for r in roots],
                               mode=mode)


def _rebuild(out, roots, new_roots):
    from symtheano.graph.basic import clone_replace

    (res,) = clone_replace([out], dict(zip(roots, new_roots)))
    return res


def test_shape_ops_stay_unbatched():
    x = T.dmatrix("x")
    X = T.dtensor3("X")
    s, s1 = vectorize_graph([x.shape, x.shape[1] * 2.0], {x: X})
    f = th.function([X], [s, s1], mode="PY")
    got_s, got_s1 = f(np.zeros((4, 2, 5)))
    np.testing.assert_array_equal(got_s, np.tile([2, 5], (4, 1)))  # broadcast outputs
    np.testing.assert_array_equal(got_s1, np.full(4, 10.0))


def test_reshape_to_computed_shape_batched():
    rng = np.random.default_rng(8)
    check_against_loop(lambda x: T.reshape(x, (x.shape[1], -1)) * 2,
                       _values(rng, (2, 3)), (0,), _types((None, None)))


def test_independent_outputs_broadcast_and_shared_nodes_kept():
    x, y = T.dvector("x"), T.dvector("y")
    shared = T.exp(y)
    out = vectorize_graph([x * shared, shared], {x: T.dmatrix("X")})
    assert out[0].owner.inputs[1].owner.inputs[0] is shared  # one exp(y), not batched
    f = th.function([out[0].owner.inputs[0], y], out, mode="PY", on_unused_input="ignore")
    got0, got1 = f(np.ones((2, 3)), np.zeros(3))
    np.testing.assert_array_equal(got1, np.ones((2, 3)))


def test_rules_are_registered_for_the_ops_the_brief_names():
    from symtheano.tensor import blas, blas_ops, nnet, reduce, stable
    from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
    from symtheano.tensor.composite import Composite, FusedReduce
    from symtheano.tensor.elemwise import DimShuffle, Elemwise
    from symtheano.tensor.join import Join, Repeat, Split
    from symtheano.tensor.shape import (
        Alloc,
        CheckShape,
        MakeVector,
        Reshape,
        Shape,
        ShapeI,
        SpecifyShape,
    )
    from symtheano.tensor.subtensor import ARRAY, IncSubtensor, Subtensor
    from symtheano.vectorize import rule_for

    exp = T.exp.op.scalar_op
    ops = [Elemwise(exp), DimShuffle(1, (0, "x")), reduce.Sum((0,)), reduce.Prod((0,)),
           reduce.Max((0,)), reduce.Min((0,)), reduce.All((0,)), reduce.Any((0,)),
           reduce.Argmax(0), reduce.Argmin(None), Subtensor(()), IncSubtensor(()),
           AdvancedSubtensor((ARRAY,)), AdvancedIncSubtensor((ARRAY,)), Join(0),
           Split(2, 0), Repeat(0), MakeVector(), SpecifyShape((None,)),
           CheckShape((0,)), Reshape(1), Alloc(), Shape(), ShapeI(0), blas.Dot(), blas.MatMul(),
           blas.TensorDot((0,), (0,)),
           blas_ops.Gemm(), blas_ops.Gemv(), blas_ops.Ger(), nnet.Softmax(0),
           nnet.LogSoftmax(0), nnet.OneHot(), stable.LogSumExp((0,)),
           stable.SoftmaxCrossentropy(), Composite([("float64", 0)], [], [(exp, (0,), 0)]),
           FusedReduce(Composite([("float64", 1)], [], [(exp, (0,), 1)]), reduce.Sum((0,))),
           T.zero_grad(T.dvector()).owner.op]
    missing = [op for op in ops if rule_for(op) is None]
    assert not missing
    assert len(BATCHING_RULES) >= 30


# -- the fallback ---------------------------------------------------------------------------------

def test_ops_without_a_rule_fall_back_to_a_loop():
    n = T.lscalar("n")
    N = T.lvector("N")
    out = vectorize_graph(T.eye(3, 3, n), {n: N})  # ones on diagonal n
    (node,) = fallback_nodes(out)
    assert isinstance(node.op, Blockwise)
    for mode in ("PY", "C"):
        got = th.function([N], out, mode=mode)(np.array([0, 1, -1]))
        np.testing.assert_array_equal(got, np.stack([np.eye(3, 3, k) for k in (0, 1, -1)]))


def test_fallback_items_of_different_shapes_raise():
    n = T.lscalar("n")
    N = T.lvector("N")
    out = vectorize_graph(T.arange(n), {n: N})
    f = th.function([N], out, mode="PY")
    np.testing.assert_array_equal(f(np.array([2, 2])), [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="different shapes"):
        f(np.array([2, 3]))


def test_fallback_is_differentiable_both_ways():
    """Blockwise's gradient and pushforward are its core op's, batched."""
    from symtheano.gradient import Rop, grad

    x, n = T.dvector("x"), T.lscalar("n")
    X, N = T.dmatrix("X"), T.lvector("N")
    y = vectorize_graph(T.reshape(x, (n, -1)) ** 2, {x: X, n: N})  # the shape is batched
    assert fallback_nodes(y)
    w = np.arange(12.0).reshape(2, 6) / 10
    g = th.function([X, N], grad(T.sum(y * np.arange(6.0).reshape(1, 2, 3)), X),
                    mode="PY")(w, np.array([2, 2]))
    np.testing.assert_allclose(g, 2 * w * np.arange(6.0)[None, :])
    V = T.dmatrix("V")
    jv = th.function([X, N, V], Rop(y, X, V), mode="PY")(w, np.array([2, 2]), np.ones((2, 6)))
    np.testing.assert_allclose(jv, (2 * w).reshape(2, 2, 3))


def test_fallback_gradient_of_a_shared_input_sums_the_items():
    from symtheano.gradient import grad

    a, n = T.dvector("a"), T.lscalar("n")
    N = T.lvector("N")
    y = vectorize_graph(T.reshape(a, (n, -1)), {n: N})  # a is shared by the items
    assert fallback_nodes(y)
    g = th.function([a, N], grad(T.sum(y), a), mode="PY")(np.ones(4), np.array([2, 2, 2]))
    np.testing.assert_allclose(g, np.full(4, 3.0))


# -- errors ----------------------------------------------------------------------------------

def test_replacement_must_add_one_dimension():
    x = T.dvector("x")
    with pytest.raises(ValueError, match="one more dimension"):
        vectorize_graph(x * 2, {x: T.dvector("X")})


def test_replacement_must_keep_the_dtype():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="dtype"):
        vectorize_graph(x * 2, {x: T.fmatrix("X")})


def test_replacement_static_sizes_must_agree():
    x = TensorType("float64", (3,))("x")
    with pytest.raises(ValueError, match="static size"):
        vectorize_graph(x * 2, {x: TensorType("float64", (None, 4))("X")})


def test_replacement_gets_the_item_static_shape():
    """A batch of unknown item size stands for an x of static size 1: it is declared
    so (checked at run time), so x still broadcasts in the batched graph."""
    x = TensorType("float64", (1,))("x")
    X, y = T.dmatrix("X"), T.dvector("y")
    out = vectorize_graph(x + y, {x: X})
    f = th.function([X, y], out, mode="PY")
    np.testing.assert_array_equal(f(np.ones((2, 1)), np.arange(3.0)), 1 + np.tile(
        np.arange(3.0), (2, 1)))
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), np.arange(3.0))
