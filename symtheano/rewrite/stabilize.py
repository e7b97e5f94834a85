"""stabilize: replace formulas that overflow, underflow or cancel by equivalent
ones that do not. Each identity is a pattern or a small rewriter with a
comment; `grad` differentiates the stabilized form (see pipeline.stabilized),
so gradients of these formulas are stable too.

A replacement computes in the dtype of the value it replaces: bound integer
inputs are cast to it first, and identities that would move integer
arithmetic (1 + x, x * x) into floating point apply to floats only, since
integer arithmetic is exact there already (or wraps, which must not change).
The stable ops themselves (log1mexp, log_erfc, LogSumExp, SoftmaxCrossentropy)
live in tensor/stable.py.
"""

from __future__ import annotations

from symtheano.graph.basic import Constant
from symtheano.rewrite import canonicalize
from symtheano.rewrite.engine import (
    NodeRewriter,
    Stage,
    build,
    constant_folding,
    constant_value,
    node_rewriter,
    pattern,
    scalar_name,
)
from symtheano.tensor import basic as tb
from symtheano.tensor import math as tm
from symtheano.tensor.advanced_subtensor import AdvancedSubtensor
from symtheano.tensor.elemwise import DimShuffle, Elemwise
from symtheano.tensor.nnet import LogSoftmax, OneHot, Softmax
from symtheano.tensor.reduce import Sum
from symtheano.tensor.special import sigmoid, softplus
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy, log1mexp
from symtheano.tensor.subtensor import Subtensor
from symtheano.tensor.type import FLOAT_DTYPES

STAGE = Stage("stabilize")

# Sign bookkeeping from canonicalize, so that -(-x) introduced here cancels.
STAGE.register(constant_folding, *[r for r in canonicalize.STAGE.rewriters
                                   if r.name in ("neg_neg", "sub_neg", "neg_sub", "add_neg")])


def _like(x, dtype):
    """x cast to the float `dtype` of the value being replaced."""
    return x if x.dtype == dtype else tb.cast(x, dtype)


def stable_pattern(name, lhs, rhs, comment, floats_only=False):
    """A pattern (see engine.pattern) whose bound variables are cast to the float
    dtype of the replaced value before `rhs` is built. floats_only: match only
    when every bound variable is already a float (lhs does integer arithmetic)."""
    match = pattern(name, lhs, lambda **bound: bound, comment)

    def rewrite(fgraph, node):
        found = match(fgraph, node)
        dtype = node.outputs[0].dtype
        if not found or dtype not in FLOAT_DTYPES:
            return None
        bound = found[0]
        if floats_only and any(v.dtype not in FLOAT_DTYPES for v in bound.values()):
            return None
        bound = {k: _like(v, dtype) for k, v in bound.items()}
        return [rhs(**bound) if callable(rhs) else build(rhs, bound, dtype)]

    return NodeRewriter(rewrite, name, match.tracks, comment)


STAGE.register(
    stable_pattern("log1p_sub", ("log", ("sub", 1, "x")), ("log1p", ("neg", "x")),
                   "log(1 - x) -> log1p(-x)", floats_only=True),
    stable_pattern("expm1", ("sub", ("exp", "x"), 1), ("expm1", "x"), "exp(x) - 1 -> expm1(x)"),
    stable_pattern("expm1_add", ("add", ("exp", "x"), -1), ("expm1", "x"),
                   "exp(x) + -1 -> expm1(x)"),
    stable_pattern("one_minus_exp", ("sub", 1, ("exp", "x")), ("neg", ("expm1", "x")),
                   "1 - exp(x) -> -expm1(x)"),
    stable_pattern("softplus", ("log1p", ("exp", "x")), ("softplus", "x"),
                   "log(1 + exp(x)) -> softplus(x)"),
    stable_pattern("log_sigmoid", ("log", ("sigmoid", "x")),
                   ("neg", ("softplus", ("neg", "x"))), "log(sigmoid(x)) -> -softplus(-x)"),
    stable_pattern("one_minus_sigmoid", ("sub", 1, ("sigmoid", "x")), ("sigmoid", ("neg", "x")),
                   "1 - sigmoid(x) -> sigmoid(-x)"),
    stable_pattern("log1p_neg_sigmoid", ("log1p", ("neg", ("sigmoid", "x"))),
                   ("neg", ("softplus", "x")), "log(1 - sigmoid(x)) -> -softplus(x)"),
    stable_pattern("log1mexp", ("log1p", ("neg", ("exp", "x"))), ("log1mexp", "x"),
                   "log(1 - exp(x)) -> log1mexp(x)"),
    stable_pattern("log_neg_expm1", ("log", ("neg", ("expm1", "x"))), ("log1mexp", "x"),
                   "log(-expm1(x)) -> log1mexp(x): also accurate far below 0"),
    stable_pattern("log_exp", ("log", ("exp", "x")), lambda x: x, "log(exp(x)) -> x"),
    stable_pattern("sqrt_sqr", ("sqrt", ("sqr", "x")), ("abs", "x"), "sqrt(sqr(x)) -> |x|",
                   floats_only=True),
    stable_pattern("sqrt_pow2", ("sqrt", ("pow", "x", 2)), ("abs", "x"), "sqrt(x ** 2) -> |x|",
                   floats_only=True),
    stable_pattern("sqrt_mul_self", ("sqrt", ("mul", "x", "x")), ("abs", "x"),
                   "sqrt(x * x) -> |x|", floats_only=True),
    stable_pattern("one_minus_erf", ("sub", 1, ("erf", "x")), ("erfc", "x"),
                   "1 - erf(x) -> erfc(x)"),
    stable_pattern("one_minus_erfc", ("sub", 1, ("erfc", "x")), ("erf", "x"),
                   "1 - erfc(x) -> erf(x)"),
    stable_pattern("log_erfc", ("log", ("erfc", "x")), ("log_erfc", "x"),
                   "log(erfc(x)) -> log_erfc(x): finite where erfc underflows"),
    stable_pattern("sigmoid_from_exp_ratio", ("true_div", ("exp", "x"), ("add", 1, ("exp", "x"))),
                   ("sigmoid", "x"), "exp(x) / (1 + exp(x)) -> sigmoid(x)"),
)


@node_rewriter(["log"])
def log1p(fgraph, node):
    """log(1 + x) -> log1p(x), also log(1 + a + b) -> log1p(a + b) (float sums)"""
    (arg,) = node.inputs
    if scalar_name(arg.owner) != "add" or arg.dtype not in FLOAT_DTYPES:
        return None
    terms = list(arg.owner.inputs)
    ones = [i for i, t in enumerate(terms) if constant_value(t) == 1]
    if not ones:
        return None
    # The other terms are summed in the float dtype the original sum used.
    rest = [_like(t, arg.dtype) for t in terms[:ones[0]] + terms[ones[0] + 1:]]
    x = rest[0] if len(rest) == 1 else Elemwise(arg.owner.op.scalar_op)(*rest)
    return [tm.log1p(x)]


def _sigmoid_of_neg_exp(den):
    """sigmoid(-y) when `den` is 1 + exp(y), else None."""
    if scalar_name(den.owner) != "add" or len(den.owner.inputs) != 2:
        return None
    a, b = den.owner.inputs
    for one, e in ((a, b), (b, a)):
        if constant_value(one) == 1 and scalar_name(e.owner) == "exp":
            y = e.owner.inputs[0]
            return sigmoid(tb.neg(_like(y, e.dtype)))
    return None


@node_rewriter(["true_div"])
def sigmoid_from_exp(fgraph, node):
    """1 / (1 + exp(y)) -> sigmoid(-y): the logistic function written out by hand"""
    num, den = node.inputs
    if constant_value(num) != 1:
        return None
    return _one(_sigmoid_of_neg_exp(den))


@node_rewriter(["reciprocal"])
def sigmoid_from_reciprocal(fgraph, node):
    """reciprocal(1 + exp(y)) -> sigmoid(-y)"""
    return _one(_sigmoid_of_neg_exp(node.inputs[0]))


def _one(var):
    return None if var is None else [var]


STAGE.register(log1p, sigmoid_from_exp, sigmoid_from_reciprocal)


# -- reductions: logsumexp, softmax, log-softmax, cross-entropy --------------------------------

def _owner_op(var, op_class):
    """var's owner when its op is an `op_class`, else None."""
    node = var.owner
    return node if node is not None and isinstance(node.op, op_class) else None


def _restores_axes(ds, axes, ndim):
    """Does DimShuffle `ds` put the reduced `axes` back, broadcastable, in place
    (what keepdims=True, or implicit left-padding, builds)?"""
    kept = iter(range(ndim - len(axes)))
    expected = tuple("x" if d in axes else next(kept) for d in range(ndim))
    return ds.new_order == expected


def _sum_of_exp(var):
    """(sum node, exp's input) when var is sum(exp(x)) over some axes, else None."""
    s = _owner_op(var, Sum)
    if s is None or var.dtype not in FLOAT_DTYPES:
        return None
    e = s.inputs[0]
    if scalar_name(e.owner) != "exp":
        return None
    return s, e.owner.inputs[0]


@node_rewriter(["log"])
def logsumexp(fgraph, node):
    """log(sum(exp(x), axes)) -> LogSumExp(axes)(x): m + log(sum(exp(x - m))) with m the
    maximum (also through the keepdims DimShuffle: log(ds(sum)) -> ds(LogSumExp))"""
    (arg,) = node.inputs
    ds = _owner_op(arg, DimShuffle)
    found = _sum_of_exp(ds.inputs[0] if ds is not None else arg)
    if found is None:
        return None
    s, x = found
    out = LogSumExp(s.op.axis)(_like(x, s.outputs[0].dtype))
    return [ds.op(out) if ds is not None else out]


@node_rewriter(["true_div"])
def softmax(fgraph, node):
    """exp(x) / sum(exp(x), axis, keepdims=True) -> softmax(x, axis); over several (not
    all) axes -> exp(x - logsumexp(x, axes, keepdims=True))"""
    num, den = node.inputs
    ds = _owner_op(den, DimShuffle)
    if scalar_name(num.owner) != "exp" or ds is None:
        return None
    found = _sum_of_exp(ds.inputs[0])
    if found is None or found[0].inputs[0] is not num:
        return None
    s, x = found
    axes, ndim = s.op.axis, num.ndim
    if not _restores_axes(ds.op, axes, ndim):
        return None
    x = _like(x, node.outputs[0].dtype)
    if len(axes) == ndim:
        return [Softmax(None if ndim > 1 else 0)(x)]
    if len(axes) == 1:
        return [Softmax(axes[0])(x)]
    return [tm.exp(x - ds.op(LogSumExp(axes)(x)))]


# Views that select or rearrange elements without computing: log commutes with them.
_VIEWS = (Subtensor, AdvancedSubtensor, DimShuffle)


@node_rewriter(["log"])
def log_softmax(fgraph, node):
    """log(softmax(x)) -> log_softmax(x), also through indexing and dimshuffles:
    log(softmax(x)[idx]) -> log_softmax(x)[idx]"""
    (arg,) = node.inputs
    view = _owner_op(arg, _VIEWS)
    sm = _owner_op(view.inputs[0] if view is not None else arg, Softmax)
    if sm is None:
        return None
    out = LogSoftmax(sm.op.axis)(sm.inputs[0])
    return [view.op(out, *view.inputs[1:]) if view is not None else out]


def _softmax_last_axis(var):
    """x when var is softmax(x) over its last axis, else None."""
    sm = _owner_op(var, Softmax)
    if sm is None:
        return None
    axis = sm.op.axis
    return sm.inputs[0] if axis == var.ndim - 1 or (axis is None and var.ndim == 1) else None


def _is_last_size(n, *arrays):
    """Is the scalar `n` known to equal the size of the last axis of `arrays`?"""
    from symtheano.tensor.shape import ShapeI

    value = constant_value(n)
    for a in arrays:
        last = a.ndim - 1
        if value is not None and a.type.shape[last] == value:
            return True
        owner = n.owner
        while owner is not None and scalar_name(owner) is not None and (
                scalar_name(owner).startswith("cast_")):
            owner = owner.inputs[0].owner
        if owner is not None and isinstance(owner.op, ShapeI) and owner.op.i == last and (
                owner.inputs[0] is a):
            return True
    return False


@node_rewriter(["log"])
def softmax_crossentropy(fgraph, node):
    """log(sum(softmax(x) * one_hot(y), axis=-1)) -> -softmax_crossentropy(x, y): the
    graph categorical_crossentropy(softmax(x), y) builds for integer labels y"""
    (arg,) = node.inputs
    s = _owner_op(arg, Sum)
    if s is None or s.op.axis != (arg.ndim,):
        return None
    prod = s.inputs[0]
    if scalar_name(prod.owner) != "mul" or len(prod.owner.inputs) != 2:
        return None
    a, b = prod.owner.inputs
    for p, oh in ((a, b), (b, a)):
        x, hot = _softmax_last_axis(p), _owner_op(oh, OneHot)
        if x is None or hot is None:
            continue
        # No broadcasting between the two: then one_hot selects one entry per row.
        if any((i == 1) != (j == 1) for i, j in zip(p.type.shape, oh.type.shape)):
            return None
        # The number of classes must provably be the logits' width: otherwise the graph
        # as written raises a shape error that the fused op would not.
        if not _is_last_size(hot.inputs[1], x, p):
            return None
        fused = SoftmaxCrossentropy()(_like(x, node.outputs[0].dtype), hot.inputs[0])
        return [tb.neg(fused)]
    return None


# -- log of a switch: what the entropies build to keep 0 * log(0) = 0 ------------------------

def _stable_log(v):
    """A stable graph for log(v), when one is known (or v is a constant), else None."""
    if isinstance(v, Constant):
        return tm.log(v)
    if isinstance(getattr(v.owner, "op", None), Softmax):
        return LogSoftmax(v.owner.op.axis)(v.owner.inputs[0])
    name = scalar_name(v.owner)
    if name == "sigmoid":
        return tb.neg(softplus(tb.neg(_like(v.owner.inputs[0], v.dtype))))
    if name == "exp":
        return _like(v.owner.inputs[0], v.dtype)
    return None


def _stable_log1p(v):
    """A stable graph for log1p(v), when one is known (or v is a constant), else None."""
    if isinstance(v, Constant):
        return tm.log1p(v)
    name = scalar_name(v.owner)
    if name == "exp":
        return softplus(_like(v.owner.inputs[0], v.dtype))
    if name == "neg":
        inner = v.owner.inputs[0]
        inner_name = scalar_name(inner.owner)
        if inner_name == "sigmoid":
            return tb.neg(softplus(_like(inner.owner.inputs[0], v.dtype)))
        if inner_name == "exp":
            return log1mexp(_like(inner.owner.inputs[0], v.dtype))
    return None


def _log_into_switch(node, stable):
    (arg,) = node.inputs
    if scalar_name(arg.owner) != "switch":
        return None
    cond, a, b = arg.owner.inputs
    if isinstance(a, Constant) and isinstance(b, Constant):
        return None  # constant folding's business
    la, lb = stable(a), stable(b)
    if la is None or lb is None:
        return None
    return [tb.switch(cond, la, lb)]


@node_rewriter(["log"])
def log_switch(fgraph, node):
    """log(switch(c, a, b)) -> switch(c, log(a), log(b)) when each branch is a constant or
    has a stable log (softmax, sigmoid, exp): -sum(t * log(softmax(x))) with 0 log 0 = 0"""
    return _log_into_switch(node, _stable_log)


@node_rewriter(["log1p"])
def log1p_switch(fgraph, node):
    """log1p(switch(c, a, b)) -> switch(c, log1p(a), log1p(b)) when each branch is a
    constant or has a stable log1p (-sigmoid, -exp, exp): binary_crossentropy(sigmoid(x))"""
    return _log_into_switch(node, _stable_log1p)


STAGE.register(logsumexp, softmax, log_softmax, softmax_crossentropy, log_switch, log1p_switch)
