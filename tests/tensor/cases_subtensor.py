"""OpCases for indexing: basic (Subtensor), advanced (AdvancedSubtensor), their
set/inc updates (IncSubtensor, AdvancedIncSubtensor) and take.

References index NumPy arrays directly; increments with repeated indices use
np.add.at, the NumPy definition of accumulation.
"""

import numpy as np

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _mats(rng):
    return [(rand(rng, (4, 5)),), (rand(rng, (3, 2)),), (rand(rng, (4, 5), "float32"),)]


def _tensors3(rng):
    return [(rand(rng, (3, 4, 5)),), (rand(rng, (2, 3, 2)),)]


def _nonempty(rng):
    return [(rand(rng, (4, 5)),), (rand(rng, (3, 4, 2)),), (rand(rng, (6,)),),
            (rand(rng, (2, 3)),), (rand(rng, (5,), "float32"),)]


def _any_nd(rng):
    return _nonempty(rng) + [(rand(rng, (0, 3)),)]


def _index_case(name, index, samples=_mats, **kw):
    """x[index] for a constant index, checked against NumPy's x[index]."""
    return OpCase(name, lambda x: x[index], lambda x: x[index], samples, **kw)


def _ints(rng, shape, low, high, dtype="int64"):
    return rng.integers(low, high, size=shape).astype(dtype)


# -- basic indexing with symbolic parts -------------------------------------------------------

def _sym_int_samples(rng):
    return [(rand(rng, (4, 5)), np.int64(2)), (rand(rng, (4, 5)), np.int64(-4)),
            (rand(rng, (3,)), np.int32(-1)), (rand(rng, (2, 3), "float32"), np.int8(1))]


def _sym_slice_samples(rng):
    x = rand(rng, (6, 3))
    out = []
    for start, stop, step in [(1, 5, 1), (-2, None, 1), (5, 0, -2), (-1, -7, -1), (0, 100, 3),
                              (4, 2, 1), (-100, 100, -1), (None, None, -3)]:
        # None is passed as the slice default for the sign of step.
        default_start = 0 if step > 0 else 5
        default_stop = 6 if step > 0 else -7
        out.append((x, np.int64(default_start if start is None else start),
                    np.int64(default_stop if stop is None else stop), np.int64(step)))
    out.append((np.zeros((0, 2)), np.int64(0), np.int64(3), np.int64(-1)))
    return out


def _int_vectors(rng):
    return [(np.array([3, 4, 5, 6], dtype="int64"),), (np.array([7], dtype="int64"),)]


# -- advanced indexing ------------------------------------------------------------------------

def _index_vector_samples(rng):
    x = rand(rng, (5, 3))
    return [(x, np.array([0, 4, 4, -1, 2])), (x, np.array([[1, 0], [3, 3]], dtype="int32")),
            (x, np.zeros(0, dtype="int64")), (rand(rng, (5,)), np.array([2, 2, 2])),
            (rand(rng, (4, 2), "float32"), np.array([1, 3], dtype="uint8"))]


def _two_index_samples(rng):
    x = rand(rng, (4, 5, 3))
    return [(x, np.array([0, 3, 3]), np.array([2, 0, 2])),
            (x, np.array([[0], [2]]), np.array([1, 2, -1])),   # broadcast to (2, 3)
            (x, np.array([1]), np.array([0, 1, 2, -3]))]


def _three_columns(rng):
    return [(rand(rng, (2, 3)),), (rand(rng, (4, 3, 2)),), (rand(rng, (1, 3)),)]


def _mask_samples(rng):
    return [(rand(rng, (4, 5)),), (rand(rng, (3, 2, 2)),), (rand(rng, (6,)),),
            (rand(rng, ()),), (np.array(-1.5),), (rand(rng, (0, 2)),),
            (rand(rng, (4,), "float32"),)]


def _row_mask_samples(rng):
    x = rand(rng, (5, 3))
    return [(x, np.array([True, False, True, True, False])), (x, np.zeros(5, dtype=bool)),
            (rand(rng, (2, 4)), np.array([True, True]))]


def _mask_and_array_samples(rng):
    x = rand(rng, (4, 3, 2))
    return [(x, np.array([False, True, False, True]), np.array([1, 0])),
            (x, np.array([True, False, False, False]), np.array([-1, 1, 0]))]


# -- set / inc ------------------------------------------------------------------------------

def _set_rows_samples(rng):
    x = rand(rng, (5, 4))
    return [(x, rand(rng, (2, 4))), (x, rand(rng, (4,))), (x, rand(rng, (1, 4))),
            (x, rand(rng, ())), (x, rand(rng, (2, 1))),
            (rand(rng, (5, 4), "float32"), rand(rng, (2, 4), "float32"))]


def _set_rows(x, y):
    out = x.copy()
    out[1:3] = y
    return out


def _inc_column_samples(rng):
    x = rand(rng, (3, 4))
    return [(x, rand(rng, (3,))), (x, rand(rng, ())), (rand(rng, (0, 4)), rand(rng, (0,)))]


def _inc_column(x, y):
    out = x.copy()
    out[:, -1] += y
    return out


def _scalar_value_samples(rng):
    return [(rand(rng, (3, 4)), rand(rng, ())), (rand(rng, (2, 3)), rand(rng, ()))]


def _set_element(x, y):
    out = x.copy()
    out[1, -2] = y
    return out


def _inc_neg_step_samples(rng):
    x = rand(rng, (7, 2))
    return [(x, rand(rng, (4, 2))), (x, rand(rng, (1, 2))), (x, rand(rng, (2,)))]


def _inc_neg_step(x, y):
    out = x.copy()
    out[::-2] += y
    return out


def _inc_repeated_samples(rng):
    x = rand(rng, (4, 3))
    return [(x, rand(rng, (5, 3))), (x, rand(rng, (3,))), (x, rand(rng, (5, 1))),
            (rand(rng, (4, 3), "float32"), rand(rng, (5, 3), "float32"))]


_REPEATED = [0, 2, 0, -1, 0]


def _inc_repeated(x, y):
    out = x.copy()
    np.add.at(out, _REPEATED, y)
    return out


def _set_adv_samples(rng):
    x = rand(rng, (4, 5))
    return [(x, rand(rng, (3,))), (x, rand(rng, ()))]


def _set_adv(x, y):
    out = x.copy()
    out[[0, 3, 1], [4, 0, 2]] = y
    return out


def _inc_sym_samples(rng):
    x = rand(rng, (5, 2))
    return [(x, np.array([1, 1, 4, 1]), rand(rng, (4, 2))),
            (x, np.array([[0, 0], [3, 0]]), rand(rng, (2, 2, 2))),
            (x, np.zeros(0, dtype="int64"), rand(rng, (0, 2)))]


def _inc_sym(x, i, y):
    out = x.copy()
    np.add.at(out, i, y)
    return out


def _inc_mask_samples(rng):
    x = rand(rng, (4, 3))
    m = np.array([[True, False, True], [False, False, False], [True, True, True],
                  [False, True, False]])
    return [(x, m, rand(rng, (m.sum(),))), (x, m, rand(rng, ())),
            (rand(rng, ()), np.array(True), rand(rng, (1,)))]


def _inc_mask(x, m, y):
    out = x.copy()
    out[m] += y
    return out


def _set_positive(x):
    out = x.copy()
    out[out > 0.5] = -1.0
    return out


def _set_int_samples(rng):
    return [(_ints(rng, (4, 3), -9, 9, "int32"), _ints(rng, (3,), -9, 9, "int16")),
            (_ints(rng, (4, 3), 0, 9, "uint8"), _ints(rng, (), 0, 9, "uint8"))]


def _inc_int(x, y):
    out = x.copy()
    np.add.at(out, ([1, 1, 3],), y)
    return out


def _set_newaxis_samples(rng):
    return [(rand(rng, (3, 4)), rand(rng, (1, 4))), (rand(rng, (3, 4)), rand(rng, (4,)))]


def _set_newaxis(x, y):
    out = x.copy()
    out[None, 2] = y
    return out


# -- take ------------------------------------------------------------------------------------

def _take_samples(rng):
    return [(rand(rng, (4, 5)), np.array([0, 3, -1, 3])), (rand(rng, (3, 4)), np.array(2)),
            (rand(rng, (4, 5)), np.array([[1, 2], [3, 0]], dtype="int32"))]


def _take_mode_samples(rng):
    return [(rand(rng, (3, 4)), np.array([-5, 0, 3, 7, 12]))]


CASES = [
    # basic: constant ints and slices
    _index_case("subtensor_int", 1, samples=_nonempty),
    _index_case("subtensor_int_negative", -1, samples=_nonempty),
    _index_case("subtensor_int_int", (1, -2)),
    _index_case("subtensor_slice", slice(1, 3), samples=_any_nd),
    _index_case("subtensor_slice_step", slice(None, None, 2), samples=_any_nd),
    _index_case("subtensor_slice_reverse", slice(None, None, -1), samples=_any_nd),
    _index_case("subtensor_slice_neg_step", (slice(3, 0, -2), slice(-1, None, -3))),
    _index_case("subtensor_slice_negative", slice(-3, -1), samples=_any_nd),
    _index_case("subtensor_slice_past_end", slice(5, 10), samples=_any_nd),
    _index_case("subtensor_slice_int", (slice(1, None), 0)),
    _index_case("subtensor_newaxis", (None, slice(None), None, 1)),
    _index_case("subtensor_ellipsis", (Ellipsis, 1), samples=_tensors3),
    _index_case("subtensor_ellipsis_newaxis", (0, Ellipsis, None), samples=_tensors3),
    _index_case("subtensor_empty_index", (), samples=_mask_samples),
    _index_case("subtensor_0d_newaxis", (None, Ellipsis, None), samples=_mask_samples),
    OpCase("subtensor_int_vector", lambda v: v[1:], lambda v: v[1:], _int_vectors, grad=False),
    OpCase("subtensor_int_vector_item", lambda v: v[-1], lambda v: v[-1], _int_vectors,
           grad=False),
    OpCase("subtensor_of_expression", lambda x: (x * 2)[1:, ::-1][0],
           lambda x: (x * 2)[1:, ::-1][0], _mats),
    # basic: symbolic ints and slice bounds
    OpCase("subtensor_sym_int", lambda x, i: x[i], lambda x, i: x[i], _sym_int_samples),
    OpCase("subtensor_sym_int_slice", lambda x, i: x[..., i:],
           lambda x, i: x[..., i:], _sym_int_samples),
    OpCase("subtensor_sym_slice", lambda x, a, b, c: x[a:b:c], lambda x, a, b, c: x[a:b:c],
           _sym_slice_samples),
    OpCase("subtensor_sym_slice_parts", lambda x, a, b, c: x[a::c, :b],
           lambda x, a, b, c: x[a::c, :b], _sym_slice_samples),
    # advanced: integer arrays
    _index_case("subtensor_adv_list", ([0, 2, 2, -1],)),
    _index_case("subtensor_adv_list_2d", (np.array([[1, 0], [0, 0]]),), samples=_nonempty),
    _index_case("subtensor_adv_two_arrays", ([0, 1, 2], [1, 0, -1])),
    _index_case("subtensor_adv_broadcast_arrays", (np.array([[0], [1]]), [0, 1, 1])),
    _index_case("subtensor_adv_slice_array", (slice(1, None), [0, 0, 1])),
    _index_case("subtensor_adv_array_slice", ([1, 0, 1], slice(None, None, -1))),
    _index_case("subtensor_adv_separated", ([0, 1], slice(None), [1, 0]), samples=_tensors3),
    _index_case("subtensor_adv_int_and_array", (0, slice(None), [0, 1, 1]), samples=_tensors3),
    _index_case("subtensor_adv_adjacent", (slice(None), [0, 1], 1), samples=_tensors3),
    _index_case("subtensor_adv_newaxis_between", ([1, 0], None, [0, 1]), samples=_tensors3),
    _index_case("subtensor_adv_empty_list", ([],), samples=_any_nd),
    OpCase("subtensor_adv_sym_index", lambda x, i: x[i], lambda x, i: x[i],
           _index_vector_samples),
    OpCase("subtensor_adv_sym_index_axis1", lambda x, i: x[..., i % 2], lambda x, i: x[..., i % 2],
           _index_vector_samples),
    OpCase("subtensor_adv_sym_two", lambda x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j],
           _two_index_samples),
    OpCase("subtensor_adv_sym_two_adjacent", lambda x, i, j: x[i, j],
           lambda x, i, j: x[i, j], _two_index_samples),
    # advanced: boolean masks
    OpCase("subtensor_mask_full", lambda x: x[x > 0], lambda x: x[x > 0], _mask_samples),
    OpCase("subtensor_mask_rows", lambda x, m: x[m], lambda x, m: x[m], _row_mask_samples),
    OpCase("subtensor_mask_columns", lambda x, m: x.T[:, m], lambda x, m: x.T[:, m],
           _row_mask_samples),
    OpCase("subtensor_mask_partial_nd", lambda x: x[x[..., 0] > 0],
           lambda x: x[x[..., 0] > 0], _tensors3),
    OpCase("subtensor_mask_and_array", lambda x, m, i: x[m, :, i[:1]],
           lambda x, m, i: x[m, :, i[:1]], _mask_and_array_samples),
    OpCase("subtensor_mask_constant", lambda x: x[:, np.array([True, False, True])],
           lambda x: x[:, [True, False, True]], _three_columns),
    # set / inc, basic
    OpCase("subtensor_set_rows", lambda x, y: T.set_subtensor(x[1:3], y), _set_rows,
           _set_rows_samples),
    OpCase("subtensor_inc_column", lambda x, y: T.inc_subtensor(x[:, -1], y), _inc_column,
           _inc_column_samples),
    OpCase("subtensor_set_element", lambda x, y: T.set_subtensor(x[1, -2], y), _set_element,
           _scalar_value_samples),
    OpCase("subtensor_inc_neg_step", lambda x, y: T.inc_subtensor(x[::-2], y), _inc_neg_step,
           _inc_neg_step_samples),
    OpCase("subtensor_set_newaxis", lambda x, y: T.set_subtensor(x[None, 2], y),
           _set_newaxis, _set_newaxis_samples),
    OpCase("subtensor_set_sym_int", lambda x, y: T.set_subtensor(x[T.shape(x)[0] - 1], y),
           lambda x, y: np.concatenate([x[:-1], np.broadcast_to(y, x[-1:].shape)]),
           _scalar_value_samples),
    # set / inc, advanced
    OpCase("subtensor_inc_repeated", lambda x, y: T.inc_subtensor(x[_REPEATED], y),
           _inc_repeated, _inc_repeated_samples),
    OpCase("subtensor_set_adv", lambda x, y: T.set_subtensor(x[[0, 3, 1], [4, 0, 2]], y),
           _set_adv, _set_adv_samples),
    OpCase("subtensor_inc_adv_sym", lambda x, i, y: T.inc_subtensor(x[i], y), _inc_sym,
           _inc_sym_samples),
    OpCase("subtensor_inc_mask", lambda x, m, y: T.inc_subtensor(x[m], y), _inc_mask,
           _inc_mask_samples),
    OpCase("subtensor_set_mask_of_self", lambda x: T.set_subtensor(x[x > 0.5], -1.0),
           _set_positive, _mask_samples),
    OpCase("subtensor_inc_int_dtype", lambda x, y: T.inc_subtensor(x[[1, 1, 3]], y),
           _inc_int, _set_int_samples, grad=False),
    OpCase("subtensor_set_int_dtype", lambda x, y: T.set_subtensor(x[2], y),
           lambda x, y: np.concatenate([x[:2], np.broadcast_to(y, x[2:3].shape), x[3:]]),
           _set_int_samples, grad=False),
    # take
    OpCase("subtensor_take_axis0", lambda a, i: T.take(a, i, axis=0),
           lambda a, i: np.take(a, i, axis=0), _take_samples),
    OpCase("subtensor_take_axis_last", lambda a, i: T.take(a, i, axis=-1),
           lambda a, i: np.take(a, i, axis=-1), _take_samples),
    OpCase("subtensor_take_flat", lambda a, i: T.take(a, i), lambda a, i: np.take(a, i),
           _take_samples),
    OpCase("subtensor_take_wrap", lambda a, i: T.take(a, i, axis=1, mode="wrap"),
           lambda a, i: np.take(a, i, axis=1, mode="wrap"), _take_mode_samples),
    OpCase("subtensor_take_clip", lambda a, i: T.take(a, i, axis=0, mode="clip"),
           lambda a, i: np.take(a, i, axis=0, mode="clip"), _take_mode_samples),
]
