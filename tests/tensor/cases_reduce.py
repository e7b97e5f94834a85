"""OpCases for the reductions and the statistics built on them."""

import numpy as np
import scipy.special

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _samples(rng):
    return [
        (rand(rng, (3, 4)),),
        (rand(rng, (2, 3, 4)),),
        (rand(rng, (5,)),),
        (rand(rng, (3, 4), "float32"),),
    ]


def _with_empty(rng):
    return _samples(rng) + [(np.zeros((0, 3)),)]


def _axis_case(name, fn, ref, axis, keepdims=False, samples=_samples, **kw):
    def build(x):
        ax = axis if axis is None or isinstance(axis, int) else tuple(
            a for a in axis if a < x.ndim)
        if isinstance(ax, int) and ax >= x.ndim:
            ax = x.ndim - 1
        return fn(x, axis=ax, keepdims=keepdims)

    def reference(x):
        ax = axis if axis is None or isinstance(axis, int) else tuple(
            a for a in axis if a < x.ndim)
        if isinstance(ax, int) and ax >= x.ndim:
            ax = x.ndim - 1
        return ref(x, axis=ax, keepdims=keepdims)

    return OpCase(name, build, reference, samples, **kw)


def _prod_zeros(rng):
    x = rand(rng, (4, 5), low=0.5, high=1.5)
    x[0, 1] = 0.0            # one zero in row 0
    x[2, 0] = x[2, 3] = 0.0  # two zeros in row 2
    return [(x,)]


def _ints(rng):
    return [(rng.integers(-5, 5, (3, 4)).astype("int8"),),
            (rng.integers(0, 5, (3, 4)).astype("uint16"),)]


def _bools(rng):
    return [(rng.random((3, 4)) > 0.3,), (np.zeros((0, 2), bool),)]


def _distinct(rng):
    # Distinct values so that max/min/argmax have a unique answer.
    return [(rng.permutation(12).reshape(3, 4).astype("float64") / 3,),
            (rng.permutation(24).reshape(2, 3, 4).astype("float64"),)]


def _lse(rng):
    big = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -999.0, -1001.0]])
    return [(rand(rng, (3, 4)),), (big,), (rand(rng, (2, 3, 4)),)]


CASES = [
    _axis_case("reduce_sum_all", T.sum, np.sum, None, samples=_with_empty),
    _axis_case("reduce_sum_0", T.sum, np.sum, 0, samples=_with_empty),
    _axis_case("reduce_sum_last_keep", T.sum, np.sum, -1, keepdims=True),
    _axis_case("reduce_sum_tuple", T.sum, np.sum, (0, 2)),
    OpCase("reduce_sum_int", lambda x: T.sum(x, axis=1), lambda x: np.sum(x, axis=1), _ints),
    OpCase("reduce_sum_bool", lambda x: T.sum(x), np.sum, _bools),
    _axis_case("reduce_prod_all", T.prod, np.prod, None, samples=_with_empty),
    _axis_case("reduce_prod_1", T.prod, np.prod, 1, samples=_prod_zeros),
    _axis_case("reduce_prod_all_zeros", T.prod, np.prod, None, samples=_prod_zeros),
    _axis_case("reduce_max_all", T.max, np.max, None, samples=_distinct),
    _axis_case("reduce_max_1_keep", T.max, np.max, 1, keepdims=True, samples=_distinct),
    _axis_case("reduce_min_0", T.min, np.min, 0, samples=_distinct),
    OpCase("reduce_max_int", lambda x: T.max(x, axis=0), lambda x: np.max(x, axis=0), _ints),
    _axis_case("reduce_all", T.all, np.all, 1, samples=_bools),
    _axis_case("reduce_any", T.any, np.any, None, samples=_bools),
    _axis_case("reduce_argmax", T.argmax, np.argmax, 1, samples=_distinct),
    _axis_case("reduce_argmax_none", T.argmax, np.argmax, None, samples=_distinct),
    _axis_case("reduce_argmin_keep", T.argmin, np.argmin, 0, keepdims=True,
               samples=_distinct),
    _axis_case("reduce_mean_all", T.mean, np.mean, None),
    _axis_case("reduce_mean_tuple_keep", T.mean, np.mean, (0, 1), keepdims=True),
    OpCase("reduce_mean_int", lambda x: T.mean(x, axis=0), lambda x: np.mean(x, axis=0),
           _ints),
    _axis_case("reduce_var_1", T.var, np.var, 1),
    OpCase("reduce_var_ddof", lambda x: T.var(x, ddof=1), lambda x: np.var(x, ddof=1),
           _samples, rtol=1e-6),
    _axis_case("reduce_std_0", T.std, np.std, 0, rtol=1e-6),
    _axis_case("reduce_logsumexp_all", T.logsumexp, scipy.special.logsumexp, None,
               samples=_lse),
    _axis_case("reduce_logsumexp_1_keep", T.logsumexp, scipy.special.logsumexp, 1,
               keepdims=True, samples=_lse),
]
