"""symtheano.optimize: the SciPy bridge, checked against SciPy's own derivatives and
closed-form solutions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import symtheano.optimize as so
import symtheano.tensor as T

RNG = np.random.default_rng(5)


def rosenbrock(x):
    return T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_problem_packs_and_derivatives_match_scipy():
    w, b = T.dmatrix("w"), T.dvector("b")
    x = T.concatenate([w.flatten(), b])
    problem = so.Problem(rosenbrock(x), [w, b], [np.zeros((2, 3)), np.zeros(2)])
    assert problem.n == 8
    wv, bv = RNG.normal(size=(2, 3)), RNG.normal(size=2)
    theta = problem.pack([wv, bv])
    np.testing.assert_array_equal(theta, np.concatenate([wv.ravel(), bv]))
    back = problem.unpack(theta)
    np.testing.assert_array_equal(back[0], wv)
    np.testing.assert_array_equal(back[1], bv)
    np.testing.assert_allclose(problem.fun(theta), scipy.optimize.rosen(theta), rtol=1e-14)
    np.testing.assert_allclose(problem.jac(theta), scipy.optimize.rosen_der(theta), rtol=1e-13)
    hess = scipy.optimize.rosen_hess(theta)
    np.testing.assert_allclose(problem.hess(theta), hess, rtol=1e-13)
    got = problem.hess(theta, sparse=True)
    assert sp.issparse(got)
    np.testing.assert_allclose(got.toarray(), hess, rtol=1e-13)
    p = RNG.normal(size=8)
    np.testing.assert_allclose(problem.hessp(theta, p), hess @ p, rtol=1e-12)


def test_value_and_gradient_are_one_call_per_point():
    x = T.dvector("x")
    problem = so.Problem(rosenbrock(x), x, np.zeros(5))
    theta = RNG.normal(size=5)
    problem.fun(theta)
    problem.jac(theta)
    problem.fun_and_jac(theta.copy())
    assert problem._compiled["value_and_grad"].calls == 1
    problem.jac(theta + 1)
    assert problem._compiled["value_and_grad"].calls == 2


@pytest.mark.parametrize("method,hess", [("L-BFGS-B", None), ("Newton-CG", "hessp"),
                                         ("trust-exact", "dense"),
                                         ("trust-constr", "sparse")])
def test_minimize_rosenbrock_as_scipy_with_its_own_derivatives(method, hess):
    # The same method given SciPy's hand-written derivatives reaches the same point
    # (not always in the same number of steps: the derivatives differ in the last bits).
    x = T.dvector("x")
    x0 = np.tile([-1.2, 1.0], 10)
    reference = {"hess": scipy.optimize.rosen_hess} if hess in ("dense", "sparse") else \
        {"hessp": lambda v, p: scipy.optimize.rosen_hess(v) @ p} if hess == "hessp" else {}
    options = {"maxiter": 3000}
    result = so.minimize(rosenbrock(x), x, x0, method=method, hess=hess, options=options)
    expected = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                                       method=method, options=options, **reference)
    np.testing.assert_allclose(result.solution, expected.x, rtol=0, atol=1e-4)
    grad = scipy.optimize.rosen_der(result.x)
    assert np.abs(grad).max() < max(1e-3, 10 * np.abs(scipy.optimize.rosen_der(expected.x)).max())


def test_quadratic_program_matches_the_kkt_solution():
    # min 1/2 x'Qx + c'x  s.t.  A x = b, with Q positive definite: the KKT system
    #   [Q A'; A 0] [x; lambda] = [-c; b]
    n, m = 6, 2
    m_ = RNG.normal(size=(n, n))
    q = m_ @ m_.T + n * np.eye(n)
    c = RNG.normal(size=n)
    a = RNG.normal(size=(m, n))
    b = RNG.normal(size=m)
    kkt = np.block([[q, a.T], [a, np.zeros((m, m))]])
    expected = np.linalg.solve(kkt, np.concatenate([-c, b]))[:n]
    x = T.dvector("x")
    cost = 0.5 * T.dot(x, T.dot(T.constant(q), x)) + T.dot(T.constant(c), x)
    constraint = so.Equality(T.dot(T.constant(a), x) - T.constant(b))
    for method, hess in (("trust-constr", "sparse"), ("trust-constr", "dense"),
                         ("SLSQP", None)):
        result = so.minimize(cost, x, np.zeros(n), method=method, hess=hess,
                             constraints=[constraint], tol=1e-12)
        np.testing.assert_allclose(result.solution, expected, atol=1e-6)


def test_inequality_constraints_with_slsqp_and_trust_constr():
    # min (x - 2)^2 + (y - 1)^2  s.t.  x + y <= 2, x >= 0: solution (1.5, 0.5)
    x, y = T.dscalar("x"), T.dscalar("y")
    cost = (x - 2) ** 2 + (y - 1) ** 2
    cons = [so.Inequality(x + y, lower=-np.inf, upper=2.0), so.Inequality(x, lower=0.0)]
    for method in ("SLSQP", "trust-constr"):
        result = so.minimize(cost, [x, y], [0.0, 0.0], method=method, constraints=cons,
                             hess="dense" if method == "trust-constr" else None, tol=1e-10)
        np.testing.assert_allclose([float(v) for v in result.solution], [1.5, 0.5], atol=1e-5)


def test_least_squares_dense_and_sparse():
    t = np.linspace(0, 3, 40)
    a0, k0 = 2.0, 1.3
    data = a0 * np.exp(-k0 * t) + 0.001 * RNG.normal(size=t.size)
    p = T.dvector("p")
    tt, yy = T.dvector("t"), T.dvector("y")
    residuals = p[0] * T.exp(-p[1] * tt) - yy
    expected = scipy.optimize.least_squares(
        lambda q: q[0] * np.exp(-q[1] * t) - data, [1.0, 1.0]).x
    for jac in ("dense", "sparse"):
        result = so.least_squares(residuals, p, np.array([1.0, 1.0]), jac=jac, args=[tt, yy],
                                  arg_values=[t, data])
        np.testing.assert_allclose(result.solution, expected, rtol=1e-6)


def test_bad_arguments_are_named():
    x = T.dvector("x")
    i = T.lvector("i")
    with pytest.raises(TypeError, match=r"wrt\[0\]"):
        so.Problem(T.sum(x), i, np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match="scalar"):
        so.Problem(x * 2, x, np.zeros(2))
    other = T.dvector("other")
    with pytest.raises(ValueError, match="other"):
        so.Problem(T.sum(x * other), x, np.zeros(2))
    with pytest.raises(ValueError, match="hess"):
        so.minimize(T.sum(x ** 2), x, np.zeros(2), hess="bfgs")
    problem = so.Problem(T.sum(x ** 2), x, np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        problem.pack(np.zeros(4))
