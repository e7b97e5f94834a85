"""OpCases for SpecifyShape and the broadcast-pattern helpers built on it."""

import numpy as np

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _col_and_matrix(rng):
    return [(rand(rng, (3, 4)), rand(rng, (3, 2))[:, :1].copy()),
            (rand(rng, (0, 4)), rand(rng, (0, 1)))]


CASES = [
    OpCase("specify_addbroadcast",
           # The column arrives with an unknown static width; addbroadcast declares it 1.
           lambda m, c: m * T.addbroadcast(T.unbroadcast(c, 1), 1),
           lambda m, c: m * c, _col_and_matrix),
    OpCase("specify_shape", lambda x: T.specify_shape(x, (3, None)) * 2, lambda x: x * 2,
           lambda rng: [(rand(rng, (3, 4)),)]),
    OpCase("specify_patternbroadcast",
           lambda x: T.patternbroadcast(x, (False, True)) + np.ones((1, 5)),
           lambda x: x + np.ones((1, 5)), lambda rng: [(rand(rng, (2, 1)),)]),
]
