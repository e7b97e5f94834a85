"""canonicalize: one normal form for equivalent graphs, so that later stages
need to recognise each formula in one shape only.

Identities that change results for inf or NaN inputs (x - x -> 0, x * 0 -> 0)
apply to integers always and to floats only under `fast_math`; x / x -> 1
never applies, since x may be 0.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.rewrite.engine import (
    Stage,
    constant_folding,
    constant_value,
    node_rewriter,
    pattern,
    scalar_name,
)
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import DimShuffle, Elemwise, dimshuffle
from symtheano.tensor.shape import Alloc, MakeVector, Reshape, ShapeI, SpecifyShape, shape_tuple
from symtheano.tensor.type import FLOAT_DTYPES
from symtheano.tensor.var import as_tensor_variable

STAGE = Stage("canonicalize")


def _fast_math(fgraph):
    ctx = getattr(fgraph, "rewrite_context", None)
    return bool(ctx and ctx.fast_math)


def _exact(var, fgraph):
    """May identities that ignore inf/NaN be used on `var`?"""
    return var.dtype not in FLOAT_DTYPES or _fast_math(fgraph)


def fill_like(inputs, value, dtype):
    """`value` broadcast to the shape the elementwise `inputs` broadcast to.

    Built from the inputs, never from the output being replaced (which would
    make the replacement depend on itself)."""
    out = as_tensor_variable(np.asarray(value, dtype=dtype))
    for inp in inputs:
        out = tb.second(inp, out)
    return out


def _is_shape_i_of(var, x, i):
    owner = var.owner
    return owner is not None and isinstance(owner.op, ShapeI) and owner.inputs[0] is x and (
        owner.op.i == i)


STAGE.register(
    constant_folding,
    pattern("neg_neg", ("neg", ("neg", "x")), "x", "--x -> x"),
    pattern("sub_neg", ("sub", "x", ("neg", "y")), ("add", "x", "y"), "x - (-y) -> x + y"),
    pattern("neg_sub", ("neg", ("sub", "x", "y")), ("sub", "y", "x"), "-(x - y) -> y - x"),
    pattern("add_neg", ("add", "x", ("neg", "y")), ("sub", "x", "y"), "x + (-y) -> x - y"),
    pattern("sub_zero", ("sub", "x", 0), "x", "x - 0 -> x"),
    pattern("zero_sub", ("sub", 0, "x"), ("neg", "x"), "0 - x -> -x"),
    pattern("div_one", ("true_div", "x", 1), "x", "x / 1 -> x"),
    pattern("pow_one", ("pow", "x", 1), "x", "x ** 1 -> x"),
    pattern("mul_minus_one", ("mul", -1, "x"), ("neg", "x"), "-1 * x -> -x"),
)


@node_rewriter(["sub"])
def sub_self(fgraph, node):
    """x - x -> 0 (integers; floats only under fast_math, since inf - inf is NaN)"""
    a, b = node.inputs
    if a is b and _exact(a, fgraph):
        return [fill_like([a], 0, node.outputs[0].dtype)]
    return None


@node_rewriter(["add", "mul"])
def collect_constants(fgraph, node):
    """add/mul chains: flatten nested ones, drop x + 0 and x * 1, combine constants
    (x * 0 -> 0 for integers, and for floats under fast_math)"""
    name = scalar_name(node)
    out = node.outputs[0]
    terms, flattened = [], False
    for inp in node.inputs:
        # Only inputs read by this node alone are inlined, so nothing is computed twice.
        if scalar_name(inp.owner) == name and len(fgraph.clients.get(inp, ())) == 1 and (
                inp.dtype == out.dtype):
            terms.extend(inp.owner.inputs)
            flattened = True
        else:
            terms.append(inp)
    consts = [t for t in terms if isinstance(t, Constant)]
    others = [t for t in terms if not isinstance(t, Constant)]
    identity = 0 if name == "add" else 1
    if consts:
        # Combine in the output's dtype: int8 constants 100 * 2 must not wrap around
        # when the product they scale is float64.
        combined = consts[0].data.astype(out.dtype)
        for c in consts[1:]:
            data = c.data.astype(out.dtype)
            combined = combined + data if name == "add" else combined * data
        if name == "mul" and others and np.all(combined == 0) and _exact(out, fgraph):
            return [fill_like(terms, 0, out.dtype)]
        keep = [] if (others and np.all(combined == identity)) else [
            as_tensor_variable(combined)]
    else:
        keep = []
    new_terms = others + keep
    if not flattened and len(consts) <= 1 and len(new_terms) == len(terms):
        return None
    if not new_terms:
        return [fill_like(terms, identity, out.dtype)]
    if len(new_terms) == 1:
        return [new_terms[0]]
    return [Elemwise(node.op.scalar_op)(*new_terms)]


@node_rewriter([DimShuffle])
def merge_dimshuffles(fgraph, node):
    """x.dimshuffle(a).dimshuffle(b) -> one dimshuffle (or x itself)"""
    (x,) = node.inputs
    if x.owner is None or not isinstance(x.owner.op, DimShuffle):
        return None
    inner = x.owner.op
    order = tuple("x" if d == "x" else inner.new_order[d] for d in node.op.new_order)
    src = x.owner.inputs[0]
    return [dimshuffle(src, order)]


@node_rewriter([DimShuffle])
def lift_dimshuffle(fgraph, node):
    """elemwise(a, b).dimshuffle(p) -> elemwise(a.dimshuffle(p), b.dimshuffle(p)), when the
    elemwise result has no other reader: moves layout changes towards the inputs"""
    (x,) = node.inputs
    if not isinstance(getattr(x.owner, "op", None), Elemwise):
        return None
    if len(fgraph.clients.get(x, ())) != 1 or node.op.drop:
        return None
    inner = x.owner
    return [Elemwise(inner.op.scalar_op)(*[dimshuffle(i, node.op.new_order)
                                           for i in inner.inputs])]


@node_rewriter([Reshape])
def useless_reshape(fgraph, node):
    """reshape(x, shape) -> x when the shape is statically x's own"""
    x = node.inputs[0]
    out = node.outputs[0]
    if out.ndim == x.ndim and None not in out.type.shape and out.type.shape == x.type.shape:
        return [x]
    shp = node.inputs[1]
    if shp.owner is not None and isinstance(shp.owner.op, MakeVector) and out.ndim == x.ndim:
        if all(_is_shape_i_of(e, x, d) for d, e in enumerate(shp.owner.inputs)):
            return [x]
    return None


@node_rewriter([Reshape])
def reshape_of_reshape(fgraph, node):
    """reshape(reshape(x, s1), s2) -> reshape(x, s2)"""
    x = node.inputs[0]
    if x.owner is not None and isinstance(x.owner.op, Reshape):
        return [Reshape(node.op.ndim)(x.owner.inputs[0], node.inputs[1],
                                      node.outputs[0].type.shape)]
    return None


@node_rewriter([Alloc])
def useless_alloc(fgraph, node):
    """alloc(x, *shape) -> x when x already has that shape (statically)"""
    value, *dims = node.inputs
    out = node.outputs[0]
    if value.type == out.type and None not in out.type.shape:
        return [value]
    if value.ndim == out.ndim and all(_is_shape_i_of(d, value, i) for i, d in enumerate(dims)):
        return [value]
    return None


@node_rewriter([ShapeI])
def shape_of_computed(fgraph, node):
    """shape_i(op(...)) -> the op's inferred shape, in terms of its inputs' shapes, so
    that computing a shape never needs the value"""
    (x,) = node.inputs
    if x.owner is None:
        return None
    op = x.owner.op
    if isinstance(op, SpecifyShape):
        return [x.owner.inputs[0].shape[node.op.i]] if x.type.shape[node.op.i] is None else None
    try:
        shapes = op.infer_shape(x.owner, [shape_tuple(i) for i in x.owner.inputs])
    except NotImplementedError:
        return None
    entry = shapes[x.owner.outputs.index(x)][node.op.i]
    entry = tb.cast(as_tensor_variable(entry), "int64")
    return [entry] if entry.ndim == 0 else None


@node_rewriter([Elemwise])
def useless_cast(fgraph, node):
    """cast(cast(x, wide), narrow) -> cast(x, narrow) when the first cast loses nothing"""
    op = node.op.scalar_op
    if not op.name.startswith("cast_"):
        return None
    (x,) = node.inputs
    if x.owner is None or not isinstance(x.owner.op, Elemwise):
        return None
    inner = x.owner.op.scalar_op
    if not inner.name.startswith("cast_"):
        return None
    src = x.owner.inputs[0]
    if np.can_cast(src.dtype, x.dtype, "safe"):
        return [tb.cast(src, node.outputs[0].dtype)]
    return None


@node_rewriter(["pow"])
def pow_zero(fgraph, node):
    """x ** 0 -> 1 (also for x = 0, inf or NaN, as in IEEE pow)"""
    if constant_value(node.inputs[1]) == 0:
        return [fill_like(node.inputs, 1, node.outputs[0].dtype)]
    return None


STAGE.register(sub_self, collect_constants, merge_dimshuffles, lift_dimshuffle, useless_reshape,
               reshape_of_reshape, useless_alloc, shape_of_computed, useless_cast, pow_zero)
