"""OpCases for linear algebra (symtheano/tensor/linalg.py, linalg_decomp.py), checked
against NumPy and SciPy on well-conditioned random matrices."""

import numpy as np
import scipy.linalg as sla

import symtheano.tensor as T
from symtheano.tensor import linalg as L
from tests.tensor.registry import OpCase


def well_conditioned(rng, n, m=None, dtype="float64"):
    """A random n x m matrix with singular values in [1, 3] (condition number <= 3)."""
    m = n if m is None else m
    k = min(n, m)
    u, _ = np.linalg.qr(rng.normal(size=(n, k)))
    v, _ = np.linalg.qr(rng.normal(size=(m, k)))
    s = np.sort(rng.uniform(1.0, 3.0, size=k))[::-1]
    s = s + np.arange(k)[::-1] * 0.3  # distinct, for the svd rules
    return (u * s) @ v.T if dtype == "float64" else ((u * s) @ v.T).astype(dtype)


def spd(rng, n, dtype="float64"):
    """A symmetric positive definite matrix with distinct eigenvalues in [1, 4]."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    w = np.linspace(1.0, 4.0, n) + rng.uniform(0, 0.1, size=n)
    return ((q * w) @ q.T).astype(dtype)


def lower_triangular(rng, n):
    """A lower-triangular matrix with a strong diagonal; the upper triangle holds junk
    that solve_triangular must ignore."""
    a = rng.normal(size=(n, n))
    a[np.diag_indices(n)] = rng.uniform(2.0, 3.0, size=n) * rng.choice([-1, 1], size=n)
    return a


def _square(rng):
    return [(well_conditioned(rng, 3),), (well_conditioned(rng, 1),),
            (well_conditioned(rng, 4),)]


def _square_and_rhs(rng):
    return [(well_conditioned(rng, 3), rng.normal(size=3)),
            (well_conditioned(rng, 3), rng.normal(size=(3, 2))),
            (well_conditioned(rng, 1), rng.normal(size=(1, 4)))]


def _triangular_and_rhs(rng):
    return [(lower_triangular(rng, 3), rng.normal(size=3)),
            (lower_triangular(rng, 4), rng.normal(size=(4, 2)))]


def _spd(rng):
    return [(spd(rng, 3),), (spd(rng, 4),), (spd(rng, 1),)]


def _spd_and_rhs(rng):
    return [(spd(rng, 3), rng.normal(size=3)), (spd(rng, 4), rng.normal(size=(4, 2)))]


def _rectangular(rng):
    return [(well_conditioned(rng, 4, 3),), (well_conditioned(rng, 3, 4),),
            (well_conditioned(rng, 3),)]


def _int_matrix(rng):
    return [(np.array([[2, 1], [1, 3]], dtype="int32"),)]


def _float32_square(rng):
    return [(well_conditioned(rng, 3, dtype="float32"),)]


def _upper_factor(a):
    return np.triu(a) + np.tril(np.full_like(a, 7.0), -1)  # junk below the factor


def _negative_det(rng):
    a = well_conditioned(rng, 3)
    return [(a if np.linalg.det(a) < 0 else a[::-1].copy(),)]


SOLVE_CASES = [
    OpCase("linalg_inv", L.inv, np.linalg.inv, _square),
    OpCase("linalg_inv_int", L.inv, np.linalg.inv, _int_matrix),
    OpCase("linalg_inv_float32", L.inv, np.linalg.inv, _float32_square, rtol=1e-5,
           atol=1e-6),
    OpCase("linalg_det", L.det, np.linalg.det, _square),
    OpCase("linalg_det_negative", L.det, np.linalg.det, _negative_det),
    OpCase("linalg_slogdet", lambda a: list(L.slogdet(a)),
           lambda a: list(np.linalg.slogdet(a)), lambda rng: _square(rng) + _negative_det(rng)),
    OpCase("linalg_solve", L.solve, np.linalg.solve, _square_and_rhs),
    OpCase("linalg_solve_pos", lambda a, b: L.solve(a, b, assume_a="pos"),
           lambda a, b: sla.solve(a, b, assume_a="pos"), _spd_and_rhs),
    OpCase("linalg_solve_triangular_lower", lambda a, b: L.solve_triangular(a, b, lower=True),
           lambda a, b: sla.solve_triangular(a, b, lower=True), _triangular_and_rhs),
    OpCase("linalg_solve_triangular_upper_trans",
           lambda a, b: L.solve_triangular(a.T, b, lower=False, trans="T"),
           lambda a, b: sla.solve_triangular(a.T, b, lower=False, trans="T"),
           _triangular_and_rhs),
    OpCase("linalg_solve_triangular_unit",
           lambda a, b: L.solve_triangular(a, b, lower=True, unit_diagonal=True),
           lambda a, b: sla.solve_triangular(a, b, lower=True, unit_diagonal=True),
           _triangular_and_rhs),
    OpCase("linalg_cholesky", L.cholesky, np.linalg.cholesky, _spd),
    OpCase("linalg_cholesky_upper", lambda a: L.cholesky(a, lower=False),
           lambda a: sla.cholesky(a, lower=False), _spd),
    OpCase("linalg_cho_solve_lower", lambda a, b: L.cho_solve((L.cholesky(a), True), b),
           lambda a, b: sla.cho_solve((np.linalg.cholesky(a), True), b), _spd_and_rhs),
    OpCase("linalg_cho_solve_upper_factor", lambda c, b: L.cho_solve((c, False), b),
           lambda c, b: sla.cho_solve((c, False), b),
           lambda rng: [(_upper_factor(np.linalg.cholesky(spd(rng, 3)).T), rng.normal(size=3))],
           grad=False),
]


def _eigh_reference(a):
    return list(np.linalg.eigh(a))


def _qr_reference(mode):
    def ref(a):
        out = np.linalg.qr(a, mode=mode)
        return [out] if mode == "r" else list(out)

    return ref


DECOMPOSITION_CASES = [
    OpCase("linalg_eigh", lambda a: list(L.eigh(a)), _eigh_reference, _spd),
    OpCase("linalg_eigh_upper", lambda a: list(L.eigh(a, "U")),
           lambda a: list(np.linalg.eigh(a, "U")), _spd),
    OpCase("linalg_eigvalsh", L.eigvalsh, np.linalg.eigvalsh, _spd),
    OpCase("linalg_qr_reduced", lambda a: list(L.qr(a)), _qr_reference("reduced"),
           _rectangular),
    OpCase("linalg_qr_r", lambda a: L.qr(a, mode="r"), lambda a: np.linalg.qr(a, mode="r"),
           _rectangular),
    OpCase("linalg_qr_complete", lambda a: list(L.qr(a, mode="complete")),
           _qr_reference("complete"), _rectangular, grad=False),
    OpCase("linalg_svd_reduced", lambda a: list(L.svd(a, full_matrices=False)),
           lambda a: list(np.linalg.svd(a, full_matrices=False)), _rectangular),
    OpCase("linalg_svd_values", lambda a: L.svd(a, compute_uv=False),
           lambda a: np.linalg.svd(a, compute_uv=False), _rectangular),
    OpCase("linalg_svd_full", lambda a: list(L.svd(a)), lambda a: list(np.linalg.svd(a)),
           _rectangular, grad=False),
    OpCase("linalg_svd_full_square", lambda a: list(L.svd(a)),
           lambda a: list(np.linalg.svd(a)), _square),
    OpCase("linalg_pinv", L.pinv, np.linalg.pinv, _rectangular),
]


COMPOSED_CASES = [
    OpCase("linalg_trace", L.trace, np.trace, _rectangular),
    OpCase("linalg_norm_fro", L.norm, np.linalg.norm, _rectangular),
    OpCase("linalg_norm_nuc", lambda a: L.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"),
           _rectangular),
    OpCase("linalg_norm_2", lambda a: L.norm(a, 2), lambda a: np.linalg.norm(a, 2),
           _rectangular),
    OpCase("linalg_norm_inf", lambda a: L.norm(a, np.inf), lambda a: np.linalg.norm(a, np.inf),
           _rectangular),
    OpCase("linalg_norm_1", lambda a: L.norm(a, 1), lambda a: np.linalg.norm(a, 1),
           _rectangular),
    OpCase("linalg_norm_vector_3", lambda v: L.norm(v, 3), lambda v: np.linalg.norm(v, 3),
           lambda rng: [(rng.normal(size=5),)]),
    OpCase("linalg_matrix_power_5", lambda a: L.matrix_power(a, 5),
           lambda a: np.linalg.matrix_power(a, 5), _square),
    OpCase("linalg_matrix_power_negative", lambda a: L.matrix_power(a, -2),
           lambda a: np.linalg.matrix_power(a, -2), _square),
    OpCase("linalg_matrix_power_0", lambda a: L.matrix_power(a, 0),
           lambda a: np.linalg.matrix_power(a, 0), _square),
    OpCase("linalg_kron", L.kron, np.kron,
           lambda rng: [(rng.normal(size=(2, 3)), rng.normal(size=(3, 2))),
                        (rng.normal(size=(2,)), rng.normal(size=(3,))),
                        (rng.normal(size=(2, 2)), rng.normal(size=(3,)))]),
    OpCase("linalg_tril_triu", lambda a: [T.tril(a), T.triu(a, 1)],
           lambda a: [np.tril(a), np.triu(a, 1)], _rectangular),
    OpCase("linalg_diag", lambda a: [T.diag(a), T.diag(T.diagonal(a, 1))],
           lambda a: [np.diag(a), np.diag(np.diagonal(a, 1))], _rectangular),
]


CASES = SOLVE_CASES + DECOMPOSITION_CASES + COMPOSED_CASES
