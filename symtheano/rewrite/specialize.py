"""specialize: replace ops by the cheapest equivalent ones once the graph is
stable: integer powers as multiplies, square roots and reciprocals for the
powers ±0.5 and -1, scalar factors moved out of sums, and products in the
shapes a BLAS library computes in one call (gemm, gemv, ger; see
tensor/blas_ops.py), with the scalings and additions around a product folded in.

Every rewrite keeps the dtype of what it replaces: a power is computed in its
output's dtype (the base is cast first), integer powers of integers are
rewritten only for positive exponents (a negative one truncates, see `Pow`),
and the BLAS ops are used only where the product, its operands and the result
all have one float dtype.
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
from symtheano.tensor.blas import Dot
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger, gemm, gemv, ger
from symtheano.tensor.elemwise import DimShuffle, dimshuffle, transpose
from symtheano.tensor.math import sqrt
from symtheano.tensor.reduce import Sum
from symtheano.tensor.type import FLOAT_DTYPES
from symtheano.tensor.var import as_tensor_variable

STAGE = Stage("specialize")

POW_MAX = 16  # x ** n becomes multiplies for |n| up to this (at most 2 * log2(n) of them)


def _broadcastable(var, axes=None):
    """Does `var` have static size 1 in every dimension (or in each of `axes`)?"""
    shape = var.type.shape
    return all(shape[d] == 1 for d in (range(var.ndim) if axes is None else axes))


def _as_scalar(var):
    """The 0-d variable a tensor of static size 1 in every dimension holds: the
    input of the DimShuffle that padded it when there is one."""
    owner = var.owner
    if owner is not None and isinstance(owner.op, DimShuffle) and owner.inputs[0].ndim == 0:
        return owner.inputs[0]
    return dimshuffle(var, ())


def _dimshuffle(var, order):
    """var.dimshuffle(order), composed with the DimShuffle that made `var`, if any (so
    that dropping the dimension shape_padright added gives back the vector itself)."""
    owner = var.owner
    if owner is not None and isinstance(owner.op, DimShuffle):
        inner = owner.op.new_order
        return dimshuffle(owner.inputs[0], ["x" if d == "x" else inner[d] for d in order])
    return dimshuffle(var, order)


def _const(value, dtype):
    return as_tensor_variable(np.asarray(value, dtype=dtype))


# -- powers ------------------------------------------------------------------------------------

def _pow_parts(node, float_only=False):
    """(base cast to the output's dtype, exponent) of `x ** c` for a constant number c
    (of static size 1 everywhere, so the output has the base's shape), else None."""
    x, e = node.inputs
    out = node.outputs[0]
    if not isinstance(e, Constant) or e.dtype == "bool" or not _broadcastable(e):
        return None
    if float_only and out.dtype not in FLOAT_DTYPES:
        return None
    value = constant_value(e)
    if value is None:
        return None
    return tb.cast(x, out.dtype), value


def _power_by_squaring(x, n):
    """x ** n for an integer n >= 1 as one product of repeated squares of x."""
    factors, square = [], x
    while True:
        if n & 1:
            factors.append(square)
        n >>= 1
        if not n:
            break
        square = tb.sqr(square)
    return factors[0] if len(factors) == 1 else tb.mul(*factors)


@node_rewriter(["pow"])
def pow_two(fgraph, node):
    """x ** 2 -> sqr(x), like x * x (bit-identical results)"""
    parts = _pow_parts(node)
    if parts is None or parts[1] != 2:
        return None
    return [tb.sqr(parts[0])]


@node_rewriter(["pow"])
def pow_int(fgraph, node):
    """x ** n -> repeated squares multiplied (x ** 5 -> x * sqr(sqr(x))), 3 <= n <= 16;
    x ** -n -> reciprocal(x ** n), 2 <= n <= 16, for float results only (an integer
    to a negative power truncates)"""
    parts = _pow_parts(node)
    if parts is None:
        return None
    x, value = parts
    if not float(value).is_integer():
        return None
    n = int(value)
    if 3 <= n <= POW_MAX:
        return [_power_by_squaring(x, n)]
    if -POW_MAX <= n <= -2 and node.outputs[0].dtype in FLOAT_DTYPES:
        return [tb.reciprocal(_power_by_squaring(x, -n))]
    return None


@node_rewriter(["pow"])
def pow_minus_one(fgraph, node):
    """x ** -1 -> reciprocal(x) (float results only: an integer 1 / x truncates)"""
    parts = _pow_parts(node, float_only=True)
    if parts is None or parts[1] != -1:
        return None
    return [tb.reciprocal(parts[0])]


@node_rewriter(["pow"])
def pow_half(fgraph, node):
    """x ** 0.5 -> sqrt(x), exact as IEEE pow: pow(-inf, 0.5) is +inf where sqrt(-inf) is
    NaN, and pow(-0, 0.5) is +0 where sqrt(-0) is -0 (under fast_math, plain sqrt)"""
    parts = _pow_parts(node, float_only=True)
    if parts is None or parts[1] != 0.5:
        return None
    return [_sqrt_like_pow(parts[0], fgraph)]


@node_rewriter(["pow"])
def pow_minus_half(fgraph, node):
    """x ** -0.5 -> reciprocal(sqrt(x)), exact at x = -inf as pow_half"""
    parts = _pow_parts(node, float_only=True)
    if parts is None or parts[1] != -0.5:
        return None
    return [tb.reciprocal(_sqrt_like_pow(parts[0], fgraph))]


def _sqrt_like_pow(x, fgraph):
    ctx = getattr(fgraph, "rewrite_context", None)
    if ctx is not None and ctx.fast_math:
        return sqrt(x)
    # abs(sqrt(x)) turns sqrt(-0) = -0 into pow's +0 (so x ** -0.5 is +inf there, not -inf).
    return tb.switch(tb.isinf(x), tb.abs(x), tb.abs(sqrt(x)))


# -- scalar factors out of sums ----------------------------------------------------------------

@node_rewriter([Sum])
def sum_scalar_mul(fgraph, node):
    """sum(a * x) -> a * sum(x) for a factor a that is constant along the summed axes
    (static size 1 there: a 0-d or fully broadcastable scalar, or e.g. a row summed over
    axis 0); floats only, since integer products wrap around before they are summed.
    mean(a * x) is a sum divided by a count, so it is covered too."""
    (prod,) = node.inputs
    if scalar_name(prod.owner) != "mul" or prod.dtype not in FLOAT_DTYPES or (
            node.outputs[0].dtype not in FLOAT_DTYPES):
        return None
    axes = node.op.axis
    factors = [t for t in prod.owner.inputs if _broadcastable(t, axes)]
    rest = [t for t in prod.owner.inputs if not _broadcastable(t, axes)]
    if not factors or not rest:
        return None
    inner = rest[0] if len(rest) == 1 else tb.mul(*rest)
    total = node.op(tb.cast(inner, prod.dtype))
    kept = [d for d in range(prod.ndim) if d not in axes]
    scale = [_as_scalar(f) if _broadcastable(f) else dimshuffle(f, kept) for f in factors]
    scale = scale[0] if len(scale) == 1 else tb.mul(*scale)
    return [tb.mul(total, tb.cast(scale, total.dtype))]


# -- products as BLAS calls --------------------------------------------------------------------

def _blas_dtype(node):
    """The dtype of a Dot node whose operands and result share one float dtype, else None."""
    a, b = node.inputs
    dtype = node.outputs[0].dtype
    return dtype if dtype in FLOAT_DTYPES and a.dtype == b.dtype == dtype else None


def _zero(ndim, dtype):
    """The constant 0 of static size 1 in every dimension: the term of a plain product."""
    return _const(np.zeros((1,) * ndim), dtype)


@node_rewriter([Dot])
def dot_to_gemm(fgraph, node):
    """dot(A, B) -> gemm(0, 1, A, B, 0) for float matrices (but see dot_to_ger)"""
    a, b = node.inputs
    dtype = _blas_dtype(node)
    if dtype is None or a.ndim != 2 or b.ndim != 2 or a.type.shape[1] == 1:
        return None
    return [gemm(_zero(2, dtype), _const(1, dtype), a, b, _const(0, dtype))]


@node_rewriter([Dot])
def dot_to_gemv(fgraph, node):
    """dot(A, x) -> gemv(0, 1, A, x, 0) and dot(x, A) -> gemv(0, 1, A.T, x, 0), floats"""
    a, b = node.inputs
    dtype = _blas_dtype(node)
    if dtype is None or {a.ndim, b.ndim} != {1, 2}:
        return None
    matrix, vector = (a, b) if a.ndim == 2 else (transpose(b), a)
    return [gemv(_zero(1, dtype), _const(1, dtype), matrix, vector, _const(0, dtype))]


@node_rewriter([Dot])
def dot_to_ger(fgraph, node):
    """dot(col, row) -> ger(0, 1, x, y): a product over an inner dimension of static size 1
    (how T.outer(x, y) is built) is an outer product"""
    a, b = node.inputs
    dtype = _blas_dtype(node)
    if dtype is None or a.ndim != 2 or b.ndim != 2 or a.type.shape[1] != 1:
        return None
    x, y = _dimshuffle(a, (0,)), _dimshuffle(b, (1,))
    return [ger(_zero(2, dtype), _const(1, dtype), x, y)]


def _bare_product(fgraph, var):
    """(op, alpha, operands) of a gemm/gemv/ger whose added term is the constant 0 (a
    plain product, as the dot_to_* rewrites make it), read by one node only; else None."""
    node = var.owner
    if node is None or len(fgraph.clients.get(var, ())) != 1:
        return None
    if isinstance(node.op, Gemm | Gemv):
        term, alpha, a, b, beta = node.inputs
        if constant_value(term) == 0 and constant_value(beta) == 0:
            return node.op, alpha, (a, b)
    elif isinstance(node.op, Ger):
        term, alpha, x, y = node.inputs
        if constant_value(term) == 0:
            return node.op, alpha, (x, y)
    return None


def _scalar_product(dtype, *scalars):
    """The product of 0-d variables in `dtype`, constants multiplied out now."""
    const = np.ones((), dtype=dtype)
    others = []
    for s in scalars:
        if isinstance(s, Constant):
            const = (const * s.data.astype(dtype)).astype(dtype)
        else:
            others.append(tb.cast(s, dtype))
    if not others:
        return _const(const, dtype)
    if const != 1:
        others.append(_const(const, dtype))
    return others[0] if len(others) == 1 else tb.mul(*others)


def _negate(s):
    return _const(-s.data, s.dtype) if isinstance(s, Constant) else tb.neg(s)


def _with_term(op, alpha, operands, product_shape, term, beta, dtype):
    """op computing `alpha * product + beta * term`; None when the term would broadcast
    the product (the op's output has the product's shape)."""
    if any(p == 1 and t != 1 for p, t in zip(product_shape, term.type.shape)):
        return None
    term = tb.cast(term, dtype)
    if isinstance(op, Ger):  # ger adds its term with coefficient 1
        value = constant_value(beta)
        term = term if value == 1 else tb.neg(term) if value == -1 else tb.mul(term, beta)
        return ger(term, alpha, *operands)
    return op(term, alpha, *operands, beta)


def _scaled_term(var, dtype):
    """(term, beta) with var = beta * term for scalars multiplied into beta (a mul with
    one input that is not a scalar), else (var, 1)."""
    if scalar_name(var.owner) == "mul":
        scalars = [v for v in var.owner.inputs if _broadcastable(v)]
        terms = [v for v in var.owner.inputs if not _broadcastable(v)]
        if len(terms) == 1:
            return terms[0], _scalar_product(dtype, *[_as_scalar(s) for s in scalars])
    return var, _const(1, dtype)


@node_rewriter(["mul", "neg"])
def blas_scale(fgraph, node):
    """s * gemm(0, a, A, B, 0) -> gemm(0, s * a, A, B, 0) (the same for gemv and ger),
    for 0-d or broadcastable scalars s; -gemm(...) likewise with -a"""
    out = node.outputs[0]
    found = [(i, _bare_product(fgraph, v)) for i, v in enumerate(node.inputs)]
    found = [(i, p) for i, p in found if p is not None]
    if len(found) != 1:
        return None
    index, (op, alpha, operands) = found[0]
    dtype = node.inputs[index].dtype
    if out.dtype != dtype:
        return None
    others = [v for i, v in enumerate(node.inputs) if i != index]
    if not all(_broadcastable(v) for v in others):
        return None
    if scalar_name(node) == "neg":
        alpha = _negate(alpha)
    else:
        alpha = _scalar_product(dtype, alpha, *[_as_scalar(v) for v in others])
    if isinstance(op, Ger):
        return [ger(_zero(2, dtype), alpha, *operands)]
    zero = _const(0, dtype)
    return [op(_zero(out.ndim, dtype), alpha, *operands, zero)]


@node_rewriter(["add", "sub"])
def blas_add(fgraph, node):
    """a*dot(A, B) + b*C -> gemm(C, a, A, B, b), C - dot(A, B) -> gemm(C, -1, A, B, 1),
    dot(A, B) - C -> gemm(C, 1, A, B, -1); the same for gemv and (with b = 1) ger"""
    out = node.outputs[0]
    inputs = node.inputs
    for index, var in enumerate(inputs):
        found = _bare_product(fgraph, var)
        if found is None or var.dtype != out.dtype:
            continue
        op, alpha, operands = found
        others = [v for i, v in enumerate(inputs) if i != index]
        rest = others[0] if len(others) == 1 else tb.add(*others)
        term, beta = _scaled_term(rest, out.dtype)
        if scalar_name(node) == "sub":
            if index == 1:    # C - a*AB
                alpha = _negate(alpha)
            else:             # a*AB - C
                beta = _negate(beta)
        replacement = _with_term(op, alpha, operands, var.type.shape, term, beta, out.dtype)
        if replacement is not None:
            return [replacement]
    return None


STAGE.register(
    constant_folding,
    pow_two,
    pow_int,
    pow_minus_one,
    pow_half,
    pow_minus_half,
    pattern("mul_self", ("mul", "x", "x"), ("sqr", "x"), "x * x -> sqr(x), like x ** 2"),
    sum_scalar_mul,
    dot_to_gemm,
    dot_to_gemv,
    dot_to_ger,
    blas_scale,
    blas_add,
)
