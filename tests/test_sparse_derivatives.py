"""Sparse derivatives: patterns read from the graph, colourings, and the sparse
Jacobians and Hessians compiled from them, against dense references (SciPy,
NumPy closed forms, central differences)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import symtheano as th
import symtheano.tensor as T
from symtheano.colouring import (
    column_colouring,
    recover_columns,
    recover_symmetric,
    seed_matrix,
    star_colouring,
)
from symtheano.sparse_derivatives import SparseVariable, sparse_hessian, sparse_jacobian
from symtheano.sparsity import hessian_pattern, jacobian_pattern

RNG = np.random.default_rng(11)


def dense(pattern):
    return np.asarray(sp.csr_matrix(pattern).toarray(), dtype=bool)


def rosenbrock(x):
    return T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def central_hessian(f, x, h=1e-4):
    """Central differences of the gradient function f (dense)."""
    n = x.size
    out = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        out[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


# -- patterns -----------------------------------------------------------------------------------

def test_banded_pattern_is_exact():
    x = T.dvector("x")
    n = 9
    xv = RNG.normal(size=n)
    expected = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
    np.testing.assert_array_equal(dense(hessian_pattern(rosenbrock(x), x, {x: xv})), expected)
    # Second neighbours: bandwidth 2.
    cost = T.sum(T.sin(x[2:] * x[:-2]))
    expected = np.isin(np.subtract.outer(np.arange(n), np.arange(n)), (-2, 0, 2))
    np.testing.assert_array_equal(dense(hessian_pattern(cost, x, {x: xv})), expected)


def test_block_pattern_is_exact():
    x = T.dvector("x")
    blocks = T.sum(x.reshape((4, 3)), axis=1)
    cost = T.sum(T.exp(blocks) * blocks)
    expected = np.kron(np.eye(4, dtype=bool), np.ones((3, 3), dtype=bool))
    np.testing.assert_array_equal(dense(hessian_pattern(cost, x, {x: RNG.normal(size=12)})),
                                  expected)


def test_arrow_pattern_is_exact():
    x = T.dvector("x")
    cost = x[0] * T.sum(x[1:] ** 2) + T.sum(T.cos(x))
    n = 7
    expected = np.eye(n, dtype=bool)
    expected[0, :] = expected[:, 0] = True
    np.testing.assert_array_equal(dense(hessian_pattern(cost, x, {x: RNG.normal(size=n)})),
                                  expected)


def test_constant_matrix_products_use_the_matrix_structure():
    x = T.dvector("x")
    q = sp.random(8, 8, density=0.2, random_state=3).toarray()
    cost = T.dot(x, T.dot(T.constant(q), x))
    expected = (q != 0) | (q.T != 0)
    np.testing.assert_array_equal(dense(hessian_pattern(cost, x, {x: RNG.normal(size=8)})),
                                  expected)
    # An input matrix may change: its product is dense.
    a = T.dmatrix("a")
    pattern = jacobian_pattern([T.dot(a, x)], x, {x: RNG.normal(size=8), a: q})
    assert dense(pattern).all()


def test_jacobian_pattern_of_indexing_and_joins():
    x = T.dvector("x")
    y = T.concatenate([x[::2] * 2.0, T.exp(x[[3, 1]]), T.sum(x[:2]).dimshuffle("x")])
    got = dense(jacobian_pattern([y], x, {x: RNG.normal(size=6)}))
    expected = np.zeros((6, 6), dtype=bool)
    expected[0, 0] = expected[1, 2] = expected[2, 4] = True
    expected[3, 3] = expected[4, 1] = True
    expected[5, :2] = True
    np.testing.assert_array_equal(got, expected)
    # set_subtensor replaces the dependence of the positions it writes.
    z = T.set_subtensor(x[1:3], x[4:6] ** 2)
    got = dense(jacobian_pattern([z], x, {x: RNG.normal(size=6)}))
    expected = np.eye(6, dtype=bool)
    expected[1:3] = False
    expected[1, 4] = expected[2, 5] = True
    np.testing.assert_array_equal(got, expected)


# -- colourings ---------------------------------------------------------------------------------

def random_symmetric(pattern):
    pattern = sp.csr_matrix(pattern, dtype=bool)
    pattern = (pattern + pattern.T + sp.identity(pattern.shape[0], dtype=bool)).tocsr()
    values = sp.csr_matrix(pattern, dtype=float)
    values.data = RNG.normal(size=values.nnz)
    return pattern, (values + values.T).tocsr()


@pytest.mark.parametrize("seed", range(12))
def test_star_colouring_recovers_random_symmetric_matrices(seed):
    n = 60
    density = [0.01, 0.03, 0.1][seed % 3]
    pattern, h = random_symmetric(sp.random(n, n, density=density, random_state=seed))
    colours = star_colouring(pattern)
    got = recover_symmetric(pattern, colours, h @ seed_matrix(colours))
    np.testing.assert_allclose(got.toarray(), h.toarray(), rtol=0, atol=1e-12)
    colours = column_colouring(pattern)
    got = recover_columns(pattern, colours, h @ seed_matrix(colours))
    np.testing.assert_allclose(got.toarray(), h.toarray(), rtol=0, atol=1e-12)


def test_colour_counts_on_classic_shapes():
    n = 100
    tri = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    arrow = sp.lil_matrix((n, n))
    arrow[0, :] = arrow[:, 0] = 1
    arrow.setdiag(1)
    assert star_colouring(tri).max() + 1 == 3
    assert star_colouring(arrow).max() + 1 == 2
    assert column_colouring(arrow).max() + 1 == n


def test_a_wrong_colouring_is_rejected():
    pattern, h = random_symmetric(sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(6, 6)))
    colours = np.array([0, 1, 0, 1, 0, 1])  # proper, but paths of 4 use only 2 colours
    with pytest.raises(ValueError, match="star"):
        recover_symmetric(pattern, colours, h @ seed_matrix(colours))


# -- compiled sparse derivatives ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["C", "PY"])
def test_sparse_rosenbrock_hessian(mode):
    x = T.dvector("x")
    h = sparse_hessian(rosenbrock(x), x)
    assert isinstance(h, SparseVariable)
    f = th.function([x], h, mode=mode)
    for n in (2, 3, 50):
        xv = RNG.uniform(-2, 2, n)
        got = f(xv)
        assert sp.isspmatrix_csr(got)
        np.testing.assert_allclose(got.toarray(), scipy.optimize.rosen_hess(xv), rtol=1e-13,
                                   atol=1e-10)
        assert got.nnz == 3 * n - 2
    assert h.data.owner.op.colours(RNG.uniform(-2, 2, 10_000)) == 3


def test_sparse_hessian_with_other_inputs_and_matrix_wrt():
    w = T.dmatrix("w")
    a = T.dmatrix("a")
    # Rows of w interact only through a per-row term: block-diagonal in w's rows.
    cost = T.sum(T.log1p(T.exp(T.sum(w * a, axis=1)))) + T.sum(w ** 4)
    f = th.function([w, a], sparse_hessian(cost, w, format="csc"))
    wv, av = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    got = f(wv, av)
    assert sp.isspmatrix_csc(got)
    g = th.function([w, a], T.grad(cost, w))
    expected = central_hessian(lambda v: g(v.reshape(3, 4), av).ravel(), wv.ravel())
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-6, atol=1e-7)
    assert got.nnz == 3 * 16


def test_sparse_jacobian_matches_dense():
    x = T.dvector("x")
    y = T.concatenate([x[1:] - x[:-1] ** 2, T.exp(x[:3]) * x[-1]])
    f = th.function([x], sparse_jacobian(y, x))
    xv = RNG.normal(size=8)
    got = f(xv)
    expected = np.zeros((10, 8))
    expected[np.arange(7), np.arange(1, 8)] = 1
    expected[np.arange(7), np.arange(7)] = -2 * xv[:7]
    expected[7 + np.arange(3), np.arange(3)] = np.exp(xv[:3]) * xv[-1]
    expected[7:, -1] = np.exp(xv[:3])
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-14, atol=0)


def test_sparse_outputs_beside_dense_ones():
    x = T.dvector("x")
    cost = rosenbrock(x)
    f = th.function([x], [cost, T.grad(cost, x), sparse_hessian(cost, x)])
    xv = RNG.uniform(-2, 2, 6)
    value, grad, hess = f(xv)
    np.testing.assert_allclose(value, scipy.optimize.rosen(xv), rtol=1e-14)
    np.testing.assert_allclose(grad, scipy.optimize.rosen_der(xv), rtol=1e-13)
    np.testing.assert_allclose(hess.toarray(), scipy.optimize.rosen_hess(xv), rtol=1e-13)


def test_bad_arguments_are_named():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        sparse_hessian(x * 2, x)
    with pytest.raises(TypeError, match="input variable"):
        sparse_hessian(T.sum(x), x * 2)
    i = T.lvector("i")
    with pytest.raises(TypeError, match="int64"):
        sparse_jacobian(i * 2, i)
    with pytest.raises(ValueError, match="format"):
        sparse_hessian(T.sum(x ** 3), x, format="coo")


def test_hessian_and_jacobian_take_sparse_true():
    from symtheano.gradient import hessian, jacobian

    x = T.dvector("x")
    cost = rosenbrock(x)
    xv = RNG.uniform(-2, 2, 7)
    h = th.function([x], T.hessian(cost, x, sparse=True, format="csc"))(xv)
    assert sp.isspmatrix_csc(h)
    dense_h = th.function([x], hessian(cost, x))(xv)
    np.testing.assert_allclose(h.toarray(), dense_h, rtol=1e-13, atol=1e-11)
    y = x[1:] * x[:-1]
    j = th.function([x], jacobian(y, x, sparse=True))(xv)
    np.testing.assert_allclose(j.toarray(), th.function([x], T.jacobian(y, x))(xv),
                               rtol=1e-14)


# -- banded, block and arrow-shaped problems: exact patterns, sparse = dense ---------------------

def structure(matrix):
    """The positions a compiled sparse matrix stores (whatever their values)."""
    m = matrix.tocsr()
    return dense(sp.csr_matrix((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape))


def banded(n, offsets):
    return np.isin(np.subtract.outer(np.arange(n), np.arange(n)), offsets)


def arrow(n):
    a = np.eye(n, dtype=bool)
    a[0, :] = a[:, 0] = True
    return a


def central_jacobian(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=1)


N_SHAPES = 12
# name: (cost of a vector x of N_SHAPES elements, the Hessian's exact pattern, the
# number of colours of an optimal star colouring)
HESSIAN_PROBLEMS = {
    "tridiagonal": (rosenbrock, banded(N_SHAPES, (-1, 0, 1)), 3),
    "second_neighbours": (lambda x: T.sum(T.sin(x[2:] * x[:-2])),
                          banded(N_SHAPES, (-2, 0, 2)), 3),
    "block": (lambda x: T.sum(T.exp(T.sum(x.reshape((4, 3)) ** 2, axis=1) * 0.5)),
              np.kron(np.eye(4, dtype=bool), np.ones((3, 3), dtype=bool)), 3),
    "arrow": (lambda x: x[0] * T.sum(x[1:] ** 2) + T.sum(T.cos(x)), arrow(N_SHAPES), 2),
}


@pytest.mark.parametrize("mode", ["C", "PY"])
@pytest.mark.parametrize("name", sorted(HESSIAN_PROBLEMS))
def test_sparse_hessians_of_classic_shapes_equal_the_dense_ones(name, mode):
    build, expected, n_colours = HESSIAN_PROBLEMS[name]
    x = T.dvector("x")
    cost = build(x)
    xv = RNG.uniform(-1, 1, N_SHAPES)
    np.testing.assert_array_equal(dense(hessian_pattern(cost, x, {x: xv})), expected)
    h = T.hessian(cost, x, sparse=True)
    got = th.function([x], h, mode=mode)(xv)
    np.testing.assert_array_equal(structure(got), expected)
    assert h.data.owner.op.colours(xv) == n_colours
    want = th.function([x], T.hessian(cost, x), mode=mode)(xv)
    np.testing.assert_allclose(got.toarray(), want, rtol=1e-12, atol=1e-12)
    assert not np.any(want[~expected]), "the dense Hessian has entries off the pattern"
    g = th.function([x], T.grad(cost, x), mode=mode)
    np.testing.assert_allclose(got.toarray(), central_jacobian(g, xv), rtol=1e-6, atol=1e-6)


# name: (vector expression of x (N_SHAPES elements), its Jacobian's exact pattern,
# the fewest colours of its rows or columns, None when not checked)
JACOBIAN_PROBLEMS = {
    "bidiagonal": (lambda x: x[1:] - x[:-1] ** 2,
                   banded(N_SHAPES, (0, -1))[:-1], 2),
    "block": (lambda x: (T.tanh(x.reshape((4, 3)))
                         * T.sum(x.reshape((4, 3)) ** 2, axis=1, keepdims=True)).flatten(),
              np.kron(np.eye(4, dtype=bool), np.ones((3, 3), dtype=bool)), 3),
    "arrow": (lambda x: T.concatenate([T.sum(x ** 2).dimshuffle("x"), x[1:] * T.exp(x[0])]),
              arrow(N_SHAPES), None),
}


@pytest.mark.parametrize("mode", ["C", "PY"])
@pytest.mark.parametrize("name", sorted(JACOBIAN_PROBLEMS))
def test_sparse_jacobians_of_classic_shapes_equal_the_dense_ones(name, mode):
    build, expected, n_colours = JACOBIAN_PROBLEMS[name]
    x = T.dvector("x")
    y = build(x)
    xv = RNG.uniform(-1, 1, N_SHAPES)
    np.testing.assert_array_equal(dense(jacobian_pattern([y], x, {x: xv})), expected)
    j = T.jacobian(y, x, sparse=True)
    got = th.function([x], j, mode=mode)(xv)
    np.testing.assert_array_equal(structure(got), expected)
    if n_colours is not None:
        assert j.data.owner.op.colours(xv) == n_colours
    want = th.function([x], T.jacobian(y, x), mode=mode)(xv)
    np.testing.assert_allclose(got.toarray(), want, rtol=1e-12, atol=1e-12)
    f = th.function([x], y, mode=mode)
    np.testing.assert_allclose(got.toarray(), central_jacobian(f, xv), rtol=1e-6, atol=1e-8)
