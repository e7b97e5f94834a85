"""Registry cases for the products in symtheano/tensor/blas.py: dot, tensordot,
matmul, outer and batched_dot, checked against numpy.dot / tensordot / matmul /
outer / einsum and explicit loops, over every ndim combination each supports.

The `blas_dot_grad_*` cases build the gradient of sum(dot(a, b) * c) themselves
and compare it (values and shapes) with the einsum that is its closed form.
"""

from __future__ import annotations

import numpy as np

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _shapes(*pairs, dtypes=("float64", "float64")):
    """samples(rng) giving one (a, b) pair per shape pair."""

    def samples(rng):
        return [tuple(rand(rng, s, dt) for s, dt in zip(pair, dtypes)) for pair in pairs]

    return samples


def _mixed(*items):
    """samples(rng) from (shape_a, dtype_a, shape_b, dtype_b) tuples."""

    def samples(rng):
        return [(rand(rng, sa, da), rand(rng, sb, db)) for sa, da, sb, db in items]

    return samples


def _dot_grad_case(name, spec, shapes):
    """The gradient of sum(dot(a, b) * c) for the product that einsum `spec` writes."""
    ins, out = spec.split("->")
    sa, sb = ins.split(",")

    def reference(a, b, c):
        return [np.einsum(f"{out},{sb}->{sa}", c, b), np.einsum(f"{sa},{out}->{sb}", a, c)]

    return OpCase(f"blas_dot_grad_{name}",
                  lambda a, b, c: T.grad(T.sum(T.dot(a, b) * c), [a, b]), reference,
                  lambda rng: [tuple(rand(rng, s) for s in shapes)], check_shape=False)


def _tensordot_case(name, axes, shapes):
    return OpCase(f"blas_tensordot_{name}", lambda a, b: T.tensordot(a, b, axes),
                  lambda a, b: np.tensordot(a, b, axes), _shapes(*shapes))


CASES = [
    # -- dot ---------------------------------------------------------------------------------
    OpCase("blas_dot_vector_vector", T.dot, np.dot,
           _shapes(((5,), (5,)), ((1,), (1,)), ((0,), (0,)))),
    OpCase("blas_dot_matrix_vector", T.dot, np.dot,
           _shapes(((3, 4), (4,)), ((1, 4), (4,)), ((3, 1), (1,)), ((0, 2), (2,)),
                   ((3, 0), (0,)))),
    OpCase("blas_dot_vector_matrix", T.dot, np.dot,
           _shapes(((4,), (4, 3)), ((4,), (4, 1)), ((2,), (2, 0)))),
    OpCase("blas_dot_matrix_matrix", T.dot, np.dot,
           _shapes(((3, 4), (4, 5)), ((1, 4), (4, 1)), ((4, 1), (1, 3)), ((0, 3), (3, 2)),
                   ((2, 0), (0, 3)))),
    OpCase("blas_dot_scalar", T.dot, np.dot,
           _shapes(((), (3, 4)), ((2, 3), ()), ((), ()), ((), (0,)))),
    OpCase("blas_dot_nd", T.dot, np.dot,
           _shapes(((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)),
                   ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3), (4, 3, 2)),
                   ((2, 0, 3), (3, 2)))),
    OpCase("blas_dot_int", T.dot, np.dot,
           _mixed(((3, 4), "int32", (4, 2), "int32"), ((4,), "int64", (4,), "int8"),
                  ((3, 4), "int16", (4,), "float64"), ((2, 3), "bool", (3, 2), "bool"))),
    OpCase("blas_dot_float32", T.dot, np.dot,
           _mixed(((3, 4), "float32", (4, 2), "float32"), ((3, 4), "float32", (4,), "float64")),
           rtol=1e-5),
    # -- gradient shapes and values of dot, for every ndim combination -------------------------
    *[
        _dot_grad_case(name, spec, shapes)
        for name, spec, shapes in [
            ("vv", "k,k->", ((4,), (4,), ())),
            ("mv", "ik,k->i", ((3, 4), (4,), (3,))),
            ("vm", "k,kj->j", ((4,), (4, 3), (3,))),
            ("mm", "ik,kj->ij", ((3, 4), (4, 2), (3, 2))),
            ("scalar_m", ",ij->ij", ((), (3, 2), (3, 2))),
            ("m_scalar", "ij,->ij", ((3, 2), (), (3, 2))),
            ("t3_v", "abk,k->ab", ((2, 3, 4), (4,), (2, 3))),
            ("v_t3", "k,akb->ab", ((4,), (2, 4, 3), (2, 3))),
            ("t3_m", "abk,kc->abc", ((2, 3, 4), (4, 2), (2, 3, 2))),
            ("m_t3", "ak,bkc->abc", ((3, 4), (2, 4, 2), (3, 2, 2))),
            ("t3_t3", "abk,ckd->abcd", ((2, 3, 4), (2, 4, 2), (2, 3, 2, 2))),
        ]
    ],
    # -- tensordot ---------------------------------------------------------------------------
    OpCase("blas_tensordot_default", T.tensordot, np.tensordot,
           _shapes(((2, 3, 4), (3, 4, 5)), ((3, 4), (3, 4)), ((2, 1, 4), (1, 4)),
                   ((2, 0, 3), (0, 3, 2)))),
    *[
        _tensordot_case(name, axes, shapes)
        for name, axes, shapes in [
            ("axes0", 0, (((2, 3), (4,)), ((), (3,)), ((3,), ()))),
            ("axes1", 1, (((2, 3), (3, 4)), ((2, 3, 4), (4, 2)), ((3,), (3,)),
                          ((2, 4), (4, 3, 2)))),
            ("axes3", 3, (((2, 3, 4), (2, 3, 4, 2)),)),
            ("pairs", ([1, 0], [0, 2]), (((3, 2, 4), (2, 5, 3)), ((3, 2), (2, 1, 3)))),
            ("negative_axes", ([-1], [-2]), (((2, 3, 4), (5, 4, 2)), ((2, 4), (4, 1)))),
            ("full", ([0, 1], [1, 0]), (((3, 4), (4, 3)), ((1, 2), (2, 1)))),
            ("unsorted", ([2, 0], [1, 2]), (((4, 2, 3), (5, 3, 4)),)),
        ]
    ],
    # -- matmul ------------------------------------------------------------------------------
    OpCase("blas_matmul_batched", T.matmul, np.matmul,
           _shapes(((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (4, 4, 2)), ((3, 3, 4), (1, 4, 2)),
                   ((2, 1, 3, 4), (1, 5, 4, 2)), ((0, 3, 4), (0, 4, 2)),
                   ((2, 3, 0), (2, 0, 2)))),
    OpCase("blas_matmul_mixed_ndim", T.matmul, np.matmul,
           _shapes(((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)),
                   ((2, 3, 4), (4,)), ((2, 2, 3, 4), (4, 1)), ((4,), (4,)), ((3, 4), (4,)),
                   ((4,), (4, 3)), ((3, 4), (4, 2)))),
    OpCase("blas_matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b,
           _shapes(((2, 3, 4), (2, 4, 5)), ((3, 4), (4, 2)))),
    OpCase("blas_matmul_int", T.matmul, np.matmul,
           _mixed(((2, 3, 4), "int32", (2, 4, 2), "int64"),
                  ((2, 3, 4), "int32", (4, 2), "float32"))),
    # -- outer -------------------------------------------------------------------------------
    OpCase("blas_outer", T.outer, np.outer,
           _shapes(((3,), (4,)), ((1,), (4,)), ((2, 3), (2,)), ((), (3,)), ((0,), (3,)),
                   ((2, 2), (3, 1)))),
    # -- batched_dot -------------------------------------------------------------------------
    OpCase("blas_batched_dot", T.batched_dot,
           lambda a, b: np.array([np.dot(x, y) for x, y in zip(a, b)]),
           _shapes(((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4)), ((2, 4), (2, 4, 3)),
                   ((3, 4), (3, 4)), ((3,), (3, 4)), ((3, 4), (3,)), ((3,), (3,)),
                   ((1, 3, 4), (1, 4, 2)), ((2, 3, 1), (2, 1, 2)))),
    OpCase("blas_batched_dot_nd", T.batched_dot,
           lambda a, b: np.array([np.dot(x, y) for x, y in zip(a, b)]),
           _shapes(((2, 3, 2, 4), (2, 4, 5)), ((2, 3, 4), (2, 3, 4, 2)),
                   ((2, 2, 3, 4), (2, 3, 4, 2)), ((2, 3, 2, 4), (2, 4)))),
]

