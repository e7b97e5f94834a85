"""The canonicalize stage: each rewrite fires on its pattern (seen in the rewrite
report and in the compiled graph) and gives NumPy's values, and does not fire
where it would change a result (inf/NaN inputs, bool and unsigned dtypes,
broadcasting). Regression tests for bugs found by the property test are named
after the bug."""

from __future__ import annotations

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.basic import Cast
from symtheano.tensor.elemwise import DimShuffle, Elemwise
from symtheano.tensor.shape import Alloc, CheckShape, Reshape, Shape, ShapeI
from symtheano.tensor.subtensor import Subtensor
from symtheano.tensor.type import TensorType

# Canonicalize alone (with merge and constant folding), so that graphs can be inspected.
CANON = Mode(excluding=("stabilize", "specialize", "fusion", "inplace"))
CANON_FAST_MATH = Mode(excluding=("stabilize", "specialize", "fusion", "inplace"),
                       fast_math=True)
NONE = Mode(optimizer=None)
RNG = np.random.default_rng(3)


def compiled(inputs, output, mode=CANON):
    return th.function(inputs, output, mode=mode, on_unused_input="ignore")


def fired(f, name):
    return f.rewrite_report().counts[name]


def check(inputs, output, values, expected, mode=CANON, rtol=1e-15):
    """The compiled function; asserts its value equals `expected` (NumPy) and the
    unrewritten graph's, dtype included, NaN positions included."""
    f = compiled(inputs, output, mode)
    got = f(*values)
    plain = compiled(inputs, output, NONE)(*values)
    expected = np.asarray(expected)
    assert got.dtype == plain.dtype == expected.dtype, (got.dtype, plain.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol, equal_nan=True)
    np.testing.assert_allclose(plain, expected, rtol=rtol, equal_nan=True)
    return f


def nodes(f, op_class=None, scalar=None):
    found = []
    for n in f.fgraph.apply_nodes:
        if scalar is not None:
            if isinstance(n.op, Elemwise) and n.op.scalar_op.name == scalar:
                found.append(n)
        elif isinstance(n.op, op_class):
            found.append(n)
    return found


def sample(shape, dtype="float64"):
    return RNG.uniform(-3, 3, size=shape).astype(dtype)


SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan])
pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")


# -- signs ---------------------------------------------------------------------------------------

def test_neg_neg():
    x = T.dvector("x")
    f = check([x], T.neg(T.neg(x)), [SPECIAL], SPECIAL)
    assert fired(f, "neg_neg") == 1
    assert not nodes(f, scalar="neg")
    assert fired(compiled([x], -x), "neg_neg") == 0


def test_sub_neg():
    x, y = T.dvectors("x", "y")
    a, b = sample(5), sample(5)
    f = check([x, y], x - (-y), [a, b], a + b)
    assert fired(f, "sub_neg") == 1
    assert nodes(f, scalar="add") and not nodes(f, scalar="neg")


def test_neg_sub():
    x, y = T.dvectors("x", "y")
    a, b = sample(5), sample(5)
    f = check([x, y], -(x - y), [a, b], b - a)
    assert fired(f, "neg_sub") == 1
    assert not nodes(f, scalar="neg")


@pytest.mark.parametrize("order", ["x + (-y)", "(-y) + x"])
def test_add_neg(order):
    x, y = T.dvectors("x", "y")
    a, b = sample(5), sample(5)
    out = x + (-y) if order == "x + (-y)" else (-y) + x
    f = check([x, y], out, [a, b], a - b)
    assert fired(f, "add_neg") == 1
    assert nodes(f, scalar="sub") and not nodes(f, scalar="neg")


def test_regression_sign_rewrites_on_bool():
    # bool - is xor and bool + is or; neg(True) is True: x + (-y) is not x - y.
    x, y = T.cast(T.lvector("p"), "bool"), T.cast(T.lvector("q"), "bool")
    p, q = x.owner.inputs[0], y.owner.inputs[0]
    pv, qv = np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    xb, yb = pv.astype(bool), qv.astype(bool)
    f = check([p, q], x + (-y), [pv, qv], xb | yb)
    assert fired(f, "add_neg") == 0
    f = check([p, q], x - (-y), [pv, qv], xb ^ yb)
    assert fired(f, "sub_neg") == 0
    f = check([p], 0 - x, [pv], (0 - xb.astype("int8")).astype("int8"))
    assert fired(f, "zero_sub") == 0
    f = check([p], -1 * x, [pv], (-1 * xb.astype("int8")).astype("int8"))
    assert fired(f, "mul_minus_one") == 0


def test_regression_sign_rewrites_on_a_narrower_unsigned_operand():
    # neg(uint8 5) is 251: int16 x + (-y) would become x + 251, not x - 5.
    x = T.TensorType("int16", (None,))("x")
    y = T.TensorType("uint8", (None,))("y")
    xv, yv = np.array([10, -3], dtype="int16"), np.array([5, 200], dtype="uint8")
    f = check([x, y], x + (-y), [xv, yv], xv + (-yv))
    assert fired(f, "add_neg") == 0
    f = check([x, y], x - (-y), [xv, yv], xv - (-yv))
    assert fired(f, "sub_neg") == 0
    f = check([y], -1 * y, [yv], (np.int8(-1) * yv))
    assert fired(f, "mul_minus_one") == 0
    f = check([y], 0 - y, [yv], np.int8(0) - yv)
    assert fired(f, "zero_sub") == 0


def test_sign_rewrites_fire_on_same_dtype_integers():
    x, y = T.ivectors("x", "y")
    xv, yv = np.array([3, -7], dtype="int32"), np.array([2, 9], dtype="int32")
    f = check([x, y], x + (-y), [xv, yv], xv - yv)
    assert fired(f, "add_neg") == 1
    f = check([x], -1 * x, [xv], -xv)
    assert fired(f, "mul_minus_one") == 1


def test_sub_zero():
    x = T.dvector("x")
    f = check([x], x - 0, [SPECIAL], SPECIAL)
    assert fired(f, "sub_zero") == 1
    assert not f.fgraph.apply_nodes
    i = T.lvector("i")
    f = check([i], i - 0.0, [np.array([1, 2])], np.array([1.0, 2.0]))
    assert fired(f, "sub_zero") == 1


def test_sub_zero_does_not_drop_a_broadcasting_constant():
    # x (1 x n) - zeros((3, n)) has 3 rows; x alone has one.
    x = T.row("x", dtype="float64")
    xv = np.array([[1.0, 2.0]])
    f = check([x], x - np.zeros((3, 2)), [xv], np.repeat(xv, 3, axis=0))
    assert fired(f, "sub_zero") == 0


def test_zero_sub():
    x = T.dvector("x")
    f = check([x], 0 - x, [SPECIAL], -SPECIAL)
    assert fired(f, "zero_sub") == 1
    assert nodes(f, scalar="neg") and not nodes(f, scalar="sub")


def test_div_one():
    x = T.dvector("x")
    f = check([x], x / 1, [SPECIAL], SPECIAL)
    assert fired(f, "div_one") == 1
    i = T.lvector("i")
    f = check([i], i / 1, [np.array([3, -4])], np.array([3.0, -4.0]))
    assert fired(f, "div_one") == 1
    assert fired(compiled([x], x / 2), "div_one") == 0


def test_pow_one():
    x = T.dvector("x")
    f = check([x], x ** 1, [SPECIAL], SPECIAL)
    assert fired(f, "pow_one") == 1
    assert not nodes(f, scalar="pow")


def test_mul_minus_one():
    x = T.dvector("x")
    f = check([x], -1 * x, [SPECIAL], -SPECIAL)
    assert fired(f, "mul_minus_one") == 1
    assert nodes(f, scalar="neg") and not nodes(f, scalar="mul")


def _same_zeros_and_values(got, expected):
    """Values as NumPy's (collect_constants may reorder a product's constants: to
    the last bit), and the sign of every zero and infinity exactly."""
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    signed = (expected == 0) | np.isinf(expected)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(expected[signed]))


def test_neg_into_constant_is_exact_with_signed_zeros():
    x, y = T.dvector("x"), T.dvector("y")
    yv = RNG.normal(size=SPECIAL.size)
    f = check([x, y], -(x * 3.0 * y), [SPECIAL, yv], -(SPECIAL * 3.0 * yv))
    assert fired(f, "neg_into_constant") == 1
    assert not nodes(f, scalar="neg")
    _same_zeros_and_values(f(SPECIAL, yv), -(SPECIAL * 3.0 * yv))
    # The product read elsewhere too is left alone (it would be computed twice).
    p = x * 3.0
    g = compiled([x], [-p, p])
    assert fired(g, "neg_into_constant") == 0
    # No float constant: nothing to fold into.
    h = compiled([x, y], -(x * y))
    assert fired(h, "neg_into_constant") == 0 and nodes(h, scalar="neg")


def test_neg_factor_into_constant_is_exact_with_signed_zeros():
    x, y = T.dvector("x"), T.dvector("y")
    yv = RNG.normal(size=SPECIAL.size)
    s = x * y  # a negated factor whose operand is read twice
    out = (-s) * x * 2.0 + s
    expected = (-(SPECIAL * yv)) * SPECIAL * 2.0 + (SPECIAL * yv)
    f = check([x, y], out, [SPECIAL, yv], expected)
    assert fired(f, "neg_factor_into_constant") == 1
    assert not nodes(f, scalar="neg")
    _same_zeros_and_values(f(SPECIAL, yv), expected)
    # Integers keep their negation (a constant's negation may not fit its dtype).
    i = T.lvector("i")
    g = compiled([i], (-i) * np.int64(3))
    assert fired(g, "neg_factor_into_constant") == 0


# -- identities that ignore inf and NaN --------------------------------------------------------

def test_sub_self_fires_on_integers():
    i = T.lmatrix("i")
    iv = np.arange(6).reshape(2, 3)
    f = check([i], i - i, [iv], np.zeros((2, 3), dtype="int64"))
    assert fired(f, "sub_self") == 1
    assert not nodes(f, scalar="sub")


def test_sub_self_strict_keeps_nan_for_inf():
    x = T.dvector("x")
    f = check([x], x - x, [SPECIAL], SPECIAL - SPECIAL)
    assert fired(f, "sub_self") == 0
    assert np.isnan(f(SPECIAL)[4:]).all()


def test_sub_self_under_fast_math():
    x = T.dvector("x")
    f = compiled([x], x - x, CANON_FAST_MATH)
    assert fired(f, "sub_self") == 1
    np.testing.assert_array_equal(f(np.array([1.0, -2.0])), [0.0, 0.0])


def test_sub_self_needs_the_same_variable():
    x, y = T.dvectors("x", "y")
    f = compiled([x, y], x - y, CANON_FAST_MATH)
    assert fired(f, "sub_self") == 0


@pytest.mark.parametrize("mode", [CANON, CANON_FAST_MATH], ids=["strict", "fast_math"])
def test_div_self_is_never_one(mode):
    # x / x is NaN at x = 0, a finite input: no flag makes it 1.
    x = T.dvector("x")
    f = compiled([x], x / x, mode)
    assert nodes(f, scalar="true_div")
    assert sum(f.rewrite_report().counts.values()) == 0
    out = f(np.array([0.0, 2.0]))
    assert np.isnan(out[0]) and out[1] == 1.0


def test_mul_zero_fires_on_integers():
    i = T.lmatrix("i")
    iv = np.arange(6).reshape(2, 3)
    f = check([i], i * 0, [iv], np.zeros((2, 3), dtype="int64"))
    assert fired(f, "collect_constants") == 1
    assert not nodes(f, scalar="mul")
    # One fill from i's shape, none from the (1, 1) constant.
    assert len(f.fgraph.apply_nodes) == 1


def test_mul_zero_strict_keeps_nan():
    x = T.dvector("x")
    f = check([x], x * 0, [SPECIAL], SPECIAL * 0)
    assert fired(f, "collect_constants") == 0
    assert nodes(f, scalar="mul")


def test_mul_zero_under_fast_math():
    x = T.dmatrix("x")
    f = compiled([x], x * 0, CANON_FAST_MATH)
    assert fired(f, "collect_constants") == 1
    assert not nodes(f, scalar="mul")
    out = f(np.ones((2, 3)))
    assert out.shape == (2, 3) and out.dtype == "float64" and not out.any()


# -- collecting constants ----------------------------------------------------------------------

def test_collect_constants_in_mul_chain():
    x = T.dvector("x")
    a = sample(4)
    f = check([x], (x * 2.0) * 3.0, [a], a * 6.0)
    assert fired(f, "collect_constants") >= 1
    (mul,) = nodes(f, scalar="mul")
    assert len(mul.inputs) == 2


def test_collect_constants_in_add_chain():
    x, y = T.dvectors("x", "y")
    a, b = sample(4), sample(4)
    f = check([x, y], ((x + 1.0) + y) + 2.0, [a, b], a + b + 3.0, rtol=1e-14)
    assert fired(f, "collect_constants") >= 1
    (add,) = nodes(f, scalar="add")
    assert len(add.inputs) == 3


@pytest.mark.parametrize("expr, name", [("x + 0", "add"), ("x * 1", "mul"), ("0 + x", "add")])
def test_collect_constants_drops_identity(expr, name):
    x = T.dvector("x")
    out = {"x + 0": x + 0, "x * 1": x * 1, "0 + x": 0 + x}[expr]
    f = check([x], out, [SPECIAL], SPECIAL)
    assert fired(f, "collect_constants") == 1
    assert not f.fgraph.apply_nodes


def test_collect_constants_does_not_inline_shared_terms():
    # (x * 2) is also an output: inlining it into the outer product would compute it twice.
    x = T.dvector("x")
    inner = x * 2.0
    f = compiled([x], [inner, inner * 3.0])
    assert len(nodes(f, scalar="mul")) == 2
    a = sample(3)
    np.testing.assert_allclose(f(a)[1], a * 6.0)


def test_regression_int8_constants_combined_in_the_output_dtype():
    x = T.dvector("x")
    a = sample(3)
    f = check([x], (x * np.int8(100)) * np.int8(2), [a], a * 200.0)
    assert fired(f, "collect_constants") >= 1


def test_regression_combined_constants_must_not_overflow():
    # x * 1e300 * 1e300 is 0 at x = 0; x * inf would be NaN.
    x = T.dvector("x")
    v = np.array([0.0, 1e-300, -2e-310])
    expected = v * 1e300 * 1e300
    check([x], (x * 1e300) * 1e300, [v], expected)
    # and 1e300 * 1e-200 * 1e-200 is 1e-100; x * 0 would be 0.
    v = np.array([1e300, np.inf])
    check([x], (x * 1e-200) * 1e-200, [v], v * 1e-200 * 1e-200)
    v = np.array([-1e308])
    check([x], (x + 1e308) + 1e308, [v], (v + 1e308) + 1e308)


def test_regression_flattened_mixed_integer_sum_does_not_wrap():
    # add(x_int8, add(a_int8, b_int64)): accumulating x + a first would wrap in int8.
    x, a = T.TensorType("int8", (None,))("x"), T.TensorType("int8", (None,))("a")
    b = T.lvector("b")
    xv, av, bv = (np.array([100], dtype="int8"), np.array([100], dtype="int8"),
                  np.array([0], dtype="int64"))
    f = check([x, a, b], x + (a + b), [xv, av, bv], np.array([200]))
    assert fired(f, "collect_constants") == 1
    f = check([x, a, b], x * (a * b), [xv, av, bv + 2], np.array([20000]))
    assert fired(f, "collect_constants") == 1


def test_collect_constants_keeps_bool_logic():
    p = T.lvector("p")
    x = T.cast(p, "bool")
    pv = np.array([0, 1])
    check([p], x * False, [pv], np.array([False, False]))
    check([p], x + True, [pv], np.array([True, True]))


# -- pow ---------------------------------------------------------------------------------------

def test_pow_zero():
    x = T.dvector("x")
    f = check([x], x ** 0, [SPECIAL], np.ones(len(SPECIAL)))
    assert fired(f, "pow_zero") == 1
    assert not nodes(f, scalar="pow")
    assert fired(compiled([x], x ** 2), "pow_zero") == 0


# -- dimshuffles -------------------------------------------------------------------------------

def test_merge_dimshuffles():
    x = T.dmatrix("x")
    a = sample((2, 3))
    f = check([x], x.T.T, [a], a)
    assert fired(f, "merge_dimshuffles") == 1
    assert not f.fgraph.apply_nodes
    f = check([x], x.dimshuffle(1, "x", 0).dimshuffle(2, 0, 1), [a], a[:, :, None])
    assert fired(f, "merge_dimshuffles") == 1
    assert len(nodes(f, DimShuffle)) == 1


def test_useless_dimshuffle():
    x = T.dmatrix("x")
    a = sample((2, 3))
    f = check([x], DimShuffle(2, (0, 1))(x), [a], a)
    assert fired(f, "useless_dimshuffle") == 1
    assert not f.fgraph.apply_nodes
    assert fired(compiled([x], x.T), "useless_dimshuffle") == 0


def test_lift_dimshuffle():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a, b = sample((2, 3)), sample((2, 3))
    f = check([x, y], T.exp(x + y).T, [a, b], np.exp(a + b).T)
    assert fired(f, "lift_dimshuffle") >= 1
    # The transposes moved to the inputs.
    for ds in nodes(f, DimShuffle):
        assert ds.inputs[0] in (f.fgraph.inputs[0], f.fgraph.inputs[1])


def test_lift_dimshuffle_does_not_duplicate_work():
    # exp(x) is read by the transpose and by the caller: lifting would compute exp twice.
    x = T.dmatrix("x")
    e = T.exp(x)
    a = sample((2, 3))
    f = compiled([x], [e, e.T])
    assert fired(f, "lift_dimshuffle") == 0
    assert len(nodes(f, scalar="exp")) == 1
    out, out_t = f(a)
    np.testing.assert_allclose(out_t, np.exp(a).T)


# -- shapes ------------------------------------------------------------------------------------

def test_useless_reshape():
    x = T.dmatrix("x")
    a = sample((2, 3))
    for out in (T.reshape(x, T.shape(x), ndim=2), T.reshape(x, (x.shape[0], x.shape[1]))):
        f = check([x], out, [a], a)
        assert fired(f, "useless_reshape") == 1
        assert not nodes(f, Reshape)
    s = T.TensorType("float64", (2, 3))("s")
    f = check([s], T.reshape(s, (2, 3)), [a], a)
    assert fired(f, "useless_reshape") == 1
    f = check([x], T.reshape(x, (x.shape[1], x.shape[0])), [a], a.reshape(3, 2))
    assert fired(f, "useless_reshape") == 0


def test_reshape_of_reshape():
    x = T.dvector("x")
    a = sample(6)
    f = check([x], T.reshape(T.reshape(x, (2, 3)), (3, 2)), [a], a.reshape(3, 2))
    assert fired(f, "reshape_of_reshape") == 1
    assert len(nodes(f, Reshape)) == 1


def test_useless_alloc():
    x = T.dmatrix("x")
    a = sample((2, 3))
    f = check([x], T.alloc(x, x.shape[0], x.shape[1]), [a], a)
    assert fired(f, "useless_alloc") == 1
    assert not nodes(f, Alloc)
    s = T.TensorType("float64", (2, None))("s")
    f = check([s], T.alloc(s, 2, s.shape[1]), [a], a)
    assert fired(f, "useless_alloc") == 1


def test_useless_alloc_keeps_a_broadcasting_alloc():
    r = T.row("r", dtype="float64")
    x = T.dmatrix("x")
    rv, a = sample((1, 3)), sample((4, 3))
    f = check([r, x], T.alloc(r, x.shape[0], r.shape[1]), [rv, a], np.repeat(rv, 4, axis=0))
    assert fired(f, "useless_alloc") == 0
    assert nodes(f, Alloc)


def test_shape_of_computed():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a, b = sample((2, 3)), sample((3, 4))
    out = T.dot(T.exp(x), y).shape[1] + T.exp(x).shape[0]
    f = check([x, y], out, [a, b], np.int64(6))
    assert fired(f, "shape_of_computed") >= 2
    assert not nodes(f, scalar="exp")
    for n in nodes(f, ShapeI):
        assert n.inputs[0] in f.fgraph.inputs


def test_shape_of_computed_static_size_is_a_constant():
    x = T.TensorType("float64", (None, 3))("x")
    f = check([x], ShapeI(1)(T.exp(x)), [sample((2, 3))], np.int64(3))
    assert fired(f, "shape_of_computed") == 1
    assert not f.fgraph.apply_nodes


def test_shape_of_computed_leaves_input_shapes():
    x = T.dmatrix("x")
    f = compiled([x], x.shape[0])
    assert fired(f, "shape_of_computed") == 0
    assert nodes(f, ShapeI)


def test_shape_of_computed_vector():
    x = T.dmatrix("x")
    a = sample((2, 3))
    f = check([x], T.shape(T.exp(x).T), [a], np.array([3, 2]))
    assert fired(f, "shape_of_computed_vector") == 1
    assert not nodes(f, Shape)
    assert not nodes(f, scalar="exp") and not nodes(f, DimShuffle)
    s = T.TensorType("float64", (2, 3))("s")
    f = check([s], T.shape(T.exp(s)), [a], np.array([2, 3]))
    assert not f.fgraph.apply_nodes


def test_shape_of_computed_vector_leaves_input_shapes():
    x = T.dmatrix("x")
    f = check([x], T.shape(x), [sample((2, 3))], np.array([2, 3]))
    assert fired(f, "shape_of_computed_vector") == 0
    assert nodes(f, Shape)


def test_shape_of_reshape_gradient_is_computed_from_inputs():
    # Reshape.grad builds reshape(g, shape(x)); its shape needs x's shape only.
    x = T.dmatrix("x")
    cost = T.sum(T.reshape(T.exp(x), (-1,)) ** 2)
    g = T.grad(cost, x)
    a = sample((2, 3))
    check([x], g, [a], 2 * np.exp(a) ** 2, rtol=1e-14)


# -- subtensor ---------------------------------------------------------------------------------

FULL_SLICES = {
    "x[:]": lambda x: x[:],
    "x[::1]": lambda x: x[::1],
    "x[0:]": lambda x: x[0:],
    "x[:, :]": lambda x: x[:, :],
    "x[:x.shape[0]]": lambda x: x[: x.shape[0]],
    "x[-2:9]": lambda x: x[-2:9],
    "x[0:2:1]": lambda x: x[0:2:1],
}


@pytest.mark.parametrize("expr", list(FULL_SLICES))
def test_useless_subtensor(expr):
    x = T.TensorType("float64", (2, None))("x")
    n = T.lscalar("n")
    a = sample((2, 3))
    built = FULL_SLICES[expr](x)
    f = check([x, n], built, [a, 0], a)
    assert fired(f, "useless_subtensor") == 1
    assert not nodes(f, Subtensor)


NOT_FULL = {
    "x[1:]": (lambda x, n: x[1:], lambda a, n: a[1:]),
    "x[::-1]": (lambda x, n: x[::-1], lambda a, n: a[::-1]),
    "x[:1]": (lambda x, n: x[:1], lambda a, n: a[:1]),
    "x[:n]": (lambda x, n: x[:n], lambda a, n: a[:n]),
    "x[:, :2]": (lambda x, n: x[:, :2], lambda a, n: a[:, :2]),
    "x[0]": (lambda x, n: x[0], lambda a, n: a[0]),
    "x[None]": (lambda x, n: x[None], lambda a, n: a[None]),
    "x[:, ::2]": (lambda x, n: x[:, ::2], lambda a, n: a[:, ::2]),
    "x[-1:]": (lambda x, n: x[-1:], lambda a, n: a[-1:]),
}


@pytest.mark.parametrize("expr", list(NOT_FULL))
def test_useless_subtensor_keeps_real_indexing(expr):
    x = T.TensorType("float64", (2, None))("x")
    n = T.lscalar("n")
    a = sample((2, 3))
    build, reference = NOT_FULL[expr]
    f = check([x, n], build(x, n), [a, 1], reference(a, 1))
    assert fired(f, "useless_subtensor") == 0


# -- casts -------------------------------------------------------------------------------------

def test_useless_cast_of_cast():
    x = T.ivector("x")
    xv = np.array([7, -3, 2**31 - 1], dtype="int32")
    f = check([x], T.cast(T.cast(x, "int64"), "int16"), [xv], xv.astype("int16"))
    assert fired(f, "useless_cast") == 1
    (cast,) = nodes(f, Elemwise)
    assert cast.inputs[0] is f.fgraph.inputs[0]


def test_useless_cast_to_own_dtype():
    x = T.dvector("x")
    f = check([x], Elemwise(Cast("float64"))(x), [SPECIAL], SPECIAL)
    assert fired(f, "useless_cast") == 1
    assert not f.fgraph.apply_nodes


def test_regression_int64_through_float64_is_not_exact():
    # NumPy calls int64 -> float64 'safe', but 2**53 + 1 comes back as 2**53.
    x = T.lvector("x")
    xv = np.array([2**53 + 1], dtype="int64")
    f = check([x], T.cast(T.cast(x, "float64"), "int64"), [xv], np.array([2**53]))
    assert fired(f, "useless_cast") == 0


def test_useless_cast_keeps_lossy_first_cast():
    x = T.dvector("x")
    xv = np.array([1.7, -2.5])
    f = check([x], T.cast(T.cast(x, "int32"), "float64"), [xv], np.array([1.0, -2.0]))
    assert fired(f, "useless_cast") == 0


def test_useless_cast_through_float32_of_int16():
    x = T.TensorType("int16", (None,))("x")
    xv = np.array([-32768, 32767], dtype="int16")
    f = check([x], T.cast(T.cast(x, "float32"), "int32"), [xv], xv.astype("int32"))
    assert fired(f, "useless_cast") == 1


# -- the stage as a whole ----------------------------------------------------------------------

def test_canonicalize_runs_in_fast_run_and_not_in_fast_compile():
    x = T.dvector("x")
    f = compiled([x], T.neg(T.neg(x)), Mode())
    assert fired(f, "neg_neg") >= 1
    g = compiled([x], T.neg(T.neg(x)), Mode(optimizer="fast_compile"))
    assert fired(g, "neg_neg") == 0
    assert len(nodes(g, scalar="neg")) == 2


def test_static_shapes_survive_canonicalize():
    x = T.TensorType("float64", (3, 1))("x")
    f = compiled([x], (x * 1.0).T)
    assert f.fgraph.outputs[0].type == TensorType("float64", (1, 3))


def test_useless_fill_drops_the_cost_from_its_gradient():
    # T.grad seeds with fill(cost, 1); the compiled gradient must not compute the cost.
    x = T.dvector("x")
    cost = T.sum(T.exp(x) * 3)
    f = th.function([x], T.grad(cost, x))
    assert f.rewrite_report().counts["useless_fill"] >= 1
    reductions = [n for n in f.fgraph.apply_nodes if "Sum" in str(n.op)]
    assert not reductions
    xv = np.array([0.0, 1.0])
    np.testing.assert_allclose(f(xv), 3 * np.exp(xv))
    # It does not fire where the first argument gives the shape.
    m = T.dmatrix("m")
    g = th.function([m], T.fill(m, 2.0))
    assert not g.rewrite_report().counts.get("useless_fill")
    np.testing.assert_array_equal(g(np.zeros((2, 3))), np.full((2, 3), 2.0))


def test_alloc_of_a_known_shape_is_not_materialised_in_elementwise_ops():
    # grad(sum(f(x))) starts from alloc(1, *x.shape) multiplied into the terms: when
    # another operand has that shape already, the ones are a broadcast constant.
    x, y = T.dmatrices("x", "y")
    cost = T.sum(T.exp(x) * y)
    f = compiled([x, y], T.grad(cost, x))
    assert fired(f, "alloc_in_elemwise") >= 1
    assert not [n for n in f.fgraph.apply_nodes if isinstance(n.op, Alloc)]
    xv, yv = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    np.testing.assert_allclose(f(xv, yv), np.exp(xv) * yv, rtol=1e-15)
    # Where no other operand is known to have the allocated size, but one cannot
    # broadcast (so the sizes must be equal), the alloc goes and that operand is
    # read through CheckShape: a size mismatch still raises, in every mode.
    n = T.lscalar("n")
    v = T.dvector("v")
    for mode in ("C", "PY"):
        g = th.function([v, n], T.alloc(np.float64(2.0), n) * v, mode=mode)
        nodes = g.fgraph.apply_nodes
        assert not [node for node in nodes if isinstance(node.op, Alloc)]
        assert [node for node in nodes if isinstance(node.op, CheckShape)]
        np.testing.assert_array_equal(g(np.arange(3.0), 3), 2.0 * np.arange(3.0))
        with pytest.raises(ValueError, match="size 4 in dimension 0"):
            g(np.ones(3), 4)
    # A broadcastable operand cannot stand for the allocated size: the alloc stays.
    r = T.row("r")
    h = compiled([r, n], T.alloc(np.float64(2.0), 2, n) * r)
    assert [node for node in h.fgraph.apply_nodes if isinstance(node.op, Alloc)]
    np.testing.assert_array_equal(h(np.ones((1, 3)), 3), np.full((2, 3), 2.0))
