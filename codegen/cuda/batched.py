"""MatMul (symtheano/tensor/blas.py: numpy.matmul of stacks of matrices whose
batch dimensions broadcast where their static size is 1) on the device through
cuBLAS strided batched gemm (the device's `gemm_batched`, cublas.py), for
float32 and float64 outputs. T.matmul's vectors and batched_dot arrive here as
MatMul of views (a promoted vector is a matrix of one row or column).

`matmul(device, node, a, b, zero)` plans the call on the host:

- the output is a new row-major array of the broadcast batch shape; an empty
  output needs no call, and an empty inner dimension (k = 0) is filled with
  zeros by an elementwise copy of `zero()` (a 0-d device zero);
- an operand of the other float dtype is cast on the device first (NumPy
  computes in the result type too); one whose matrices are neither row- nor
  column-major (cuBLAS reads a column-major matrix with op T), or that has a
  negative batch stride, is copied to row-major first (its own shape: a
  broadcast operand is never stretched for this);
- batch dimensions of size 1 in the output are dropped; an operand broadcast
  along a dimension has stride 0 there. The longest run of neighbouring
  dimensions that every operand steps through with one stride (the output,
  being row-major, always does) is one cuBLAS batch, and the other dimensions
  are looped over on the host: one call when all are contiguous or one operand
  is broadcast over all of them (batch stride 0);
- when that would take more than MAX_CALLS calls, each operand that cannot
  step through all dimensions with one stride is first copied into a row-major
  array of the full batch shape (a broadcast one stretched), and one call does
  it all.

It returns None, leaving the node to the reference (which raises its error),
when the shapes do not fit: inner sizes that differ, or batch sizes that differ
where neither is a declared-broadcastable 1.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from symtheano.codegen.cuda.assemble import _copy_node
from symtheano.codegen.cuda.cublas import matrix_layout

from symtheano.tensor.blas import MatMul

DTYPES = ("float32", "float64")
MAX_CALLS = 16  # cuBLAS calls one product may take before its operands are copied


def covers(node):
    """Whether `node` is a MatMul computed here: float32 or float64 inputs and output."""
    return (isinstance(node.op, MatMul) and node.outputs[0].dtype in DTYPES
            and all(v.dtype in DTYPES for v in node.inputs))


def batch_shape(node, a_shape, b_shape):
    """The output's batch shape, or None when the shapes do not fit (see the module
    docstring)."""
    if len(a_shape) != len(b_shape) or a_shape[-1] != b_shape[-2]:
        return None
    batch = []
    for d, (na, nb) in enumerate(zip(a_shape[:-2], b_shape[:-2])):
        if na == nb:
            batch.append(na)
        elif na == 1 and node.inputs[0].type.shape[d] == 1:
            batch.append(nb)
        elif nb == 1 and node.inputs[1].type.shape[d] == 1:
            batch.append(na)
        else:
            return None
    return tuple(batch)


def matmul(device, node, a, b, zero):
    """The product of DeviceArrays a and b (node's inputs) as a new DeviceArray, or
    None (see the module docstring); `zero()` gives a 0-d zero of the output dtype
    on the device."""
    batch = batch_shape(node, a.shape, b.shape)
    if batch is None:
        return None
    dtype = node.outputs[0].dtype
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    out = device.empty((*batch, m, n), dtype)
    if out.size == 0:
        return out
    if k == 0:
        filled = zero().view((1,) * out.ndim, (0,) * out.ndim)
        fill = _copy_node(dtype, dtype, (True,) * out.ndim)
        return out if device.kernel(fill, [filled], out) is not None else None
    a, b = (_prepared(device, x, dtype) for x in (a, b))
    if a is None or b is None:
        return None
    dims = [d for d, size in enumerate(batch) if size != 1]
    sizes = [batch[d] for d in dims]
    strides = [[0 if x.shape[d] == 1 else x.strides[d] for d in dims] for x in (a, b, out)]
    start, stop = _longest_run(sizes, strides)
    calls = math.prod(sizes) // math.prod(sizes[start:stop])
    if calls > MAX_CALLS:
        a, b = (_stretched(device, x, batch, dims, s, sizes)
                for x, s in zip((a, b), strides[:2]))
        strides = [[0 if x.shape[d] == 1 else x.strides[d] for d in dims] for x in (a, b, out)]
        start, stop = _longest_run(sizes, strides)
    outer = [i for i in range(len(dims)) if not start <= i < stop]
    count = math.prod(sizes[start:stop])
    for index in itertools.product(*(range(sizes[i]) for i in outer)):
        views = []
        for x, s in zip((a, b, out), strides):
            offset = sum(j * s[i] for i, j in zip(outer, index))
            step = s[stop - 1] if stop > start else 0
            views.append(x.view((count, *x.shape[-2:]), (step, *x.strides[-2:]), offset))
        device.gemm_batched(*views, 1.0, 0.0)
    return out


def _prepared(device, x, dtype):
    """x in `dtype` with matrices cuBLAS reads and non-negative batch strides (cast or
    copied on the device when not), or None when the device declined the cast."""
    if x.dtype != np.dtype(dtype):
        cast = device.empty(x.shape, dtype)
        node = _copy_node(x.dtype.name, dtype, (False,) * x.ndim)
        if device.kernel(node, [x], cast) is None:
            return None
        x = cast
    inner = x.view(x.shape[-2:], x.strides[-2:])
    e = x.itemsize
    if matrix_layout(inner) is None or any(
            s < 0 or s % e for n, s in zip(x.shape[:-2], x.strides[:-2]) if n != 1):
        x = device.copy(x)
    return x


def _longest_run(sizes, strides):
    """(start, stop) of the neighbouring batch dimensions with the most matrices that
    each operand steps through with one stride (its stride along the last of them)."""
    best = (0, 0)
    for start in range(len(sizes)):
        stop = start + 1
        while stop < len(sizes) and all(
                s[stop - 1] == s[stop] * sizes[stop] for s in strides):
            stop += 1
        if math.prod(sizes[start:stop]) > math.prod(sizes[best[0]:best[1]]):
            best = (start, stop)
    return best


def _stretched(device, x, batch, dims, strides, sizes):
    """x, or when it cannot step through all batch dimensions with one stride a
    row-major copy of it stretched to the full batch shape."""
    if _longest_run(sizes, [strides]) == (0, len(sizes)):
        return x
    full = [0] * len(batch)
    for d, s in zip(dims, strides):
        full[d] = s
    return device.copy(x.view((*batch, *x.shape[-2:]), (*full, *x.strides[-2:])))
