"""CUDA kernels that follow integer indices: OneHot (tensor/nnet.py) and indexing
along one axis with an integer array, x[:, ..., :, idx] (AdvancedSubtensor,
which `take` builds) and its updates (AdvancedIncSubtensor: set, or increment
accumulating at repeated indices like np.add.at; kernels.py sends float
increments to advindex.py instead, whose sorted sums are reproducible, so
scatter_add's atomicAdd serves integers only). Other advanced indexes
(several arrays, masks, arrays after slices or integers) are advindex.py's.

The sources say only the types (the array's, the indices'); the kernels are the
templates runtime/one_hot.cuh and runtime/take.cuh. Which index a node takes the
array on is a param (`take_axis`), never part of the source. Indices out of
range are found by the kernels, which raise a status flag that the host reads
after the launch; the call is then declined, and the reference raises its error.
"""

from __future__ import annotations

from symtheano.codegen.c.scalar import C_TYPES, c_type

from symtheano.tensor.subtensor import ARRAY, Slice
from symtheano.tensor.type import INT_DTYPES

ONE_HOT_KERNELS = ("one_hot",)
TAKE_KERNELS = ("take", "scatter_claim", "scatter_set", "scatter_add")
ATOMIC_ADD_DTYPES = ("float32", "float64", "int32", "uint32", "int64", "uint64")


def _header(what, lines):
    return "\n".join([f"/* symtheano CUDA {what} */", '#include "symtheano_rt.cuh"', "",
                      *lines, ""])


def render_one_hot(out_dtype, index_dtype):
    """CUDA source of the one-hot library, or None for dtypes without one."""
    out_dtype, index_dtype = str(out_dtype), str(index_dtype)
    if out_dtype not in C_TYPES or index_dtype not in INT_DTYPES:
        return None
    return _header(f"one-hot kernel: {index_dtype} -> {out_dtype}", [
        f"typedef {c_type(out_dtype)} st_t;",
        f"typedef {c_type(index_dtype)} st_idx;",
        '#include "one_hot.cuh"'])


def render_take(dtype, index_dtype):
    """CUDA source of the take library (gather and scatter), or None for dtypes
    without one."""
    dtype, index_dtype = str(dtype), str(index_dtype)
    if dtype not in C_TYPES or index_dtype not in INT_DTYPES:
        return None
    return _header(f"take kernels: {dtype}, indices {index_dtype}", [
        f"typedef {c_type(dtype)} st_t;",
        f"typedef {c_type(index_dtype)} st_idx;",
        f"#define ST_ATOMIC_ADD {int(dtype in ATOMIC_ADD_DTYPES)}",
        '#include "take.cuh"'])


def take_axis(idx_list):
    """The axis of an index that is one integer array after full slices
    (x[idx], x[:, idx], ...), else None."""
    if not idx_list or idx_list[-1] is not ARRAY:
        return None
    if any(e != Slice(None, None, None) for e in idx_list[:-1]):
        return None
    return len(idx_list) - 1
