"""Elementary transcendental functions: exponentials, logarithms, roots, and the
circular and hyperbolic functions with their inverses.

Each op is a ScalarOp subclass holding its NumPy reference (`impl`) and its
gradient, followed at the end by the tensor-level functions. All of them compute
in floating point: float32 stays float32, integer inputs become float (Theano's
rule, `upgrade_to_float`). Special functions (erf, gamma, psi, sigmoid, ...)
live in `tensor/special.py`.
"""

from __future__ import annotations

import math

import numpy as np

from symtheano.rop import sum_tangents
from symtheano.tensor.basic import sqr
from symtheano.tensor.elemwise import ScalarOp, register_scalar_op
from symtheano.tensor.var import constant


def typed_constant(value, like):
    """`value` as a 0-d constant of `like`'s dtype, so float32 graphs stay float32."""
    return constant(np.asarray(value, dtype=like.dtype))


class UnaryFloatOp(ScalarOp):
    """A one-input ScalarOp computed in floating point by the NumPy ufunc `numpy_fn`."""

    float_output = True
    numpy_fn = None

    def impl(self, x):
        return type(self).numpy_fn(x)


# -- exponentials and logarithms ----------------------------------------------------------------

class Exp(UnaryFloatOp):
    """e ** x."""

    name, numpy_fn = "exp", np.exp

    def grad(self, inputs, output, gout):
        return [gout * output]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * output]


class Exp2(UnaryFloatOp):
    """2 ** x."""

    name, numpy_fn = "exp2", np.exp2

    def grad(self, inputs, output, gout):
        return [gout * output * typed_constant(math.log(2.0), gout)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * output * typed_constant(math.log(2.0), t)]


class Expm1(UnaryFloatOp):
    """exp(x) - 1, accurate for small |x|."""

    name, numpy_fn = "expm1", np.expm1

    def grad(self, inputs, output, gout):
        return [gout * exp(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * exp(inputs[0])]


class Log(UnaryFloatOp):
    """The natural logarithm (NaN below 0, -inf at 0)."""

    name, numpy_fn = "log", np.log

    def grad(self, inputs, output, gout):
        return [gout / inputs[0]]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / inputs[0]]


class Log2(UnaryFloatOp):
    """The base-2 logarithm."""

    name, numpy_fn = "log2", np.log2

    def grad(self, inputs, output, gout):
        return [gout / (inputs[0] * typed_constant(math.log(2.0), gout))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / (inputs[0] * typed_constant(math.log(2.0), t))]


class Log10(UnaryFloatOp):
    """The base-10 logarithm."""

    name, numpy_fn = "log10", np.log10

    def grad(self, inputs, output, gout):
        return [gout / (inputs[0] * typed_constant(math.log(10.0), gout))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / (inputs[0] * typed_constant(math.log(10.0), t))]


class Log1p(UnaryFloatOp):
    """log(1 + x), accurate for small |x|."""

    name, numpy_fn = "log1p", np.log1p

    def grad(self, inputs, output, gout):
        return [gout / (inputs[0] + 1)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / (inputs[0] + 1)]


class Sqrt(UnaryFloatOp):
    """The non-negative square root (NaN below 0)."""

    name, numpy_fn = "sqrt", np.sqrt

    def grad(self, inputs, output, gout):
        return [gout * typed_constant(0.5, gout) / output]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * typed_constant(0.5, t) / output]


# -- circular functions ---------------------------------------------------------------------------

class Sin(UnaryFloatOp):
    """The sine (radians)."""

    name, numpy_fn = "sin", np.sin

    def grad(self, inputs, output, gout):
        return [gout * cos(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * cos(inputs[0])]


class Cos(UnaryFloatOp):
    """The cosine (radians)."""

    name, numpy_fn = "cos", np.cos

    def grad(self, inputs, output, gout):
        return [-gout * sin(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t * sin(inputs[0])]


class Tan(UnaryFloatOp):
    """The tangent (radians)."""

    name, numpy_fn = "tan", np.tan

    def grad(self, inputs, output, gout):
        return [gout * (sqr(output) + 1)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * (sqr(output) + 1)]


class ArcSin(UnaryFloatOp):
    """The inverse sine, in [-pi/2, pi/2] (NaN outside [-1, 1])."""

    name, numpy_fn = "arcsin", np.arcsin

    def grad(self, inputs, output, gout):
        x = inputs[0]
        return [gout / sqrt((1 - x) * (1 + x))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / sqrt((1 - inputs[0]) * (1 + inputs[0]))]


class ArcCos(UnaryFloatOp):
    """The inverse cosine, in [0, pi] (NaN outside [-1, 1])."""

    name, numpy_fn = "arccos", np.arccos

    def grad(self, inputs, output, gout):
        x = inputs[0]
        return [-gout / sqrt((1 - x) * (1 + x))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t / sqrt((1 - inputs[0]) * (1 + inputs[0]))]


class ArcTan(UnaryFloatOp):
    """The inverse tangent, in (-pi/2, pi/2)."""

    name, numpy_fn = "arctan", np.arctan

    def grad(self, inputs, output, gout):
        return [gout / (sqr(inputs[0]) + 1)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / (sqr(inputs[0]) + 1)]


class ArcTan2(ScalarOp):
    """arctan2(y, x): the angle of the point (x, y), in [-pi, pi]."""

    nin, name, float_output = 2, "arctan2", True

    def impl(self, y, x):
        return np.arctan2(y, x)

    def grad(self, inputs, output, gout):
        y, x = inputs
        r2 = sqr(x) + sqr(y)
        return [gout * x / r2, -gout * y / r2]

    def R_op(self, inputs, output, tangents):
        y, x = inputs
        ty, tx = tangents
        # d atan2(y, x) = (x dy - y dx) / (x**2 + y**2)
        num = sum_tangents([None if ty is None else ty * x, None if tx is None else -tx * y])
        return [None if num is None else num / (sqr(x) + sqr(y))]


class Hypot(ScalarOp):
    """hypot(a, b) = sqrt(a**2 + b**2), without overflow for large inputs."""

    nin, name, float_output = 2, "hypot", True

    def impl(self, a, b):
        return np.hypot(a, b)

    def grad(self, inputs, output, gout):
        a, b = inputs
        return [gout * a / output, gout * b / output]

    def R_op(self, inputs, output, tangents):
        a, b = inputs
        ta, tb = tangents
        num = sum_tangents([None if ta is None else ta * a, None if tb is None else tb * b])
        return [None if num is None else num / output]


class Deg2Rad(UnaryFloatOp):
    """Degrees converted to radians."""

    name, numpy_fn = "deg2rad", np.deg2rad

    def grad(self, inputs, output, gout):
        return [gout * typed_constant(math.pi / 180.0, gout)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * typed_constant(math.pi / 180.0, t)]


class Rad2Deg(UnaryFloatOp):
    """Radians converted to degrees."""

    name, numpy_fn = "rad2deg", np.rad2deg

    def grad(self, inputs, output, gout):
        return [gout * typed_constant(180.0 / math.pi, gout)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * typed_constant(180.0 / math.pi, t)]


# -- hyperbolic functions -------------------------------------------------------------------------

class Sinh(UnaryFloatOp):
    """The hyperbolic sine."""

    name, numpy_fn = "sinh", np.sinh

    def grad(self, inputs, output, gout):
        return [gout * cosh(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * cosh(inputs[0])]


class Cosh(UnaryFloatOp):
    """The hyperbolic cosine."""

    name, numpy_fn = "cosh", np.cosh

    def grad(self, inputs, output, gout):
        return [gout * sinh(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * sinh(inputs[0])]


class Tanh(UnaryFloatOp):
    """The hyperbolic tangent."""

    name, numpy_fn = "tanh", np.tanh

    def grad(self, inputs, output, gout):
        return [gout * (1 - sqr(output))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * (1 - sqr(output))]


class ArcSinh(UnaryFloatOp):
    """The inverse hyperbolic sine."""

    name, numpy_fn = "arcsinh", np.arcsinh

    def grad(self, inputs, output, gout):
        return [gout / sqrt(sqr(inputs[0]) + 1)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / sqrt(sqr(inputs[0]) + 1)]


class ArcCosh(UnaryFloatOp):
    """The inverse hyperbolic cosine (NaN below 1)."""

    name, numpy_fn = "arccosh", np.arccosh

    def grad(self, inputs, output, gout):
        x = inputs[0]
        # (x - 1)(x + 1) rather than x**2 - 1: no cancellation near x = 1.
        return [gout / sqrt((x - 1) * (x + 1))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / sqrt((inputs[0] - 1) * (inputs[0] + 1))]


class ArcTanh(UnaryFloatOp):
    """The inverse hyperbolic tangent (NaN outside [-1, 1])."""

    name, numpy_fn = "arctanh", np.arctanh

    def grad(self, inputs, output, gout):
        x = inputs[0]
        return [gout / ((1 - x) * (1 + x))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t / ((1 - inputs[0]) * (1 + inputs[0]))]


# -- the tensor-level functions -------------------------------------------------------------------

exp = register_scalar_op(Exp())
exp2 = register_scalar_op(Exp2())
expm1 = register_scalar_op(Expm1())
log = register_scalar_op(Log())
log2 = register_scalar_op(Log2())
log10 = register_scalar_op(Log10())
log1p = register_scalar_op(Log1p())
sqrt = register_scalar_op(Sqrt())
sin = register_scalar_op(Sin())
cos = register_scalar_op(Cos())
tan = register_scalar_op(Tan())
arcsin = register_scalar_op(ArcSin())
arccos = register_scalar_op(ArcCos())
arctan = register_scalar_op(ArcTan())
arctan2 = register_scalar_op(ArcTan2())
hypot = register_scalar_op(Hypot())
deg2rad = register_scalar_op(Deg2Rad())
rad2deg = register_scalar_op(Rad2Deg())
sinh = register_scalar_op(Sinh())
cosh = register_scalar_op(Cosh())
tanh = register_scalar_op(Tanh())
arcsinh = register_scalar_op(ArcSinh())
arccosh = register_scalar_op(ArcCosh())
arctanh = register_scalar_op(ArcTanh())


__all__ = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "arctan2", "hypot", "deg2rad", "rad2deg", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh",
]
