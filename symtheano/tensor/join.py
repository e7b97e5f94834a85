"""Joining and constructing arrays: concatenate/join/stack and their inverse
split, repeat and tile; the constructors arange, eye and identity_like are
defined in tensor/constructors.py and exported from here.

Join and Split are each other's gradient, and so are Repeat and RepeatSum
(the sum of consecutive groups of elements), as in Theano.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, Variable
from symtheano.tensor import basic as tb
from symtheano.tensor.constructors import ARange, Eye, arange, eye, identity_like  # re-exported
from symtheano.tensor.elemwise import dimshuffle, shape_padleft
from symtheano.tensor.shape import MakeVector, alloc, expand_dims, flatten, reshape, shape_i
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType, upcast
from symtheano.tensor.var import as_tensor_variable, constant


def _check_axis(axis, ndim, what):
    """`axis` (negative counts from the end) as an int in [0, ndim)."""
    if isinstance(axis, Constant) and axis.ndim == 0 and axis.dtype in INT_DTYPES:
        axis = int(axis.data)
    if isinstance(axis, Variable):
        raise TypeError(f"{what}: the axis must be an int known when the graph is built, "
                        f"got the symbolic {axis}")
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{what}: the axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {ndim}-d tensors")
    return int(axis) % ndim


def _static_int(v):
    """The value of an integer scalar constant, else None."""
    if isinstance(v, Constant) and v.ndim == 0:
        return int(v.data)
    return None


def _vector_entries(vec, n):
    """The `n` entries of a vector variable as scalars, without indexing when possible."""
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector):
        return list(vec.owner.inputs)
    if isinstance(vec, Constant):
        return [constant(np.int64(v)) for v in vec.data]
    return [vec[i] for i in range(n)]


def _static_vector(vec):
    """The entries of an integer vector known when the graph is built (None: unknown)."""
    if isinstance(vec, Constant):
        return tuple(int(v) for v in vec.data)
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector):
        return tuple(_static_int(s) for s in vec.owner.inputs)
    return (None,) * vec.type.shape[0] if vec.type.shape[0] is not None else None


# -- concatenate and split -----------------------------------------------------------------------

class Join(Op):
    """Tensors of equal ndim concatenated along `axis` (numpy.concatenate)."""

    __props__ = ("axis",)

    def __init__(self, axis=0):
        self.axis = int(axis)

    def make_node(self, *tensors):
        tensors = [as_tensor_variable(t) for t in tensors]
        if not tensors:
            raise ValueError("concatenate needs at least one tensor, got none")
        ndim = tensors[0].ndim
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"concatenate: tensor {i} ({t}) is 0-d; zero-dimensional "
                                 "tensors cannot be concatenated (use stack)")
            if t.ndim != ndim:
                raise ValueError(f"concatenate: tensor {i} ({t}) has {t.ndim} dimensions, "
                                 f"expected {ndim} like tensor 0 ({tensors[0]})")
        axis = _check_axis(self.axis, ndim, "concatenate")
        shape = []
        for d in range(ndim):
            sizes = [t.type.shape[d] for t in tensors]
            if d == axis:
                shape.append(None if None in sizes else sum(sizes))
                continue
            known = None
            for i, s in enumerate(sizes):
                if s is None:
                    continue
                if known is not None and s != known[1]:
                    raise ValueError(
                        f"concatenate along axis {axis}: tensor {i} ({tensors[i]}) has static "
                        f"size {s} in dimension {d}, but tensor {known[0]} "
                        f"({tensors[known[0]]}) has {known[1]}; all dimensions but the "
                        "joined one must agree")
                known = (i, s)
            shape.append(None if known is None else known[1])
        dtype = upcast(*[t.dtype for t in tensors])
        return Apply(self, tensors, [TensorType(dtype, tuple(shape)).make_variable()])

    def perform(self, node, inputs, output_storage):
        axis = self.axis % node.outputs[0].ndim
        try:
            out = np.concatenate(inputs, axis=axis)
        except ValueError:
            shapes = ", ".join(f"{v} {x.shape}" for v, x in zip(node.inputs, inputs, strict=True))
            raise ValueError(f"concatenate along axis {axis}: the shapes must agree except "
                             f"in that axis, got {shapes}") from None
        output_storage[0][0] = out.astype(node.outputs[0].dtype, copy=False)

    def infer_shape(self, node, input_shapes):
        axis = self.axis % node.outputs[0].ndim
        shape = []
        for d in range(node.outputs[0].ndim):
            if d == axis:
                total = input_shapes[0][d]
                for shp in input_shapes[1:]:
                    total = total + shp[d]
                shape.append(total)
            else:
                # Prefer an input whose size here is static (a constant).
                pick = next((shp[d] for t, shp in zip(node.inputs, input_shapes, strict=True)
                             if t.type.shape[d] is not None), input_shapes[0][d])
                shape.append(pick)
        return [tuple(shape)]

    def grad(self, inputs, output_grads):
        (gz,) = output_grads
        if not any(x.dtype in FLOAT_DTYPES for x in inputs):
            return [None] * len(inputs)
        axis = self.axis % gz.ndim
        sizes = MakeVector("int64")(*[shape_i(x, axis) for x in inputs])
        pieces = Split(len(inputs), axis).make_node(gz, sizes).outputs
        return [tb.cast(p, x.dtype) if x.dtype in FLOAT_DTYPES else None
                for x, p in zip(inputs, pieces, strict=True)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs
        from symtheano.tensor.shape import zeros_like

        if all(t is None for t in eval_points):
            return [None]
        (out,) = node_outputs(self, inputs)
        # Inputs that do not move contribute zeros of their shape.
        pieces = [tb.cast(t, out.dtype) if t is not None else zeros_like(x, dtype=out.dtype)
                  for x, t in zip(inputs, eval_points, strict=True)]
        return [Join(self.axis)(*pieces)]

    def pretty(self, input_strs):
        return f"concatenate([{', '.join(input_strs)}], axis={self.axis})"


class Split(Op):
    """x cut along `axis` into `n_splits` pieces of the sizes in the vector `splits`."""

    __props__ = ("n_splits", "axis")

    def __init__(self, n_splits, axis=0):
        if int(n_splits) < 1:
            raise ValueError(f"Split needs at least one piece, got n_splits={n_splits}")
        self.n_splits = int(n_splits)
        self.axis = int(axis)

    def make_node(self, x, splits):
        x = as_tensor_variable(x)
        if isinstance(splits, list | tuple) and any(isinstance(s, Variable) for s in splits):
            splits = MakeVector("int64")(*splits)
        elif not isinstance(splits, Variable):
            splits = constant(np.asarray(splits, dtype="int64"))
        if x.ndim == 0:
            raise ValueError(f"split: cannot split the 0-d tensor {x}")
        axis = _check_axis(self.axis, x.ndim, "split")
        if splits.ndim != 1 or splits.dtype not in INT_DTYPES:
            raise TypeError(f"split: the sizes must be an integer vector, got {splits} "
                            f"({splits.type})")
        if splits.type.shape[0] not in (None, self.n_splits):
            raise ValueError(f"split: {self.n_splits} pieces need {self.n_splits} sizes, got "
                             f"{splits.type.shape[0]} ({splits})")
        sizes = _static_vector(splits) or (None,) * self.n_splits
        if any(s is not None and s < 0 for s in sizes):
            raise ValueError(f"split: negative size in {sizes}")
        total = x.type.shape[axis]
        if total is not None and None not in sizes and sum(sizes) != total:
            raise ValueError(f"split: the sizes {sizes} add up to {sum(sizes)}, but {x} has "
                             f"static size {total} along axis {axis}")
        outs = []
        for s in sizes:
            shape = list(x.type.shape)
            shape[axis] = s
            outs.append(TensorType(x.dtype, tuple(shape)).make_variable())
        return Apply(self, [x, tb.cast(splits, "int64")], outs)

    def perform(self, node, inputs, output_storage):
        x, splits = inputs
        axis = self.axis % x.ndim
        if len(splits) != self.n_splits or np.any(splits < 0) or splits.sum() != x.shape[axis]:
            raise ValueError(f"split: cannot cut {node.inputs[0]} of shape {x.shape} along "
                             f"axis {axis} into {self.n_splits} pieces of sizes "
                             f"{splits.tolist()}")
        pieces = np.split(x, np.cumsum(splits)[:-1], axis=axis)
        for cell, piece in zip(output_storage, pieces, strict=True):
            cell[0] = piece.copy()

    def infer_shape(self, node, input_shapes):
        x, splits = node.inputs
        axis = self.axis % x.ndim
        shapes = []
        for size in _vector_entries(splits, self.n_splits):
            shape = list(input_shapes[0])
            shape[axis] = size
            shapes.append(tuple(shape))
        return shapes

    def L_op(self, inputs, outputs, output_grads):
        from symtheano.tensor.shape import zeros_like

        x, _ = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None, None]
        grads = [g if g is not None else zeros_like(o)
                 for g, o in zip(output_grads, outputs, strict=True)]
        return [tb.cast(Join(self.axis)(*grads), x.dtype), None]

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        if t is None:
            return [None] * self.n_splits
        return self.make_node(t, inputs[1]).outputs

    def pretty(self, input_strs):
        return f"split({input_strs[0]}, {input_strs[1]}, axis={self.axis})"


def concatenate(tensor_list, axis=0):
    """The tensors joined along an existing `axis`, like numpy.concatenate."""
    if isinstance(tensor_list, Variable) or not isinstance(tensor_list, list | tuple):
        raise TypeError(f"concatenate takes a list or tuple of tensors, got "
                        f"{type(tensor_list).__name__} (write concatenate([a, b], axis))")
    tensors = [as_tensor_variable(t) for t in tensor_list]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor, got none")
    if tensors[0].ndim == 0:
        raise ValueError(f"concatenate: tensor 0 ({tensors[0]}) is 0-d; zero-dimensional "
                         "tensors cannot be concatenated (use stack)")
    return Join(_check_axis(axis, tensors[0].ndim, "concatenate"))(*tensors)


def join(axis, *tensors_list):
    """Theano's argument order: `join(axis, a, b, ...)` is concatenate([a, b, ...], axis)."""
    if len(tensors_list) == 1 and isinstance(tensors_list[0], list | tuple):
        tensors_list = tuple(tensors_list[0])
    return concatenate(list(tensors_list), axis)


def split(x, splits_size, n_splits, axis=0):
    """Theano's split: `x` cut along `axis` into `n_splits` pieces of sizes `splits_size`
    (a list of ints or an integer vector); returns a list of tensors."""
    x = as_tensor_variable(x)
    if x.ndim == 0:
        raise ValueError(f"split: cannot split the 0-d tensor {x}")
    return Split(n_splits, _check_axis(axis, x.ndim, "split")).make_node(x, splits_size).outputs


def stack(*tensors, axis=0):
    """The tensors (all of one shape) joined along a new `axis`, like numpy.stack.

    `stack([a, b], axis)` is the NumPy form; Theano's old form `stack(a, b, c)`
    (for instance of scalars, giving a vector) is accepted too.
    """
    if not tensors:
        raise TypeError("stack needs a list of tensors")
    if isinstance(tensors[0], list | tuple):
        if len(tensors) > 2:
            raise TypeError("stack takes a list of tensors and an axis, got "
                            f"{len(tensors)} positional arguments")
        if len(tensors) == 2:
            axis = tensors[1]
        tensors = tensors[0]
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor, got none")
    ndim = tensors[0].ndim
    for i, t in enumerate(tensors):
        if t.ndim != ndim:
            raise ValueError(f"stack: tensor {i} ({t}) has {t.ndim} dimensions, expected "
                             f"{ndim} like tensor 0 ({tensors[0]}); stacked tensors must "
                             "have one shape")
    axis = _check_axis(axis, ndim + 1, "stack")
    return Join(axis)(*[expand_dims(t, axis) for t in tensors])


def _stack_args(args, what):
    if len(args) == 1 and isinstance(args[0], list | tuple):
        args = tuple(args[0])
    if not args:
        raise ValueError(f"{what} needs at least one tensor")
    return [as_tensor_variable(a) for a in args]


def horizontal_stack(*args):
    """Tensors joined column-wise, like numpy.hstack: along axis 1, or axis 0 for vectors."""
    tensors = _stack_args(args, "horizontal_stack")
    axis = 0 if all(t.ndim == 1 for t in tensors) else 1
    return concatenate(tensors, axis)


def vertical_stack(*args):
    """Tensors joined row-wise, like numpy.vstack: vectors become rows, then axis 0."""
    tensors = _stack_args(args, "vertical_stack")
    return concatenate([shape_padleft(t) if t.ndim == 1 else t for t in tensors], 0)


hstack, vstack = horizontal_stack, vertical_stack


# -- repeat and tile -----------------------------------------------------------------------------

def _as_repeats(repeats, what="repeat"):
    if not isinstance(repeats, Variable):
        arr = np.asarray(repeats)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{what}: repeats must be an int or a list of ints, got {repeats!r}")
        repeats = constant(arr.astype("int64"))
    if repeats.ndim > 1 or repeats.dtype not in INT_DTYPES:
        raise TypeError(f"{what}: repeats must be an integer scalar or vector, got {repeats} "
                        f"({repeats.type})")
    if isinstance(repeats, Constant) and np.any(repeats.data < 0):
        raise ValueError(f"{what}: negative repeats {repeats}")
    return repeats


class Repeat(Op):
    """Each element of x repeated along `axis` (numpy.repeat with an axis).

    `repeats` is an integer scalar (the same count for every element) or a
    vector of one count per element (a vector of length 1 acts as a scalar).
    """

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, x, repeats):
        x = as_tensor_variable(x)
        repeats = _as_repeats(repeats)
        if x.ndim == 0:
            raise ValueError(f"repeat: {x} is 0-d; flatten it first (axis=None)")
        axis = _check_axis(self.axis, x.ndim, "repeat")
        n = x.type.shape[axis]
        size = None
        if isinstance(repeats, Constant):
            counts = np.asarray(repeats.data)
            if counts.ndim == 0 or counts.size == 1:
                size = n * int(counts.reshape(())) if n is not None else None
            elif n is not None and counts.size != n:
                raise ValueError(f"repeat: {counts.size} repeat counts for {n} elements of "
                                 f"{x} along axis {axis}")
            else:
                size = int(counts.sum())
        shape = list(x.type.shape)
        shape[axis] = size
        return Apply(self, [x, repeats], [TensorType(x.dtype, tuple(shape)).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, repeats = inputs
        axis = self.axis % x.ndim
        if np.any(repeats < 0):
            raise ValueError(f"repeat: negative repeat count in {repeats.tolist()}")
        if repeats.ndim == 1 and repeats.size not in (1, x.shape[axis]):
            raise ValueError(f"repeat: {repeats.size} repeat counts for {x.shape[axis]} "
                             f"elements of {node.inputs[0]} (shape {x.shape}) along axis {axis}")
        output_storage[0][0] = np.repeat(x, repeats, axis=axis)

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.reduce import sum as sum_

        x, repeats = node.inputs
        axis = self.axis % x.ndim
        n = input_shapes[0][axis]
        if repeats.ndim == 0:
            size = n * tb.cast(repeats, "int64")
        else:
            total = sum_(tb.cast(repeats, "int64"))
            size = tb.switch(tb.eq(input_shapes[1][0], 1), n * total, total)
        shape = list(input_shapes[0])
        shape[axis] = size
        return [tuple(shape)]

    def grad(self, inputs, output_grads):
        x, repeats = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None, None]
        axis = self.axis % x.ndim
        g = RepeatSum(axis)(output_grads[0], repeats, shape_i(x, axis))
        return [tb.cast(g, x.dtype), None]

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        return [None if t is None else self(t, inputs[1])]

    def pretty(self, input_strs):
        return f"repeat({input_strs[0]}, {input_strs[1]}, axis={self.axis})"


class RepeatSum(Op):
    """The gradient of Repeat: g summed over the consecutive groups that `repeat(x,
    repeats, axis)` made of each of the `n` elements along `axis`."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, g, repeats, n):
        g = as_tensor_variable(g)
        repeats = _as_repeats(repeats, "RepeatSum")
        n = as_tensor_variable(n)
        if g.ndim == 0:
            raise ValueError(f"RepeatSum: {g} is 0-d")
        axis = _check_axis(self.axis, g.ndim, "RepeatSum")
        if n.ndim != 0 or n.dtype not in INT_DTYPES:
            raise TypeError(f"RepeatSum: the number of groups must be an integer scalar, got "
                            f"{n} ({n.type})")
        shape = list(g.type.shape)
        shape[axis] = _static_int(n)
        out = TensorType(g.dtype, tuple(shape)).make_variable()
        return Apply(self, [g, repeats, tb.cast(n, "int64")], [out])

    def perform(self, node, inputs, output_storage):
        g, repeats, n = inputs
        axis = self.axis % g.ndim
        n = int(n)
        try:
            group = np.repeat(np.arange(n), repeats)
        except ValueError:
            group = None
        if group is None or group.size != g.shape[axis]:
            raise ValueError(f"RepeatSum: repeats {repeats.tolist()} of {n} elements do not "
                             f"make the {g.shape[axis]} elements of {node.inputs[0]} along "
                             f"axis {axis}")
        moved = np.moveaxis(g, axis, 0)
        out = np.zeros((n,) + moved.shape[1:], dtype=node.outputs[0].dtype)
        np.add.at(out, group, moved)
        output_storage[0][0] = np.ascontiguousarray(np.moveaxis(out, 0, axis))

    def infer_shape(self, node, input_shapes):
        shape = list(input_shapes[0])
        shape[self.axis % len(shape)] = node.inputs[2]
        return [tuple(shape)]

    def grad(self, inputs, output_grads):
        g, repeats, _ = inputs
        if g.dtype not in FLOAT_DTYPES:
            return [None, None, None]
        gout = Repeat(self.axis)(output_grads[0], repeats)
        return [tb.cast(gout, g.dtype), None, None]

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        return [None if t is None else self(t, *inputs[1:])]

    def pretty(self, input_strs):
        return f"repeat_sum({', '.join(input_strs)}, axis={self.axis})"


def repeat(x, repeats, axis=None):
    """Repeat each element of `x` `repeats` times (an int, or one count per element)
    along `axis`; axis None repeats the elements of the flattened x. Like numpy.repeat."""
    x = as_tensor_variable(x)
    repeats = _as_repeats(repeats)
    if axis is None or x.ndim == 0:
        if axis is not None:
            _check_axis(axis, 1, "repeat")
        x, axis = (x if x.ndim == 1 else flatten(x)), 0
    return Repeat(_check_axis(axis, x.ndim, "repeat"))(x, repeats)


def _int_entry(r, i, what):
    if isinstance(r, bool):
        raise TypeError(f"{what}: entry {i} must be an int, got {r!r}")
    if isinstance(r, int | np.integer):
        if r < 0:
            raise ValueError(f"{what}: entry {i} is negative ({r})")
        return int(r)
    r = as_tensor_variable(r)
    if r.ndim != 0 or r.dtype not in INT_DTYPES:
        raise TypeError(f"{what}: entry {i} must be an integer scalar, got {r} ({r.type})")
    static = _static_int(r)
    if static is not None:
        return _int_entry(static, i, what)
    return r


def tile(x, reps, ndim=None):
    """`x` repeated `reps[i]` times along each dimension i, like numpy.tile.

    reps: an int, or a tuple of ints / integer scalars (or a vector of static
    length). Shorter reps are padded with 1s on the left; a shorter x gets new
    leading dimensions.
    """
    x = as_tensor_variable(x)
    if isinstance(reps, Variable) and reps.ndim == 1:
        if reps.type.shape[0] is None:
            raise ValueError(f"tile: the length of reps {reps} must be known statically")
        reps = _vector_entries(reps, reps.type.shape[0])
    elif isinstance(reps, Variable) or isinstance(reps, int | np.integer):
        reps = (reps,)
    reps = [_int_entry(r, i, "tile's reps") for i, r in enumerate(reps)]
    n = max(len(reps), x.ndim)
    if ndim is not None and ndim != n:
        raise ValueError(f"tile: ndim={ndim}, but x ({x.ndim}-d) tiled by {len(reps)} "
                         f"reps has {n} dimensions")
    reps = [1] * (n - len(reps)) + reps
    x = shape_padleft(x, n - x.ndim) if n > x.ndim else x
    if all(isinstance(r, int) and r == 1 for r in reps):
        return x
    # x of shape (a, b) tiled by (r, s): (1, a, 1, b) broadcast to (r, a, s, b), then
    # reshaped to (r * a, s * b). Dimensions with a literal rep of 1 are left alone.
    pattern, big, final = [], [], []
    for d, r in enumerate(reps):
        size = shape_i(x, d)
        pattern.append(d)
        big.append(size)
        if isinstance(r, int) and r == 1:
            final.append(size)
            continue
        pattern.insert(-1, "x")
        big.insert(-1, r)
        static = _static_int(size)
        if isinstance(r, int) and static is not None:
            final.append(r * static)
        else:
            final.append(tb.cast(r, "int64") * size)
    return reshape(alloc(dimshuffle(x, pattern), *big), tuple(final))


__all__ = [
    "Join", "Split", "Repeat", "ARange", "Eye", "concatenate", "join", "split", "stack",
    "horizontal_stack", "vertical_stack", "hstack", "vstack", "repeat", "tile", "arange",
    "eye", "identity_like",
]
