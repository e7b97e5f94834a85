"""Registry cases for the BLAS-shaped ops of symtheano/tensor/blas_ops.py (Gemm,
Gemv, Ger), checked against einsum formulas: plain shapes, an added term that
broadcasts along static-1 dimensions, empty inner dimensions, zero scalars and
float32. Gradients (w.r.t. every input, alpha and beta included) are checked
against central differences by the registry test.
"""

from __future__ import annotations

import numpy as np

from symtheano.tensor.blas_ops import Gemm, Gemv, Ger
from tests.tensor.registry import OpCase, rand


def _samples(shapes, dtype="float64", scalars=None):
    """samples(rng): one tuple per entry of `shapes` (() for a scalar input);
    `scalars` optionally fixes the 0-d values (by position)."""

    def samples(rng):
        out = []
        for entry in shapes:
            arrays = [rand(rng, s, dtype) for s in entry]
            for pos, value in (scalars or {}).items():
                arrays[pos] = np.asarray(value, dtype=dtype)
            out.append(tuple(arrays))
        return out

    return samples


def _gemm_ref(C, alpha, A, B, beta):
    return alpha * np.einsum("ik,kj->ij", A, B) + beta * C


def _gemv_ref(y, alpha, A, x, beta):
    return alpha * np.einsum("ik,k->i", A, x) + beta * y


def _ger_ref(A, alpha, x, y):
    return A + alpha * np.einsum("i,j->ij", x, y)


GEMM_SHAPES = [
    ((3, 5), (), (3, 4), (4, 5), ()),
    ((1, 5), (), (3, 4), (4, 5), ()),      # a bias row
    ((3, 1), (), (3, 4), (4, 5), ()),      # a bias column
    ((1, 1), (), (3, 4), (4, 5), ()),      # a broadcast scalar (the zero of a plain dot)
    ((1, 5), (), (1, 4), (4, 5), ()),      # one row
    ((3, 2), (), (3, 0), (0, 2), ()),      # empty inner dimension
    ((0, 2), (), (0, 3), (3, 2), ()),      # empty output
]
GEMV_SHAPES = [
    ((3,), (), (3, 4), (4,), ()),
    ((1,), (), (3, 4), (4,), ()),
    ((1,), (), (1, 4), (4,), ()),
    ((3,), (), (3, 0), (0,), ()),
]
GER_SHAPES = [
    ((3, 4), (), (3,), (4,)),
    ((1, 4), (), (3,), (4,)),
    ((1, 1), (), (3,), (4,)),
    ((1, 1), (), (1,), (4,)),
    ((0, 4), (), (0,), (4,)),
]

CASES = [
    OpCase("blas_ops_gemm", Gemm(), _gemm_ref, _samples(GEMM_SHAPES)),
    OpCase("blas_ops_gemm_zero_scalars", Gemm(), _gemm_ref,
           _samples(GEMM_SHAPES[:2], scalars={1: 0.0, 4: 0.0})),
    OpCase("blas_ops_gemm_float32", Gemm(), _gemm_ref, _samples(GEMM_SHAPES[:4], "float32"),
           rtol=1e-5, atol=1e-5),
    OpCase("blas_ops_gemv", Gemv(), _gemv_ref, _samples(GEMV_SHAPES)),
    OpCase("blas_ops_gemv_zero_beta", Gemv(), _gemv_ref,
           _samples(GEMV_SHAPES[:1], scalars={4: 0.0})),
    OpCase("blas_ops_gemv_float32", Gemv(), _gemv_ref, _samples(GEMV_SHAPES[:2], "float32"),
           rtol=1e-5, atol=1e-5),
    OpCase("blas_ops_ger", Ger(), _ger_ref, _samples(GER_SHAPES)),
    OpCase("blas_ops_ger_float32", Ger(), _ger_ref, _samples(GER_SHAPES[:2], "float32"),
           rtol=1e-5, atol=1e-5),
]
