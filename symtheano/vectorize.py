"""Batching: `vectorize_graph` turns a graph into the graph that computes it for a
whole batch of values of some of its variables at once.

`vectorize_graph(outputs, replace={u: U})` takes U to hold a batch of values of u
along a new leading dimension (U.shape == (B,) + u.shape). Every variable that
depends on u gets that leading dimension too; nodes that do not depend on u are
shared unchanged, so work that is the same for every batch item is done once.
The returned outputs each have the leading batch dimension (an output that does
not depend on u is broadcast along it).

How each node is batched is a *rule* registered for its op class in
`BATCHING_RULES` (looked up along the op's MRO): the rule receives the original
node, its new inputs and which of them carry the batch dimension, and returns
the new outputs (each with or without the batch dimension: an output whose ndim
grew by one is batched; `shape(x)` of a batched x, for instance, is not). The
rules map an op onto its batched form: an elementwise op broadcasts an unbatched
input along the batch, a reduction or a softmax shifts its axes, an index gets a
leading full slice, a product becomes a tensordot or one batched matrix product,
a BLAS op or a PaddedSum is rebuilt from its unfused graph and that is batched.

A rule may decline (return None) where the batched form would need batch items
of different shapes, e.g. a reshape to a shape that itself depends on u. Such
nodes, and ops with no rule (ARange, Eye), become `Blockwise(op)`: correct for
every op, but it loops over the batch in Python, calling the op's `perform` once
per item. `fallback_nodes(outputs)` lists them, so a caller (or a test) can check
that a graph was vectorised for real.

`symtheano.derivatives` builds Jacobians and Hessians with it: one reverse sweep
with a symbolic output gradient, batched over the rows of an identity matrix.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op, Variable, ancestors, toposort
from symtheano.ifelse import IfElse, ifelse
from symtheano.tensor import basic as tb
from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from symtheano.tensor.blas import Dot, MatMul, TensorDot, outer, size_of, tensordot
from symtheano.tensor.blas import dot as dot_
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger
from symtheano.tensor.composite import Composite, FusedReduce
from symtheano.tensor.elemwise import (
    DimShuffle,
    Elemwise,
    dimshuffle,
    shape_padleft,
    shape_padright,
)
from symtheano.tensor.extra_ops import CumOp, SearchSorted
from symtheano.tensor.join import Join, Repeat, RepeatSum, Split
from symtheano.tensor.nnet import LogSoftmax, OneHot, Softmax
from symtheano.tensor.padded_sum import PaddedSum
from symtheano.tensor.reduce import Argmax, Reduce
from symtheano.tensor.reduce import sum as sum_
from symtheano.tensor.shape import (
    Alloc,
    CheckShape,
    MakeVector,
    Reshape,
    Shape,
    ShapeI,
    SpecifyShape,
    alloc,
    reshape,
    shape_i,
    shape_tuple,
)
from symtheano.tensor.sort import ArgSort, Sort
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy
from symtheano.tensor.subtensor import (
    IncSubtensor,
    Mask,
    Slice,
    Subtensor,
    _bind,
    entry_kind,
    static_indexed_shape,
)
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import as_tensor_variable, constant

__all__ = ["vectorize_graph", "Blockwise", "fallback_nodes", "batching_rule", "BATCHING_RULES"]

BATCHING_RULES = {}  # op class -> rule(node, inputs, batched) -> new outputs, or None


def batching_rule(*op_classes):
    """Register the decorated function as the batching rule of `op_classes`."""
    def register(rule):
        for cls in op_classes:
            BATCHING_RULES[cls] = rule
        return rule
    return register


def rule_for(op):
    """The batching rule for `op` (the nearest along its class's MRO), or None."""
    _register_late_rules()
    for cls in type(op).__mro__:
        if cls in BATCHING_RULES:
            return BATCHING_RULES[cls]
    return None


# -- the transform ----------------------------------------------------------------------------

def vectorize_graph(outputs, replace):
    """The graph of `outputs` computed for a batch of values of the variables in
    `replace` ({u: U}, U holding the batch along a new leading dimension; several
    entries must share one batch size). Returns one variable per output (the same
    structure as `outputs`), each with the batch as its leading dimension.
    """
    single = not isinstance(outputs, list | tuple)
    outs = [as_tensor_variable(o) for o in ([outputs] if single else outputs)]
    if not replace:
        raise ValueError("vectorize_graph: `replace` must map at least one variable to its "
                         "batch of values")
    memo = {}
    for old, new in replace.items():
        memo[id(old)] = _checked_replacement(old, new)
    first = next(iter(memo.values()))
    for node in toposort(outs):
        if all(id(o) in memo for o in node.outputs):
            continue
        inputs = [memo.get(id(i), i) for i in node.inputs]
        batched = [new.ndim == old.ndim + 1 for new, old in zip(inputs, node.inputs)]
        if any(batched):
            results = batch_node(node, inputs, batched)
        elif all(new is old for new, old in zip(inputs, node.inputs)):
            continue
        else:  # inputs replaced by unbatched variables (the shape of a batched value)
            results = node.clone_with_new_inputs(inputs, strict=False).outputs
        for old, new in zip(node.outputs, results):
            memo.setdefault(id(old), new)
    results = []
    for o in outs:
        new = memo.get(id(o), o)
        if new.ndim == o.ndim:  # the same for every item: broadcast along the batch
            new = alloc(new, shape_i(first, 0), *shape_tuple(new))
        results.append(new)
    return results[0] if single else results


def _checked_replacement(old, new):
    new = as_tensor_variable(new)
    if new.ndim != old.ndim + 1:
        raise ValueError(f"vectorize_graph: the batch for {old} (ndim {old.ndim}) must have "
                         f"one more dimension, the leading batch one; got {new} with "
                         f"{new.ndim} {new.type.describe_shape()}")
    if new.dtype != old.dtype:
        raise TypeError(f"vectorize_graph: the batch for {old} must have its dtype "
                        f"{old.dtype}, got {new} of dtype {new.dtype}")
    return _fit_batched(old, new, "vectorize_graph: the batch for")


def _fit_batched(old, new, what):
    """`new` (batched) declared to have `old`'s static sizes in its item dimensions."""
    core = []
    for d, (o, n) in enumerate(zip(old.type.shape, new.type.shape[1:])):
        if o is not None and n is not None and o != n:
            raise ValueError(f"{what} {old} {old.type.describe_shape()} has static size {n} "
                             f"in item dimension {d}: {new} {new.type.describe_shape()}")
        core.append(n if o is None else o)
    shape = (new.type.shape[0],) + tuple(core)
    return new if shape == new.type.shape else SpecifyShape(shape)(new)


def batch_node(node, inputs, batched):
    """The outputs of `node` for the batched `inputs` (by its op's rule, else by a
    Blockwise loop), each checked to keep its dtype and item static shape."""
    rule = rule_for(node.op)
    results = rule(node, inputs, batched) if rule is not None else None
    if results is None:
        results = Blockwise(node.op, batched).make_node(*inputs).outputs
    fitted = []
    for old, new in zip(node.outputs, results, strict=True):
        new = as_tensor_variable(new)
        if new.dtype != old.dtype:
            new = tb.cast(new, old.dtype)
        if new.ndim == old.ndim + 1:
            new = _fit_batched(old, new, f"batching {node.op}: the batched")
        elif new.ndim != old.ndim:
            raise AssertionError(f"the batching rule of {node.op} gave {new} with {new.ndim} "
                                 f"dimensions for {old} with {old.ndim}")
        fitted.append(new)
    return fitted


def fallback_nodes(outputs):
    """The Blockwise nodes (per-item loops) in the graph of `outputs`."""
    outs = outputs if isinstance(outputs, list | tuple) else [outputs]
    return [n for n in toposort(outs) if isinstance(n.op, Blockwise)]


# -- the fallback: a loop over the batch --------------------------------------------------------

class Blockwise(Op):
    """`core_op` applied to each item of a batch: input i carries a leading batch
    dimension where `batched[i]`; every output does. `perform` calls the core op's
    perform once per item (items must give results of one shape) and stacks them.
    Its gradient and pushforward are the core op's, batched by `vectorize_graph`."""

    __props__ = ("core_op", "batched")

    def __init__(self, core_op, batched):
        self.core_op = core_op
        self.batched = tuple(bool(b) for b in batched)

    def __str__(self):
        return f"Blockwise{{{self.core_op}}}"

    def core_node(self, inputs):
        """The core op's node for one item: stand-ins for the batched inputs."""
        stand_ins = [TensorType(x.dtype, x.type.shape[1:]).make_variable() if b else x
                     for x, b in zip(inputs, self.batched, strict=True)]
        node = self.core_op.make_node(*stand_ins)
        for i, (got, want) in enumerate(zip(node.inputs, stand_ins, strict=True)):
            if got.dtype != want.dtype or got.ndim != want.ndim:
                raise TypeError(f"{self}: input {i} ({inputs[i]}) would be converted by "
                                f"{self.core_op} to {got.type}; batch converted inputs")
        return node

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != len(self.batched):
            raise TypeError(f"{self} takes {len(self.batched)} inputs, got {len(inputs)}")
        if not any(self.batched):
            raise ValueError(f"{self}: no input is batched")
        for x, b in zip(inputs, self.batched):
            if b and x.ndim == 0:
                raise TypeError(f"{self}: the batched input {x} has no batch dimension")
        core = self.core_node(inputs)
        sizes = {x.type.shape[0] for x, b in zip(inputs, self.batched) if b} - {None}
        size = sizes.pop() if len(sizes) == 1 else None
        outs = [TensorType(o.dtype, (size,) + o.type.shape).make_variable()
                for o in core.outputs]
        return Apply(self, inputs, outs)

    def _core(self, node):
        core = node.__dict__.get("_blockwise_core")
        if core is None:
            core = node._blockwise_core = self.core_node(node.inputs)
        return core

    def perform(self, node, inputs, output_storage):
        core = self._core(node)
        sizes = {x.shape[0] for x, b in zip(inputs, self.batched) if b}
        if len(sizes) != 1:
            shapes = ", ".join(f"{v} {x.shape}" for v, x, b in
                               zip(node.inputs, inputs, self.batched) if b)
            raise ValueError(f"{self}: the batched inputs have different batch sizes: {shapes}")
        n = sizes.pop()
        copy = bool(getattr(self.core_op, "destroy_map", None))
        items = [[] for _ in node.outputs]
        for k in range(n):
            args = [x[k, ...] if b else x for x, b in zip(inputs, self.batched)]
            if copy:
                args = [np.array(a, copy=True) for a in args]
            storage = [[None] for _ in core.outputs]
            self.core_op.perform(core, args, storage)
            for j, cell in enumerate(storage):
                items[j].append(np.asarray(cell[0]))
        for j, (out, core_out) in enumerate(zip(node.outputs, core.outputs)):
            if n == 0:
                shape = (0,) + tuple(s or 0 for s in core_out.type.shape)
                output_storage[j][0] = np.zeros(shape, dtype=out.dtype)
                continue
            shapes = {a.shape for a in items[j]}
            if len(shapes) != 1:
                raise ValueError(f"{self}: the batch items give results of different shapes "
                                 f"{sorted(shapes)}; a batch must be rectangular")
            output_storage[j][0] = np.stack(items[j]).astype(out.dtype, copy=False)

    def infer_shape(self, node, input_shapes):
        core = self._core(node)
        core_shapes = [tuple(s[1:]) if b else s for s, b in zip(input_shapes, self.batched)]
        shapes = self.core_op.infer_shape(core, core_shapes)
        stand_ins = {id(v) for v, b in zip(core.inputs, self.batched) if b}
        entries = [as_tensor_variable(e) for shp in shapes for e in shp]
        if any(id(v) in stand_ins for v in ancestors(entries)):
            raise NotImplementedError(f"{self}: the item shape depends on item values")
        n = next(s[0] for s, b in zip(input_shapes, self.batched) if b)
        return [(n,) + tuple(shp) for shp in shapes]

    def _batched_graph(self, inputs, build):
        """`build(core node)` -> core variables (None allowed), batched over `inputs`."""
        core = self.core_node(inputs)
        stand_ins = {v: x for v, x, b in zip(core.inputs, inputs, self.batched) if b}
        outs, extra = build(core)
        present = [o for o in outs if o is not None]
        if not present:
            return [None] * len(outs)
        it = iter(vectorize_graph(present, {**stand_ins, **extra}))
        return [None if o is None else next(it) for o in outs]

    def L_op(self, inputs, outputs, output_grads):
        def build(core):
            gouts = [None if g is None else TensorType(g.dtype, g.type.shape[1:])
                     .make_variable() for g in output_grads]
            grads = self.core_op.L_op(core.inputs, core.outputs, gouts)
            extra = dict(zip(core.outputs, outputs))
            extra.update({g: batched for g, batched in zip(gouts, output_grads)
                          if g is not None})
            return [None if g is None else as_tensor_variable(g) for g in grads], extra

        grads = self._batched_graph(inputs, build)
        # An unbatched input is shared by every item: its gradient sums theirs.
        return [g if g is None or b else sum_(g, axis=0)
                for g, b in zip(grads, self.batched)]

    def R_op(self, inputs, eval_points):
        def build(core):
            tangents, extra = [], dict(zip(core.outputs, self.make_node(*inputs).outputs))
            for t, b in zip(eval_points, self.batched):
                if t is not None and b:
                    stand_in = TensorType(t.dtype, t.type.shape[1:]).make_variable()
                    extra[stand_in] = t
                    t = stand_in
                tangents.append(t)
            outs = self.core_op.R_op(core.inputs, tangents)
            return [o if o is None or isinstance(o, Variable) else None for o in outs], extra

        return self._batched_graph(inputs, build)


# -- helpers for the rules --------------------------------------------------------------------

def batch_size(inputs, batched):
    """The batch size, as an int64 scalar, from the first batched input."""
    return shape_i(next(x for x, b in zip(inputs, batched) if b), 0)


def to_batched(x, is_batched, size):
    """`x` with the batch dimension: an unbatched x is broadcast along it."""
    return x if is_batched else alloc(x, size, *shape_tuple(x))


def pad_items(x, item_ndim, ndim):
    """Batched `x` with its items left-padded by broadcastable dimensions to `ndim`
    (what Elemwise's broadcasting would do to the item)."""
    if ndim == item_ndim:
        return x
    return dimshuffle(x, [0] + ["x"] * (ndim - item_ndim) + list(range(1, item_ndim + 1)))


def move_axis(x, src, dst):
    """`x` with dimension `src` moved to position `dst`."""
    if src == dst:
        return x
    order = [d for d in range(x.ndim) if d != src]
    order.insert(dst, src)
    return dimshuffle(x, order)


def with_props(op, **changes):
    """A copy of `op` with some `__props__` changed (its constructor takes them by name)."""
    props = {p: getattr(op, p) for p in op.__props__}
    props.update(changes)
    return type(op)(**props)


def flatten_items(x):
    """Batched `x` as a (batch, item size) matrix."""
    if x.ndim == 1:
        return shape_padright(x)
    n = tb.constant(np.int64(1))
    for d in range(1, x.ndim):
        n = n * shape_i(x, d)
    return reshape(x, (shape_i(x, 0), n))


# -- elementwise, shapes and axes ---------------------------------------------------------------

@batching_rule(Elemwise)
def _elemwise(node, inputs, batched):
    # make_node left-pads the unbatched inputs, so they broadcast along the batch.
    return [node.op(*inputs)]


@batching_rule(DimShuffle)
def _dimshuffle(node, inputs, batched):
    op = node.op
    order = (0,) + tuple(d if d == "x" else d + 1 for d in op.new_order)
    return [DimShuffle(op.input_ndim + 1, order)(inputs[0])]


@batching_rule(Reduce, LogSumExp)
def _reduce(node, inputs, batched):
    return [with_props(node.op, axis=tuple(a + 1 for a in node.op.axis))(inputs[0])]


@batching_rule(Argmax)
def _argmax(node, inputs, batched):
    (x,) = inputs
    if node.op.axis is None:
        return [type(node.op)(1)(flatten_items(x))]
    return [type(node.op)(node.op.axis + 1)(x)]


@batching_rule(Softmax, LogSoftmax)
def _softmax(node, inputs, batched):
    (x,) = inputs
    if node.op.axis is not None:
        return [type(node.op)(node.op.axis + 1)(x)]
    return [reshape(type(node.op)(1)(flatten_items(x)), shape_tuple(x))]


@batching_rule(SoftmaxCrossentropy)
def _softmax_crossentropy(node, inputs, batched):
    n = batch_size(inputs, batched)
    return [node.op(*[to_batched(x, b, n) for x, b in zip(inputs, batched)])]


@batching_rule(OneHot)
def _one_hot(node, inputs, batched):
    return None if batched[1] else [node.op(*inputs)]


@batching_rule(Join)
def _join(node, inputs, batched):
    n = batch_size(inputs, batched)
    axis = node.op.axis % node.outputs[0].ndim + 1
    return [Join(axis)(*[to_batched(x, b, n) for x, b in zip(inputs, batched)])]


@batching_rule(Split, Repeat, RepeatSum)
def _along_axis(node, inputs, batched):
    if any(batched[1:]):  # sizes or counts that differ between items
        return None
    axis = node.op.axis % node.inputs[0].ndim + 1
    return with_props(node.op, axis=axis).make_node(*inputs).outputs


@batching_rule(Sort, ArgSort, CumOp)
def _sort_along_axis(node, inputs, batched):
    axis = node.op.axis % node.inputs[0].ndim + 1
    return with_props(node.op, axis=axis).make_node(*inputs).outputs


@batching_rule(IfElse)
def _ifelse(node, inputs, batched):
    if batched[0]:  # one condition per item: the items may take different branches
        return None
    # Each branch's graph, read from this node's inputs, batched like the rest.
    outer = [old if b else new for old, new, b in zip(node.inputs[1:], inputs[1:], batched[1:])]
    replace = {old: new for old, new, b in zip(node.inputs[1:], inputs[1:], batched[1:]) if b}
    then = vectorize_graph(node.op.then_branch.rebuild(outer), replace)
    other = vectorize_graph(node.op.else_branch.rebuild(outer), replace)
    return ifelse(inputs[0], list(then), list(other), node.op.name)


@batching_rule(SearchSorted)
def _searchsorted(node, inputs, batched):
    # Values of any shape are searched at once; a batch of sorted arrays is a loop.
    return None if batched[0] or any(batched[2:]) else [node.op(*inputs)]


@batching_rule(Shape)
def _shape(node, inputs, batched):
    (x,) = inputs  # every item has the same shape: the result is not batched
    if x.ndim == 1:
        return [constant(np.zeros(0, dtype="int64"))]
    return [MakeVector("int64")(*[shape_i(x, d) for d in range(1, x.ndim)])]


@batching_rule(ShapeI)
def _shape_i(node, inputs, batched):
    return [shape_i(inputs[0], node.op.i + 1)]


@batching_rule(MakeVector)
def _make_vector(node, inputs, batched):
    n = batch_size(inputs, batched)
    columns = [shape_padright(to_batched(x, b, n)) for x, b in zip(inputs, batched)]
    return [Join(1)(*columns)]


@batching_rule(Reshape)
def _reshape(node, inputs, batched):
    x, shp = inputs
    if batched[1]:
        return None
    out = node.outputs[0]
    n = shape_i(x, 0)
    if None not in out.type.shape:
        vec = MakeVector("int64")(n, *[constant(np.int64(s)) for s in out.type.shape])
    else:
        vec = Join(0)(MakeVector("int64")(n), shp)
    static = (x.type.shape[0],) + out.type.shape
    return Reshape(node.op.ndim + 1).make_node(x, vec, static).outputs


@batching_rule(Alloc)
def _alloc(node, inputs, batched):
    if any(batched[1:]):
        return None
    value, *dims = inputs
    value = pad_items(value, node.inputs[0].ndim, len(dims))
    return [alloc(value, shape_i(value, 0), *dims)]


@batching_rule(SpecifyShape)
def _specify_shape(node, inputs, batched):
    (x,) = inputs
    return [SpecifyShape((x.type.shape[0],) + node.op.shape)(x)]


@batching_rule(CheckShape)
def _check_shape(node, inputs, batched):
    if any(batched[1:]):
        return None
    return [CheckShape(tuple(d + 1 for d in node.op.dims))(*inputs)]


# -- indexing --------------------------------------------------------------------------------

def batched_index(idx_list):
    """The index with a leading full slice (for the batch), trailing full slices dropped."""
    entries = [Slice(), *idx_list]
    while entries and entries[-1] == Slice():
        entries.pop()
    return tuple(entries)


def batch_position(idx_list, index):
    """Where the batch dimension lands in x[:, idx] for an advanced index: first,
    unless the advanced entries are separated (by a slice or a new axis), when
    NumPy puts their broadcast dimensions first."""
    adv, ndim = [], 0
    for k, (_, kind, _, value) in enumerate(_bind(idx_list, index)):
        if kind in ("int", "scalar", "array", "mask"):
            adv.append(k)
            ndim = max(ndim, value.ndim if kind == "array" else int(kind == "mask"))
    together = not adv or adv == list(range(adv[0], adv[-1] + 1))
    return 0 if together else ndim


@batching_rule(Subtensor)
def _subtensor(node, inputs, batched):
    if any(batched[1:]):  # an index that differs between items
        return None
    return [Subtensor(batched_index(node.op.idx_list))(*inputs)]


@batching_rule(AdvancedSubtensor)
def _advanced_subtensor(node, inputs, batched):
    if any(batched[1:]):
        return None
    op = node.op
    out = AdvancedSubtensor(batched_index(op.idx_list))(*inputs)
    return [move_axis(out, batch_position(op.idx_list, node.inputs[1:]), 0)]


@batching_rule(IncSubtensor, AdvancedIncSubtensor)
def _set_subtensor(node, inputs, batched):
    if any(batched[2:]):
        return _set_by_batched_mask(node, inputs, batched)
    op = node.op
    x, y, *index = inputs
    n = batch_size(inputs, batched)
    old_x, old_y, *old_index = node.inputs
    pos = batch_position(op.idx_list, old_index) if op.rules is not None else 0
    if batched[1] or pos:
        # y is broadcast into x[idx] from the right: give it the target's dimensions,
        # with the batch where x[:, idx] has it.
        target = static_indexed_shape(old_x, op.idx_list, old_index, op.rules)
        y = move_axis(pad_items(to_batched(y, batched[1], n), old_y.ndim, len(target)), 0, pos)
    x = to_batched(x, batched[0], n)
    return [type(op)(batched_index(op.idx_list), op.set_instead_of_inc)(x, y, *index)]


def _set_by_batched_mask(node, inputs, batched):
    """x[mask] = y with a mask that differs between items (x[x > 0] = 0): one mask over
    the batch and the item dimensions it covers, when y is the same for every
    element written (it broadcasts over the selected elements, not along them)."""
    op = node.op
    x, y, mask, *rest = inputs
    first = op.idx_list[0] if op.idx_list else None
    old_y = node.inputs[1]
    if (op.rules is None or entry_kind(first) != "mask" or batched[1] or any(batched[3:])
            or (old_y.ndim == node.inputs[0].ndim - first.ndim + 1
                and old_y.type.shape[0] != 1)):
        return None
    n = batch_size(inputs, batched)
    idx_list = (Mask(first.ndim + 1),) + op.idx_list[1:]
    return [type(op)(idx_list, op.set_instead_of_inc)(to_batched(x, batched[0], n), y, mask,
                                                        *rest)]


# -- products -----------------------------------------------------------------------------------

def batched_tensordot(a, a_batched, b, b_batched, a_axes, b_axes, a_ndim, b_ndim):
    """tensordot(a, b, (a_axes, b_axes)) per batch item (axes and ndims of the items):
    a tensordot when one operand is shared, else one batched matrix product."""
    a_axes, b_axes = list(a_axes), list(b_axes)
    a_free = [d for d in range(a_ndim) if d not in a_axes]
    b_free = [d for d in range(b_ndim) if d not in b_axes]
    if not b_batched:  # (batch, a free, b free) directly
        return tensordot(a, b, [[d + 1 for d in a_axes], b_axes])
    if not a_batched:  # (batch, b free, a free), then a's free axes before b's
        out = tensordot(b, a, [[d + 1 for d in b_axes], a_axes])
        nb = len(b_free)
        return dimshuffle(out, [0] + list(range(nb + 1, out.ndim)) + list(range(1, nb + 1)))
    a_moved = dimshuffle(a, [0] + [d + 1 for d in a_free] + [d + 1 for d in a_axes])
    b_moved = dimshuffle(b, [0] + [d + 1 for d in b_axes] + [d + 1 for d in b_free])
    if not a_free and not b_free:  # inner products: multiply and sum
        return sum_(a_moved * b_moved, axis=tuple(range(1, a_moved.ndim)))
    a3 = reshape(a_moved, (shape_i(a, 0), size_of(a, [d + 1 for d in a_free]),
                           size_of(a, [d + 1 for d in a_axes])))
    b3 = reshape(b_moved, (shape_i(b, 0), size_of(b, [d + 1 for d in b_axes]),
                           size_of(b, [d + 1 for d in b_free])))
    out = MatMul()(a3, b3)
    sizes = ([shape_i(a, d + 1) for d in a_free] + [shape_i(b, d + 1) for d in b_free])
    return reshape(out, (shape_i(out, 0), *sizes))


@batching_rule(Dot)
def _dot(node, inputs, batched):
    a, b = node.inputs
    return [batched_tensordot(inputs[0], batched[0], inputs[1], batched[1],
                              [a.ndim - 1], [0], a.ndim, b.ndim)]


@batching_rule(TensorDot)
def _tensordot(node, inputs, batched):
    a, b = node.inputs
    return [batched_tensordot(inputs[0], batched[0], inputs[1], batched[1],
                              node.op.a_axes, node.op.b_axes, a.ndim, b.ndim)]


@batching_rule(MatMul)
def _matmul(node, inputs, batched):
    # The batch becomes one more leading (broadcasting) batch dimension of matmul.
    a, b = (x if bt else shape_padleft(x) for x, bt in zip(inputs, batched))
    return [MatMul()(a, b)]


def unfused_rule(expand):
    """A rule batching the unfused graph `expand(node, inputs)` of a node (its own
    inputs standing for the batched ones)."""
    def rule(node, inputs, batched):
        own = [old if b else new for old, new, b in zip(node.inputs, inputs, batched)]
        expr = expand(node, own)
        replace = {old: new for old, new, b in zip(node.inputs, inputs, batched) if b}
        return [vectorize_graph(expr, replace)]
    return rule


# gemm(C, alpha, A, B, beta) = alpha * (A @ B) + beta * C, and so on: batched products
# are not BLAS calls of these shapes, so the rewrites start again from the formulas.
batching_rule(Gemm)(unfused_rule(lambda node, i: i[1] * dot_(i[2], i[3]) + i[4] * i[0]))
batching_rule(Gemv)(unfused_rule(lambda node, i: i[1] * dot_(i[2], i[3]) + i[4] * i[0]))
batching_rule(Ger)(unfused_rule(lambda node, i: i[0] + i[1] * outer(i[2], i[3])))
batching_rule(PaddedSum)(unfused_rule(lambda node, i: node.op.expand(list(i))))


# -- fused elementwise ops ------------------------------------------------------------------------

def batched_composite(comp, batched):
    """(The Composite computing `comp` on inputs batched where `batched` (padded by
    `composite_inputs`), whether its output is batched)."""
    nd = comp.ndim
    flags = list(batched) + [False] * len(comp.constants)
    steps = []
    for scalar_op, refs, step_ndim in comp.steps:
        flag = any(flags[r] for r in refs)
        flags.append(flag)
        steps.append((scalar_op, refs, nd + 1 if flag else step_ndim))
    types = [(dtype, nd + 1) if b else (dtype, n)
             for (dtype, n), b in zip(comp.input_types, batched)]
    return Composite(types, comp.constants, steps), flags[-1]


def composite_inputs(comp, inputs, batched):
    # A batched input has the output's ndim, so its batch dimension lines up.
    return [pad_items(x, n, comp.ndim) if b else x
            for x, (_, n), b in zip(inputs, comp.input_types, batched)]


@batching_rule(Composite)
def _composite(node, inputs, batched):
    comp, out_batched = batched_composite(node.op, batched)
    if not out_batched:
        return None
    return [comp(*composite_inputs(node.op, inputs, batched))]


@batching_rule(FusedReduce)
def _fused_reduce(node, inputs, batched):
    op = node.op
    comp, out_batched = batched_composite(op.composite, batched)
    if not out_batched:
        return None
    reduce_op = with_props(op.reduce_op, axis=tuple(a + 1 for a in op.reduce_op.axis))
    return [FusedReduce(comp, reduce_op)(*composite_inputs(op.composite, inputs, batched))]


_LATE = []


def _register_late_rules():
    # gradient.py's ops: imported here, not at the top, so that gradient.py may import
    # the derivatives module (and through it this one) without a cycle.
    if _LATE:
        return
    _LATE.append(True)
    from symtheano.gradient import _GradientBlock

    BATCHING_RULES[_GradientBlock] = lambda node, inputs, batched: [node.op(inputs[0])]
