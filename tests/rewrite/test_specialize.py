"""The specialize stage: each rewrite fires on its pattern (checked in the rewrite
report and the compiled graph), not on near misses, and the compiled results
equal NumPy's and the unrewritten graph's; gradients through the rewritten
graphs match central differences. Also the type checks of the BLAS-shaped ops
(their values and gradients are in tests/tensor/cases_blas_ops.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.gradient import verify_grad
from symtheano.tensor.blas import Dot, TensorDot
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger, gemm, gemv, ger
from symtheano.tensor.elemwise import Elemwise
from symtheano.tensor.reduce import Sum
from symtheano.tensor.type import TensorType

# Fusion would fold the nodes these tests count into Composite steps.
FAST = Mode(optimizer="fast_run", excluding=["fusion", "inplace"])
NONE = Mode(optimizer=None)
RNG = np.random.default_rng(20240603)


def compile_checked(inputs, output, values, expected=None, rtol=1e-13, atol=1e-13):
    """The fast_run function; asserts it agrees with optimizer=None and `expected`."""
    f = th.function(inputs, output, mode=FAST, on_unused_input="ignore")
    g = th.function(inputs, output, mode=NONE, on_unused_input="ignore")
    got, plain = f(*values), g(*values)
    assert got.dtype == plain.dtype
    np.testing.assert_allclose(got, plain, rtol=rtol, atol=atol, equal_nan=True)
    if expected is not None:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    return f


def counts(f):
    return f.rewrite_report().counts


def ops(f, *classes):
    return [n for n in f.fgraph.apply_nodes if isinstance(n.op, classes)]


def scalar_ops(f, name):
    return [n for n in f.fgraph.apply_nodes
            if isinstance(n.op, Elemwise) and n.op.scalar_op.name == name]


def rand(shape, dtype="float64", low=0.5, high=2.0):
    return RNG.uniform(low, high, size=shape).astype(dtype)


# -- powers ------------------------------------------------------------------------------------

POWERS = [(2, "pow_two"), (3, "pow_int"), (4, "pow_int"), (5, "pow_int"), (7, "pow_int"),
          (16, "pow_int"), (3.0, "pow_int"), (-2, "pow_int"), (-3, "pow_int"),
          (-16, "pow_int"), (-1, "pow_minus_one"), (0.5, "pow_half"),
          (-0.5, "pow_minus_half")]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("exponent,name", POWERS)
def test_constant_powers_are_specialized(exponent, name, dtype):
    x = T.vector("x", dtype=dtype)
    xv = np.concatenate([rand(20, dtype, 0.1, 3.0), -rand(5, dtype, 0.1, 3.0)])
    if exponent in (0.5, -0.5):
        xv = np.abs(xv)
    tol = 1e-13 if dtype == "float64" else 2e-6
    with np.errstate(all="ignore"):
        want = np.power(xv, np.asarray(exponent, dtype=dtype))
    f = compile_checked([x], x ** exponent, [xv], want, rtol=tol, atol=0)
    assert counts(f)[name] == 1
    assert not scalar_ops(f, "pow")


def test_int_power_by_squaring_uses_few_multiplies():
    x = T.dvector("x")
    xv = rand(6)
    f = compile_checked([x], x ** 15, [xv], xv ** 15)
    # x**15 = x * x^2 * x^4 * x^8: three squarings and one 4-ary product.
    assert len(scalar_ops(f, "sqr")) == 3 and len(scalar_ops(f, "mul")) == 1


def test_powers_keep_the_output_dtype():
    # int8 ** int64 is int64: squaring in int8 would wrap around.
    b = T.bvector("b")
    bv = np.array([100, -100, 7, 0], dtype="int8")
    f = compile_checked([b], b ** T.constant(np.int64(2)), [bv], bv.astype("int64") ** 2)
    assert f(bv).dtype == np.int64 and counts(f)["pow_two"] == 1
    f = compile_checked([b], b ** T.constant(np.int64(3)), [bv], bv.astype("int64") ** 3)
    assert counts(f)["pow_int"] == 1
    # float32 ** float64 is float64: the product is computed in float64.
    x = T.fvector("x")
    xv = rand(8, "float32")
    f = compile_checked([x], x ** T.constant(np.float64(3)), [xv], xv.astype("float64") ** 3)
    assert f(xv).dtype == np.float64 and counts(f)["pow_int"] == 1
    # an int base to the power 0.5 gives a float (sqrt of the base cast first).
    i = T.ivector("i")
    iv = np.array([0, 1, 4, 9, 2], dtype="int32")
    f = compile_checked([i], i ** 0.5, [iv], np.sqrt(iv.astype("float64")))
    assert counts(f)["pow_half"] == 1


def test_positive_int_powers_of_ints_are_exact_also_when_they_wrap():
    x = T.ivector("x")
    xv = np.array([3, -7, 46341, 100000, 0, 1, -1], dtype="int32")
    with np.errstate(over="ignore"):
        want = np.power(xv, 5)
    f = compile_checked([x], x ** 5, [xv], want)
    assert counts(f)["pow_int"] == 1
    np.testing.assert_array_equal(f(xv), want)


@pytest.mark.parametrize("exponent", [-1, -2, -3, -5])
def test_negative_int_powers_of_ints_are_not_rewritten(exponent):
    # Pow truncates: 2 ** -1 is 0, (-1) ** -3 is -1; a float reciprocal would not be.
    x = T.lvector("x")
    xv = np.array([1, -1, 2, -2, 5], dtype="int64")
    want = np.where(xv == 1, 1, np.where(xv == -1, (-1) ** abs(exponent), 0))
    f = compile_checked([x], x ** T.constant(np.int64(exponent)), [xv], want)
    assert f(xv).dtype == np.int64
    assert len(scalar_ops(f, "pow")) == 1
    assert not any(counts(f)[n] for n in ("pow_int", "pow_minus_one"))


@pytest.mark.parametrize("exponent", [17, -17, 2.5, 1.5, -0.25, 100])
def test_other_constant_powers_stay_pow(exponent):
    x = T.dvector("x")
    xv = rand(5)
    f = compile_checked([x], x ** exponent, [xv], xv ** exponent)
    assert len(scalar_ops(f, "pow")) == 1


def test_symbolic_and_non_uniform_exponents_stay_pow():
    x, y = T.dvectors("x", "y")
    xv, yv = rand(3), np.array([2.0, 3.0, 0.5])
    f = compile_checked([x, y], x ** y, [xv, yv], xv ** yv)
    assert len(scalar_ops(f, "pow")) == 1
    f = compile_checked([x], x ** T.constant(yv), [xv], xv ** yv)
    assert len(scalar_ops(f, "pow")) == 1


def test_power_rewrites_can_be_excluded():
    x = T.dvector("x")
    f = th.function([x], x ** 3, mode=Mode(excluding=["pow_int"]))
    assert len(scalar_ops(f, "pow")) == 1 and not counts(f)["pow_int"]


def test_pow_half_at_special_values():
    # pow(-inf, 0.5) is +inf (IEEE) while sqrt(-inf) is NaN: the rewrite keeps pow's value.
    x = T.dvector("x")
    xv = np.array([0.0, -0.0, np.inf, -np.inf, -1.0, np.nan, 4.0])
    # NumPy's power sometimes takes a sqrt fast path (NaN at -inf, -0 at -0); the reference
    # is C's IEEE pow, as math.pow implements it (+inf at -inf, +0 at -0).
    def ieee_pow(v, p):
        try:
            return math.pow(v, p)
        except (ValueError, ZeroDivisionError):
            return math.nan if v < 0 and v != -math.inf else math.inf

    for p in (0.5, -0.5):
        want = np.array([ieee_pow(v, p) for v in xv])
        with np.errstate(invalid="ignore", divide="ignore"):
            f = compile_checked([x], x ** p, [xv], want)
        got = f(xv)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    compile_checked([x], x ** -1, [np.array([0.0, -0.0, np.inf, 2.0])],
                    np.array([np.inf, -np.inf, 0.0, 0.5]))


# -- scalar factors out of sums ----------------------------------------------------------------

def _sum_of_x(f):
    """Sum nodes reading a graph input directly (the factor moved out)."""
    return [n for n in ops(f, Sum) if n.inputs[0].owner is None]


@pytest.mark.parametrize("build", [
    lambda x, a: T.sum(x * a),
    lambda x, a: T.sum(a * x * 3.0),
    lambda x, a: T.sum(x * a, axis=1),
    lambda x, a: T.mean(x * a),
    lambda x, a: T.mean(a * x, axis=0),
    lambda x, a: T.sum(x * T.shape_padleft(a, 2)),
], ids=["sum", "two_scalars", "axis", "mean", "mean_axis", "broadcastable"])
def test_sum_of_scalar_times_x(build):
    x, a = T.dmatrix("x"), T.dscalar("a")
    xv, av = rand((4, 5), low=-1), 1.7
    ref = th.function([x, a], build(x, a), mode=NONE)(xv, av)
    f = compile_checked([x, a], build(x, a), [xv, av], ref)
    assert counts(f)["sum_scalar_mul"] == 1
    assert len(_sum_of_x(f)) == 1


def test_sum_of_row_times_x_over_axis_0():
    # Along axis 0 the row is constant, so it factors out of that sum ...
    x, r = T.dmatrix("x"), T.row("r", dtype="float64")
    xv, rv = rand((4, 3)), rand((1, 3))
    f = compile_checked([x, r], T.sum(x * r, axis=0), [xv, rv], (xv * rv).sum(axis=0))
    assert counts(f)["sum_scalar_mul"] == 1
    # ... but not out of a sum over both axes, nor axis 1.
    for axis in (None, 1):
        f = compile_checked([x, r], T.sum(x * r, axis=axis), [xv, rv],
                            (xv * rv).sum(axis=axis))
        assert not counts(f)["sum_scalar_mul"]


def test_sum_near_misses():
    x, y = T.dvectors("x", "y")
    xv, yv = rand(5), rand(5)
    f = compile_checked([x, y], T.sum(x * y), [xv, yv], np.sum(xv * yv))
    assert not counts(f)["sum_scalar_mul"]
    # Integer products wrap around before they are summed: int8 100 * 3 is 44.
    b, c = T.bvector("b"), T.bscalar("c")
    bv = np.array([100, 100], dtype="int8")
    want = np.sum((bv * np.int8(3)).astype("int8"), dtype="int64")
    f = compile_checked([b, c], T.sum(b * c), [bv, np.int8(3)], want)
    assert not counts(f)["sum_scalar_mul"]


def test_sum_scalar_mul_keeps_the_accumulation_dtype():
    # float32 x times a float64 scalar is summed in float64, before and after.
    x, a = T.fvector("x"), T.dscalar("a")
    xv = (np.ones(10_000) + 1e-4).astype("float32")
    f = compile_checked([x, a], T.sum(x * a), [xv, 3.0], np.sum(xv.astype("float64") * 3.0))
    assert counts(f)["sum_scalar_mul"] == 1
    assert all(n.inputs[0].dtype == "float64" for n in ops(f, Sum))


# -- products as BLAS calls --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dot_becomes_gemm_gemv_ger(dtype):
    A, B = T.matrix("A", dtype=dtype), T.matrix("B", dtype=dtype)
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    c, r = T.col("c", dtype=dtype), T.row("r", dtype=dtype)
    Av, Bv, xv, yv = rand((3, 4), dtype), rand((4, 5), dtype), rand(4, dtype), rand(3, dtype)
    tol = 1e-13 if dtype == "float64" else 1e-6
    cases = [
        ([A, B], T.dot(A, B), [Av, Bv], Av @ Bv, "dot_to_gemm", Gemm),
        ([A, x], T.dot(A, x), [Av, xv], Av @ xv, "dot_to_gemv", Gemv),
        ([y, A], T.dot(y, A), [yv, Av], yv @ Av, "dot_to_gemv", Gemv),
        ([x, y], T.outer(x, y), [xv, yv], np.outer(xv, yv), "dot_to_ger", Ger),
        ([c, r], T.dot(c, r), [Av[:, :1], Bv[:1]], Av[:, :1] @ Bv[:1], "dot_to_ger", Ger),
    ]
    for inputs, out, values, want, name, cls in cases:
        f = compile_checked(inputs, out, values, want, rtol=tol, atol=tol)
        assert counts(f)[name] == 1 and len(ops(f, cls)) == 1 and not ops(f, Dot)


def test_dots_that_stay_dots():
    x, y = T.dvectors("x", "y")
    f = compile_checked([x, y], T.dot(x, y), [rand(4), rand(4)])
    assert len(ops(f, Dot)) == 1
    I, J = T.imatrix("I"), T.imatrix("J")
    Iv = RNG.integers(-5, 5, (3, 3)).astype("int32")
    f = compile_checked([I, J], T.dot(I, J), [Iv, Iv], Iv @ Iv)
    assert len(ops(f, Dot)) == 1 and not ops(f, Gemm)
    F, D = T.fmatrix("F"), T.dmatrix("D")
    f = compile_checked([F, D], T.dot(F, D), [rand((2, 3), "float32"), rand((3, 2))])
    assert len(ops(f, Dot)) == 1 and not ops(f, Gemm, Gemv, Ger)
    X, Y = T.dtensor3("X"), T.dtensor3("Y")
    Xv, Yv = rand((2, 3, 4)), rand((2, 4, 5))
    f = compile_checked([X, Y], T.dot(X, Y), [Xv, Yv], np.dot(Xv, Yv))
    assert len(ops(f, TensorDot)) == 1 and not ops(f, Gemm, Gemv, Ger)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_alpha_dot_plus_beta_c_is_one_gemm(dtype):
    A, B, C = (T.matrix(n, dtype=dtype) for n in "ABC")
    a, b = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
    Av, Bv, Cv = rand((3, 4), dtype), rand((4, 5), dtype), rand((3, 5), dtype)
    av, bv = np.asarray(0.7, dtype), np.asarray(-1.3, dtype)
    tol = 1e-13 if dtype == "float64" else 1e-5
    f = compile_checked([A, B, C, a, b], a * T.dot(A, B) + b * C, [Av, Bv, Cv, av, bv],
                        av * Av @ Bv + bv * Cv, rtol=tol, atol=tol)
    assert len(f.fgraph.apply_nodes) == 1
    (node,) = ops(f, Gemm)
    assert [v.name for v in node.inputs] == list("CaABb")


GEMM_FORMS = [
    (lambda A, B, C, a, b: T.dot(A, B) + C, lambda A, B, C, a, b: A @ B + C),
    (lambda A, B, C, a, b: C + T.dot(A, B), lambda A, B, C, a, b: A @ B + C),
    (lambda A, B, C, a, b: C - T.dot(A, B), lambda A, B, C, a, b: C - A @ B),
    (lambda A, B, C, a, b: T.dot(A, B) - C, lambda A, B, C, a, b: A @ B - C),
    (lambda A, B, C, a, b: 2 * T.dot(A, B) + C * 0.5, lambda A, B, C, a, b: 2 * A @ B + C / 2),
    (lambda A, B, C, a, b: T.dot(A, B) * a - b * C, lambda A, B, C, a, b: A @ B * a - b * C),
    (lambda A, B, C, a, b: -T.dot(A, B) + C, lambda A, B, C, a, b: C - A @ B),
    (lambda A, B, C, a, b: a * (b * T.dot(A, B)) + C, lambda A, B, C, a, b: a * b * A @ B + C),
    (lambda A, B, C, a, b: 3.0 * T.dot(A, B), lambda A, B, C, a, b: 3 * A @ B),
    (lambda A, B, C, a, b: a * b * C * 2 + T.dot(A, B),
     lambda A, B, C, a, b: a * b * 2 * C + A @ B),
]


@pytest.mark.parametrize("build,ref", GEMM_FORMS, ids=[str(i) for i in range(len(GEMM_FORMS))])
def test_gemm_forms_fold_into_one_gemm(build, ref):
    A, B, C = T.dmatrices("A", "B", "C")
    a, b = T.dscalars("a", "b")
    vals = [rand((3, 4), low=-1), rand((4, 5), low=-1), rand((3, 5), low=-1), 0.7, -1.3]
    f = compile_checked([A, B, C, a, b], build(A, B, C, a, b), vals, ref(*vals))
    assert len(ops(f, Gemm)) == 1 and not ops(f, Dot)
    assert not scalar_ops(f, "add") and not scalar_ops(f, "sub")
    # Nothing but the gemm touches whole matrices.
    assert all(n.outputs[0].ndim == 0 for n in f.fgraph.apply_nodes if n.op != Gemm())


def test_dot_plus_bias_row_is_a_gemm_with_a_broadcast_term():
    X, W, bias = T.dmatrix("X"), T.dmatrix("W"), T.dvector("bias")
    Xv, Wv, bv = rand((6, 4)), rand((4, 3)), rand(3)
    f = compile_checked([X, W, bias], T.dot(X, W) + bias, [Xv, Wv, bv], Xv @ Wv + bv)
    (node,) = ops(f, Gemm)
    assert node.inputs[0].type.shape == (1, None)
    assert len(f.fgraph.apply_nodes) == 2  # the gemm and the dimshuffle making the row


def test_gemv_and_ger_forms():
    A, M = T.dmatrices("A", "M")
    x, y, z = T.dvectors("x", "y", "z")
    a, b = T.dscalars("a", "b")
    Av, xv, yv, Mv = rand((3, 4)), rand(4), rand(3), rand((3, 4))
    zv = rand(3)
    f = compile_checked([A, x, y, a, b], a * T.dot(A, x) + b * y, [Av, xv, yv, 0.5, 2.0],
                        0.5 * Av @ xv + 2 * yv)
    assert len(f.fgraph.apply_nodes) == 1 and ops(f, Gemv)
    f = compile_checked([A, x, y], y - T.dot(A, x), [Av, xv, yv], yv - Av @ xv)
    assert len(f.fgraph.apply_nodes) == 1 and ops(f, Gemv)
    f = compile_checked([A, y, z], T.dot(y, A) * 2 + z[:1].sum(), [Av, yv, zv],
                        yv @ Av * 2 + zv[0])
    assert len(ops(f, Gemv)) == 1 and not scalar_ops(f, "add")
    f = compile_checked([M, y, x, a], M + a * T.outer(y, x), [Mv, yv, xv, 0.3],
                        Mv + 0.3 * np.outer(yv, xv))
    assert len(f.fgraph.apply_nodes) == 1 and ops(f, Ger)
    f = compile_checked([M, y, x], M - T.outer(y, x), [Mv, yv, xv], Mv - np.outer(yv, xv))
    assert len(ops(f, Ger)) == 1 and not scalar_ops(f, "sub")
    f = compile_checked([M, y, x, a], T.outer(y, x) - a * M, [Mv, yv, xv, 0.3],
                        np.outer(yv, xv) - 0.3 * Mv)
    assert len(ops(f, Ger)) == 1 and not scalar_ops(f, "sub")


def test_blas_folding_near_misses():
    A, B, C = T.dmatrices("A", "B", "C")
    v = T.dvector("v")
    Av, Bv, Cv, vv = rand((3, 4)), rand((4, 5)), rand((3, 5)), rand(5)
    # The product is also an output: folding C in would compute it twice.
    f = th.function([A, B, C], [T.dot(A, B), T.dot(A, B) + C], mode=FAST)
    p, q = f(Av, Bv, Cv)
    np.testing.assert_allclose(q, Av @ Bv + Cv, rtol=1e-13)
    assert len(ops(f, Gemm)) == 1 and not counts(f)["blas_add"]
    # A non-scalar factor is no alpha.
    f = compile_checked([A, B, v], T.dot(A, B) * v, [Av, Bv, vv], (Av @ Bv) * vv)
    assert not counts(f)["blas_scale"]
    # A one-row product that the added term broadcasts stays an add.
    r = T.row("r", dtype="float64")
    f = compile_checked([r, B, C], T.dot(r, B) + C, [Av[:1], Bv, Cv], Av[:1] @ Bv + Cv)
    assert not counts(f)["blas_add"] and len(scalar_ops(f, "add")) == 1
    C3 = TensorType("float64", (3, None))("C3")
    f = compile_checked([r, B, C3], T.dot(r, B) + C3, [Av[:1], Bv, Cv], Av[:1] @ Bv + Cv)
    assert not counts(f)["blas_add"] and len(scalar_ops(f, "add")) == 1
    # Mixed precision: a float32 product plus float64 C is a float64 add.
    F, G = T.fmatrices("F", "G")
    f = compile_checked([F, G, C], T.dot(F, G) + C,
                        [Av.astype("float32"), Bv.astype("float32"), Cv], rtol=1e-6)
    assert not counts(f)["blas_add"] and len(scalar_ops(f, "add")) == 1
    # float64 alpha times a float32 product is float64: no float32 gemm absorbs it.
    a = T.dscalar("a")
    f = compile_checked([F, G, a], a * T.dot(F, G),
                        [Av.astype("float32"), Bv.astype("float32"), 2.0], rtol=1e-6)
    assert not counts(f)["blas_scale"]


def test_gemm_keeps_inf_and_nan_of_c_when_beta_is_zero():
    A, B, C = T.dmatrices("A", "B", "C")
    b = T.dscalar("b")
    Cv = np.full((2, 2), np.inf)
    Av, Bv = rand((2, 3)), rand((3, 2))
    f = compile_checked([A, B, C, b], T.dot(A, B) + b * C, [Av, Bv, Cv, 0.0])
    assert np.isnan(f(Av, Bv, Cv, 0.0)).all() and len(ops(f, Gemm)) == 1


def test_gradients_through_specialized_graphs():
    def mlp(X, W, bias, V):
        h = T.tanh(T.dot(X, W) + bias)
        return T.sum(T.dot(h, V) ** 3) + 0.5 * T.sum(W ** 2) + T.mean(h * 2.0) + T.sum(V ** -2)

    X, W, bias, V = T.dmatrix("X"), T.dmatrix("W"), T.dvector("bias"), T.dvector("V")
    vals = [rand((5, 4), low=-1, high=1), rand((4, 3), low=-1, high=1),
            rand(3, low=-1, high=1), rand(3)]
    grads = T.grad(mlp(X, W, bias, V), [X, W, bias, V])
    f = th.function([X, W, bias, V], grads, mode=FAST)
    g = th.function([X, W, bias, V], grads, mode=NONE)
    for got, want in zip(f(*vals), g(*vals)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    c = counts(f)
    assert c["dot_to_gemm"] and c["dot_to_gemv"] and c["dot_to_ger"] and c["pow_int"]
    assert not ops(f, Dot)
    verify_grad(mlp, vals, mode=FAST)


def test_gradients_of_the_blas_ops_themselves():
    # Differentiating a graph that already holds gemm/gemv/ger (then rewritten again).
    def cost(C, A, B, x, y):
        one = T.constant(np.float64(1.5))
        out = gemm(C, one, A, B, one) ** 2
        return T.sum(out) + T.sum(gemv(y, one, A, x[:4], one)) + T.sum(ger(C, one, y, x))

    vals = [rand((3, 5)), rand((3, 4)), rand((4, 5)), rand(5), rand(3)]
    verify_grad(cost, vals, mode=FAST)


# -- the ops' type checks ----------------------------------------------------------------------

def test_blas_ops_check_their_inputs():
    A, B, C = T.dmatrices("A", "B", "C")
    F = T.fmatrix("F")
    a = T.dscalar("a")
    x = T.dvector("x")
    with pytest.raises(TypeError, match="input B .*dtype float64"):
        gemm(C, a, A, F, a)
    with pytest.raises(TypeError, match="float32 or float64"):
        gemm(T.imatrix(), T.iscalar(), T.imatrix(), T.imatrix(), T.iscalar())
    with pytest.raises(TypeError, match="input alpha .*0 dimensions"):
        gemm(C, x, A, B, a)
    with pytest.raises(TypeError, match="input x .*1 dimensions"):
        gemv(x, a, A, A, a)
    fixed = TensorType("float64", (3, 4))
    with pytest.raises(ValueError, match="inner dimensions"):
        gemm(C, a, fixed(), fixed(), a)
    with pytest.raises(ValueError, match="input C .*size 5 in dimension 1"):
        gemm(TensorType("float64", (3, 5))(), a, fixed(), TensorType("float64", (4, 2))(), a)
    f = th.function([C, a, A, B], gemm(C, a, A, B, a), mode=NONE)
    with pytest.raises(ValueError, match="inner dimensions"):
        f(np.ones((2, 2)), 1.0, np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="broadcasts only along"):
        f(np.ones((1, 2)), 1.0, np.ones((2, 3)), np.ones((3, 2)))
    assert th.printing.pp(ger(C, a, x, x)) == "ger(C, a, x, x)"
