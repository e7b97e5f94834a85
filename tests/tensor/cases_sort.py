"""OpCases for sorting and Theano's extra_ops (symtheano/tensor/sort.py, extra_ops.py):
sort, argsort, topk, take_along_axis, cumsum, cumprod, diff, searchsorted, unique."""

import numpy as np

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _distinct(rng, shape, dtype="float64"):
    """Values far enough apart that no perturbation of central differences swaps two."""
    n = int(np.prod(shape))
    values = rng.permutation(n) * 0.5 + rng.uniform(0, 0.1, n)
    return values.reshape(shape).astype(dtype)


def _arrays(rng):
    return [(_distinct(rng, (3, 4)),), (_distinct(rng, (1, 5)),), (_distinct(rng, (2, 0)),),
            (_distinct(rng, (2, 3), "float32"),), (rand(rng, (2, 4), "int16"),)]


def _vectors(rng):
    return [(_distinct(rng, (6,)),), (_distinct(rng, (1,)),), (rand(rng, (5,), "int32"),)]


def _three_d(rng):
    return [(_distinct(rng, (2, 3, 4)),)]


def _topk_reference(k, axis=-1):
    def ref(x):
        order = np.argsort(x, axis=axis, kind="stable")
        idx = np.flip(order, axis=axis).take(np.arange(k), axis=axis) if k > 0 else order.take(
            np.arange(-k), axis=axis)
        return [np.take_along_axis(x, idx, axis=axis), idx]

    return ref


def _nonzero(rng):
    def away_from_zero(shape, dtype="float64"):
        x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
        return x.astype(dtype)

    return [(away_from_zero((3, 4)),), (away_from_zero((1, 3)),), (away_from_zero((2, 0)),),
            (away_from_zero((2, 3), "float32"),), (rand(rng, (2, 3), "int8"),)]


def _cum_arrays(rng):
    return [(rand(rng, (3, 4)),), (rand(rng, (1, 3)),), (rand(rng, (2, 0)),),
            (rand(rng, (2, 3), "float32"),), (rand(rng, (2, 3), "int8"),),
            (rand(rng, (2, 3), "uint8", 0, 5),), (rand(rng, (3,), "bool"),)]


def _searchsorted_samples(rng):
    a = np.sort(rng.uniform(-2, 2, size=6))
    return [(a, rng.uniform(-3, 3, size=(2, 3))), (a, np.asarray(a[2])),
            (np.sort(rand(rng, (5,), "int32")), rand(rng, (4,), "int32"))]


def _unique_samples(rng):
    return [(np.asarray([[3, 1, 2], [1, 3, 0]], dtype="int32"),),
            (np.asarray([2.5, -1.0, 2.5, 0.0]),), (np.zeros((0, 3)),),
            (np.asarray([True, False, True]),)]


CASES = [
    OpCase("sort_last_axis", lambda x: T.sort(x), lambda x: np.sort(x), _arrays),
    OpCase("sort_axis0", lambda x: T.sort(x, axis=0), lambda x: np.sort(x, axis=0), _arrays),
    OpCase("sort_flattened", lambda x: T.sort(x, axis=None), lambda x: np.sort(x, axis=None),
           _arrays),
    OpCase("sort_middle_axis_mergesort", lambda x: T.sort(x, axis=1, kind="mergesort"),
           lambda x: np.sort(x, axis=1, kind="mergesort"), _three_d),
    OpCase("sort_argsort", lambda x: T.argsort(x), lambda x: np.argsort(x), _arrays),
    OpCase("sort_argsort_axis0_stable", lambda x: T.argsort(x, axis=0, kind="stable"),
           lambda x: np.argsort(x, axis=0, kind="stable"),
           lambda rng: _arrays(rng) + [(np.asarray([[1.0, 2.0], [1.0, 0.0], [1.0, 2.0]]),)]),
    OpCase("sort_topk_largest", lambda x: list(T.topk_and_argtopk(x, 2)), _topk_reference(2),
           lambda rng: [(_distinct(rng, (3, 4)),), (_distinct(rng, (2,)),)]),
    OpCase("sort_topk_smallest_axis0", lambda x: list(T.topk_and_argtopk(x, -2, axis=0)),
           _topk_reference(-2, 0), lambda rng: [(_distinct(rng, (3, 4)),)]),
    OpCase("sort_topk_values", lambda x: T.topk(x, 3), lambda x: -np.sort(-x)[..., :3],
           lambda rng: [(_distinct(rng, (6,)),), (rand(rng, (5,), "int32"),)]),
    OpCase("sort_take_along_axis",
           lambda x, i: T.take_along_axis(x, i, axis=1),
           lambda x, i: np.take_along_axis(x, i, axis=1),
           lambda rng: [(rand(rng, (2, 3)), np.asarray([[2, 2, 0, 1], [0, 1, 1, 2]]))]),
    OpCase("extra_cumsum_flat", lambda x: T.cumsum(x), lambda x: np.cumsum(x), _cum_arrays),
    OpCase("extra_cumsum_axis0", lambda x: T.cumsum(x, axis=0),
           lambda x: np.cumsum(x, axis=0), _cum_arrays),
    OpCase("extra_cumsum_last_axis", lambda x: T.cumsum(x, axis=-1),
           lambda x: np.cumsum(x, axis=-1), _three_d),
    OpCase("extra_cumprod_axis1", lambda x: T.cumprod(x, axis=1),
           lambda x: np.cumprod(x, axis=1), _nonzero),
    OpCase("extra_cumprod_flat", lambda x: T.cumprod(x), lambda x: np.cumprod(x), _nonzero),
    OpCase("extra_diff", lambda x: T.diff(x), lambda x: np.diff(x), _arrays),
    OpCase("extra_diff_twice_axis0", lambda x: T.diff(x, n=2, axis=0),
           lambda x: np.diff(x, n=2, axis=0), lambda rng: [(rand(rng, (4, 3)),)]),
    OpCase("extra_searchsorted_left", lambda a, v: T.searchsorted(a, v),
           lambda a, v: np.searchsorted(a, v), _searchsorted_samples),
    OpCase("extra_searchsorted_right_sorter",
           lambda a, v: T.searchsorted(a, v, side="right", sorter=T.argsort(a)),
           lambda a, v: np.searchsorted(a, v, side="right", sorter=np.argsort(a)),
           lambda rng: [(rng.uniform(-2, 2, size=5), rng.uniform(-3, 3, size=4))]),
    OpCase("extra_unique", lambda x: T.unique(x), lambda x: np.unique(x), _unique_samples,
           grad=False),
    OpCase("extra_unique_all", lambda x: T.unique(x, True, True, True),
           lambda x: [np.asarray(r) for r in np.unique(x, True, True, True)[:2]]
           + [np.reshape(np.unique(x, True, True, True)[2], x.shape),
              np.unique(x, True, True, True)[3]],
           _unique_samples, grad=False),
]
