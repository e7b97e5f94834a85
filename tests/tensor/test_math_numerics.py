"""Extreme values, dtype rules and gradients of the transcendental and special
functions (tensor/math.py, tensor/special.py) that the registry cases do not
reach: overflow limits of sigmoid/softplus, tri_gamma accuracy, poles, polygamma's
orders and the third derivative of gammaln."""

import math
import warnings

import numpy as np
import pytest
import scipy.special as sp

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.special import trigamma_numpy

EXTREMES = np.array([-1000.0, -745.0, -40.0, 0.0, 40.0, 745.0, 1000.0])


def _compile(inputs, outputs):
    return th.function(inputs, outputs, mode="PY")


def _no_warnings(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return fn(*args)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_saturates_without_overflow(dtype):
    x = T.vector("x", dtype=dtype)
    f = _compile([x], T.sigmoid(x))
    got = _no_warnings(f, EXTREMES.astype(dtype))
    assert got.dtype == dtype
    assert got[0] == 0.0 and got[-1] == 1.0
    assert got[3] == 0.5
    np.testing.assert_allclose(got, sp.expit(EXTREMES), rtol=1e-6 if dtype == "float32" else 1e-15,
                               atol=1e-300)
    assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softplus_is_exact_far_out(dtype):
    x = T.vector("x", dtype=dtype)
    f = _compile([x], T.softplus(x))
    got = _no_warnings(f, EXTREMES.astype(dtype))
    assert got.dtype == dtype
    assert got[-1] == 1000.0
    assert got[0] == 0.0  # exp(-1000) underflows to 0
    assert np.all(np.isfinite(got))
    rtol = 1e-6 if dtype == "float32" else 1e-15
    np.testing.assert_allclose(got, np.logaddexp(0.0, EXTREMES), rtol=rtol, atol=1e-300)
    if dtype == "float64":
        # log(1 + exp(-40)) must keep its tiny value, not round to 0.
        assert got[2] == pytest.approx(math.exp(-40.0), rel=1e-14)


def test_log1pexp_is_softplus():
    assert T.log1pexp is T.softplus


def test_sigmoid_and_softplus_gradients_finite_and_accurate():
    x = T.dvector("x")
    g_sig = T.grad(T.sigmoid(x).sum(), x)
    g_soft = T.grad(T.softplus(x).sum(), x)
    gg_sig = T.grad(g_sig.sum(), x)
    f = _compile([x], [g_sig, g_soft, gg_sig])
    d_sig, d_soft, dd_sig = _no_warnings(f, EXTREMES)
    s = sp.expit(EXTREMES)
    np.testing.assert_allclose(d_soft, s, rtol=1e-15, atol=1e-300)
    # s (1 - s) evaluated accurately also where s rounds to 1 (x = 40: about exp(-40)).
    np.testing.assert_allclose(d_sig, s * sp.expit(-EXTREMES), rtol=1e-14, atol=1e-300)
    assert d_sig[4] > 0 and d_sig[3] == 0.25
    assert np.all(np.isfinite(dd_sig))
    assert dd_sig[0] == 0.0 and dd_sig[-1] == 0.0 and dd_sig[3] == 0.0


@pytest.mark.parametrize("fn", [T.exp, T.log1p, T.sin, T.erf, T.gamma, T.psi, T.tri_gamma,
                                T.sigmoid, T.softplus, T.xlogx, T.arccosh])
@pytest.mark.parametrize("dtype, expected", [("float32", "float32"), ("float64", "float64"),
                                             ("int8", "float32"), ("uint8", "float32"),
                                             ("int16", "float32"), ("bool", "float32"),
                                             ("int32", "float64"), ("int64", "float64")])
def test_output_dtype_follows_theano_rule(fn, dtype, expected):
    x = T.vector("x", dtype=dtype)
    out = fn(x)
    assert out.dtype == expected
    value = _compile([x], out)(np.array([1, 2, 3]).astype(dtype))
    assert value.dtype == expected


def test_binary_output_dtype():
    a, b = T.vector("a", dtype="int8"), T.fvector("b")
    assert T.arctan2(a, b).dtype == "float32"
    assert T.hypot(a, T.dvector("c")).dtype == "float64"
    assert T.arctan2(T.lvector("i"), b).dtype == "float64"


def test_float32_gradient_stays_float32():
    x = T.fvector("x")
    for fn in (T.exp2, T.log2, T.log10, T.sqrt, T.erf, T.erfinv, T.deg2rad, T.sigmoid):
        g = T.grad(fn(x).sum(), x)
        assert g.dtype == "float32", fn
        # No float64 sneaks in anywhere in the gradient graph.
        from symtheano.graph.basic import toposort

        for node in toposort([g]):
            for v in node.outputs:
                assert v.dtype != "float64", (fn, node)


def test_tri_gamma_accuracy_wide_range():
    rng = np.random.default_rng(7)
    x = np.concatenate([
        rng.uniform(1e-6, 1e-2, 200), rng.uniform(1e-2, 1.0, 200), rng.uniform(1.0, 30.0, 200),
        10.0 ** rng.uniform(1.5, 12, 200), rng.uniform(-30.0, 0.0, 400),
        -np.arange(1, 20) + 1e-7, -np.arange(1, 20) - 1e-7,
    ])
    v = T.dvector("v")
    got = _compile([v], T.tri_gamma(v))(x)
    want = sp.polygamma(1, x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_tri_gamma_special_values():
    x = np.array([0.0, -0.0, -1.0, -5.0, np.inf, np.nan, 1.0, 0.5, 1e-200])
    got = _no_warnings(trigamma_numpy, x)
    assert np.all(np.isposinf(got[:4]))
    assert got[4] == 0.0 and np.isnan(got[5])
    assert got[6] == pytest.approx(math.pi ** 2 / 6, rel=1e-15)
    assert got[7] == pytest.approx(math.pi ** 2 / 2, rel=1e-15)
    assert np.isposinf(got[8])
    assert np.isnan(trigamma_numpy(np.array([-np.inf])))[0]


def test_tri_gamma_gradient_is_polygamma_2():
    x = T.dvector("x")
    pts = np.array([0.3, 2.5, 17.0, -2.5, -0.7])
    g = _compile([x], T.grad(T.tri_gamma(x).sum(), x))(pts)
    np.testing.assert_allclose(g, sp.polygamma(2, pts), rtol=1e-13)
    gg = _compile([x], T.grad(T.grad(T.psi(x).sum(), x).sum(), x))(pts)
    np.testing.assert_allclose(gg, sp.polygamma(2, pts), rtol=1e-13)


def _third_derivative_of_gammaln_mp(v):
    """d^3/dx^3 log|gamma(x)| = psi''(x), by mpmath (the reflection formula below 0)."""
    import mpmath

    with mpmath.workdps(40):
        v = mpmath.mpf(v)
        if v > 0:
            return float(mpmath.polygamma(2, v))
        s, c = mpmath.sinpi(v), mpmath.cospi(v)
        return float(mpmath.polygamma(2, 1 - v) - 2 * mpmath.pi**3 * c / s**3)


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_third_derivative_of_gammaln(mode):
    """T.grad thrice, forward over reverse, and forward thrice all give polygamma(2, x)."""
    from symtheano.gradient import Rop

    x, v = T.dvector("x"), T.dvector("v")
    d1 = T.grad(T.gammaln(x).sum(), x)
    d2 = T.grad(d1.sum(), x)
    reverse = T.grad(d2.sum(), x)
    forward_over_reverse = Rop(d2, x, v)
    t1 = Rop(T.gammaln(x), x, v)
    forward = Rop(Rop(t1, x, v), x, v)  # v**3 times the third derivative
    f = th.function([x, v], [reverse, forward_over_reverse, forward], mode=mode)
    pts = np.array([1e-3, 0.3, 1.0, 2.5, 17.0, 1e6, -0.7, -2.5, -10.3])
    want = np.array([_third_derivative_of_gammaln_mp(p) for p in pts])
    for got in f(pts, np.ones_like(pts)):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    vv = np.full_like(pts, 0.5)
    np.testing.assert_allclose(f(pts, vv)[2], want * 0.125, rtol=1e-13)


def test_polygamma_orders_dtypes_and_errors():
    x, n = T.fvector("x"), T.bvector("n")
    assert T.polygamma(2, x).dtype == "float32"
    assert T.polygamma(n, T.ivector("i")).dtype == "float64"
    assert T.polygamma(np.uint64(3), T.wvector("w")).dtype == "float32"
    with pytest.raises(TypeError, match="integer order"):
        T.polygamma(T.fscalar("order"), x)
    with pytest.raises(TypeError, match="integer order"):
        T.polygamma(1.0, x)
    f = _compile([n, x], T.polygamma(n, x))
    xv = np.array([0.5, 1.5, 4.0, -2.5], "float32")
    got = f(np.array([0, 1, 2, -1], "int8"), xv)
    np.testing.assert_allclose(got[:3], [sp.psi(0.5), sp.polygamma(1, 1.5),
                                         sp.polygamma(2, 4.0)], rtol=1e-6)
    assert np.isnan(got[3])  # no negative orders
    # the order is not differentiable: its gradient is disconnected
    xd, nd = T.dvector("xd"), T.lvector("nd")
    g = T.grad(T.polygamma(nd, xd).sum(), xd)
    gv = _compile([nd, xd], g)(np.array([0, 3]), np.array([2.0, 2.0]))
    np.testing.assert_allclose(gv, [sp.polygamma(1, 2.0), sp.polygamma(4, 2.0)], rtol=1e-13)


def test_polygamma_gradient_order_does_not_wrap():
    """n + 1 of a narrow order is computed wide: uint8 255 -> 256 (NaN), not 0 (psi)."""
    x, n = T.dvector("x"), T.vector("n", dtype="uint8")
    g = _compile([n, x], T.grad(T.polygamma(n, x).sum(), x))
    got = g(np.array([255, 127, 1], "uint8"), np.array([2.0, 2.0, 2.0]))
    assert np.isnan(got[0]) and np.isfinite(got[1])
    np.testing.assert_allclose(got[2], sp.polygamma(2, 2.0), rtol=1e-13)


def test_gamma_family_poles_and_gradients():
    x = T.dvector("x")
    f = _compile([x], [T.gamma(x), T.gammaln(x), T.psi(x), T.grad(T.gammaln(x).sum(), x)])
    pts = np.array([0.5, 3.0, 6.5])
    gam, lg, ps, dlg = f(pts)
    np.testing.assert_allclose(gam, sp.gamma(pts), rtol=1e-13)
    np.testing.assert_allclose(lg, sp.gammaln(pts), rtol=1e-13)
    np.testing.assert_allclose(dlg, sp.psi(pts), rtol=1e-13)
    poles = _compile([x], T.tri_gamma(x))(np.array([0.0, -2.0]))
    assert np.all(np.isposinf(poles))


def test_xlogx_zero_and_gradient():
    x = T.dvector("x")
    f = _compile([x], [T.xlogx(x), T.grad(T.xlogx(x).sum(), x)])
    val, g = _no_warnings(f, np.array([0.0, 1.0, math.e]))
    np.testing.assert_allclose(val, [0.0, 0.0, math.e], rtol=1e-15)
    np.testing.assert_allclose(g[1:], [1.0, 2.0], rtol=1e-15)
    assert np.isneginf(g[0])


def test_relu_dtypes_and_values():
    xf = T.fmatrix("x")
    assert T.relu(xf).dtype == "float32"
    assert T.relu(xf, 0.1).dtype == "float32"
    assert T.relu(T.imatrix("i")).dtype == "int32"
    data = np.array([[-2.0, -0.5, 0.5, 3.0]], dtype="float32")
    got = _compile([xf], T.relu(xf, 0.1))(data)
    np.testing.assert_allclose(got, np.where(data > 0, data, 0.1 * data), rtol=1e-7)


def test_expm1_log1p_keep_small_values():
    x = T.dvector("x")
    tiny = np.array([1e-300, 1e-20, -1e-17, 3e-9])
    e, l = _compile([x], [T.expm1(x), T.log1p(x)])(tiny)
    np.testing.assert_allclose(e, np.expm1(tiny), rtol=1e-15)
    np.testing.assert_allclose(l, np.log1p(tiny), rtol=1e-15)


def test_arccosh_arctanh_gradients_near_domain_edge():
    x = T.dvector("x")
    f = _compile([x], [T.grad(T.arccosh(x).sum(), x), T.grad(T.arctanh(x).sum(), x)])
    pts = np.array([1.0 + 1e-12, 1.0 + 1e-8])
    d_acosh, _ = f(pts)
    np.testing.assert_allclose(d_acosh, 1 / np.sqrt((pts - 1) * (pts + 1)), rtol=1e-12)
    _, d_atanh = f(np.array([1 - 1e-12, -(1 - 1e-9)]))
    want = 1 / ((1 - np.array([1 - 1e-12, -(1 - 1e-9)])) * (1 + np.array([1 - 1e-12,
                                                                           -(1 - 1e-9)])))
    np.testing.assert_allclose(d_atanh, want, rtol=1e-12)


def test_binary_gradient_reduces_over_broadcast_partner():
    m, r = T.dmatrix("m"), T.drow("r")
    cost = (T.arctan2(m, r) + T.hypot(m, r)).sum()
    f = _compile([m, r], T.grad(cost, [m, r]))
    mv = np.array([[1.0, -2.0, 0.5], [0.3, 1.5, -1.0]])
    rv = np.array([[0.7, -0.4, 2.0]])
    gm, gr = f(mv, rv)
    den = mv ** 2 + rv ** 2
    hyp = np.hypot(mv, rv)
    np.testing.assert_allclose(gm, rv / den + mv / hyp, rtol=1e-14)
    np.testing.assert_allclose(gr, (-mv / den + rv / hyp).sum(axis=0, keepdims=True),
                               rtol=1e-14)


def test_wrong_arity_and_shapes_are_reported():
    a, b = T.dmatrix("a"), T.dvector("b")
    with pytest.raises(TypeError, match="arctan2 takes 2"):
        T.arctan2(a)
    with pytest.raises(TypeError, match="exp takes 1"):
        T.exp(a, b)
    x = T.tensor("float64", shape=(2, 3), name="x")
    y = T.tensor("float64", shape=(4, 3), name="y")
    with pytest.raises(ValueError, match="hypot"):
        T.hypot(x, y)


def test_pretty_printing():
    from symtheano.printing import pp

    x, y = T.dscalar("x"), T.dscalar("y")
    assert pp(T.exp(x)) == "exp(x)"
    assert pp(T.arctan2(x, y)) == "arctan2(x, y)"
    assert pp(T.sigmoid(x)) == "sigmoid(x)"
