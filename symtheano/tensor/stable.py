"""Numerically stable forms that the stabilize rewrites (rewrite/stabilize.py)
put in place of formulas that overflow, underflow or cancel:

- `log1mexp(x)` = log(1 - exp(x)) for x <= 0, accurate near 0 and far below;
- `erfcx(x)` = exp(x**2) * erfc(x), the scaled complementary error function;
- `log_erfc(x)` = log(erfc(x)), finite far into the tail (erfc underflows at 27);
- `LogSumExp(axis)`: log(sum(exp(x))) over axes, shifted by the maximum;
- `SoftmaxCrossentropy`: -log(softmax(x)[..., y]) for integer labels y, fused,
  with the gradient softmax(x) - one_hot(y).

Each is usable directly as well (`T.log1mexp`, `T.log_erfc`, ...). The scalar
ops compute in float64 and round once to the output dtype.
"""

from __future__ import annotations

import math

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor import basic as tb
from symtheano.tensor import special_numpy
from symtheano.tensor.elemwise import ScalarOp, register_scalar_op, shape_padright
from symtheano.tensor.math import exp, expm1, typed_constant
from symtheano.tensor.reduce import expand_reduced, normalize_axis
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG_HALF = math.log(0.5)


def _float64(x):
    return np.asarray(x, dtype=np.float64)


def _exp_square(t):
    """exp(t**2) for t >= 0 without the rounding error of t*t: t = ts + d with
    ts = k/16, so ts*ts is exact (as in special_numpy's erfc)."""
    ts = np.trunc(t * 16.0) / 16.0
    return np.exp(ts * ts) * np.exp((t - ts) * (t + ts))


def erfcx_numpy(x):
    """exp(x**2) * erfc(x) of a NumPy array, in float64 (+inf below about -26.6)."""
    x = _float64(x)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        pos = x >= 0
        # special_numpy's scaled complement for y >= 0 (Cody's rational approximations).
        out[pos] = special_numpy._erfcx_pos(x[pos])
        neg = x < 0
        t = -x[neg]
        # erfc(-t) = 2 - erfc(t): no cancellation, since 2 exp(t**2) >= 2 > erfcx(t).
        out[neg] = 2.0 * _exp_square(t) - special_numpy._erfcx_pos(t)
    return out


def log_erfc_numpy(x):
    """log(erfc(x)) of a NumPy array, in float64: log1p(-erf(x)) near 0 (where erfc
    rounds to 1), log(erfcx(x)) - x**2 from 0.5 up (no underflow), log(erfc(x)) below."""
    x = _float64(x)
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        big = x >= 0.5
        xb = x[big]
        out[big] = np.log(special_numpy._erfcx_pos(xb)) - xb * xb
        mid = np.abs(x) < 0.5
        out[mid] = np.log1p(-special_numpy.erf(x[mid]))
        low = x <= -0.5
        out[low] = np.log(special_numpy.erfc(x[low]))
    return out


def log1mexp_numpy(x):
    """log(1 - exp(x)) of a NumPy array, in float64 (Maechler's two branches:
    log(-expm1(x)) near 0, log1p(-exp(x)) below -log 2; NaN above 0)."""
    x = _float64(x)
    with np.errstate(all="ignore"):
        return np.where(x > _LOG_HALF, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


class _Float64Unary(ScalarOp):
    """A one-input ScalarOp computed in float64 by `numpy_fn`, rounded to the output dtype."""

    float_output = True
    numpy_fn = None

    def impl(self, x):
        return type(self).numpy_fn(x)


class Log1mExp(_Float64Unary):
    """log(1 - exp(x)), accurate for every x <= 0 (-inf at 0, NaN above)."""

    name, numpy_fn = "log1mexp", staticmethod(log1mexp_numpy)

    def grad(self, inputs, output, gout):
        # d/dx log(1 - e^x) = -e^x / (1 - e^x) = -1 / expm1(-x): finite wherever the value is.
        return [-gout / expm1(-inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        return [None if t is None else -t / expm1(-inputs[0])]


class Erfcx(_Float64Unary):
    """The scaled complementary error function exp(x**2) * erfc(x) (~ 1/(x sqrt(pi)))."""

    name, numpy_fn = "erfcx", staticmethod(erfcx_numpy)

    def grad(self, inputs, output, gout):
        return [gout * (typed_constant(2.0, gout) * inputs[0] * output
                        - typed_constant(_TWO_OVER_SQRT_PI, gout))]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        if t is None:
            return [None]
        return [t * (typed_constant(2.0, t) * inputs[0] * output
                     - typed_constant(_TWO_OVER_SQRT_PI, t))]


class LogErfc(_Float64Unary):
    """log(erfc(x)), finite for every finite x (about -x**2 - log(x sqrt(pi)) far out)."""

    name, numpy_fn = "log_erfc", staticmethod(log_erfc_numpy)

    def grad(self, inputs, output, gout):
        # d/dx log erfc(x) = -2/sqrt(pi) exp(-x**2) / erfc(x) = -2/sqrt(pi) / erfcx(x).
        return [-gout * typed_constant(_TWO_OVER_SQRT_PI, gout) / erfcx(inputs[0])]

    def R_op(self, inputs, output, tangents):
        (t,) = tangents
        if t is None:
            return [None]
        return [-t * typed_constant(_TWO_OVER_SQRT_PI, t) / erfcx(inputs[0])]


log1mexp = register_scalar_op(Log1mExp())
erfcx = register_scalar_op(Erfcx())
log_erfc = register_scalar_op(LogErfc())


# -- reductions ----------------------------------------------------------------------------

def _shifted_log_sum(x, m):
    """log(sum(exp(x - m))) over the last axis of `x`, where m (keepdims) is its
    maximum: one maximal term, exp(0) = 1, is left out of the sum and added back
    by log1p, so sums close to 1 keep their small part."""
    e = np.exp(x - m)
    idx = np.argmax(x, axis=-1)[..., None]
    np.put_along_axis(e, idx, 0, axis=-1)
    return np.log1p(np.sum(e, axis=-1))


def _to_last(x, axes):
    """x with `axes` moved to the end and merged into one."""
    kept = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, kept + list(axes))
    size = int(np.prod([x.shape[a] for a in axes]))
    return moved.reshape(moved.shape[:len(kept)] + (size,))


class LogSumExp(Op):
    """log(sum(exp(x))) over `axis` (a sorted tuple), computed as m + log1p(rest)
    with m the maximum: never overflows, and -inf for an empty axis."""

    __props__ = ("axis",)

    def __init__(self, axis):
        axis = tuple(int(a) for a in axis)
        if not axis or sorted(set(axis)) != list(axis) or axis[0] < 0:
            raise ValueError(f"LogSumExp: axis must be a non-empty sorted tuple of distinct "
                             f"non-negative ints, got {axis!r}")
        self.axis = axis

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"LogSumExp: input {x} must be float32 or float64, got {x.dtype}")
        if self.axis[-1] >= x.ndim:
            raise ValueError(f"LogSumExp: axis {self.axis} out of range for {x} with "
                             f"{x.ndim} dimensions")
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in self.axis)
        return Apply(self, [x], [TensorType(x.dtype, shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        flat = _to_last(x, self.axis)
        if flat.shape[-1] == 0:
            res = np.full(flat.shape[:-1], -np.inf)
        else:
            with np.errstate(all="ignore"):
                m = np.max(flat, axis=-1, keepdims=True)
                finite = np.isfinite(m)
                rest = _shifted_log_sum(flat, np.where(finite, m, 0))
                res = np.where(finite[..., 0], m[..., 0] + rest, m[..., 0])
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        # d lse / d x = exp(x - lse): the softmax over the axes, never overflowing.
        keep = expand_reduced(out, x.ndim, self.axis)
        return [expand_reduced(g, x.ndim, self.axis) * exp(x - keep)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs
        from symtheano.tensor.reduce import Sum

        (x,), (t,) = inputs, eval_points
        if t is None:
            return [None]
        (out,) = node_outputs(self, inputs)
        # d lse = sum(softmax(x) * dx) over the axes.
        return [Sum(self.axis)(t * exp(x - expand_reduced(out, x.ndim, self.axis)))]

    def __str__(self):
        return f"LogSumExp{{axis={self.axis}}}"

    def pretty(self, input_strs):
        return f"logsumexp({input_strs[0]}, axis={self.axis})"


class SoftmaxCrossentropy(Op):
    """-log(softmax(x)[..., y]): the cross-entropy of a softmax over the last axis
    of the logits `x` with integer labels `y` (one dimension less), fused and
    computed as log1p(rest) - (x_y - max): finite for finite logits, even where
    the probability underflows; its gradient is softmax(x) - one_hot(y)."""

    __props__ = ()

    def make_node(self, x, y):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        if x.dtype not in FLOAT_DTYPES or x.ndim == 0:
            raise TypeError(f"softmax_crossentropy: logits {x} must be a float array with "
                            f"at least 1 dimension, got {x.type}")
        if y.dtype not in INT_DTYPES or y.ndim != x.ndim - 1:
            raise TypeError(f"softmax_crossentropy: labels {y} must be integers with "
                            f"{x.ndim - 1} dimensions (one less than logits {x}), got {y.type}")
        shape = []
        for d, (a, b) in enumerate(zip(x.type.shape[:-1], y.type.shape)):
            if a is not None and b is not None and a != b:
                raise ValueError(f"softmax_crossentropy: labels {y} have static size {b} in "
                                 f"dimension {d}, logits {x} have {a}")
            shape.append(a if a is not None else b)
        return Apply(self, [x, y], [TensorType(x.dtype, tuple(shape)).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, y = inputs
        n = x.shape[-1]
        if y.shape != x.shape[:-1]:
            raise ValueError(f"softmax_crossentropy: labels {node.inputs[1]} of shape "
                             f"{y.shape} do not match logits {node.inputs[0]} of shape "
                             f"{x.shape}")
        bad = (y < 0) | (y >= n)
        if np.any(bad):
            raise ValueError(f"softmax_crossentropy: label {y[bad].flat[0]} of "
                             f"{node.inputs[1]} is out of range for {n} classes")
        if x.size == 0:
            res = np.zeros(y.shape)
        else:
            with np.errstate(all="ignore"):
                m = np.max(x, axis=-1, keepdims=True)
                finite = np.isfinite(m)
                shift = np.where(finite, m, 0)
                picked = np.take_along_axis(x, y[..., None].astype(np.intp), axis=-1)
                rest = _shifted_log_sum(x, shift)
                res = np.where(finite[..., 0], rest - (picked - shift)[..., 0],
                               m[..., 0] - picked[..., 0])
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0][:-1])]

    def L_op(self, inputs, outputs, output_grads):
        from symtheano.tensor.nnet import OneHot, Softmax
        from symtheano.tensor.shape import shape_i

        (x, y), (g,) = inputs, output_grads
        one_hot = OneHot(x.dtype)(y, shape_i(x, x.ndim - 1))
        return [(Softmax(x.ndim - 1)(x) - one_hot) * shape_padright(g), None]

    def R_op(self, inputs, eval_points):
        from symtheano.tensor.nnet import OneHot, Softmax
        from symtheano.tensor.reduce import Sum
        from symtheano.tensor.shape import shape_i

        (x, y), (t, _) = inputs, eval_points
        if t is None:
            return [None]
        # d(lse(x) - x_y) = sum((softmax(x) - one_hot(y)) * dx) over the last axis.
        one_hot = OneHot(x.dtype)(y, shape_i(x, x.ndim - 1))
        return [Sum((x.ndim - 1,))(t * (Softmax(x.ndim - 1)(x) - one_hot))]

    def pretty(self, input_strs):
        return f"softmax_crossentropy({input_strs[0]}, {input_strs[1]})"


def logsumexp_op(x, axis=None):
    """log(sum(exp(x))) over `axis` (None: all) as one LogSumExp node."""
    x = as_tensor_variable(x)
    if x.dtype not in FLOAT_DTYPES:
        x = tb.as_float(x)
    axes = normalize_axis(axis, x.ndim)
    return LogSumExp(axes)(x) if axes else x


def softmax_crossentropy(logits, labels):
    """-log(softmax(logits)[..., labels]) along the last axis, for integer labels:
    what categorical_crossentropy(softmax(logits), labels) computes, fused and stable."""
    x = as_tensor_variable(logits)
    if x.dtype not in FLOAT_DTYPES:
        x = tb.as_float(x)
    return SoftmaxCrossentropy()(x, labels)


__all__ = ["log1mexp", "erfcx", "log_erfc", "LogSumExp", "SoftmaxCrossentropy",
           "logsumexp_op", "softmax_crossentropy"]
