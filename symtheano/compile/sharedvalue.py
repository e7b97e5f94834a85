"""Shared variables: symbolic variables with a value that persists between calls.

A compiled function reads a shared variable's current value as an implicit
input and may replace it through `updates`.
"""

from __future__ import annotations

import copy

import numpy as np

from symtheano.graph.basic import Variable
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import _TensorMethods


class SharedVariable(_TensorMethods, Variable):
    """A tensor variable holding a value; `get_value` / `set_value` read and write it."""

    def __init__(self, type, value, name=None, strict=False, allow_downcast=None):
        super().__init__(type, name=name)
        self._value = type.filter(value, strict=strict, allow_downcast=allow_downcast)
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        """The current value; a copy unless `borrow=True`."""
        return self._value if borrow else self._value.copy()

    def set_value(self, value, borrow=False):
        """Replace the value (copied unless `borrow=True`); dtype and ndim must fit."""
        try:
            new = self.type.filter(value, strict=False, allow_downcast=None)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"set_value of shared variable {self}: {exc}") from None
        if new is value and not borrow:
            new = new.copy()
        self._value = new

    def clone(self):
        cp = type(self)(self.type, self._value, name=self.name)
        cp._value = self._value  # a clone shares storage with the original
        return cp

    def __str__(self):
        return self.name if self.name is not None else f"<shared {self.auto_name}>"

    def __repr__(self):
        label = self.name if self.name is not None else self.auto_name
        return f"<{label}: shared {self.type}>"

    def __deepcopy__(self, memo):
        return type(self)(self.type, copy.deepcopy(self._value, memo), name=self.name)


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, shape=None,
           broadcastable=None):
    """A shared variable initialised with `value` (copied unless `borrow=True`).

    Its static shape is unknown in every dimension unless `shape` (or Theano's
    `broadcastable`) says otherwise, so `set_value` may change the array's size.
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() takes a value (an array or a number), not the symbolic "
                        f"variable {value}; use T.as_tensor_variable or a function input")
    arr = np.asarray(value)
    if not borrow or arr is not value:
        arr = np.array(arr, copy=True)
    if arr.dtype.kind == "f" and arr.dtype.name not in ("float32", "float64"):
        arr = arr.astype("float64")
    if shape is None:
        shape = tuple(1 if b else None for b in broadcastable) if broadcastable else (
            (None,) * arr.ndim)
    ttype = TensorType(arr.dtype, shape)
    return SharedVariable(ttype, arr, name=name, strict=strict, allow_downcast=allow_downcast)
