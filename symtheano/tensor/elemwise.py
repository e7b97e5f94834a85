"""Elementwise ops: a ScalarOp says what happens to one element, Elemwise maps it
over broadcast arrays, and DimShuffle permutes, drops and inserts dimensions.

Broadcasting follows Theano: a dimension broadcasts only when its static size
is 1 (row, col, constants, `T.shape_padleft`...). A dimension of unknown size
that turns out to be 1 at run time while others are larger is an error, since
the gradient could not know to sum over it.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, Props
from symtheano.graph.operand_errors import operand_error, shapes_parts
from symtheano.tensor.type import FLOAT_DTYPES, TensorType, upcast, upgrade_to_float
from symtheano.tensor.var import as_tensor_variable, constant

SCALAR_OPS = {}  # name -> ScalarOp instance, for the registry test and printing


class ScalarOp(Props):
    """What an elementwise op does to one element.

    Subclasses set `nin`, `name`, and implement `impl` (vectorised NumPy) and,
    when differentiable, `grad(inputs, output, gout)` returning one tensor
    expression per input (None: zero gradient almost everywhere).
    """

    nin = 1
    name = None
    infix = None         # e.g. "+": printed as a binary operator by pp
    float_output = False  # True: integer inputs compute in a float dtype
    bool_output = False
    int_only = False     # bitwise ops
    pp_name = None       # the name `pp` prints, when it differs from `name`

    def output_dtype(self, *dtypes):
        if self.bool_output:
            return "bool"
        if self.int_only:
            bad = [d for d in dtypes if d in FLOAT_DTYPES]
            if bad:
                raise TypeError(f"{self.name} needs integer or bool inputs, got {bad[0]}")
        if self.float_output:
            return upgrade_to_float(*dtypes)
        return upcast(*dtypes)

    def impl(self, *inputs):
        raise NotImplementedError

    def grad(self, inputs, output, gout):
        raise NotImplementedError(f"{self.name} has no gradient")

    def R_op(self, inputs, output, tangents):
        """Pushforward: [the tangent of `output`] from `tangents`, one per input (None:
        the input does not move); [None] for a zero tangent. Elemwise lifts it."""
        raise NotImplementedError(f"{self.name} has no forward-mode rule (R_op)")

    def __str__(self):
        return self.name or type(self).__name__

    __repr__ = __str__


def register_scalar_op(op):
    """Record `op` under its name and return the tensor-level function applying it."""
    if op.name in SCALAR_OPS:
        raise ValueError(f"scalar op {op.name!r} registered twice")
    SCALAR_OPS[op.name] = op
    elemwise = Elemwise(op)

    def apply(*inputs):
        if op.nin is not None and len(inputs) != op.nin:
            raise TypeError(f"{op.name} takes {op.nin} argument(s), got {len(inputs)}")
        return elemwise(*inputs)

    apply.__name__ = op.name
    apply.__doc__ = type(op).__doc__
    apply.op = elemwise
    return apply


def broadcast_static_shapes(shapes, what="inputs"):
    """The broadcast of static shapes of equal length (None: unknown)."""
    out = []
    for dim, sizes in enumerate(zip(*shapes)):
        known = {s for s in sizes if s is not None and s != 1}
        if len(known) > 1:
            raise ValueError(f"{what} have incompatible static sizes {sorted(known)} "
                             f"in dimension {dim}")
        if known:
            out.append(known.pop())
        elif all(s == 1 for s in sizes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


class Elemwise(Op):
    """Apply a ScalarOp elementwise over broadcast inputs."""

    __props__ = ("scalar_op",)

    def __init__(self, scalar_op):
        self.scalar_op = scalar_op

    def __str__(self):
        return str(self.scalar_op)

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        ndim = max(x.ndim for x in inputs)
        padded = [x if x.ndim == ndim else shape_padleft(x, ndim - x.ndim) for x in inputs]
        try:
            shape = broadcast_static_shapes([x.type.shape for x in padded])
        except ValueError as exc:
            desc = ", ".join(f"{x} {x.type.describe_shape()}" for x in inputs)
            raise ValueError(f"{self.scalar_op}: {exc} ({desc})") from None
        dtype = self.scalar_op.output_dtype(*[x.dtype for x in padded])
        return Apply(self, padded, [TensorType(dtype, shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        out_shape = check_runtime_broadcast(node, inputs, str(self.scalar_op))
        output_storage[0][0] = elemwise_value(self.scalar_op, inputs, node.outputs[0].dtype,
                                              out_shape)

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.shape import broadcast_shape_vars

        return [broadcast_shape_vars(node.inputs, input_shapes)]

    def L_op(self, inputs, outputs, output_grads):
        gout = output_grads[0]
        grads = self.scalar_op.grad(inputs, outputs[0], gout)
        result = []
        for x, g in zip(inputs, grads, strict=True):
            if g is None or x.dtype not in FLOAT_DTYPES:
                result.append(None)
                continue
            g = as_tensor_variable(g)
            result.append(reduce_to_input(g, x))
        return result

    def R_op(self, inputs, eval_points):
        from symtheano.rop import fit_tangent, node_outputs

        (out,) = node_outputs(self, inputs)
        tangents = [t if t is not None and x.dtype in FLOAT_DTYPES else None
                    for x, t in zip(inputs, eval_points, strict=True)]
        if out.dtype not in FLOAT_DTYPES or all(t is None for t in tangents):
            return [None]
        (t,) = self.scalar_op.R_op(inputs, out, tangents)
        return [None if t is None else fit_tangent(t, out)]

    def pretty(self, input_strs):
        op = self.scalar_op
        if op.infix and len(input_strs) == 2:
            return f"({input_strs[0]} {op.infix} {input_strs[1]})"
        if op.infix and len(input_strs) == 1:
            return f"{op.infix}{input_strs[0]}"
        return f"{op.pp_name or op.name}({', '.join(input_strs)})"


def elemwise_value(scalar_op, args, dtype, shape=None):
    """What an elementwise application of `scalar_op` to the arrays `args` yields as
    an array of `dtype`: the specification shared by Elemwise and the fused ops."""
    if shape is None:
        shape = np.broadcast_shapes(*[a.shape for a in args])
    if scalar_op.float_output or (scalar_op.nin is None and len(args) > 2):
        # Variadic add/mul must not accumulate pairwise in a narrower dtype
        # (int8 + int8 + int64 would wrap before reaching int64).
        args = [a.astype(dtype, copy=False) for a in args]
    with np.errstate(all="ignore"):
        result = scalar_op.impl(*args)
    result = np.asarray(result, dtype=dtype)
    if result.shape != shape:
        result = np.broadcast_to(result, shape).copy()
    return result


def reduce_to_input(g, x):
    """Sum a gradient of broadcast shape back to the shape of input `x`."""
    from symtheano.tensor.basic import cast
    from symtheano.tensor.reduce import sum as sum_

    if g.ndim > x.ndim:
        g = sum_(g, axis=tuple(range(g.ndim - x.ndim)))
    axes = tuple(d for d, (xs, gs) in enumerate(zip(x.type.shape, g.type.shape))
                 if xs == 1 and gs != 1)
    if axes:
        g = sum_(g, axis=axes, keepdims=True)
    if g.dtype != x.dtype:
        g = cast(g, x.dtype)
    return g


def check_runtime_broadcast(node, inputs, what):
    """The output shape of broadcasting `inputs` (aligned on the right), after
    checking that only dimensions declared broadcastable (static size 1) were
    broadcast; the error names the offending input."""
    try:
        out_shape = np.broadcast_shapes(*[x.shape for x in inputs])
    except ValueError:
        raise operand_error(f"{what}: shapes cannot be broadcast together: ",
                            *shapes_parts(zip(node.inputs, [x.shape for x in inputs]))) from None
    for var, x in zip(node.inputs, inputs):
        offset = len(out_shape) - x.ndim
        for d, size in enumerate(x.shape):
            want = out_shape[offset + d]
            if size != want and var.type.shape[d] != 1:
                raise operand_error(
                    f"{what}: ", var, f" has size {size} in dimension {d} where the others "
                    f"have {want} (", *shapes_parts(zip(node.inputs, [i.shape for i in inputs])),
                    "); a dimension broadcasts only when it is declared broadcastable: use "
                    "T.row/T.col, a static shape of 1, or T.addbroadcast")
    return out_shape


class DimShuffle(Op):
    """Reorder dimensions (ints), insert broadcastable ones ('x'), drop size-1 ones."""

    __props__ = ("input_ndim", "new_order")

    def __init__(self, input_ndim, new_order):
        new_order = tuple(new_order)
        kept = [d for d in new_order if d != "x"]
        for d in kept:
            if not isinstance(d, int | np.integer) or not 0 <= d < input_ndim:
                raise ValueError(f"dimshuffle pattern {new_order} names dimension {d!r}, but "
                                 f"the input has {input_ndim} dimensions")
        if len(set(kept)) != len(kept):
            raise ValueError(f"dimshuffle pattern {new_order} repeats a dimension")
        self.input_ndim = input_ndim
        self.new_order = tuple(d if d == "x" else int(d) for d in new_order)
        self.drop = tuple(d for d in range(input_ndim) if d not in kept)
        self.kept = tuple(int(d) for d in kept)

    def __str__(self):
        return f"DimShuffle{{{','.join(map(str, self.new_order))}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise TypeError(f"{self} expects a {self.input_ndim}-d input, got {x} with "
                            f"{x.ndim} dimensions")
        for d in self.drop:
            if x.type.shape[d] not in (1, None):
                raise ValueError(f"{self} drops dimension {d} of {x}, whose static size is "
                                 f"{x.type.shape[d]}; only size-1 dimensions can be dropped")
        shape = tuple(1 if d == "x" else x.type.shape[d] for d in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        for d in self.drop:
            if x.shape[d] != 1:
                raise ValueError(f"{self}: cannot drop dimension {d} of {node.inputs[0]}: "
                                 f"its size is {x.shape[d]} (shape {x.shape})")
        res = x.transpose(self.kept + self.drop)
        new_shape = [1 if d == "x" else x.shape[d] for d in self.new_order]
        output_storage[0][0] = res.reshape(new_shape)

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.basic import constant

        (shape,) = input_shapes
        one = constant(np.int64(1))
        return [tuple(one if d == "x" else shape[d] for d in self.new_order)]

    def grad(self, inputs, output_grads):
        (x,) = inputs
        (gz,) = output_grads
        if x.dtype not in FLOAT_DTYPES:
            return [None]
        # gz's dimension i came from input dimension new_order[i] (or from nothing).
        order = ["x"] * self.input_ndim
        for out_dim, d in enumerate(self.new_order):
            if d != "x":
                order[d] = out_dim
        return [DimShuffle(gz.ndim, order)(gz) if tuple(order) != tuple(
            range(gz.ndim)) else gz]

    def R_op(self, inputs, eval_points):
        (t,) = eval_points
        return [None if t is None else self(t)]

    def pretty(self, input_strs):
        if self.new_order == tuple(reversed(range(self.input_ndim))) and self.input_ndim == 2:
            return f"{input_strs[0]}.T"
        return f"{input_strs[0]}.dimshuffle({', '.join(map(repr, self.new_order))})"


def dimshuffle(x, pattern):
    """`x.dimshuffle(pattern)`: ints pick input dimensions, 'x' inserts a new one."""
    x = as_tensor_variable(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    op = DimShuffle(x.ndim, pattern)
    node = op.make_node(x)
    if isinstance(x, Constant):  # rearranging known data needs no graph node
        storage = [[None]]
        op.perform(node, [x.data], storage)
        return constant(storage[0][0])
    return node.outputs[0]


def transpose(x, axes=None):
    """Permute dimensions (reverse them by default), like numpy.transpose."""
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(a + x.ndim if a < 0 else a for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose axes {axes} are not a permutation of {x.ndim} dimensions")
    return dimshuffle(x, axes)


def shape_padleft(x, n=1):
    """Add `n` broadcastable dimensions on the left."""
    x = as_tensor_variable(x)
    return dimshuffle(x, ("x",) * n + tuple(range(x.ndim)))


def shape_padright(x, n=1):
    """Add `n` broadcastable dimensions on the right."""
    x = as_tensor_variable(x)
    return dimshuffle(x, tuple(range(x.ndim)) + ("x",) * n)


def shape_padaxis(x, axis):
    """Insert one broadcastable dimension at `axis` (negative counts from the end)."""
    x = as_tensor_variable(x)
    if axis < 0:
        axis += x.ndim + 1
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"axis {axis} out of range for a new dimension of {x.ndim}-d {x}")
    order = list(range(x.ndim))
    order.insert(axis, "x")
    return dimshuffle(x, order)
