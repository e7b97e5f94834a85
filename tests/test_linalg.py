"""Linear algebra beyond the registry cases: the rewrites fire (inv @ b -> solve,
Cholesky solves for positive definite matrices) and keep the results, gradients
of composed costs against central differences on well-conditioned random
matrices, Theano's module names, and the error messages."""

import numpy as np
import pytest
import scipy.linalg as sla

import symtheano as th
import symtheano.tensor as T
from symtheano.gradient import verify_grad
from symtheano.tensor import linalg as L
from tests.tensor.cases_linalg import spd, well_conditioned


def _ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def test_inverse_times_vector_becomes_a_solve():
    A, b = T.dmatrix("A"), T.dvector("b")
    f = th.function([A, b], T.dot(L.inv(A), b))
    assert "MatrixInverse" not in _ops(f) and "Solve" in _ops(f)
    assert f.rewrite_report().counts["inv_dot_to_solve"] == 1
    rng = np.random.default_rng(0)
    a, bv = well_conditioned(rng, 5), rng.normal(size=5)
    np.testing.assert_allclose(f(a, bv), np.linalg.solve(a, bv), rtol=1e-12)


@pytest.mark.parametrize("build, reference", [
    (lambda A, B: L.inv(A) @ B, lambda a, b: np.linalg.solve(a, b)),
    (lambda A, B: L.inv(A).T @ B, lambda a, b: np.linalg.solve(a.T, b)),
    (lambda A, B: T.dot(B.T, L.inv(A)), lambda a, b: b.T @ np.linalg.inv(a)),
    (lambda A, B: T.dot(B.T, L.inv(A).T), lambda a, b: b.T @ np.linalg.inv(a).T),
])
def test_inverse_products_become_solves(build, reference):
    A, B = T.dmatrix("A"), T.dmatrix("B")
    f = th.function([A, B], build(A, B))
    assert "MatrixInverse" not in _ops(f)
    rng = np.random.default_rng(1)
    a, bv = well_conditioned(rng, 4), rng.normal(size=(4, 3))
    np.testing.assert_allclose(f(a, bv), reference(a, bv), rtol=1e-10, atol=1e-12)


def test_inverse_used_elsewhere_is_kept():
    A, b = T.dmatrix("A"), T.dvector("b")
    f = th.function([A, b], [L.inv(A), T.dot(L.inv(A), b)])
    rng = np.random.default_rng(2)
    a, bv = well_conditioned(rng, 3), rng.normal(size=3)
    inv_a, x = f(a, bv)
    np.testing.assert_allclose(inv_a, np.linalg.inv(a), rtol=1e-12)
    np.testing.assert_allclose(x, np.linalg.solve(a, bv), rtol=1e-12)


def test_solve_with_pos_uses_cholesky():
    A, b = T.dmatrix("A"), T.dvector("b")
    f = th.function([A, b], L.solve(A, b, assume_a="pos"))
    ops = _ops(f)
    assert "Solve" not in ops and "Cholesky" in ops and ops.count("SolveTriangular") == 2
    rng = np.random.default_rng(3)
    a, bv = spd(rng, 6), rng.normal(size=6)
    np.testing.assert_allclose(f(a, bv), sla.solve(a, bv, assume_a="pos"), rtol=1e-10)


def test_solve_pos_reads_the_named_triangle():
    A, b = T.dmatrix("A"), T.dvector("b")
    f = th.function([A, b], L.solve(A, b, assume_a="pos", lower=False))
    rng = np.random.default_rng(4)
    a, bv = spd(rng, 4), rng.normal(size=4)
    junk = np.triu(a) + np.tril(np.full_like(a, 9.0), -1)  # only the upper triangle is a
    np.testing.assert_allclose(f(junk, bv), np.linalg.solve(a, bv), rtol=1e-10)


def test_tagged_positive_definite_uses_cholesky():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    A.tag["positive_definite"] = True
    f = th.function([A, B], L.solve(A, B))
    assert "Cholesky" in _ops(f) and "Solve" not in _ops(f)
    rng = np.random.default_rng(5)
    a, bv = spd(rng, 4), rng.normal(size=(4, 2))
    np.testing.assert_allclose(f(a, bv), np.linalg.solve(a, bv), rtol=1e-10)


def test_solve_with_a_cholesky_product_reuses_the_factor():
    C, b = T.dmatrix("C"), T.dvector("b")
    chol = L.cholesky(C)
    f = th.function([C, b], L.solve(T.dot(chol, chol.T), b))
    ops = _ops(f)
    assert ops.count("Cholesky") == 1 and "Solve" not in ops
    rng = np.random.default_rng(6)
    c, bv = spd(rng, 5), rng.normal(size=5)
    np.testing.assert_allclose(f(c, bv), np.linalg.solve(c, bv), rtol=1e-9)


def test_general_solve_is_not_rewritten():
    A, b = T.dmatrix("A"), T.dvector("b")
    f = th.function([A, b], L.solve(A, b))
    assert "Solve" in _ops(f) and "Cholesky" not in _ops(f)


def test_rewritten_gradient_matches_the_inverse_formula():
    # grad of sum(inv(A) @ b): stabilize turns the product into a solve first.
    A, b = T.dmatrix("A"), T.dvector("b")
    cost = T.sum(T.dot(L.inv(A), b))
    ga, gb = T.grad(cost, [A, b])
    f = th.function([A, b], [ga, gb])
    rng = np.random.default_rng(7)
    a, bv = well_conditioned(rng, 4), rng.normal(size=4)
    ai = np.linalg.inv(a)
    ones = np.ones(4)
    want_gb = ai.T @ ones
    np.testing.assert_allclose(f(a, bv)[1], want_gb, rtol=1e-10)
    np.testing.assert_allclose(f(a, bv)[0], -np.outer(want_gb, ai @ bv), rtol=1e-10)


def _gaussian_nll(x, s):
    """The negative log-likelihood of x under N(0, S) with S = s s^T + I."""
    cov = T.dot(s, s.T) + T.eye(s.shape[0], dtype="float64")
    chol = L.cholesky(cov)
    z = L.solve_triangular(chol, x, lower=True)
    return 0.5 * T.sum(z ** 2) + T.sum(T.log(T.diagonal(chol)))


def test_gaussian_likelihood_gradient_matches_central_differences():
    rng = np.random.default_rng(8)
    verify_grad(_gaussian_nll, [rng.normal(size=4), rng.normal(size=(4, 4))], rng=rng,
                mode="C")


def test_gaussian_likelihood_matches_scipy():
    x, s = T.dvector("x"), T.dmatrix("s")
    f = th.function([x, s], _gaussian_nll(x, s))
    rng = np.random.default_rng(9)
    xv, sv = rng.normal(size=4), rng.normal(size=(4, 4))
    cov = sv @ sv.T + np.eye(4)
    from scipy.stats import multivariate_normal

    want = -multivariate_normal(np.zeros(4), cov).logpdf(xv) - 2 * np.log(2 * np.pi)
    np.testing.assert_allclose(f(xv, sv), want, rtol=1e-10)


@pytest.mark.parametrize("cost", [
    lambda a: L.slogdet(T.dot(a, a.T) + T.eye(3, dtype="float64"))[1],
    lambda a: T.sum(L.eigh(T.dot(a, a.T))[0] ** 2),
    lambda a: L.norm(a, "nuc") + L.norm(a, 2),
    lambda a: T.sum(L.pinv(a[:, :2]) ** 2),
    lambda a: T.sum(L.qr(a)[1] ** 2) + T.sum(L.qr(a)[0][:, 0]),
    lambda a: L.trace(L.matrix_power(a, 3)) + T.sum(L.kron(a, a[:2, :2])),
    lambda a: T.sum(L.cho_solve((L.cholesky(T.dot(a, a.T) + 3 * T.eye(3)), True), a[:, 0])),
], ids=["logdet", "eigvals", "norms", "pinv", "qr", "power_kron", "cho_solve"])
def test_composed_gradients_match_central_differences(cost):
    rng = np.random.default_rng(10)
    verify_grad(cost, [well_conditioned(rng, 3)], rng=rng, mode="C")


def test_compiled_results_match_numpy():
    A = T.dmatrix("A")
    outs = [L.inv(A), L.det(A), L.svd(A, compute_uv=False), L.eigh(A + A.T)[0], L.pinv(A)]
    f = th.function([A], outs)  # the default mode: ops without C run `perform` natively
    rng = np.random.default_rng(11)
    a = well_conditioned(rng, 4)
    want = [np.linalg.inv(a), np.linalg.det(a), np.linalg.svd(a, compute_uv=False),
            np.linalg.eigh(a + a.T)[0], np.linalg.pinv(a)]
    for got, w in zip(f(a), want):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-12)


def test_theano_module_names():
    from symtheano.tensor import nlinalg, slinalg

    assert nlinalg.matrix_inverse is L.inv and slinalg.cholesky is L.cholesky
    assert T.nlinalg.trace is L.trace and T.slinalg.solve is L.solve
    import symtheano as theano

    assert theano.tensor.slinalg.kron is L.kron


def test_errors_name_the_input():
    v = T.dvector("v")
    with pytest.raises(ValueError, match="inv: v .* must be a matrix"):
        L.inv(v)
    r = T.TensorType("float64", (2, 3))("r")
    with pytest.raises(ValueError, match="det: r .* must be square"):
        L.det(r)
    A, b = T.dmatrix("A"), T.TensorType("float64", (3,))("b")
    with pytest.raises(ValueError, match="right-hand side b"):
        L.solve(T.TensorType("float64", (2, 2))("A2"), b)
    f = th.function([A], L.inv(A), mode="PY")
    with pytest.raises(np.linalg.LinAlgError, match="inv of A"):
        f(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be square"):
        f(np.zeros((2, 3)))
    g = th.function([A], L.cholesky(A), mode="PY")
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        g(-np.eye(2))
    with pytest.raises(TypeError, match="matrix_power: the power must be an int"):
        L.matrix_power(A, 1.5)
