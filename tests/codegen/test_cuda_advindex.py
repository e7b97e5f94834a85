"""Advanced indexing on the CUDA back end (codegen/cuda/advindex.py, runtime/
advindex.cuh), without a GPU: the library compiles with nvcc for sm_90 and to
PTX for every array dtype, its argument structs have nvcc's layout, and on
FakeDevice the host code runs against NumPy emulations of the kernels
(advindex_emulate.py, which checks every memory access) with results equal to
mode "PY" (NumPy): several index arrays broadcasting, arrays mixed with slices,
integers and new axes (adjacent and separated), negative and out-of-range
indices, empty indices, boolean masks (a device nonzero), set and increment
with repeated indices (the float increment bit-identical to np.add.at), and
the radix sort and stream compaction on their own over several tiles."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c.scalar import C_TYPES
from symtheano.codegen.cuda import advindex, build
from symtheano.codegen.cuda.advindex_emulate import Emulator
from symtheano.codegen.cuda.device import FakeDevice
from symtheano.codegen.cuda.kernels import kernel_for

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from tests.codegen.nvcc_structs import assert_structs_match_nvcc, nvcc_or_skip
from tests.codegen.test_cuda_source import _unit

ARCH = 90
DTYPES = ["float32", "float64", "int32", "int64"]


# -- the source ------------------------------------------------------------------------------------

def test_every_dtype_compiles_for_sm90_and_ptx(tmp_path):
    import subprocess

    nvcc_or_skip()
    sources = [advindex.render(dtype) for dtype in C_TYPES]
    text, _ = _unit(sources)
    src, out = tmp_path / "advindex.cu", tmp_path / "advindex.fatbin"
    src.write_text(text)
    done = subprocess.run(build.command(src, out, ARCH, "fatbin"), capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    assert out.stat().st_size > 0


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_a_library_alone_has_its_symbols(dtype, tmp_path):
    nvcc_or_skip()
    x, i = T.matrix("x", dtype=dtype), T.lvector("i")
    kernel = kernel_for(T.inc_subtensor(x[i, i], x[0, 0]).owner)
    assert kernel.kind == "advanced_inc"
    build.compile_module(kernel.source, tmp_path, ARCH)
    cubin = (tmp_path / build.MODULE_FILE).read_bytes()
    for symbol in kernel.symbols:
        assert symbol.encode() in cubin
    assert (b"st_adv_scatter_add" in cubin) == (dtype == "int64")


def test_struct_layouts_match_nvcc(tmp_path):
    nvcc_or_skip()
    structs = {"st_adv_args": advindex.adv_dtype(), "st_sort_args": advindex.sort_dtype(),
               "st_scan_args": advindex.scan_dtype(),
               "st_nonzero_args": advindex.nonzero_dtype()}
    assert_structs_match_nvcc(tmp_path, advindex.render("float64"), structs)
    assert advindex.adv_dtype().itemsize <= 4096  # the classic kernel parameter limit


def test_sources_name_only_the_array_type():
    x, y = T.dtensor3("x"), T.dtensor3('evil */ "name"')
    i, j = T.bvector("i"), T.lmatrix("j")
    a = kernel_for(x[i, :, j].owner)
    b = kernel_for(T.set_subtensor(y[1:, j], 2.0).owner)
    assert a.source == b.source and "evil" not in a.source
    assert a.params != b.params


def test_which_nodes_take_which_path():
    x, f, b = T.imatrix("x"), T.fmatrix("f"), T.matrix("b", dtype="int8")
    i = T.lvector("i")
    assert kernel_for(x[i].owner).kind == "take"                          # one axis: take
    assert kernel_for(T.inc_subtensor(x[:, i], 1).owner).kind == "scatter"  # exact atomics
    assert kernel_for(T.set_subtensor(f[i], 1.0).owner).kind == "scatter"
    one_axis_float = kernel_for(T.inc_subtensor(f[:, i], 1.0).owner)       # reproducible
    assert one_axis_float.kind == "advanced_inc" and one_axis_float.params[2] == "sorted"
    assert kernel_for(T.inc_subtensor(x[i, i], 1).owner).params[2] == "atomic"
    assert kernel_for(T.inc_subtensor(b[i, i], 1).owner).params[2] == "sorted"
    s = T.lscalar("s")
    node = T.inc_subtensor(f[s:, i, None], 1.0).owner
    assert kernel_for(node).host_inputs == (2,)                           # s, read by the host
    assert kernel_for(x[T.as_tensor_variable(True)].owner) is None         # a 0-d mask
    from symtheano.codegen.cuda.driver import Runtime

    for kind in ("advanced", "advanced_inc"):  # what Runtime.kernel dispatches to
        assert getattr(Runtime, f"_{kind}") is Runtime._advanced


# -- the device algorithms, emulated ---------------------------------------------------------------

def test_radix_sort_is_stable_over_several_tiles():
    fake = FakeDevice()
    dev = Emulator(fake)
    rng = np.random.default_rng(0)
    n = 3 * advindex.TILE + 77
    keys = rng.integers(0, 1 << 19, size=n)
    keys[::5] = 12345  # long runs of equal keys across tiles
    k, v = dev.upload(keys.astype(np.int64)), dev.upload(np.arange(n, dtype=np.int64))
    source = advindex.render("float32")
    sk, sv = advindex.sort_pairs(dev, source, k, v, n, 19)
    order = np.argsort(keys, kind="stable")
    np.testing.assert_array_equal(sk.get(), keys[order])
    np.testing.assert_array_equal(sv.get(), order)
    assert dev.counts["radix_scatter"] == 3 and dev.counts["scan"] == 3


@pytest.mark.parametrize("shape", [(7,), (3, 5, 4), (40, 300)])
def test_nonzero_compacts_in_c_order(shape):
    fake = FakeDevice()
    dev = Emulator(fake)
    rng = np.random.default_rng(1)
    base = rng.random(tuple(2 * n for n in shape)) > 0.6
    mask = base[tuple(slice(None, None, -2) for _ in shape)]        # strided, reversed
    array = dev.upload(base)
    view_offset = mask.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    device_mask = array.view(mask.shape, mask.strides, view_offset)
    coords = advindex.nonzero(dev, advindex.render("bool"), device_mask).get()
    np.testing.assert_array_equal(coords, np.array(np.nonzero(mask)).reshape(len(shape), -1))
    assert fake.counts["download"] == 2  # the count, then the test's own


@pytest.mark.parametrize("dtype, set_values, launched", [
    ("float32", False, {"adv_keys": 1, "radix_count": 1, "scan": 1, "radix_scatter": 1,
                        "adv_scatter_sorted": 1}),
    ("float64", True, {"adv_keys": 1, "radix_count": 1, "scan": 1, "radix_scatter": 1,
                       "adv_scatter_sorted": 1}),
    ("int64", False, {"adv_scatter_add": 1}),
])
def test_each_update_launches_its_path(dtype, set_values, launched):
    """advindex.run on the device interface directly: the launches each path makes
    (a key space of 4 x 5 combinations: one radix pass)."""
    x, y, i, j = T.matrix("x", dtype=dtype), T.vector("y", dtype=dtype), T.lvector(
        "i"), T.lvector("j")
    update = T.set_subtensor if set_values else T.inc_subtensor
    node = update(x[i, j], y).owner
    kernel = kernel_for(node)
    fake = FakeDevice()
    inputs = [fake.upload(np.arange(20, dtype=dtype).reshape(4, 5)),
              fake.upload(np.arange(6, dtype=dtype)),
              fake.upload(np.array([0, 3, -4, 0, 1, 0])),
              fake.upload(np.array([4, 1, 4, -1, 2, 4]))]
    dev = Emulator(fake, inputs)
    out = advindex.run(dev, kernel, node, inputs).get()
    want = np.arange(20, dtype=dtype).reshape(4, 5)
    if set_values:
        want[[0, 3, -4, 0, 1, 0], [4, 1, 4, -1, 2, 4]] = np.arange(6, dtype=dtype)
    else:
        np.add.at(want, ([0, 3, -4, 0, 1, 0], [4, 1, 4, -1, 2, 4]), np.arange(6, dtype=dtype))
    np.testing.assert_array_equal(out, want)
    assert dev.counts == launched


def test_the_emulator_catches_accesses_outside_the_allocations():
    dev = Emulator(FakeDevice())
    a = dev.empty((4,), np.int64)
    with pytest.raises(AssertionError, match="outside every allocation"):
        dev.load(np.array([a.gpudata + 32]), np.int64)


# -- functions on FakeDevice against mode "PY" ---------------------------------------------------

def _run(inputs, outputs, args, exact=True):
    device = FakeDevice()
    py = th.function(inputs, outputs, mode="PY", on_unused_input="ignore")
    cuda = th.function(inputs, outputs, mode=Mode("cuda", "fast_run", device=device),
                       on_unused_input="ignore")
    got, want = cuda(*args), py(*args)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-6)
    counts = cuda.program.kind_counts()
    assert "fallback" not in counts, counts
    return cuda


def _values(dtype, shape, rng):
    if dtype.startswith("float"):
        return rng.normal(size=shape).astype(dtype)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    return rng.integers(-50, 50, size=shape).astype(dtype)


def _gathers(x, i, j, m):
    return [
        x[i, :, j],                  # separated: index dimensions first
        x[:, i, j],                  # adjacent: where they are
        x[i[:, None], j[None, :]],   # broadcasting to (len i, len j)
        x[:, i[:, None], j[:2]],     # ... in the middle
        x[0, :, j],                  # an integer counts as an index: separated
        x[1:, i, -1],                # adjacent with an integer
        x[None, i, ::-2, j],         # a new axis, a reversed slice
        x[i[::-1]][:, ::2],          # a strided index array (the take library)
        x.dimshuffle(2, 0, 1)[j, i],  # a transposed array
        x[m],                        # a mask on two dimensions
        x[:, m[0]],                  # a mask in the middle
        x[m[:, 0], 1:, i[:1]],       # a mask with an array
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gathers_equal_numpy(dtype):
    x = T.tensor3("x", dtype=dtype)
    i, j, m = T.lvector("i"), T.ivector("j"), T.matrix("m", dtype="bool")
    rng = np.random.default_rng(2)
    args = [_values(dtype, (4, 5, 3), rng), np.array([0, -1, 3, 0, -4]),
            np.array([2, -3, 0, 1, 1], np.int32), rng.random((4, 5)) > 0.5]
    _run([x, i, j, m], _gathers(x, i, j, m), args)


def test_index_dtypes_mix():
    x = T.dmatrix("x")
    idx = [T.vector(f"i{k}", dtype=d) for k, d in enumerate(
        ["int8", "int16", "uint8", "uint16", "uint32", "uint64", "int32", "int64"])]
    outs = [x[idx[k], idx[k + 1]] for k in range(0, 8, 2)] + [x[idx[0], idx[7]]]
    args = [np.arange(35.0).reshape(5, 7)] + [
        np.array([1, 4, 0], d) if d.startswith("u") else np.array([-1, 4, 0], d)
        for d in ["int8", "int16", "uint8", "uint16", "uint32", "uint64", "int32", "int64"]]
    _run([x, *idx], outs, args)


def test_empty_indices_and_an_all_false_mask():
    x, i, m = T.dtensor3("x"), T.lvector("i"), T.matrix("m", dtype="bool")
    outs = [x[i, :, i], x[m], T.inc_subtensor(x[i, 1, i], 1.0), T.set_subtensor(x[m], 3.0),
            T.inc_subtensor(x[:, m[0]], 2.0)]
    args = [np.ones((4, 5, 3)), np.zeros(0, np.int64), np.zeros((4, 5), bool)]
    _run([x, i, m], outs, args)


def _updates(x, y, i, j, m):
    """(x, value) pairs: the increments and sets tested, values of y's dtype."""
    return [
        T.inc_subtensor(x[i, :, j], y[0, 0]),           # repeated pairs, a scalar value
        T.inc_subtensor(x[:, i, j], y[:4, :5]),           # repeated, adjacent, a full value
        T.set_subtensor(x[i, :, j], y[0, :5]),      # a broadcast row
        T.set_subtensor(x[:, i, j], y[:4, :5]),          # the last of repeated pairs wins
        T.inc_subtensor(x[i[:, None], 1, j[None, :]], y[:5, :5]),
        T.inc_subtensor(x[1:, i], y[:3, :5, None]),      # one axis, after a slice
        T.inc_subtensor(x[:, i], y[:4, :5, None]),       # one axis: the take library's index
        T.set_subtensor(x[m], y[0, 0]),
        T.inc_subtensor(x[m[:, 0], ::-1, i[:1]], y[0, :5]),
        T.inc_subtensor(x[::-1][i, ::2, -1], y[:5, :3]),  # a reversed view
    ]


@pytest.mark.parametrize("dtype", DTYPES + ["int8", "uint16", "bool"])
def test_updates_equal_numpy(dtype):
    x, y = T.tensor3("x", dtype=dtype), T.matrix("y", dtype=dtype)
    i, j, m = T.lvector("i"), T.lvector("j"), T.matrix("m", dtype="bool")
    rng = np.random.default_rng(3)
    args = [_values(dtype, (4, 5, 3), rng), _values(dtype, (6, 6), rng),
            np.array([0, -1, 3, 0, -4]), np.array([2, -1, 0, 2, 2]), rng.random((4, 5)) > 0.5]
    _run([x, y, i, j, m], _updates(x, y, i, j, m), args)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_increments_are_bit_identical_to_add_at(dtype):
    """Many repeats over several sort tiles and two radix passes: the sums are rounded
    as np.add.at rounds them, in order of the index."""
    rng = np.random.default_rng(4)
    x, y = T.matrix("x", dtype=dtype), T.vector("y", dtype=dtype)
    i, j = T.lvector("i"), T.lvector("j")
    n = 2 * advindex.TILE + 300
    args = [rng.normal(size=(37, 11)).astype(dtype), (rng.normal(size=n) * 1e3).astype(dtype),
            rng.integers(-37, 37, size=n), rng.integers(-11, 11, size=n)]
    out = T.inc_subtensor(x[i, j], y)
    _run([x, y, i, j], [out], args)
    want = args[0].copy()
    np.add.at(want, (args[2], args[3]), args[1])
    device = FakeDevice()
    f = th.function([x, y, i, j], out, mode=Mode("cuda", "fast_run", device=device))
    first = f(*args)
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(f(*args), first)


def test_one_axis_float_increment_is_bit_identical_to_add_at():
    rng = np.random.default_rng(5)
    x, y, i = T.fmatrix("x"), T.fmatrix("y"), T.lvector("i")
    args = [rng.normal(size=(6, 3)).astype("float32"),
            (rng.normal(size=(500, 3)) * 100).astype("float32"), rng.integers(-6, 6, size=500)]
    cuda = _run([x, y, i], [T.inc_subtensor(x[i], y)], args)
    assert cuda.program.kind_counts() == {"kernel": 1}


def test_errors_are_the_references():
    x, y = T.dtensor3("x"), T.dmatrix("y")
    i, j, m = T.lvector("i"), T.lvector("j"), T.matrix("m", dtype="bool")
    s = T.lscalar("s")
    cases = [
        ([x[i, :, j]], IndexError),                        # j out of range
        ([x[:, i, j]], IndexError),                        # shapes do not broadcast
        ([x[s, :, i[:1]]], IndexError),                    # the integer out of range
        ([x[m[:3]]], IndexError),                          # the mask does not fit
        ([T.inc_subtensor(x[i, :, j], 1.0)], IndexError),
        ([T.set_subtensor(x[:, i, j[:3]], 1.0)], IndexError),
        ([T.inc_subtensor(x[i[:2], :, i[:2]], y)], ValueError),    # the value does not fit
    ]
    args = [np.zeros((4, 5, 3)), np.zeros((2, 2)), np.array([0, 1, -4]), np.array([0, 3, 1, 1]),
            np.ones((4, 5), bool), 7]
    for outputs, error in cases:
        py = th.function([x, y, i, j, m, s], outputs, mode="PY", on_unused_input="ignore")
        cuda = th.function([x, y, i, j, m, s], outputs, on_unused_input="ignore",
                           mode=Mode("cuda", "fast_run", device=FakeDevice()))
        with pytest.raises(error) as want:
            py(*args)
        with pytest.raises(error) as got:
            cuda(*args)
        assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]


def test_registry_cases_with_advanced_indexing_equal_mode_py():
    """Every op-registry case whose graph has an advanced index, on FakeDevice: the
    reference's results or first error line; none falls back but x[True] (a 0-d
    mask, left to the reference)."""
    from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
    from tests.tensor.registry import collect_cases
    from tests.tensor.test_registry import _symbolic_inputs

    checked = 0
    for case in collect_cases():
        for sample in case.samples(np.random.default_rng(0))[:3]:
            inputs = _symbolic_inputs(case, sample)
            outputs = case.build(*inputs)
            outputs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
            cuda = th.function(inputs, outputs, on_unused_input="ignore",
                               mode=Mode("cuda", "fast_run", device=FakeDevice()))
            nodes = [n for n in cuda.fgraph.apply_nodes
                     if isinstance(n.op, AdvancedSubtensor | AdvancedIncSubtensor)]
            if not nodes:
                continue
            checked += 1
            py = th.function(inputs, outputs, mode="PY", on_unused_input="ignore")
            try:
                want = py(*sample)
            except (IndexError, ValueError) as exc:
                with pytest.raises(type(exc)) as got:
                    cuda(*sample)
                assert str(got.value).split("\n")[0] == str(exc).split("\n")[0]
                continue
            for g, w in zip(cuda(*sample), want):
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=case.name)
            if all(kernel_for(n) is not None for n in nodes):
                assert "fallback" not in cuda.program.kind_counts(), case.name
    assert checked > 50
