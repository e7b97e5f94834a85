"""OpCases for ifelse (symtheano/ifelse.py): the chosen branch against NumPy, and the
lazy gradient and forward-mode rules (ifelse's of the branches' derivatives)."""

import numpy as np

import symtheano.tensor as T
from symtheano.ifelse import ifelse
from tests.tensor.registry import OpCase, rand


def _cond_and_pair(rng):
    return [(np.asarray(c, dtype="int8"), rand(rng, (3,)), rand(rng, (3,)))
            for c in (1, 0)] + [(np.asarray(True), rand(rng, (2, 2)), rand(rng, (2, 2)))]


def _cond_and_matrix(rng):
    return [(np.asarray(c, dtype="int64"), rand(rng, (2, 3), low=0.5, high=2.0))
            for c in (1, 0)]


CASES = [
    OpCase("ifelse_two_inputs", lambda c, x, y: ifelse(c, x * y, T.exp(x) + 1),
           lambda c, x, y: x * y if c else np.exp(x) + 1, _cond_and_pair),
    OpCase("ifelse_several_outputs",
           lambda c, m: ifelse(c, [T.log(m), m.sum(axis=0)], [m ** 2, T.max(m, axis=1)]),
           lambda c, m: [np.log(m), m.sum(axis=0)] if c else [m ** 2, np.max(m, axis=1)],
           _cond_and_matrix),
    OpCase("ifelse_constant_branch", lambda c, x, y: ifelse(c, x, T.constant(2.0) * y),
           lambda c, x, y: x.copy() if c else 2.0 * y, _cond_and_pair),
    OpCase("ifelse_shapes_differ", lambda c, m: ifelse(c, m[:1], m.T[:, :2].T),
           lambda c, m: m[:1] if c else m.T[:, :2].T, _cond_and_matrix),
]
