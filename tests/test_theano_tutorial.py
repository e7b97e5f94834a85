"""The Theano 1.0 tutorial's examples, as written there, checked against NumPy.

Each test is one snippet of the tutorial with `import symtheano as theano` and
`import symtheano.tensor as T` in place of Theano's imports; the expected values
are computed with NumPy (or are the values the Theano tutorial prints).
"""

import numpy as np
import pytest

import symtheano as theano
import symtheano.tensor as T
from symtheano import In, function, pp, shared

M = np.array([[0.0, 1.0], [-1.0, -2.0]])


def sigmoid(a):
    return 1 / (1 + np.exp(-np.asarray(a, dtype=float)))


# -- baby steps -------------------------------------------------------------------------


def test_adding_two_scalars():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = function([x, y], z)
    out = f(2, 3)
    assert isinstance(out, np.ndarray) and out.shape == () and out.dtype == np.float64
    assert out == 5.0
    assert np.allclose(f(16.3, 12.1), 28.4)


def test_variable_types_and_owner():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    assert x.type.dtype == "float64" and x.type.ndim == 0
    assert x.owner is None
    assert z.owner is not None and list(z.owner.inputs) == [x, y]


def test_dscalar_is_a_type():
    # Theano tutorial: `x.type` is `T.dscalar`: the constructors are the types.
    x = T.dscalar("x")
    assert x.type == T.dscalar


def test_eval():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)


def test_adding_two_matrices():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    f = function([x, y], x + y)
    a = [[1, 2], [3, 4]]
    b = np.array([[10, 20], [30, 40]])
    out = f(a, b)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.add(a, b))


def test_exercise_vector_power():
    a = T.vector()
    f = function([a], a + a**10)
    v = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(f(v), v + v**10)


# -- more examples: logistic function, several outputs ---------------------------------


def test_logistic_function():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = function([x], s)
    np.testing.assert_allclose(logistic(M), sigmoid(M))
    np.testing.assert_allclose(
        logistic(M), [[0.5, 0.73105858], [0.26894142, 0.11920292]], rtol=1e-7
    )


def test_logistic_tanh_form_agrees():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    s2 = (1 + T.tanh(x / 2)) / 2
    f = function([x], [s, s2])
    a, b = f(np.linspace(-5, 5, 12).reshape(3, 4))
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_several_outputs():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff**2
    f = function([a, b], [diff, abs_diff, diff_squared])
    av, bv = np.array([[1, 1], [1, 1]]), np.array([[0, 1], [2, 3]])
    out = f(av, bv)
    assert isinstance(out, list) and len(out) == 3
    np.testing.assert_array_equal(out[0], av - bv)
    np.testing.assert_array_equal(out[1], np.abs(av - bv))
    np.testing.assert_array_equal(out[2], (av - bv) ** 2)


# -- default values and named inputs ---------------------------------------------------


def test_default_value():
    x, y = T.dscalars("x", "y")
    z = x + y
    f = function([x, In(y, value=1)], z)
    assert f(33) == 34.0
    assert f(33, 2) == 35.0


def test_named_inputs():
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


# -- shared variables, updates, givens -------------------------------------------------


def test_accumulator():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    assert state.get_value() == 0
    assert accumulator(1) == 0
    assert state.get_value() == 1
    assert accumulator(300) == 1
    assert state.get_value() == 301
    state.set_value(-1)
    assert accumulator(3) == -1
    assert state.get_value() == 2


def test_decrementor_shares_state():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    decrementor = function([inc], state, updates=[(state, state - inc)])
    accumulator(5)
    assert decrementor(2) == 5
    assert state.get_value() == 3


def test_updates_as_tuple_of_pairs():
    # The logistic regression example passes `updates` as a tuple of pairs.
    w = shared(np.ones(3), name="w")
    b = shared(0.0, name="b")
    step = function([], [], updates=((w, w * 2), (b, b + 1)))
    step()
    step()
    np.testing.assert_array_equal(w.get_value(), [4.0, 4.0, 4.0])
    assert b.get_value() == 2.0


def test_givens():
    state = shared(0)
    inc = T.iscalar("inc")
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0


# -- derivatives -----------------------------------------------------------------------


def test_grad_of_scalar():
    x = T.dscalar("x")
    gy = T.grad(x**2, x)
    f = function([x], gy)
    assert f(4) == 8.0
    assert np.allclose(f(94.2), 188.4)


def test_grad_of_logistic_matrix():
    x = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-x)))
    gs = T.grad(s, x)
    dlogistic = function([x], gs)
    np.testing.assert_allclose(dlogistic(M), sigmoid(M) * (1 - sigmoid(M)))
    np.testing.assert_allclose(
        dlogistic(M), [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7
    )


def test_grad_of_vector_expression():
    v = T.dvector("v")
    cost = T.sum(v**3 - 2 * v) + T.mean(T.tanh(v))
    g = function([v], T.grad(cost, v))
    vv = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(g(vv), 3 * vv**2 - 2 + (1 - np.tanh(vv) ** 2) / vv.size)


def test_grad_of_matrix_expression():
    X = T.dmatrix("X")
    Y = T.dmatrix("Y")
    cost = T.sum(T.exp(X) * Y) + T.sum(X**2)
    gX, gY = T.grad(cost, [X, Y])
    f = function([X, Y], [gX, gY])
    rng = np.random.RandomState(1)
    Xv, Yv = rng.randn(3, 4), rng.randn(3, 4)
    a, b = f(Xv, Yv)
    np.testing.assert_allclose(a, np.exp(Xv) * Yv + 2 * Xv)
    np.testing.assert_allclose(b, np.exp(Xv))


def test_grad_through_dot():
    X = T.dmatrix("X")
    w = T.dvector("w")
    cost = T.sum((T.dot(X, w) - 1) ** 2)
    g = function([X, w], T.grad(cost, w))
    rng = np.random.RandomState(2)
    Xv, wv = rng.randn(5, 3), rng.randn(3)
    np.testing.assert_allclose(g(Xv, wv), 2 * Xv.T @ (Xv @ wv - 1))


def test_theano_grad_is_T_grad():
    x = T.dscalar("x")
    f = function([x], theano.grad(T.exp(x) * x, x))
    assert np.isclose(f(0.7), np.exp(0.7) * 1.7)


def test_pp_of_gradient():
    x = T.dscalar("x")
    gy = T.grad(x**2, x)
    text = pp(gy)
    assert isinstance(text, str)
    # Theano prints the unsimplified chain rule, e.g.
    # ((fill((x ** 2), 1.0) * 2) * (x ** (2 - 1))): a power of x times a factor.
    assert "x" in text
    assert "**" in text
    assert "*" in text.replace("**", "")
    assert "2" in text


def test_pp_of_expression():
    x = T.dscalar("x")
    y = T.dscalar("y")
    text = pp((x + y) * x)
    assert "x" in text and "y" in text and "+" in text and "*" in text


# -- the worked examples: logistic regression, MLP, Rosenbrock -------------------------


def test_logistic_regression_training():
    rng = np.random.RandomState(0)
    N, feats = 100, 150  # more features than samples: separable
    D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2))
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = theano.shared(0.1 * rng.randn(feats), name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w**2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(
        inputs=[x, y],
        outputs=[prediction, xent],
        updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)),
    )
    predict = theano.function(inputs=[x], outputs=prediction)
    cost_f = theano.function([x, y], cost)

    # The labels are integers, the input is a dvector: the tutorial relies on the
    # safe int -> float conversion at call time.
    before = float(cost_f(*D))
    acc_before = np.mean(predict(D[0]) == D[1])
    for _ in range(200):
        pred, err = train(D[0], D[1])
    after = float(cost_f(*D))
    acc_after = np.mean(predict(D[0]) == D[1])
    assert pred.shape == (N,) and err.shape == (N,)
    assert after < 0.5 * before
    assert acc_after > max(0.9, acc_before)

    # The cost agrees with NumPy at the trained parameters.
    p = sigmoid(D[0] @ w.get_value() + b.get_value())
    ref = np.mean(-D[1] * np.log(p) - (1 - D[1]) * np.log(1 - p)) + 0.01 * np.sum(
        w.get_value() ** 2
    )
    assert np.isclose(after, ref)


def test_logistic_regression_saturated_start_stays_finite():
    # The tutorial starts from w = rng.randn(784): |x . w| reaches hundreds, so
    # 1 / (1 + exp(-z)) rounds to exactly 0 or 1. The naive cross-entropy and its
    # gradient are then inf and nan; Theano (and symtheano) rewrite the graph into
    # a stable form, and training proceeds.
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = theano.shared(np.array([800.0, -800.0]), name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([x, y], [cost, xent], updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    xv = np.array([[1.0, 0.0], [0.0, 1.0]])
    yv = np.array([0.0, 1.0])  # both samples confidently wrong: xent = 800 each
    c, e = train(xv, yv)
    np.testing.assert_allclose(e, [800.0, 800.0])
    assert np.isclose(c, 800.0)
    # d cost / dw = x^T (p - y) / N with p = (1, 0): (+0.5, -0.5).
    np.testing.assert_allclose(w.get_value(), [800.0 - 0.05, -800.0 + 0.05])
    assert np.isfinite(b.get_value())


def test_mlp_relu_loss_falls():
    rng = np.random.RandomState(0)
    N, D_in, H, D_out = 64, 200, 50, 10
    xv, yv = rng.randn(N, D_in), rng.randn(N, D_out)
    w1 = theano.shared(rng.randn(D_in, H), name="w1")
    w2 = theano.shared(rng.randn(H, D_out), name="w2")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    h_relu = T.nnet.relu(T.dot(x, w1))
    loss = T.sum((T.dot(h_relu, w2) - y) ** 2)
    g1, g2 = T.grad(loss, [w1, w2])
    lr = 1e-5
    train = theano.function([x, y], loss, updates=[(w1, w1 - lr * g1), (w2, w2 - lr * g2)])

    # The first step returns the loss at the initial weights: check it and
    # the gradient against NumPy.
    W1, W2 = w1.get_value(), w2.get_value()
    h = xv @ W1
    err = np.maximum(h, 0) @ W2 - yv
    first = float(train(xv, yv))
    assert np.isclose(first, np.sum(err**2))
    np.testing.assert_allclose(w2.get_value(), W2 - lr * np.maximum(h, 0).T @ (2 * err))
    np.testing.assert_allclose(w1.get_value(), W1 - lr * xv.T @ ((2 * err @ W2.T) * (h > 0)))

    losses = [float(train(xv, yv)) for _ in range(100)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.1 * first


def test_relu_matches_maximum():
    x = T.dmatrix("x")
    f = function([x], [T.nnet.relu(x), T.maximum(x, 0)])
    a, b = f(M)
    np.testing.assert_array_equal(a, np.maximum(M, 0))
    np.testing.assert_array_equal(b, np.maximum(M, 0))


def _rosenbrock(x):
    return T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_value_and_gradient():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x = T.dvector("x")
    f = _rosenbrock(x)
    fg = function([x], [f, T.grad(f, x)])
    point = np.random.RandomState(0).uniform(-2, 2, size=1000)
    fv, gv = fg(point)
    assert np.isclose(fv, scipy_optimize.rosen(point))
    np.testing.assert_allclose(gv, scipy_optimize.rosen_der(point))


def test_rosenbrock_optimum_reached():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x = T.dvector("x")
    f = _rosenbrock(x)
    fg = function([x], [f, T.grad(f, x)])

    def objective(v):
        fv, gv = fg(v)
        return float(fv), gv

    n = 20
    result = scipy_optimize.minimize(
        objective,
        np.tile([-1.2, 1.0], n // 2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-8},
    )
    assert result.fun < 1e-8
    np.testing.assert_allclose(result.x, np.ones(n), atol=1e-4)
