"""Special functions: the error-function family, the gamma family (gamma, gammaln,
psi, tri_gamma, polygamma), and the logistic family (sigmoid, softplus), plus relu and
xlogx.

The erf and gamma families take their values from `special_numpy` (pure NumPy,
since SciPy is not a runtime dependency); tri_gamma is computed here. Like the
elementary functions in `tensor/math.py`, they compute in floating point
(float32 stays float32, integer inputs become float).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from symtheano.tensor import special_numpy
from symtheano.tensor.basic import maximum, minimum, sqr
from symtheano.tensor.elemwise import ScalarOp, register_scalar_op
from symtheano.tensor.math import exp, log, typed_constant
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, upgrade_to_float
from symtheano.tensor.var import as_tensor_variable, constant


class _UnarySpecial(ScalarOp):
    """A one-input ScalarOp computed in floating point by `numpy_fn(x)`."""

    float_output = True
    numpy_fn = None

    def impl(self, x):
        return type(self).numpy_fn(x)


# -- the error function family --------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


class Erf(_UnarySpecial):
    """The error function, 2/sqrt(pi) * integral of exp(-t**2) from 0 to x."""

    name, numpy_fn = "erf", staticmethod(special_numpy.erf)

    def grad(self, inputs, output, gout):
        return [gout * typed_constant(_TWO_OVER_SQRT_PI, gout) * exp(-sqr(inputs[0]))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        if t is None:
            return [None]
        return [t * typed_constant(_TWO_OVER_SQRT_PI, t) * exp(-sqr(inputs[0]))]


class Erfc(_UnarySpecial):
    """The complementary error function 1 - erf(x), accurate where erf(x) is near 1."""

    name, numpy_fn = "erfc", staticmethod(special_numpy.erfc)

    def grad(self, inputs, output, gout):
        return [-gout * typed_constant(_TWO_OVER_SQRT_PI, gout) * exp(-sqr(inputs[0]))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        if t is None:
            return [None]
        return [-t * typed_constant(_TWO_OVER_SQRT_PI, t) * exp(-sqr(inputs[0]))]


class ErfInv(_UnarySpecial):
    """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside)."""

    name, numpy_fn = "erfinv", staticmethod(special_numpy.erfinv)

    def grad(self, inputs, output, gout):
        return [gout * typed_constant(_SQRT_PI_OVER_TWO, gout) * exp(sqr(output))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * typed_constant(_SQRT_PI_OVER_TWO, t) * exp(sqr(output))]


class ErfcInv(_UnarySpecial):
    """The inverse of erfc on (0, 2) (+-inf at 0 and 2, NaN outside)."""

    name, numpy_fn = "erfcinv", staticmethod(special_numpy.erfcinv)

    def grad(self, inputs, output, gout):
        return [-gout * typed_constant(_SQRT_PI_OVER_TWO, gout) * exp(sqr(output))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t * typed_constant(_SQRT_PI_OVER_TWO, t) * exp(sqr(output))]


# -- the gamma family -----------------------------------------------------------------------------

class Gamma(_UnarySpecial):
    """The gamma function (poles at 0, -1, -2, ...)."""

    name, numpy_fn = "gamma", staticmethod(special_numpy.gamma)

    def grad(self, inputs, output, gout):
        return [gout * output * psi(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * output * psi(inputs[0])]


class GammaLn(_UnarySpecial):
    """log |gamma(x)|."""

    name, numpy_fn = "gammaln", staticmethod(special_numpy.gammaln)

    def grad(self, inputs, output, gout):
        return [gout * psi(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * psi(inputs[0])]


class Psi(_UnarySpecial):
    """The digamma function, d/dx log gamma(x)."""

    name, numpy_fn = "psi", staticmethod(special_numpy.psi)

    def grad(self, inputs, output, gout):
        return [gout * tri_gamma(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * tri_gamma(inputs[0])]


# Bernoulli numbers B_2k for k = 1..8: the asymptotic series
#   trigamma(x) ~ 1/x + 1/(2 x**2) + sum_k B_2k / x**(2k+1)
# has its first omitted term below 1e-17 relative for x >= _TRIGAMMA_SHIFT.
_BERNOULLI_2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_TRIGAMMA_SHIFT = 10.0


def _trigamma_positive(x):
    """trigamma(x) for float64 x > 0 (or NaN / inf), via the recurrence
    trigamma(x) = trigamma(x + 1) + 1/x**2 up to x >= 10, then the asymptotic series."""
    acc = np.zeros_like(x)
    x = x.copy()
    while True:
        small = x < _TRIGAMMA_SHIFT
        if not small.any():
            break
        acc[small] += 1.0 / (x[small] * x[small])
        x[small] += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = np.zeros_like(x)
    for b in reversed(_BERNOULLI_2K):
        series = (series + b) * inv2
    return acc + inv + 0.5 * inv2 + series * inv


def trigamma_numpy(x):
    """The trigamma function psi'(x) of a NumPy array, computed in float64 and
    returned in x's float dtype (float64 for other dtypes).

    Negative arguments use the reflection trigamma(x) = pi**2 / sin(pi x)**2 -
    trigamma(1 - x); the poles 0, -1, -2, ... give +inf, and -inf gives NaN.
    """
    a = np.asarray(x)
    out_dtype = a.dtype if a.dtype.name in FLOAT_DTYPES else np.dtype("float64")
    z = a.astype(np.float64)
    with np.errstate(all="ignore"):
        neg = z <= 0
        shifted = np.where(neg, 1.0 - z, z)
        result = _trigamma_positive(shifted)
        if neg.any():
            zn = z[neg]
            # sin(pi x)**2 from the distance to the nearest integer: exact at the poles.
            s = np.sin(np.pi * (zn - np.round(zn)))
            reflected = np.where(s == 0, np.inf, np.pi**2 / (s * s) - result[neg])
            result[neg] = np.where(np.isinf(zn), np.nan, reflected)
    return result.astype(out_dtype)


class TriGamma(_UnarySpecial):
    """The trigamma function psi'(x), the derivative of digamma."""

    name, numpy_fn = "tri_gamma", staticmethod(trigamma_numpy)

    def grad(self, inputs, output, gout):
        return [gout * polygamma(2, inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * polygamma(2, inputs[0])]


def _next_order(n):
    """n + 1 in a dtype that cannot wrap around for any order n can hold."""
    one = constant(np.asarray(1, dtype="uint64" if n.dtype == "uint64" else "int64"))
    return n + one


class PolyGamma(ScalarOp):
    """The polygamma function psi^(n)(x), the n-th derivative of digamma:
    polygamma(0, x) = psi(x), polygamma(1, x) = tri_gamma(x).

    The order n is an integer tensor (a Python int becomes a constant), broadcast
    against x; orders outside 0..170 give NaN. The result has x's float dtype
    (integer x as the other special functions). n has no gradient; the derivative
    in x is polygamma(n + 1, x).
    """

    nin = 2
    name = "polygamma"
    float_output = True

    def output_dtype(self, n_dtype, x_dtype):
        if n_dtype not in INT_DTYPES:
            raise TypeError(f"polygamma needs an integer order n, got {n_dtype}")
        return upgrade_to_float(x_dtype)

    def impl(self, n, x):
        return special_numpy.polygamma(n, x)

    def grad(self, inputs, output, gout):
        n, x = inputs
        return [None, gout * polygamma(_next_order(n), x)]

    def R_op(self, inputs, output, tangents):
        n, x = inputs
        t = tangents[1]
        return [None if t is None else t * polygamma(_next_order(n), x)]


# -- the logistic family and relatives ------------------------------------------------------------

class Sigmoid(_UnarySpecial):
    """The logistic function 1 / (1 + exp(-x)); exactly 0 and 1 far out, never overflows."""

    name = "sigmoid"

    def impl(self, x):
        e = np.exp(-np.abs(x))  # in (0, 1]: no overflow
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def grad(self, inputs, output, gout):
        # s (1 - s), with 1 - s written sigmoid(-x): accurate also where s is near 1.
        return [gout * output * sigmoid(-inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * output * sigmoid(-inputs[0])]


class Softplus(_UnarySpecial):
    """log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)): never overflows."""

    name = "softplus"

    def impl(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def grad(self, inputs, output, gout):
        return [gout * sigmoid(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * sigmoid(inputs[0])]


class XLogX(_UnarySpecial):
    """x * log(x), with the limit 0 at x = 0 (NaN below 0)."""

    name = "xlogx"

    def impl(self, x):
        return np.where(x == 0, 0, x * np.log(np.where(x == 0, 1, x)))

    def grad(self, inputs, output, gout):
        return [gout * (log(inputs[0]) + 1)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * (log(inputs[0]) + 1)]


# -- the tensor-level functions -------------------------------------------------------------------

erf = register_scalar_op(Erf())
erfc = register_scalar_op(Erfc())
erfinv = register_scalar_op(ErfInv())
erfcinv = register_scalar_op(ErfcInv())
gamma = register_scalar_op(Gamma())
gammaln = register_scalar_op(GammaLn())
psi = register_scalar_op(Psi())
tri_gamma = register_scalar_op(TriGamma())
polygamma = register_scalar_op(PolyGamma())
sigmoid = register_scalar_op(Sigmoid())
softplus = register_scalar_op(Softplus())
xlogx = register_scalar_op(XLogX())

log1pexp = softplus


def relu(x, alpha=0):
    """Theano's `T.nnet.relu`: max(x, 0) + alpha * min(x, 0).

    alpha = 0 is the plain rectifier; 0 < alpha < 1 a leaky one. A Python number
    alpha takes x's float dtype (so float32 graphs stay float32); alpha may also
    be a tensor, broadcast against x.
    """
    x = as_tensor_variable(x)
    zero = constant(np.zeros((), dtype=x.dtype))
    if isinstance(alpha, numbers.Number) and not isinstance(alpha, bool):
        if alpha == 0:
            return maximum(x, zero)
        if x.dtype in FLOAT_DTYPES:
            alpha = typed_constant(alpha, x)
    return maximum(x, zero) + as_tensor_variable(alpha) * minimum(x, zero)


__all__ = [
    "erf", "erfc", "erfinv", "erfcinv", "gamma", "gammaln", "psi", "tri_gamma", "polygamma",
    "sigmoid", "softplus", "log1pexp", "relu", "xlogx",
]
