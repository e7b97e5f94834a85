"""Emitters for products: Dot, TensorDot and MatMul (symtheano/tensor/blas.py) and
Gemm, Gemv and Ger (symtheano/tensor/blas_ops.py), computed by the node entries
of the BLAS library (codegen/c/blas.py, runtime/blas_node.h) through OpenBLAS.
The program runner calls the entries; without it (and in mode="DEBUG") they run
from Python (node_call.py).

Only float32 and float64 results are taken (integer products stay on their
`perform`). Operands of another dtype are cast to the result's first, into a
copy with the memory order NumPy's cast gives. The product itself calls the
routine numpy.dot would call (dot, gemv or gemm), so results agree with the
reference to rounding; Gemm and Gemv then apply the reference's formula
`alpha * product + beta * term` term by term, so inf/NaN in the term meet
beta == 0 as in the reference (BLAS, given beta == 0, would never read the
term).

The inplace variants (`Gemm{inplace}`, ...) pass a second parameter, 1: their
entries write the result into the added term when it fits (its shape, no
overlap) and return the term itself; Gemm then accumulates into it with one
BLAS call where numpy.dot would call gemm.

A call the entries cannot serve (mismatched shapes, a size beyond BLAS's
32-bit integers, no memory for a copy) runs the op's `perform`, which computes
it or raises the reference's error.
"""

from __future__ import annotations

import functools
import warnings

from symtheano.codegen.c import blas, node_call
from symtheano.codegen.c.linker import emitter, native_emitter

from symtheano.tensor.blas import Dot, MatMul, TensorDot
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger


@functools.cache
def _warn_once(message):
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _address(node, name):
    """The address of the entry st_node_<name> for `node`'s result dtype, or None
    (not float32/float64, an operand dtype without C, BLAS unavailable)."""
    suffix = blas.FLOAT_SUFFIX.get(node.outputs[0].dtype)
    if suffix is None or any(i.dtype not in blas.DTYPE_CODES for i in node.inputs):
        return None
    try:
        return blas.address(f"st_node_{name}_{suffix}")
    except blas.BlasUnavailable as exc:
        _warn_once(f"products run on NumPy (their perform), not compiled: {exc}")
        return None


def _mask(var, dims=None):
    """Bit d set: dimension d of `var` is declared broadcastable (static size 1)."""
    shape = var.type.shape if dims is None else var.type.shape[:dims]
    return sum(1 << d for d, n in enumerate(shape) if n == 1)


def _params(node):
    """(entry name, params) for a product node, or None."""
    op = node.op
    codes = [blas.DTYPE_CODES.get(i.dtype) for i in node.inputs]
    if isinstance(op, Dot):
        return "dot", codes
    if isinstance(op, TensorDot):
        return "tensordot", (*codes, len(op.a_axes), *op.a_axes, *op.b_axes)
    if isinstance(op, MatMul):
        a, b = node.inputs
        return "matmul", (*codes, _mask(a, a.ndim - 2), _mask(b, b.ndim - 2))
    if isinstance(op, Gemm | Gemv | Ger):
        dtype = node.outputs[0].dtype
        if any(i.dtype != dtype for i in node.inputs):  # make_node ensures one dtype
            return None
        return type(op).__name__.lower(), (_mask(node.inputs[0]), int(op.inplace))
    return None


@native_emitter
def product_entry(node):
    """(address of the BLAS library's entry for the node's op, params), or None."""
    found = _params(node)
    if found is None:
        return None
    name, params = found
    address = _address(node, name)
    return None if address is None else (address, tuple(params))


@emitter
def product(node):
    entry = product_entry(node)
    return None if entry is None else node_call.entry_perform(node, *entry)
