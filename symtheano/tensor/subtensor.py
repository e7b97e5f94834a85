"""Indexing: `x[idx]` as graph ops, and the functional updates `set_subtensor`
and `inc_subtensor`, with NumPy's semantics.

An op stores its index as `idx_list`, one entry per index item. Constant parts
live in the op (so equal indexes compare equal and merge); symbolic parts are
inputs of the node, in the order they appear:

    None            a new axis (np.newaxis)
    int             a constant integer
    SCALAR          a symbolic integer scalar (an input)
    Slice(a, b, c)  a slice; each part None, an int or SCALAR (an input)
    ARRAY           an integer array (an input): advanced indexing
    Mask(k)         a boolean array of k dimensions (an input): advanced indexing

`...` is expanded into full slices and trailing full slices are dropped, so
`x[0]`, `x[0, :]` and `x[0, ...]` build the same op. Basic indexes (ints,
slices, new axes) build Subtensor / IncSubtensor, whose output is a view;
indexes with an ARRAY or a Mask build the ops of advanced_subtensor.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, Variable
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import reduce_to_input
from symtheano.tensor.shape import MakeVector, Shape, shape_i, zeros_like
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType, upcast
from symtheano.tensor.var import as_tensor_variable, constant

# -- the index entries -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Slot:
    """A symbolic part of an index: an integer scalar or an integer array input."""

    kind: str

    def __repr__(self):
        return self.kind.upper()


SCALAR = Slot("scalar")
ARRAY = Slot("array")


@dataclasses.dataclass(frozen=True)
class Slice:
    """A slice; start, stop and step are each None, an int, or SCALAR."""

    start: object = None
    stop: object = None
    step: object = None


@dataclasses.dataclass(frozen=True)
class Mask:
    """A boolean mask input of `ndim` dimensions."""

    ndim: int


def entry_kind(entry):
    """'new', 'int', 'scalar', 'slice', 'array' or 'mask'."""
    if entry is None:
        return "new"
    if isinstance(entry, int):
        return "int"
    if isinstance(entry, Slice):
        return "slice"
    if isinstance(entry, Mask):
        return "mask"
    return entry.kind


def is_advanced(idx_list):
    """True when the index has an integer array or a boolean mask."""
    return any(entry_kind(e) in ("array", "mask") for e in idx_list)


def _consumed(entry):
    """How many input dimensions an entry indexes."""
    kind = entry_kind(entry)
    return 0 if kind == "new" else entry.ndim if kind == "mask" else 1


def _bind(idx_list, values):
    """[(entry, kind, input dimension, value)]: each entry with its symbolic parts
    replaced by `values` (in order); a Slice's value is its (start, stop, step)."""
    it = iter(values)
    out, dim = [], 0
    for e in idx_list:
        kind = entry_kind(e)
        if kind == "slice":
            value = tuple(next(it) if p == SCALAR else p for p in (e.start, e.stop, e.step))
        elif kind in ("scalar", "array", "mask"):
            value = next(it)
        else:
            value = e
        out.append((e, kind, dim, value))
        dim += _consumed(e)
    return out


def _label(var):
    from symtheano.printing import short_label

    return short_label(var)


def format_index(idx_list, input_strs=None):
    """The index as written in Python, symbolic parts from `input_strs` (or '?')."""
    it = iter(input_strs) if input_strs is not None else None

    def part(p):
        if p is None:
            return ""
        if p == SCALAR:
            return next(it) if it is not None else "?"
        return str(p)

    parts = []
    for e in idx_list:
        kind = entry_kind(e)
        if kind == "slice":
            text = f"{part(e.start)}:{part(e.stop)}"
            parts.append(text if e.step is None else f"{text}:{part(e.step)}")
        elif kind in ("scalar", "array", "mask"):
            parts.append(next(it) if it is not None else "?")
        else:
            parts.append(str(e))
    return ", ".join(parts) if parts else "..."


# -- parsing a Python index ----------------------------------------------------------------------

def _index_variable(item):
    if isinstance(item, list | np.ndarray) and np.size(item) == 0:
        return constant(np.zeros(np.shape(item), dtype="int64"))  # x[[]]: no indices
    return as_tensor_variable(item)


def _slice_part(x, p, inputs):
    if p is None:
        return None
    if isinstance(p, int | np.integer):
        return int(p)
    try:
        v = as_tensor_variable(p)
    except TypeError:
        v = None
    if v is None or v.ndim != 0 or v.dtype not in INT_DTYPES:
        raise TypeError(f"slice bounds of an index into {_label(x)} must be None, ints or "
                        f"integer scalars; got {p!r}"
                        f"{'' if v is None else f' of type {v.type}'}")
    if isinstance(v, Constant):
        return int(v.data)
    inputs.append(v)
    return SCALAR


def _parse_item(x, item, inputs):
    if item is None:
        return None
    if isinstance(item, slice):
        start = _slice_part(x, item.start, inputs)
        stop = _slice_part(x, item.stop, inputs)
        step = _slice_part(x, item.step, inputs)
        if step == 0:
            raise ValueError(f"slice step cannot be zero (indexing {_label(x)})")
        if step == 1:
            step = None
        return Slice(start, stop, step)
    if isinstance(item, bool | np.bool_):
        inputs.append(constant(np.bool_(item)))
        return Mask(0)
    if isinstance(item, int | np.integer):
        return int(item)
    try:
        var = _index_variable(item)
    except TypeError as exc:
        raise TypeError(f"invalid index {item!r} for {_label(x)}: indices must be ints, "
                        f"slices, None, ..., integer arrays or boolean masks ({exc})") from None
    if var.dtype == "bool":
        inputs.append(var)
        return Mask(var.ndim)
    if var.dtype not in INT_DTYPES:
        raise TypeError(f"invalid index {var} for {_label(x)}: it has dtype {var.dtype}; "
                        "indices must be integers or booleans (use T.cast)")
    if var.ndim == 0:
        if isinstance(var, Constant):
            return int(var.data)
        inputs.append(var)
        return SCALAR
    inputs.append(var)
    return ARRAY


def parse_index(x, index):
    """(idx_list, index input variables) for `x[index]` (NumPy's rules)."""
    items = index if isinstance(index, tuple) else (index,)
    entries, inputs, ellipsis = [], [], None
    for item in items:
        if item is Ellipsis:
            if ellipsis is not None:
                raise IndexError(f"an index can only have a single ellipsis ('...'); got "
                                 f"{index!r} for {_label(x)}")
            ellipsis = len(entries)
            continue
        entries.append(_parse_item(x, item, inputs))
    used = sum(_consumed(e) for e in entries)
    if used > x.ndim:
        raise IndexError(f"too many indices for {_label(x)}: it has {x.ndim} dimension(s) "
                         f"but the index [{format_index(entries)}] uses {used}")
    if ellipsis is not None:
        entries[ellipsis:ellipsis] = [Slice()] * (x.ndim - used)
    while entries and entries[-1] == Slice():
        entries.pop()
    return tuple(entries), inputs


def check_index_inputs(op, x, idx_list, index):
    """The index inputs as tensor variables, checked against `idx_list`."""
    kinds = []
    for e in idx_list:
        kind = entry_kind(e)
        if kind == "slice":
            kinds.extend(("scalar", e) for p in (e.start, e.stop, e.step) if p == SCALAR)
        elif kind in ("scalar", "array", "mask"):
            kinds.append((kind, e))
    if len(index) != len(kinds):
        raise TypeError(f"{op}: expected {len(kinds)} index input(s) after {_label(x)}, got "
                        f"{len(index)}")
    checked = []
    for i, ((kind, e), v) in enumerate(zip(kinds, index, strict=True)):
        v = as_tensor_variable(v)
        if kind == "mask":
            ok = v.dtype == "bool" and v.ndim == e.ndim
            expected = f"a {e.ndim}-d boolean mask"
        else:
            ok = v.dtype in INT_DTYPES and (v.ndim == 0 if kind == "scalar" else True)
            expected = "an integer scalar" if kind == "scalar" else "an integer array"
        if not ok:
            raise TypeError(f"{op}: index input {i} for {_label(x)} must be {expected}, got "
                            f"{v} of type {v.type}")
        checked.append(v)
    return checked


# -- shapes -------------------------------------------------------------------------------------
# One slice-length formula serves Python ints (static shapes) and int64 scalars
# (infer_shape): the helpers below pick Python or symbolic arithmetic.

def _is_sym(*vs):
    return any(isinstance(v, Variable) for v in vs)


def _i64(v):
    if isinstance(v, Variable):
        return tb.cast(v, "int64")
    return constant(np.int64(v))


def _where(cond, a, b):
    if _is_sym(cond):
        return tb.switch(cond, _i64(a), _i64(b))
    return a if cond else b


def _lt(a, b):
    return tb.lt(a, b) if _is_sym(a, b) else a < b


def _max(a, b):
    return tb.maximum(_i64(a), _i64(b)) if _is_sym(a, b) else max(a, b)


def _min(a, b):
    return tb.minimum(_i64(a), _i64(b)) if _is_sym(a, b) else min(a, b)


def _clamp(i, n, lower, upper):
    # Python's slice.indices: negative counts from the end, then clip to [lower, upper].
    return _where(_lt(i, 0), _max(i + n, lower), _min(i, upper))


def _slice_length_signed(n, start, stop, step, positive):
    if positive:
        first = 0 if start is None else _clamp(start, n, 0, n)
        last = n if stop is None else _clamp(stop, n, 0, n)
        return _max(0, (last - first + step - 1) // step)
    first = n - 1 if start is None else _clamp(start, n, -1, n - 1)
    last = -1 if stop is None else _clamp(stop, n, -1, n - 1)
    return _max(0, (first - last - step - 1) // (-step))


def slice_length(n, start, stop, step):
    """len(range(n)[start:stop:step]) for Python ints, or as an int64 scalar when
    any argument is symbolic (None: the slice default)."""
    n, start, stop, step = (_i64(p) if _is_sym(p) else p for p in (n, start, stop, step))
    if step is None:
        step = 1
    if not _is_sym(step):
        if step == 0:
            raise ValueError("slice step cannot be zero")
        return _slice_length_signed(n, start, stop, step, step > 0)
    return tb.switch(tb.gt(step, 0),
                     _i64(_slice_length_signed(n, start, stop, step, True)),
                     _i64(_slice_length_signed(n, start, stop, step, False)))


def _layout(idx_list, values, x_dims, slice_len, adv_shape, broadcast, one):
    """The output dims of x[idx] from the input dims (NumPy's placement rules)."""
    bound = _bind(idx_list, values)
    advanced = is_advanced(idx_list)
    adv_kinds = ("int", "scalar", "array", "mask") if advanced else ()
    adv_entries = [i for i, (_, kind, _, _) in enumerate(bound) if kind in adv_kinds]
    # Advanced indexes next to each other put their dims where they are;
    # separated (by a slice or a new axis) they go first.
    together = adv_entries == list(range(adv_entries[0], adv_entries[-1] + 1)) if (
        adv_entries) else True
    out, adv_shapes, adv_at, end = [], [], None, 0
    for e, kind, dim, value in bound:
        end = dim + _consumed(e)
        if kind == "new":
            out.append(one)
        elif kind == "slice":
            out.append(slice_len(x_dims[dim], *value))
        elif kind in adv_kinds:
            adv_at = len(out) if adv_at is None else adv_at
            adv_shapes.append(adv_shape(kind, value))
    out.extend(x_dims[end:])
    if advanced:
        pos = adv_at if together else 0
        out[pos:pos] = broadcast(adv_shapes)
    return tuple(out)


def static_indexed_shape(x, idx_list, index, rules=None):
    """The static shape of x[idx] (None where unknown); `rules`: see AdvancedRules."""
    unknown = object()

    def slice_len(n, start, stop, step):
        if start is None and stop is None and step in (None, 1, -1):
            return n
        if n is None or unknown in (start, stop, step):
            return None
        return slice_length(n, start, stop, step)

    values = [unknown if (v.ndim == 0 and v.dtype != "bool") else v for v in index]
    return _layout(idx_list, values, x.type.shape, slice_len,
                   rules and rules.static_index_shape,
                   rules and (lambda shapes: rules.static_broadcast(shapes, x)), 1)


def symbolic_indexed_shape(idx_list, index, x_shape, index_shapes, rules=None):
    """The shape of x[idx] as int64 scalars, from the input shapes (infer_shape)."""
    shapes = {id(v): s for v, s in zip(index, index_shapes, strict=True)}

    def slice_len(n, *parts):
        if all(p is None for p in parts):
            return n
        return _i64(slice_length(n, *parts))

    return _layout(idx_list, index, tuple(x_shape), slice_len,
                   rules and (lambda kind, v: rules.symbolic_index_shape(kind, v, shapes)),
                   rules and rules.symbolic_broadcast, constant(np.int64(1)))


def check_static_index(x, idx_list, index, rules=None):
    """Raise IndexError for constant indexes that static sizes prove out of range."""
    for e, kind, dim, value in _bind(idx_list, index):
        if kind == "int":
            n = x.type.shape[dim]
            if n is not None and not -n <= e < n:
                raise IndexError(f"index {e} is out of bounds for dimension {dim} of "
                                 f"{_label(x)}, whose size is {n} (static shape "
                                 f"{x.type.describe_shape()})")
        elif rules is not None:
            rules.check_static(x, kind, dim, value)


# -- running an index ---------------------------------------------------------------------------

def numpy_index(node, idx_list, values, x):
    """The NumPy index tuple for `x` (the value of node.inputs[0]); checks integers."""
    index = []
    for _, kind, dim, value in _bind(idx_list, values):
        if kind in ("int", "scalar"):
            i, n = int(value), x.shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} of "
                                 f"{_label(node.inputs[0])}, whose size is {n} (shape "
                                 f"{x.shape})")
            index.append(i)
        elif kind == "slice":
            index.append(slice(*(None if p is None else int(p) for p in value)))
        else:
            index.append(value)
    return tuple(index)


def index_value(node, idx_list, x, index):
    """x[index] (NumPy), with the variable's name in any IndexError."""
    try:
        return x[index]
    except IndexError as exc:
        raise IndexError(f"indexing {_label(node.inputs[0])} (shape {x.shape}) with "
                         f"[{format_index(idx_list)}]: {exc}") from None


def check_value_shape(node, y_var, y, target):
    """Raise unless y broadcasts to `target` (only dims of static size 1 broadcast)."""
    offset = len(target) - y.ndim
    for d, size in enumerate(y.shape):
        want = target[offset + d]
        if size == want:
            continue
        if size == 1 and y_var.type.shape[d] == 1:
            continue
        hint = (" (a dimension broadcasts only when declared broadcastable: give the value a "
                "static size of 1 there, e.g. with T.shape_padleft or T.row)"
                if size == 1 else "")
        raise ValueError(f"cannot write a value of shape {y.shape} into {_label(node.inputs[0])}"
                         f"[...] of shape {tuple(target)}: dimension {d} has size {size}, "
                         f"expected {want}{hint}")


# -- the ops --------------------------------------------------------------------------------------

def _checked_idx_list(op_class, idx_list):
    idx_list = tuple(idx_list)
    for e in idx_list:
        parts = (e.start, e.stop, e.step) if isinstance(e, Slice) else ()
        if not (e is None or type(e) is int or e in (SCALAR, ARRAY) or isinstance(e, Mask)
                or (parts and all(p is None or type(p) is int or p == SCALAR for p in parts))):
            raise TypeError(f"{op_class.__name__}: invalid index entry {e!r}")
    if op_class.rules is None and is_advanced(idx_list):
        raise TypeError(f"{op_class.__name__} takes a basic index (ints, slices, None), not "
                        f"[{format_index(idx_list)}]; use its Advanced counterpart")
    return idx_list


class _GetItemOp(Op):
    """x[idx]: the parts shared by Subtensor and AdvancedSubtensor."""

    __props__ = ("idx_list",)
    rules = None  # the advanced ops' AdvancedRules: shapes and checks of arrays and masks

    def __init__(self, idx_list):
        self.idx_list = _checked_idx_list(type(self), idx_list)

    def __str__(self):
        return f"{type(self).__name__}{{{format_index(self.idx_list)}}}"

    def set_op(self, set_instead_of_inc):
        """The op writing into this op's index (its gradient and set/inc_subtensor)."""
        raise NotImplementedError

    def make_node(self, x, *index):
        x = as_tensor_variable(x)
        index = check_index_inputs(self, x, self.idx_list, index)
        check_static_index(x, self.idx_list, index, self.rules)
        shape = static_indexed_shape(x, self.idx_list, index, self.rules)
        return Apply(self, [x, *index], [TensorType(x.dtype, shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        x, *values = inputs
        index = numpy_index(node, self.idx_list, values, x)
        output_storage[0][0] = np.asarray(index_value(node, self.idx_list, x, index))

    def infer_shape(self, node, input_shapes):
        x_shape, *index_shapes = input_shapes
        return [symbolic_indexed_shape(self.idx_list, node.inputs[1:], x_shape, index_shapes,
                                       self.rules)]

    def grad(self, inputs, output_grads):
        x, *index = inputs
        (gz,) = output_grads
        gx = None
        if x.dtype in FLOAT_DTYPES:
            gx = self.set_op(False)(zeros_like(x), gz, *index)
        return [gx] + [None] * len(index)

    def R_op(self, inputs, eval_points):
        t = eval_points[0]
        return [None if t is None else self(t, *inputs[1:])]

    def pretty(self, input_strs):
        return f"{input_strs[0]}[{format_index(self.idx_list, input_strs[1:])}]"


def _fit_value(op, x, y, target):
    """y cast to x's dtype, after checking it fits into x[idx] of static shape `target`."""
    if y.dtype != x.dtype:
        lossless = upcast(x.dtype, y.dtype) == x.dtype
        if not lossless and isinstance(y, Constant):
            cast = y.data.astype(x.dtype)
            lossless = bool(np.all(cast == y.data)) or (
                x.dtype in FLOAT_DTYPES and y.dtype in FLOAT_DTYPES)
        if not lossless:
            raise TypeError(f"{op}: the value {_label(y)} has dtype {y.dtype}, which "
                            f"{_label(x)} (dtype {x.dtype}) cannot hold without loss; cast it "
                            f"with T.cast(value, {x.dtype!r})")
        y = tb.cast(y, x.dtype)
    if y.ndim > len(target):
        raise ValueError(f"{op}: the value {_label(y)} has {y.ndim} dimensions, more than the "
                         f"{len(target)} of {_label(x)}[...]")
    offset = len(target) - y.ndim
    for d, size in enumerate(y.type.shape):
        want = target[offset + d]
        if size is not None and want is not None and size not in (1, want):
            raise ValueError(f"{op}: cannot write a value of static shape "
                             f"{y.type.describe_shape()} into {_label(x)}[...] of static "
                             f"shape {TensorType('int8', target).describe_shape()}")
    return y


class _SetItemOp(Op):
    """A copy of x with x[idx] set to (or incremented by) y broadcast to its shape:
    the parts shared by IncSubtensor and AdvancedIncSubtensor."""

    __props__ = ("idx_list", "set_instead_of_inc")
    rules = None

    def __init__(self, idx_list, set_instead_of_inc=False):
        self.idx_list = _checked_idx_list(type(self), idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self):
        what = "set" if self.set_instead_of_inc else "inc"
        return f"{type(self).__name__}{{{what}, {format_index(self.idx_list)}}}"

    def get_op(self):
        """The op reading this op's index."""
        raise NotImplementedError

    def write(self, out, index, y):
        """Write y into out[index] in place."""
        raise NotImplementedError

    def make_node(self, x, y, *index):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        index = check_index_inputs(self, x, self.idx_list, index)
        check_static_index(x, self.idx_list, index, self.rules)
        y = _fit_value(self, x, y, static_indexed_shape(x, self.idx_list, index, self.rules))
        return Apply(self, [x, y, *index], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        x, y, *values = inputs
        out = x.copy()
        index = numpy_index(node, self.idx_list, values, x)
        target = np.shape(index_value(node, self.idx_list, out, index))
        check_value_shape(node, node.inputs[1], y, target)
        self.write(out, index, y)
        output_storage[0][0] = out

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, output_grads):
        x, y, *index = inputs
        (gz,) = output_grads
        gx = gy = None
        if x.dtype in FLOAT_DTYPES:
            gx = gz
            if self.set_instead_of_inc:  # the overwritten elements get no gradient
                zero = constant(np.zeros((), dtype=gz.dtype))
                gx = type(self)(self.idx_list, True)(gz, zero, *index)
        if y.dtype in FLOAT_DTYPES:
            # With repeated indices, `set` keeps one of the values; the gradient
            # treats each as if it were kept.
            gy = reduce_to_input(self.get_op()(gz, *index), y)
        return [gx, gy] + [None] * len(index)

    def R_op(self, inputs, eval_points):
        x, y, *index = inputs
        tx, ty = eval_points[:2]
        if x.dtype not in FLOAT_DTYPES or (tx is None and ty is None):
            return [None]
        if ty is None:
            if not self.set_instead_of_inc:
                return [tx]  # adding a constant moves nothing
            ty = constant(np.zeros((), dtype=tx.dtype))  # the written values are constant
        if tx is None:
            tx = zeros_like(x)
        return [self(tx, ty, *index)]

    def pretty(self, input_strs):
        fn = "set_subtensor" if self.set_instead_of_inc else "inc_subtensor"
        idx = format_index(self.idx_list, input_strs[2:])
        return f"{fn}({input_strs[0]}[{idx}], {input_strs[1]})"


class Subtensor(_GetItemOp):
    """x[idx] for a basic index (ints, slices, new axes): a view of x."""

    view_map = {0: [0]}

    def set_op(self, set_instead_of_inc):
        return IncSubtensor(self.idx_list, set_instead_of_inc)


class IncSubtensor(_SetItemOp):
    """A copy of x with the basic index x[idx] set to, or incremented by, y."""

    def get_op(self):
        return Subtensor(self.idx_list)

    def write(self, out, index, y):
        if self.set_instead_of_inc:
            out[index] = y
        else:
            out[index] += y


# -- the user's functions ----------------------------------------------------------------------

def _shape_entry(x, idx_list):
    """x.shape[i] and x.shape[a:b] straight from shape_i (constants where known)."""
    if x.owner is None or not isinstance(x.owner.op, Shape) or len(idx_list) != 1:
        return None
    (e,) = idx_list
    source = x.owner.inputs[0]
    if isinstance(e, int):
        return shape_i(source, e)
    if isinstance(e, Slice) and SCALAR not in (e.start, e.stop, e.step):
        dims = range(source.ndim)[slice(e.start, e.stop, e.step)]
        if not dims:
            return constant(np.zeros(0, dtype="int64"))
        return MakeVector("int64")(*[shape_i(source, d) for d in dims])
    return None


def getitem(x, index):
    """x[index] with NumPy's semantics (what `TensorVariable.__getitem__` calls)."""
    x = as_tensor_variable(x)
    idx_list, inputs = parse_index(x, index)
    check_static_index(x, idx_list, inputs)
    shortcut = _shape_entry(x, idx_list)
    if shortcut is not None:
        return shortcut
    if is_advanced(idx_list):
        from symtheano.tensor.advanced_subtensor import AdvancedSubtensor

        return AdvancedSubtensor(idx_list)(x, *inputs)
    return Subtensor(idx_list)(x, *inputs)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False,
                  tolerate_inplace_aliasing=False):
    """A copy of the indexed variable with `y` added at the index, as Theano:
    `inc_subtensor(a[idx], y)`. Repeated indices accumulate (like np.add.at).

    The result is always a new array; `inplace` and `tolerate_inplace_aliasing`
    are accepted for Theano compatibility and ignored.
    """
    x = as_tensor_variable(x)
    fn = "set_subtensor" if set_instead_of_inc else "inc_subtensor"
    node = x.owner
    if node is None or not isinstance(node.op, _GetItemOp):
        how = f"computed by {node.op}" if node is not None else "not computed by any op"
        raise TypeError(f"{fn}: the first argument must be the result of indexing a variable, "
                        f"as in {fn}(a[idx], y); got {_label(x)}, {how}")
    return node.op.set_op(set_instead_of_inc)(node.inputs[0], y, *node.inputs[1:])


def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """A copy of the indexed variable with `y` written at the index, as Theano:
    `set_subtensor(a[idx], y)`; y broadcasts to the indexed shape."""
    return inc_subtensor(x, y, inplace, set_instead_of_inc=True,
                         tolerate_inplace_aliasing=tolerate_inplace_aliasing)


__all__ = [
    "getitem", "set_subtensor", "inc_subtensor", "Subtensor", "IncSubtensor",
]
