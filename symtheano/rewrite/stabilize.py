"""stabilize: replace formulas that overflow, underflow or cancel by equivalent
ones that do not. Each identity is a pattern or a small rewriter with a
comment; `grad` differentiates the stabilized form (see pipeline.stabilized),
so gradients of these formulas are stable too.
"""

from __future__ import annotations

from symtheano.rewrite import canonicalize
from symtheano.rewrite.engine import Stage, constant_folding, node_rewriter, pattern
from symtheano.tensor import basic as tb
from symtheano.tensor.special import sigmoid

STAGE = Stage("stabilize")

# Sign bookkeeping from canonicalize, so that -(-x) introduced here cancels.
STAGE.register(constant_folding, *[r for r in canonicalize.STAGE.rewriters
                                   if r.name in ("neg_neg", "sub_neg", "neg_sub", "add_neg")])

STAGE.register(
    pattern("log1p", ("log", ("add", 1, "x")), ("log1p", "x"), "log(1 + x) -> log1p(x)"),
    pattern("log1p_sub", ("log", ("sub", 1, "x")), ("log1p", ("neg", "x")),
            "log(1 - x) -> log1p(-x)"),
    pattern("expm1", ("sub", ("exp", "x"), 1), ("expm1", "x"), "exp(x) - 1 -> expm1(x)"),
    pattern("softplus", ("log1p", ("exp", "x")), ("softplus", "x"),
            "log(1 + exp(x)) -> softplus(x)"),
    pattern("log_sigmoid", ("log", ("sigmoid", "x")), ("neg", ("softplus", ("neg", "x"))),
            "log(sigmoid(x)) -> -softplus(-x)"),
    pattern("one_minus_sigmoid", ("sub", 1, ("sigmoid", "x")), ("sigmoid", ("neg", "x")),
            "1 - sigmoid(x) -> sigmoid(-x)"),
    pattern("log1p_neg_sigmoid", ("log1p", ("neg", ("sigmoid", "x"))),
            ("neg", ("softplus", "x")), "log(1 - sigmoid(x)) -> -softplus(x)"),
    pattern("log_exp", ("log", ("exp", "x")), "x", "log(exp(x)) -> x"),
    pattern("sqrt_sqr", ("sqrt", ("sqr", "x")), ("abs", "x"), "sqrt(x**2) -> |x|"),
)


@node_rewriter(["true_div"])
def sigmoid_from_exp(fgraph, node):
    """1 / (1 + exp(y)) -> sigmoid(-y): the logistic function written out by hand"""
    num, den = node.inputs
    if canonicalize.constant_value(num) != 1 or canonicalize.scalar_name(den.owner) != "add":
        return None
    a, b = den.owner.inputs
    for one, e in ((a, b), (b, a)):
        if canonicalize.constant_value(one) == 1 and canonicalize.scalar_name(e.owner) == "exp":
            return [sigmoid(tb.neg(e.owner.inputs[0]))]
    return None


@node_rewriter(["reciprocal"])
def sigmoid_from_reciprocal(fgraph, node):
    """reciprocal(1 + exp(y)) -> sigmoid(-y)"""
    (den,) = node.inputs
    if canonicalize.scalar_name(den.owner) != "add":
        return None
    a, b = den.owner.inputs
    for one, e in ((a, b), (b, a)):
        if canonicalize.constant_value(one) == 1 and canonicalize.scalar_name(e.owner) == "exp":
            return [sigmoid(tb.neg(e.owner.inputs[0]))]
    return None


STAGE.register(sigmoid_from_exp, sigmoid_from_reciprocal)
