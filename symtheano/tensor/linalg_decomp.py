"""Matrix decompositions: eigh, qr, svd and the pseudo-inverse pinv (numpy.linalg),
with their derivatives. Gathered with the other linear algebra in linalg.py.

The derivative rules assume what makes the decomposition differentiable:
distinct eigenvalues (eigh), distinct non-zero singular values (svd), a QR
factor R with a non-zero diagonal, a pseudo-inverse of constant rank. The
columns a "complete" or "full_matrices" result adds beyond min(m, n) are not
unique (any orthonormal completion will do), so the rules treat them as
constants: no gradient flows back from them and their tangent is zero.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.tensor import basic as tb
from symtheano.tensor.blas import dot
from symtheano.tensor.constructors import eye
from symtheano.tensor.elemwise import dimshuffle
from symtheano.tensor.join import concatenate
from symtheano.tensor.linalg import (
    SolveTriangular,
    _fold_onto,
    _mT,
    _symmetric_from,
    as_matrix,
    check_square,
    diagonal,
    float_dtype,
    grad_for,
    linalg_error,
    tril,
)
from symtheano.tensor.shape import shape_i, zeros_like
from symtheano.tensor.type import TensorType


def _row(v):
    return dimshuffle(v, ("x", 0))


def _col(v):
    return dimshuffle(v, (0, "x"))


def _eye_of(n, dtype):
    return eye(n, dtype=dtype)


def _inverse_gaps(values, squared, dtype):
    """F with F[i, j] = 1 / (v_j - v_i) off the diagonal and 0 on it (v = values,
    or their squares): how strongly a perturbation mixes two eigen/singular vectors."""
    v = tb.sqr(values) if squared else values
    n = shape_i(values, 0)
    ident = _eye_of(n, dtype)
    return (1 - ident) / (_row(v) - _col(v) + ident)


def _min_size(a):
    n, m = a.type.shape
    return None if n is None or m is None else min(n, m)


class Eigh(Op):
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix,
    read from its lower ('L') or upper ('U') triangle (numpy.linalg.eigh)."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, a):
        a = as_matrix(a, "eigh", square=True)
        n = a.type.shape[0] if a.type.shape[0] is not None else a.type.shape[1]
        dtype = float_dtype(a)
        return Apply(self, [a], [TensorType(dtype, (n,)).make_variable(),
                                 TensorType(dtype, (n, n)).make_variable()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square(node, a, "eigh")
        dtype = node.outputs[0].dtype
        try:
            w, v = np.linalg.eigh(a.astype(dtype), UPLO=self.UPLO)
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "eigh") from None
        output_storage[0][0] = np.asarray(w, dtype=dtype)
        output_storage[1][0] = np.asarray(v, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        n = input_shapes[0][0]
        return [(n,), (n, n)]

    def L_op(self, inputs, outputs, output_grads):
        # For symmetric dA: dw_i = v_i^T dA v_i and dV = V (F o (V^T dA V)), so
        # gA_sym = sym(V (diag(gw) + F o (V^T gV)) V^T), then folded onto the triangle read.
        (a,), (w, v), (gw, gv) = inputs, outputs, output_grads
        dtype = w.dtype
        inner = None
        if gw is not None:
            inner = _eye_of(shape_i(w, 0), dtype) * _row(gw)
        if gv is not None:
            mix = _inverse_gaps(w, False, dtype) * dot(_mT(v), gv)
            inner = mix if inner is None else inner + mix
        if inner is None:
            return [None]
        g = dot(dot(v, inner), _mT(v))
        return [grad_for(_fold_onto(0.5 * (g + _mT(g)), self.UPLO == "L"), a)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs

        if eval_points[0] is None:
            return [None, None]
        w, v = node_outputs(self, inputs)
        da = _symmetric_from(eval_points[0], self.UPLO == "L")
        p = dot(dot(_mT(v), da), v)
        return [diagonal(p), dot(v, _inverse_gaps(w, False, w.dtype) * p)]

    def pretty(self, input_strs):
        return f"eigh({input_strs[0]}, UPLO={self.UPLO!r})"


def _solve_upper(r, b):
    return SolveTriangular(lower=False)(r, b)


def _solve_upper_t(r, b):
    return SolveTriangular(lower=False, trans=True)(r, b)


class QR(Op):
    """The QR decomposition a = q r (numpy.linalg.qr): mode 'reduced' (q is m x k,
    r is k x n, k = min(m, n)), 'complete' (q is m x m) or 'r' (r only)."""

    __props__ = ("mode",)

    def __init__(self, mode="reduced"):
        if mode not in ("reduced", "complete", "r"):
            raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
        self.mode = mode

    def make_node(self, a):
        a = as_matrix(a, "qr")
        m, n = a.type.shape
        k = m if self.mode == "complete" else _min_size(a)
        dtype = float_dtype(a)
        r = TensorType(dtype, (k, n)).make_variable()
        if self.mode == "r":
            return Apply(self, [a], [r])
        return Apply(self, [a], [TensorType(dtype, (m, k)).make_variable(), r])

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].dtype
        result = np.linalg.qr(inputs[0].astype(dtype), mode=self.mode)
        if self.mode == "r":
            output_storage[0][0] = np.asarray(result, dtype=dtype)
            return
        output_storage[0][0] = np.asarray(result[0], dtype=dtype)
        output_storage[1][0] = np.asarray(result[1], dtype=dtype)

    def infer_shape(self, node, input_shapes):
        m, n = input_shapes[0]
        k = m if self.mode == "complete" else tb.minimum(m, n)
        return [(k, n)] if self.mode == "r" else [(m, k), (k, n)]

    def _reduced(self, a):
        """(q, r) of the reduced decomposition: this node's, or a new node's."""
        from symtheano.rop import node_outputs

        if self.mode == "reduced":
            return node_outputs(self, [a])
        if self.mode == "r":
            return QR("reduced")(a)
        q, r = node_outputs(self, [a])
        k = tb.minimum(shape_i(a, 0), shape_i(a, 1))
        return q[:, :k], r[:k, :]

    def L_op(self, inputs, outputs, output_grads):
        # Split a = [X | Y] with X m x m (Y empty when m >= n), r = [U | V]: then
        # gY = Q gV, and X's gradient is that of a square-or-tall QR with gQ + Y gV^T:
        # M = U gU^T - gQ^T Q, gX = (gQ + Q copyltu(M)) U^-T.
        (a,) = inputs
        grads = output_grads if self.mode != "r" else [None, output_grads[0]]
        if all(g is None for g in grads):
            return [None]
        q, r = self._reduced(a)
        gq, gr = grads
        k = tb.minimum(shape_i(a, 0), shape_i(a, 1))
        gq = zeros_like(q) if gq is None else gq[:, :k]
        gr = zeros_like(r) if gr is None else gr[:k, :]
        m = shape_i(a, 0)
        y, u, v_bar, u_bar = a[:, m:], r[:, :m], gr[:, m:], gr[:, :m]
        gq = gq + dot(y, _mT(v_bar))
        mm = dot(u, _mT(u_bar)) - dot(_mT(gq), q)
        copyltu = tril(mm) + _mT(tril(mm, -1))
        gx = _mT(_solve_upper(u, _mT(gq + dot(q, copyltu))))
        return [grad_for(concatenate([gx, dot(q, v_bar)], axis=1), a)]

    def R_op(self, inputs, eval_points):
        # dX's part: C = Q^T dX U^-1, Omega = tril(C, -1) - tril(C, -1)^T,
        # dU = (C - Omega) U, dQ = (dX - Q dU) U^-1; then dV = dQ^T Y + Q^T dY.
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None] * (1 if self.mode == "r" else 2)
        q, r = self._reduced(a)
        m = shape_i(a, 0)
        y, u, dx, dy = a[:, m:], r[:, :m], da[:, :m], da[:, m:]
        c = _mT(_solve_upper_t(u, _mT(dot(_mT(q), dx))))
        low = tril(c, -1)
        du = dot(c - low + _mT(low), u)
        dq = _mT(_solve_upper_t(u, _mT(dx - dot(q, du))))
        dr = concatenate([du, dot(_mT(dq), y) + dot(_mT(q), dy)], axis=1)
        if self.mode == "r":
            return [dr]
        if self.mode == "complete":  # the added columns and rows of zeros do not move
            q_full, r_full = outputs_of(self, a)
            dq = concatenate([dq, zeros_like(q_full)[:, shape_i(dq, 1):]], axis=1)
            dr = concatenate([dr, zeros_like(r_full)[shape_i(dr, 0):, :]], axis=0)
        return [dq, dr]

    def pretty(self, input_strs):
        return f"qr({input_strs[0]}, mode={self.mode!r})"


def outputs_of(op, *inputs):
    from symtheano.rop import node_outputs

    return node_outputs(op, list(inputs))


class SVD(Op):
    """The singular value decomposition a = u diag(s) vh (numpy.linalg.svd): three
    outputs (u, s, vh), or s alone with compute_uv=False. full_matrices makes u
    m x m and vh n x n; otherwise they are m x k and k x n, k = min(m, n)."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices=True, compute_uv=True):
        self.full_matrices, self.compute_uv = bool(full_matrices), bool(compute_uv)

    def make_node(self, a):
        a = as_matrix(a, "svd")
        m, n = a.type.shape
        k = _min_size(a)
        dtype = float_dtype(a)
        s = TensorType(dtype, (k,)).make_variable()
        if not self.compute_uv:
            return Apply(self, [a], [s])
        ku, kv = (m, n) if self.full_matrices else (k, k)
        return Apply(self, [a], [TensorType(dtype, (m, ku)).make_variable(), s,
                                 TensorType(dtype, (kv, n)).make_variable()])

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].dtype
        try:
            result = np.linalg.svd(inputs[0].astype(dtype), full_matrices=self.full_matrices,
                                   compute_uv=self.compute_uv)
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "svd") from None
        if not self.compute_uv:
            output_storage[0][0] = np.asarray(result, dtype=dtype)
            return
        for cell, value in zip(output_storage, result, strict=True):
            cell[0] = np.asarray(value, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        m, n = input_shapes[0]
        k = tb.minimum(m, n)
        if not self.compute_uv:
            return [(k,)]
        if self.full_matrices:
            return [(m, m), (k,), (n, n)]
        return [(m, k), (k,), (k, n)]

    def _reduced(self, a):
        """(u, s, vh) with u m x k and vh k x n: this node's, or a new node's."""
        if not self.compute_uv:
            return SVD(full_matrices=False)(a)
        u, s, vh = outputs_of(self, a)
        if self.full_matrices:
            k = shape_i(s, 0)
            return u[:, :k], s, vh[:k, :]
        return u, s, vh

    def L_op(self, inputs, outputs, output_grads):
        # Townsend (2016), real case, with V = vh^T and F_ij = 1 / (s_j^2 - s_i^2):
        # gA = U [(F o (U^T gU - gU^T U)) S + diag(gs) + S (F o (V^T gV - gV^T V))] V^T
        #      + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)
        (a,) = inputs
        grads = output_grads if self.compute_uv else [None, output_grads[0], None]
        if all(g is None for g in grads):
            return [None]
        u, s, vh = self._reduced(a)
        gu, gs, gvh = grads
        k = shape_i(s, 0)
        dtype = s.dtype
        f = _inverse_gaps(s, True, dtype)
        inner = None if gs is None else _eye_of(k, dtype) * _row(gs)
        extra = None

        def add(total, term):
            if term is None:
                return total
            return term if total is None else total + term

        if gu is not None:
            gu = gu[:, :k]
            ug = dot(_mT(u), gu)
            inner = add(inner, f * (ug - _mT(ug)) * _row(s))
            extra = add(extra, dot((gu - dot(u, ug)) / _row(s), vh))
        if gvh is not None:
            gvh = gvh[:k, :]
            vg = dot(vh, _mT(gvh))  # V^T gV
            inner = add(inner, _col(s) * (f * (vg - _mT(vg))))
            extra = add(extra, dot(u / _row(s), gvh - dot(_mT(vg), vh)))
        total = dot(dot(u, inner), vh) if inner is not None else None
        total = add(total, extra)
        return [grad_for(total, a)]

    def R_op(self, inputs, eval_points):
        # dP = U^T dA V: ds = diag(dP), dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1,
        # dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None] * (3 if self.compute_uv else 1)
        u, s, vh = self._reduced(a)
        dp = dot(dot(_mT(u), da), _mT(vh))
        ds = diagonal(dp)
        if not self.compute_uv:
            return [ds]
        f = _inverse_gaps(s, True, s.dtype)
        sr, sc = _row(s), _col(s)
        dav = dot(da, _mT(vh))
        du = dot(u, f * (dp * sr + sc * _mT(dp))) + (dav - dot(u, dot(_mT(u), dav))) / sr
        dau = dot(_mT(da), u)
        dv = dot(_mT(vh), f * (sc * dp + _mT(dp) * sr)) + (dau - dot(_mT(vh), dot(vh, dau))) / sr
        dvh = _mT(dv)
        if self.full_matrices:  # the added columns do not move
            u_full, _, vh_full = outputs_of(self, a)
            du = concatenate([du, zeros_like(u_full)[:, shape_i(du, 1):]], axis=1)
            dvh = concatenate([dvh, zeros_like(vh_full)[shape_i(dvh, 0):, :]], axis=0)
        return [du, ds, dvh]

    def pretty(self, input_strs):
        return (f"svd({input_strs[0]}, full_matrices={self.full_matrices}, "
                f"compute_uv={self.compute_uv})")


class MatrixPinv(Op):
    """The Moore-Penrose pseudo-inverse of a matrix (numpy.linalg.pinv)."""

    def make_node(self, a):
        a = as_matrix(a, "pinv")
        m, n = a.type.shape
        return Apply(self, [a], [TensorType(float_dtype(a), (n, m)).make_variable()])

    def perform(self, node, inputs, output_storage):
        dtype = node.outputs[0].dtype
        try:
            out = np.linalg.pinv(inputs[0].astype(dtype))
        except np.linalg.LinAlgError as exc:
            raise linalg_error(exc, node, "pinv") from None
        output_storage[0][0] = np.asarray(out, dtype=dtype)

    def infer_shape(self, node, input_shapes):
        m, n = input_shapes[0]
        return [(n, m)]

    def L_op(self, inputs, outputs, output_grads):
        # With P = pinv(A), for constant rank (Golub & Pereyra 1973):
        # dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, whose adjoint is
        # gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)
        (a,), (p,), (g,) = inputs, outputs, output_grads
        gt = _mT(g)
        ap, pa = dot(a, p), dot(p, a)
        term2 = dot(gt - dot(ap, gt), dot(p, _mT(p)))
        term3 = dot(dot(_mT(p), p), gt - dot(gt, pa))
        return [grad_for(-dot(dot(_mT(p), g), _mT(p)) + term2 + term3, a)]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None]
        (p,) = outputs_of(self, a)
        dat = _mT(da)
        ap, pa = dot(a, p), dot(p, a)
        return [-dot(dot(p, da), p) + dot(dot(p, _mT(p)), dat - dot(dat, ap))
                + dot(dat - dot(pa, dat), dot(_mT(p), p))]

    def pretty(self, input_strs):
        return f"pinv({input_strs[0]})"


def eigh(a, UPLO="L"):
    """(w, v): the eigenvalues (ascending) and eigenvectors (columns) of a symmetric
    matrix, from its lower ('L') or upper ('U') triangle."""
    return Eigh(UPLO)(a)


def eigvalsh(a, UPLO="L"):
    """The eigenvalues of a symmetric matrix, ascending."""
    return Eigh(UPLO)(a)[0]


def qr(a, mode="reduced"):
    """numpy.linalg.qr: (q, r) for mode 'reduced' or 'complete', r for mode 'r'."""
    return QR(mode)(a)


def svd(a, full_matrices=True, compute_uv=True):
    """numpy.linalg.svd: (u, s, vh) with a = u diag(s) vh, or s with compute_uv=False."""
    return SVD(full_matrices, compute_uv)(a)


def pinv(a):
    """The Moore-Penrose pseudo-inverse of a matrix."""
    return MatrixPinv()(a)


__all__ = ["Eigh", "QR", "SVD", "MatrixPinv", "eigh", "eigvalsh", "qr", "svd", "pinv"]
