"""PaddedSum in mode="CUDA" without a GPU (codegen/cuda/padded_sum.py): on FakeDevice
the kernel's launch is packed as for a GPU and emulated over the fake's memory
(coordinates, box coverage, input offsets, the Composites the source holds), so
the host's layout is exercised. Results are compared bit for bit with mode "PY":
the Rosenbrock gradient at several sizes (tiny and empty boxes included), in
float32 and float64, shifts along two axes, set and full terms, signed zeros,
broadcast and strided term inputs, integers. No PaddedSum falls back to the host.
The argument struct's layout is checked against nvcc; the libraries themselves
are compiled by tests/codegen/test_cuda_source.py (`padded_sum_nodes`)."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.cuda import padded_sum
from symtheano.codegen.cuda.device import FakeDevice
from symtheano.codegen.cuda.kernels import kernel_for

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.padded_sum import PaddedSum
from tests.codegen.nvcc_structs import assert_structs_match_nvcc, nvcc_or_skip

RNG = np.random.default_rng(11)


def _cuda(device=None):
    return Mode("cuda", "fast_run", device=device or FakeDevice())


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


def rosenbrock(dtype):
    x = T.vector("x", dtype=dtype)
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return x, T.grad(cost, x)


def _graphs():
    """{name: (inputs, output, [argument lists])}: PaddedSums of every shape of term."""
    out = {}
    for dtype in ("float32", "float64"):
        m = T.matrix("m", dtype=dtype)
        cost = (T.sum((m[1:, :] - m[:-1, :]) ** 2) + T.sum(T.sin(m[:, 1:] - m[:, :-1]) ** 2)
                + T.sum(m ** 2))
        out[f"two axes {dtype}"] = ([m], T.grad(cost, m), [
            [RNG.normal(size=s).astype(dtype)] for s in ((6, 9), (1, 1), (2, 1), (1, 3), (0, 3))])
    x = T.dvector("x")
    z = T.zeros_like(x)
    out["set and full terms"] = ([x], T.inc_subtensor(z[:3], T.exp(x[:3]))
                                 + T.set_subtensor(z[-2:], x[-2:] * 2) + x * 3,
                                 [[RNG.normal(size=n)] for n in (8, 5, 2, 1, 0)])
    signed = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 0.0, -0.0])
    out["signed zeros inc"] = ([x], T.inc_subtensor(z[1:], -x[1:])
                               + T.inc_subtensor(z[:-1], x[:-1] * -1.0), [[signed]])
    out["signed zeros set"] = ([x], T.set_subtensor(z[1:], -x[1:]), [[signed]])
    m, r = T.dmatrix("m"), T.row("r", dtype="float64")
    out["broadcast row"] = ([m, r], T.inc_subtensor(T.zeros_like(m)[1:, 2:], m[1:, 2:] * r) + m,
                            [[RNG.normal(size=(4, 5)), RNG.normal(size=(1, 3))]])
    mt = m.T  # term inputs are strided views of m on the device
    cost = T.sum((mt[1:] - mt[:-1] ** 2) ** 2) + T.sum(mt[::-1][1:] * mt[:-1])
    out["strided inputs"] = ([m], T.grad(cost, m), [[RNG.normal(size=(3, 7))]])
    i = T.ivector("i")
    zi = T.zeros_like(i)
    out["int32"] = ([i], T.inc_subtensor(zi[1:], i[1:] * 3) + T.inc_subtensor(zi[:-1], i[:-1] - 7),
                    [[np.array([2**31 - 1, -5, 7, 0, 9], "int32")], [np.zeros(1, "int32")]])
    return out


def padded_sum_nodes():
    """The PaddedSum nodes of the graphs above and of the Rosenbrock gradients, as
    mode="CUDA" sees them (for test_cuda_source.py's compile of every library)."""
    graphs = [(inputs, output) for inputs, output, _ in _graphs().values()]
    graphs += [([x], g) for x, g in (rosenbrock("float32"), rosenbrock("float64"))]
    for inputs, output in graphs:
        f = th.function(inputs, output, mode=_cuda())
        yield from (n for n in f.fgraph.apply_nodes if isinstance(n.op, PaddedSum))


def _check(inputs, output, arg_lists):
    device = FakeDevice()
    f = th.function(inputs, output, mode=_cuda(device))
    py = th.function(inputs, output, mode="PY")
    nodes = [n for n in f.program.nodes if isinstance(n.op, PaddedSum)]
    assert nodes, th.printing.debugprint(f, file="str")
    for node in nodes:
        assert f.program.kinds[f.program.nodes.index(node)] == "kernel"
    assert "fallback" not in f.program.kind_counts(), f.program.kind_counts()
    for args in arg_lists:
        before = device.counts["kernel"]
        got, want = f(*args), py(*args)
        assert same_bits(got, want), (args, got, want)
        assert device.counts["kernel"] - before >= len(nodes)  # the emulated launch ran
    return f


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rosenbrock_gradient_equals_mode_py_bit_for_bit(dtype):
    x, g = rosenbrock(dtype)
    # n = 0: no output; 1: every box empty; 2, 3: boxes of one or two elements
    sizes = (0, 1, 2, 3, 4, 17, 1000)
    f = _check([x], g, [[RNG.uniform(-2, 2, n).astype(dtype)] for n in sizes])
    (node,) = [n for n in f.program.nodes if isinstance(n.op, PaddedSum)]
    assert kernel_for(node).kind == "padded_sum"


@pytest.mark.parametrize("name", list(_graphs()))
def test_padded_sums_equal_mode_py_bit_for_bit(name):
    inputs, output, arg_lists = _graphs()[name]
    _check(inputs, output, arg_lists)


def test_a_value_of_the_wrong_size_declines_and_the_reference_raises():
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], T.inc_subtensor(T.zeros_like(x)[1:], y * 2.0), mode=_cuda())
    assert "fallback" not in f.program.kind_counts()
    np.testing.assert_array_equal(f(np.zeros(3), np.ones(2)), [0.0, 2.0, 2.0])
    with pytest.raises(ValueError):
        f(np.zeros(3), np.ones(3))


def test_source_depends_on_the_expression_not_the_boxes():
    nodes = []
    for lo in (1, 2):
        x = T.dvector("x")
        cost = T.sum((x[lo:] - x[:-lo]) ** 2)
        f = th.function([x], T.grad(cost, x), mode=_cuda())
        nodes += [n for n in f.fgraph.apply_nodes if isinstance(n.op, PaddedSum)]
    k1, k2 = (kernel_for(n) for n in nodes)
    assert k1.source == k2.source and k1.params != k2.params
    assert k1.host_inputs == (0,)  # the size, read on the host


def test_launch_layout():
    x, g = rosenbrock("float64")
    f = th.function([x], g, mode=_cuda())
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, PaddedSum)]
    kernel = kernel_for(node)
    device = FakeDevice()
    base = device.upload(np.arange(10.0))
    lo, hi = base.view((9,), (8,)), base.view((9,), (8,), 8)  # x[:-1], x[1:]
    inputs = [np.int64(10), lo, lo, hi, lo, hi]
    out, launch = padded_sum.prepare(device, kernel, node, inputs, sm_count=4)
    args = np.frombuffer(launch.args, padded_sum.args_dtype(1, 3, 5))[0]
    assert launch.symbol == "st_padded_sum32" and launch.grid == (1, 1, 1)
    assert int(args["n"]) == 10 and list(args["shape"]) == [10]
    assert args["lo"].tolist() == [[0], [0], [1]] and args["hi"].tolist() == [[9], [9], [10]]
    assert list(args["origin"]) == [0, 0, 0, 8, 8]  # the third term's box starts at 1
    assert [int(p) for p in args["p"]] == [a.gpudata for a in inputs[1:]] + [out.gpudata]
    # a size that does not fit its box: declined
    assert padded_sum.prepare(device, kernel, node, [np.int64(11), *inputs[1:]], 4) is None


def test_struct_layout_matches_nvcc(tmp_path):
    nvcc_or_skip()
    m = T.dmatrix("m")
    cost = T.sum((m[1:, :] - m[:-1, :]) ** 2) + T.sum((m[:, 1:] - m[:, :-1]) ** 2)
    f = th.function([m], T.grad(cost, m), mode=_cuda())
    (node,) = [n for n in f.fgraph.apply_nodes if isinstance(n.op, PaddedSum)]
    kernel = kernel_for(node)
    n_terms, n_in = len(node.op.terms), len(node.inputs) - 2
    dtype = padded_sum.args_dtype(2, n_terms, n_in)
    assert_structs_match_nvcc(tmp_path, kernel.source, {"st_ps_args": dtype})
