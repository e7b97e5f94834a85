"""The batching rules of `vectorize_graph` (symtheano/vectorize.py), one per op
family: each maps a node onto its batched form, given its new inputs and which of
them carry the leading batch dimension, or declines (None), and the node then
becomes a `Blockwise` loop. Registered with `batching_rule` when vectorize looks
a rule up for the first time.
"""

from __future__ import annotations

import numpy as np

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
from symtheano.tensor.var import constant
from symtheano.vectorize import batching_rule, vectorize_graph

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


