"""Forward mode: Rop (pushforward rules), Lop, hessian_vector_product, third-order
derivatives, and the errors for mismatched eval points.

Every op's forward rule is also checked against its reverse rule and central
differences by the registry test (tests/tensor/test_registry.py); the tests here
check whole models, higher orders, both back ends and the API.
"""

import warnings

import numpy as np
import pytest
import sympy

import symtheano as th
import symtheano.tensor as T
from symtheano.gradient import (
    DisconnectedInputError,
    Lop,
    Rop,
    disconnected_grad,
    hessian_vector_product,
    zero_grad,
)
from symtheano.tensor.composite import Composite

MODES = ["C", "PY"]


def _rng():
    return np.random.default_rng(20240611)


def _central(fn, x, v, eps=1e-6):
    """Central difference of fn (arrays -> array) along v at x (lists of arrays)."""
    plus = fn(*[a + eps * d for a, d in zip(x, v)])
    minus = fn(*[a - eps * d for a, d in zip(x, v)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


# -- API ---------------------------------------------------------------------------------------

def test_tensor_namespace_reexports():
    assert T.Rop is Rop
    assert T.Lop is Lop
    assert th.gradient.Rop is Rop


def test_single_and_list_forms():
    x, y = T.dvectors("x", "y")
    v, w = T.dvectors("v", "w")
    out = x * y
    single = Rop(out, x, v)
    assert not isinstance(single, list | tuple)
    as_list = Rop([out, T.sum(out)], [x, y], [v, w])
    assert isinstance(as_list, list) and len(as_list) == 2
    assert isinstance(Rop((out,), [x], [v]), tuple)
    f = th.function([x, y, v, w], [single, *as_list], mode="PY")
    xv, yv, vv, wv = (np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 1.0]),
                      np.array([2.0, 0.25]))
    jx, jxy, jsum = f(xv, yv, vv, wv)
    np.testing.assert_allclose(jx, vv * yv)
    np.testing.assert_allclose(jxy, vv * yv + xv * wv)
    np.testing.assert_allclose(jsum, np.sum(vv * yv + xv * wv))


def test_rop_of_wrt_itself_and_of_an_intermediate():
    x, v, u = T.dvector("x"), T.dvector("v"), T.dvector("u")
    h = T.exp(x)
    y = T.sum(h * 3)
    f = th.function([x, v, u], [Rop(x, x, v), Rop(y, h, u)], mode="PY")
    same, through_h = f(np.array([1.0, 2.0]), np.array([5.0, 6.0]), np.array([1.0, 2.5]))
    np.testing.assert_array_equal(same, [5.0, 6.0])
    assert through_h == pytest.approx(10.5)  # 3 * (1 + 2.5): h is moved, not x


def test_shared_variable_as_wrt():
    w = th.shared(np.array([0.5, -1.0]), name="w")
    v = T.dvector("v")
    f = th.function([v], Rop(T.sum(T.exp(w) * w), w, v), mode="PY")
    wv = np.array([0.5, -1.0])
    assert f(np.array([1.0, 2.0])) == pytest.approx(np.sum(np.exp(wv) * (wv + 1) * [1, 2]))


@pytest.mark.parametrize("mode", MODES)
def test_reverse_over_forward_in_the_direction(mode):
    """Rop is linear in v, so d(u . Rop(f, x, v))/dv is J^T u: grad through the tangent
    graph (including the eval point's shape checks) must agree with Lop."""
    x, v, u = T.dvector("x"), T.dvector("v"), T.dvector("u")
    y = T.tanh(x * x[::-1]) * T.exp(x)
    via_v = T.grad(T.sum(Rop(y, x, v) * u), v)
    f = th.function([x, v, u], [via_v, Lop(y, x, u)], mode=mode)
    rng = _rng()
    a, b = f(rng.normal(size=4), rng.normal(size=4), rng.normal(size=4))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32(mode):
    x, v = T.fvector("x"), T.fvector("v")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    hv = hessian_vector_product(cost, x, v)
    assert hv.dtype == "float32"
    xv = np.array([0.3, -0.8, 1.1, 0.4], "float32")
    vv = np.array([1.0, -0.5, 0.25, 2.0], "float32")
    got = th.function([x, v], hv, mode=mode)(xv, vv)
    assert got.dtype == np.float32
    want = _rosenbrock_hessian(xv.astype("float64")) @ vv.astype("float64")
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_numpy_data_as_eval_point():
    x = T.fvector("x")
    jv = Rop(T.sin(x), x, np.array([1.0, 2.0]))  # float64 data that float32 holds exactly
    assert jv.dtype == "float32"
    got = th.function([x], jv, mode="PY")(np.array([0.0, 1.0], "float32"))
    np.testing.assert_allclose(got, np.cos([0.0, 1.0]) * [1.0, 2.0], rtol=1e-6)


def test_lop_is_a_vector_jacobian_product():
    A, x, u = T.dmatrix("A"), T.dvector("x"), T.dvector("u")
    y = T.tanh(T.dot(A, x))
    ga, gx = Lop(y, [A, x], u)
    rng = _rng()
    Av, xv, uv = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    got_a, got_x = th.function([A, x, u], [ga, gx])(Av, xv, uv)
    d = uv * (1 - np.tanh(Av @ xv) ** 2)
    np.testing.assert_allclose(got_x, Av.T @ d, rtol=1e-12)
    np.testing.assert_allclose(got_a, np.outer(d, xv), rtol=1e-12)


# -- errors --------------------------------------------------------------------------------------

def test_count_mismatch():
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    with pytest.raises(ValueError, match="2 wrt and 1 eval_points"):
        Rop(x + y, [x, y], [v])
    with pytest.raises(ValueError, match="one to one"):
        Rop(x + y, [x], v)
    with pytest.raises(ValueError, match="2 f and 1 eval_points"):
        Lop([x, y], x, [v])


def test_non_float_wrt_names_position():
    x, n, v = T.dvector("x"), T.lvector("n"), T.dvector("v")
    with pytest.raises(TypeError, match=r"wrt\[1\] n .*not a float variable"):
        Rop(x * n, [x, n], [v, v])
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a symbolic variable"):
        Rop(x, [np.ones(2)], [v])


def test_eval_point_dtype_ndim_and_static_shape():
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"eval_points\[0\] vf .*dtype float32.*wrt\[0\] x"):
        Rop(T.sin(x), x, T.fvector("vf"))
    with pytest.raises(ValueError, match=r"eval_points\[0\] m .*2 dimensions.*wrt\[0\] x"):
        Rop(T.sin(x), x, T.dmatrix("m"))
    x3 = T.TensorType("float64", (3,))("x3")
    with pytest.raises(ValueError, match=r"eval_points\[0\] .*size 4 in dimension 0"):
        Rop(T.sin(x3), x3, T.TensorType("float64", (4,))("v4"))
    with pytest.raises(TypeError, match=r"eval_points\[0\] must be a float array"):
        Rop(T.sin(x), x, np.array(["a"]))
    # Lop: the cotangent has the output's type; only float outputs take one.
    with pytest.raises(TypeError, match=r"eval_points\[0\] u .*dtype float32.*f\[0\]"):
        Lop(T.sin(x), x, T.fvector("u"))
    with pytest.raises(TypeError, match=r"f\[0\] .*not a float variable"):
        Lop(T.argmax(x), x, T.lscalar("k"))


@pytest.mark.parametrize("mode", MODES)
def test_eval_point_size_mismatch_at_run_time(mode):
    x, v = T.dvector("x"), T.dvector("v")
    f = th.function([x, v], Rop(T.sum(T.sin(x)), x, v), mode=mode)
    assert f(np.zeros(3), np.ones(3)) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"\bv\b.*size 3 in dimension 0"):
        f(np.zeros(3), np.ones(4))
    # Rop(x, x, v) is v itself: still checked.
    g = th.function([x, v], Rop(x * 1.0, x, v), mode=mode)
    with pytest.raises(ValueError, match=r"\bv\b.*size 2 in dimension 0"):
        g(np.zeros(2), np.ones(5))


def test_broadcastable_wrt_gets_a_broadcastable_tangent():
    r, m, v = T.drow("r"), T.dmatrix("m"), T.dmatrix("v")
    jv = Rop(r + m, r, v)  # v is declared a row by the eval point's wrt
    f = th.function([r, m, v], jv, mode="PY")
    np.testing.assert_allclose(f(np.zeros((1, 3)), np.zeros((2, 3)), np.ones((1, 3))),
                               np.ones((2, 3)))
    with pytest.raises(ValueError, match="size 1 in dimension 0"):
        f(np.zeros((1, 3)), np.zeros((2, 3)), np.ones((2, 3)))


def test_disconnected_and_zero_tangents():
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    with pytest.raises(DisconnectedInputError, match=r"f\[0\] y .*does not depend"):
        Rop(y, x, v)
    with pytest.warns(UserWarning, match="does not depend"):
        Rop(y * 2, x, v, disconnected_outputs="warn")
    assert Rop(y, x, v, disconnected_outputs="ignore", return_disconnected="None") is None
    # Integer paths do not connect; piecewise-constant float ops give a real zero.
    with pytest.raises(DisconnectedInputError):
        Rop(T.cast(T.argmax(x), "float64"), x, v)
    with pytest.raises(DisconnectedInputError):
        Rop(disconnected_grad(x) * 2, x, v)
    outs = [T.floor(x), zero_grad(x) * 2, T.argmax(x), y]
    jv = Rop(outs, x, v, disconnected_outputs="ignore")
    assert jv[2].dtype == "float64"  # an integer output has a zero float tangent
    f = th.function([x, y, v], jv, mode="PY", on_unused_input="ignore")
    for got in f(np.array([0.5, 1.5]), np.array([1.0, 2.0]), np.array([3.0, 4.0])):
        assert not np.any(got)


def test_pushforward_of_the_gamma_family_goes_on():
    """psi's rule is tri_gamma, tri_gamma's polygamma(2), polygamma's polygamma(n + 1):
    forward mode composes to any order."""
    x, v = T.dvector("x"), T.dvector("v")
    xv = np.array([0.7, 2.5, -1.3])
    for fn in (T.psi, T.tri_gamma, lambda a: T.polygamma(3, a)):
        f = th.function([x, v], Rop(fn(x), x, v), mode="PY")
        np.testing.assert_allclose(f(xv, np.ones(3)),
                                   _central(lambda a, fn=fn: th.function([x], fn(x), mode="PY")(a),
                                            [xv], [np.ones(3)]), rtol=1e-6)


# -- forward = reverse = finite differences, both back ends ------------------------------------

def _expressions():
    x, y = T.dvector("x"), T.dmatrix("y")
    return [x, y], [
        T.sum(T.exp(T.sin(x)) * T.dot(y, x)),
        T.nnet.softmax(y * x)[:, 1:] ** 2,
        T.concatenate([T.log1p(x ** 2), T.max(y, axis=0)]),
        T.prod(T.tanh(y), axis=1) + T.logsumexp(y, axis=1),
        T.set_subtensor(y[0], x * 3)[:, ::-1].T,
        T.nnet.sigmoid(T.tensordot(y, T.outer(x, x), axes=1)).flatten(),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_forward_equals_reverse_equals_differences(mode):
    (x, y), outs = _expressions()
    vx, vy = T.dvector("vx"), T.dmatrix("vy")
    rng = _rng()
    xv, yv = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, (3, 3))
    dx, dy = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, (3, 3))
    for out in outs:
        jv = Rop(out, [x, y], [vx, vy])
        u = out.type.make_variable("u")
        gx, gy = Lop(out, [x, y], u, disconnected_inputs="ignore")
        f = th.function([x, y, vx, vy, u], [jv, gx, gy], mode=mode, on_unused_input="ignore")
        value = th.function([x, y], out, mode=mode, on_unused_input="ignore")
        uv = rng.uniform(-1, 1, np.shape(value(xv, yv)))
        jvv, gxv, gyv = f(xv, yv, dx, dy, uv)
        numeric = _central(value, [xv, yv], [dx, dy])
        np.testing.assert_allclose(jvv, numeric, rtol=1e-6, atol=1e-8, err_msg=str(out))
        assert np.sum(uv * jvv) == pytest.approx(np.sum(gxv * dx) + np.sum(gyv * dy),
                                                 rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_rop_through_a_fused_composite(mode):
    x, y, v = T.dvector("x"), T.dvector("y"), T.dvector("v")
    expr = T.exp(T.sin(x) * y + 1) - T.sqr(x - y)
    op, outer = Composite.from_nodes(th.graph.basic.toposort([expr]))
    fused = op(*outer)
    jv = Rop(fused, x, v)
    f = th.function([x, y, v], [jv, Rop(expr, x, v)], mode=mode)
    xv, yv, vv = np.array([0.1, -0.7, 1.3]), np.array([2.0, 0.5, -1.0]), np.array([1.0, 2.0, 3.0])
    fused_jv, plain_jv = f(xv, yv, vv)
    want = (np.exp(np.sin(xv) * yv + 1) * np.cos(xv) * yv - 2 * (xv - yv)) * vv
    np.testing.assert_allclose(fused_jv, want, rtol=1e-13)
    np.testing.assert_allclose(plain_jv, want, rtol=1e-13)


# -- Hessian-vector products ---------------------------------------------------------------------

def _rosenbrock_numpy(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H


@pytest.mark.parametrize("mode", MODES)
def test_hessian_vector_product_rosenbrock(mode):
    x, v = T.dvector("x"), T.dvector("v")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    f = th.function([x, v], hessian_vector_product(cost, x, v), mode=mode)
    grad = th.function([x], T.grad(cost, x), mode=mode)
    rng = _rng()
    xv, vv = rng.uniform(-1.5, 1.5, 7), rng.normal(size=7)
    hv = f(xv, vv)
    np.testing.assert_allclose(hv, _rosenbrock_hessian(xv) @ vv, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(hv, _central(grad, [xv], [vv]), rtol=1e-6, atol=1e-6)
    assert th.function([x], cost, mode=mode)(xv) == pytest.approx(_rosenbrock_numpy(xv))


@pytest.mark.parametrize("mode", MODES)
def test_hessian_vector_product_logistic_regression(mode):
    X, y, w, v = T.dmatrix("X"), T.dvector("y"), T.dvector("w"), T.dvector("v")
    lam = 0.1
    p = T.nnet.sigmoid(T.dot(X, w))
    cost = T.mean(T.nnet.binary_crossentropy(p, y)) + lam * T.sum(w ** 2)
    f = th.function([X, y, w, v], hessian_vector_product(cost, w, v), mode=mode)
    grad = th.function([X, y, w], T.grad(cost, w), mode=mode)
    rng = _rng()
    Xv = rng.normal(size=(20, 5))
    yv = (rng.random(20) > 0.5).astype("float64")
    wv, vv = rng.normal(size=5) * 0.3, rng.normal(size=5)
    pv = 1 / (1 + np.exp(-Xv @ wv))
    H = Xv.T @ (Xv * (pv * (1 - pv))[:, None]) / 20 + 2 * lam * np.eye(5)
    hv = f(Xv, yv, wv, vv)
    np.testing.assert_allclose(hv, H @ vv, rtol=1e-10)
    np.testing.assert_allclose(hv, _central(lambda a: grad(Xv, yv, a), [wv], [vv]),
                               rtol=1e-6, atol=1e-8)


def _mlp_numpy_grad(params, X, Y):
    """The gradient of mean((tanh(X W1 + b1) W2 + b2 - Y)**2) by hand (backprop)."""
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    d_out = 2 * (out - Y) / out.size
    d_h = d_out @ W2.T * (1 - h ** 2)
    return [X.T @ d_h, d_h.sum(0), h.T @ d_out, d_out.sum(0)]


@pytest.mark.parametrize("mode", MODES)
def test_hessian_vector_product_mlp(mode):
    rng = _rng()
    shapes = [(4, 6), (6,), (6, 2), (2,)]
    params = [rng.normal(size=s) * 0.5 for s in shapes]
    Xv, Yv = rng.normal(size=(10, 4)), rng.normal(size=(10, 2))
    X, Y = T.dmatrix("X"), T.dmatrix("Y")
    W1, b1, W2, b2 = ws = [T.dmatrix("W1"), T.dvector("b1"), T.dmatrix("W2"), T.dvector("b2")]
    vs = [T.dmatrix("V1"), T.dvector("c1"), T.dmatrix("V2"), T.dvector("c2")]
    cost = T.mean((T.dot(T.tanh(T.dot(X, W1) + b1), W2) + b2 - Y) ** 2)
    hv = hessian_vector_product(cost, ws, vs)
    f = th.function([X, Y, *ws, *vs], hv, mode=mode)
    direction = [rng.normal(size=s) for s in shapes]
    got = np.concatenate([g.ravel() for g in f(Xv, Yv, *params, *direction)])

    # The dense Hessian from NumPy alone: central differences of the hand-written gradient.
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.concatenate([p.ravel() for p in params])

    def unpack(z):
        out, k = [], 0
        for s, n in zip(shapes, sizes):
            out.append(z[k:k + n].reshape(s))
            k += n
        return out

    def flat_grad(z):
        return np.concatenate([g.ravel() for g in _mlp_numpy_grad(unpack(z), Xv, Yv)])

    eps = 1e-6
    H = np.stack([(flat_grad(flat + eps * e) - flat_grad(flat - eps * e)) / (2 * eps)
                  for e in np.eye(flat.size)], axis=1)
    np.testing.assert_allclose(H, H.T, atol=1e-7)
    vflat = np.concatenate([d.ravel() for d in direction])
    np.testing.assert_allclose(got, H @ vflat, rtol=1e-6, atol=1e-7)
    # and against differences of the compiled gradient along the direction
    g = th.function([X, Y, *ws], T.grad(cost, ws), mode=mode)
    numeric = _central(lambda *p: np.concatenate([a.ravel() for a in g(Xv, Yv, *p)]),
                       params, direction)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-7)


def test_hessian_vector_product_errors():
    x, v = T.dvector("x"), T.dvector("v")
    with pytest.raises(ValueError, match="one to one"):
        hessian_vector_product(T.sum(x ** 2), [x], [v, v])
    with pytest.raises(TypeError, match=r"wrt\[0\] must be a float variable"):
        hessian_vector_product(T.sum(x ** 2), T.lvector("n"), v)
    # A linear cost has a zero Hessian.
    f = th.function([x, v], hessian_vector_product(T.sum(3 * x), x, v), mode="PY",
                    on_unused_input="ignore")
    np.testing.assert_array_equal(f(np.ones(2), np.ones(2)), [0.0, 0.0])


# -- third-order derivatives against SymPy --------------------------------------------------------

def _sympy_fn(expr, *symbols):
    return sympy.lambdify(symbols, expr, "numpy")


@pytest.mark.parametrize("mode", MODES)
def test_third_order_sum_sin_cubed(mode):
    s = sympy.Symbol("s")
    d3 = _sympy_fn(sympy.diff(sympy.sin(s) ** 3, s, 3), s)
    d2 = _sympy_fn(sympy.diff(sympy.sin(s) ** 3, s, 2), s)
    x, w, u, v = T.dvectors("x", "w", "u", "v")
    cost = T.sum(T.sin(x) ** 3)
    g1 = T.grad(cost, x)
    g2 = T.grad(T.sum(g1 * w), x)               # H w
    g3 = T.grad(T.sum(g2 * u), x)               # D3[w, u, .]
    r3 = Rop(T.grad(T.sum(g1 * w), x), x, v)    # Rop of a gradient of a gradient: D3[w, ., v]
    r2 = Rop(g1, x, v)                          # H v, forward over reverse
    rr = Rop(Rop(g1, x, v), x, u)               # forward over forward over reverse
    lr = T.grad(T.sum(Rop(g1, x, v) * w), x)    # reverse over forward over reverse
    f = th.function([x, w, u, v], [g2, g3, r3, r2, rr, lr], mode=mode)
    rng = _rng()
    xv, wv, uv, vv = (rng.uniform(-2, 2, 5) for _ in range(4))
    g2v, g3v, r3v, r2v, rrv, lrv = f(xv, wv, uv, vv)
    np.testing.assert_allclose(g2v, d2(xv) * wv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r2v, d2(xv) * vv, rtol=1e-12, atol=1e-12)
    for got, other in ((g3v, uv), (r3v, vv), (lrv, vv)):
        np.testing.assert_allclose(got, d3(xv) * wv * other, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(rrv, d3(xv) * vv * uv, rtol=1e-11, atol=1e-12)


def test_third_order_mixed_partials_against_sympy():
    """Every third partial of a two-variable function, by grad, by Rop over grad and
    by Rop over Rop over grad, against SymPy's diff."""
    a, b = sympy.symbols("a b")
    expr = sympy.exp(a * b) * sympy.sin(a) + sympy.log(1 + b ** 2) * a ** 3 + a / (2 + b)
    x, y = T.dscalars("x", "y")
    f = T.exp(x * y) * T.sin(x) + T.log(1 + y ** 2) * x ** 3 + x / (2 + y)
    point = {a: 0.7, b: -0.4}
    xv, yv = 0.7, -0.4
    names = [x, y]
    syms = [a, b]
    one = T.constant(np.float64(1.0))
    for i in range(2):
        gi = T.grad(f, names[i])
        for j in range(2):
            gij = T.grad(gi, names[j])
            for k in range(2):
                want = float(sympy.diff(expr, syms[i], syms[j], syms[k]).subs(point))
                by_grad = T.grad(gij, names[k])
                by_rop = Rop(gij, names[k], one)
                by_rop_rop = Rop(Rop(gi, names[j], one), names[k], one)
                fn = th.function([x, y], [by_grad, by_rop, by_rop_rop], mode="PY",
                                 on_unused_input="ignore")
                for got in fn(xv, yv):
                    assert float(got) == pytest.approx(want, rel=1e-12, abs=1e-12), (i, j, k)


def test_deep_chain_needs_no_recursion():
    x, v = T.dscalar("x"), T.dscalar("v")
    y = x
    for _ in range(3000):
        y = T.sin(y) * 0.5 + y * 0.5
    jv = Rop(y, x, v)  # builds without recursion
    assert jv.ndim == 0


def test_warning_free_build():
    x, v = T.dmatrix("x"), T.dmatrix("v")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Rop(T.nnet.softmax(x).sum(axis=0), x, v)
