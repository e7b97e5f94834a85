"""jacobian and hessian (symtheano/derivatives.py): values against SymPy's `diff`
and central differences, in the C and PY back ends; one vectorised graph whose size
does not grow with the output; Theano's conventions (lists, scalars, disconnected
inputs, consider_constant)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symtheano as th
import symtheano.tensor as T
from symtheano.derivatives import hessian, jacobian
from symtheano.gradient import DisconnectedInputError
from symtheano.tensor.type import TensorType
from symtheano.vectorize import Blockwise

MODES = ["C", "PY"]
N = 4
A = np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.2, -0.7, 1.1], [-0.4, 0.9, 0.6, -1.2]])
X_DATA = np.array([[1.0, 0.5, -0.3, 2.0], [0.2, -1.0, 0.8, 0.1], [-0.6, 0.4, 1.2, -0.5],
                   [0.9, 0.3, -0.2, 0.7], [0.1, -0.8, 0.5, 1.5]])
T_DATA = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
POINT = np.array([0.3, -0.7, 1.1, 0.4])


def _sym_softmax(xs):
    exps = [sympy.exp(v) for v in xs]
    total = sum(exps)
    return [e / total for e in exps]


def _sym_dot(M, v):
    return [sum(float(M[i, j]) * v[j] for j in range(len(v))) for i in range(M.shape[0])]


# name: (symtheano expression of x, the same as SymPy expressions of its elements (the
# flattened output), the output shape)
VECTOR_EXPRESSIONS = {
    "elementwise": (lambda x: T.exp(x) * T.sin(x) + x ** 3 / (1 + x ** 2),
                    lambda xs: [sympy.exp(v) * sympy.sin(v) + v ** 3 / (1 + v ** 2)
                                for v in xs], (N,)),
    "reductions": (lambda x: x * T.sum(x ** 2) + T.prod(x) - T.max(x),
                   lambda xs: [v * sum(w ** 2 for w in xs) + sympy.prod(xs)
                               - sympy.Max(*xs) for v in xs], (N,)),
    "matrix_product": (lambda x: T.dot(A, T.tanh(x)),
                       lambda xs: _sym_dot(A, [sympy.tanh(v) for v in xs]), (3,)),
    "outer_product_matrix": (lambda x: T.outer(x, T.exp(x)),
                             lambda xs: [a * sympy.exp(b) for a in xs for b in xs], (N, N)),
    "quadratic_form_rows": (lambda x: T.dot(T.outer(x, x), x),
                            lambda xs: [a * sum(b * b for b in xs) for a in xs], (N,)),
    "slices": (lambda x: x[1:] * x[:-1] ** 2 + x[::-1][:3],
               lambda xs: [xs[i + 1] * xs[i] ** 2 + xs[N - 1 - i] for i in range(N - 1)],
               (N - 1,)),
    "softmax": (lambda x: T.nnet.softmax(x), _sym_softmax, (N,)),
    "log_softmax": (lambda x: T.nnet.log_softmax(x * 2),
                    lambda xs: [sympy.log(p) for p in _sym_softmax([2 * v for v in xs])],
                    (N,)),
    "logistic_probabilities": (
        lambda x: T.sigmoid(T.dot(X_DATA, x)),
        lambda xs: [1 / (1 + sympy.exp(-z)) for z in _sym_dot(X_DATA, xs)], (5,)),
}


def rosenbrock(x):
    return T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def sym_rosenbrock(xs):
    return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(N - 1))


def logistic_loss(w):
    return T.sum(T.log1p(T.exp(-T_DATA * T.dot(X_DATA, w))))


def sym_logistic_loss(ws):
    return sum(sympy.log(1 + sympy.exp(-t * z)) for t, z in zip(T_DATA, _sym_dot(X_DATA, ws)))


SCALAR_COSTS = {
    "rosenbrock": (rosenbrock, sym_rosenbrock),
    "logistic_loss": (logistic_loss, sym_logistic_loss),
    "reductions": (lambda x: T.sum(x ** 2) * T.prod(x) + T.logsumexp(x),
                   lambda xs: sum(v ** 2 for v in xs) * sympy.prod(xs)
                   + sympy.log(sum(sympy.exp(v) for v in xs))),
    "softmax_entropy": (lambda x: -T.sum(T.nnet.softmax(x) * T.nnet.log_softmax(x)),
                        lambda xs: -sum(p * sympy.log(p) for p in _sym_softmax(xs))),
    "matrix_product": (lambda x: T.sum(T.dot(A, x) ** 3) + T.dot(x, x) ** 2,
                       lambda xs: sum(z ** 3 for z in _sym_dot(A, xs))
                       + sum(v * v for v in xs) ** 2),
}


def _symbols():
    return sympy.symbols(f"x0:{N}")


def _evaluate(matrix, xs):
    return np.array(sympy.lambdify(xs, matrix, "numpy")(*POINT), dtype="float64")


def sympy_jacobian(sym_fn):
    xs = _symbols()
    return _evaluate(sympy.Matrix(sym_fn(list(xs))).jacobian(xs), xs)


def sympy_hessian(sym_fn):
    xs = _symbols()
    return _evaluate(sympy.hessian(sym_fn(list(xs)), xs), xs)


def central_jacobian(f, x0, eps=1e-6):
    """d f / d x0 by central differences, of shape f.shape + x0.shape."""
    f0 = np.asarray(f(x0))
    out = np.zeros(f0.shape + x0.shape)
    for j in np.ndindex(*x0.shape):
        step = np.zeros_like(x0)
        step[j] = eps
        out[(Ellipsis,) + j] = (np.asarray(f(x0 + step)) - np.asarray(f(x0 - step))) / (2 * eps)
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(VECTOR_EXPRESSIONS))
def test_jacobian_matches_sympy_and_finite_differences(name, mode):
    build, sym_fn, shape = VECTOR_EXPRESSIONS[name]
    x = T.dvector("x")
    y = build(x)
    J = jacobian(y, x)
    assert not [n for n in th.graph.toposort([J]) if isinstance(n.op, Blockwise)]
    got = th.function([x], J, mode=mode)(POINT)
    assert got.shape == shape + (N,)
    want = sympy_jacobian(sym_fn).reshape(shape + (N,))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    f = th.function([x], y, mode=mode)
    np.testing.assert_allclose(got, central_jacobian(f, POINT), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SCALAR_COSTS))
def test_hessian_matches_sympy_and_finite_differences(name, mode):
    build, sym_fn = SCALAR_COSTS[name]
    x = T.dvector("x")
    H = hessian(build(x), x)
    got = th.function([x], H, mode=mode)(POINT)
    assert got.shape == (N, N)
    np.testing.assert_allclose(got, sympy_hessian(sym_fn), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(got, got.T, rtol=1e-12, atol=1e-12)
    g = th.function([x], T.grad(build(x), x), mode=mode)
    np.testing.assert_allclose(got, central_jacobian(g, POINT), rtol=1e-5, atol=1e-6)


def test_logistic_regression_hessian_is_the_fisher_information():
    w = T.dvector("w")
    got = th.function([w], hessian(logistic_loss(w), w))(POINT)
    p = 1 / (1 + np.exp(-(X_DATA @ POINT)))
    np.testing.assert_allclose(got, X_DATA.T @ np.diag(p * (1 - p)) @ X_DATA, rtol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_third_derivative_is_a_jacobian_of_the_hessian(mode):
    """The vectorised graphs differentiate again (their ops all have gradients)."""
    x = T.dvector("x")
    cost = T.sum(T.exp(x) * x ** 2) * T.sum(x ** 3)
    third = jacobian(hessian(cost, x), x)
    got = th.function([x], third, mode=mode)(POINT)
    xs = _symbols()
    expr = sum(sympy.exp(v) * v ** 2 for v in xs) * sum(v ** 3 for v in xs)
    want = [[[sympy.diff(expr, a, b, c) for c in xs] for b in xs] for a in xs]
    np.testing.assert_allclose(got, _evaluate(sympy.Array(want).tolist(), xs), rtol=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_matrix_wrt_and_matrix_output(mode):
    W, v = T.dmatrix("W"), T.dvector("v")
    y = T.tanh(T.dot(W, v))[:, None] * T.exp(v)   # (3, 2)
    J = jacobian(y, W)
    rng = np.random.default_rng(0)
    w0, v0 = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, 2)
    got = th.function([W, v], J, mode=mode)(w0, v0)
    assert got.shape == (3, 2, 3, 2)
    f = th.function([W, v], y, mode=mode)
    np.testing.assert_allclose(got, central_jacobian(lambda w: f(w, v0), w0), rtol=1e-6,
                               atol=1e-8)


# -- one vectorised graph -------------------------------------------------------------------------

def _compiled_nodes(fn):
    return list(fn.fgraph.toposort())


@pytest.mark.parametrize("build", [
    lambda x: jacobian(T.nnet.softmax(x) * T.sum(x[1:] * x[:-1]), x),
    lambda x: jacobian(T.dot(T.outer(x, x), T.tanh(x)), x),
    lambda x: hessian(rosenbrock(x), x),
    lambda x: hessian(T.sum(T.log1p(T.exp(-T.dot(T.outer(x, x), x)))), x),
], ids=["softmax_slices", "products", "rosenbrock", "logistic"])
def test_compiled_graph_does_not_grow_with_the_output(build):
    """With static sizes a loop over rows would unroll into one gradient graph per
    row; the vectorised graph has the same nodes for 3 and for 40 rows, and none of
    them is a per-item loop (Blockwise)."""
    sizes = {}
    for n in (3, 12, 40):
        x = TensorType("float64", (n,))("x")
        fn = th.function([x], build(x))
        nodes = _compiled_nodes(fn)
        assert not [node for node in nodes if isinstance(node.op, Blockwise)]
        sizes[n] = sorted(str(type(node.op).__name__) for node in nodes)
        x0 = np.linspace(-1, 1, n)
        assert fn(x0).shape == (n, n)
    assert sizes[3] == sizes[12] == sizes[40]


def test_graph_before_rewriting_does_not_grow_either():
    from symtheano.graph.basic import toposort

    counts = []
    for n in (2, 30):
        x = TensorType("float64", (n,))("x")
        counts.append(len(toposort([hessian(rosenbrock(x), x)])))
    assert counts[0] == counts[1]


# -- Theano's conventions --------------------------------------------------------------------------

def test_list_of_wrt_gives_a_list():
    x, y = T.dvector("x"), T.dscalar("y")
    out = x * y ** 2
    jx, jy = jacobian(out, [x, y])
    fx, fy = th.function([x, y], [jx, jy])(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_allclose(fx, 9 * np.eye(2))
    np.testing.assert_allclose(fy, [6.0, 12.0])
    hx, hy = hessian(T.sum(x ** 3) * y ** 2, (x, y))
    gx, gy = th.function([x, y], [hx, hy])(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_allclose(gx, np.diag([54.0, 108.0]))
    np.testing.assert_allclose(gy, 2 * 9.0)


def test_scalar_expression_gives_the_gradient():
    x = T.dvector("x")
    J = jacobian(T.sum(x ** 2), x)
    assert J.ndim == 1
    np.testing.assert_allclose(th.function([x], J)(np.array([1.0, -2.0])), [2.0, -4.0])


def test_consider_constant_stops_the_derivative():
    x = T.dvector("x")
    c = T.exp(x)
    J = jacobian(c * x, x, consider_constant=[c])
    np.testing.assert_allclose(th.function([x], J)(np.array([0.0, 1.0])),
                               np.diag(np.exp([0.0, 1.0])))


def test_disconnected_inputs():
    x, z = T.dvector("x"), T.dvector("z")
    with pytest.raises(DisconnectedInputError):
        jacobian(x * 2, z)
    J = jacobian(x * 2, z, disconnected_inputs="ignore")
    got = th.function([x, z], J, on_unused_input="ignore")(np.ones(3), np.ones(2))
    np.testing.assert_array_equal(got, np.zeros((3, 2)))
    with pytest.warns(UserWarning):
        jacobian(x * 2, [x, z], disconnected_inputs="warn")
    with pytest.raises(DisconnectedInputError):
        hessian(T.sum(x), z)


def test_linear_cost_has_a_zero_hessian():
    x = T.dvector("x")
    H = hessian(T.dot(x, np.array([1.0, 2.0, 3.0])), x)
    np.testing.assert_array_equal(th.function([x], H)(np.ones(3)), np.zeros((3, 3)))


def test_integer_wrt_gives_zeros():
    x, i = T.dvector("x"), T.lvector("i")
    J = jacobian(x * T.cast(i, "float64"), i)
    got = th.function([x, i], J)(np.ones(2), np.array([1, 2]))
    np.testing.assert_array_equal(got, np.zeros((2, 2)))


def test_stable_form_is_differentiated():
    """log(sigmoid(x)) is differentiated as -softplus(-x): finite where the naive
    derivative overflows."""
    x = T.dvector("x")
    got = th.function([x], jacobian(T.log(T.sigmoid(x)), x))(np.array([-800.0, 0.0]))
    np.testing.assert_allclose(got, np.diag([1.0, 0.5]))


def test_errors():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="float"):
        jacobian(T.cast(x, "int64"), x)
    with pytest.raises(TypeError, match="scalar"):
        hessian(x * 2, x)
    with pytest.raises(TypeError, match="symbolic variable"):
        jacobian(x * 2, [x, 3.0])


def test_empty_output_gives_an_empty_jacobian():
    x = T.dvector("x")
    got = th.function([x], jacobian(x[:0] * 2, x))(np.ones(3))
    assert got.shape == (0, 3)


# -- expressions of scalar variables, against SymPy ----------------------------------------------

S_POINT = {"a": 0.7, "b": -0.4}


def _sym_scalars():
    return sympy.symbols("a b")


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_vector_expression_of_a_scalar_matches_sympy(mode):
    """wrt a 0-d variable: the Jacobian has the output's shape (one column)."""
    a, _ = _sym_scalars()
    x = T.dscalar("x")
    y = T.stack([T.sin(x) * x ** 2, T.exp(x) / (1 + x ** 2), T.log1p(x ** 2) * T.tanh(x)])
    got = th.function([x], jacobian(y, x), mode=mode)(S_POINT["a"])
    assert got.shape == (3,)
    exprs = [sympy.sin(a) * a ** 2, sympy.exp(a) / (1 + a ** 2),
             sympy.log(1 + a ** 2) * sympy.tanh(a)]
    want = [float(sympy.diff(e, a).subs(a, S_POINT["a"])) for e in exprs]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    f = th.function([x], y, mode=mode)
    numeric = (f(S_POINT["a"] + 1e-6) - f(S_POINT["a"] - 1e-6)) / 2e-6
    np.testing.assert_allclose(got, numeric, rtol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_hessian_of_a_scalar_function_of_scalars_matches_sympy(mode):
    """hessian(cost, x) for scalar x is d2 cost / dx2; for a list [x, y] the diagonal
    blocks d2/dx2 and d2/dy2 (Theano's convention), each against SymPy's diff."""
    a, b = _sym_scalars()
    x, y = T.dscalars("x", "y")
    cost = T.exp(x * y) * T.sin(x) + T.log(1 + y ** 2) * x ** 3 + x / (2 + y)
    expr = sympy.exp(a * b) * sympy.sin(a) + sympy.log(1 + b ** 2) * a ** 3 + a / (2 + b)
    point = {a: S_POINT["a"], b: S_POINT["b"]}
    hx, hy = hessian(cost, [x, y])
    got_x, got_y = th.function([x, y], [hx, hy], mode=mode)(S_POINT["a"], S_POINT["b"])
    assert np.shape(got_x) == np.shape(got_y) == ()
    assert float(got_x) == pytest.approx(float(sympy.diff(expr, a, 2).subs(point)), rel=1e-12)
    assert float(got_y) == pytest.approx(float(sympy.diff(expr, b, 2).subs(point)), rel=1e-12)
    # and the mixed partial, as the Jacobian of one gradient w.r.t. the other variable
    mixed = th.function([x, y], jacobian(T.grad(cost, x), y), mode=mode)(*S_POINT.values())
    assert float(mixed) == pytest.approx(float(sympy.diff(expr, a, b).subs(point)), rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_third_derivative_of_rosenbrock_matches_sympy(mode):
    """Third order through slices (jacobian of the vectorised hessian): nonzero only
    where d3/dx_i3 = 2400 x_i and d3/dx_i2 dx_(i+1) = -400."""
    x = T.dvector("x")
    got = th.function([x], jacobian(hessian(rosenbrock(x), x), x), mode=mode)(POINT)
    xs = _symbols()
    expr = sym_rosenbrock(list(xs))
    want = [[[sympy.diff(expr, p, q, r) for r in xs] for q in xs] for p in xs]
    want = _evaluate(sympy.Array(want).tolist(), xs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    assert np.count_nonzero(want) == (N - 1) * 4  # (i,i,i) and the 3 orders of (i,i,i+1)
