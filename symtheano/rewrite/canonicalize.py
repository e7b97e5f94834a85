"""canonicalize: one normal form for equivalent graphs, so that later stages
need to recognise each formula in one shape only.

Identities that change results for inf or NaN inputs (x - x -> 0, x * 0 -> 0)
apply to integers always and to floats only under `fast_math`. x / x -> 1
never applies, not even under fast_math: x = 0 is an ordinary finite input,
and 0 / 0 is NaN. The sign identities (x + (-y) -> x - y, ...) apply only
where negation happens in the output's dtype: not to bools (neg(True) is True)
nor to operands narrower than the result (neg(uint8 5) is 251).
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.rewrite.engine import (
    NodeRewriter,
    Stage,
    constant_folding,
    constant_value,
    node_rewriter,
    pattern,
    scalar_name,
)
from symtheano.rewrite.padded_sum import CHEAP
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import DimShuffle, Elemwise, dimshuffle
from symtheano.tensor.shape import (
    Alloc,
    CheckShape,
    MakeVector,
    Reshape,
    Shape,
    ShapeI,
    shape_i,
    shape_tuple,
)
from symtheano.tensor.subtensor import SCALAR, Slice, Subtensor
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
    make the replacement depend on itself). Inputs whose static shape is all
    ones add nothing to the broadcast shape and are left out."""
    ndim = max(i.ndim for i in inputs)
    out = as_tensor_variable(np.full((1,) * ndim, value, dtype=dtype))
    for inp in inputs:
        if any(s != 1 for s in inp.type.shape):
            out = tb.second(inp, out)
    return out


def _is_shape_i_of(var, x, i):
    owner = var.owner
    return owner is not None and isinstance(owner.op, ShapeI) and owner.inputs[0] is x and (
        owner.op.i == i)


def _no_narrow_neg(node):
    """True when every operand of `node` has its output's dtype, or both are floats.

    The sign identities below assume that negation happens in the output's dtype.
    It does not for bool (neg(True) is True, and bool - is xor) nor for an operand
    narrower than the output (neg(uint8 5) is 251, and int8 -(-128) is -128)."""
    out = node.outputs[0].dtype
    if out == "bool":
        return False
    return all(i.dtype == out or (i.dtype in FLOAT_DTYPES and out in FLOAT_DTYPES)
               for i in node.inputs if not isinstance(i, Constant))


def guarded(rewriter, condition):
    """`rewriter`, tried only on nodes where `condition(node)` holds."""
    def rewrite(fgraph, node):
        return rewriter(fgraph, node) if condition(node) else None

    return NodeRewriter(rewrite, rewriter.name, rewriter.tracks, rewriter.comment)


def _sign(name, lhs, rhs, comment):
    return guarded(pattern(name, lhs, rhs, comment), _no_narrow_neg)


STAGE.register(
    constant_folding,
    pattern("neg_neg", ("neg", ("neg", "x")), "x", "--x -> x"),
    _sign("sub_neg", ("sub", "x", ("neg", "y")), ("add", "x", "y"), "x - (-y) -> x + y"),
    pattern("neg_sub", ("neg", ("sub", "x", "y")), ("sub", "y", "x"), "-(x - y) -> y - x"),
    _sign("add_neg", ("add", "x", ("neg", "y")), ("sub", "x", "y"), "x + (-y) -> x - y"),
    pattern("sub_zero", ("sub", "x", 0), "x", "x - 0 -> x"),
    _sign("zero_sub", ("sub", 0, "x"), ("neg", "x"), "0 - x -> -x"),
    pattern("div_one", ("true_div", "x", 1), "x", "x / 1 -> x"),
    pattern("pow_one", ("pow", "x", 1), "x", "x ** 1 -> x"),
    _sign("mul_minus_one", ("mul", -1, "x"), ("neg", "x"), "-1 * x -> -x"),
)


@node_rewriter(["sub"])
def sub_self(fgraph, node):
    """x - x -> 0 (integers; floats only under fast_math, since inf - inf is NaN)"""
    a, b = node.inputs
    if a is b and _exact(a, fgraph):
        return [fill_like([a], 0, node.outputs[0].dtype)]
    return None


def _combine(consts, name, dtype):
    """The sum or product of constants, computed in `dtype`; None when that
    overflows to inf or underflows to 0 (x * 1e300 * 1e300 must stay 0 at x = 0,
    not become 0 * inf = NaN)."""
    parts = [c.data.astype(dtype) for c in consts]
    with np.errstate(all="ignore"):
        combined = parts[0]
        for p in parts[1:]:
            combined = combined + p if name == "add" else combined * p
    if dtype in FLOAT_DTYPES and all(np.all(np.isfinite(p)) for p in parts):
        if not np.all(np.isfinite(combined)):
            return None
        if name == "mul" and all(np.all(p != 0) for p in parts) and np.any(combined == 0):
            return None
    return combined


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
    # Combine in the output's dtype: int8 constants 100 * 2 must not wrap around
    # when the product they scale is float64.
    combined = _combine(consts, name, out.dtype) if consts else None
    if combined is None:
        if not flattened:
            return None
        keep = consts
    else:
        if name == "mul" and others and np.all(combined == 0) and _exact(out, fgraph):
            return [fill_like(terms, 0, out.dtype)]
        keep = [] if (others and np.all(combined == identity)) else [
            as_tensor_variable(combined)]
    new_terms = others + keep
    if not flattened and len(consts) <= 1 and len(new_terms) == len(terms):
        return None
    if not new_terms:
        return [fill_like(terms, identity, out.dtype)]
    if len(new_terms) == 1:
        return [new_terms[0]]
    if flattened:
        # Elemwise add/mul accumulate left to right in NumPy's pairwise promotion:
        # a term of the output's dtype must come first, or add(x_int8, y_int8, z_int64)
        # would wrap around in int8 where the nested original did not.
        first = next((i for i, t in enumerate(new_terms) if t.dtype == out.dtype), None)
        if first is None:
            return None
        new_terms.insert(0, new_terms.pop(first))
    return [Elemwise(node.op.scalar_op)(*new_terms)]


@node_rewriter(["neg"])
def neg_into_constant(fgraph, node):
    """-(a * c * b) -> a * (-c) * b for a float constant factor c read by this product
    alone: rounding to nearest is symmetric, so negating one factor negates the
    product exactly (only a NaN's sign bit, which NumPy leaves undefined, may
    differ), and the product's constants can then be collected."""
    (x,) = node.inputs
    out = node.outputs[0]
    prod = x.owner
    if (scalar_name(prod) != "mul" or out.dtype not in FLOAT_DTYPES or x.dtype != out.dtype
            or len(fgraph.clients.get(x, ())) != 1):
        return None
    for k, factor in enumerate(prod.inputs):
        if isinstance(factor, Constant) and factor.dtype in FLOAT_DTYPES:
            factors = list(prod.inputs)
            factors[k] = as_tensor_variable(np.negative(factor.data))
            return [Elemwise(prod.op.scalar_op)(*factors)]
    return None


@node_rewriter(["mul"])
def neg_factor_into_constant(fgraph, node):
    """a * (-y) * c -> a * y * (-c) for a float constant factor c and a negation read
    by this product alone: the sign moves from one factor to another, exactly (as in
    neg_into_constant)."""
    out = node.outputs[0]
    if out.dtype not in FLOAT_DTYPES:
        return None
    factors = list(node.inputs)
    const = next((k for k, f in enumerate(factors)
                  if isinstance(f, Constant) and f.dtype in FLOAT_DTYPES), None)
    negated = next((k for k, f in enumerate(factors)
                    if scalar_name(f.owner) == "neg" and f.dtype == out.dtype
                    and len(fgraph.clients.get(f, ())) == 1), None)
    if const is None or negated is None:
        return None
    factors[negated] = factors[negated].owner.inputs[0]
    factors[const] = as_tensor_variable(np.negative(factors[const].data))
    return [Elemwise(node.op.scalar_op)(*factors)]


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


def _is_own_shape(shp, x):
    """Is the int64 vector `shp` the shape of x, written as shape(x) or as
    [shape_i(x, 0), shape_i(x, 1), ...] (constants where x's size is static)?"""
    owner = shp.owner
    if owner is not None and isinstance(owner.op, Shape):
        return owner.inputs[0] is x
    if owner is None or not isinstance(owner.op, MakeVector) or len(owner.inputs) != x.ndim:
        return False
    return all(_is_size_of(e, x, d) for d, e in enumerate(owner.inputs))


def _is_size_of(var, x, i):
    """Is the scalar `var` the size of dimension i of x?"""
    if x.type.shape[i] is not None:
        return constant_value(var) == x.type.shape[i]
    return _is_shape_i_of(var, x, i)


@node_rewriter([Reshape])
def useless_reshape(fgraph, node):
    """reshape(x, shape) -> x when the shape is x's own (statically, or as shape(x))"""
    x, shp = node.inputs
    out = node.outputs[0]
    if out.ndim != x.ndim:
        return None
    if None not in out.type.shape and out.type.shape == x.type.shape:
        return [x]
    return [x] if _is_own_shape(shp, x) else None


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
    """alloc(x, *shape) -> x when x already has that shape"""
    value, *dims = node.inputs
    out = node.outputs[0]
    if value.type == out.type and None not in out.type.shape:
        return [value]
    if value.ndim == out.ndim and all(_is_size_of(d, value, i) for i, d in enumerate(dims)):
        return [value]
    return None


def inferred_shape(x):
    """The shape of the computed variable `x` as int64 scalars in terms of the shapes
    of its op's inputs (the op's infer_shape), or None when the op cannot tell."""
    node = x.owner
    if node is None:
        return None
    try:
        shapes = node.op.infer_shape(node, [shape_tuple(i) for i in node.inputs])
    except NotImplementedError:
        return None
    entries = [tb.cast(as_tensor_variable(e), "int64") for e in shapes[node.outputs.index(x)]]
    if len(entries) != x.ndim or any(e.ndim != 0 for e in entries):
        return None
    # An entry still asking for x's own shape would make the rewrite loop.
    if any(e.owner is not None and isinstance(e.owner.op, ShapeI) and e.owner.inputs[0] is x
           for e in entries):
        return None
    return entries


@node_rewriter([ShapeI])
def shape_of_computed(fgraph, node):
    """shape_i(op(...)) -> the op's inferred shape, in terms of its inputs' shapes, so
    that computing a shape never needs the value (a constant where it is static)"""
    (x,) = node.inputs
    i = node.op.i
    if x.type.shape[i] is not None:
        return [shape_i(x, i)]
    entries = inferred_shape(x)
    return None if entries is None else [entries[i]]


@node_rewriter([Shape])
def shape_of_computed_vector(fgraph, node):
    """shape(x) -> [shape_i(x, 0), ...] when that helps: x is computed (its sizes then
    come from its inputs' shapes) or some of its sizes are static (constants)"""
    (x,) = node.inputs
    if x.ndim == 0:
        return [as_tensor_variable(np.zeros(0, dtype="int64"))]
    if None not in x.type.shape:
        return [as_tensor_variable(np.asarray(x.type.shape, dtype="int64"))]
    entries = inferred_shape(x)
    if entries is None:
        if all(s is None for s in x.type.shape):
            return None
        entries = [shape_i(x, d) for d in range(x.ndim)]
    return [MakeVector("int64")(*entries)]


def _exact_cast(src, dst):
    """Does casting dtype src to dst keep every value? (NumPy calls int64 -> float64
    'safe', but 2**53 + 1 does not survive it.)"""
    if not np.can_cast(src, dst, "safe"):
        return False
    if src in FLOAT_DTYPES or dst not in FLOAT_DTYPES or src == "bool":
        return True
    return np.iinfo(src).bits - np.issubdtype(src, np.signedinteger) <= np.finfo(dst).nmant + 1


@node_rewriter([Elemwise])
def useless_cast(fgraph, node):
    """cast(x, x.dtype) -> x; cast(cast(x, wide), narrow) -> cast(x, narrow) when the
    first cast loses nothing"""
    op = node.op.scalar_op
    if not op.name.startswith("cast_"):
        return None
    (x,) = node.inputs
    if x.dtype == node.outputs[0].dtype:
        return [x]
    if x.owner is None or not isinstance(x.owner.op, Elemwise):
        return None
    inner = x.owner.op.scalar_op
    if not inner.name.startswith("cast_"):
        return None
    src = x.owner.inputs[0]
    if _exact_cast(src.dtype, x.dtype):
        return [tb.cast(src, node.outputs[0].dtype)]
    return None


@node_rewriter([DimShuffle])
def useless_dimshuffle(fgraph, node):
    """x.dimshuffle(0, 1, ..., n-1) -> x"""
    if node.op.new_order == tuple(range(node.op.input_ndim)):
        return [node.inputs[0]]
    return None


def _covers_all(entry, x, dim, index):
    """Does the slice `entry` (its symbolic parts in `index`) select all of x's
    dimension `dim`, in order?"""
    parts = iter(index)
    start, stop, step = (next(parts) if p == SCALAR else p
                         for p in (entry.start, entry.stop, entry.step))
    size = x.type.shape[dim]
    if step not in (None, 1):
        return False
    if start is not None and not (
            start == 0 if isinstance(start, int) else constant_value(start) == 0):
        if not (isinstance(start, int) and size is not None and start <= -size):
            return False
    if stop is None:
        return True
    if isinstance(stop, int):
        return size is not None and stop >= size
    return _is_size_of(stop, x, dim)


@node_rewriter([Subtensor])
def useless_subtensor(fgraph, node):
    """x[:], x[::1], x[0:], x[:x.shape[0]], x[:n] with n >= the static size -> x"""
    x, *index = node.inputs
    out = node.outputs[0]
    if out.ndim != x.ndim:
        return None
    dim, pos = 0, 0
    for entry in node.op.idx_list:
        if not isinstance(entry, Slice):
            return None
        n_sym = sum(p == SCALAR for p in (entry.start, entry.stop, entry.step))
        if not _covers_all(entry, x, dim, index[pos:pos + n_sym]):
            return None
        dim, pos = dim + 1, pos + n_sym
    return [x]


@node_rewriter(["pow"])
def pow_zero(fgraph, node):
    """x ** 0 -> 1 (also for x = 0, inf or NaN, as in IEEE pow)"""
    if constant_value(node.inputs[1]) == 0:
        return [fill_like(node.inputs, 1, node.outputs[0].dtype)]
    return None


@node_rewriter(["second"])
def useless_fill(fgraph, node):
    """fill(a, b) -> b when a has size 1 in every dimension: a contributes no shape, so
    its value need not be computed (the seed fill(cost, 1) of a gradient)"""
    a, b = node.inputs
    if all(s == 1 for s in a.type.shape):
        return [b]
    return None


def same_value(u, w, depth=16):
    """Do u and w compute the same value: one variable, equal constants, or equal ops
    of inputs that compute the same values? (Shape arithmetic that infer_shape
    rebuilds afresh is equal this way before merge has seen it.)"""
    if u is w:
        return True
    if depth == 0 or u.type != w.type:
        return False
    if isinstance(u, Constant) or isinstance(w, Constant):
        return (isinstance(u, Constant) and isinstance(w, Constant)
                and np.array_equal(u.data, w.data))
    a, b = u.owner, w.owner
    if a is None or b is None or a.op != b.op or len(a.inputs) != len(b.inputs):
        return False
    return a.outputs.index(u) == b.outputs.index(w) and all(
        same_value(p, q, depth - 1) for p, q in zip(a.inputs, b.inputs))


def _size_matches(size, x, d, depth=8):
    """Is the scalar `size` provably the size of dimension d of x: x's static size,
    shape_i(x, d), or equal to x's inferred size (followed through the shapes of
    the variables it is computed from)?"""
    if _is_size_of(size, x, d):
        return True
    entries = inferred_shape(x) if depth > 0 else None
    if entries is None:
        return False
    entry = entries[d]
    if same_value(size, entry):
        return True
    owner = entry.owner
    return (owner is not None and isinstance(owner.op, ShapeI)
            and _size_matches(size, owner.inputs[0], owner.op.i, depth - 1))


@node_rewriter([Elemwise])
def alloc_in_elemwise(fgraph, node):
    """elemwise(alloc(v, *shape), b) -> elemwise(v, b) when another input b has that
    shape: the allocated array only repeated v (the vector of ones a sum's gradient
    starts from, multiplied into every term).

    Where b's size is not provably the allocated one but b does not broadcast in
    that dimension (so the two sizes must be equal for the op to run at all), b
    is read through CheckShape, which raises where the original op would have."""
    ndim = node.outputs[0].ndim
    for k, a in enumerate(node.inputs):
        if a.owner is None or not isinstance(a.owner.op, Alloc) or a.ndim != ndim:
            continue
        value, *dims = a.owner.inputs
        fallback = None
        for j, b in enumerate(node.inputs):
            if j == k or b.ndim != ndim:
                continue
            unproven = [d for d, size in enumerate(dims) if not _size_matches(size, b, d)]
            if unproven and (fallback is not None or any(
                    b.type.shape[d] == 1 or a.type.shape[d] == 1 for d in unproven)):
                continue
            inputs = list(node.inputs)
            inputs[k] = dimshuffle(value, ["x"] * (ndim - value.ndim) + list(range(value.ndim)))
            if unproven:
                inputs[j] = CheckShape(unproven)(b, *[dims[d] for d in unproven])
                fallback = inputs
                continue
            return [Elemwise(node.op.scalar_op)(*inputs)]
        if fallback is not None:
            return [Elemwise(node.op.scalar_op)(*fallback)]
    return None


@node_rewriter([CheckShape])
def lift_check_shape(fgraph, node):
    """check_shape(elemwise(a, b), *sizes) -> elemwise(check_shape(a, *sizes), b) when a
    does not broadcast in the checked dimensions (so it has the output's sizes there)
    and nothing else reads the elementwise result, or the op is cheap arithmetic
    (padded_sum.CHEAP), which is then computed on both sides (the cost's and the
    gradient's uses of `x[1:] - x[:-1] ** 2` fuse into their own loops instead of
    materialising it): the check moves towards the inputs, out of the way of fusion."""
    x = node.inputs[0]
    owner = x.owner
    if owner is None or not isinstance(owner.op, Elemwise):
        return None
    if len(fgraph.clients.get(x, ())) != 1 and owner.op.scalar_op.name not in CHEAP:
        return None
    for j, a in enumerate(owner.inputs):
        if a.ndim == x.ndim and all(a.type.shape[d] != 1 for d in node.op.dims):
            inputs = list(owner.inputs)
            inputs[j] = node.op(a, *node.inputs[1:])
            return [Elemwise(owner.op.scalar_op)(*inputs)]
    return None


STAGE.register(useless_fill, alloc_in_elemwise, lift_check_shape)
STAGE.register(sub_self, collect_constants, neg_into_constant, neg_factor_into_constant,
               merge_dimshuffles, lift_dimshuffle,
               useless_dimshuffle, useless_reshape, reshape_of_reshape, useless_alloc,
               shape_of_computed, shape_of_computed_vector, useless_subtensor, useless_cast,
               pow_zero)
