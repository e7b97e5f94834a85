"""OpCases for the elementwise arithmetic, comparison, logic and cast ops."""

import numpy as np

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _binary_samples(low=-2.0, high=2.0, dtype="float64", avoid_zero_b=False):
    def samples(rng):
        def b(shape):
            x = rand(rng, shape, dtype, low, high)
            if avoid_zero_b:
                x = np.where(np.abs(x) < 0.3, 0.7, x).astype(dtype)
            return x

        return [
            (rand(rng, (3, 4), dtype, low, high), b((3, 4))),
            (rand(rng, (3, 4), dtype, low, high), b((1, 4))),   # row broadcast
            (rand(rng, (3, 1), dtype, low, high), b((1, 4))),   # outer broadcast
            (rand(rng, (), dtype, low, high), b((2, 3))),       # 0-d with matrix
            (rand(rng, (0, 3), dtype, low, high), b((1, 3))),   # empty
            (rand(rng, (2, 3), "float32", low, high), b((2, 3))),
        ]

    return samples


def _unary_samples(low=-2.0, high=2.0):
    def samples(rng):
        return [
            (rand(rng, (3, 4), "float64", low, high),),
            (rand(rng, (), "float64", low, high),),
            (rand(rng, (0, 2), "float64", low, high),),
            (rand(rng, (5,), "float32", low, high),),
        ]

    return samples


def _int_samples(rng):
    a = rng.integers(-20, 20, size=(3, 4)).astype("int32")
    b = rng.integers(1, 6, size=(1, 4)).astype("int64") * rng.choice([-1, 1], size=(1, 4))
    return [(a, b), (a.astype("int8"), b.astype("int8")), (np.zeros((0, 4), "int16"), b)]


def _mixed_samples(rng):
    return [(rand(rng, (3, 4)), rng.integers(-3, 4, size=(3, 4)).astype("int32"))]


def _bool_samples(rng):
    return [(rng.random((3, 4)) > 0.5, rng.random((1, 4)) > 0.5)]


def _int_bits(rng):
    return [(rng.integers(0, 255, (3, 4)).astype("uint8"),
             rng.integers(0, 255, (3, 4)).astype("uint8")),
            (rng.integers(-100, 100, (5,)).astype("int32"),
             rng.integers(-100, 100, (5,)).astype("int32"))]


def _ties(rng):
    a = rand(rng, (4, 5))
    b = np.where(rng.random((4, 5)) > 0.5, a + 0.5, a - 0.5)
    return [(a, b), (a, rand(rng, (1, 5)))]


def _nan_samples(rng):
    x = rand(rng, (3, 4))
    x[0, 0], x[1, 1], x[2, 2] = np.nan, np.inf, -np.inf
    return [(x,)]


def _switch_samples(rng):
    return [
        (rng.random((3, 4)) > 0.5, rand(rng, (3, 4)), rand(rng, (3, 4))),
        (rng.random((1, 4)) > 0.5, rand(rng, (3, 1)), rand(rng, ())),
    ]


CASES = [
    OpCase("basic_add", lambda a, b: a + b, np.add, _binary_samples()),
    OpCase("basic_add3", lambda a, b: T.add(a, b, a * 2), lambda a, b: a + b + a * 2,
           _binary_samples()),
    OpCase("basic_sub", lambda a, b: a - b, np.subtract, _binary_samples()),
    OpCase("basic_mul", lambda a, b: a * b, np.multiply, _binary_samples()),
    OpCase("basic_true_div", lambda a, b: a / b, np.true_divide,
           _binary_samples(avoid_zero_b=True), rtol=1e-6),
    OpCase("basic_true_div_int", lambda a, b: a / b, lambda a, b: a / b, _int_samples),
    OpCase("basic_int_div", lambda a, b: a // b, np.floor_divide, _int_samples),
    OpCase("basic_int_div_float", lambda a, b: a // b, np.floor_divide,
           _binary_samples(avoid_zero_b=True), grad=False),
    OpCase("basic_mod", lambda a, b: a % b, np.mod, _int_samples),
    OpCase("basic_mod_float", lambda a, b: a % b, np.mod,
           _binary_samples(0.1, 3.0, avoid_zero_b=True), grad_tol=1e-4),
    OpCase("basic_pow", lambda a, b: a ** b, np.power, _binary_samples(0.5, 2.0), rtol=1e-6),
    OpCase("basic_pow_int_const", lambda a: a ** 3, lambda a: a ** 3, _unary_samples()),
    OpCase("basic_pow_int", lambda a, b: a ** abs(b), lambda a, b: a ** np.abs(b),
           _int_samples),
    OpCase("basic_neg", lambda a: -a, np.negative, _unary_samples()),
    OpCase("basic_abs", lambda a: abs(a), np.abs, _unary_samples()),
    OpCase("basic_sgn", T.sgn, np.sign, _unary_samples()),
    OpCase("basic_sqr", T.sqr, np.square, _unary_samples()),
    OpCase("basic_reciprocal", T.reciprocal, np.reciprocal, _unary_samples(0.5, 3.0)),
    OpCase("basic_maximum", T.maximum, np.maximum, _ties),
    OpCase("basic_minimum", T.minimum, np.minimum, _ties),
    OpCase("basic_floor", T.floor, np.floor, _unary_samples()),
    OpCase("basic_ceil", T.ceil, np.ceil, _unary_samples()),
    OpCase("basic_trunc", T.trunc, np.trunc, _unary_samples()),
    OpCase("basic_round_even", T.round, np.round,
           lambda rng: [(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.3, 2.7]),)], grad=False),
    OpCase("basic_round_away", lambda a: T.round(a, "half_away_from_zero"),
           lambda a: np.sign(a) * np.floor(np.abs(a) + 0.5),
           lambda rng: [(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.3, 2.7]),)], grad=False),
    OpCase("basic_lt", lambda a, b: a < b, np.less, _binary_samples()),
    OpCase("basic_gt", lambda a, b: a > b, np.greater, _binary_samples()),
    OpCase("basic_le", lambda a, b: a <= b, np.less_equal, _ties),
    OpCase("basic_ge", lambda a, b: a >= b, np.greater_equal, _ties),
    OpCase("basic_eq", T.eq, np.equal, _ties),
    OpCase("basic_neq", T.neq, np.not_equal, _ties),
    OpCase("basic_and", lambda a, b: a & b, np.bitwise_and, _bool_samples),
    OpCase("basic_or", lambda a, b: a | b, np.bitwise_or, _bool_samples),
    OpCase("basic_xor", lambda a, b: a ^ b, np.bitwise_xor, _bool_samples),
    OpCase("basic_invert", lambda a: ~a, np.invert, lambda rng: [(rng.random((3,)) > 0.5,)]),
    OpCase("basic_bitwise_int", lambda a, b: (a & b) | (a ^ ~b),
           lambda a, b: (a & b) | (a ^ ~b), _int_bits),
    OpCase("basic_logical_and", T.logical_and, np.logical_and, _mixed_samples),
    OpCase("basic_logical_or", T.logical_or, np.logical_or, _mixed_samples),
    OpCase("basic_logical_xor", T.logical_xor, np.logical_xor, _mixed_samples),
    OpCase("basic_logical_not", T.logical_not, np.logical_not, _unary_samples()),
    OpCase("basic_isnan", T.isnan, np.isnan, _nan_samples),
    OpCase("basic_isinf", T.isinf, np.isinf, _nan_samples),
    OpCase("basic_switch", T.switch, np.where, _switch_samples),
    OpCase("basic_second", T.second, lambda a, b: np.broadcast_to(b, np.broadcast_shapes(
        a.shape, b.shape)).copy(), _binary_samples()),
    OpCase("basic_copy", T.tensor_copy, np.copy, _unary_samples()),
    OpCase("basic_cast_f32", lambda a: T.cast(a, "float32"), lambda a: a.astype("float32"),
           _unary_samples(), rtol=1e-6, grad_eps=1e-2, grad_tol=1e-4),
    OpCase("basic_cast_int", lambda a: T.cast(a, "int16"), lambda a: a.astype("int16"),
           lambda rng: [(rand(rng, (3, 4), low=-100, high=100),)]),
    OpCase("basic_clip", lambda a: T.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
           _unary_samples()),
    OpCase("basic_mixed_dtype", lambda a, b: a * b + b, lambda a, b: a * b + b,
           _mixed_samples),
]
