"""TensorVariable and TensorConstant: symbolic arrays with NumPy-like operators.

The operator methods only forward to the functions that build the graph; the
ops themselves live in their own modules.
"""

from __future__ import annotations

import numbers

import numpy as np

from symtheano.configuration import config
from symtheano.graph.basic import Constant, Variable
from symtheano.tensor.type import TensorType


def _t():
    # The T.* namespace, imported on first use: operators are called while
    # building graphs, long after every module has been imported.
    import symtheano.tensor as T

    return T


class _TensorMethods:
    """Operators and array-like methods shared by variables and constants."""

    __array_priority__ = 1000  # numpy arrays defer to our reflected operators

    # -- metadata -------------------------------------------------------------------
    dtype = property(lambda self: self.type.dtype)
    ndim = property(lambda self: self.type.ndim)
    broadcastable = property(lambda self: self.type.broadcastable)
    static_shape = property(lambda self: self.type.shape)

    @property
    def shape(self):
        return _t().shape(self)

    @property
    def size(self):
        return _t().prod(self.shape)

    @property
    def T(self):
        return _t().transpose(self)

    # -- arithmetic -----------------------------------------------------------------
    def __add__(self, other):
        return _t().add(self, other)

    def __radd__(self, other):
        return _t().add(other, self)

    def __sub__(self, other):
        return _t().sub(self, other)

    def __rsub__(self, other):
        return _t().sub(other, self)

    def __mul__(self, other):
        return _t().mul(self, other)

    def __rmul__(self, other):
        return _t().mul(other, self)

    def __truediv__(self, other):
        return _t().true_div(self, other)

    def __rtruediv__(self, other):
        return _t().true_div(other, self)

    def __floordiv__(self, other):
        return _t().int_div(self, other)

    def __rfloordiv__(self, other):
        return _t().int_div(other, self)

    def __mod__(self, other):
        return _t().mod(self, other)

    def __rmod__(self, other):
        return _t().mod(other, self)

    def __pow__(self, other):
        return _t().pow(self, other)

    def __rpow__(self, other):
        return _t().pow(other, self)

    def __neg__(self):
        return _t().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _t().abs(self)

    def __matmul__(self, other):
        return _t().matmul(self, other)

    def __rmatmul__(self, other):
        return _t().matmul(other, self)

    # -- comparisons (elementwise; == and != stay identity, as in Theano: use T.eq) --
    def __lt__(self, other):
        return _t().lt(self, other)

    def __le__(self, other):
        return _t().le(self, other)

    def __gt__(self, other):
        return _t().gt(self, other)

    def __ge__(self, other):
        return _t().ge(self, other)

    __hash__ = Variable.__hash__

    # -- logic and bits -------------------------------------------------------------
    def __and__(self, other):
        return _t().and_(self, other)

    def __rand__(self, other):
        return _t().and_(other, self)

    def __or__(self, other):
        return _t().or_(self, other)

    def __ror__(self, other):
        return _t().or_(other, self)

    def __xor__(self, other):
        return _t().xor(self, other)

    def __rxor__(self, other):
        return _t().xor(other, self)

    def __invert__(self):
        return _t().invert(self)

    def __bool__(self):
        raise TypeError(
            f"the truth value of symbolic variable {self} is unknown until the graph runs; "
            "use T.switch / T.eq / T.and_ to build conditions, or compile and call a function"
        )

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d symbolic variable")
        n = self.type.shape[0]
        if n is None:
            raise TypeError(f"cannot iterate over {self}: its first dimension has no static "
                            "size (give the variable a static shape, or index it)")
        return (self[i] for i in range(n))

    def __len__(self):
        raise TypeError("len() of a symbolic variable is unknown; use x.shape[0]")

    # -- indexing -------------------------------------------------------------------
    def __getitem__(self, index):
        return _t().getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError("symbolic variables are immutable; use T.set_subtensor(x[idx], value)"
                        " or T.inc_subtensor(x[idx], value)")

    # -- methods --------------------------------------------------------------------
    def astype(self, dtype):
        return _t().cast(self, dtype)

    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], list | tuple):
            pattern = tuple(pattern[0])
        return _t().dimshuffle(self, pattern)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], list | tuple):
            axes = tuple(axes[0])
        return _t().transpose(self, axes or None)

    def reshape(self, shape, *rest, ndim=None):
        if rest:
            shape = (shape, *rest)
        return _t().reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return _t().flatten(self, ndim)

    def squeeze(self, axis=None):
        return _t().squeeze(self, axis)

    def dot(self, other):
        return _t().dot(self, other)

    def sum(self, axis=None, keepdims=False, dtype=None):
        return _t().sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False, dtype=None):
        return _t().prod(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False, dtype=None):
        return _t().mean(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def var(self, axis=None, keepdims=False, ddof=0):
        return _t().var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return _t().std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def max(self, axis=None, keepdims=False):
        return _t().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _t().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _t().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _t().argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _t().all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return _t().any(self, axis=axis, keepdims=keepdims)

    def clip(self, a_min, a_max):
        return _t().clip(self, a_min, a_max)

    def round(self, mode="half_to_even"):
        return _t().round(self, mode)

    def nonzero(self):
        raise NotImplementedError("nonzero has a data-dependent output shape; symtheano "
                                  "does not support it yet (use a boolean mask index)")

    def copy(self, name=None):
        out = _t().tensor_copy(self)
        out.name = name
        return out

    def eval(self, inputs_to_values=None, mode=None):
        """Compile (once per set of inputs) and compute this variable's value."""
        from symtheano.compile.function import function

        inputs_to_values = dict(inputs_to_values or {})
        inputs = list(inputs_to_values)
        key = (tuple(map(id, inputs)), mode)
        cache = self.tag.setdefault("_eval_cache", {})
        if key not in cache:
            cache[key] = function(inputs, self, mode=mode, on_unused_input="ignore")
        return cache[key](*[inputs_to_values[v] for v in inputs])


class TensorVariable(_TensorMethods, Variable):
    """A symbolic n-dimensional array."""

    def __str__(self):
        return Variable.__str__(self)

    def __repr__(self):
        label = self.name if self.name is not None else self.auto_name
        return f"<{label}: {self.type}>"


class TensorConstant(_TensorMethods, Constant):
    """A constant n-dimensional array embedded in the graph."""

    def __repr__(self):
        return f"TensorConstant({self.type.format_value(self.data)}, {self.type})"

    def __str__(self):
        return Constant.__str__(self)


TensorType.variable_class = TensorVariable


def _python_number_dtype(value):
    """The dtype given to a Python number: floats become floatX, ints the
    smallest signed type that holds them (so `x * 2` keeps x's dtype)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral):
        for dt in ("int8", "int16", "int32", "int64"):
            info = np.iinfo(dt)
            if info.min <= value <= info.max:
                return dt
        return "uint64" if 0 <= value <= np.iinfo("uint64").max else "float64"
    if isinstance(value, numbers.Real):
        if config.floatX == "float32" and np.isfinite(value) and abs(value) > 3.4028235e38:
            return "float64"  # a finite float too large for float32 keeps float64
        return config.floatX
    raise TypeError(f"unsupported Python number {value!r}")


def constant(value, name=None, dtype=None, ndim=None):
    """A TensorConstant holding `value` (its static shape is the value's shape)."""
    if dtype is None:
        if isinstance(value, numbers.Number) and not isinstance(value, np.generic):
            dtype = _python_number_dtype(value)
        else:
            arr = np.asarray(value)
            if arr.dtype.kind == "f" and arr.dtype.name not in ("float32", "float64"):
                arr = arr.astype("float64")
            dtype = arr.dtype.name
            value = arr
    arr = np.asarray(value, dtype=dtype)
    if ndim is not None:
        if arr.ndim > ndim:
            raise ValueError(f"constant {value!r} has more than {ndim} dimensions")
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    return TensorConstant(TensorType(arr.dtype, shape=arr.shape), arr, name=name)


def as_tensor_variable(x, name=None, ndim=None, dtype=None):
    """`x` as a TensorVariable: variables pass through, data becomes a constant."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor variable, got {x} of type {x.type}")
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"expected a {ndim}-d variable, got {x} with {x.ndim} dimensions")
        if dtype is not None and x.dtype != dtype:
            return _t().cast(x, dtype)
        return x
    if isinstance(x, list | tuple) and any(isinstance(e, Variable) for e in _flat(x)):
        return _t().stack([as_tensor_variable(e) for e in x]) if x else constant(np.zeros(0))
    try:
        return constant(x, name=name, ndim=ndim, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot convert {x!r} ({type(x).__name__}) to a tensor: {exc}") from None


def _flat(items):
    for e in items:
        if isinstance(e, list | tuple):
            yield from _flat(e)
        else:
            yield e
