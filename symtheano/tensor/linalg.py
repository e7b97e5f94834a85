"""Linear algebra on matrices: inverse, determinants, linear solves, Cholesky,
and (from linalg_decomp.py) eigh, qr, svd, pinv; plus what is built from them
(trace, norm, matrix_power, kron, cho_solve) and the triangle masks.

Every op works on one matrix (2-d), as in Theano; `perform` is NumPy's
(numpy.linalg), so nothing here needs SciPy. Triangular solves use
scipy.linalg.solve_triangular when SciPy is installed (O(n^2)) and otherwise
numpy.linalg.solve on the masked triangle (the same result, O(n^3)).

Gradients and forward rules are the matrix-calculus identities (comments give
each one); where an op reads only one triangle (cholesky, eigh,
solve_triangular), its derivative is that of the function it really computes:
the other triangle gets a zero gradient. Theano's names: `nlinalg.py` and
`slinalg.py` re-export these.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.blas import dot, outer
from symtheano.tensor.constructors import arange, eye
from symtheano.tensor.elemwise import dimshuffle
from symtheano.tensor.reduce import sum as sum_
from symtheano.tensor.shape import shape_i
from symtheano.tensor.type import FLOAT_DTYPES, TensorType, upcast
from symtheano.tensor.var import as_tensor_variable


def label(var):
    """How an error message names a variable: its name or expression, and its shape."""
    from symtheano.printing import short_label

    return f"{short_label(var)} {var.type.describe_shape()}"


def as_matrix(x, what, square=False):
    """`x` as a matrix variable; a clear error naming it otherwise."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise ValueError(f"{what}: {label(x)} must be a matrix (2 dimensions), got "
                         f"{x.ndim}")
    n, m = x.type.shape
    if square and n is not None and m is not None and n != m:
        raise ValueError(f"{what}: {label(x)} must be square")
    if x.dtype not in FLOAT_DTYPES and x.dtype != "bool" and not x.dtype.startswith(
            ("int", "uint")):
        raise TypeError(f"{what}: {label(x)} must hold numbers, got dtype {x.dtype}")
    return x


def float_dtype(*variables):
    """The dtype a linear-algebra result has: float32 stays float32, anything else
    (integers included) is computed in float64."""
    dt = upcast(*[v.dtype for v in variables])
    return dt if dt in FLOAT_DTYPES else "float64"


def grad_for(g, x):
    """`g` as the gradient of `x`: cast to its dtype, None for a discrete x."""
    return tb.cast(g, x.dtype) if x.dtype in FLOAT_DTYPES else None


def check_square(node, a, what):
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{what}: {label(node.inputs[0])} must be square, got shape "
                         f"{a.shape}")


def linalg_error(exc, node, what):
    return np.linalg.LinAlgError(f"{what} of {label(node.inputs[0])}: {exc}")


# -- masks, diagonals and transposes used by the rules below ------------------------------------

def tri(N, M=None, k=0, dtype=None):
    """An N x M matrix with ones at and below diagonal k, zeros above (numpy.tri)."""
    M = N if M is None else M
    rows = dimshuffle(arange(N), (0, "x"))
    cols = dimshuffle(arange(M), ("x", 0))
    return tb.cast(tb.ge(rows + k, cols), dtype or "floatX")


def tril(m, k=0):
    """The lower triangle of a matrix: entries above diagonal k set to zero."""
    m = as_matrix(m, "tril")
    return m * tri(shape_i(m, 0), shape_i(m, 1), k, dtype=m.dtype)


def triu(m, k=0):
    """The upper triangle of a matrix: entries below diagonal k set to zero."""
    m = as_matrix(m, "triu")
    return m * (1 - tri(shape_i(m, 0), shape_i(m, 1), k - 1, dtype=m.dtype))


def diagonal(x, offset=0):
    """The diagonal `offset` of a matrix as a vector (numpy.diagonal of a matrix)."""
    x = as_matrix(x, "diagonal")
    if offset > 0:
        x = x[:, offset:]
    elif offset < 0:
        x = x[-offset:, :]
    k = tb.minimum(shape_i(x, 0), shape_i(x, 1))
    i = arange(k)
    return x[i, i]


extract_diag = diagonal


def alloc_diag(v):
    """A square matrix with the vector `v` on its diagonal (numpy.diag of a vector)."""
    v = as_tensor_variable(v)
    if v.ndim != 1:
        raise ValueError(f"alloc_diag: {label(v)} must be a vector")
    return eye(shape_i(v, 0), dtype=v.dtype) * dimshuffle(v, ("x", 0))


def diag(v, k=0):
    """numpy.diag: the diagonal of a matrix, or a matrix with a vector on its diagonal."""
    v = as_tensor_variable(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim == 1 and k == 0:
        return alloc_diag(v)
    raise ValueError(f"diag: {label(v)} must be a matrix, or a vector with k=0")


def _eye_like(x):
    return eye(shape_i(x, 0), shape_i(x, 1), dtype=x.dtype)


def _mT(x):
    return dimshuffle(x, (1, 0))


def _phi(x):
    """The lower triangle with the diagonal halved (the Cholesky rules' Phi)."""
    return tril(x) - 0.5 * x * _eye_like(x)


def _symmetric_from(x, lower):
    """The symmetric matrix a routine reading one triangle of `x` sees."""
    if lower:
        return tril(x) + _mT(tril(x, -1))
    return triu(x) + _mT(triu(x, 1))


def _fold_onto(s, lower):
    """The gradient with respect to the triangle a routine reads, from the gradient
    `s` (symmetric) with respect to the symmetric matrix it sees: an off-diagonal
    entry read once stands for two."""
    if lower:
        return tril(s) + tril(s, -1)
    return triu(s) + triu(s, 1)


# -- inverse, determinants ---------------------------------------------------------------------

class MatrixInverse(Op):
    """The inverse of a square matrix (numpy.linalg.inv)."""

    def make_node(self, a):
        a = as_matrix(a, "inv", square=True)
        n = a.type.shape[0] if a.type.shape[0] is not None else a.type.shape[1]
        out = TensorType(float_dtype(a), (n, n)).make_variable()
        return Apply(self, [a], [out])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square(node, a, "inv")
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "inv") from None
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        # d(A^-1) = -A^-1 dA A^-1, so gA = -X^T g X^T with X = A^-1
        x = outputs[0]
        return [grad_for(-dot(dot(_mT(x), output_grads[0]), _mT(x)), inputs[0])]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        if eval_points[0] is None:
            return [None]
        (x,) = node_outputs(self, inputs)
        return [-dot(dot(x, eval_points[0]), x)]

    def pretty(self, input_strs):
        return f"inv({input_strs[0]})"


class Det(Op):
    """The determinant of a square matrix (numpy.linalg.det)."""

    def make_node(self, a):
        a = as_matrix(a, "det", square=True)
        return Apply(self, [a], [TensorType(float_dtype(a), ()).make_variable()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square(node, a, "det")
        output_storage[0][0] = np.asarray(np.linalg.det(a), dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [()]

    def L_op(self, inputs, outputs, output_grads):
        # d det(A) = det(A) tr(A^-1 dA)
        (a,), (d,), (g,) = inputs, outputs, output_grads
        return [grad_for(g * d * _mT(inv(a)), a)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        if eval_points[0] is None:
            return [None]
        (d,) = node_outputs(self, inputs)
        return [d * sum_(_mT(inv(inputs[0])) * eval_points[0])]

    def pretty(self, input_strs):
        return f"det({input_strs[0]})"


class SLogDet(Op):
    """The sign and the log of the absolute value of a determinant
    (numpy.linalg.slogdet): two outputs, both of the float dtype."""

    def make_node(self, a):
        a = as_matrix(a, "slogdet", square=True)
        dtype = float_dtype(a)
        return Apply(self, [a], [TensorType(dtype, ()).make_variable(),
                                 TensorType(dtype, ()).make_variable()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square(node, a, "slogdet")
        sign, logabs = np.linalg.slogdet(a)
        output_storage[0][0] = np.asarray(sign, dtype=node.outputs[0].dtype)
        output_storage[1][0] = np.asarray(logabs, dtype=node.outputs[1].dtype)

    def infer_shape(self, node, input_shapes):
        return [(), ()]

    def L_op(self, inputs, outputs, output_grads):
        # the sign is piecewise constant; d log|det A| = tr(A^-1 dA)
        g = output_grads[1]
        if g is None:
            return [None]
        return [grad_for(g * _mT(inv(inputs[0])), inputs[0])]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None, None]
        return [None, sum_(_mT(inv(inputs[0])) * eval_points[0])]

    def pretty(self, input_strs):
        return f"slogdet({input_strs[0]})"


# -- solves ------------------------------------------------------------------------------------

def _solve_shapes(what, a, b):
    if b.ndim not in (1, 2):
        raise ValueError(f"{what}: the right-hand side {label(b)} must be a vector or a "
                         f"matrix, got {b.ndim} dimensions")
    n, nb = a.type.shape[0], b.type.shape[0]
    if n is not None and nb is not None and n != nb:
        raise ValueError(f"{what}: {label(a)} has {n} rows but the right-hand side "
                         f"{label(b)} has {nb}")
    return (a.type.shape[1],) + b.type.shape[1:]


def _check_solve_runtime(node, a, b, what):
    check_square(node, a, what)
    if b.shape[0] != a.shape[0]:
        raise ValueError(f"{what}: {label(node.inputs[0])} of shape {a.shape} and the "
                         f"right-hand side {label(node.inputs[1])} of shape {b.shape} do "
                         "not fit")


def _outer_or_dot(gb, x):
    """The gradient of A in A x = b: -gb x^T (gb, x vectors or matrices alike)."""
    return outer(gb, x) if x.ndim == 1 else dot(gb, _mT(x))


class Solve(Op):
    """x with a x = b for a square matrix a (numpy.linalg.solve); b a vector or a
    matrix. `assume_a` ('gen', 'sym', 'pos') is the caller's promise about a,
    as in scipy.linalg.solve: with 'sym' or 'pos' only the triangle `lower` names
    is read (the other is taken as its mirror image), and with 'pos' the
    specialize stage solves with the Cholesky factor of that triangle."""

    __props__ = ("assume_a", "lower")

    def __init__(self, assume_a="gen", lower=False):
        if assume_a not in ("gen", "sym", "pos"):
            raise ValueError(f"solve: assume_a must be 'gen', 'sym' or 'pos', got {assume_a!r}")
        self.assume_a = assume_a
        self.lower = bool(lower)

    def make_node(self, a, b):
        a = as_matrix(a, "solve", square=True)
        b = as_tensor_variable(b)
        shape = _solve_shapes("solve", a, b)
        return Apply(self, [a, b], [TensorType(float_dtype(a, b), shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_solve_runtime(node, a, b, "solve")
        if self.assume_a != "gen":
            a = np.tril(a) + np.tril(a, -1).T if self.lower else np.triu(a) + np.triu(a, 1).T
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "solve") from None
        output_storage[0][0] = np.asarray(x, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][1],) + tuple(input_shapes[1][1:])]

    def L_op(self, inputs, outputs, output_grads):
        # x = A^-1 b: gb = A^-T g, gA = -gb x^T (for 'sym'/'pos', A is the symmetric
        # matrix one triangle stands for: its gradient is folded onto that triangle)
        (a, b), (x,), (g,) = inputs, outputs, output_grads
        if self.assume_a == "gen":
            gb = Solve()(_mT(a), g)
            return [grad_for(-_outer_or_dot(gb, x), a), grad_for(gb, b)]
        gb = self(a, g)
        ga = -_outer_or_dot(gb, x)
        return [grad_for(_fold_onto(0.5 * (ga + _mT(ga)), self.lower), a), grad_for(gb, b)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        (a, _), (da, db) = inputs, eval_points
        if da is None and db is None:
            return [None]
        (x,) = node_outputs(self, inputs)
        if da is not None and self.assume_a != "gen":
            da = _symmetric_from(da, self.lower)
        rhs = db if da is None else (-dot(da, x) if db is None else db - dot(da, x))
        return [self(a, rhs)]

    def pretty(self, input_strs):
        extra = "" if self.assume_a == "gen" else f", assume_a={self.assume_a!r}"
        return f"solve({input_strs[0]}, {input_strs[1]}{extra})"


def _triangular_solve(a, b, lower, trans, unit_diagonal):
    try:
        from scipy.linalg import solve_triangular as scipy_solve
    except ImportError:
        m = np.tril(a) if lower else np.triu(a)
        if unit_diagonal:
            np.fill_diagonal(m, 1)
        return np.linalg.solve(m.T if trans else m, b)
    return scipy_solve(a, b, lower=lower, trans=1 if trans else 0,
                       unit_diagonal=unit_diagonal, check_finite=False)


class SolveTriangular(Op):
    """x with op(M) x = b, where M is the lower (or upper) triangle of a (its
    diagonal taken as ones with unit_diagonal) and op(M) is M or, with trans, M^T.
    The other triangle of a is never read (scipy.linalg.solve_triangular)."""

    __props__ = ("lower", "trans", "unit_diagonal")

    def __init__(self, lower=False, trans=False, unit_diagonal=False):
        self.lower, self.trans, self.unit_diagonal = bool(lower), bool(trans), bool(
            unit_diagonal)

    def make_node(self, a, b):
        a = as_matrix(a, "solve_triangular", square=True)
        b = as_tensor_variable(b)
        shape = _solve_shapes("solve_triangular", a, b)
        return Apply(self, [a, b], [TensorType(float_dtype(a, b), shape).make_variable()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_solve_runtime(node, a, b, "solve_triangular")
        dtype = node.outputs[0].dtype
        with np.errstate(all="ignore"):
            try:
                x = _triangular_solve(a.astype(dtype), b.astype(dtype), self.lower,
                                      self.trans, self.unit_diagonal)
            except np.linalg.LinAlgError as exc:
                raise linalg_error(exc, node, "solve_triangular") from None
        if not self.unit_diagonal and a.size and not np.all(np.diagonal(a)):
            raise np.linalg.LinAlgError(f"solve_triangular: {label(node.inputs[0])} is "
                                        "singular (a zero on its diagonal)")
        output_storage[0][0] = np.asarray(x, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][1],) + tuple(input_shapes[1][1:])]

    def _mask(self, m):
        """The part of a matrix the op reads: its triangle (strict with unit_diagonal)."""
        if self.lower:
            return tril(m, -1 if self.unit_diagonal else 0)
        return triu(m, 1 if self.unit_diagonal else 0)

    def L_op(self, inputs, outputs, output_grads):
        # x = op(M)^-1 b: gb = op(M)^-T g; g op(M) = -gb x^T; gA = the read part of gM
        (a, b), (x,), (g,) = inputs, outputs, output_grads
        gb = SolveTriangular(self.lower, not self.trans, self.unit_diagonal)(a, g)
        g_op = -_outer_or_dot(gb, x)
        ga = self._mask(_mT(g_op) if self.trans else g_op)
        return [grad_for(ga, a), grad_for(gb, b)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        (a, _), (da, db) = inputs, eval_points
        if da is None and db is None:
            return [None]
        (x,) = node_outputs(self, inputs)
        rhs = db
        if da is not None:
            dm = self._mask(da)
            dmx = -dot(_mT(dm) if self.trans else dm, x)
            rhs = dmx if db is None else db + dmx
        return [self(a, rhs)]

    def pretty(self, input_strs):
        flags = [f"lower={self.lower}"] + (["trans=True"] if self.trans else []) + (
            ["unit_diagonal=True"] if self.unit_diagonal else [])
        return f"solve_triangular({', '.join(input_strs + flags)})"


class Cholesky(Op):
    """The lower Cholesky factor L of a symmetric positive definite matrix
    (numpy.linalg.cholesky): L L^T = a, reading a's lower triangle only."""

    def make_node(self, a):
        a = as_matrix(a, "cholesky", square=True)
        n = a.type.shape[0] if a.type.shape[0] is not None else a.type.shape[1]
        return Apply(self, [a], [TensorType(float_dtype(a), (n, n)).make_variable()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square(node, a, "cholesky")
        try:
            out = np.linalg.cholesky(a.astype(node.outputs[0].dtype))
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "cholesky (is it positive definite?)") from None
        output_storage[0][0] = out

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        # dL = L Phi(L^-1 dA L^-T) (Murray 2016); its adjoint, for the symmetric A, is
        # S = L^-T sym(Phi(L^T gL)) L^-1, and a read-once lower entry stands for two.
        (a,), (chol,), (g,) = inputs, outputs, output_grads
        p = _phi(dot(_mT(chol), g))
        p = 0.5 * (p + _mT(p))
        s = _mT(_solve_lt(chol, _mT(_solve_lt(chol, p))))
        return [grad_for(_fold_onto(s, lower=True), a)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        if eval_points[0] is None:
            return [None]
        (chol,) = node_outputs(self, inputs)
        da = _symmetric_from(eval_points[0], lower=True)
        inner = _mT(_solve_l(chol, _mT(_solve_l(chol, da))))   # L^-1 dA L^-T
        return [dot(chol, _phi(inner))]

    def pretty(self, input_strs):
        return f"cholesky({input_strs[0]})"


def _solve_l(chol, b):
    """L^-1 b for a lower-triangular L."""
    return SolveTriangular(lower=True)(chol, b)


def _solve_lt(chol, b):
    """L^-T b for a lower-triangular L."""
    return SolveTriangular(lower=True, trans=True)(chol, b)


# -- the functions users call ------------------------------------------------------------------

_inv, _det, _slogdet, _cholesky = MatrixInverse(), Det(), SLogDet(), Cholesky()


def inv(a):
    """The inverse of a square matrix (numpy.linalg.inv; Theano's matrix_inverse)."""
    return _inv(a)


matrix_inverse = inv


def det(a):
    """The determinant of a square matrix."""
    return _det(a)


def slogdet(a):
    """(sign, log|det a|) of a square matrix, like numpy.linalg.slogdet."""
    return _slogdet(a)


def solve(a, b, assume_a="gen", lower=False):
    """x with a x = b (b a vector or a matrix), like scipy.linalg.solve.

    assume_a 'pos' promises a symmetric positive definite `a`: the compiled
    function then solves with the Cholesky factor of its lower triangle (upper
    with lower=False, as SciPy reads it)."""
    return Solve(assume_a, lower)(a, b)


def solve_triangular(a, b, lower=False, trans=0, unit_diagonal=False):
    """x with op(a) x = b for a triangular `a` (scipy.linalg.solve_triangular):
    trans 0/'N' solves a x = b, 1/'T' a^T x = b; only a's triangle is read."""
    if trans in (0, "N", False):
        trans = False
    elif trans in (1, "T", "C", True):
        trans = True
    else:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 'N' or 'T', got {trans!r}")
    return SolveTriangular(lower, trans, unit_diagonal)(a, b)


def solve_lower_triangular(a, b):
    """Theano's name: solve_triangular(a, b, lower=True)."""
    return solve_triangular(a, b, lower=True)


def solve_upper_triangular(a, b):
    """Theano's name: solve_triangular(a, b, lower=False)."""
    return solve_triangular(a, b, lower=False)


def cholesky(a, lower=True):
    """The Cholesky factor of a symmetric positive definite matrix: L (lower, L L^T
    = a, from a's lower triangle) or, with lower=False, U = L^T from the upper one."""
    if lower:
        return _cholesky(a)
    a = as_matrix(a, "cholesky", square=True)
    return _mT(_cholesky(_mT(a)))


def cho_solve(c_and_lower, b):
    """x with a x = b from the Cholesky factor of a (scipy.linalg.cho_solve):
    `c_and_lower` is (c, lower) with c's lower (or upper) triangle the factor."""
    try:
        c, lower = c_and_lower
    except (TypeError, ValueError):
        raise TypeError("cho_solve takes (factor, lower) and b, like scipy.linalg.cho_solve, "
                        f"got {c_and_lower!r}") from None
    # a = L L^T: solve L y = b, then L^T x = y (with U = L^T the other way round)
    y = SolveTriangular(lower=bool(lower), trans=not lower)(c, b)
    return SolveTriangular(lower=bool(lower), trans=bool(lower))(c, y)


def trace(x):
    """The sum of a matrix's diagonal."""
    return sum_(diagonal(x))


def matrix_dot(*args):
    """The product of the matrices in order: matrix_dot(a, b, c) = a @ b @ c."""
    if not args:
        raise ValueError("matrix_dot needs at least one matrix")
    out = as_tensor_variable(args[0])
    for a in args[1:]:
        out = dot(out, a)
    return out


def matrix_power(m, n):
    """The matrix m multiplied by itself n times (an int known when the graph is
    built; 0 gives the identity, negative powers the inverse's power), by
    repeated squaring (numpy.linalg.matrix_power)."""
    m = as_matrix(m, "matrix_power", square=True)
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"matrix_power: the power must be an int, got {n!r}")
    n = int(n)
    if n == 0:
        return eye(shape_i(m, 0), dtype=m.dtype) + 0 * m  # keeps m's shape and dtype
    if n < 0:
        m, n = inv(m), -n
    result, square = None, m
    while n:
        if n & 1:
            result = square if result is None else dot(result, square)
        n >>= 1
        if n:
            square = dot(square, square)
    return result


def kron(a, b):
    """The Kronecker product (numpy.kron): the blocks a[i, j] * b. Inputs of
    different ndim get leading dimensions of size 1."""
    from symtheano.tensor.elemwise import shape_padleft
    from symtheano.tensor.shape import reshape

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    nd = max(a.ndim, b.ndim)
    a, b = shape_padleft(a, nd - a.ndim), shape_padleft(b, nd - b.ndim)
    # a[i, j] b[k, l] at (i, k, j, l), then (i, k) and (j, l) merged
    pa = [p for d in range(nd) for p in (d, "x")]
    pb = [p for d in range(nd) for p in ("x", d)]
    prod = dimshuffle(a, pa) * dimshuffle(b, pb)
    return reshape(prod, tuple(shape_i(a, d) * shape_i(b, d) for d in range(nd)))


def norm(x, ord=None, axis=None):
    """The norm of a vector or a matrix, like numpy.linalg.norm (without axis for
    matrices). Vectors: ord None/2, inf, -inf, 0 (the count of non-zeros) or any p.
    Matrices: None/'fro', 'nuc', inf, -inf, 1, -1, 2, -2."""
    from symtheano.tensor import math as tm
    from symtheano.tensor.reduce import max as max_
    from symtheano.tensor.reduce import min as min_

    x = as_tensor_variable(x)
    if axis is not None:
        if x.ndim != 1 and not isinstance(axis, int | np.integer):
            raise NotImplementedError("norm: a pair of axes is not supported; use axis=None "
                                      "on a matrix")
        return _vector_norm(x, ord, axis)
    if x.ndim == 1:
        return _vector_norm(x, ord, 0)
    if x.ndim != 2:
        raise ValueError(f"norm: {label(x)} must be a vector or a matrix (or give an axis)")
    ax = abs(x)
    if ord in (None, "fro", "f"):
        return tm.sqrt(sum_(tb.sqr(ax)))
    if ord == "nuc":
        return sum_(svd(x, compute_uv=False))
    if ord in (np.inf, "inf"):
        return max_(sum_(ax, axis=1))
    if ord in (-np.inf, "-inf"):
        return min_(sum_(ax, axis=1))
    if ord == 1:
        return max_(sum_(ax, axis=0))
    if ord == -1:
        return min_(sum_(ax, axis=0))
    if ord == 2:
        return max_(svd(x, compute_uv=False))
    if ord == -2:
        return min_(svd(x, compute_uv=False))
    raise ValueError(f"norm: invalid norm order {ord!r} for a matrix")


def _vector_norm(x, ord, axis):
    from symtheano.tensor import math as tm
    from symtheano.tensor.reduce import max as max_
    from symtheano.tensor.reduce import min as min_

    ax = abs(x)
    if ord is None or ord == 2:
        return tm.sqrt(sum_(tb.sqr(ax), axis=axis))
    if ord in (np.inf, "inf"):
        return max_(ax, axis=axis)
    if ord in (-np.inf, "-inf"):
        return min_(ax, axis=axis)
    if ord == 0:
        return sum_(tb.cast(tb.neq(x, 0), float_dtype(x)), axis=axis)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for a vector")
    return sum_(ax ** ord, axis=axis) ** (1.0 / ord)


from symtheano.tensor.linalg_decomp import (  # noqa: E402  (they use the ops above)
    QR,
    SVD,
    Eigh,
    MatrixPinv,
    eigh,
    eigvalsh,
    pinv,
    qr,
    svd,
)

__all__ = [
    "MatrixInverse", "Det", "SLogDet", "Solve", "SolveTriangular", "Cholesky", "Eigh", "QR",
    "SVD", "MatrixPinv", "inv", "matrix_inverse", "det", "slogdet", "solve",
    "solve_triangular", "solve_lower_triangular", "solve_upper_triangular", "cholesky",
    "cho_solve", "eigh", "eigvalsh", "qr", "svd", "pinv", "trace", "norm", "matrix_power",
    "matrix_dot", "kron", "tri", "tril", "triu", "diagonal", "extract_diag", "alloc_diag",
    "diag",
]
