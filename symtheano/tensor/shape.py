"""Shapes as graph values, and the ops that change an array's shape without
touching its elements: shape, shape_i, reshape, alloc (broadcast-and-fill),
flatten, squeeze, expand_dims, and the zeros/ones/full constructors.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import dimshuffle, shape_padaxis
from symtheano.tensor.type import INT_DTYPES, TensorType, normalize_dtype
from symtheano.tensor.var import as_tensor_variable, constant


class Shape(Op):
    """The shape of x as an int64 vector."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", (x.ndim,)).make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape, dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [(constant(np.int64(node.inputs[0].ndim)),)]

    def grad(self, inputs, output_grads):
        return [None]

    def R_op(self, inputs, eval_points):
        return [None]  # an integer output has no tangent

    def pretty(self, input_strs):
        return f"{input_strs[0]}.shape"


class ShapeI(Op):
    """The size of dimension `i` of x, as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.ndim:
            raise ValueError(f"shape_i({self.i}) of {x}, which has {x.ndim} dimensions")
        return Apply(self, [x], [TensorType("int64", ()).make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape[self.i], dtype="int64")

    def infer_shape(self, node, input_shapes):
        return [()]

    def grad(self, inputs, output_grads):
        return [None]

    def R_op(self, inputs, eval_points):
        return [None]  # an integer output has no tangent

    def pretty(self, input_strs):
        return f"{input_strs[0]}.shape[{self.i}]"


def shape(x):
    """The symbolic shape of `x` (an int64 vector)."""
    return Shape()(as_tensor_variable(x))


def shape_i(x, i):
    """The size of dimension `i` of `x`: a constant when the static shape knows it."""
    x = as_tensor_variable(x)
    if i < 0:
        i += x.ndim
    static = x.type.shape[i] if 0 <= i < x.ndim else None
    if static is not None:
        return constant(np.int64(static))
    return ShapeI(i)(x)


def shape_tuple(x):
    """The shape of `x` as a tuple of int64 scalars (constants where static)."""
    x = as_tensor_variable(x)
    return tuple(shape_i(x, i) for i in range(x.ndim))


class MakeVector(Op):
    """A vector made of scalars."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, *scalars):
        scalars = [tb.cast(as_tensor_variable(s), self.dtype) for s in scalars]
        for i, s in enumerate(scalars):
            if s.ndim != 0:
                raise TypeError(f"MakeVector entry {i} ({s}) must be a scalar, got {s.ndim}-d")
        out = TensorType(self.dtype, (len(scalars),)).make_variable()
        return Apply(self, scalars, [out])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.array([x for x in inputs], dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [(constant(np.int64(len(node.inputs))),)]

    def grad(self, inputs, output_grads):
        (g,) = output_grads
        return [g[i] if x.dtype[0] == "f" else None for i, x in enumerate(inputs)]

    def R_op(self, inputs, eval_points):
        if self.dtype[0] != "f" or all(t is None for t in eval_points):
            return [None]
        zero = constant(np.zeros((), dtype=self.dtype))
        return [MakeVector(self.dtype)(*[zero if t is None else t for t in eval_points])]

    def pretty(self, input_strs):
        return f"[{', '.join(input_strs)}]"


def as_shape_vector(shape, what="shape"):
    """(vector of int64, static entries) from a tuple of ints/scalars or a vector."""
    if isinstance(shape, list | tuple):
        entries, static = [], []
        for i, s in enumerate(shape):
            if isinstance(s, int | np.integer):
                entries.append(constant(np.int64(s)))
                static.append(int(s))
                continue
            s = as_tensor_variable(s)
            if s.ndim != 0 or s.dtype not in INT_DTYPES:
                raise TypeError(f"{what} entry {i} must be an integer scalar, got {s} "
                                f"({s.type})")
            entries.append(s)
            static.append(int(s.data) if isinstance(s, Constant) else None)
        return MakeVector("int64")(*entries) if entries else constant(
            np.zeros(0, dtype="int64")), tuple(static)
    vec = as_tensor_variable(shape)
    if isinstance(vec, Constant):
        data = np.asarray(vec.data)
        if data.ndim == 0:
            return as_shape_vector((int(data),), what)
        return as_shape_vector(tuple(int(v) for v in data), what)
    if vec.ndim == 0:
        return as_shape_vector((vec,), what)
    if vec.ndim != 1 or vec.dtype not in INT_DTYPES:
        raise TypeError(f"{what} must be a tuple or an integer vector, got {vec} ({vec.type})")
    if vec.type.shape[0] is None:
        raise ValueError(f"the length of {what} {vec} is not known statically; pass ndim=")
    if vec.owner is not None and isinstance(vec.owner.op, MakeVector):
        static = tuple(int(s.data) if isinstance(s, Constant) else None for s in vec.owner.inputs)
    else:
        static = (None,) * vec.type.shape[0]
    return tb.cast(vec, "int64"), static


class Reshape(Op):
    """x with a new shape (one entry may be -1), like numpy.reshape."""

    __props__ = ("ndim",)

    def __init__(self, ndim):
        self.ndim = ndim

    def make_node(self, x, shp, static=None):
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp)
        out_shape = static if static is not None else (None,) * self.ndim
        return Apply(self, [x, shp], [TensorType(x.dtype, out_shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, shp = inputs
        try:
            output_storage[0][0] = np.reshape(x, tuple(int(s) for s in shp))
        except ValueError:
            raise ValueError(f"cannot reshape {node.inputs[0]} of shape {x.shape} "
                             f"({x.size} elements) to {tuple(int(s) for s in shp)}") from None

    def infer_shape(self, node, input_shapes):
        x, shp = node.inputs
        # -1 entries make the output size data-dependent: compute it from sizes.
        total = tb.constant(np.int64(1))
        for s in input_shapes[0]:
            total = total * s
        entries = [shp[i] for i in range(self.ndim)]
        known = tb.constant(np.int64(1))
        for e in entries:
            known = known * tb.switch(tb.eq(e, -1), 1, e)
        return [tuple(tb.switch(tb.eq(e, -1), tb.int_div(total, known), e) for e in entries)]

    def grad(self, inputs, output_grads):
        x, _ = inputs
        return [reshape(output_grads[0], shape(x), ndim=x.ndim), None]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        t = eval_points[0]
        if t is None:
            return [None]
        (out,) = node_outputs(self, inputs)
        return [self.make_node(t, inputs[1], out.type.shape).outputs[0]]

    def pretty(self, input_strs):
        return f"reshape({input_strs[0]}, {input_strs[1]})"


def reshape(x, newshape, ndim=None):
    """`x` with shape `newshape` (a tuple of ints/scalars, one may be -1, or a vector)."""
    x = as_tensor_variable(x)
    if ndim is not None and not isinstance(newshape, list | tuple):
        vec = as_tensor_variable(newshape)
        if vec.ndim == 1 and vec.type.shape[0] is None:
            return Reshape(ndim)(x, tb.cast(vec, "int64"), (None,) * ndim)
    vec, static = as_shape_vector(newshape, "reshape's shape")
    if ndim is not None and ndim != len(static):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(static)} entries")
    if sum(1 for s in static if s == -1) > 1:
        raise ValueError(f"reshape: at most one entry of {newshape} can be -1")
    known = [s for s in static if s is not None and s != -1]
    if any(s < -1 for s in static if s is not None):
        raise ValueError(f"reshape: negative size in {newshape}")
    if -1 in static:
        total = np.prod(x.type.shape) if None not in x.type.shape else None
        if total is not None and len(known) == len(static) - 1 and np.prod(known) > 0:
            static = tuple(int(total // np.prod(known)) if s == -1 else s for s in static)
        else:
            static = tuple(None if s == -1 else s for s in static)
    if None not in x.type.shape and None not in static and np.prod(static) != np.prod(
            x.type.shape):
        raise ValueError(f"cannot reshape {x} of static shape {x.type.shape} to {static}")
    return Reshape(len(static))(x, vec, static)


def flatten(x, ndim=1, outdim=None):
    """Keep the first `ndim - 1` dimensions and flatten the rest into one."""
    x = as_tensor_variable(x)
    ndim = outdim if outdim is not None else ndim
    if not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be in 1..{max(x.ndim, 1)}, got {ndim}")
    if ndim == 1:
        return reshape(x, (-1,))
    # The product of the flattened sizes, not -1, which is ambiguous when a kept size is 0.
    rest = [shape_i(x, i) for i in range(ndim - 1, x.ndim)]
    last = rest[0]
    for s in rest[1:]:
        last = last * s
    if all(isinstance(s, Constant) for s in rest):
        last = int(np.prod([int(s.data) for s in rest]))
    return reshape(x, tuple(shape_i(x, i) for i in range(ndim - 1)) + (last,))


def squeeze(x, axis=None):
    """Drop size-1 dimensions: the statically known ones, or the given `axis`
    (checked at run time when the static size is unknown)."""
    from symtheano.tensor.reduce import normalize_axis

    x = as_tensor_variable(x)
    if axis is None:
        drop = [d for d, s in enumerate(x.type.shape) if s == 1]
    else:
        drop = normalize_axis(axis, x.ndim)
    return dimshuffle(x, [d for d in range(x.ndim) if d not in drop])


def expand_dims(x, axis):
    """Insert broadcastable dimensions at `axis` (an int or a tuple), like numpy."""
    x = as_tensor_variable(x)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = sorted(a + out_ndim if a < 0 else a for a in axes)
    for a in axes:
        x = shape_padaxis(x, a)
    return x


class SpecifyShape(Op):
    """x, with its static shape declared as `shape` (checked at run time).

    Declaring a size of 1 makes a dimension broadcastable (`addbroadcast`);
    declaring None forgets a static size (`unbroadcast`).
    """

    __props__ = ("shape",)

    def __init__(self, shape):
        self.shape = tuple(None if s is None else int(s) for s in shape)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != len(self.shape):
            raise ValueError(f"specify_shape: {x} has {x.ndim} dimensions, the shape "
                             f"{self.shape} has {len(self.shape)}")
        for d, (have, want) in enumerate(zip(x.type.shape, self.shape)):
            if have is not None and want is not None and have != want:
                raise ValueError(f"specify_shape: dimension {d} of {x} has static size {have}, "
                                 f"cannot declare it {want}")
        return Apply(self, [x], [TensorType(x.dtype, self.shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        for d, want in enumerate(self.shape):
            if want is not None and x.shape[d] != want:
                raise ValueError(f"{node.inputs[0]} was declared to have size {want} in "
                                 f"dimension {d}, but its shape is {x.shape}")
        output_storage[0][0] = x

    def infer_shape(self, node, input_shapes):
        return [tuple(constant(np.int64(w)) if w is not None else s
                      for w, s in zip(self.shape, input_shapes[0]))]

    def grad(self, inputs, output_grads):
        return [output_grads[0]]

    def R_op(self, inputs, eval_points):
        (t,) = eval_points
        return [None if t is None else self(t)]

    def pretty(self, input_strs):
        return input_strs[0]


class CheckShape(Op):
    """x itself, after checking at run time that dimension d of x has the size given by
    the scalar input for it (`dims`: the checked dimensions, in order).

    The rewrites insert it where they drop a computation whose only other effect
    was to reject mismatched sizes (an elementwise op's Alloc input), so that the
    compiled function still raises where the original graph would have."""

    __props__ = ("dims",)
    view_map = {0: [0]}

    def __init__(self, dims):
        self.dims = tuple(int(d) for d in dims)

    def make_node(self, x, *sizes):
        x = as_tensor_variable(x)
        sizes = [as_tensor_variable(s) for s in sizes]
        if len(sizes) != len(self.dims):
            raise TypeError(f"{self}: {len(self.dims)} sizes expected, got {len(sizes)}")
        for d, s in zip(self.dims, sizes):
            if not 0 <= d < x.ndim:
                raise ValueError(f"{self}: {x} has no dimension {d}")
            if s.ndim != 0 or s.dtype not in INT_DTYPES:
                raise TypeError(f"{self}: the size of dimension {d} must be an integer "
                                f"scalar, got {s.type}")
        return Apply(self, [x, *sizes], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        x, *sizes = inputs
        for d, s in zip(self.dims, sizes):
            if x.shape[d] != s:
                raise ValueError(f"{node.inputs[0]} must have size {int(s)} in dimension {d} "
                                 f"(the size of the array it is combined with), but its "
                                 f"shape is {x.shape}")
        output_storage[0][0] = x

    def infer_shape(self, node, input_shapes):
        shape = list(input_shapes[0])
        for d, s in zip(self.dims, node.inputs[1:]):
            shape[d] = s
        return [tuple(shape)]

    def grad(self, inputs, output_grads):
        return [output_grads[0]] + [None] * len(self.dims)

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        return [None if t is None else self(t, *inputs[1:])]

    def __str__(self):
        return f"CheckShape{{{', '.join(map(str, self.dims))}}}"

    def pretty(self, input_strs):
        return input_strs[0]


def specify_shape(x, shape):
    """`x` with its static shape declared (None entries keep x's static size)."""
    x = as_tensor_variable(x)
    merged = tuple(x.type.shape[d] if s is None else s for d, s in enumerate(shape))
    return x if merged == x.type.shape else SpecifyShape(merged)(x)


def addbroadcast(x, *axes):
    """`x` with dimensions `axes` declared of size 1, hence broadcastable (checked
    when the function runs)."""
    x = as_tensor_variable(x)
    shape = list(x.type.shape)
    for a in axes:
        shape[a] = 1
    return specify_shape(x, shape)


def unbroadcast(x, *axes):
    """`x` with the static size of dimensions `axes` forgotten (no longer broadcastable)."""
    x = as_tensor_variable(x)
    shape = list(x.type.shape)
    for a in axes:
        shape[a] = None
    shape = tuple(shape)
    return x if shape == x.type.shape else SpecifyShape(shape)(x)


def patternbroadcast(x, broadcastable):
    """`x` with the broadcastable pattern `broadcastable` (Theano's patternbroadcast)."""
    x = as_tensor_variable(x)
    x = unbroadcast(x, *[d for d, b in enumerate(broadcastable) if not b])
    return addbroadcast(x, *[d for d, b in enumerate(broadcastable) if b])


class Alloc(Op):
    """`value` broadcast to a given shape, as a new array (Theano's T.alloc)."""

    def make_node(self, value, *shape):
        value = as_tensor_variable(value)
        dims = []
        static = []
        for i, s in enumerate(shape):
            if isinstance(s, int | np.integer):
                s = constant(np.int64(s))
            s = as_tensor_variable(s)
            if s.ndim != 0 or s.dtype not in INT_DTYPES:
                raise TypeError(f"alloc: shape entry {i} must be an integer scalar, got {s}")
            dims.append(tb.cast(s, "int64"))
            static.append(int(s.data) if isinstance(s, Constant) else None)
        if value.ndim > len(dims):
            raise ValueError(f"alloc: the value {value} has more dimensions ({value.ndim}) "
                             f"than the shape ({len(dims)})")
        offset = len(dims) - value.ndim
        for d, vs in enumerate(value.type.shape):
            if vs not in (None, 1) and static[offset + d] is None:
                static[offset + d] = vs
            elif vs not in (None, 1) and static[offset + d] != vs:
                raise ValueError(f"alloc: value of static shape {value.type.shape} cannot "
                                 f"fill shape {tuple(static)}")
        out = TensorType(value.dtype, tuple(static)).make_variable()
        return Apply(self, [value, *dims], [out])

    def perform(self, node, inputs, output_storage):
        value, *shp = inputs
        target = tuple(int(s) for s in shp)
        # Theano's rule, as in Elemwise: only a dimension of static size 1 may broadcast
        # (the gradient sums over those alone).
        offset, declared = len(target) - value.ndim, node.inputs[0].type.shape
        for d, (size, static) in enumerate(zip(value.shape, declared, strict=True)):
            if size != target[offset + d] and static != 1:
                raise ValueError(
                    f"alloc: {node.inputs[0]} of shape {value.shape} has size {size} in "
                    f"dimension {d}, where the shape {target} asks for {target[offset + d]}; "
                    "a dimension broadcasts only when it is declared broadcastable: use "
                    "T.row/T.col, a static shape of 1, or T.addbroadcast")
        try:
            out = np.empty(target, dtype=node.outputs[0].dtype)
            out[...] = value
        except ValueError:
            raise ValueError(f"alloc: cannot broadcast {node.inputs[0]} of shape "
                             f"{value.shape} to {target}") from None
        output_storage[0][0] = out

    def infer_shape(self, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def grad(self, inputs, output_grads):
        from symtheano.tensor.elemwise import reduce_to_input

        value = inputs[0]
        if value.dtype[0] != "f":
            return [None] * len(inputs)
        return [reduce_to_input(output_grads[0], value)] + [None] * (len(inputs) - 1)

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        return [None if t is None else self(t, *inputs[1:])]

    def pretty(self, input_strs):
        return f"alloc({', '.join(input_strs)})"


alloc_op = Alloc()


def alloc(value, *shape):
    """`value` broadcast to `shape` (given as separate scalars), as a new array."""
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = tuple(shape[0])
    return alloc_op(value, *shape)


def broadcast_like(g, x):
    """`g` (with x's number of dimensions) broadcast to x's shape."""
    if all(a == b and a is not None for a, b in zip(g.type.shape, x.type.shape)):
        return g
    return alloc(g, *shape_tuple(x))


def broadcast_shape_vars(inputs, input_shapes):
    """The symbolic broadcast shape of Elemwise `inputs` (all of equal ndim)."""
    out = []
    for d in range(inputs[0].ndim):
        pick = next((shp[d] for x, shp in zip(inputs, input_shapes) if x.type.shape[d] != 1),
                    None)
        out.append(pick if pick is not None else constant(np.int64(1)))
    return tuple(out)


def _shape_args(shape):
    if isinstance(shape, int | np.integer):
        return (shape,)
    if isinstance(shape, list | tuple):
        return tuple(shape)
    vec = as_tensor_variable(shape)
    if vec.ndim == 0:
        return (vec,)
    if vec.type.shape[0] is None:
        raise ValueError(f"the length of shape {vec} must be known statically")
    return tuple(vec[i] for i in range(vec.type.shape[0]))


def full(shape, fill_value, dtype=None):
    """A new array of `shape` filled with `fill_value`."""
    value = as_tensor_variable(fill_value)
    if dtype is not None:
        value = tb.cast(value, normalize_dtype(dtype))
    return alloc(value, *_shape_args(shape))


def zeros(shape, dtype="floatX"):
    """A new array of zeros."""
    return full(shape, constant(np.zeros((), dtype=normalize_dtype(dtype))))


def ones(shape, dtype="floatX"):
    """A new array of ones."""
    return full(shape, constant(np.ones((), dtype=normalize_dtype(dtype))))


def full_like(x, fill_value, dtype=None):
    """An array shaped like `x` filled with `fill_value` (dtype: x's by default).

    The result depends on `x` (as Theano's fill did), so a function whose
    output is, say, a constant gradient still uses the input it was given.
    """
    x = as_tensor_variable(x)
    dtype = normalize_dtype(dtype) if dtype is not None else x.dtype
    value = tb.cast(as_tensor_variable(fill_value), dtype)
    return tb.second(x, value)


def zeros_like(x, dtype=None):
    """Zeros shaped like `x`."""
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    """Ones shaped like `x`."""
    return full_like(x, 1, dtype)


def fill(model, value):
    """`value` broadcast to the shape of `model` (Theano's T.fill)."""
    return tb.second(model, value)

__all__ = [
    "shape", "shape_i", "shape_tuple", "reshape", "flatten", "squeeze", "expand_dims", "alloc",
    "full", "zeros", "ones", "full_like", "zeros_like", "ones_like", "fill", "specify_shape",
    "addbroadcast", "unbroadcast", "patternbroadcast",
]
