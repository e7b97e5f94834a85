"""Registry cases for symtheano/tensor/nnet.py: softmax and log_softmax along every
kind of axis, one-hot encoding and the cross-entropy costs, checked against
scipy.special (softmax, log_softmax, xlogy, xlog1py) and plain NumPy.
"""

from __future__ import annotations

import numpy as np
from scipy import special

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _single(*shapes, dtype="float64", low=-3.0, high=3.0):
    def samples(rng):
        return [(rand(rng, s, dtype, low, high),) for s in shapes]

    return samples


_SHAPES = ((3, 4), (1, 4), (3, 1), (5,), (2, 3, 4), (0, 3), (3, 0))


def _softmax_cases(prefix, fn, scipy_fn):
    def ref(x, axis):
        # scipy reduces with a maximum, which has no identity: empty input gives empty.
        return np.zeros_like(x) if x.size == 0 else scipy_fn(x, axis=axis)

    cases = [
        OpCase(f"nnet_{prefix}", fn, lambda x: ref(x, axis=-1), _single(*_SHAPES)),
        OpCase(f"nnet_{prefix}_axis0", lambda x: fn(x, axis=0), lambda x: ref(x, axis=0),
               _single((3, 4), (2, 3, 4), (1, 3), (4,))),
        OpCase(f"nnet_{prefix}_axis1_3d", lambda x: fn(x, axis=1), lambda x: ref(x, axis=1),
               _single((2, 3, 4), (2, 1, 4), (2, 0, 4))),
        OpCase(f"nnet_{prefix}_axis_none", lambda x: fn(x, axis=None),
               lambda x: ref(x, axis=None), _single((3, 4), (), (2, 3, 2), (1,))),
        OpCase(f"nnet_{prefix}_extreme", fn, lambda x: ref(x, axis=-1),
               lambda rng: [(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1001.0],
                                       [700.0, 710.0, 705.0]]),)],
               rtol=1e-12, atol=1e-300),
        OpCase(f"nnet_{prefix}_float32", fn,
               lambda x: ref(x.astype("float64"), axis=-1).astype("float32"),
               _single((3, 4), (2, 5), dtype="float32"), rtol=1e-5, atol=1e-6),
        OpCase(f"nnet_{prefix}_int", fn, lambda x: ref(x.astype("float64"), axis=-1),
               _single((3, 4), dtype="int64")),
    ]
    return cases


def _crossentropy_samples(rng):
    def probs(shape):
        return special.softmax(rand(rng, shape), axis=-1)

    return [(probs(s), probs(s)) for s in ((3, 4), (1, 4), (4,), (2, 3, 4), (0, 4))]


def _index_samples(rng):
    def case(shape):
        p = special.softmax(rand(rng, shape), axis=-1)
        y = rng.integers(0, shape[-1], size=shape[:-1]).astype("int64")
        return (p, y)

    return [case(s) for s in ((3, 4), (1, 4), (4,), (2, 3, 5), (0, 4))]


def _pick(p, y):
    return np.take_along_axis(p, y[..., None], axis=-1)[..., 0]


CASES = [
    *_softmax_cases("softmax", T.nnet.softmax, special.softmax),
    *_softmax_cases("log_softmax", T.nnet.log_softmax, special.log_softmax),
    OpCase("nnet_logsoftmax_alias", T.nnet.logsoftmax,
           lambda x: special.log_softmax(x, axis=-1), _single((2, 3))),
    # -- one-hot -----------------------------------------------------------------------------
    OpCase("nnet_one_hot", lambda y: T.nnet.to_one_hot(y, 5, dtype="float64"),
           lambda y: np.eye(5)[y],
           lambda rng: [(rng.integers(0, 5, size=s).astype("int64"),)
                        for s in ((4,), (1,), (2, 3), (), (0,))]),
    OpCase("nnet_one_hot_symbolic_classes", lambda y, n: T.nnet.to_one_hot(y, n, "int32"),
           lambda y, n: (y[..., None] == np.arange(n)).astype("int32"),
           lambda rng: [(np.array([0, 2, 1], dtype="int32"), np.array(3, dtype="int64")),
                        (np.array([[1, 0]], dtype="int8"), np.array(4, dtype="int16"))]),
    # -- cross-entropies ---------------------------------------------------------------------
    OpCase("nnet_binary_crossentropy", T.nnet.binary_crossentropy,
           lambda o, t: -(t * np.log(o) + (1 - t) * np.log(1 - o)),
           lambda rng: [(rand(rng, s, low=0.05, high=0.95), rand(rng, s, low=0.0, high=1.0))
                        for s in ((3, 4), (5,), (), (0, 2))]
           + [(rand(rng, (3, 1), low=0.05, high=0.95), rand(rng, (1, 4), low=0.0, high=1.0))]),
    OpCase("nnet_binary_crossentropy_edges", T.nnet.binary_crossentropy,
           lambda o, t: -(special.xlogy(t, o) + special.xlog1py(1 - t, -o)),
           lambda rng: [(np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-300]),
                         np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]))], grad=False),
    OpCase("nnet_sigmoid_binary_crossentropy", T.nnet.sigmoid_binary_crossentropy,
           lambda x, t: np.logaddexp(0.0, x) - t * x,
           lambda rng: [(rand(rng, (3, 4), low=-6, high=6), rand(rng, (3, 4), low=0, high=1)),
                        (np.array([1000.0, -1000.0, 40.0, -40.0, 0.5]),
                         np.array([1.0, 0.0, 0.3, 0.7, 0.5])),
                        (rand(rng, (), low=-3, high=3), rand(rng, (), low=0, high=1))]),
    OpCase("nnet_categorical_crossentropy", T.nnet.categorical_crossentropy,
           lambda p, t: -np.sum(t * np.log(p), axis=-1), _crossentropy_samples),
    OpCase("nnet_categorical_crossentropy_zeros", T.nnet.categorical_crossentropy,
           lambda p, t: -np.sum(special.xlogy(t, p), axis=-1),
           lambda rng: [(np.array([[0.0, 0.25, 0.75], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0]]),
                         np.array([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]))],
           grad=False),
    OpCase("nnet_categorical_crossentropy_indices", T.nnet.categorical_crossentropy,
           lambda p, y: -np.log(_pick(p, y)), _index_samples),
    # -- activations Theano kept in T.nnet ---------------------------------------------------
    OpCase("nnet_hard_sigmoid", lambda x: T.nnet.hard_sigmoid(x),
           lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
           lambda rng: [(np.array([-10.0, -3.0, -2.0, -0.7, 0.0, 0.4, 2.2, 2.6, 8.0]),),
                        (rand(rng, (3, 4), low=-2.4, high=2.4),), (rand(rng, ()),)]),
    OpCase("nnet_hard_sigmoid_float32", lambda x: T.nnet.hard_sigmoid(x),
           lambda x: np.clip(np.float32(0.2) * x + np.float32(0.5), 0, 1).astype("float32"),
           _single((3, 4), dtype="float32", low=-4, high=4), rtol=1e-6),
    OpCase("nnet_ultra_fast_sigmoid", lambda x: T.nnet.ultra_fast_sigmoid(x),
           lambda x: 1 / (1 + np.exp(-x)), _single((3, 4), (), low=-8, high=8)),
]
