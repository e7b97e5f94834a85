"""Advanced indexing on the device in general: x[idx] (AdvancedSubtensor) and its
updates (AdvancedIncSubtensor: set, or increment accumulating at repeated indices
like np.add.at) for any mix of integer arrays, boolean masks, slices, integers
and new axes, with NumPy's rules: the index arrays broadcast together, their
dimensions go where the first advanced entry is when the advanced entries are
adjacent and first otherwise, negative indices count from the end.
(kernels.py gives x[:, ..., idx] with one array to the take library of
indexing.py, but for a float increment, which comes here to be reproducible.)

The source says only the array's type (runtime/advindex.cuh is the template);
the index arrays' integer types, the index's layout and every size travel in
the argument structs packed here. How a call runs (`run`, on any device that
offers `empty`, `copy`, `download`, `launch`, `checked_launch` and `sm_count`:
driver.Runtime, or advindex_emulate.Emulator over FakeDevice):

1. the basic entries fold into a byte offset of x and the strides of the
   "basic" dimensions (slices: start and step; integers and symbolic scalars,
   which the host reads, checked on the host; new axes: size 1, stride 0);
2. each boolean mask becomes one int64 coordinate array per dimension, as
   NumPy does (x[mask] is x[mask.nonzero()]): per-tile counts of true
   elements, an exclusive scan of them, the total read back once to allocate,
   then each tile writes its coordinates in C order (stream compaction);
3. gather: one thread per output element (`adv_gather`);
4. set, and float (or 8/16-bit, bool) increments: a device copy of x; per
   index position j the flat position of the indexed axes' combination
   (`adv_keys`); a stable radix sort of (key, j) (8 bits a pass, as many
   passes as the number of combinations needs); then each key's run is
   written by one thread per element of the rest: set the last j's value (the
   last of repeated indices, as NumPy), increment the sum of the run in order
   of j, which rounds exactly as np.add.at does: results are bit-identical to
   the reference and to every other run;
5. 32/64-bit integer increments: atomicAdd (`adv_scatter_add`; the sums are
   exact and wrap, whatever the order).

Indices out of range raise the kernels' status flag; the call is then
declined (None), and the reference raises its IndexError naming the index and
the axis size, as for the take library. So are index arrays that do not
broadcast, masks that do not fit x, values that do not fit the index, and
anything with more than 16 dimensions in a part after merging.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from symtheano.codegen.c.elemwise import merged_layout
from symtheano.codegen.c.scalar import C_TYPES, c_type
from symtheano.codegen.cuda import layout
from symtheano.codegen.cuda.device import DeviceArray, ghost

from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from symtheano.tensor.subtensor import _bind, check_value_shape, entry_kind

MAX_DIMS = layout.MAX_DIMS    # ST_CUDA_MAX_DIMS
BLOCK = layout.BLOCK          # ST_BLOCK
MAX_ARRAYS = 16               # ST_ADV_MAX_ARRAYS
ITEMS = 16                    # ST_ADV_ITEMS
TILE = BLOCK * ITEMS          # ST_ADV_TILE: the elements one block sorts, counts or scans
RADIX_BITS = 8                # ST_ADV_RADIX = 1 << RADIX_BITS
RADIX = 1 << RADIX_BITS
KERNELS = ("adv_gather", "adv_keys", "adv_scatter_sorted", "radix_count", "radix_scatter",
           "scan", "nonzero_count", "nonzero_write")
ATOMIC_KERNEL = "adv_scatter_add"
ATOMIC_INT_DTYPES = ("int32", "uint32", "int64", "uint64")
INDEX_KINDS = {"int8": 0, "int16": 1, "int32": 2, "int64": 3,
               "uint8": 4, "uint16": 5, "uint32": 6, "uint64": 7}

_I64, _U64, _I32 = np.int64, np.uint64, np.int32


# -- the argument structs of runtime/advindex.cuh (test_cuda_advindex.py checks them
#    against nvcc's offsetof and sizeof) ------------------------------------------------------

def adv_dtype():
    return np.dtype([
        ("x", _U64), ("dense", _U64), ("keys", _U64), ("vals", _U64), ("xoffs", _U64),
        ("n", _I64), ("n_idx", _I64), ("n_inner", _I64), ("n_rest", _I64),
        ("outer_ndim", _I32), ("idx_ndim", _I32), ("inner_ndim", _I32), ("n_arrays", _I32),
        ("set_values", _I32), ("unused", _I32),
        ("outer_shape", _I64, (MAX_DIMS,)), ("idx_shape", _I64, (MAX_DIMS,)),
        ("inner_shape", _I64, (MAX_DIMS,)),
        ("outer_strides", _I64, (2, MAX_DIMS)), ("inner_strides", _I64, (2, MAX_DIMS)),
        ("idx_strides", _I64, (MAX_ARRAYS + 1, MAX_DIMS)),
        ("index", _U64, (MAX_ARRAYS,)), ("axis_size", _I64, (MAX_ARRAYS,)),
        ("axis_stride", _I64, (MAX_ARRAYS,)), ("key_scale", _I64, (MAX_ARRAYS,)),
        ("index_kind", _I32, (MAX_ARRAYS,))], align=True)


def sort_dtype():
    return np.dtype([("keys_in", _U64), ("vals_in", _U64), ("keys_out", _U64),
                     ("vals_out", _U64), ("counts", _U64), ("n", _I64), ("n_blocks", _I64),
                     ("shift", _I32), ("unused", _I32)], align=True)


def scan_dtype():
    return np.dtype([("a", _U64), ("m", _I64)], align=True)


def nonzero_dtype():
    return np.dtype([("mask", _U64), ("counts", _U64), ("coords", _U64), ("n", _I64),
                     ("n_blocks", _I64), ("total", _I64), ("ndim", _I32), ("unused", _I32),
                     ("shape", _I64, (MAX_DIMS,)), ("strides", _I64, (1, MAX_DIMS))],
                    align=True)


def _pack(dtype, **values):
    record = np.zeros((), dtype=dtype)
    for name, value in values.items():
        record[name] = value
    return record.tobytes()


def _innermost_first(dims, strides, n_ops):
    """(shape, strides per operand) innermost first, padded to MAX_DIMS."""
    shape = np.zeros(MAX_DIMS, _I64)
    shape[:len(dims)] = dims[::-1]
    table = np.zeros((n_ops, MAX_DIMS), _I64)
    for k, per_operand in enumerate(strides):
        table[k, :len(per_operand)] = per_operand[::-1]
    return shape, table


# -- which nodes, and their sources -------------------------------------------------------------

def render(dtype):
    """CUDA source of the advanced-indexing library for arrays of `dtype`, or None."""
    dtype = str(dtype)
    if dtype not in C_TYPES:
        return None
    return "\n".join([
        f"/* symtheano CUDA advanced indexing: {dtype} */", '#include "symtheano_rt.cuh"', "",
        f"typedef {c_type(dtype)} st_t;",
        f"#define ST_ATOMIC_ADD {int(dtype in ATOMIC_INT_DTYPES)}",
        f"#define ST_IS_BOOL {int(dtype == 'bool')}",
        '#include "advindex.cuh"', ""])


def _index_kinds(idx_list):
    """The kind of each index input, in order: 'scalar' (a symbolic integer or slice
    bound, read by the host), 'array' or 'mask'."""
    kinds = []
    for e in idx_list:
        kind = entry_kind(e)
        if kind == "slice":
            kinds += ["scalar" for p in (e.start, e.stop, e.step) if p is not None
                      and not isinstance(p, int)]
        elif kind in ("scalar", "array", "mask"):
            kinds.append(kind)
    return kinds


def kernel_parts(node):
    """(kind, source, symbols, params, host_inputs) of `node`'s library, or None.
    kind "advanced" (params: the idx_list) or "advanced_inc" (params: the idx_list,
    set_instead_of_inc, and "atomic" or "sorted")."""
    op = node.op
    if type(op) not in (AdvancedSubtensor, AdvancedIncSubtensor):
        return None
    if any(entry_kind(e) == "mask" and e.ndim == 0 for e in op.idx_list):
        return None  # x[True]: a new axis of length 0 or 1, left to the reference
    x = node.inputs[0]
    source = render(x.dtype)
    if source is None:
        return None
    gather = type(op) is AdvancedSubtensor
    first = 1 if gather else 2
    host = tuple(first + k for k, kind in enumerate(_index_kinds(op.idx_list))
                 if kind == "scalar")
    symbols = KERNELS + ((ATOMIC_KERNEL,) if x.dtype in ATOMIC_INT_DTYPES else ())
    symbols = tuple(f"st_{s}" for s in symbols)
    if gather:
        return "advanced", source, symbols, (op.idx_list,), host
    if node.inputs[1].dtype != x.dtype:
        return None
    atomic = not op.set_instead_of_inc and x.dtype in ATOMIC_INT_DTYPES
    return ("advanced_inc", source, symbols,
            (op.idx_list, op.set_instead_of_inc, "atomic" if atomic else "sorted"), host)


# -- the index, reduced to (offset, basic dimensions, index arrays) -------------------------------

@dataclasses.dataclass
class Plan:
    """x[idx] as the kernels see it: `offset` bytes from x's start, the basic
    dimensions before and after the index space as (size, x's byte stride),
    the index arrays as (DeviceArray, axis size, x's byte stride on that axis),
    and the broadcast index shape."""

    offset: int
    outer: list
    inner: list
    arrays: list
    index_shape: tuple

    @property
    def shape(self):
        return (*(n for n, _ in self.outer), *self.index_shape, *(n for n, _ in self.inner))

    @property
    def n_idx(self):
        return math.prod(self.index_shape)

    @property
    def n_rest(self):
        return math.prod(n for n, _ in self.outer + self.inner)


def _host(value):
    return value.get() if isinstance(value, DeviceArray) else value


def _on_device(device, value):
    return value if isinstance(value, DeviceArray) else device.upload(np.asarray(value))


def plan(device, source, idx_list, x, index):
    """The Plan of x[idx] (x a DeviceArray, `index` the values of the index inputs),
    running the masks' nonzero kernels; None when the reference must raise."""
    bound = _bind(idx_list, index)
    advanced = [k for k, b in enumerate(bound) if b[1] in ("int", "scalar", "array", "mask")]
    together = advanced == list(range(advanced[0], advanced[-1] + 1))
    offset, dims, arrays, at, end = 0, [], [], None, 0
    for e, kind, dim, value in bound:
        end = dim + (0 if kind == "new" else e.ndim if kind == "mask" else 1)
        if kind == "new":
            dims.append((1, 0))
            continue
        if kind == "slice":
            parts = [None if p is None else int(_host(p)) for p in value]
            if parts[2] == 0:
                return None
            start, stop, step = slice(*parts).indices(x.shape[dim])
            length = len(range(start, stop, step))
            if length:
                offset += start * x.strides[dim]
            dims.append((length, x.strides[dim] * step))
            continue
        at = len(dims) if at is None else at
        if kind in ("int", "scalar"):
            i, n = int(_host(value)), x.shape[dim]
            if not -n <= i < n:
                return None
            offset += (i % n) * x.strides[dim]
        elif kind == "array":
            arrays.append((_on_device(device, value), x.shape[dim], x.strides[dim]))
        else:
            mask = _on_device(device, value)
            if mask.shape != x.shape[dim:end]:
                return None
            coords = nonzero(device, source, mask)
            total = coords.shape[1]
            for d in range(e.ndim):
                row = coords.view((total,), (8,), 8 * d * total)
                arrays.append((row, x.shape[dim + d], x.strides[dim + d]))
    dims += list(zip(x.shape[end:], x.strides[end:]))
    if not arrays or len(arrays) > MAX_ARRAYS:
        return None
    try:
        index_shape = np.broadcast_shapes(*(a.shape for a, _, _ in arrays))
    except ValueError:
        return None
    split = at if together else 0
    return Plan(offset, dims[:split], dims[split:], arrays, tuple(index_shape))


def _grid(n, sm_count):
    return (max(1, min(-(-n // BLOCK), sm_count * layout.BLOCKS_PER_SM)), 1, 1)


def _launch(symbol, grid, args):
    return layout.Launch(f"st_{symbol}", grid, (BLOCK, 1, 1), args)


def adv_args(p, x_ptr, dense_ptr, dense_strides, **extra):
    """The packed st_adv_args of Plan `p` (x starting at `x_ptr`, before the
    plan's offset), the dense array at `dense_ptr` with byte strides over p.shape;
    None when a part has more than MAX_DIMS dimensions after merging."""
    no, nb = len(p.outer), len(p.index_shape)
    outer = merged_layout(tuple(n for n, _ in p.outer),
                          [tuple(s for _, s in p.outer), tuple(dense_strides[:no])])
    inner = merged_layout(tuple(n for n, _ in p.inner),
                          [tuple(s for _, s in p.inner), tuple(dense_strides[no + nb:])])
    index = merged_layout(p.index_shape, [tuple(dense_strides[no:no + nb])] + [
        tuple(layout.broadcast_strides(p.index_shape, a.shape, a.strides))
        for a, _, _ in p.arrays])
    if any(len(dims) > MAX_DIMS for dims, _ in (outer, inner, index)):
        return None
    k = len(p.arrays)
    sizes = [n for _, n, _ in p.arrays]
    fields = dict(
        index=[int(a.gpudata) for a, _, _ in p.arrays] + [0] * (MAX_ARRAYS - k),
        axis_size=sizes + [0] * (MAX_ARRAYS - k),
        axis_stride=[s for _, _, s in p.arrays] + [0] * (MAX_ARRAYS - k),
        key_scale=[math.prod(sizes[i + 1:]) for i in range(k)] + [0] * (MAX_ARRAYS - k),
        index_kind=[INDEX_KINDS[a.dtype.name] for a, _, _ in p.arrays] + [0] * (MAX_ARRAYS - k))
    (outer_shape, outer_table), (inner_shape, inner_table) = (
        _innermost_first(dims, strides, 2) for dims, strides in (outer, inner))
    idx_shape, idx_table = _innermost_first(index[0], index[1], MAX_ARRAYS + 1)
    n_inner = math.prod(n for n, _ in p.inner)
    return _pack(adv_dtype(), x=x_ptr + p.offset, dense=dense_ptr, n=p.n_idx * p.n_rest,
                 n_idx=p.n_idx, n_inner=n_inner, n_rest=p.n_rest, outer_ndim=len(outer[0]),
                 idx_ndim=len(index[0]), inner_ndim=len(inner[0]), n_arrays=k,
                 outer_shape=outer_shape, idx_shape=idx_shape, inner_shape=inner_shape,
                 outer_strides=outer_table, inner_strides=inner_table, idx_strides=idx_table,
                 **fields, **extra)


# -- the device algorithms ------------------------------------------------------------------------

def scan(device, source, array, m):
    """Exclusive prefix sum of the first m int64 of `array` in place; the total at [m]."""
    device.launch(source, _launch("scan", (1, 1, 1),
                                  _pack(scan_dtype(), a=int(array.gpudata), m=m)))


def nonzero(device, source, mask):
    """The coordinates of `mask`'s true elements in C order: a new (mask.ndim, count)
    int64 DeviceArray (the count is read back once, to allocate it)."""
    k, n = mask.ndim, mask.size
    if n == 0:
        return device.empty((k, 0), _I64)
    blocks = -(-n // TILE)
    counts = device.empty((blocks + 1,), _I64)
    shape, table = _innermost_first(mask.shape, [mask.strides], 1)
    fields = dict(mask=int(mask.gpudata), counts=int(counts.gpudata), n=n, n_blocks=blocks,
                  ndim=k, shape=shape, strides=table)
    device.launch(source, _launch("nonzero_count", (blocks, 1, 1),
                                  _pack(nonzero_dtype(), **fields)))
    scan(device, source, counts, blocks)
    total = int(device.download(counts.view((1,), (8,), 8 * blocks))[0])
    coords = device.empty((k, total), _I64)
    if total:
        device.launch(source, _launch("nonzero_write", (blocks, 1, 1), _pack(
            nonzero_dtype(), coords=int(coords.gpudata), total=total, **fields)))
    return coords


def sort_pairs(device, source, keys, vals, n, bits):
    """(keys, vals) of n int64 pairs sorted by the keys' low `bits` bits, stably: new
    arrays, or the same ones when there is nothing to sort."""
    if bits <= 0 or n < 2:
        return keys, vals
    blocks = -(-n // TILE)
    counts = device.empty((RADIX * blocks + 1,), _I64)
    spare = device.empty((n,), _I64), device.empty((n,), _I64)
    for shift in range(0, bits, RADIX_BITS):
        args = _pack(sort_dtype(), keys_in=int(keys.gpudata), vals_in=int(vals.gpudata),
                     keys_out=int(spare[0].gpudata), vals_out=int(spare[1].gpudata),
                     counts=int(counts.gpudata), n=n, n_blocks=blocks, shift=shift)
        device.launch(source, _launch("radix_count", (blocks, 1, 1), args))
        scan(device, source, counts, RADIX * blocks)
        device.launch(source, _launch("radix_scatter", (blocks, 1, 1), args))
        (keys, vals), spare = spare, (keys, vals)
    return keys, vals


def gather(device, kernel, node, x, index):
    """x[idx] on the device (a new DeviceArray), or None (the reference decides)."""
    (idx_list,) = kernel.params
    p = plan(device, kernel.source, idx_list, x, index)
    if p is None:
        return None
    out = device.empty(p.shape, x.dtype)
    if p.n_idx == 0:
        return out  # no indices: nothing to read or check
    if p.n_rest == 0:
        return None  # the reference still checks the indices
    args = adv_args(p, int(x.gpudata), int(out.gpudata), out.strides)
    if args is None:
        return None
    launch = _launch("adv_gather", _grid(p.n_idx * p.n_rest, device.sm_count), args)
    return out if device.checked_launch(kernel.source, launch) else None


def scatter(device, kernel, node, x, y, index):
    """A copy of x with x[idx] set to or incremented by y, on the device; None when
    the reference must decide (it raises)."""
    idx_list, set_values, method = kernel.params
    out = device.copy(x)
    p = plan(device, kernel.source, idx_list, out, index)
    if p is None:
        return None
    try:
        check_value_shape(node, node.inputs[1], ghost(y), p.shape)
    except ValueError:
        return None  # the reference raises, after its own index checks
    if p.n_idx == 0:
        return out
    if p.n_rest == 0:
        return None
    dense = layout.broadcast_strides(p.shape, y.shape, y.strides)
    sm_count, source = device.sm_count, kernel.source
    if method == "atomic":
        args = adv_args(p, int(out.gpudata), int(y.gpudata), dense)
        if args is None:
            return None
        launch = _launch(ATOMIC_KERNEL, _grid(p.n_idx * p.n_rest, sm_count), args)
        return out if device.checked_launch(source, launch) else None
    keys, vals, xoffs = (device.empty((p.n_idx,), _I64) for _ in range(3))
    pointers = dict(xoffs=int(xoffs.gpudata), set_values=int(set_values))
    args = adv_args(p, int(out.gpudata), int(y.gpudata), dense, keys=int(keys.gpudata),
                    vals=int(vals.gpudata), **pointers)
    if args is None:
        return None
    if not device.checked_launch(source, _launch("adv_keys", _grid(p.n_idx, sm_count), args)):
        return None
    combinations = math.prod(n for _, n, _ in p.arrays)
    keys, vals = sort_pairs(device, source, keys, vals, p.n_idx, (combinations - 1).bit_length())
    args = adv_args(p, int(out.gpudata), int(y.gpudata), dense, keys=int(keys.gpudata),
                    vals=int(vals.gpudata), **pointers)
    device.launch(source, _launch("adv_scatter_sorted", _grid(p.n_idx * p.n_rest, sm_count),
                                  args))
    return out


def run(device, kernel, node, inputs):
    """The node's output on the device (see the module docstring), or None."""
    if kernel.kind == "advanced":
        x, *index = inputs
        return gather(device, kernel, node, x, index)
    x, y, *index = inputs
    return scatter(device, kernel, node, x, y, index)
