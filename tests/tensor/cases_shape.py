"""OpCases for the shape ops (symtheano/tensor/shape.py: Shape, ShapeI, MakeVector,
Reshape, Alloc and the functions built on them) and for DimShuffle (elemwise.py:
transpose, dimshuffle with 'x' and dropped dimensions, the shape_pad* helpers)."""

import numpy as np

import symtheano.tensor as T
from symtheano.tensor.shape import MakeVector
from tests.tensor.registry import OpCase, rand


def _i64(v):
    return np.asarray(v, dtype="int64")


# -- Shape, ShapeI, MakeVector -------------------------------------------------------------------

def _any_arrays(rng):
    return [(rand(rng, (3, 4)),), (rand(rng, ()),), (rand(rng, (0, 3)),),
            (rand(rng, (2, 1, 4), "int8"),), (rand(rng, (5,), "bool"),),
            (rand(rng, (2, 3), "float32"),)]


def _unknown_dim1(rng):
    # Dimension 1 is never of size 1, so its static size stays unknown (a ShapeI node).
    return [(rand(rng, (3, 4)),), (rand(rng, (1, 0, 2)),), (rand(rng, (2, 5), "int32"),)]


def _float_scalars(rng):
    return [(rand(rng, ()), rand(rng, ()), rand(rng, ())),
            (rand(rng, ()), rand(rng, (), "float32"), rand(rng, ()))]


def _int_scalars(rng):
    return [(_i64(3), np.asarray(-2, "int8"), np.asarray(7, "uint16")),
            (_i64(0), np.asarray(5, "int32"), np.asarray(True))]


SHAPE_CASES = [
    OpCase("shape_shape", lambda x: T.shape(x), lambda x: np.asarray(x.shape, "int64"),
           _any_arrays),
    OpCase("shape_shape_method", lambda x: x.shape, lambda x: np.asarray(x.shape, "int64"),
           _any_arrays),
    OpCase("shape_shape_i", lambda x: T.shape_i(x, 1), lambda x: np.int64(x.shape[1]),
           _unknown_dim1),
    OpCase("shape_shape_i_negative", lambda x: T.shape_i(x, -1) * 2,
           lambda x: np.int64(2 * x.shape[-1]), _unknown_dim1),
    OpCase("shape_make_vector_float", lambda a, b, c: MakeVector("float64")(a, b, c),
           lambda a, b, c: np.array([a, b, c], dtype="float64"), _float_scalars),
    OpCase("shape_make_vector_int", lambda a, b, c: MakeVector("int64")(a, b, c),
           lambda a, b, c: np.array([int(a), int(b), int(c)], dtype="int64"), _int_scalars),
    OpCase("shape_make_vector_one", lambda a: MakeVector("float32")(a),
           lambda a: np.array([a], dtype="float32"),
           lambda rng: [(rand(rng, (), "float32"),)]),
]


# -- Reshape and the functions built on it --------------------------------------------------------

def _reshape_pairs(rng):
    return [(rand(rng, (3, 4)),), (rand(rng, (2, 2, 3)),), (rand(rng, (0, 4)),),
            (rand(rng, (1, 6), "int16"),), (rand(rng, (6,), "float32"),)]


def _reshape_vector(rng):
    return [(rand(rng, (3, 4)), _i64([2, 6])), (rand(rng, (3, 4)), _i64([-1, 3])),
            (rand(rng, (0, 3)), _i64([3, 0])), (rand(rng, (2, 3)), _i64([6, 1]))]


def _reshape_entries(rng):
    return [(rand(rng, (4, 3)), _i64(2)), (rand(rng, (2, 3)), np.asarray(3, "int32")),
            (rand(rng, (0, 2)), _i64(4))]


def _flatten_samples(rng):
    return [(rand(rng, (2, 3, 4)),), (rand(rng, (3, 1)),), (rand(rng, (0, 3, 2)),),
            (rand(rng, (2, 0, 2)),), (rand(rng, (2, 3, 2), "int32"),)]


RESHAPE_CASES = [
    OpCase("shape_reshape_minus_one", lambda x: x.reshape((-1, 2)),
           lambda x: x.reshape((-1, 2)), _reshape_pairs),
    OpCase("shape_reshape_minus_one_first", lambda x: T.reshape(x, (3, -1, 1)),
           lambda x: x.reshape((3, -1, 1)),
           lambda rng: [(rand(rng, (3, 4)),), (rand(rng, (6,)),), (rand(rng, (0, 3)),)]),
    OpCase("shape_reshape_symbolic_vector", lambda x, s: T.reshape(x, s, ndim=2),
           lambda x, s: x.reshape(tuple(s)), _reshape_vector),
    OpCase("shape_reshape_symbolic_entries", lambda x, n: x.reshape((n, -1)),
           lambda x, n: x.reshape((int(n), -1)), _reshape_entries),
    OpCase("shape_reshape_to_scalar", lambda x: T.reshape(x, ()), lambda x: x.reshape(()),
           lambda rng: [(rand(rng, (1, 1)),), (rand(rng, (1,), "int64"),)]),
    OpCase("shape_reshape_from_scalar", lambda x: x.reshape((1, 1, 1)),
           lambda x: x.reshape((1, 1, 1)),
           lambda rng: [(rand(rng, ()),), (rand(rng, (), "float32"),)]),
    OpCase("shape_flatten", lambda x: T.flatten(x), lambda x: x.reshape(-1),
           lambda rng: _flatten_samples(rng) + [(rand(rng, ()),)]),
    OpCase("shape_flatten_2", lambda x: T.flatten(x, 2),
           lambda x: x.reshape((x.shape[0], int(np.prod(x.shape[1:])))), _flatten_samples),
    OpCase("shape_flatten_method_3", lambda x: x.flatten(3), lambda x: x.copy(),
           lambda rng: [s for s in _flatten_samples(rng) if s[0].ndim == 3]),
]


# -- Alloc and the constructors built on it ------------------------------------------------------

def _rows(rng):
    return [(rand(rng, (1, 3)), _i64(4)), (rand(rng, (1, 0)), _i64(2)),
            (rand(rng, (1, 3)), _i64(0)), (rand(rng, (1, 2), "int32"), _i64(3)),
            (rand(rng, (1, 4), "float32"), np.asarray(2, "int8"))]


def _cols(rng):
    return [(rand(rng, (3, 1)),), (rand(rng, (1, 1)),), (rand(rng, (2, 1), "bool"),)]


def _scalar_and_size(rng):
    return [(rand(rng, ()), _i64(3)), (rand(rng, ()), _i64(0)),
            (rand(rng, (), "int16"), _i64(2))]


def _vector_values(rng):
    return [(rand(rng, (3,)),), (rand(rng, (1,)),), (rand(rng, (0,)),)]


def _sizes(rng):
    return [(_i64(2),), (_i64(0),), (np.asarray(4, "int32"),)]


def _fill_pairs(rng):
    return [(rand(rng, (2, 3)), rand(rng, (1, 3))), (rand(rng, (2, 3)), rand(rng, ())),
            (rand(rng, (3, 2)), rand(rng, (3, 1))), (rand(rng, (2, 3)), rand(rng, (2, 3))),
            (rand(rng, (0, 2), "int8"), rand(rng, (1, 1), "float32"))]


ALLOC_CASES = [
    OpCase("shape_alloc_row", lambda v, n: T.alloc(v, n, T.shape_i(v, 1)),
           lambda v, n: np.broadcast_to(v, (int(n), v.shape[1])).copy(), _rows),
    OpCase("shape_alloc_col", lambda v: T.alloc(v, T.shape_i(v, 0), 4),
           lambda v: np.broadcast_to(v, (v.shape[0], 4)).copy(), _cols),
    OpCase("shape_alloc_scalar", lambda s, n: T.alloc(s, 2, n, 3),
           lambda s, n: np.full((2, int(n), 3), s), _scalar_and_size),
    OpCase("shape_alloc_new_leading_dims", lambda v: T.alloc(v, 2, 3, T.shape_i(v, 0)),
           lambda v: np.broadcast_to(v, (2, 3, v.shape[0])).copy(), _vector_values),
    OpCase("shape_zeros", lambda n: T.zeros((n, 3)), lambda n: np.zeros((int(n), 3)), _sizes),
    OpCase("shape_ones_int", lambda n: T.ones((2, n), dtype="int32"),
           lambda n: np.ones((2, int(n)), "int32"), _sizes),
    OpCase("shape_full", lambda x, n: T.full((n, 2), x), lambda x, n: np.full((int(n), 2), x),
           _scalar_and_size),
    OpCase("shape_full_dtype", lambda x, n: T.full(n, x, dtype="float32"),
           lambda x, n: np.full(int(n), x, dtype="float32"), _scalar_and_size,
           grad_eps=1e-2, grad_tol=1e-4),  # differentiated through a float32 cast
    OpCase("shape_zeros_like", lambda x: T.zeros_like(x), np.zeros_like, _any_arrays),
    OpCase("shape_ones_like_dtype", lambda x: T.ones_like(x, dtype="int8"),
           lambda x: np.ones_like(x, dtype="int8"), _any_arrays),
    OpCase("shape_full_like", lambda x, v: T.full_like(x, v),
           lambda x, v: np.full_like(x, v), lambda rng: [(rand(rng, (2, 3)), rand(rng, ())),
                                                        (rand(rng, (0, 2)), rand(rng, ())),
                                                        (rand(rng, (2,), "int32"),
                                                         _i64(-3))]),
    OpCase("shape_fill", lambda m, v: T.fill(m, v),
           lambda m, v: np.broadcast_to(v, m.shape).copy(), _fill_pairs),
    OpCase("shape_second", lambda m, v: T.second(m, v),
           lambda m, v: np.broadcast_to(v, m.shape).copy(), _fill_pairs),
]


# -- DimShuffle ----------------------------------------------------------------------------------

def _three_d(rng):
    return [(rand(rng, (2, 3, 4)),), (rand(rng, (2, 0, 3)),), (rand(rng, (1, 3, 1)),),
            (rand(rng, (2, 3, 4), "int16"),), (rand(rng, (2, 1, 3), "float32"),)]


def _middle_one(rng):
    return [(rand(rng, (3, 1, 4)),), (rand(rng, (0, 1, 2)),), (rand(rng, (2, 1, 1), "int8"),),
            (rand(rng, (1, 1, 3)),)]


def _matrices(rng):
    return [(rand(rng, (2, 3)),), (rand(rng, (1, 4)),), (rand(rng, (0, 3)),),
            (rand(rng, (3, 2), "bool"),)]


def _scalars(rng):
    return [(rand(rng, ()),), (rand(rng, (), "int32"),)]


DIMSHUFFLE_CASES = [
    OpCase("shape_transpose", lambda x: T.transpose(x), lambda x: np.transpose(x), _three_d),
    OpCase("shape_transpose_axes", lambda x: T.transpose(x, (1, -1, 0)),
           lambda x: np.transpose(x, (1, 2, 0)), _three_d),
    OpCase("shape_matrix_T", lambda x: x.T, lambda x: x.T, _matrices),
    OpCase("shape_dimshuffle_x_and_drop", lambda x: x.dimshuffle(2, "x", 0),
           lambda x: x.transpose(2, 1, 0).reshape((x.shape[2], 1, x.shape[0])), _middle_one),
    OpCase("shape_dimshuffle_drop_unknown_static",
           lambda x: x.dimshuffle("x", 0, 2, "x"),
           lambda x: x.reshape((1, x.shape[0], x.shape[2], 1)), _middle_one,
           static_shapes={0: (None, None, None)}),
    OpCase("shape_dimshuffle_scalar", lambda x: x.dimshuffle("x", "x"),
           lambda x: x.reshape((1, 1)), _scalars),
    OpCase("shape_dimshuffle_to_scalar", lambda x: x.dimshuffle(),
           lambda x: x.reshape(()), lambda rng: [(rand(rng, (1, 1)),)]),
    OpCase("shape_padleft", lambda x: T.shape_padleft(x, 2),
           lambda x: x.reshape((1, 1) + x.shape), _matrices),
    OpCase("shape_padright", lambda x: T.shape_padright(x),
           lambda x: x[..., None], _matrices),
    OpCase("shape_padaxis", lambda x: T.shape_padaxis(x, -2),
           lambda x: np.expand_dims(x, -2), _matrices),
    OpCase("shape_expand_dims", lambda x: T.expand_dims(x, 1),
           lambda x: np.expand_dims(x, 1), _matrices),
    OpCase("shape_expand_dims_several", lambda x: T.expand_dims(x, (0, -1)),
           lambda x: np.expand_dims(x, (0, -1)), lambda rng: _matrices(rng) + _scalars(rng)),
    OpCase("shape_squeeze_static", lambda x: T.squeeze(x),
           lambda x: np.squeeze(x), lambda rng: _middle_one(rng) + _scalars(rng)),
    OpCase("shape_squeeze_axis", lambda x: x.squeeze(axis=1),
           lambda x: np.squeeze(x, axis=1), _middle_one,
           static_shapes={0: (None, None, None)}),
    OpCase("shape_squeeze_negative_axis", lambda x: T.squeeze(x, -2),
           lambda x: np.squeeze(x, -2), _middle_one),
]


CASES = SHAPE_CASES + RESHAPE_CASES + ALLOC_CASES + DIMSHUFFLE_CASES
