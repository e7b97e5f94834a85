"""The host side of CUDA calls, checked without a GPU (codegen/cuda/layout.py): the
packed argument structs have the byte layout nvcc gives the templates' structs,
and the kernels' index arithmetic (st_offsets, emulated here over the packed
bytes) reaches exactly the element NumPy's strides name, for broadcast,
transposed, reversed and sliced operands, reductions over any axes, softmax
over any axis, log-sum-exp and cross-entropy rows, one-hot positions, and
integer-array indexing along any axis (gather, and scatter from a broadcast
value)."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.cuda import layout
from symtheano.codegen.cuda.elemwise import render_composite
from symtheano.codegen.cuda.indexing import render_one_hot, render_take
from symtheano.codegen.cuda.nnet import render_logsumexp, render_softmax
from symtheano.codegen.cuda.reduce import render_reduction

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.composite import Composite
from tests.codegen.nvcc_structs import assert_structs_match_nvcc, nvcc_or_skip

SMS = 4  # a small GPU, so that grid-stride loops and split reductions are exercised


def _decode(launch, dtype):
    return np.frombuffer(launch.args, dtype=dtype)[0]


def _offsets(i, ndim, shape, strides):
    """st_offsets (runtime/symtheano_rt.cuh): byte offsets of C-order position i."""
    off = [0] * len(strides)
    for d in range(ndim):
        idx = i
        if d + 1 < ndim:
            i, idx = divmod(i, int(shape[d]))
        for k in range(len(strides)):
            off[k] += idx * int(strides[k][d])
    return off


def _address(array, index):
    return array.ctypes.data + sum(int(i) * s for i, s in zip(index, array.strides))


def _broadcast(arrays, shape):
    return [np.broadcast_to(a, shape) for a in arrays]


def _operands(shape):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2 * shape[0], shape[1] + 3, 2 * shape[2]))
    return [
        base[::2, 1:shape[1] + 1, ::-2],                 # sliced and reversed
        np.asfortranarray(rng.normal(size=shape)),      # transposed layout
        rng.normal(size=(1, 1, shape[2])),              # broadcast row
        np.float64(3.0) * np.ones(()),                  # one value everywhere
    ]


@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 7, 1), (2, 1, 3)])
def test_elementwise_strided_positions(shape):
    inputs = _operands(shape)
    out = np.empty(shape)
    operands = _broadcast(inputs, shape) + [out]
    launch = layout.elementwise_launch(shape, [a.ctypes.data for a in operands],
                                       [a.strides for a in operands], [8] * 5, SMS)
    assert launch.symbol == "st_ew_strided32"
    args = _decode(launch, layout.strided_dtype(5))
    assert args["n"] == out.size and list(args["p"]) == [a.ctypes.data for a in operands]
    for i, index in enumerate(np.ndindex(*shape)):
        off = _offsets(i, args["ndim"], args["shape"], args["strides"])
        for k, a in enumerate(operands):
            assert int(args["p"][k]) + off[k] == _address(a, index), (i, k)


def test_elementwise_contiguous_path_and_broadcast_bits():
    shape = (6, 10)
    x = np.ones(shape)
    scalar = np.ones(())
    out = np.empty(shape)
    operands = [x, np.broadcast_to(scalar, shape), out]
    pointers = [a.ctypes.data for a in operands]
    launch = layout.elementwise_launch(shape, pointers, [a.strides for a in operands],
                                       [8, 8, 8], SMS)
    if any(p % (8 * layout.VEC) for p in (pointers[0], pointers[2])):
        assert launch.symbol == "st_ew_strided32"  # unaligned: one merged dimension
        args = _decode(launch, layout.strided_dtype(3))
        assert args["ndim"] == 1
        return
    assert launch.symbol == "st_ew_contig"
    args = _decode(launch, layout.contig_dtype(3))
    assert args["n"] == 60 and args["bcast"] == 0b010
    assert launch.grid[0] == 1  # 60 elements, 4 per thread


def test_elementwise_unaligned_contiguous_takes_one_strided_dimension():
    x = np.ones(101)[1:]
    out = np.ones(101)[1:]
    launch = layout.elementwise_launch((100,), [x.ctypes.data, out.ctypes.data],
                                       [x.strides, out.strides], [8, 8], SMS)
    assert launch.symbol == "st_ew_strided32"
    args = _decode(launch, layout.strided_dtype(2))
    assert args["ndim"] == 1 and args["shape"][0] == 100 and list(args["strides"][:, 0]) == [8, 8]


def test_grid_is_capped_and_64_bit_indices_for_huge_arrays():
    n = 2**32 + 5
    launch = layout.elementwise_launch((n,), [0, 8], [(16,), (8,)], [8, 8], SMS)
    assert launch.symbol == "st_ew_strided64"
    assert launch.grid == (SMS * layout.BLOCKS_PER_SM, 1, 1)


def test_too_many_dimensions_decline():
    shape = (2,) * 20
    spread = [8 * 3 ** (19 - d) for d in range(20)]   # no two neighbours merge
    dense = [8 * 2 ** (19 - d) for d in range(20)]
    assert layout.elementwise_launch(shape, [0, 0], [spread, dense], [8, 8], SMS) is None
    assert layout.elementwise_launch(shape, [0, 0], [dense, dense], [8, 8], SMS) is not None


def _reduce_check(shape, axes, arrays, out, argmax=False):
    """Every (output, reduced position) pair of the plan reaches the right elements."""
    keep = [d for d in range(len(shape)) if d not in axes]
    out_strides = [0] * len(shape)
    for d, s in zip(keep, out.strides):
        out_strides[d] = s
    operands = _broadcast(arrays, shape)
    pointers = [a.ctypes.data for a in operands] + [out.ctypes.data]
    strides = [list(a.strides) for a in operands] + [out_strides]
    plan = layout.reduce_plan(shape, axes, pointers, strides, 16, SMS)
    args = _decode(plan.first, layout.reduce_dtype(len(pointers)))
    outer = [shape[d] for d in keep]
    inner = [shape[d] for d in axes]
    assert args["n_outer"] == np.prod(outer) and args["n_inner"] == np.prod(inner)
    for o, out_index in enumerate(np.ndindex(*outer)):
        base = _offsets(o, args["outer_ndim"], args["outer_shape"], args["outer_strides"])
        assert int(args["p"][-1]) + base[-1] == _address(out, out_index)
        for j, red_index in enumerate(np.ndindex(*inner)):
            full = [0] * len(shape)
            for d, i in zip(keep, out_index):
                full[d] = i
            for d, i in zip(axes, red_index):
                full[d] = i
            off = _offsets(j, args["inner_ndim"], args["inner_shape"], args["inner_strides"])
            for k, a in enumerate(operands):
                assert int(args["p"][k]) + base[k] + off[k] == _address(a, full), (o, j, k)
    return plan


@pytest.mark.parametrize("axes", [(0,), (1,), (2,), (0, 2), (0, 1, 2), (1, 2)])
def test_reduction_positions(axes):
    shape = (3, 4, 5)
    arrays = _operands(shape)[:3]
    out_shape = tuple(n for d, n in enumerate(shape) if d not in axes)
    out = np.empty(out_shape)[..., ::-1] if out_shape else np.empty(())
    plan = _reduce_check(shape, axes, arrays, out)
    assert plan.parts == 1 and plan.first.symbol == "st_reduce_rows"


def test_reduction_over_axis_0_of_many_columns_takes_one_thread_per_output():
    x = np.ones((50, 2000))
    out = np.empty(2000)
    pointers = [x.ctypes.data, out.ctypes.data]
    plan = layout.reduce_plan(x.shape, (0,), pointers, [list(x.strides), [0, 8]], 8, SMS)
    assert plan.first.symbol == "st_reduce_columns" and plan.final is None


def test_long_reduction_is_split_with_a_final_pass():
    n = 1_000_000
    x = np.ones(n)
    out = np.empty(())
    plan = layout.reduce_plan((n,), (0,), [x.ctypes.data, out.ctypes.data],
                              [[8], [0]], 16, SMS)
    assert plan.first.symbol == "st_reduce_rows" and plan.final.symbol == "st_reduce_final"
    args = _decode(plan.first, layout.reduce_dtype(2))
    assert plan.first.grid[1] == plan.parts > 1
    assert args["chunk"] * plan.parts >= n > args["chunk"] * (plan.parts - 1)
    assert plan.workspace == plan.parts * 16


def test_empty_reductions_decline():
    assert layout.reduce_plan((0, 3), (0,), [0, 0], [[24, 8], [0, 8]], 8, SMS) is None


@pytest.mark.parametrize("axis", [0, 1, 2, None])
def test_softmax_positions(axis):
    shape = (3, 4, 5)
    x = _operands(shape)[0]
    out = np.empty(shape)
    launch = layout.softmax_launch(shape, axis, [x.ctypes.data, out.ctypes.data],
                                   [x.strides, out.strides], SMS)
    args = _decode(launch, layout.softmax_dtype())
    lanes = (0, 1, 2) if axis is None else (axis,)
    rows = [d for d in range(3) if d not in lanes]
    for r, row_index in enumerate(np.ndindex(*[shape[d] for d in rows])):
        base = _offsets(r, args["row_ndim"], args["row_shape"], args["row_strides"])
        for j, lane_index in enumerate(np.ndindex(*[shape[d] for d in lanes])):
            full = [0] * 3
            for d, i in zip(rows, row_index):
                full[d] = i
            for d, i in zip(lanes, lane_index):
                full[d] = i
            off = _offsets(j, args["lane_ndim"], args["lane_shape"], args["lane_strides"])
            assert int(args["p"][0]) + base[0] + off[0] == _address(x, full)
            assert int(args["p"][1]) + base[1] + off[1] == _address(out, full)


@pytest.mark.parametrize("axes", [(1,), (0, 2), (2,), (0, 1, 2)])
def test_logsumexp_positions(axes):
    shape = (3, 4, 5)
    x = _operands(shape)[0]
    kept = [d for d in range(3) if d not in axes]
    out = np.empty([shape[d] for d in kept])[..., ::-1] if kept else np.empty(())
    labels = np.zeros([shape[d] for d in kept], np.int32).T.copy().T if kept else np.empty(())
    out_strides, label_strides = [0] * 3, [0] * 3
    for k, d in enumerate(kept):
        out_strides[d], label_strides[d] = out.strides[k], labels.strides[k]
    pointers = [x.ctypes.data, out.ctypes.data, labels.ctypes.data]
    launch = layout.logsumexp_launch(shape, axes, pointers,
                                     [x.strides, out_strides, label_strides], x.strides[-1], SMS)
    assert launch.symbol == "st_logsumexp"
    args = _decode(launch, layout.logsumexp_dtype())
    assert args["label_stride"] == x.strides[-1]
    assert args["n_lanes"] == np.prod([shape[d] for d in axes])
    for r, row_index in enumerate(np.ndindex(*[shape[d] for d in kept])):
        base = _offsets(r, args["row_ndim"], args["row_shape"], args["row_strides"])
        assert int(args["p"][1]) + base[1] == _address(out, row_index)
        assert int(args["p"][2]) + base[2] == _address(labels, row_index)
        for j, lane_index in enumerate(np.ndindex(*[shape[d] for d in axes])):
            full = [0] * 3
            for d, i in zip(kept, row_index):
                full[d] = i
            for d, i in zip(axes, lane_index):
                full[d] = i
            off = _offsets(j, args["lane_ndim"], args["lane_shape"], args["lane_strides"])
            assert int(args["p"][0]) + base[0] + off[0] == _address(x, full)


def test_logsumexp_over_an_empty_axis_is_launched_and_no_rows_is_not():
    assert layout.logsumexp_launch((3, 0), (1,), [0, 0, 0], [[0, 8], [8, 0], [0, 0]], 0,
                                   SMS) is not None
    assert layout.logsumexp_launch((0, 3), (1,), [0, 0, 0], [[24, 8], [8, 0], [0, 0]], 0,
                                   SMS) is None


def _position(raw, n, wrap):
    """st_position (runtime/symtheano_rt.cuh)."""
    if raw < 0:
        return raw + n if wrap and raw >= -n else -1
    return raw if raw < n else -1


def test_one_hot_positions():
    indices = np.arange(24, dtype=np.int16).reshape(4, 6)[::-1, ::2] % 5   # (4, 3), strided
    n_classes = 5
    out = np.zeros(indices.shape + (n_classes,))
    launch = layout.one_hot_launch(indices.shape, n_classes,
                                   [indices.ctypes.data, out.ctypes.data], indices.strides, SMS)
    args = _decode(launch, layout.one_hot_dtype())
    assert args["n"] == out.size
    memory = {_address(indices, ix): indices[ix] for ix in np.ndindex(*indices.shape)}
    emulated = np.zeros(out.size)
    for e in range(int(args["n"])):
        pos, k = divmod(e, int(args["n_classes"]))
        (off,) = _offsets(pos, args["ndim"], args["shape"], args["strides"])
        c = _position(int(memory[int(args["p"][0]) + off]), n_classes, False)
        emulated[e] = c == k
    np.testing.assert_array_equal(emulated.reshape(out.shape),
                                  np.eye(n_classes)[indices])
    assert layout.one_hot_launch((4, 0), 5, [0, 0], (0, 2), SMS) is None


def _take_emulate(args, x, index, dense):
    """Every dense element of the take kernels: (address in the indexed array, address in
    the dense array, j), following st_take_at."""
    index_memory = {_address(index, ix): int(index[ix]) for ix in np.ndindex(*index.shape)}
    found = []
    for e in range(int(args["n"])):
        t, r = divmod(e, int(args["n_inner"]))
        o, j = divmod(t, int(args["n_idx"]))
        outer = _offsets(o, args["outer_ndim"], args["outer_shape"], args["outer_strides"])
        inner = _offsets(r, args["inner_ndim"], args["inner_shape"], args["inner_strides"])
        at = _offsets(j, args["idx_ndim"], args["idx_shape"], args["idx_strides"])
        i = _position(index_memory[int(args["p"][2]) + at[0]], int(args["axis_size"]), True)
        assert i >= 0
        found.append((int(args["p"][0]) + outer[0] + inner[0] + i * int(args["axis_stride"]),
                      int(args["p"][1]) + outer[1] + inner[1] + at[1], j))
    return found


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_take_positions(axis):
    shape = (3, 4, 5)
    x = _operands(shape)[0]                                   # sliced and reversed
    index = np.array([[0, -1, 2], [1, 1, -3]])[:, ::-1]        # 2-d, strided, negatives
    dense_shape = shape[:axis] + index.shape + shape[axis + 1:]
    dense = np.empty(dense_shape)
    args_bytes = layout.take_args(shape, axis, index.shape,
                                  [x.ctypes.data, dense.ctypes.data, index.ctypes.data],
                                  x.strides, index.strides, dense.strides)
    args = np.frombuffer(args_bytes, dtype=layout.take_dtype())[0]
    assert args["n"] == dense.size
    got = _take_emulate(args, x, index, dense)
    wrapped = index % shape[axis]
    for (x_address, dense_address, _), dense_index in zip(got, np.ndindex(*dense_shape)):
        k = index.ndim
        j_index = dense_index[axis:axis + k]
        full = dense_index[:axis] + (int(wrapped[j_index]),) + dense_index[axis + k:]
        assert x_address == _address(x, full)
        assert dense_address == _address(dense, dense_index)
    launch = layout.take_launch("st_scatter_claim", args_bytes, SMS)
    assert launch.grid[0] == 1  # one thread per index


def test_scatter_from_a_broadcast_value_keeps_the_last_of_repeated_indices():
    x = np.arange(20.0).reshape(4, 5)
    index = np.array([2, 0, 2, -2])            # -2 is 2 again
    y = np.arange(4.0).reshape(4, 1) * 10       # broadcast along the rows' elements
    target = (4, 5)
    dense_strides = layout.broadcast_strides(target, y.shape, y.strides)
    args_bytes = layout.take_args(x.shape, 0, index.shape,
                                  [x.ctypes.data, y.ctypes.data, index.ctypes.data],
                                  x.strides, index.strides, dense_strides)
    args = np.frombuffer(args_bytes, dtype=layout.take_dtype())[0]
    winner = {}
    found = _take_emulate(args, x, index, y)
    for x_address, _, j in found[:: int(args["n_inner"])]:   # scatter_claim's elements
        winner[x_address] = max(winner.get(x_address, -1), j)
    out = x.copy()
    y_memory = {_address(y, ix): y[ix] for ix in np.ndindex(*y.shape)}
    for x_address, y_address, j in found:                     # scatter_set
        row_start = x_address - (x_address - x.ctypes.data) % x.strides[0]
        if winner[row_start] == j:
            flat = (x_address - x.ctypes.data) // x.itemsize
            out.flat[flat] = y_memory[y_address]
    want = x.copy()
    want[index] = np.broadcast_to(y, target)
    np.testing.assert_array_equal(out, want)


def test_struct_layouts_match_nvcc(tmp_path):
    nvcc_or_skip()
    x, y = T.dmatrix("x"), T.fvector("y")
    (node,) = th.function([x, y], T.exp(x) + y, mode=Mode("py")).fgraph.apply_nodes
    composite = node.op
    assert isinstance(composite, Composite) and composite.nin == 2
    probes = [
        (render_composite(composite), {"st_contig_args": layout.contig_dtype(3),
                                       "st_strided_args": layout.strided_dtype(3)}),
        (render_reduction("ST_ARGMAX", ["float32"], "int64"),
         {"st_reduce_args": layout.reduce_dtype(2)}),
        (render_softmax("float64", False), {"st_softmax_args": layout.softmax_dtype()}),
        (render_logsumexp("float32", "int64"),
         {"st_logsumexp_args": layout.logsumexp_dtype()}),
        (render_one_hot("float32", "int8"), {"st_one_hot_args": layout.one_hot_dtype()}),
        (render_take("float64", "uint32"), {"st_take_args": layout.take_dtype()}),
    ]
    for j, (source, structs) in enumerate(probes):
        assert_structs_match_nvcc(tmp_path, source, structs, tag=f"probe{j}")
