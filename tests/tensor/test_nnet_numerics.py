"""Numerical behaviour of T.nnet at extreme inputs, and the contracts of the products
in blas.py that the registry cases do not express: static shapes and dtypes,
gradient shapes for every ndim combination of dot, and error messages.

Documented behaviour of categorical_crossentropy (asserted below): the cost of a
row is +inf exactly when the probability it gives to a true class is 0 (for
instance underflowed in a softmax); probabilities that underflow where the true
distribution is 0 contribute 0 (0 * log(0) is taken as 0), never NaN. For costs
that stay finite there, use log_softmax directly: -sum(t * log_softmax(x)).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

import symtheano as th
import symtheano.tensor as T


def _f(inputs, outputs):
    return th.function(inputs, outputs, mode="PY")


EXTREME = np.array([[1000.0, -1000.0, 0.0, 3.0],
                    [-1000.0, -1000.0, -999.0, -1001.0],
                    [1000.0, 1000.0, 999.0, -1000.0],
                    [709.0, 710.0, -745.0, 0.0]])


# -- softmax / log_softmax -------------------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_extreme_rows_finite_and_exact(axis):
    x = T.dmatrix("x")
    sm, lsm = _f([x], [T.nnet.softmax(x, axis=axis), T.nnet.log_softmax(x, axis=axis)])(EXTREME)
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(sm, special.softmax(EXTREME, axis=axis), rtol=1e-12, atol=0)
    np.testing.assert_allclose(lsm, special.log_softmax(EXTREME, axis=axis), rtol=1e-12,
                               atol=0)
    np.testing.assert_allclose(sm.sum(axis=axis), 1.0, rtol=1e-15)


def test_log_softmax_keeps_tiny_probabilities():
    # softmax underflows to 0 here; log_softmax still gives the exact log-probability.
    x = T.dvector("x")
    out = _f([x], T.nnet.log_softmax(x))(np.array([0.0, -2000.0]))
    np.testing.assert_allclose(out, [0.0, -2000.0], rtol=1e-15, atol=0)


def test_softmax_float32_extremes_finite():
    x = T.fmatrix("x")
    sm, lsm = _f([x], [T.nnet.softmax(x), T.nnet.log_softmax(x)])(EXTREME.astype("float32"))
    assert sm.dtype == lsm.dtype == np.float32
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(lsm, special.log_softmax(EXTREME, axis=-1), rtol=1e-5)


@pytest.mark.parametrize("fn", [T.nnet.softmax, T.nnet.log_softmax])
def test_gradients_at_extreme_inputs_finite_and_exact(fn):
    x, w = T.dmatrix("x"), T.dmatrix("w")
    gx = _f([x, w], T.grad(T.sum(fn(x) * w), x))
    weights = np.arange(EXTREME.size, dtype="float64").reshape(EXTREME.shape) / 7 - 1
    got = gx(EXTREME, weights)
    assert np.all(np.isfinite(got))
    sm = special.softmax(EXTREME, axis=-1)
    if fn is T.nnet.softmax:
        want = (weights - np.sum(weights * sm, axis=-1, keepdims=True)) * sm
    else:
        want = weights - sm * np.sum(weights, axis=-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("fn", [T.nnet.softmax, T.nnet.log_softmax])
def test_second_order_gradients(fn):
    rng = np.random.default_rng(3)
    w = T.constant(rng.normal(size=(2, 3)))

    def first_grad(x):
        return T.grad(T.sum(fn(x) * w), x)

    T.verify_grad(first_grad, [rng.normal(size=(2, 3))], mode="PY")


def test_softmax_rejects_bad_axis_and_int_op_input():
    with pytest.raises(ValueError, match="out of range"):
        T.nnet.softmax(T.dmatrix(), axis=2)
    with pytest.raises(ValueError, match="out of range"):
        T.nnet.softmax(T.dscalar())  # axis=-1 of a 0-d array; axis=None works
    with pytest.raises(TypeError, match="float32 or float64"):
        T.nnet.Softmax(1)(T.imatrix())


# -- cross-entropies ---------------------------------------------------------------------------

def test_categorical_crossentropy_inf_only_where_true_class_underflows():
    logits = np.array([[0.0, -1000.0, 2.0],     # class 1 underflows, true class 0
                       [0.0, -1000.0, 2.0],     # true class 1 underflowed: +inf
                       [5.0, 4.0, 3.0]])
    labels = np.array([0, 1, 2])
    x, y, t = T.dmatrix("x"), T.lvector("y"), T.dmatrix("t")
    p = T.nnet.softmax(x)
    outputs = [T.nnet.categorical_crossentropy(p, y), T.nnet.categorical_crossentropy(p, t)]
    want = -special.log_softmax(logits, axis=-1)[np.arange(3), labels]
    # The formula as written (no rewrites): +inf where the true class underflowed.
    naive = th.function([x, y, t], outputs, mode=th.compile.mode.Mode(optimizer=None))
    for got in naive(logits, labels, np.eye(3)[labels]):
        assert np.isinf(got[1]) and got[1] > 0
        assert np.all(np.isfinite(got[[0, 2]]))
        np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-12)
    # Compiled normally, the stabilize stage computes the cross-entropy of a softmax
    # from the logits: the exact, finite cost everywhere.
    for got in _f([x, y, t], outputs)(logits, labels, np.eye(3)[labels]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_categorical_crossentropy_gradient_finite_with_underflowed_other_class():
    x, y = T.dmatrix("x"), T.lvector("y")
    cost = T.sum(T.nnet.categorical_crossentropy(T.nnet.softmax(x), y))
    logits = np.array([[0.0, -1000.0, 2.0]])
    g = _f([x, y], T.grad(cost, x))(logits, np.array([0]))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, special.softmax(logits, axis=-1) - [[1, 0, 0]], rtol=1e-12,
                               atol=1e-300)


def test_categorical_crossentropy_errors():
    with pytest.raises(ValueError, match="class indices"):
        T.nnet.categorical_crossentropy(T.dmatrix("p"), T.lmatrix("y"))
    with pytest.raises(ValueError, match="shape of coding_dist"):
        T.nnet.categorical_crossentropy(T.dmatrix("p"), T.dvector("t"))
    with pytest.raises(TypeError, match="float array"):
        T.nnet.categorical_crossentropy(T.lmatrix("p"), T.lvector("y"))
    p, y = T.dmatrix("p"), T.lvector("y")
    f = _f([p, y], T.nnet.categorical_crossentropy(p, y))
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        f(np.full((2, 3), 1 / 3), np.array([0, 3]))


def test_sigmoid_binary_crossentropy_extreme_logits():
    x, t = T.dvector("x"), T.dvector("t")
    cost = T.nnet.sigmoid_binary_crossentropy(x, t)
    f = _f([x, t], [cost, T.grad(T.sum(cost), x)])
    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0, 800.0])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 0.25])
    value, grad = f(logits, targets)
    np.testing.assert_allclose(value, np.logaddexp(0, logits) - targets * logits, rtol=1e-15)
    np.testing.assert_allclose(grad, special.expit(logits) - targets, rtol=1e-15)


def test_binary_crossentropy_zero_times_log_zero_is_zero():
    o, t = T.dvector("o"), T.dvector("t")
    got = _f([o, t], T.nnet.binary_crossentropy(o, t))(np.array([0.0, 1.0, 0.0]),
                                                       np.array([0.0, 1.0, 1.0]))
    assert got[0] == 0 and got[1] == 0 and np.isposinf(got[2])


def test_activations_are_the_namespace_objects():
    for name in ("sigmoid", "softplus", "relu"):
        assert getattr(T.nnet, name) is getattr(T, name)
    with pytest.raises(AttributeError):
        T.nnet.no_such_activation  # noqa: B018


# -- products (blas.py): static shapes, dtypes, gradient shapes, errors -------------------------

DOT_SHAPES = [((), (3, 2)), ((3, 2), ()), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 3)),
              ((3, 4), (4, 2)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)),
              ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5))]


@pytest.mark.parametrize("sa,sb", DOT_SHAPES)
def test_dot_gradient_shapes_every_ndim_combination(sa, sb):
    rng = np.random.default_rng(0)
    a = T.tensor("float64", (None,) * len(sa), "a")
    b = T.tensor("float64", (None,) * len(sb), "b")
    out = T.dot(a, b)
    va, vb = rng.normal(size=sa), rng.normal(size=sb)
    want = np.dot(va, vb)
    w = rng.normal(size=want.shape)
    ga, gb = T.grad(T.sum(out * w), [a, b])
    assert (ga.ndim, gb.ndim) == (a.ndim, b.ndim)
    got_out, got_a, got_b = _f([a, b], [out, ga, gb])(va, vb)
    assert got_out.shape == want.shape and got_a.shape == sa and got_b.shape == sb
    # d/da sum(dot(a, b) * w): one directional derivative, exact for a bilinear map.
    da = rng.normal(size=sa)
    np.testing.assert_allclose(np.sum(got_a * da), np.sum(np.dot(da, vb) * w), rtol=1e-10)


def test_static_shapes_and_dtypes():
    a = T.tensor("float64", (3, 4), "a")
    b = T.tensor("float32", (4, 5), "b")
    assert T.dot(a, b).type.shape == (3, 5) and T.dot(a, b).dtype == "float64"
    assert T.dot(T.tensor("int32", (2, 4)), T.tensor("int32", (4,))).dtype == "int32"
    assert T.dot(T.tensor("int32", (4,)), T.tensor("float32", (4,))).dtype == "float64"
    assert T.dot(T.tensor("float32", (4,)), T.tensor("float32", (4,))).type.shape == ()
    c = T.tensor("float64", (2, 5, 3), "c")
    assert T.dot(a, T.tensor("float64", (6, 4, 2))).type.shape == (3, 6, 2)
    assert T.tensordot(c, T.tensor("float64", (3, 5, 7)), ([1, 2], [1, 0])).type.shape == (2, 7)
    bm = T.matmul(T.tensor("float64", (1, 3, 4)), T.tensor("float64", (6, 4, 2)))
    assert bm.type.shape == (6, 3, 2)
    assert T.matmul(T.tensor("float64", (4,)), T.tensor("float64", (5, 4, 2))).type.shape == (
        5, 2)
    assert T.batched_dot(T.tensor("float64", (5, 3, 4)),
                         T.tensor("float64", (5, 4))).type.shape == (5, 3)
    assert T.outer(T.tensor("float64", (3,)), T.tensor("float64", (2, 2))).type.shape == (3, 4)


def test_static_inner_mismatch_names_both_inputs():
    a, b = T.tensor("float64", (3, 4), "lhs"), T.tensor("float64", (5, 2), "rhs")
    for build in (T.dot, T.matmul, lambda x, y: T.tensordot(x, y, 1), lambda x, y: x @ y):
        with pytest.raises(ValueError, match=r"lhs.*\(3, 4\).*rhs.*\(5, 2\)"):
            build(a, b)
    with pytest.raises(ValueError, match="batch dimensions"):
        T.matmul(T.tensor("float64", (2, 3, 4), "p"), T.tensor("float64", (3, 4, 2), "q"))
    with pytest.raises(ValueError, match="batch sizes differ"):
        T.batched_dot(T.tensor("float64", (2, 3, 4)), T.tensor("float64", (3, 4, 2)))


@pytest.mark.parametrize("build,sa,sb", [
    (T.dot, (3, 4), (5, 2)), (T.dot, (4,), (5,)), (T.dot, (2, 3, 4), (5, 2)),
    (T.matmul, (2, 3, 4), (2, 5, 2)), (T.batched_dot, (2, 3, 4), (2, 5, 2)),
])
def test_runtime_inner_mismatch_names_both_inputs(build, sa, sb):
    a = T.tensor("float64", (None,) * len(sa), "lhs")
    b = T.tensor("float64", (None,) * len(sb), "rhs")
    f = _f([a, b], build(a, b))
    with pytest.raises(ValueError, match=r"inner dimensions do not match: .*lhs.*rhs"):
        f(np.ones(sa), np.ones(sb))


def test_matmul_batch_broadcast_needs_static_one():
    a, b = T.dtensor3("a"), T.dtensor3("b")
    f = _f([a, b], T.matmul(a, b))
    with pytest.raises(ValueError, match="broadcasts only when its static size is 1"):
        f(np.ones((1, 3, 4)), np.ones((2, 4, 2)))
    with pytest.raises(ValueError, match="batch dimension 0 has sizes 2 and 3"):
        f(np.ones((2, 3, 4)), np.ones((3, 4, 2)))


def test_product_argument_errors():
    with pytest.raises(ValueError, match="scalar"):
        T.matmul(T.dscalar(), T.dmatrix())
    with pytest.raises(ValueError, match="contracted in pairs"):
        T.tensordot(T.dmatrix(), T.dmatrix(), ([0, 1], [0]))
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(T.dmatrix(), T.dmatrix(), ([2], [0]))
    with pytest.raises(ValueError, match="axes=3"):
        T.tensordot(T.dmatrix(), T.dtensor3(), 3)
    with pytest.raises(TypeError, match="batch dimension"):
        T.batched_dot(T.dscalar(), T.dmatrix())


def test_pretty():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    assert T.dot(a, b).owner.op.pretty(["a", "b"]) == "dot(a, b)"
    assert T.matmul(T.dtensor3(), T.dtensor3()).owner.op.pretty(["a", "b"]) == "(a @ b)"
    assert T.nnet.softmax(a).owner.op.pretty(["a"]) == "softmax(a, axis=1)"
