"""Array constructors: arange, eye and identity_like (re-exported by tensor/join.py)."""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, Variable
from symtheano.tensor import basic as tb
from symtheano.tensor.shape import shape_i
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType, normalize_dtype
from symtheano.tensor.var import as_tensor_variable, constant


def _static_int(v):
    """The value of an integer scalar constant, else None."""
    if isinstance(v, Constant) and v.ndim == 0:
        return int(v.data)
    return None


def _numeric_scalar(v, what):
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.dtype == "bool":
        raise TypeError(f"{what} must be a numeric scalar, got {v} ({v.type})")
    return v


class ARange(Op):
    """The vector [start, start + step, ...) up to `stop` excluded (numpy.arange)."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, start, stop, step):
        start = _numeric_scalar(start, "arange: start")
        stop = _numeric_scalar(stop, "arange: stop")
        step = _numeric_scalar(step, "arange: step")
        length = None
        if all(isinstance(v, Constant) for v in (start, stop, step)):
            if step.data == 0:
                raise ValueError("arange: step is 0")
            length = len(np.arange(start.data, stop.data, step.data, dtype=self.dtype))
        out = TensorType(self.dtype, (length,)).make_variable()
        return Apply(self, [start, stop, step], [out])

    def perform(self, node, inputs, output_storage):
        start, stop, step = inputs
        if step == 0:
            raise ValueError(f"arange: step {node.inputs[2]} is 0")
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        start, stop, step = node.inputs
        if all(v.dtype in INT_DTYPES and v.dtype != "uint64" for v in node.inputs):
            start, stop, step = (tb.cast(v, "int64") for v in node.inputs)
            length = -tb.int_div(start - stop, step)  # ceil((stop - start) / step), exactly
        else:
            start, stop, step = (tb.cast(v, "float64") for v in node.inputs)
            length = tb.cast(tb.ceil((stop - start) / step), "int64")
        return [(tb.maximum(length, 0),)]

    def L_op(self, inputs, outputs, output_grads):
        from symtheano.tensor.reduce import sum as sum_

        start, _, step = inputs
        if self.dtype not in FLOAT_DTYPES:
            return [None, None, None]
        # out[i] = start + i * step; stop only decides the length.
        (gz,) = output_grads
        index = ARange(self.dtype)(constant(np.int64(0)), shape_i(outputs[0], 0),
                                   constant(np.int64(1)))
        return [sum_(gz) if start.dtype in FLOAT_DTYPES else None, None,
                sum_(gz * index) if step.dtype in FLOAT_DTYPES else None]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs, sum_tangents

        t_start, _, t_step = eval_points  # stop only decides the length
        if self.dtype not in FLOAT_DTYPES or (t_start is None and t_step is None):
            return [None]
        (out,) = node_outputs(self, inputs)
        # out[i] = start + i * step
        index = ARange(self.dtype)(constant(np.int64(0)), shape_i(out, 0),
                                   constant(np.int64(1)))
        return [sum_tangents([None if t_start is None else tb.second(out, t_start),
                              None if t_step is None else index * t_step])]

    def pretty(self, input_strs):
        return f"arange({', '.join(input_strs)})"


def _arange_arg(v):
    if isinstance(v, Variable):
        return v
    if isinstance(v, bool) or (isinstance(v, np.ndarray | np.generic) and v.dtype == bool):
        raise TypeError(f"arange: arguments must be numbers, got {v!r}")
    if isinstance(v, int):
        return constant(np.int64(v))
    if isinstance(v, float):
        return constant(np.float64(v))
    return as_tensor_variable(v)


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop), like numpy.arange; the arguments may be
    symbolic scalars. The default dtype is NumPy's: int64 for integers, float64 when
    an argument is a float (pass dtype= to choose)."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (_arange_arg(v) for v in (start, stop, step))
    for what, v in (("start", start), ("stop", stop), ("step", step)):
        _numeric_scalar(v, f"arange: {what}")
    if dtype is None:
        dtype = np.arange(*[np.array(v, dtype=a.dtype) for v, a in
                            zip((0, 1, 1), (start, stop, step), strict=True)]).dtype.name
    return ARange(normalize_dtype(dtype))(start, stop, step)


class Eye(Op):
    """An n x m matrix with ones on diagonal k and zeros elsewhere (numpy.eye)."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, n, m, k):
        args = []
        for what, v in (("n", n), ("m", m), ("k", k)):
            if isinstance(v, int | np.integer) and not isinstance(v, bool):
                v = constant(np.int64(v))
            v = as_tensor_variable(v)
            if v.ndim != 0 or v.dtype not in INT_DTYPES:
                raise TypeError(f"eye: {what} must be an integer scalar, got {v} ({v.type})")
            args.append(v)
        shape = tuple(_static_int(v) for v in args[:2])
        if any(s is not None and s < 0 for s in shape):
            raise ValueError(f"eye: negative size {shape}")
        out = TensorType(self.dtype, shape).make_variable()
        return Apply(self, [tb.cast(v, "int64") for v in args], [out])

    def perform(self, node, inputs, output_storage):
        n, m, k = (int(v) for v in inputs)
        if n < 0 or m < 0:
            raise ValueError(f"eye: negative size ({n}, {m})")
        output_storage[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0], node.inputs[1])]

    def grad(self, inputs, output_grads):
        return [None, None, None]

    def R_op(self, inputs, eval_points):
        return [None]  # a constant of the sizes

    def pretty(self, input_strs):
        return f"eye({', '.join(input_strs)})"


def eye(n, m=None, k=0, dtype=None):
    """An n x m matrix (m defaults to n) with ones on diagonal k (0: the main one,
    > 0 above it); dtype defaults to config.floatX."""
    return Eye(normalize_dtype(dtype if dtype is not None else "floatX"))(
        n, n if m is None else m, k)


def identity_like(x, dtype=None):
    """The identity matrix shaped like the matrix `x` (dtype: x's by default)."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise ValueError(f"identity_like needs a matrix, got {x} with {x.ndim} dimensions")
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype=dtype or x.dtype)


__all__ = ["ARange", "Eye", "arange", "eye", "identity_like"]
