"""Shared variables: symbolic variables with a value that persists between calls.

A compiled function reads a shared variable's current value as an implicit
input and may replace it through `updates`.

Under mode="CUDA" the value also lives on the device (codegen/cuda/program.py):
`device_value(device)` copies it there once, and an update computed on the
device is stored there (`set_device_value`) with no host copy; the host value
is then copied back only when something on the host reads it (`get_value`, a
function of another mode). `set_value` replaces both (copying the new value to
the device at once when the variable lives there).
"""

from __future__ import annotations

import copy

import numpy as np

from symtheano.graph.basic import Variable
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import _TensorMethods


class SharedVariable(_TensorMethods, Variable):
    """A tensor variable holding a value; `get_value` / `set_value` read and write it."""

    _device_copy = None  # a DeviceArray holding the value, or None
    _host_stale = False  # True when the device copy is newer than the host value

    @property
    def _value(self):
        """The host value (copied from the device first when the device's is newer)."""
        if self._host_stale:
            self._host = self._device_copy.get()
            self._host_stale = False
        return self._host

    @_value.setter
    def _value(self, value):
        self._host = value
        self._device_copy = None
        self._host_stale = False

    def device_value(self, device):
        """The value on `device` (a DeviceArray, codegen/cuda/device.py), copied there
        unless the device already holds the current value."""
        array = self._device_copy
        if array is None or array.device is not device:
            array = device.upload(self._value)
            self._device_copy = array
        return array

    def set_device_value(self, array):
        """Make DeviceArray `array` the value, taken as it is; the host value is
        copied from it when the host reads it."""
        self._device_copy = array
        self._host_stale = True

    def __init__(self, type, value, name=None, strict=False, allow_downcast=None):
        super().__init__(type, name=name)
        self._value = type.filter(value, strict=strict, allow_downcast=allow_downcast)
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        """The current value; a copy unless `borrow=True`. With
        `return_internal_type=True` and `borrow=True`, the device array itself when
        the value lives on a device (mode="CUDA"), as Theano's GPU variables do."""
        if borrow and return_internal_type and self._device_copy is not None:
            return self._device_copy
        return self._value if borrow else self._value.copy()

    def set_value(self, value, borrow=False):
        """Replace the value (copied unless `borrow=True`); dtype and ndim must fit.
        A device array (mode="CUDA", return_device=True) stays on its device."""
        if hasattr(value, "gpudata") and hasattr(value, "device"):
            self._set_device_array(value, borrow)
            return
        on_device = self._device_copy
        try:
            new = self.type.filter(value, strict=False, allow_downcast=None)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"set_value of shared variable {self}: {exc}") from None
        if new is value and not borrow:
            new = new.copy()
        self._value = new
        if on_device is not None:  # the value lives on a device: copy it there now
            self._device_copy = on_device.device.upload(new)

    def _set_device_array(self, array, borrow):
        t = self.type
        if (str(array.dtype) != t.dtype or array.ndim != t.ndim
                or any(s is not None and s != n for s, n in zip(t.shape, array.shape))):
            raise TypeError(f"set_value of shared variable {self}: a device array of dtype "
                            f"{array.dtype} and shape {array.shape} does not fit {t}")
        self.set_device_value(array if borrow else array.device.copy(array))

    def clone(self):
        cp = type(self)(self.type, self._value, name=self.name)
        cp._value = self._value  # a clone shares storage with the original
        return cp

    def __str__(self):
        return self.name if self.name is not None else f"<shared {self.auto_name}>"

    def __repr__(self):
        label = self.name if self.name is not None else self.auto_name
        return f"<{label}: shared {self.type}>"

    def __getstate__(self):
        state = dict(self.__dict__)  # a pickle holds the host value, never device memory
        state["_host"] = self._value
        state.pop("_device_copy", None)
        state.pop("_host_stale", None)
        return state

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
