"""Reductions over axes: sum, prod, max, min, all, any, argmax, argmin, and the
statistics built from them (mean, var, std, logsumexp).

A reduction op removes the reduced axes; `keepdims=True` puts them back as
broadcastable dimensions with a DimShuffle, so one op serves both forms.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import DimShuffle
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable


def normalize_axis(axis, ndim, what="axis"):
    """`axis` (None, an int or a sequence; negatives count from the end) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    result = []
    for a in axis:
        if not isinstance(a, int | np.integer):
            raise TypeError(f"{what} must be ints, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{what} {a} is out of range for an array of {ndim} dimensions")
        result.append(int(a) % ndim if ndim else 0)
    if len(set(result)) != len(result):
        raise ValueError(f"{what} {tuple(axis)} repeats an axis")
    return tuple(sorted(result))


def _keep(x, out, axes, keepdims):
    """Put the reduced `axes` of `x` back into `out` as broadcastable dimensions."""
    if not keepdims:
        return out
    order, it = [], iter(range(out.ndim))
    for d in range(x.ndim):
        order.append("x" if d in axes else next(it))
    return DimShuffle(out.ndim, order)(out)


def expand_reduced(g, x_ndim, axes):
    """`g` (reduced over `axes`) with those axes reinserted, broadcastable."""
    order, it = [], iter(range(g.ndim))
    for d in range(x_ndim):
        order.append("x" if d in axes else next(it))
    return DimShuffle(g.ndim, order)(g) if g.ndim != x_ndim else g


class Reduce(Op):
    """Common parts of a reduction over `axis` (a sorted tuple of axes)."""

    __props__ = ("axis",)
    numpy_fn = None
    identity = None  # value of an empty reduction; None: empty input is an error

    def __init__(self, axis):
        self.axis = tuple(axis)

    def output_dtype(self, dtype):
        return dtype

    def make_node(self, x):
        x = as_tensor_variable(x)
        for a in self.axis:
            if a >= x.ndim:
                raise ValueError(f"{type(self).__name__}: axis {a} out of range for {x} "
                                 f"with {x.ndim} dimensions")
        shape = tuple(s for d, s in enumerate(x.type.shape) if d not in self.axis)
        out = TensorType(self.output_dtype(x.dtype), shape).make_variable()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if self.identity is None and 0 in [x.shape[a] for a in self.axis]:
            raise ValueError(f"{type(self).__name__.lower()} of an empty axis of "
                             f"{node.inputs[0]} (shape {x.shape}) has no identity")
        dtype = node.outputs[0].dtype
        with np.errstate(all="ignore"):
            res = type(self).numpy_fn(x, axis=self.axis)
        output_storage[0][0] = np.asarray(res, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d not in self.axis)]

    def __str__(self):
        return f"{type(self).__name__}{{axis={self.axis}}}"

    def pretty(self, input_strs):
        name = type(self).__name__.lower()
        return f"{name}({input_strs[0]}, axis={self.axis})"


def _accumulate_dtype(dtype):
    if dtype == "bool" or dtype.startswith("int"):
        return "int64"
    if dtype.startswith("uint"):
        return "uint64"
    return dtype


class Sum(Reduce):
    """Sum over axes (integers accumulate in 64 bits, like NumPy)."""

    __props__ = ("axis", "dtype")
    numpy_fn = np.sum
    identity = 0

    def __init__(self, axis, dtype=None):
        super().__init__(axis)
        self.dtype = dtype

    def output_dtype(self, dtype):
        return self.dtype or _accumulate_dtype(dtype)

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        res = np.sum(x, axis=self.axis, dtype=node.outputs[0].dtype)
        output_storage[0][0] = np.asarray(res)

    def grad(self, inputs, output_grads):
        from symtheano.tensor.shape import broadcast_like

        (x,) = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        g = expand_reduced(output_grads[0], x.ndim, self.axis)
        return [tb.cast(broadcast_like(g, x), x.dtype)]

    def R_op(self, inputs, eval_points):
        (t,) = eval_points
        return [None if t is None else self(t)]


class Prod(Reduce):
    """Product over axes; the gradient is exact where inputs contain zeros."""

    __props__ = ("axis", "dtype")
    numpy_fn = np.prod
    identity = 1

    def __init__(self, axis, dtype=None):
        super().__init__(axis)
        self.dtype = dtype

    def output_dtype(self, dtype):
        return self.dtype or _accumulate_dtype(dtype)

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        with np.errstate(all="ignore"):
            res = np.prod(x, axis=self.axis, dtype=node.outputs[0].dtype)
        output_storage[0][0] = np.asarray(res)

    def grad(self, inputs, output_grads):
        from symtheano.tensor.shape import broadcast_like

        (x,) = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        g = expand_reduced(output_grads[0], x.ndim, self.axis)
        return [tb.cast(broadcast_like(g, x) * self._others(x), x.dtype)]

    def _others(self, x):
        """d prod / d x_i: the product of the other elements, computed without
        dividing by a zero: with no zero it is prod / x_i; with one zero only that
        element gets the product of the non-zeros; with two or more every entry is 0."""
        is_zero = tb.eq(x, 0)
        n_zeros = expand_reduced(Sum(self.axis)(is_zero), x.ndim, self.axis)
        prod_nz = expand_reduced(Prod(self.axis)(tb.switch(is_zero, 1, x)), x.ndim, self.axis)
        return tb.switch(
            is_zero,
            tb.switch(tb.eq(n_zeros, 1), prod_nz, 0),
            tb.switch(tb.eq(n_zeros, 0), prod_nz / x, 0),
        )

    def R_op(self, inputs, eval_points):
        (x,), (t,) = inputs, eval_points
        if t is None:
            return [None]
        # d prod = sum(dx_i * product of the other elements)
        return [Sum(self.axis)(t * self._others(x))]


class _Extremum(Reduce):
    def grad(self, inputs, output_grads):
        (x,) = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        out = expand_reduced(self(x), x.ndim, self.axis)
        g = expand_reduced(output_grads[0], x.ndim, self.axis)
        # Every element equal to the extremum receives the gradient (Theano's choice).
        return [tb.cast(g * tb.eq(x, out), x.dtype)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        (x,), (t,) = inputs, eval_points
        if t is None:
            return [None]
        (out,) = node_outputs(self, inputs)
        # The transpose of grad's rule: the tangents of every element equal to the
        # extremum, summed (the tangent of the extremum where it is unique).
        return [Sum(self.axis)(t * tb.eq(x, expand_reduced(out, x.ndim, self.axis)))]


class Max(_Extremum):
    """Maximum over axes (NaN propagates)."""

    numpy_fn = np.max


class Min(_Extremum):
    """Minimum over axes (NaN propagates)."""

    numpy_fn = np.min


class All(Reduce):
    """True where every element along the axes is true."""

    numpy_fn = np.all
    identity = True

    def output_dtype(self, dtype):
        return "bool"

    def grad(self, inputs, output_grads):
        return [None]

    def R_op(self, inputs, eval_points):
        return [None]  # a bool output has no tangent


class Any(All):
    """True where some element along the axes is true."""

    numpy_fn = np.any
    identity = False


class Argmax(Op):
    """Index of the maximum along one axis, or in the flattened array (axis None)."""

    __props__ = ("axis",)
    numpy_fn = staticmethod(np.argmax)

    def __init__(self, axis):
        self.axis = axis

    def make_node(self, x):
        x = as_tensor_variable(x)
        if self.axis is None:
            shape = ()
        else:
            shape = tuple(s for d, s in enumerate(x.type.shape) if d != self.axis)
        return Apply(self, [x], [TensorType("int64", shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        ax = self.axis
        if (x.size == 0) if ax is None else (x.shape[ax] == 0):  # only the reduced axis
            raise ValueError(f"{type(self).__name__.lower()} of an empty axis of "
                             f"{node.inputs[0]} (shape {x.shape})")
        output_storage[0][0] = np.asarray(type(self).numpy_fn(x, axis=ax), dtype="int64")

    def infer_shape(self, node, input_shapes):
        if self.axis is None:
            return [()]
        return [tuple(s for d, s in enumerate(input_shapes[0]) if d != self.axis)]

    def grad(self, inputs, output_grads):
        return [None]

    def R_op(self, inputs, eval_points):
        return [None]  # an integer output has no tangent


class Argmin(Argmax):
    """Index of the minimum along one axis, or in the flattened array (axis None)."""

    numpy_fn = staticmethod(np.argmin)


# -- the functions users call ------------------------------------------------------------------

def _reduce(op_class, x, axis, keepdims, **kwargs):
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    out = op_class(axes, **kwargs)(x) if axes else (
        tb.cast(x, op_class(axes, **kwargs).output_dtype(x.dtype)))
    return _keep(x, out, axes, keepdims)


def sum(x, axis=None, keepdims=False, dtype=None, acc_dtype=None):
    """Sum over `axis` (None: all axes), like numpy.sum."""
    return _reduce(Sum, x, axis, keepdims, dtype=dtype)


def prod(x, axis=None, keepdims=False, dtype=None, acc_dtype=None, no_zeros_in_input=False):
    """Product over `axis` (None: all axes), like numpy.prod."""
    return _reduce(Prod, x, axis, keepdims, dtype=dtype)


def max(x, axis=None, keepdims=False):
    """Maximum over `axis` (None: all axes), like numpy.max."""
    return _reduce(Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over `axis` (None: all axes), like numpy.min."""
    return _reduce(Min, x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """True where all elements along `axis` are true."""
    return _reduce(All, x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """True where any element along `axis` is true."""
    return _reduce(Any, x, axis, keepdims)


def _arg(op_class, x, axis, keepdims):
    x = as_tensor_variable(x)
    if axis is not None:
        if isinstance(axis, list | tuple):
            if len(axis) != 1:
                raise ValueError(f"{op_class.__name__.lower()} takes one axis or None, "
                                 f"got {axis}")
            axis = axis[0]
        (axis,) = normalize_axis(axis, x.ndim)
    out = op_class(axis)(x)
    if keepdims:
        axes = tuple(range(x.ndim)) if axis is None else (axis,)
        out = _keep(x, out, axes, True)
    return out


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along `axis` (None: in the flattened array)."""
    return _arg(Argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along `axis` (None: in the flattened array)."""
    return _arg(Argmin, x, axis, keepdims)


def max_and_argmax(x, axis=None):
    """(max, argmax) along `axis`, as Theano's T.max_and_argmax."""
    return max(x, axis), argmax(x, axis)


def count_along(x, axes):
    """The number of elements of `x` along `axes`, as a symbolic int64 scalar."""
    from symtheano.tensor.shape import shape_i

    n = tb.constant(np.int64(1))
    for a in axes:
        n = n * shape_i(x, a)
    return n


def mean(x, axis=None, keepdims=False, dtype=None, acc_dtype=None):
    """Arithmetic mean over `axis`; integer inputs give a float result."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    out_dtype = dtype or (x.dtype if x.dtype in FLOAT_DTYPES else "float64")  # as NumPy
    total = sum(tb.cast(x, out_dtype), axis=axes, keepdims=keepdims)
    return tb.cast(total / tb.cast(count_along(x, axes), out_dtype), out_dtype)


def var(x, axis=None, keepdims=False, ddof=0, corrected=False):
    """Variance over `axis` with `ddof` delta degrees of freedom (numpy.var)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    if corrected:
        ddof = 1
    xf = tb.cast(x, x.dtype if x.dtype in FLOAT_DTYPES else "float64")
    centred = xf - mean(xf, axis=axes, keepdims=True)
    n = tb.cast(count_along(x, axes), xf.dtype)
    return sum(tb.sqr(centred), axis=axes, keepdims=keepdims) / (n - ddof)


def std(x, axis=None, keepdims=False, ddof=0, corrected=False):
    """Standard deviation over `axis` (numpy.std)."""
    from symtheano.tensor.math import sqrt

    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof, corrected=corrected))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed without overflow."""
    from symtheano.gradient import zero_grad
    from symtheano.tensor.math import exp, log

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    m = max(x, axis=axes, keepdims=True)
    # Shift by the maximum (any shift is exact in real arithmetic, so its gradient
    # is cut); an infinite maximum is replaced by 0 so inf - inf never appears.
    shift = zero_grad(tb.switch(tb.isinf(m), 0, m))
    out = log(sum(exp(x - shift), axis=axes, keepdims=True)) + shift
    return out if keepdims else out.dimshuffle([d for d in range(x.ndim) if d not in axes])

__all__ = [
    "sum", "prod", "max", "min", "all", "any", "argmax", "argmin", "max_and_argmax", "mean",
    "var", "std", "logsumexp",
]
