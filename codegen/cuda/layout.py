"""How a call of a CUDA kernel library is laid out on the host: which kernel runs,
its grid, and its argument struct packed byte for byte as the templates declare
it (runtime/elemwise.cuh, reduce.cuh, softmax.cuh, logsumexp.cuh, one_hot.cuh,
take.cuh). Pure NumPy: pointers are
ints and strides are bytes, so all of it is tested without a GPU
(tests/codegen/test_cuda_layout.py emulates the kernels' index arithmetic over
the packed structs).

Dimensions are first merged as the C back end merges them
(codegen/c/elemwise.merged_layout: size-1 dimensions dropped, neighbours that
are contiguous in every operand joined, C order kept), then stored innermost
first, which is how `st_offsets` (runtime/symtheano_rt.cuh) walks them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from symtheano.codegen.c.elemwise import merged_layout

MAX_DIMS = 16      # ST_CUDA_MAX_DIMS
BLOCK = 256        # ST_BLOCK
VEC = 4            # ST_VEC
BLOCKS_PER_SM = 32  # grid-stride loops: more blocks than this only add scheduling
MAX_GRID_Y = 65535


@dataclasses.dataclass(frozen=True)
class Launch:
    """One kernel launch: `symbol` (with the default ST_SYM, st_<name>), grid and
    block sizes, and the packed argument struct (`args`, bytes)."""

    symbol: str
    grid: tuple
    block: tuple
    args: bytes


@dataclasses.dataclass(frozen=True)
class ReducePlan:
    """A reduction: `first` launch; when `parts` > 1 it writes parts partial states
    per output into a workspace of `workspace` bytes that `final` combines."""

    first: Launch
    parts: int = 1
    workspace: int = 0
    final: Launch | None = None


def broadcast_strides(shape, array_shape, array_strides):
    """`array_strides` for the array seen broadcast to `shape` (0 where broadcast)."""
    lead = len(shape) - len(array_shape)
    out = [0] * lead
    for n, a, s in zip(shape[lead:], array_shape, array_strides):
        out.append(0 if a == 1 and n != 1 else s)
    return out


def _blocks(n, per_thread, sm_count):
    return max(1, min(-(-n // (BLOCK * per_thread)), sm_count * BLOCKS_PER_SM))


# The argument structs of the templates, as NumPy dtypes (align=True lays fields out
# as C does); tests/codegen/test_cuda_layout.py checks offsets and sizes against nvcc.
def contig_dtype(n_ops):
    return np.dtype([("p", np.uint64, (n_ops,)), ("n", np.int64), ("bcast", np.uint32),
                     ("unused", np.uint32)], align=True)


def strided_dtype(n_ops):
    return np.dtype([("p", np.uint64, (n_ops,)), ("n", np.int64), ("ndim", np.int32),
                     ("unused", np.uint32), ("shape", np.int64, (MAX_DIMS,)),
                     ("strides", np.int64, (n_ops, MAX_DIMS))], align=True)


def reduce_dtype(n_ops):
    return np.dtype([("p", np.uint64, (n_ops,)), ("n_outer", np.int64), ("n_inner", np.int64),
                     ("chunk", np.int64), ("outer_ndim", np.int32), ("inner_ndim", np.int32),
                     ("outer_shape", np.int64, (MAX_DIMS,)),
                     ("inner_shape", np.int64, (MAX_DIMS,)),
                     ("outer_strides", np.int64, (n_ops, MAX_DIMS)),
                     ("inner_strides", np.int64, (n_ops, MAX_DIMS))], align=True)


def softmax_dtype():
    return np.dtype([("p", np.uint64, (2,)), ("n_rows", np.int64), ("n_lanes", np.int64),
                     ("row_ndim", np.int32), ("lane_ndim", np.int32),
                     ("row_shape", np.int64, (MAX_DIMS,)), ("lane_shape", np.int64, (MAX_DIMS,)),
                     ("row_strides", np.int64, (2, MAX_DIMS)),
                     ("lane_strides", np.int64, (2, MAX_DIMS))], align=True)


def logsumexp_dtype():
    return np.dtype([("p", np.uint64, (3,)), ("n_rows", np.int64), ("n_lanes", np.int64),
                     ("row_ndim", np.int32), ("lane_ndim", np.int32),
                     ("label_stride", np.int64),
                     ("row_shape", np.int64, (MAX_DIMS,)), ("lane_shape", np.int64, (MAX_DIMS,)),
                     ("row_strides", np.int64, (3, MAX_DIMS)),
                     ("lane_strides", np.int64, (1, MAX_DIMS))], align=True)


def one_hot_dtype():
    return np.dtype([("p", np.uint64, (2,)), ("n", np.int64), ("n_classes", np.int64),
                     ("ndim", np.int32), ("unused", np.uint32),
                     ("shape", np.int64, (MAX_DIMS,)), ("strides", np.int64, (1, MAX_DIMS))],
                    align=True)


def take_dtype():
    return np.dtype([("p", np.uint64, (3,)), ("n", np.int64), ("n_idx", np.int64),
                     ("n_inner", np.int64), ("axis_size", np.int64), ("axis_stride", np.int64),
                     ("outer_ndim", np.int32), ("idx_ndim", np.int32), ("inner_ndim", np.int32),
                     ("unused", np.uint32),
                     ("outer_shape", np.int64, (MAX_DIMS,)), ("idx_shape", np.int64, (MAX_DIMS,)),
                     ("inner_shape", np.int64, (MAX_DIMS,)),
                     ("outer_strides", np.int64, (2, MAX_DIMS)),
                     ("idx_strides", np.int64, (2, MAX_DIMS)),
                     ("inner_strides", np.int64, (2, MAX_DIMS))], align=True)


def _record(dtype, **values):
    record = np.zeros((), dtype=dtype)
    for name, value in values.items():
        record[name] = value
    return record.tobytes()


def _dims(shapes, strides, n_ops):
    """(shape, strides per operand) innermost first, padded to MAX_DIMS."""
    shape = np.zeros(MAX_DIMS, np.int64)
    shape[: len(shapes)] = shapes[::-1]
    table = np.zeros((n_ops, MAX_DIMS), np.int64)
    for k, per_operand in enumerate(strides):
        table[k, : len(per_operand)] = per_operand[::-1]
    return shape, table


def elementwise_launch(shape, pointers, strides, itemsizes, sm_count):
    """The Launch computing an elementwise library over `shape`, or None when the
    merged layout has more than MAX_DIMS dimensions. Operands (inputs, then the
    output): data pointers, byte strides already broadcast to `shape`, itemsizes."""
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    n_ops = len(pointers)
    dims, merged = merged_layout(tuple(shape), [tuple(s) for s in strides])
    if len(dims) > MAX_DIMS:
        return None
    if len(dims) == 1:
        per_operand = [s[0] for s in merged]
        bcast = [s == 0 and k < n_ops - 1 for k, s in enumerate(per_operand)]
        contiguous = all(b or s == size for b, s, size in zip(bcast, per_operand, itemsizes))
        aligned = all(b or p % (size * VEC) == 0
                      for b, p, size in zip(bcast, pointers, itemsizes))
        if contiguous and aligned:
            mask = sum(1 << k for k, b in enumerate(bcast) if b)
            args = _record(contig_dtype(n_ops), p=pointers, n=n, bcast=mask)
            return Launch("st_ew_contig", (_blocks(n, VEC, sm_count), 1, 1), (BLOCK, 1, 1), args)
    grid = _blocks(n, 1, sm_count)
    symbol = "st_ew_strided32" if n + grid * BLOCK < 2**32 else "st_ew_strided64"
    shape_field, table = _dims(dims, merged, n_ops)
    args = _record(strided_dtype(n_ops), p=pointers, n=n, ndim=len(dims), shape=shape_field,
                   strides=table)
    return Launch(symbol, (grid, 1, 1), (BLOCK, 1, 1), args)


def _split(shape, strides, axes):
    """(outer shape, outer strides per operand, inner shape, inner strides per operand)
    of an iteration space whose dimensions `axes` are reduced; both merged."""
    keep = [d for d in range(len(shape)) if d not in axes]
    red = [d for d in range(len(shape)) if d in axes]
    outer = merged_layout(tuple(shape[d] for d in keep),
                          [tuple(s[d] for d in keep) for s in strides])
    inner = merged_layout(tuple(shape[d] for d in red), [tuple(s[d] for d in red) for s in strides])
    return outer, inner


def reduce_plan(shape, axes, pointers, strides, state_size, sm_count):
    """The ReducePlan of a reduction library over the value space `shape` reducing
    `axes`, or None when it cannot run (a layout of more than MAX_DIMS dimensions,
    or nothing to reduce over: the reference gives the identity or its error).
    Operands: the inputs' pointers and strides broadcast to `shape`, then the
    output's pointer and strides laid over `shape` (0 on the reduced axes)."""
    n_outer = int(np.prod([shape[d] for d in range(len(shape)) if d not in axes],
                          dtype=np.int64))
    n_inner = int(np.prod([shape[d] for d in axes], dtype=np.int64))
    if n_inner == 0 or n_outer == 0:
        return None
    n_ops = len(pointers)
    (outer_dims, outer_strides), (inner_dims, inner_strides) = _split(shape, strides, set(axes))
    if len(outer_dims) > MAX_DIMS or len(inner_dims) > MAX_DIMS:
        return None
    outer_shape, outer_table = _dims(outer_dims, outer_strides, n_ops)
    inner_shape, inner_table = _dims(inner_dims, inner_strides, n_ops)
    # neighbouring outputs closer in memory than neighbouring reduced values (a sum over
    # axis 0): one thread per output, so that a warp's loads coalesce
    columns = n_outer >= 4 * BLOCK and abs(outer_strides[0][-1]) < abs(inner_strides[0][-1])
    parts = 1
    if not columns and n_outer < 2 * sm_count and n_inner > 16 * BLOCK:
        parts = min(-(-n_inner // (16 * BLOCK)), -(-4 * sm_count // n_outer), MAX_GRID_Y)
    chunk = -(-n_inner // parts)
    parts = -(-n_inner // chunk)
    args = _record(reduce_dtype(n_ops), p=pointers, n_outer=n_outer, n_inner=n_inner, chunk=chunk,
                   outer_ndim=len(outer_dims), inner_ndim=len(inner_dims),
                   outer_shape=outer_shape, inner_shape=inner_shape,
                   outer_strides=outer_table, inner_strides=inner_table)
    block = (BLOCK, 1, 1)
    if columns:
        return ReducePlan(Launch("st_reduce_columns", (_blocks(n_outer, 1, sm_count), 1, 1),
                                 block, args))
    grid_x = max(1, min(n_outer, sm_count * BLOCKS_PER_SM))
    first = Launch("st_reduce_rows", (grid_x, parts, 1), block, args)
    if parts == 1:
        return ReducePlan(first)
    return ReducePlan(first, parts, n_outer * parts * state_size,
                      Launch("st_reduce_final", (grid_x, 1, 1), block, args))


def softmax_launch(shape, axis, pointers, strides, sm_count):
    """The Launch of a (log_)softmax library over `shape` along `axis` (None: all),
    or None (more than MAX_DIMS dimensions, or an empty array). Operands: input,
    output."""
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return None
    axes = set(range(len(shape))) if axis is None else {axis}
    (row_dims, row_strides), (lane_dims, lane_strides) = _split(shape, strides, axes)
    if len(row_dims) > MAX_DIMS or len(lane_dims) > MAX_DIMS:
        return None
    n_rows = int(np.prod(row_dims, dtype=np.int64))
    row_shape, row_table = _dims(row_dims, row_strides, 2)
    lane_shape, lane_table = _dims(lane_dims, lane_strides, 2)
    args = _record(softmax_dtype(), p=pointers, n_rows=n_rows,
                   n_lanes=int(np.prod(lane_dims, dtype=np.int64)), row_ndim=len(row_dims),
                   lane_ndim=len(lane_dims), row_shape=row_shape, lane_shape=lane_shape,
                   row_strides=row_table, lane_strides=lane_table)
    grid = max(1, min(n_rows, sm_count * BLOCKS_PER_SM))
    return Launch("st_softmax", (grid, 1, 1), (BLOCK, 1, 1), args)


def logsumexp_launch(shape, axes, pointers, strides, label_stride, sm_count):
    """The Launch of a log-sum-exp library over `shape` reducing `axes`, or None (more
    than MAX_DIMS dimensions, or no output). Operands: input, output (strides 0 on
    the reduced axes), labels (the same; all 0 for LogSumExp). An empty axis is
    launched: its outputs are -inf."""
    n_rows = int(np.prod([n for d, n in enumerate(shape) if d not in axes], dtype=np.int64))
    if n_rows == 0:
        return None
    (row_dims, row_strides), (lane_dims, lane_strides) = _split(shape, strides, set(axes))
    if len(row_dims) > MAX_DIMS or len(lane_dims) > MAX_DIMS:
        return None
    row_shape, row_table = _dims(row_dims, row_strides, 3)
    lane_shape, lane_table = _dims(lane_dims, lane_strides[:1], 1)
    args = _record(logsumexp_dtype(), p=pointers, n_rows=n_rows,
                   n_lanes=int(np.prod(lane_dims, dtype=np.int64)), row_ndim=len(row_dims),
                   lane_ndim=len(lane_dims), label_stride=label_stride, row_shape=row_shape,
                   lane_shape=lane_shape, row_strides=row_table, lane_strides=lane_table)
    grid = max(1, min(n_rows, sm_count * BLOCKS_PER_SM))
    return Launch("st_logsumexp", (grid, 1, 1), (BLOCK, 1, 1), args)


def one_hot_launch(index_shape, n_classes, pointers, index_strides, sm_count):
    """The Launch of a one-hot library: indices of `index_shape` (any strides) into a
    new row-major output of index_shape + (n_classes,); None when the output is
    empty or the indices' layout has more than MAX_DIMS dimensions. Operands:
    indices, output."""
    n = int(np.prod(index_shape, dtype=np.int64)) * n_classes
    if n == 0:
        return None
    dims, (strides,) = merged_layout(tuple(index_shape), [tuple(index_strides)])
    if len(dims) > MAX_DIMS:
        return None
    shape, table = _dims(dims, [strides], 1)
    args = _record(one_hot_dtype(), p=pointers, n=n, n_classes=n_classes, ndim=len(dims),
                   shape=shape, strides=table)
    return Launch("st_one_hot", (_blocks(n, 1, sm_count), 1, 1), (BLOCK, 1, 1), args)


def take_args(x_shape, axis, index_shape, pointers, x_strides, index_strides, dense_strides):
    """The packed st_take_args of indexing an array of `x_shape` (byte strides
    `x_strides`) along `axis` with indices of `index_shape`, or None (an empty dense
    space, or more than MAX_DIMS dimensions in a part). Operands: the indexed array,
    the dense array, the indices; `dense_strides` are the dense array's byte strides
    over outer + index_shape + inner (0 where broadcast)."""
    outer_n, inner_n = tuple(x_shape[:axis]), tuple(x_shape[axis + 1:])
    n_idx = int(np.prod(index_shape, dtype=np.int64))
    n_inner = int(np.prod(inner_n, dtype=np.int64))
    n = int(np.prod(outer_n, dtype=np.int64)) * n_idx * n_inner
    if n == 0:
        return None
    k = len(index_shape)
    dense_outer = list(dense_strides[:axis])
    dense_idx = list(dense_strides[axis:axis + k])
    dense_inner = list(dense_strides[axis + k:])
    parts = [merged_layout(outer_n, [tuple(x_strides[:axis]), tuple(dense_outer)]),
             merged_layout(tuple(index_shape), [tuple(index_strides), tuple(dense_idx)]),
             merged_layout(inner_n, [tuple(x_strides[axis + 1:]), tuple(dense_inner)])]
    if any(len(dims) > MAX_DIMS for dims, _ in parts):
        return None
    (outer_shape, outer_table), (idx_shape, idx_table), (inner_shape, inner_table) = (
        _dims(dims, strides, 2) for dims, strides in parts)
    return _record(take_dtype(), p=pointers, n=n, n_idx=n_idx, n_inner=n_inner,
                   axis_size=x_shape[axis], axis_stride=x_strides[axis],
                   outer_ndim=len(parts[0][0]), idx_ndim=len(parts[1][0]),
                   inner_ndim=len(parts[2][0]), outer_shape=outer_shape, idx_shape=idx_shape,
                   inner_shape=inner_shape, outer_strides=outer_table, idx_strides=idx_table,
                   inner_strides=inner_table)


def take_launch(symbol, args, sm_count):
    """The Launch of kernel `symbol` of a take library on packed `args` (take_args):
    one thread per index for scatter_claim, else one per dense element."""
    record = np.frombuffer(args, dtype=take_dtype())[0]
    n = int(record["n_idx"]) if symbol == "st_scatter_claim" else int(record["n"])
    return Launch(symbol, (_blocks(n, 1, sm_count), 1, 1), (BLOCK, 1, 1), args)
