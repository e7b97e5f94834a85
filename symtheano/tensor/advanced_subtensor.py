"""Advanced indexing: integer-array and boolean-mask indexes (`x[[0, 2]]`,
`x[x > 0]`, `x[i, :, j]`), their functional updates, and `take`.

The index representation, shape rules and the user functions `getitem`,
`set_subtensor` and `inc_subtensor` live in subtensor.py; the ops here differ
from the basic ones in that the result is a copy, and an increment with
repeated indices accumulates (np.add.at).
"""

from __future__ import annotations

import numpy as np

from symtheano.tensor import basic as tb
from symtheano.tensor.reduce import normalize_axis
from symtheano.tensor.shape import flatten, shape_i
from symtheano.tensor.subtensor import GetItemOp, SetItemOp, getitem
from symtheano.tensor.type import INT_DTYPES
from symtheano.tensor.var import as_tensor_variable


class AdvancedSubtensor(GetItemOp):
    """x[idx] for an index with integer arrays or boolean masks (a new array)."""

    def set_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor(self.idx_list, set_instead_of_inc)


class AdvancedIncSubtensor(SetItemOp):
    """A copy of x with x[idx] (an advanced index) set to, or incremented by, y.
    Incrementing accumulates at repeated indices, like np.add.at."""

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
