"""Emitters for products: Dot, TensorDot and MatMul (symtheano/tensor/blas.py) and
Gemm, Gemv and Ger (symtheano/tensor/blas_ops.py), computed by the kernels of
codegen/c/runtime/blas.h through OpenBLAS (codegen/c/blas.py).

Only float32 and float64 results are taken (integer products stay on their
`perform`). Operands of another dtype are cast to the result's first, as
numpy.dot does. The product itself calls the routine numpy.dot would call
(dot, gemv or gemm), so results agree with the reference to rounding; Gemm
and Gemv then apply the reference's formula `alpha * product + beta * term`
term by term, so inf/NaN in the term meet beta == 0 as in the reference (BLAS,
given beta == 0, would never read the term).

A call the kernels cannot serve (mismatched shapes, a size beyond BLAS's 32-bit
integers, a misaligned array) runs the op's `perform`, which computes it or
raises the reference's error.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from symtheano.codegen.c import blas
from symtheano.codegen.c.linker import emitter

from symtheano.tensor.blas import Dot, MatMul, TensorDot
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger

_OPERAND_KINDS = "biuf"  # numpy.dot casts these to a float result's dtype


def _kernels(node, name):
    """(ffi, the typed kernel `name`) for a node with a float32/float64 result whose
    inputs are real numbers, else None (also when BLAS is unavailable)."""
    suffix = blas.FLOAT_SUFFIX.get(node.outputs[0].dtype)
    if suffix is None or any(np.dtype(i.dtype).kind not in _OPERAND_KINDS
                             for i in node.inputs):
        return None
    try:
        ffi, lib = blas.library()
    except blas.BlasUnavailable as exc:
        _warn_once(f"products run on NumPy (their perform), not compiled: {exc}")
        return None
    return ffi, getattr(lib, f"{name}_{suffix}")


@functools.cache
def _warn_once(message):
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _pointers(ffi):
    """address(array) -> a `char *` to the array's first element (cheap when the
    array is C- or F-contiguous, through the buffer protocol)."""
    from_buffer, cast = ffi.from_buffer, ffi.cast

    def address(a):
        flags = a.flags
        if flags.c_contiguous:
            return from_buffer(a)
        if flags.f_contiguous:
            return from_buffer(a.T)
        return cast("char *", a.ctypes.data)

    return address


def _finish(status, node, inputs, output_storage, out):
    """Store `out`, or fall back to the reference when the kernel declined."""
    if status == blas.BLAS_OK:
        output_storage[0][0] = out
    elif status == blas.BLAS_NO_MEMORY:
        raise MemoryError(f"{node.op}: no memory for a contiguous copy of an operand")
    else:
        node.op.perform(node, inputs, output_storage)


def _as(a, dtype):
    return a if a.dtype is dtype else a.astype(dtype)


def _fits(size, static, target):
    """The added term's size matches the product's, or broadcasts (static size 1)."""
    return size == target or (size == 1 and static == 1)


# -- Dot, TensorDot, MatMul: plain products -----------------------------------------------

def _matrix_args(a, b):
    """(m, n, k, a strides, b strides) of a 1-d/2-d product, vectors as 1 x k / k x 1."""
    if a.ndim == 2:
        m, ars, acs = a.shape[0], a.strides[0], a.strides[1]
    else:
        m, ars, acs = 1, 0, a.strides[0]
    if b.ndim == 2:
        n, brs, bcs = b.shape[1], b.strides[0], b.strides[1]
    else:
        n, brs, bcs = 1, b.strides[0], 0
    return m, n, a.shape[-1], ars, acs, brs, bcs


@emitter
def dot(node):
    if not isinstance(node.op, Dot):
        return None
    found = _kernels(node, "st_dot")
    if found is None:
        return None
    ffi, kernel = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    dtype = np.dtype(node.outputs[0].dtype)

    def perform(node, inputs, output_storage):
        a, b = _as(inputs[0], dtype), _as(inputs[1], dtype)
        if a.shape[-1] != b.shape[0]:
            return node.op.perform(node, inputs, output_storage)
        m, n, k, ars, acs, brs, bcs = _matrix_args(a, b)
        out = np.empty(a.shape[:-1] + b.shape[1:], dtype)
        status = kernel(m, n, k, address(a), ars, acs, address(b), brs, bcs, from_buffer(out))
        _finish(status, node, inputs, output_storage, out)

    return perform


@emitter
def tensordot(node):
    """numpy.tensordot's own reduction: move the contracted axes together, reshape
    both operands to matrices (copying only where NumPy would), one product."""
    op = node.op
    if not isinstance(op, TensorDot):
        return None
    found = _kernels(node, "st_dot")
    if found is None:
        return None
    ffi, kernel = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    dtype = np.dtype(node.outputs[0].dtype)
    a_var, b_var = node.inputs
    a_free, b_free = op._free(a_var.ndim, op.a_axes), op._free(b_var.ndim, op.b_axes)
    a_order, b_order = a_free + op.a_axes, op.b_axes + b_free

    def perform(node, inputs, output_storage):
        a, b = _as(inputs[0], dtype), _as(inputs[1], dtype)
        if any(a.shape[i] != b.shape[j] for i, j in zip(op.a_axes, op.b_axes)):
            return node.op.perform(node, inputs, output_storage)
        free_shape = tuple(a.shape[d] for d in a_free) + tuple(b.shape[d] for d in b_free)
        m = int(np.prod([a.shape[d] for d in a_free], dtype=np.int64))
        n = int(np.prod([b.shape[d] for d in b_free], dtype=np.int64))
        k = int(np.prod([a.shape[d] for d in op.a_axes], dtype=np.int64))
        a2 = a.transpose(a_order).reshape(m, k)
        b2 = b.transpose(b_order).reshape(k, n)
        out = np.empty((m, n), dtype)
        status = kernel(m, n, k, address(a2), *a2.strides, address(b2), *b2.strides,
                        from_buffer(out))
        _finish(status, node, inputs, output_storage, out.reshape(free_shape))

    return perform


def _batch_offsets(shape, strides):
    """Byte offsets of every matrix of a stack with batch `shape` and `strides`, C order."""
    offsets = np.zeros(1, dtype=np.int64)
    for size, stride in zip(shape, strides):
        offsets = (offsets[:, None] + np.arange(size, dtype=np.int64) * stride).ravel()
    return offsets


@emitter
def matmul(node):
    """A stack of products, one kernel call: batch dimensions broadcast where their
    static size is 1 (stride 0), each matrix product as in `dot`."""
    if not isinstance(node.op, MatMul):
        return None
    found = _kernels(node, "st_dot_batch")
    if found is None:
        return None
    ffi, kernel = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    dtype = np.dtype(node.outputs[0].dtype)
    a_static, b_static = (v.type.shape[:-2] for v in node.inputs)

    def perform(node, inputs, output_storage):
        a, b = _as(inputs[0], dtype), _as(inputs[1], dtype)
        batch = []
        for sa, sb, ta, tb in zip(a.shape[:-2], b.shape[:-2], a_static, b_static):
            if sa != sb and not ((sa == 1 and ta == 1) or (sb == 1 and tb == 1)):
                return node.op.perform(node, inputs, output_storage)
            batch.append(sb if sa == 1 and ta == 1 else sa)
        if a.shape[-1] != b.shape[-2]:
            return node.op.perform(node, inputs, output_storage)
        (m, k), n = a.shape[-2:], b.shape[-1]
        a_offsets = _batch_offsets(batch, [0 if s == 1 else st
                                           for s, st in zip(a.shape[:-2], a.strides)])
        b_offsets = _batch_offsets(batch, [0 if s == 1 else st
                                           for s, st in zip(b.shape[:-2], b.strides)])
        out = np.empty(tuple(batch) + (m, n), dtype)
        status = kernel(len(a_offsets), m, n, k,
                        address(a), from_buffer("int64_t[]", a_offsets), *a.strides[-2:],
                        address(b), from_buffer("int64_t[]", b_offsets), *b.strides[-2:],
                        from_buffer(out))
        _finish(status, node, inputs, output_storage, out)

    return perform


# -- Gemm, Gemv, Ger: products with an added term ----------------------------------------

def _blas_op_kernel(node, op_class, name):
    """(ffi, kernel, dtype) for a node of `op_class` whose inputs all have its dtype."""
    if not isinstance(node.op, op_class):
        return None
    dtype = node.outputs[0].dtype
    if any(i.dtype != dtype for i in node.inputs):
        return None
    found = _kernels(node, name)
    return None if found is None else (*found, np.dtype(dtype))


@emitter
def gemm(node):
    found = _blas_op_kernel(node, Gemm, "st_gemm")
    if found is None:
        return None
    ffi, kernel, dtype = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    c_rows_static, c_cols_static = node.inputs[0].type.shape

    def perform(node, inputs, output_storage):
        C, alpha, A, B, beta = inputs
        (m, k), (kb, n), (c_rows, c_cols) = A.shape, B.shape, C.shape
        if (kb != k or not _fits(c_rows, c_rows_static, m)
                or not _fits(c_cols, c_cols_static, n)
                or A.dtype is not dtype or B.dtype is not dtype or C.dtype is not dtype):
            return node.op.perform(node, inputs, output_storage)
        out = np.empty((m, n), dtype)
        status = kernel(m, n, k, address(A), *A.strides, address(B), *B.strides,
                        address(C), c_rows, c_cols, *C.strides, float(alpha), float(beta),
                        from_buffer(out))
        _finish(status, node, inputs, output_storage, out)

    return perform


@emitter
def gemv(node):
    found = _blas_op_kernel(node, Gemv, "st_gemv")
    if found is None:
        return None
    ffi, kernel, dtype = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    (y_static,) = node.inputs[0].type.shape

    def perform(node, inputs, output_storage):
        y, alpha, A, x, beta = inputs
        (m, k), (y_len,) = A.shape, y.shape
        if (x.shape[0] != k or not _fits(y_len, y_static, m)
                or A.dtype is not dtype or x.dtype is not dtype or y.dtype is not dtype):
            return node.op.perform(node, inputs, output_storage)
        out = np.empty((m,), dtype)
        status = kernel(m, k, address(A), *A.strides, address(x), x.strides[0], address(y),
                        y_len, y.strides[0], float(alpha), float(beta), from_buffer(out))
        _finish(status, node, inputs, output_storage, out)

    return perform


@emitter
def ger(node):
    found = _blas_op_kernel(node, Ger, "st_ger")
    if found is None:
        return None
    ffi, kernel, dtype = found
    address, from_buffer = _pointers(ffi), ffi.from_buffer
    a_rows_static, a_cols_static = node.inputs[0].type.shape

    def perform(node, inputs, output_storage):
        A, alpha, x, y = inputs
        (m,), (n,), (a_rows, a_cols) = x.shape, y.shape, A.shape
        if (not _fits(a_rows, a_rows_static, m) or not _fits(a_cols, a_cols_static, n)
                or A.dtype is not dtype or x.dtype is not dtype or y.dtype is not dtype):
            return node.op.perform(node, inputs, output_storage)
        out = np.empty((m, n), dtype)
        status = kernel(m, n, address(A), a_rows, a_cols, *A.strides, float(alpha),
                        address(x), x.strides[0], address(y), y.strides[0], from_buffer(out))
        _finish(status, node, inputs, output_storage, out)

    return perform
