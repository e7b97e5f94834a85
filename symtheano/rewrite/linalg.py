"""Linear-algebra rewrites: a product with an inverse becomes a solve (stabilize),
and a solve with a matrix known to be positive definite goes through its
Cholesky factor (specialize; stabilize when the factor is in the graph already).

A matrix `a` is known positive definite when
- the solve was built with assume_a="pos" (the caller's promise, as in SciPy);
- `a.tag["positive_definite"]` (or Theano's `psd`) is true;
- `a` is L @ L.T with L a Cholesky factor (then L itself is used, no new factor).
"""

from __future__ import annotations

from symtheano.rewrite import specialize, stabilize
from symtheano.rewrite.engine import node_rewriter
from symtheano.tensor.blas import Dot
from symtheano.tensor.elemwise import DimShuffle, dimshuffle
from symtheano.tensor.linalg import Cholesky, MatrixInverse, Solve, SolveTriangular


def _owner(var, op_class):
    node = var.owner
    return node if node is not None and isinstance(node.op, op_class) else None


def _transposed(var):
    """x when `var` is the transpose x.T of a matrix, else None."""
    node = _owner(var, DimShuffle)
    if node is not None and node.op.input_ndim == 2 and node.op.new_order == (1, 0):
        return node.inputs[0]
    return None


def _inverse_of(var):
    """(a, transposed) when `var` is inv(a) or inv(a).T, else None."""
    node = _owner(var, MatrixInverse)
    if node is not None:
        return node.inputs[0], False
    inner = _transposed(var)
    if inner is not None and _owner(inner, MatrixInverse) is not None:
        return inner.owner.inputs[0], True
    return None


def _t(x):
    return dimshuffle(x, (1, 0))


@node_rewriter([Dot])
def inv_dot_to_solve(fgraph, node):
    """inv(a) @ b -> solve(a, b); b @ inv(a) -> solve(a.T, b.T).T (no inverse is formed)"""
    left, right = node.inputs
    found = _inverse_of(left)
    if found is not None and left.ndim == 2:
        a, transposed = found
        return [Solve()(_t(a) if transposed else a, right)]
    found = _inverse_of(right)
    if found is not None and right.ndim == 2:
        # b inv(a) = (inv(a)^T b^T)^T = solve(a^T, b^T)^T
        a, transposed = found
        a = a if transposed else _t(a)
        if left.ndim == 1:
            return [Solve()(a, left)]
        return [_t(Solve()(a, _t(left)))]
    return None


def _cholesky_factor_of(a):
    """L when `a` is L @ L.T for a Cholesky factor L, else None."""
    node = _owner(a, Dot)
    if node is None:
        return None
    left, right = node.inputs
    if _owner(left, Cholesky) is not None and _transposed(right) is left:
        return left
    return None


def _known_positive_definite(a):
    tag = getattr(a, "tag", None) or {}
    return bool(tag.get("positive_definite") or tag.get("psd"))


def _cho_solve(factor, b):
    """x with L L^T x = b: L y = b, then L^T x = y."""
    y = SolveTriangular(lower=True)(factor, b)
    return SolveTriangular(lower=True, trans=True)(factor, y)


@node_rewriter([Solve])
def solve_with_known_factor(fgraph, node):
    """solve(L @ L.T, b) -> cho_solve((L, True), b) for a Cholesky factor L: the product
    is never formed nor factorised again (stabilize, so the product is still a Dot)"""
    factor = _cholesky_factor_of(node.inputs[0])
    return None if factor is None else [_cho_solve(factor, node.inputs[1])]


@node_rewriter([Solve])
def solve_with_cholesky(fgraph, node):
    """solve(a, b) -> cho_solve((cholesky(a), True), b) when a is known positive definite:
    two triangular solves after a factorisation half the cost of an LU one"""
    a, b = node.inputs
    if node.op.assume_a != "pos" and not _known_positive_definite(a):
        return None
    lower = node.op.lower if node.op.assume_a == "pos" else True
    # SciPy's rule: the triangle named by `lower` is the one read.
    factor = Cholesky()(a) if lower else Cholesky()(_t(a))
    return [_cho_solve(factor, b)]


stabilize.STAGE.register(inv_dot_to_solve, solve_with_known_factor)
specialize.STAGE.register(solve_with_cholesky)
