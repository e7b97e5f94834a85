"""OpCases for joining and constructing arrays (symtheano/tensor/join.py):
concatenate/join/stack/split, repeat and its gradient op, tile, arange, eye."""

import numpy as np

import symtheano.tensor as T
from symtheano.tensor.join import RepeatSum, Split
from tests.tensor.registry import OpCase, rand


def _i64(v):
    return np.asarray(v, dtype="int64")


# -- concatenate, join, stack, split -------------------------------------------------------------

def _pairs_axis0(rng):
    return [
        (rand(rng, (3, 4)), rand(rng, (2, 4))),
        (rand(rng, (1, 3)), rand(rng, (2, 3))),            # a static-1 first dimension
        (rand(rng, (3, 1)), rand(rng, (2, 1))),            # static-1 dimensions that agree
        (rand(rng, (2, 3)), np.zeros((0, 3))),             # an empty piece
        (rand(rng, (4,)), rand(rng, (5,))),
        (rand(rng, (2, 3), "float32"), rand(rng, (1, 3), "float32")),
        (rand(rng, (2, 3), "float32"), rand(rng, (2, 3))),  # upcast to float64
    ]


def _pairs_last(rng):
    return [
        (rand(rng, (2, 3, 4)), rand(rng, (2, 3, 1))),
        (rand(rng, (2, 1, 3)), rand(rng, (2, 1, 0))),
        (rand(rng, (3, 2)), rand(rng, (3, 5))),
    ]


def _triples_axis1(rng):
    return [
        (rand(rng, (2, 3)), rand(rng, (2, 1)), rand(rng, (2, 4))),
        (rand(rng, (3, 2, 2)), rand(rng, (3, 0, 2)), rand(rng, (3, 3, 2))),
    ]


def _int_pairs(rng):
    return [
        (rand(rng, (2, 3), "int8"), rand(rng, (1, 3), "int32")),
        (rand(rng, (2, 2), "bool"), rand(rng, (3, 2), "int16")),
        (rand(rng, (3,), "uint8"), rand(rng, (2,), "int8")),
    ]


def _int_float_pairs(rng):
    return [(rand(rng, (2, 3), "int32"), rand(rng, (4, 3)))]


def _same_shape(rng):
    return [
        (rand(rng, (3, 4)), rand(rng, (3, 4)), rand(rng, (3, 4))),
        (rand(rng, (1, 4)), rand(rng, (1, 4)), rand(rng, (1, 4))),
        (rand(rng, (0, 2)), rand(rng, (0, 2)), rand(rng, (0, 2))),
        (rand(rng, (2, 3), "float32"), rand(rng, (2, 3), "float32"), rand(rng, (2, 3))),
    ]


def _scalars(rng):
    return [(rand(rng, ()), rand(rng, ()), rand(rng, ())),
            (rand(rng, (), "int32"), rand(rng, (), "int64"), rand(rng, (), "int8"))]


def _vectors_and_matrices(rng):
    return [(rand(rng, (3,)), rand(rng, (4,))), (rand(rng, (2, 3)), rand(rng, (2, 1)))]


def _vstack_samples(rng):
    return [(rand(rng, (3,)), rand(rng, (3,))), (rand(rng, (2, 3)), rand(rng, (1, 3))),
            (rand(rng, (0, 2)), rand(rng, (2, 2)))]


def _split_samples(rng):
    return [(rand(rng, (3, 5)),), (rand(rng, (1, 5)),), (rand(rng, (2, 5), "float32"),)]


def _split_sym_samples(rng):
    return [(rand(rng, (3, 6)), _i64([1, 0, 5])), (rand(rng, (2, 6)), _i64([6, 0, 0])),
            (rand(rng, (2, 0)), _i64([0, 0, 0]))]


JOIN_CASES = [
    OpCase("join_concatenate_axis0", lambda a, b: T.concatenate([a, b], axis=0),
           lambda a, b: np.concatenate([a, b], axis=0), _pairs_axis0),
    OpCase("join_concatenate_negative_axis", lambda a, b: T.concatenate([a, b], axis=-1),
           lambda a, b: np.concatenate([a, b], axis=-1), _pairs_last),
    OpCase("join_concatenate_three_axis1", lambda a, b, c: T.concatenate((a, b, c), axis=1),
           lambda a, b, c: np.concatenate([a, b, c], axis=1), _triples_axis1),
    OpCase("join_concatenate_int", lambda a, b: T.concatenate([a, b]),
           lambda a, b: np.concatenate([a, b]), _int_pairs),
    OpCase("join_concatenate_int_float", lambda a, b: T.concatenate([a, b]),
           lambda a, b: np.concatenate([a, b]), _int_float_pairs),
    OpCase("join_concatenate_one", lambda a: T.concatenate([a], axis=1),
           lambda a: np.concatenate([a], axis=1), lambda rng: [(rand(rng, (2, 3)),)]),
    OpCase("join_join_theano_order", lambda a, b: T.join(1, a, b),
           lambda a, b: np.concatenate([a, b], axis=1),
           lambda rng: [(rand(rng, (2, 3)), rand(rng, (2, 2)))]),
    OpCase("join_concatenate_same_input", lambda a: T.concatenate([a, a * 2, a]),
           lambda a: np.concatenate([a, a * 2, a]), lambda rng: [(rand(rng, (2, 3)),)]),
    OpCase("join_stack_axis0", lambda a, b, c: T.stack([a, b, c]),
           lambda a, b, c: np.stack([a, b, c]), _same_shape),
    OpCase("join_stack_axis_last", lambda a, b, c: T.stack([a, b, c], axis=-1),
           lambda a, b, c: np.stack([a, b, c], axis=-1), _same_shape),
    OpCase("join_stack_axis1", lambda a, b, c: T.stack([a, b, c], 1),
           lambda a, b, c: np.stack([a, b, c], axis=1), _same_shape),
    OpCase("join_stack_scalars_theano_form", lambda a, b, c: T.stack(a, b, c),
           lambda a, b, c: np.stack([a, b, c]), _scalars),
    OpCase("join_horizontal_stack", lambda a, b: T.horizontal_stack(a, b),
           lambda a, b: np.hstack([a, b]), _vectors_and_matrices),
    OpCase("join_vertical_stack", lambda a, b: T.vertical_stack(a, b),
           lambda a, b: np.vstack([a, b]), _vstack_samples),
    OpCase("join_split_constant_sizes", lambda x: T.split(x, [2, 0, 3], 3, axis=-1),
           lambda x: [x[:, :2], x[:, 2:2], x[:, 2:]], _split_samples),
    OpCase("join_split_symbolic_sizes", lambda x, s: Split(3, 1)(x, s),
           lambda x, s: [x[:, :s[0]], x[:, s[0]:s[0] + s[1]], x[:, s[0] + s[1]:]],
           _split_sym_samples),
    OpCase("join_split_one_piece", lambda x: T.split(x, [3], 1, axis=0),
           lambda x: [x.copy()], lambda rng: [(rand(rng, (3, 2)),)]),
]


# -- repeat and tile ----------------------------------------------------------------------------

def _repeat_scalar(rng):
    return [(rand(rng, (3, 4)), _i64(2)), (rand(rng, (1, 4)), _i64(3)),
            (rand(rng, (3, 2)), _i64(0)), (rand(rng, (0, 4)), _i64(2)),
            (rand(rng, (2, 3), "int16"), _i64(2)), (rand(rng, (2, 3), "float32"), _i64(1)),
            (rand(rng, (3, 4)), np.asarray(2, dtype="int32"))]


def _repeat_vector(rng):
    return [(rand(rng, (3, 4)), _i64([1, 0, 3, 2])), (rand(rng, (2, 4)), _i64([2])),
            (rand(rng, (3, 1)), _i64([4])), (rand(rng, (2, 0)), np.zeros(0, "int64")),
            (rand(rng, (2, 3), "uint8"), np.asarray([1, 2, 0], "int32"))]


def _repeat_flat(rng):
    return [(rand(rng, (2, 3)), _i64(2)), (rand(rng, ()), _i64(3)),
            (rand(rng, (2, 2)), _i64([1, 0, 2, 1])), (rand(rng, (2, 1, 2)), _i64([2]))]


def _repeat_sum_samples(rng):
    return [(rand(rng, (6, 2)), _i64([2, 0, 1, 3]), _i64(4)),
            (rand(rng, (6,)), _i64(2), _i64(3)),
            (rand(rng, (0, 2)), _i64(0), _i64(3)),
            (rand(rng, (5, 3)), _i64([5]), _i64(1)),
            (rand(rng, (4, 2), "float32"), _i64([1, 3]), _i64(2))]


def _repeat_sum_axis1_samples(rng):
    return [(rand(rng, (2, 6)), _i64([2, 0, 1, 3]), _i64(4)),
            (rand(rng, (3, 0)), _i64([0, 0]), _i64(2)),
            (rand(rng, (1, 6)), _i64(3), _i64(2))]


def _repeat_sum_reference(g, repeats, n):
    n = int(n)
    counts = np.broadcast_to(repeats, (n,))
    out, start = [], 0
    for c in counts:
        out.append(g[start:start + c].sum(axis=0))
        start += c
    return np.asarray(out, dtype=g.dtype).reshape((n,) + g.shape[1:])


def _tile_matrix(rng):
    return [(rand(rng, (2, 3)),), (rand(rng, (1, 3)),), (rand(rng, (0, 2)),),
            (rand(rng, (2, 2), "int32"),), (rand(rng, (2, 3), "float32"),)]


def _tile_any(rng):
    return [(rand(rng, ()),), (rand(rng, (3,)),), (rand(rng, (2, 3)),)]


def _tile_symbolic(rng):
    return [(rand(rng, (2, 3)), _i64(3)), (rand(rng, (2, 1)), _i64(0)),
            (rand(rng, (1, 3)), np.asarray(1, "int8"))]


REPEAT_CASES = [
    OpCase("join_repeat_scalar_axis0", lambda x, r: T.repeat(x, r, axis=0),
           lambda x, r: np.repeat(x, r, axis=0), _repeat_scalar),
    OpCase("join_repeat_scalar_negative_axis", lambda x, r: T.repeat(x, r, axis=-1),
           lambda x, r: np.repeat(x, r, axis=-1), _repeat_scalar),
    OpCase("join_repeat_vector_axis1", lambda x, r: T.repeat(x, r, axis=1),
           lambda x, r: np.repeat(x, r, axis=1), _repeat_vector),
    OpCase("join_repeat_axis_none", lambda x, r: T.repeat(x, r),
           lambda x, r: np.repeat(x, r), _repeat_flat),
    OpCase("join_repeat_constant_counts", lambda x: T.repeat(x, [2, 0, 1], axis=1),
           lambda x: np.repeat(x, [2, 0, 1], axis=1),
           lambda rng: [(rand(rng, (2, 3)),), (rand(rng, (0, 3)),)]),
    OpCase("join_repeat_int_count", lambda x: T.repeat(x, 3, axis=0),
           lambda x: np.repeat(x, 3, axis=0),
           lambda rng: [(rand(rng, (2, 3)),), (rand(rng, (2, 3), "int8"),)]),
    OpCase("join_repeat_sum", lambda g, r, n: RepeatSum(0)(g, r, n), _repeat_sum_reference,
           _repeat_sum_samples),
    OpCase("join_repeat_sum_axis1", lambda g, r, n: RepeatSum(-1)(g, r, n),
           lambda g, r, n: _repeat_sum_reference(g.T, r, n).T, _repeat_sum_axis1_samples),
    OpCase("join_tile_pair", lambda x: T.tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)),
           _tile_matrix),
    OpCase("join_tile_int", lambda x: T.tile(x, 2), lambda x: np.tile(x, 2), _tile_any),
    OpCase("join_tile_longer_reps", lambda x: T.tile(x, (2, 1, 3)),
           lambda x: np.tile(x, (2, 1, 3)), _tile_any),
    OpCase("join_tile_zero", lambda x: T.tile(x, (0, 2)), lambda x: np.tile(x, (0, 2)),
           _tile_any),
    OpCase("join_tile_symbolic_reps", lambda x, r: T.tile(x, (r, 2)),
           lambda x, r: np.tile(x, (int(r), 2)), _tile_symbolic),
]


# -- arange, eye ---------------------------------------------------------------------------------

def _arange_ints(rng):
    i32 = np.int32
    return [(_i64(2), _i64(11), _i64(3)), (_i64(5), _i64(-4), _i64(-2)),
            (_i64(3), _i64(3), _i64(1)), (_i64(4), _i64(1), _i64(1)),
            (np.asarray(-3, i32), np.asarray(7, i32), np.asarray(4, "int8")),
            (np.asarray(1, "uint8"), np.asarray(9, "int16"), np.asarray(2, "int8"))]


def _arange_floats(rng):
    f64 = np.float64
    return [(np.asarray(f64(0.3)), np.asarray(f64(5.0)), np.asarray(f64(0.7))),
            (np.asarray(f64(2.0)), np.asarray(f64(-1.1)), np.asarray(f64(-0.45))),
            (np.asarray(f64(1.0)), np.asarray(f64(0.5)), np.asarray(f64(0.25))),   # empty
            (np.asarray(np.float32(0.5)), np.asarray(np.float32(3.2)),
             np.asarray(np.float32(0.5))),
            (_i64(1), np.asarray(f64(4.6)), _i64(1))]


def _arange_stop(rng):
    return [(_i64(5),), (_i64(0),), (_i64(-2),), (np.asarray(np.float64(3.5)),)]


def _eye_samples(rng):
    return [(_i64(3), _i64(4), _i64(1)), (_i64(4), _i64(3), _i64(-2)),
            (_i64(0), _i64(2), _i64(0)), (_i64(3), _i64(3), _i64(5)),
            (np.asarray(2, "int32"), np.asarray(2, "int8"), np.asarray(0, "int16"))]


CONSTRUCTOR_CASES = [
    OpCase("join_arange_int", lambda a, b, s: T.arange(a, b, s),
           lambda a, b, s: np.arange(a, b, s), _arange_ints),
    OpCase("join_arange_float", lambda a, b, s: T.arange(a, b, s),
           lambda a, b, s: np.arange(a, b, s), _arange_floats, rtol=1e-6),
    OpCase("join_arange_stop_only", lambda n: T.arange(n), lambda n: np.arange(n),
           _arange_stop),
    OpCase("join_arange_dtype", lambda a, b: T.arange(a, b, 2, dtype="float32"),
           lambda a, b: np.arange(a, b, 2, dtype="float32"),
           lambda rng: [(_i64(1), _i64(8)), (_i64(-3), _i64(-4))]),
    OpCase("join_arange_scaled", lambda n, x: T.arange(n) * x,
           lambda n, x: np.arange(n) * x, lambda rng: [(_i64(4), rand(rng, (4,)))]),
    OpCase("join_eye", lambda n, m, k: T.eye(n, m, k), lambda n, m, k: np.eye(n, m, k),
           _eye_samples),
    OpCase("join_eye_square_int", lambda n: T.eye(n, dtype="int32"),
           lambda n: np.eye(n, dtype="int32"), lambda rng: [(_i64(3),), (_i64(0),)]),
    OpCase("join_identity_like", lambda x: T.identity_like(x),
           lambda x: np.eye(x.shape[0], x.shape[1], dtype=x.dtype),
           lambda rng: [(rand(rng, (3, 4)),), (rand(rng, (2, 2), "int8"),),
                        (rand(rng, (0, 3), "float32"),)]),
]


CASES = JOIN_CASES + REPEAT_CASES + CONSTRUCTOR_CASES
