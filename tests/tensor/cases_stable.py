"""Registry cases for symtheano/tensor/stable.py: log1mexp, erfcx, log_erfc (also in
their tails), LogSumExp over every kind of axis set, and SoftmaxCrossentropy,
checked against mpmath and scipy.special (erfcx, log_ndtr, logsumexp, log_softmax).
"""

from __future__ import annotations

import mpmath
import numpy as np
from scipy import special

import symtheano.tensor as T
from symtheano.tensor.stable import LogSumExp
from tests.tensor.registry import OpCase, rand


def _mp(fn):
    """An elementwise float64 reference computed with mpmath at 40 digits."""
    def ref(x):
        with mpmath.workdps(40):
            return np.vectorize(lambda v: float(fn(mpmath.mpf(float(v)))), otypes=[float])(x)

    return ref


def _single(*arrays):
    return lambda rng: [(np.asarray(a),) for a in arrays]


_log_erfc_ref = _mp(lambda v: mpmath.log(mpmath.erfc(v)))


def _logsumexp_ref(axis):
    def ref(x):
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
        if any(x.shape[a] == 0 for a in axes):
            return np.full([s for d, s in enumerate(x.shape) if d not in axes], -np.inf)
        return np.asarray(special.logsumexp(x, axis=axes))

    return ref


def _xent_samples(rng):
    def case(shape, scale=3.0):
        x = rand(rng, shape, low=-scale, high=scale)
        y = rng.integers(0, shape[-1], size=shape[:-1]).astype("int64")
        return (x, y)

    return [case((3, 4)), case((1, 5)), case((4,)), case((2, 3, 4)), case((0, 4)),
            (np.array([[0.0, -1000.0, 2.0], [1000.0, -1000.0, 0.0]]), np.array([1, 0]))]


def _xent_ref(x, y):
    if x.size == 0:
        return np.zeros(y.shape)
    return -np.take_along_axis(special.log_softmax(x, axis=-1), y[..., None], axis=-1)[..., 0]


CASES = [
    OpCase("stable_log1mexp", T.log1mexp, _mp(lambda v: mpmath.log(1 - mpmath.exp(v))),
           lambda rng: [(rand(rng, (3, 4), low=-5.0, high=-0.05),)], rtol=1e-14, atol=0),
    # Central differences cannot follow these: values only (gradients in tests/rewrite).
    OpCase("stable_log1mexp_extreme", T.log1mexp,
           _mp(lambda v: mpmath.log(1 - mpmath.exp(v))),
           _single([-1e-20, -1e-5, -0.6931, -0.6932, -40.0, -800.0]), rtol=1e-14, atol=0,
           grad=False),
    OpCase("stable_log1mexp_float32", T.log1mexp,
           lambda x: np.log(-np.expm1(x.astype("float64"))).astype("float32"),
           lambda rng: [(rand(rng, (5,), "float32", low=-3.0, high=-0.1),)], rtol=1e-6),
    OpCase("stable_erfcx", T.erfcx, special.erfcx,
           lambda rng: [(rand(rng, (3, 4), low=-3.0, high=6.0),)], rtol=1e-13, atol=0),
    OpCase("stable_erfcx_extreme", T.erfcx, special.erfcx,
           _single([-26.0, -5.0, -0.2, 0.0, 0.3, 5.0, 30.0, 1e3, 1e10]), rtol=1e-13, atol=0,
           grad=False),
    OpCase("stable_log_erfc", T.log_erfc, _log_erfc_ref,
           lambda rng: [(rand(rng, (3, 4), low=-3.0, high=6.0),)], rtol=1e-13, atol=0),
    OpCase("stable_log_erfc_extreme", T.log_erfc, _log_erfc_ref,
           _single([-30.0, -1.0, -1e-20, 0.0, 1e-20, 0.4, 0.6, 5.0, 30.0, 1e3, 1e10]),
           rtol=1e-13, atol=0, grad=False),
    OpCase("stable_log_erfc_int", T.log_erfc, _log_erfc_ref,
           lambda rng: [(np.array([-2, 0, 3, 40], dtype="int64"),)]),
    OpCase("stable_logsumexp_last", lambda x: LogSumExp((x.ndim - 1,))(x),
           _logsumexp_ref((-1,)),
           _single(np.linspace(-2, 2, 12).reshape(3, 4), [[1000.0, -1000.0, 0.0]],
                   [[-1000.0, -1001.0, -np.inf]], np.zeros((2, 0)), np.zeros((0, 3))),
           rtol=1e-13, atol=1e-300),
    OpCase("stable_logsumexp_axes", lambda x: LogSumExp((0, 2))(x), _logsumexp_ref((0, 2)),
           lambda rng: [(rand(rng, (2, 3, 4)),), (rand(rng, (1, 2, 1)),)], rtol=1e-13),
    OpCase("stable_logsumexp_all", T.logsumexp_op, _logsumexp_ref(None),
           lambda rng: [(rand(rng, (3, 4)),), (np.array([0.0, -40.0]),)], rtol=1e-13,
           atol=1e-300),
    OpCase("stable_logsumexp_float32", lambda x: LogSumExp((1,))(x),
           lambda x: special.logsumexp(x.astype("float64"), axis=1).astype("float32"),
           lambda rng: [(rand(rng, (3, 5), "float32"),)], rtol=1e-6),
    OpCase("stable_softmax_crossentropy", T.softmax_crossentropy, _xent_ref, _xent_samples,
           rtol=1e-13, atol=1e-300, wrt=(0,)),
]
