"""Neural-network helpers, Theano's `T.nnet`: softmax and log-softmax ops, the
cross-entropy costs, one-hot encoding, and the activation functions Theano kept
here (sigmoid, softplus, relu: the very objects of tensor/special.py, so
T.nnet.sigmoid is T.sigmoid; hard_sigmoid and ultra_fast_sigmoid).

Softmax and LogSoftmax are ops rather than compositions so that they are
computed stably (shifted by the maximum along the axis) and differentiated
with their short analytic rules. The costs are compositions of elementwise ops
written so that underflowed probabilities give +inf only where the cost
really is infinite (the convention 0 * log(0) = 0).
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.math import log, log1p
from symtheano.tensor.reduce import normalize_axis
from symtheano.tensor.reduce import sum as sum_
from symtheano.tensor.special import relu, sigmoid, softplus  # noqa: F401  (T.nnet names)
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType, normalize_dtype
from symtheano.tensor.var import as_tensor_variable


def _keep_axis(g, axis):
    return sum_(g, axis=axis, keepdims=True)


# -- softmax and log-softmax ---------------------------------------------------------------

class _SoftmaxBase(Op):
    """Common parts: `axis` is a non-negative int, or None for all elements."""

    __props__ = ("axis",)

    def __init__(self, axis=-1):
        if axis is not None and (not isinstance(axis, int | np.integer) or axis < 0):
            raise ValueError(f"{type(self).__name__}: axis must be None or an int >= 0 "
                             f"(normalized), got {axis!r}")
        self.axis = None if axis is None else int(axis)

    def make_node(self, x):
        x = as_tensor_variable(x)
        name = type(self).__name__
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}: input {x} must be float32 or float64, got {x.dtype} "
                            f"(T.nnet.{name.lower()} casts integers for you)")
        if self.axis is not None and self.axis >= x.ndim:
            raise ValueError(f"{name}: axis {self.axis} is out of range for {x} with "
                             f"{x.ndim} dimensions")
        return Apply(self, [x], [x.type.make_variable()])

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if x.size == 0:
            res = np.zeros(x.shape, dtype=x.dtype)
        else:
            with np.errstate(all="ignore"):
                res = self._compute(x)
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def pretty(self, input_strs):
        return f"{type(self).__name__.lower()}({input_strs[0]}, axis={self.axis})"


class Softmax(_SoftmaxBase):
    """exp(x) / sum(exp(x)) along `axis`, computed as exp(x - max) / sum(exp(x - max))."""

    def _compute(self, x):
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        return e / np.sum(e, axis=self.axis, keepdims=True)

    def L_op(self, inputs, outputs, output_grads):
        (sm,), (g,) = outputs, output_grads
        # d sm_i / d x_j = sm_i (delta_ij - sm_j)  =>  gx = (g - sum(g * sm)) * sm
        return [(g - _keep_axis(g * sm, self.axis)) * sm]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        (t,) = eval_points
        if t is None:
            return [None]
        (sm,) = node_outputs(self, inputs)
        # d sm = sm * (dx - sum(sm * dx)): the Jacobian is symmetric.
        return [sm * (t - _keep_axis(sm * t, self.axis))]


class LogSoftmax(_SoftmaxBase):
    """x - log(sum(exp(x))) along `axis`, computed as (x - m) - log(sum(exp(x - m)))
    with m the maximum (0 where the maximum is not finite)."""

    def _compute(self, x):
        m = np.max(x, axis=self.axis, keepdims=True)
        shifted = x - np.where(np.isfinite(m), m, 0)
        return shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))

    def L_op(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        # d out_i / d x_j = delta_ij - softmax_j  =>  gx = g - exp(out) * sum(g);
        # exp(out) is taken as softmax(x), which is exact at any magnitude.
        return [g - Softmax(self.axis)(x) * _keep_axis(g, self.axis)]

    def R_op(self, inputs, eval_points):
        (x,), (t,) = inputs, eval_points
        if t is None:
            return [None]
        # d out = dx - sum(softmax(x) * dx)
        return [t - _keep_axis(Softmax(self.axis)(x) * t, self.axis)]


def _softmax_input(x, axis, what):
    x = as_tensor_variable(x)
    if x.dtype not in FLOAT_DTYPES:
        x = tb.as_float(x)
    if axis is not None:
        (axis,) = normalize_axis(axis, x.ndim, f"{what} axis")
    return x, axis


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (-1: the last; None: all elements), computed
    without overflow. Integer inputs are cast to float like T.exp would."""
    x, axis = _softmax_input(x, axis, "softmax")
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably (finite for any finite x)."""
    x, axis = _softmax_input(x, axis, "log_softmax")
    return LogSoftmax(axis)(x)


logsoftmax = log_softmax  # Theano's name


# -- one-hot encoding ----------------------------------------------------------------------

class OneHot(Op):
    """out[..., k] = (indices[...] == k) for k in range(n_classes), of dtype `dtype`."""

    __props__ = ("dtype",)

    def __init__(self, dtype="float64"):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, indices, n_classes):
        indices, n_classes = as_tensor_variable(indices), as_tensor_variable(n_classes)
        if indices.dtype not in INT_DTYPES:
            raise TypeError(f"one_hot: the class indices {indices} must be integers, got "
                            f"{indices.dtype}")
        if n_classes.ndim != 0 or n_classes.dtype not in INT_DTYPES:
            raise TypeError(f"one_hot: the number of classes {n_classes} must be an integer "
                            f"scalar, got {n_classes.type}")
        n_classes = tb.cast(n_classes, "int64")
        n = int(n_classes.data) if isinstance(n_classes, Constant) else None
        out = TensorType(self.dtype, indices.type.shape + (n,)).make_variable()
        return Apply(self, [indices, n_classes], [out])

    def perform(self, node, inputs, output_storage):
        indices, n = inputs
        bad = (indices < 0) | (indices >= n)
        if np.any(bad):
            raise ValueError(f"one_hot: class index {indices[bad].flat[0]} of "
                             f"{node.inputs[0]} is out of range for {int(n)} classes")
        out = indices[..., None] == np.arange(int(n))
        output_storage[0][0] = out.astype(self.dtype)

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0]) + (node.inputs[1],)]

    def grad(self, inputs, output_grads):
        return [None, None]

    def R_op(self, inputs, eval_points):
        return [None]  # its inputs are integers

    def pretty(self, input_strs):
        return f"one_hot({input_strs[0]}, {input_strs[1]})"


def to_one_hot(y, nb_class, dtype=None):
    """Theano's to_one_hot: a (len(y), nb_class) array with a 1 at [i, y[i]]
    (any shape of `y` works: the classes make a new last dimension)."""
    return OneHot(dtype or "floatX")(y, nb_class)


# -- cross-entropies -----------------------------------------------------------------------

def _xlogy(x, y):
    """x * log(y), with 0 where x == 0 and y == 0 (the limit taken by entropies)."""
    both_zero = tb.logical_and(tb.eq(x, 0), tb.eq(y, 0))
    # Substituting y = 1 there keeps the gradient with respect to y finite (zero).
    return x * log(tb.switch(both_zero, 1, y))


def _xlog1py(x, y):
    """x * log1p(y), with 0 where x == 0 and y == -1."""
    both = tb.logical_and(tb.eq(x, 0), tb.eq(y, -1))
    return x * log1p(tb.switch(both, 0, y))


def binary_crossentropy(output, target):
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise (Theano's
    formula, with log1p for log(1 - output) and 0 * log(0) taken as 0)."""
    o, t = as_tensor_variable(output), as_tensor_variable(target)
    return -(_xlogy(t, o) + _xlog1py(1 - t, -o))


def sigmoid_binary_crossentropy(logits, target):
    """binary_crossentropy(sigmoid(logits), target) computed from the logits without
    overflow, as softplus(x) - t * x (softplus is max(x, 0) + log1p(exp(-|x|)))."""

    x, t = as_tensor_variable(logits), as_tensor_variable(target)
    # log(1 + exp(-x)) * t + log(1 + exp(x)) * (1 - t) = softplus(x) - t * x
    return softplus(x) - t * x


def categorical_crossentropy(coding_dist, true_dist):
    """-sum(true_dist * log(coding_dist)) over the last axis: one cost per row.

    true_dist is either a distribution of coding_dist's shape (one-hot or any
    probabilities; 0 * log(0) counts as 0) or, as in Theano, an integer array of
    class indices with one dimension less. A cost is +inf exactly where the
    probability of a true class is 0 (e.g. underflowed in a softmax).
    """
    p, t = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if p.dtype not in FLOAT_DTYPES or p.ndim == 0:
        raise TypeError(f"categorical_crossentropy: coding_dist {p} must be a float array "
                        f"with at least 1 dimension, got {p.type}")
    if t.dtype in INT_DTYPES:
        if t.ndim != p.ndim - 1:
            raise ValueError(f"categorical_crossentropy: integer true_dist {t} {t.type} "
                             f"holds class indices and must have {p.ndim - 1} dimensions "
                             f"(one less than coding_dist {p} {p.type})")
        from symtheano.tensor.shape import shape_i

        picked = sum_(p * OneHot(p.dtype)(t, shape_i(p, -1)), axis=-1)
        return -log(picked)
    if t.ndim != p.ndim:
        raise ValueError(f"categorical_crossentropy: true_dist {t} {t.type} must have the "
                         f"shape of coding_dist {p} {p.type}, or be integer class indices")
    return -sum_(_xlogy(t, p), axis=-1)


# -- activation functions that Theano kept in T.nnet -------------------------------------------

def hard_sigmoid(x):
    """Theano's hard_sigmoid: clip(0.2 * x + 0.5, 0, 1), a piecewise-linear sigmoid."""
    x = as_tensor_variable(x)
    if x.dtype not in FLOAT_DTYPES:
        x = tb.as_float(x)
    slope, offset = (tb.constant(np.asarray(v, dtype=x.dtype)) for v in (0.2, 0.5))
    return tb.clip(slope * x + offset, 0, 1)


def ultra_fast_sigmoid(x):
    """Theano's ultra_fast_sigmoid was a fast approximation of the sigmoid; here it is
    the exact (and stable) sigmoid, which compiled back ends make fast anyway."""
    return sigmoid(x)


__all__ = [
    "softmax", "log_softmax", "logsoftmax", "binary_crossentropy",
    "sigmoid_binary_crossentropy", "categorical_crossentropy",
]
