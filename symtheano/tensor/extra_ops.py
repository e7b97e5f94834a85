"""Theano's extra_ops: cumulative sums and products (CumOp), differences (diff),
sorted insertion points (searchsorted) and the unique elements of an array.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.join import _check_axis
from symtheano.tensor.shape import flatten
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable


def _accumulate_dtype(dtype):
    """NumPy's dtype for cumsum/cumprod: small integers widen to 64 bits."""
    if dtype in FLOAT_DTYPES:
        return dtype
    return "uint64" if dtype.startswith("uint") else "int64"


def _reverse(x, axis):
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, None, -1)
    return x[tuple(index)]


class CumOp(Op):
    """The running sum (mode 'add') or product ('mul') along one axis (numpy.cumsum,
    numpy.cumprod)."""

    __props__ = ("axis", "mode")

    def __init__(self, axis, mode="add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode = int(axis), mode

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise ValueError(f"cum{'sum' if self.mode == 'add' else 'prod'}: {x} is 0-d")
        _check_axis(self.axis, x.ndim, "cumsum" if self.mode == "add" else "cumprod")
        out = TensorType(_accumulate_dtype(x.dtype), x.type.shape).make_variable()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, output_storage):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        output_storage[0][0] = fn(inputs[0], axis=self.axis, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        axis = self.axis % x.ndim
        if self.mode == "add":  # each x_i reaches every out_j with j >= i
            return [tb.cast(_reverse(cumsum(_reverse(g, axis), axis), axis), x.dtype)]
        # d out_j / d x_i = out_j / x_i for j >= i (Theano's rule: x must not hold zeros)
        back = _reverse(cumsum(_reverse(g * out, axis), axis), axis)
        return [tb.cast(back / x, x.dtype)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        (x,), (t,) = inputs, eval_points
        if t is None or x.dtype not in FLOAT_DTYPES:
            return [None]
        if self.mode == "add":
            return [self(t)]
        (out,) = node_outputs(self, inputs)
        return [out * cumsum(t / x, self.axis)]

    def pretty(self, input_strs):
        name = "cumsum" if self.mode == "add" else "cumprod"
        return f"{name}({input_strs[0]}, axis={self.axis})"


def _cum(x, axis, mode):
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = (x if x.ndim == 1 else flatten(x)), 0
    return CumOp(_check_axis(axis, x.ndim, "cumsum" if mode == "add" else "cumprod"), mode)(x)


def cumsum(x, axis=None):
    """The running sum along `axis` (of the flattened x when None), like numpy.cumsum."""
    return _cum(x, axis, "add")


def cumprod(x, axis=None):
    """The running product along `axis` (of the flattened x when None)."""
    return _cum(x, axis, "mul")


def diff(x, n=1, axis=-1):
    """The n-th difference along `axis`: x[1:] - x[:-1], n times (numpy.diff)."""
    x = as_tensor_variable(x)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    axis = _check_axis(axis, x.ndim, "diff")
    head, tail = [slice(None)] * x.ndim, [slice(None)] * x.ndim
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    for _ in range(int(n)):
        x = x[tuple(head)] - x[tuple(tail)]
    return x


class SearchSorted(Op):
    """Where the values v would be inserted into the sorted vector a to keep it sorted
    (numpy.searchsorted): int64 indices of v's shape."""

    __props__ = ("side",)

    def __init__(self, side="left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, a, v, sorter=None):
        a, v = as_tensor_variable(a), as_tensor_variable(v)
        if a.ndim != 1:
            raise ValueError(f"searchsorted: the sorted array {a} must be a vector, got "
                             f"{a.ndim} dimensions")
        inputs = [a, v]
        if sorter is not None:
            sorter = as_tensor_variable(sorter)
            if sorter.ndim != 1 or not sorter.dtype.startswith(("int", "uint")):
                raise TypeError(f"searchsorted: sorter {sorter} must be an integer vector")
            inputs.append(sorter)
        return Apply(self, inputs, [TensorType("int64", v.type.shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        a, v = inputs[:2]
        sorter = inputs[2] if len(inputs) > 2 else None
        if sorter is not None and (sorter.shape != a.shape or np.any(sorter < 0)
                                   or np.any(sorter >= max(len(a), 1))):
            raise ValueError(f"searchsorted: sorter {node.inputs[2]} must be a permutation of "
                             f"the {len(a)} indices of {node.inputs[0]}")
        out = np.searchsorted(a, v, side=self.side, sorter=sorter)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [input_shapes[1]]

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)  # piecewise constant

    def R_op(self, inputs, eval_points):
        return [None]

    def pretty(self, input_strs):
        return f"searchsorted({', '.join(input_strs)}, side={self.side!r})"


def searchsorted(a, v, side="left", sorter=None):
    """Indices at which the values v would be inserted into the sorted vector a."""
    return SearchSorted(side)(a, v, sorter)


class Unique(Op):
    """The sorted unique elements of x, flattened (numpy.unique), and optionally the
    index of each one's first occurrence, the inverse (x's shape, as in NumPy 2:
    unique[inverse] == x) and the counts."""

    __props__ = ("return_index", "return_inverse", "return_counts")

    def __init__(self, return_index=False, return_inverse=False, return_counts=False):
        self.return_index = bool(return_index)
        self.return_inverse = bool(return_inverse)
        self.return_counts = bool(return_counts)

    def make_node(self, x):
        x = as_tensor_variable(x)
        n = None if None in x.type.shape else (0 if 0 in x.type.shape else None)
        outs = [TensorType(x.dtype, (n,)).make_variable()]
        if self.return_index:
            outs.append(TensorType("int64", (n,)).make_variable())
        if self.return_inverse:
            outs.append(TensorType("int64", x.type.shape).make_variable())
        if self.return_counts:
            outs.append(TensorType("int64", (n,)).make_variable())
        return Apply(self, [x], outs)

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        result = np.unique(x, return_index=self.return_index,
                           return_inverse=self.return_inverse,
                           return_counts=self.return_counts)
        result = list(result) if isinstance(result, tuple) else [result]
        if self.return_inverse:  # NumPy < 2 returns the inverse flattened
            k = 1 + self.return_index
            result[k] = np.reshape(result[k], x.shape)
        output_storage[0][0] = np.asarray(result[0], dtype=x.dtype)
        for cell, value in zip(output_storage[1:], result[1:], strict=True):
            cell[0] = np.asarray(value, dtype="int64")

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.shape import shape_i

        n = shape_i(node.outputs[0], 0)
        shapes = [(n,)]
        if self.return_index:
            shapes.append((n,))
        if self.return_inverse:
            shapes.append(tuple(input_shapes[0]))
        if self.return_counts:
            shapes.append((n,))
        return shapes

    def grad(self, inputs, output_grads):
        return [None]  # Theano's Unique has no gradient: the result's length jumps

    def R_op(self, inputs, eval_points):
        return [None] * (1 + self.return_index + self.return_inverse + self.return_counts)

    def pretty(self, input_strs):
        return f"unique({input_strs[0]})"


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None):
    """The sorted unique elements of `ar` (flattened), like numpy.unique; returns a
    list when any of the return_* flags is set."""
    if axis is not None:
        raise NotImplementedError("unique: `axis` is not supported (the array is flattened)")
    op = Unique(return_index, return_inverse, return_counts)
    return op(ar)


__all__ = ["CumOp", "SearchSorted", "Unique", "cumsum", "cumprod", "diff", "searchsorted",
           "unique"]
