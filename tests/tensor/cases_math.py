"""OpCases for the transcendental and special functions (tensor/math.py and
tensor/special.py).

Each unary function gets two cases: `math_<name>` (float64 and wide-integer
inputs, tight tolerance, gradient checked) and `math_<name>_float32` (float32,
small-integer and bool inputs, which compute in float32, float32 tolerance).
References come from the `math` module (element by element) or SciPy, evaluated
in float64 on the input values.
"""

import math

import numpy as np
import scipy.special as sp

import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand

F64_TOL = {"rtol": 1e-12, "atol": 1e-15}
F32_TOL = {"rtol": 2e-6, "atol": 1e-6}


def _per_element(fn):
    """A reference applying the Python function `fn` to every element in float64."""
    vec = np.vectorize(fn, otypes=[np.float64])
    return lambda *xs: vec(*[np.asarray(x, dtype=np.float64) for x in xs])


def _in_float64(fn):
    """A reference applying the NumPy/SciPy function `fn` to float64 copies."""
    return lambda *xs: fn(*[np.asarray(x, dtype=np.float64) for x in xs])


def _float64_samples(low, high, int_low, int_high, extra=()):
    def samples(rng):
        out = [
            (rand(rng, (3, 4), "float64", low, high),),
            (rand(rng, (), "float64", low, high),),
            (rand(rng, (0, 3), "float64", low, high),),
            (rand(rng, (1, 5), "float64", low, high),),
        ]
        out += [(np.asarray(e, dtype="float64"),) for e in extra]
        if int_low is not None:
            ints = rng.integers(int_low, int_high + 1, size=(2, 3))
            out += [(ints.astype("int64"),), (ints[0].astype("int32"),)]
        return out

    return samples


def _float32_samples(low, high, int_low, int_high):
    def samples(rng):
        out = [
            (rand(rng, (3, 4), "float32", low, high),),
            (rand(rng, (), "float32", low, high),),
            (rand(rng, (0, 2), "float32", low, high),),
        ]
        if int_low is not None:
            ints = rng.integers(int_low, int_high + 1, size=(4,))
            out += [(ints.astype("int8"),), (ints.reshape(2, 2).astype("int16"),)]
            if int_low >= 0:
                out += [(ints.astype("uint8"),)]
            if int_low <= 0 <= 1 <= int_high:
                out += [(rng.random((2, 3)) > 0.5,)]
        return out

    return samples


def _unary(name, fn, ref, low, high, ints=(None, None), extra=(), grad_tol=1e-5,
           f64_tol=None):
    """The float64 and the float32 case of the unary function `fn`."""
    return [
        OpCase(f"math_{name}", fn, ref, _float64_samples(low, high, *ints, extra=extra),
               grad_tol=grad_tol, **(f64_tol or F64_TOL)),
        OpCase(f"math_{name}_float32", fn, ref, _float32_samples(low, high, *ints),
               grad=False, **F32_TOL),
    ]


def _binary_samples(low, high, dtype="float64"):
    def samples(rng):
        return [
            (rand(rng, (3, 4), dtype, low, high), rand(rng, (3, 4), dtype, low, high)),
            (rand(rng, (3, 4), dtype, low, high), rand(rng, (1, 4), dtype, low, high)),
            (rand(rng, (3, 1), dtype, low, high), rand(rng, (1, 4), dtype, low, high)),
            (rand(rng, (), dtype, low, high), rand(rng, (2, 3), dtype, low, high)),
            (rand(rng, (0, 3), dtype, low, high), rand(rng, (1, 3), dtype, low, high)),
        ]

    return samples


def _binary_mixed_samples(rng):
    ints = rng.integers(-3, 4, size=(3, 4))
    return [
        (ints.astype("int64"), rand(rng, (1, 4), "float64", 0.5, 2.0)),
        (ints.astype("int8"), rand(rng, (3, 4), "float32", 0.5, 2.0)),
        (ints.astype("int8"), ints[::-1].astype("int16")),
    ]


def _away_from_poles(rng):
    """Gamma-family arguments: positive ones and negative ones between poles."""
    neg = -rng.integers(0, 4, size=(2, 3)) - rng.uniform(0.15, 0.85, size=(2, 3))
    # Large values alone: in a sum with them, finite differences of the others drown.
    return [(neg,), (np.array([-7.3, -0.4, 0.01, 0.5, 1.0, 2.0]),), (np.array([11.5]),),
            (np.array([30.0]),), (np.array(57.3),)]


def _polygamma_of_order(n):
    return lambda x: T.polygamma(n, x)


def _reference_polygamma(n):
    return _in_float64(lambda x: sp.polygamma(n, x))


def _polygamma_negative_samples(rng):
    """Arguments between poles (not near 0: the higher orders' finite differences drown)."""
    neg = -rng.integers(0, 4, size=(2, 3)) - rng.uniform(0.2, 0.8, size=(2, 3))
    return [(neg,), (np.array([-7.3, -0.4, 0.5, 1.0, 2.0, 11.5]),), (np.array(-30.6),)]


def _polygamma_order_samples(rng):
    """(order, x): orders of several integer dtypes, broadcast against x or x against them."""
    x = rand(rng, (2, 3), "float64", 0.3, 4.5)
    neg = -rng.integers(0, 4, size=(1, 3)) - rng.uniform(0.15, 0.85, size=(1, 3))
    return [(rng.integers(0, 5, size=(2, 3)).astype("int64"), x),
            (np.array([1, 2, 4], "int8"), x), (np.array(3, "uint8"), x),
            (rng.integers(1, 4, size=(2, 1)).astype("int32"), neg),
            (np.array([0, 1, 2, 3, 4], "int16"), rand(rng, (), "float64", 0.5, 3.0))]


def _extremes(rng):
    return [(np.array([-1000.0, -745.0, -40.0, -1.0, 0.0, 1.0, 40.0, 745.0, 1000.0]),)]


def _xlogx_zero(rng):
    return [(np.array([0.0, 1e-300, 0.5, 1.0, 3.0]),), (np.zeros((2, 2), "float32"),),
            (np.array([0, 1, 2, 7], "int64"),)]


def _relu_alpha_samples(rng):
    return [(rand(rng, (3, 4)), rand(rng, (), "float64", 0.05, 0.5)),
            (rand(rng, (3, 4)), rand(rng, (1, 4), "float64", 0.05, 0.5))]


def _relu_int_samples(rng):
    ints = rng.integers(-5, 6, size=(3, 4))
    return [(ints.astype("int64"),), (ints.astype("int8"),), (ints.astype("uint8"),)]


def _numpy_relu(x, alpha=0.0):
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


def _reference_sigmoid(x):
    return sp.expit(np.asarray(x, dtype=np.float64))


def _reference_softplus(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


_GAMMA_SAMPLES = (0.3, 4.5, (1, 6))

CASES = [
    # -- exponentials and logarithms
    *_unary("exp", T.exp, _per_element(math.exp), -3.0, 3.0, (-5, 5)),
    *_unary("exp2", T.exp2, _per_element(lambda v: 2.0 ** v), -3.0, 3.0, (-5, 5)),
    *_unary("expm1", T.expm1, _per_element(math.expm1), -3.0, 3.0, (-5, 5),
            extra=([1e-10, -1e-12, 3e-8],)),
    *_unary("log", T.log, _per_element(math.log), 0.1, 5.0, (1, 9)),
    *_unary("log2", T.log2, _per_element(math.log2), 0.1, 5.0, (1, 9)),
    *_unary("log10", T.log10, _per_element(math.log10), 0.1, 5.0, (1, 9)),
    *_unary("log1p", T.log1p, _per_element(math.log1p), -0.8, 4.0, (0, 9),
            extra=([1e-10, -1e-12, 3e-8],)),
    *_unary("sqrt", T.sqrt, _per_element(math.sqrt), 0.1, 5.0, (0, 9)),
    # -- circular
    *_unary("sin", T.sin, _per_element(math.sin), -4.0, 4.0, (-5, 5)),
    *_unary("cos", T.cos, _per_element(math.cos), -4.0, 4.0, (-5, 5)),
    *_unary("tan", T.tan, _per_element(math.tan), -1.4, 1.4, (-5, 5)),
    *_unary("arcsin", T.arcsin, _per_element(math.asin), -0.95, 0.95, (-1, 1)),
    *_unary("arccos", T.arccos, _per_element(math.acos), -0.95, 0.95, (-1, 1)),
    *_unary("arctan", T.arctan, _per_element(math.atan), -4.0, 4.0, (-5, 5)),
    *_unary("deg2rad", T.deg2rad, _per_element(math.radians), -400.0, 400.0, (-90, 90)),
    *_unary("rad2deg", T.rad2deg, _per_element(math.degrees), -7.0, 7.0, (-5, 5)),
    OpCase("math_arctan2", T.arctan2, _per_element(math.atan2), _binary_samples(-3.0, 3.0),
           **F64_TOL),
    OpCase("math_arctan2_float32", T.arctan2, _per_element(math.atan2),
           _binary_samples(-3.0, 3.0, "float32"), grad=False, **F32_TOL),
    OpCase("math_arctan2_mixed", T.arctan2, _per_element(math.atan2), _binary_mixed_samples,
           **F32_TOL),
    OpCase("math_hypot", T.hypot, _per_element(math.hypot), _binary_samples(-3.0, 3.0),
           **F64_TOL),
    OpCase("math_hypot_float32", T.hypot, _per_element(math.hypot),
           _binary_samples(-3.0, 3.0, "float32"), grad=False, **F32_TOL),
    OpCase("math_hypot_mixed", T.hypot, _per_element(math.hypot), _binary_mixed_samples,
           **F32_TOL),
    # -- hyperbolic
    *_unary("sinh", T.sinh, _per_element(math.sinh), -3.0, 3.0, (-5, 5)),
    *_unary("cosh", T.cosh, _per_element(math.cosh), -3.0, 3.0, (-5, 5)),
    *_unary("tanh", T.tanh, _per_element(math.tanh), -3.0, 3.0, (-5, 5)),
    *_unary("arcsinh", T.arcsinh, _per_element(math.asinh), -5.0, 5.0, (-5, 5)),
    *_unary("arccosh", T.arccosh, _per_element(math.acosh), 1.1, 5.0, (1, 9)),
    *_unary("arctanh", T.arctanh, _per_element(math.atanh), -0.9, 0.9, (0, 0)),
    # -- error functions
    *_unary("erf", T.erf, _per_element(math.erf), -3.0, 3.0, (-3, 3)),
    *_unary("erfc", T.erfc, _per_element(math.erfc), -3.0, 3.0, (-3, 3),
            extra=([5.0, 10.0, 26.0],)),
    *_unary("erfinv", T.erfinv, _in_float64(sp.erfinv), -0.9, 0.9, (0, 0),
            extra=([-0.999, 1e-9, 0.99],)),
    *_unary("erfcinv", T.erfcinv, _in_float64(sp.erfcinv), 0.1, 1.9, (1, 1),
            extra=([1e-3, 0.999, 1.99],)),
    # -- gamma family
    *_unary("gamma", T.gamma, _per_element(math.gamma), *_GAMMA_SAMPLES, f64_tol={
        "rtol": 1e-11, "atol": 1e-15}),
    OpCase("math_gamma_negative", T.gamma, _per_element(math.gamma), _away_from_poles,
           rtol=1e-11, atol=1e-15, grad_tol=1e-4),
    *_unary("gammaln", T.gammaln, _per_element(math.lgamma), *_GAMMA_SAMPLES),
    OpCase("math_gammaln_negative", T.gammaln, _per_element(math.lgamma), _away_from_poles,
           rtol=1e-11, atol=1e-13, grad_tol=1e-4),
    *_unary("psi", T.psi, _in_float64(sp.psi), *_GAMMA_SAMPLES),
    OpCase("math_psi_negative", T.psi, _in_float64(sp.psi), _away_from_poles, rtol=1e-11,
           atol=1e-13, grad_tol=1e-4),
    *_unary("tri_gamma", T.tri_gamma, _in_float64(lambda x: sp.polygamma(1, x)),
            *_GAMMA_SAMPLES),
    OpCase("math_tri_gamma_negative", T.tri_gamma, _in_float64(lambda x: sp.polygamma(1, x)),
           _away_from_poles, rtol=1e-12, atol=1e-13, grad_tol=1e-4),
    # polygamma(n, x) with a constant order, and with the order an integer tensor
    *[case for n in (0, 1, 2, 3, 6)
      for case in _unary(f"polygamma{n}", _polygamma_of_order(n), _reference_polygamma(n),
                         *_GAMMA_SAMPLES, f64_tol={"rtol": 1e-12, "atol": 1e-13})],
    *[OpCase(f"math_polygamma{n}_negative", _polygamma_of_order(n), _reference_polygamma(n),
             _polygamma_negative_samples, rtol=1e-11, atol=1e-12, grad_tol=1e-4)
      for n in (2, 3)],
    OpCase("math_polygamma_order_tensor", T.polygamma,
           _in_float64(lambda n, x: sp.polygamma(n, x)), _polygamma_order_samples,
           rtol=1e-12, atol=1e-13, grad_tol=1e-4),
    # -- logistic family
    *_unary("sigmoid", T.sigmoid, _reference_sigmoid, -8.0, 8.0, (-5, 5)),
    OpCase("math_sigmoid_extremes", T.sigmoid, _reference_sigmoid, _extremes, **F64_TOL),
    *_unary("softplus", T.softplus, _reference_softplus, -8.0, 8.0, (-5, 5)),
    OpCase("math_softplus_extremes", T.softplus, _reference_softplus, _extremes, **F64_TOL),
    *_unary("xlogx", T.xlogx, _in_float64(lambda x: sp.xlogy(x, x)), 0.1, 3.0, (1, 9)),
    OpCase("math_xlogx_zero", T.xlogx, _in_float64(lambda x: sp.xlogy(x, x)), _xlogx_zero,
           grad=False, **F32_TOL),
    # -- relu (a composition of maximum and minimum)
    OpCase("math_relu", T.relu, _numpy_relu, _float64_samples(-2.0, 2.0, -5, 5), **F64_TOL),
    OpCase("math_relu_float32", T.relu, _numpy_relu, _float32_samples(-2.0, 2.0, None, None),
           grad=False, **F32_TOL),
    OpCase("math_relu_int", T.relu, _numpy_relu, _relu_int_samples),
    OpCase("math_relu_leaky", lambda x: T.relu(x, 0.1), lambda x: _numpy_relu(x, 0.1),
           _float64_samples(-2.0, 2.0, -5, 5), **F64_TOL),
    OpCase("math_relu_alpha_tensor", T.relu, _numpy_relu, _relu_alpha_samples, **F64_TOL),
]
