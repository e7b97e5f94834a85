"""OpCases for PaddedSum (sums of terms written into slices of zeros) and
CheckShape (a run-time size check), the ops the rewrites introduce."""

import numpy as np

import symtheano.tensor as T
from symtheano.graph.basic import toposort
from symtheano.tensor.composite import Composite
from symtheano.tensor.padded_sum import PaddedSum, Term
from symtheano.tensor.shape import CheckShape
from tests.tensor.registry import OpCase, rand


def _vector_sum(x, y):
    # inc(exp(y) * 2 into [1:]) + set(y into [:-1]) + x
    value = T.exp(y) * 2.0
    comp, outer = Composite.from_nodes(toposort([value]))
    terms = [Term("inc", ((1, None),), comp, len(outer)), Term("set", ((None, -1),), None, 1),
             Term("full", (), None, 1)]
    return PaddedSum(terms, "float64", (None,))(x.shape[0], *outer, y, x)


def _vector_reference(x, y):
    first, second = np.zeros_like(x), np.zeros_like(x)
    first[1:] += np.exp(y) * 2.0
    second[:-1] = y
    return first + second + x


def _matrix_sum(m, r):
    # inc(m[1:, 2:] * r into [1:, 2:]) + inc(r broadcast over rows into [:-1, -3:])
    prod = m[1:, 2:] * r
    comp, outer = Composite.from_nodes([prod.owner])
    terms = [Term("inc", ((1, None), (2, None)), comp, len(outer)),
             Term("inc", ((None, -1), (-3, None)), None, 1)]
    return PaddedSum(terms, "float64", (None, None))(m.shape[0], m.shape[1], *outer, r)


def _matrix_reference(m, r):
    first, second = np.zeros_like(m), np.zeros_like(m)
    first[1:, 2:] += m[1:, 2:] * r
    second[:-1, -3:] += r
    return first + second


CASES = [
    OpCase("padded_sum_vector", _vector_sum, _vector_reference,
           lambda rng: [(rand(rng, (5,)), rand(rng, (4,))), (rand(rng, (1,)), rand(rng, (0,)))]),
    OpCase("padded_sum_matrix", _matrix_sum, _matrix_reference,
           lambda rng: [(rand(rng, (4, 5)), rand(rng, (1, 3)))]),
    OpCase("check_shape", lambda x: CheckShape((0, 1))(x, x.shape[0], x.shape[1]) * 2.0,
           lambda x: x * 2.0, lambda rng: [(rand(rng, (3, 4)),), (rand(rng, (0, 2)),)]),
]
