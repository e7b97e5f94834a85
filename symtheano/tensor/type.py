"""TensorType: a dtype and a static shape, and the named constructors built on it.

A static shape entry is an int (known size) or None (unknown). A dimension
is *broadcastable* exactly when its static size is 1; `broadcastable` is
derived from `shape` and accepted for Theano compatibility.
"""

from __future__ import annotations

import hashlib

import numpy as np

from symtheano.configuration import config
from symtheano.graph.basic import Type

DTYPES = (
    "bool", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "float32", "float64",
)
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float32", "float64")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES


def normalize_dtype(dtype):
    """A dtype name from DTYPES ('floatX' means config.floatX); TypeError otherwise."""
    if dtype == "floatX":
        return config.floatX
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise TypeError(f"unsupported dtype {dtype!r}; expected one of {DTYPES}") from None
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; expected one of {DTYPES}")
    return name


def upcast(*dtypes):
    """NumPy's promotion of array dtypes."""
    return np.result_type(*[np.dtype(d) for d in dtypes]).name


def upgrade_to_float(*dtypes):
    """The float dtype a transcendental op computes in (Theano's rule: small ints
    become float32, larger ones float64; floats keep their precision)."""
    dt = upcast(*dtypes)
    if dt in FLOAT_DTYPES:
        return dt
    if dt in ("bool", "int8", "uint8", "int16", "uint16"):
        return "float32"
    return "float64"


def _format_shape(shape):
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner}{',' if len(shape) == 1 else ''})"


class TensorType(Type):
    """The type of an n-dimensional array: dtype and static shape."""

    def __init__(self, dtype, shape=None, broadcastable=None):
        self.dtype = normalize_dtype(dtype)
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType needs a shape (or a broadcastable pattern)")
            shape = tuple(1 if b else None for b in broadcastable)
        elif broadcastable is not None:
            derived = tuple(s == 1 for s in shape)
            if tuple(map(bool, broadcastable)) != derived:
                raise ValueError(f"broadcastable {broadcastable} contradicts shape {shape}")
        checked = []
        for s in shape:
            if s is not None:
                if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
                    raise TypeError(f"static shape entries must be None or ints >= 0, got {s!r}")
                s = int(s)
            checked.append(s)
        self.shape = tuple(checked)

    ndim = property(lambda self: len(self.shape))
    broadcastable = property(lambda self: tuple(s == 1 for s in self.shape))
    numpy_dtype = property(lambda self: np.dtype(self.dtype))

    def __eq__(self, other):
        return type(other) is type(self) and (self.dtype, self.shape) == (other.dtype, other.shape)

    def __hash__(self):
        return hash((TensorType, self.dtype, self.shape))

    def __str__(self):
        names = {0: "Scalar", 1: "Vector", 2: "Matrix"}
        kind = names.get(self.ndim, f"Tensor{self.ndim}")
        return f"{kind}({self.dtype}, shape={_format_shape(self.shape)})"

    __repr__ = __str__

    def clone(self, dtype=None, shape=None):
        return TensorType(dtype or self.dtype, self.shape if shape is None else shape)

    def describe_shape(self):
        return _format_shape(self.shape)

    # -- values ---------------------------------------------------------------------------

    def filter(self, value, strict=False, allow_downcast=None):
        """Return `value` as an ndarray of this type, or raise TypeError/ValueError.

        strict: only an ndarray of exactly this dtype is accepted.
        allow_downcast: True accepts lossy casts; None accepts only Python floats
        narrowed to float32 (Theano's rule); False accepts only safe casts.
        """
        if isinstance(value, np.ndarray) and value.dtype.name == self.dtype:
            arr = value
        elif strict:
            raise TypeError(f"expected an ndarray of dtype {self.dtype}, "
                            f"got {type(value).__name__}"
                            + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else ""))
        else:
            arr = self._convert(value, allow_downcast)
        if arr.ndim != self.ndim:
            raise TypeError(f"expected an array with {self.ndim} dimensions, "
                            f"got {arr.ndim} dimensions (shape {arr.shape})")
        for i, (want, got) in enumerate(zip(self.shape, arr.shape)):
            if want is not None and want != got:
                raise ValueError(f"expected shape {_format_shape(self.shape)}, got {arr.shape} "
                                 f"(dimension {i} must be {want})")
        return arr

    def _convert(self, value, allow_downcast):
        from_python = not isinstance(value, np.ndarray | np.generic)
        try:
            arr = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"cannot convert {type(value).__name__} to an array: {exc}") from None
        src = arr.dtype.name
        if src not in DTYPES:
            raise TypeError(f"expected dtype {self.dtype}, got unsupported dtype {src}")
        if allow_downcast or np.can_cast(arr.dtype, self.dtype, "safe"):
            return arr.astype(self.dtype)
        if from_python:
            # Python numbers carry no precision of their own: accept them when the
            # value survives the conversion (ints that fit, floats narrowed to floatX).
            converted = arr.astype(self.dtype)
            if src.startswith("float") and self.dtype.startswith("float"):
                if allow_downcast is None:
                    return converted
            elif np.array_equal(converted, arr):
                return converted
        raise TypeError(f"expected dtype {self.dtype}, got {src}: converting would lose "
                        f"information (pass allow_input_downcast=True to accept it)")

    def value_signature(self, data):
        """A hashable summary of `data` used to merge equal constants."""
        if data.size <= 16:
            return (data.shape, data.tobytes())
        return (data.shape, hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest())

    def format_value(self, data):
        if data.ndim == 0:
            v = data.item()
            return repr(v)
        if data.size <= 6:
            return np.array2string(data, separator=", ").replace("\n", "")
        return f"TensorConstant{{{self.dtype}, shape={data.shape}}}"

    def values_eq_approx(self, a, b, rtol=None, atol=None):
        if a.shape != b.shape:
            return False
        if self.dtype in FLOAT_DTYPES:
            rtol = rtol if rtol is not None else (1e-5 if self.dtype == "float64" else 1e-3)
            atol = atol if atol is not None else (1e-8 if self.dtype == "float64" else 1e-5)
            return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
        return bool(np.array_equal(a, b))


# -- named constructors ----------------------------------------------------------------------

def tensor(dtype="floatX", shape=None, name=None, broadcastable=None):
    """A symbolic input: `tensor("float64", shape=(None, 3), name="x")`.

    Theano's order `tensor(dtype, broadcastable, name)` is accepted too.
    """
    if isinstance(shape, str) and name is None:  # tensor(dtype, "name") mix-ups
        shape, name = None, shape
    if shape is None and broadcastable is None:
        raise TypeError("tensor() needs shape=... (a tuple of ints or None)")
    if shape is not None and all(isinstance(b, bool | np.bool_) for b in shape) and shape:
        shape, broadcastable = None, shape  # Theano-style broadcastable tuple
    return TensorType(dtype, shape=shape, broadcastable=broadcastable).make_variable(name)


_KINDS = {
    "scalar": (),
    "vector": (None,),
    "row": (1, None),
    "col": (None, 1),
    "matrix": (None, None),
    "tensor3": (None,) * 3,
    "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}
_PREFIXES = {
    "b": "int8", "w": "int16", "i": "int32", "l": "int64",
    "f": "float32", "d": "float64", "c": None, "z": None,
}


def _make_constructor(kind, shape, dtype):
    def constructor(name=None, dtype=dtype, shape=shape):
        return TensorType(dtype, shape=shape).make_variable(name)

    constructor.__name__ = kind
    constructor.__doc__ = (f"A symbolic {kind} input of dtype "
                           f"{dtype if dtype != 'floatX' else 'config.floatX'}.")
    return constructor


def _make_plural(single):
    def constructor(*names):
        if len(names) == 1 and isinstance(names[0], int):
            return [single() for _ in range(names[0])]
        return [single(n) for n in names]

    constructor.__name__ = _plural(single.__name__)
    constructor.__doc__ = f"Several {single.__name__}s, one per name."
    return constructor


def _plural(kind):
    return kind[:-1] + "ces" if kind.endswith("matrix") else kind + "s"


CONSTRUCTORS = {}
for _kind, _shape in _KINDS.items():
    CONSTRUCTORS[_kind] = _make_constructor(_kind, _shape, "floatX")
    CONSTRUCTORS[_plural(_kind)] = _make_plural(CONSTRUCTORS[_kind])
    for _prefix, _dtype in _PREFIXES.items():
        if _dtype is None:
            continue
        # As in Theano, a prefixed constructor *is* the type: `T.dscalar("x").type is
        # T.dscalar`, and calling the type makes a variable.
        single = TensorType(_dtype, _shape)
        single.__name__ = _prefix + _kind
        CONSTRUCTORS[_prefix + _kind] = single
        CONSTRUCTORS[_plural(_prefix + _kind)] = _make_plural(single)
globals().update(CONSTRUCTORS)

__all__ = ["TensorType", "tensor", *CONSTRUCTORS]
