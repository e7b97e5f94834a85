"""Sorting: sort and argsort along an axis, the top k elements (topk, argtopk,
topk_and_argtopk), and take_along_axis, the gather they are built from.

The gradient of a sort sends each output gradient back to the element that
landed there (a scatter through the permutation argsort gives); topk is an
argsort followed by a gather, so its gradient is the gather's.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor.constructors import arange
from symtheano.tensor.elemwise import dimshuffle
from symtheano.tensor.join import _check_axis
from symtheano.tensor.shape import flatten, shape_i
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable

SORT_KINDS = ("quicksort", "mergesort", "heapsort", "stable")


def take_along_axis(x, indices, axis):
    """The elements of x at `indices` along `axis` (numpy.take_along_axis): indices has
    x's ndim and, on every other axis, x's size."""
    x, indices = as_tensor_variable(x), as_tensor_variable(indices)
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: the indices {indices} must have {x.ndim} "
                         f"dimensions like {x}, got {indices.ndim}")
    axis = _check_axis(axis, x.ndim, "take_along_axis")
    index = []
    for d in range(x.ndim):
        if d == axis:
            index.append(indices)
        else:  # 0, 1, ... along dimension d, broadcast over the others
            pattern = ["x"] * x.ndim
            pattern[d] = 0
            index.append(dimshuffle(arange(shape_i(indices, d)), pattern))
    return x[tuple(index)]


def _sorted_shape_check(op, x):
    if x.ndim == 0:
        raise ValueError(f"{op}: {x} is 0-d; there is nothing to sort")
    return _check_axis(op.axis, x.ndim, type(op).__name__.lower())


class _SortBase(Op):
    __props__ = ("axis", "kind")

    def __init__(self, axis=-1, kind="quicksort"):
        if kind not in SORT_KINDS:
            raise ValueError(f"sort: kind must be one of {SORT_KINDS}, got {kind!r}")
        self.axis, self.kind = int(axis), kind

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


class Sort(_SortBase):
    """x sorted along one axis (numpy.sort)."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        axis = _sorted_shape_check(self, x)
        return Apply(Sort(axis, self.kind), [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind=self.kind)

    def L_op(self, inputs, outputs, output_grads):
        # out = x[perm]: x's gradient is g scattered back through perm
        from symtheano.tensor.shape import zeros_like
        from symtheano.tensor.subtensor import inc_subtensor

        (x,), (g,) = inputs, output_grads
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        perm = argsort(x, self.axis, "stable")
        return [inc_subtensor(take_along_axis(zeros_like(x), perm, self.axis), g)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        perm = argsort(inputs[0], self.axis, "stable")
        return [take_along_axis(eval_points[0], perm, self.axis)]

    def pretty(self, input_strs):
        return f"sort({input_strs[0]}, axis={self.axis})"


class ArgSort(_SortBase):
    """The indices that sort x along one axis (numpy.argsort), as int64."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        axis = _sorted_shape_check(self, x)
        out = TensorType("int64", x.type.shape).make_variable()
        return Apply(ArgSort(axis, self.kind), [x], [out])

    def perform(self, node, inputs, output_storage):
        out = np.argsort(inputs[0], axis=self.axis, kind=self.kind)
        output_storage[0][0] = out.astype("int64", copy=False)

    def grad(self, inputs, output_grads):
        return [None]  # piecewise constant

    def R_op(self, inputs, eval_points):
        return [None]  # an integer output has no tangent

    def pretty(self, input_strs):
        return f"argsort({input_strs[0]}, axis={self.axis})"


def _flat_or(x, axis):
    x = as_tensor_variable(x)
    if axis is None:
        return (x if x.ndim == 1 else flatten(x)), 0
    return x, axis


def sort(a, axis=-1, kind="quicksort", order=None):
    """a sorted along `axis` (the flattened a when axis is None), like numpy.sort."""
    if order is not None:
        raise NotImplementedError("sort: `order` (structured arrays) is not supported")
    a, axis = _flat_or(a, axis)
    return Sort(axis, kind)(a)


def argsort(a, axis=-1, kind="quicksort", order=None):
    """The int64 indices that sort a along `axis` (of the flattened a when None)."""
    if order is not None:
        raise NotImplementedError("argsort: `order` (structured arrays) is not supported")
    a, axis = _flat_or(a, axis)
    return ArgSort(axis, kind)(a)


def _top_slice(x, kth, axis):
    """(x, axis, index): the slice of a sorted x along `axis` that topk keeps."""
    if isinstance(kth, bool) or not isinstance(kth, int | np.integer) or kth == 0:
        raise ValueError(f"topk: kth must be a non-zero int known when the graph is built, "
                         f"got {kth!r}")
    x = as_tensor_variable(x)
    axis = _check_axis(axis, x.ndim, "topk")
    n = x.type.shape[axis]
    if n is not None and abs(kth) > n:
        raise ValueError(f"topk: kth={kth}, but {x} has only {n} elements along axis {axis}")
    head = [slice(None)] * x.ndim
    head[axis] = slice(None, -kth - 1, -1) if kth > 0 else slice(None, -kth)
    return x, axis, tuple(head)


def topk_and_argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """(values, indices) of the kth largest elements along `axis` (largest first), or
    with a negative kth the |kth| smallest (smallest first). Theano's topk."""
    from symtheano.tensor.basic import cast

    x, axis, head = _top_slice(x, kth, axis)
    idx = argsort(x, axis, "stable")[head]
    # Values come from a sort (not a gather), so that they batch and differentiate simply.
    values = sort(x, axis, "stable")[head]
    return values, (idx if idx_dtype == "int64" else cast(idx, idx_dtype))


def topk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """The kth largest elements along `axis` (|kth| smallest for a negative kth)."""
    return topk_and_argtopk(x, kth, axis, sorted, idx_dtype)[0]


def argtopk(x, kth, axis=-1, sorted=True, idx_dtype="int64"):
    """The indices of the kth largest elements along `axis` (|kth| smallest if negative)."""
    return topk_and_argtopk(x, kth, axis, sorted, idx_dtype)[1]


__all__ = ["Sort", "ArgSort", "sort", "argsort", "topk", "argtopk", "topk_and_argtopk",
           "take_along_axis"]
