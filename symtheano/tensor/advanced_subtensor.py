"""Advanced indexing: integer-array and boolean-mask indexes (`x[[0, 2]]`,
`x[x > 0]`, `x[i, :, j]`), their functional updates, and `take`.

The index representation, shape rules and the user functions `getitem`,
`set_subtensor` and `inc_subtensor` live in subtensor.py; the ops here differ
from the basic ones in that the result is a copy, and an increment with
repeated indices accumulates (np.add.at).
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.tensor import basic as tb
from symtheano.tensor.reduce import normalize_axis
from symtheano.tensor.reduce import sum as sum_
from symtheano.tensor.shape import flatten, shape_i
from symtheano.tensor.subtensor import _GetItemOp, _label, _SetItemOp, getitem
from symtheano.tensor.type import INT_DTYPES
from symtheano.tensor.var import as_tensor_variable, constant


class AdvancedRules:
    """What integer arrays and masks add to the shape rules of subtensor.py: the
    shape each index contributes, how they broadcast together, static checks.
    (NumPy treats integers next to arrays as 0-d arrays.)"""

    @staticmethod
    def static_index_shape(kind, v):
        if kind == "array":
            return v.type.shape
        if kind == "mask":  # a mask stands for the indices of its True entries
            return (int(np.count_nonzero(v.data)) if isinstance(v, Constant) else None,)
        return ()

    @staticmethod
    def symbolic_index_shape(kind, v, shapes):
        if kind == "array":
            return tuple(shapes[id(v)])
        if kind == "mask":
            return (tb.cast(sum_(v), "int64"),)
        return ()

    @staticmethod
    def static_broadcast(shapes, x):
        ndim = max((len(s) for s in shapes), default=0)
        padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
        out = []
        for sizes in zip(*padded, strict=True):
            known = {s for s in sizes if s is not None and s != 1}
            if len(known) > 1:
                raise IndexError(f"indexing {_label(x)}: the index arrays cannot be broadcast "
                                 f"together (static shapes {', '.join(map(str, shapes))})")
            out.append(known.pop() if known else 1 if all(s == 1 for s in sizes) else None)
        return tuple(out)

    @staticmethod
    def symbolic_broadcast(shapes):
        ndim = max((len(s) for s in shapes), default=0)
        one = constant(np.int64(1))
        padded = [(one,) * (ndim - len(s)) + tuple(s) for s in shapes]
        out = []
        for sizes in zip(*padded, strict=True):
            size = sizes[0]
            for s in sizes[1:]:  # the size that is not 1, if any
                size = tb.switch(tb.eq(size, 1), s, size)
            out.append(size)
        return tuple(out)

    @staticmethod
    def check_static(x, kind, dim, value):
        """Raise IndexError for a constant array or a mask that cannot fit x."""
        if kind == "array" and isinstance(value, Constant) and value.data.size:
            n = x.type.shape[dim]
            bad = value.data[(value.data < -n) | (value.data >= n)] if n is not None else []
            if len(bad):
                raise IndexError(f"index {bad.flat[0]} is out of bounds for dimension {dim} "
                                 f"of {_label(x)}, whose size is {n} (static shape "
                                 f"{x.type.describe_shape()})")
        elif kind == "mask":
            for j, m in enumerate(value.type.shape):
                n = x.type.shape[dim + j]
                if m is not None and n is not None and m != n:
                    raise IndexError(
                        f"boolean mask {_label(value)} of static shape "
                        f"{value.type.describe_shape()} does not match {_label(x)} of static "
                        f"shape {x.type.describe_shape()} in dimension {dim + j}")


class AdvancedSubtensor(_GetItemOp):
    """x[idx] for an index with integer arrays or boolean masks (a new array)."""

    rules = AdvancedRules()

    def set_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor(self.idx_list, set_instead_of_inc)


class AdvancedIncSubtensor(_SetItemOp):
    """A copy of x with x[idx] (an advanced index) set to, or incremented by, y.
    Incrementing accumulates at repeated indices, like np.add.at."""

    rules = AdvancedRules()

    def get_op(self):
        return AdvancedSubtensor(self.idx_list)

    def write(self, out, index, y):
        if self.set_instead_of_inc:
            out[index] = y
        else:
            np.add.at(out, index, y)


def take(a, indices, axis=None, mode="raise"):
    """Elements of `a` at `indices` along `axis` (the flattened array when None),
    like numpy.take; mode 'raise' (negative indices count from the end),
    'wrap' or 'clip'."""
    a = as_tensor_variable(a)
    if isinstance(indices, list | tuple) and not indices:
        indices = np.zeros(0, dtype="int64")
    indices = as_tensor_variable(indices)
    if indices.dtype not in INT_DTYPES:
        raise TypeError(f"take: the indices {indices} must be integers, got dtype "
                        f"{indices.dtype}")
    if axis is None:
        a, axis = flatten(a), 0
    else:
        (axis,) = normalize_axis(axis, a.ndim, "take's axis")
    if mode == "wrap":
        indices = tb.mod(indices, shape_i(a, axis))
    elif mode == "clip":
        indices = tb.clip(indices, 0, shape_i(a, axis) - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(a, (slice(None),) * axis + (indices,))


__all__ = ["AdvancedSubtensor", "AdvancedIncSubtensor", "take"]
