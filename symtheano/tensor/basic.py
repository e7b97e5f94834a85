"""Elementwise arithmetic, comparisons, logic, casts and selection.

Each op is a ScalarOp subclass (its NumPy reference `impl` and its gradient
next to each other) followed by the tensor-level function that applies it.
Transcendental and special functions live in `tensor/math.py`.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.rop import sum_tangents
from symtheano.tensor.elemwise import ScalarOp, register_scalar_op
from symtheano.tensor.type import (
    FLOAT_DTYPES,
    normalize_dtype,
    upcast,
    upgrade_to_float,
)
from symtheano.tensor.var import as_tensor_variable, constant  # noqa: F401  (re-export)

# -- arithmetic ------------------------------------------------------------------------------

class Add(ScalarOp):
    """Elementwise sum of any number of inputs."""

    nin, name, infix = None, "add", "+"

    def impl(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out

    def grad(self, inputs, output, gout):
        return [gout] * len(inputs)

    def R_op(self, inputs, output, tangents):
        return [sum_tangents(tangents)]


class Sub(ScalarOp):
    """a - b elementwise."""

    nin, name, infix = 2, "sub", "-"

    def impl(self, a, b):
        if a.dtype == bool and b.dtype == bool:
            return np.logical_xor(a, b)
        return np.subtract(a, b)

    def grad(self, inputs, output, gout):
        return [gout, -gout]

    def R_op(self, inputs, output, tangents):
        ta, tb = tangents
        return [sum_tangents([ta, None if tb is None else -tb])]


class Mul(ScalarOp):
    """Elementwise product of any number of inputs."""

    nin, name, infix = None, "mul", "*"

    def impl(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out

    def grad(self, inputs, output, gout):
        grads = []
        for i in range(len(inputs)):
            others = [x for j, x in enumerate(inputs) if j != i]
            grads.append(mul(gout, *others) if others else gout)
        return grads

    def R_op(self, inputs, output, tangents):
        terms = []
        for i, t in enumerate(tangents):
            if t is not None:
                others = [x for j, x in enumerate(inputs) if j != i]
                terms.append(mul(t, *others) if others else t)
        return [sum_tangents(terms)]


class TrueDiv(ScalarOp):
    """a / b elementwise (integer inputs give a float result)."""

    nin, name, infix, float_output = 2, "true_div", "/", True

    def impl(self, a, b):
        return np.true_divide(a, b)

    def grad(self, inputs, output, gout):
        a, b = inputs
        return [gout / b, -gout * a / sqr(b)]

    def R_op(self, inputs, output, tangents):
        a, b = inputs
        ta, tb = tangents
        return [sum_tangents([None if ta is None else ta / b,
                              None if tb is None else -tb * a / sqr(b)])]


class IntDiv(ScalarOp):
    """a // b elementwise (floor division, like NumPy)."""

    nin, name, infix = 2, "int_div", "//"

    def impl(self, a, b):
        return np.floor_divide(a, b)

    def grad(self, inputs, output, gout):
        return [None, None]

    def R_op(self, inputs, output, tangents):
        return [None]  # piecewise constant


class Mod(ScalarOp):
    """a % b elementwise, with the sign of b (like NumPy and Python)."""

    nin, name, infix = 2, "mod", "%"

    def impl(self, a, b):
        return np.mod(a, b)

    def grad(self, inputs, output, gout):
        a, b = inputs
        # a % b = a - b * floor(a / b): piecewise, d/da = 1, d/db = -floor(a / b).
        return [gout, -gout * floor(a / b)]

    def R_op(self, inputs, output, tangents):
        a, b = inputs
        ta, tb = tangents
        return [sum_tangents([ta, None if tb is None else -tb * floor(a / b)])]


class Pow(ScalarOp):
    """a ** b elementwise."""

    nin, name, infix = 2, "pow", "**"

    def impl(self, a, b):
        if a.dtype.kind in "iub" and b.dtype.kind in "iu" and np.any(b < 0):
            # NumPy refuses negative integer powers of integers; the exact results
            # truncated to integers are 1 for a == 1, +-1 for a == -1, else 0.
            safe = np.power(a, np.where(b < 0, 0, b))
            odd = (np.abs(b) % 2).astype(bool)
            neg_pow = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
            return np.where(b < 0, neg_pow, safe)
        out = np.power(a, b)
        if out.dtype.kind == "f" and a.dtype.kind == "f":
            # NumPy sometimes computes x ** 0.5 as sqrt(x), which differs from C's (IEEE)
            # pow at x = -0 and x = -inf for exponents that are not odd integers.
            odd = np.mod(b, 2) == 1
            fix = np.signbit(a) & ((a == 0) | np.isinf(a)) & ~odd
            if fix.any():
                out = np.where(fix, np.power(np.abs(a), b), out)
        return out

    def grad(self, inputs, output, gout):
        a, b = inputs
        ga = gout * b * pow(a, b - 1)
        # d/db a**b = a**b log(a); where a == 0 the limit (b > 0) is 0.
        from symtheano.tensor.math import log

        gb = gout * switch(eq(a, 0), 0, output * log(a))
        return [ga, gb]

    def R_op(self, inputs, output, tangents):
        from symtheano.tensor.math import log

        a, b = inputs
        ta, tb = tangents
        return [sum_tangents([
            None if ta is None else ta * b * pow(a, b - 1),
            None if tb is None else tb * switch(eq(a, 0), 0, output * log(a))])]


class Neg(ScalarOp):
    """-x elementwise."""

    name, infix = "neg", "-"

    def impl(self, x):
        return np.negative(x) if x.dtype != bool else x

    def grad(self, inputs, output, gout):
        return [-gout]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t]


class Abs(ScalarOp):
    """|x| elementwise."""

    name = "abs"

    def impl(self, x):
        return np.abs(x)

    def grad(self, inputs, output, gout):
        return [gout * sgn(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * sgn(inputs[0])]


class Sgn(ScalarOp):
    """The sign of x: -1, 0 or 1 (NaN stays NaN)."""

    name = "sgn"

    def impl(self, x):
        return np.sign(x) if x.dtype != bool else x

    def grad(self, inputs, output, gout):
        return [None]

    def R_op(self, inputs, output, tangents):
        return [None]  # piecewise constant


class Sqr(ScalarOp):
    """x * x elementwise."""

    name = "sqr"

    def impl(self, x):
        return x * x

    def grad(self, inputs, output, gout):
        return [gout * 2 * inputs[0]]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else t * 2 * inputs[0]]


class Reciprocal(ScalarOp):
    """1 / x elementwise."""

    name, float_output = "reciprocal", True

    def impl(self, x):
        return np.reciprocal(x)

    def grad(self, inputs, output, gout):
        return [-gout * sqr(output)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t * sqr(output)]


class Maximum(ScalarOp):
    """The larger of a and b elementwise (NaN propagates)."""

    nin, name = 2, "maximum"

    def impl(self, a, b):
        return np.maximum(a, b)

    def grad(self, inputs, output, gout):
        a, b = inputs
        # Ties send the gradient to the first argument, like a subgradient choice.
        first = ge(a, b)
        return [switch(first, gout, 0), switch(first, 0, gout)]

    def R_op(self, inputs, output, tangents):
        return [_select_tangent(ge(*inputs), *tangents)]


class Minimum(ScalarOp):
    """The smaller of a and b elementwise (NaN propagates)."""

    nin, name = 2, "minimum"

    def impl(self, a, b):
        return np.minimum(a, b)

    def grad(self, inputs, output, gout):
        a, b = inputs
        first = le(a, b)
        return [switch(first, gout, 0), switch(first, 0, gout)]

    def R_op(self, inputs, output, tangents):
        return [_select_tangent(le(*inputs), *tangents)]


def _select_tangent(cond, ta, tb):
    """The tangent of switch(cond, a, b): ta where cond holds, else tb (None: 0)."""
    if ta is None and tb is None:
        return None
    zero = constant(np.zeros((), dtype=(ta if ta is not None else tb).dtype))
    return switch(cond, zero if ta is None else ta, zero if tb is None else tb)


# -- rounding ------------------------------------------------------------------------------

class _Rounding(ScalarOp):
    """Rounding keeps the dtype (floats stay floats); its gradient is zero."""

    numpy_fn = None

    def impl(self, x):
        if x.dtype.kind in "iub":
            return x
        return type(self).numpy_fn(x)

    def grad(self, inputs, output, gout):
        return [None]

    def R_op(self, inputs, output, tangents):
        return [None]  # piecewise constant


class Floor(_Rounding):
    """The largest integer <= x."""

    name, numpy_fn = "floor", np.floor


class Ceil(_Rounding):
    """The smallest integer >= x."""

    name, numpy_fn = "ceil", np.ceil


class Trunc(_Rounding):
    """x rounded towards zero."""

    name, numpy_fn = "trunc", np.trunc


class RoundHalfToEven(_Rounding):
    """x rounded to the nearest integer, ties to even (numpy.round)."""

    name, numpy_fn = "round_half_to_even", np.round


class RoundHalfAwayFromZero(_Rounding):
    """x rounded to the nearest integer, ties away from zero (C's round)."""

    name = "round_half_away_from_zero"

    def impl(self, x):
        if x.dtype.kind in "iub":
            return x
        return np.sign(x) * np.floor(np.abs(x) + 0.5)


# -- comparisons and logic ---------------------------------------------------------------------

class _Comparison(ScalarOp):
    nin, bool_output = 2, True
    numpy_fn = None

    def impl(self, a, b):
        return type(self).numpy_fn(a, b)

    def grad(self, inputs, output, gout):
        return [None, None]

    def R_op(self, inputs, output, tangents):
        return [None]  # a bool output has no tangent


class LT(_Comparison):
    """a < b elementwise."""

    name, infix, numpy_fn = "lt", "<", np.less


class GT(_Comparison):
    """a > b elementwise."""

    name, infix, numpy_fn = "gt", ">", np.greater


class LE(_Comparison):
    """a <= b elementwise."""

    name, infix, numpy_fn = "le", "<=", np.less_equal


class GE(_Comparison):
    """a >= b elementwise."""

    name, infix, numpy_fn = "ge", ">=", np.greater_equal


class EQ(_Comparison):
    """a == b elementwise."""

    name, infix, numpy_fn = "eq", "==", np.equal


class NEQ(_Comparison):
    """a != b elementwise."""

    name, infix, numpy_fn = "neq", "!=", np.not_equal


class _Bitwise(ScalarOp):
    """Bitwise on integers, logical on bools (like NumPy's &, |, ^, ~)."""

    nin, int_only = 2, True
    numpy_fn = None

    def impl(self, *xs):
        return type(self).numpy_fn(*xs)

    def grad(self, inputs, output, gout):
        return [None] * len(inputs)

    def R_op(self, inputs, output, tangents):
        return [None]  # integer and bool outputs have no tangent


class And(_Bitwise):
    """a & b: bitwise and (logical and for bools)."""

    name, infix, numpy_fn = "and_", "&", np.bitwise_and


class Or(_Bitwise):
    """a | b: bitwise or (logical or for bools)."""

    name, infix, numpy_fn = "or_", "|", np.bitwise_or


class Xor(_Bitwise):
    """a ^ b: bitwise xor (logical xor for bools)."""

    name, infix, numpy_fn = "xor", "^", np.bitwise_xor


class Invert(_Bitwise):
    """~a: bitwise not (logical not for bools)."""

    nin, name, infix, numpy_fn = 1, "invert", "~", np.invert


class _Logical(ScalarOp):
    """Truth-value logic on any dtype; the result is bool."""

    bool_output = True
    numpy_fn = None

    def impl(self, *xs):
        return type(self).numpy_fn(*xs)

    def grad(self, inputs, output, gout):
        return [None] * len(inputs)

    def R_op(self, inputs, output, tangents):
        return [None]  # integer and bool outputs have no tangent


class LogicalAnd(_Logical):
    """a and b, elementwise truth values."""

    nin, name, numpy_fn = 2, "logical_and", np.logical_and


class LogicalOr(_Logical):
    """a or b, elementwise truth values."""

    nin, name, numpy_fn = 2, "logical_or", np.logical_or


class LogicalXor(_Logical):
    """a xor b, elementwise truth values."""

    nin, name, numpy_fn = 2, "logical_xor", np.logical_xor


class LogicalNot(_Logical):
    """not a, elementwise truth value."""

    name, numpy_fn = "logical_not", np.logical_not


class IsNan(_Logical):
    """True where x is NaN."""

    name, numpy_fn = "isnan", np.isnan


class IsInf(_Logical):
    """True where x is +inf or -inf."""

    name, numpy_fn = "isinf", np.isinf


# -- selection, identity, casts ---------------------------------------------------------------

class Switch(ScalarOp):
    """where(cond, a, b): a where cond is true, else b."""

    nin, name = 3, "switch"

    def output_dtype(self, cond, a, b):
        return upcast(a, b)

    def impl(self, cond, a, b):
        return np.where(cond, a, b)

    def grad(self, inputs, output, gout):
        cond, a, b = inputs
        zero = constant(np.zeros((), dtype=gout.dtype))
        return [None, switch(cond, gout, zero), switch(cond, zero, gout)]

    def R_op(self, inputs, output, tangents):
        return [_select_tangent(inputs[0], tangents[1], tangents[2])]


class Second(ScalarOp):
    """b broadcast to the shape of a (Theano's `second`/`fill`); a only gives the shape."""

    nin, name, pp_name = 2, "second", "fill"

    def output_dtype(self, a, b):
        return b

    def impl(self, a, b):
        return np.array(np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)))

    def grad(self, inputs, output, gout):
        return [None, gout]

    def R_op(self, inputs, output, tangents):
        return [tangents[1]]  # broadcast to the output's shape by Elemwise


class Identity(ScalarOp):
    """A copy of x."""

    name = "identity"

    def impl(self, x):
        return np.array(x, copy=True)

    def grad(self, inputs, output, gout):
        return [gout]

    def R_op(self, inputs, output, tangents):
        return [tangents[0]]


class Cast(ScalarOp):
    """x converted to `dtype` (like ndarray.astype)."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype
        self.name = f"cast_{dtype}"

    def output_dtype(self, dtype):
        return self.dtype

    def impl(self, x):
        with np.errstate(invalid="ignore"):
            return x.astype(self.dtype)

    def grad(self, inputs, output, gout):
        (x,) = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        return [cast(gout, x.dtype)]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        if t is None or self.dtype not in FLOAT_DTYPES:
            return [None]
        return [cast(t, self.dtype)]


# -- the tensor-level functions ----------------------------------------------------------------

add = register_scalar_op(Add())
sub = register_scalar_op(Sub())
mul = register_scalar_op(Mul())
true_div = register_scalar_op(TrueDiv())
int_div = register_scalar_op(IntDiv())
mod = register_scalar_op(Mod())
pow = register_scalar_op(Pow())
neg = register_scalar_op(Neg())
abs = register_scalar_op(Abs())
sgn = register_scalar_op(Sgn())
sqr = register_scalar_op(Sqr())
reciprocal = register_scalar_op(Reciprocal())
maximum = register_scalar_op(Maximum())
minimum = register_scalar_op(Minimum())
floor = register_scalar_op(Floor())
ceil = register_scalar_op(Ceil())
trunc = register_scalar_op(Trunc())
round_half_to_even = register_scalar_op(RoundHalfToEven())
round_half_away_from_zero = register_scalar_op(RoundHalfAwayFromZero())
lt = register_scalar_op(LT())
gt = register_scalar_op(GT())
le = register_scalar_op(LE())
ge = register_scalar_op(GE())
eq = register_scalar_op(EQ())
neq = register_scalar_op(NEQ())
and_ = register_scalar_op(And())
or_ = register_scalar_op(Or())
xor = register_scalar_op(Xor())
invert = register_scalar_op(Invert())
logical_and = register_scalar_op(LogicalAnd())
logical_or = register_scalar_op(LogicalOr())
logical_xor = register_scalar_op(LogicalXor())
logical_not = register_scalar_op(LogicalNot())
isnan = register_scalar_op(IsNan())
isinf = register_scalar_op(IsInf())
switch = register_scalar_op(Switch())
second = register_scalar_op(Second())
tensor_copy = register_scalar_op(Identity())

where = switch
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = and_, or_, xor, invert
divide = true_div
floor_div = int_div
inv = reciprocal


def round(x, mode="half_to_even"):
    """Round to the nearest integer; mode 'half_to_even' (NumPy) or 'half_away_from_zero'."""
    if mode == "half_to_even":
        return round_half_to_even(x)
    if mode == "half_away_from_zero":
        return round_half_away_from_zero(x)
    raise ValueError(f"round mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}")


_CASTS = {}


def cast(x, dtype):
    """`x` converted to `dtype` ('floatX' means config.floatX)."""
    x = as_tensor_variable(x)
    dtype = normalize_dtype(dtype)
    if x.dtype == dtype:
        return x
    if isinstance(x, Constant):  # casting data needs no graph node
        return constant(x.data.astype(dtype))
    if dtype not in _CASTS:
        from symtheano.tensor.elemwise import Elemwise

        _CASTS[dtype] = Elemwise(Cast(dtype))
    return _CASTS[dtype](x)


def clip(x, a_min, a_max):
    """Limit x to [a_min, a_max] elementwise; the gradient passes where x is inside."""
    return minimum(maximum(x, a_min), a_max)


def as_float(x):
    """`x` cast to the float dtype an op like `mean` would compute in."""
    x = as_tensor_variable(x)
    return cast(x, upgrade_to_float(x.dtype))


__all__ = [
    "add", "sub", "mul", "true_div", "int_div", "mod", "pow", "neg", "abs", "sgn", "sqr",
    "reciprocal", "maximum", "minimum", "floor", "ceil", "trunc", "round", "round_half_to_even",
    "round_half_away_from_zero", "lt", "gt", "le", "ge", "eq", "neq", "and_", "or_", "xor",
    "invert", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "switch", "where",
    "tensor_copy", "second", "cast", "clip", "divide", "floor_div", "inv", "as_float",
]
