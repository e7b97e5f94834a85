"""mode="CUDA" at the function level, without a GPU: the program (codegen/cuda/
program.py) runs on FakeDevice (codegen/cuda/device.py), which keeps "device"
memory in host buffers and runs each node's reference `perform` where a GPU
would launch its kernel. Checked: results equal mode "PY"; what crosses the
(pretend) bus per call (arguments once, shared variables never in a training
loop, outputs once); updates stay on the device; return_device; get_value /
set_value; buffers freed as the C runner frees them; and the real cuBLAS
argument mapping on the fake's memory through the stand-in libcublas of
test_cuda_cublas.py."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from symtheano.codegen.cuda import availability, build, cublas
from symtheano.codegen.cuda.device import DeviceArray, FakeDevice

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode, get_mode
from symtheano.tensor.nnet import log_softmax, softmax
from tests.codegen.test_cuda_cublas import _FakeLib, _ffi


def _cuda(device=None):
    return Mode("cuda", "fast_run", device=device or FakeDevice())


def _stand_in_blas(monkeypatch, device):
    """The real cublas.Cublas over the fake's memory, against a stand-in libcublas."""
    monkeypatch.setattr(cublas, "_library", lambda: (_ffi, _FakeLib()))
    device.blas = cublas.Cublas(device.copy)
    return device


def _pair(inputs, outputs, device=None, **kwargs):
    py = th.function(inputs, outputs, mode="PY", on_unused_input="ignore", **kwargs)
    cuda = th.function(inputs, outputs, mode=_cuda(device), on_unused_input="ignore", **kwargs)
    return py, cuda


def _close(got, want, rtol):
    got = got if isinstance(got, list) else [got]
    want = want if isinstance(want, list) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray) and g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)


def _graphs():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    v = T.dvector("v")
    return [x, y, v], {
        "elementwise": [T.exp(x) * y + 1, T.tanh(x - v) ** 2],
        "broadcast row": [x + T.shape_padleft(v)],
        "reductions": [T.sum(x, axis=1), T.max(x, axis=0), T.argmax(x * y, axis=1),
                       T.mean(x), T.prod(abs(x) + 1)],
        "softmax": [softmax(x), log_softmax(x * 2)],
        "dot matrix-matrix": [T.dot(x, y)],
        "dot matrix-vector": [T.dot(x, v), T.dot(v, y)],
        "dot vector-vector": [T.dot(v, v) + 1],
        "gemm with bias": [T.dot(x, y) * 2 + v, T.dot(x, y.T) - y],
        "gemv with term": [T.dot(x, v) * 0.5 + v],
        "ger": [x + 3 * T.outer(v, v)],
        "views": [x.T[1:, ::-1] + 0, T.reshape(x, (2, -1)) * 2, x[2], x[1:3].T.dimshuffle(
            "x", 0, 1), T.flatten(x.T)],
        "fallback ops": [T.sort(x, axis=1), x[T.argmax(v), ::2] + v[::2], T.cumsum(v)],
    }


@pytest.mark.parametrize("name", list(_graphs()[1]))
@pytest.mark.parametrize("blas", ["numpy", "cublas stand-in"])
def test_results_equal_mode_py(name, blas, monkeypatch):
    device = FakeDevice()
    if blas != "numpy":
        _stand_in_blas(monkeypatch, device)
    inputs, graphs = _graphs()
    py, cuda = _pair(inputs, graphs[name], device)
    rng = np.random.default_rng(0)
    for _ in range(2):
        args = [rng.normal(size=(4, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)]
        _close(cuda(*args), py(*args), 1e-12)
    if name != "fallback ops":
        assert "fallback" not in cuda.program.kind_counts(), cuda.program.kind_counts()


def test_arguments_are_copied_once_per_call():
    device = FakeDevice()
    x, y = T.fmatrix("x"), T.fvector("y")
    f = th.function([x, y], [T.sum(T.exp(x) + y, axis=1), softmax(x * y)],
                    mode=_cuda(device))
    a, b = np.ones((3, 4), "float32"), np.arange(4, dtype="float32")
    f(a, b)
    for _ in range(3):
        before = dict(device.counts)
        f(a, b)
        assert device.counts["upload"] - before["upload"] == 2  # x and y, once each
        assert device.counts["download"] - before["download"] == 2  # the two outputs


def _mlp(dtype="float32"):
    """A two-layer MLP's training step (squared error, so every node has a kernel or
    goes to cuBLAS) and its shared parameters."""
    rng = np.random.default_rng(1)
    X, t = T.matrix("X", dtype=dtype), T.matrix("t", dtype=dtype)
    params = [th.shared(rng.normal(size=(5, 7)).astype(dtype), name="W1"),
              th.shared(np.zeros(7, dtype), name="b1"),
              th.shared(rng.normal(size=(7, 3)).astype(dtype), name="W2"),
              th.shared(np.zeros(3, dtype), name="b2")]
    W1, b1, W2, b2 = params
    out = T.dot(T.tanh(T.dot(X, W1) + b1), W2) + b2
    cost = T.mean((out - t) ** 2)
    lr = np.asarray(0.05, dtype)
    updates = [(p, p - lr * g) for p, g in zip(params, T.grad(cost, params))]
    return [X, t], cost, updates, params


def _batch(rng, dtype="float32"):
    return rng.normal(size=(8, 5)).astype(dtype), rng.normal(size=(8, 3)).astype(dtype)


@pytest.mark.parametrize("blas", ["numpy", "cublas stand-in"])
def test_training_step_matches_py_and_keeps_parameters_on_the_device(blas, monkeypatch):
    device = FakeDevice()
    if blas != "numpy":
        _stand_in_blas(monkeypatch, device)
    inputs, cost, updates, params = _mlp()
    start = [p.get_value() for p in params]
    step = th.function(inputs, cost, updates=updates, mode=_cuda(device))
    assert "fallback" not in step.program.kind_counts(), step.program.kind_counts()
    rng = np.random.default_rng(2)
    batches = [_batch(rng) for _ in range(4)]
    costs = []
    for i, batch in enumerate(batches):
        before = dict(device.counts)
        costs.append(step(*batch))
        uploads = device.counts["upload"] - before["upload"]
        if i == 0:  # the parameters go to the device once, then stay there
            assert uploads >= 2 + len(params)
        else:
            assert uploads == 2, uploads  # X and t only
        assert device.counts["download"] - before["download"] == 1  # the cost only
        assert all(p._host_stale for p in params)  # updated on the device
    trained = [p.get_value() for p in params]
    for p, value in zip(params, start):
        p.set_value(value)
    reference = th.function(inputs, cost, updates=updates, mode="PY")
    want = [reference(*batch) for batch in batches]
    np.testing.assert_allclose(costs, want, rtol=2e-5)
    for p, got in zip(params, trained):
        np.testing.assert_allclose(got, p.get_value(), rtol=2e-5, atol=1e-6)


def test_get_value_and_set_value_round_trip():
    device = FakeDevice()
    inputs, cost, updates, params = _mlp("float64")
    step = th.function(inputs, cost, updates=updates, mode=_cuda(device))
    W1 = params[0]
    batch = _batch(np.random.default_rng(3), "float64")
    step(*batch)
    before = device.counts["download"]
    value = W1.get_value()
    assert device.counts["download"] == before + 1  # copied back when asked for
    W1.get_value()
    assert device.counts["download"] == before + 1  # and only once
    internal = W1.get_value(borrow=True, return_internal_type=True)
    assert isinstance(internal, DeviceArray)
    np.testing.assert_array_equal(internal.get(), value)
    new = np.full(value.shape, 0.25)
    uploads = device.counts["upload"]
    W1.set_value(new)
    assert device.counts["upload"] == uploads + 1  # copied to the device at once
    np.testing.assert_array_equal(W1.get_value(), new)
    new[...] = 7  # set_value copied
    assert W1.get_value()[0, 0] == 0.25
    step(*batch)
    assert device.counts["upload"] == uploads + 1 + 2  # W1 is not copied again
    # a device array as the new value stays on the device (copied there unless borrowed)
    W1.set_value(internal)
    np.testing.assert_array_equal(W1.get_value(), value)
    with pytest.raises(TypeError, match="does not fit"):
        params[1].set_value(internal)


def test_shared_value_read_by_another_mode_comes_back_to_the_host():
    device = FakeDevice()
    w = th.shared(np.arange(3.0), name="w")
    x = T.dvector("x")
    on_device = th.function([x], w * x, updates=[(w, w * 2)], mode=_cuda(device))
    on_host = th.function([x], w * x, updates=[(w, w + 1)], mode="PY")
    ones = np.ones(3)
    np.testing.assert_array_equal(on_device(ones), [0, 1, 2])
    np.testing.assert_array_equal(on_host(ones), [0, 2, 4])  # sees the device's update
    np.testing.assert_array_equal(on_device(ones), [1, 3, 5])  # sees the host's update
    np.testing.assert_array_equal(w.get_value(), [2, 6, 10])


def test_return_device_keeps_a_loop_on_the_device():
    device = FakeDevice()
    x = T.fvector("x")
    step = T.tanh(x) * np.float32(0.5) + np.float32(1)
    f = th.function([x], step, mode=_cuda(device), return_device=True)
    g = th.function([x], step, mode="PY")
    want = np.linspace(-1, 1, 5, dtype="float32")
    value = f(want)
    want = g(want)
    assert isinstance(value, DeviceArray)
    before = dict(device.counts)
    for _ in range(5):
        value = f(value)
        want = g(want)
    assert device.counts["upload"] == before["upload"]
    assert device.counts["download"] == before["download"]
    np.testing.assert_allclose(value.get(), want, rtol=1e-6)
    with pytest.raises(TypeError, match="device array"):
        f(device.upload(np.zeros(5)))  # float64 where float32 is expected: never converted


def test_returned_device_arrays_never_alias_shared_storage():
    device = FakeDevice()
    w = th.shared(np.ones(3), name="w")
    x = T.dvector("x")
    f = th.function([x], [w, x], updates=[(w, w + x)], mode=_cuda(device),
                    return_device=True)
    old_w, same_x = f(device.upload(np.ones(3)))
    f(device.upload(np.ones(3)))
    np.testing.assert_array_equal(old_w.get(), [1, 1, 1])
    np.testing.assert_array_equal(w.get_value(), [3, 3, 3])
    assert same_x.get().tolist() == [1, 1, 1]


def test_return_device_needs_mode_cuda():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=r"return_device=True\) needs mode='CUDA'"):
        th.function([x], x * 2, mode="PY", return_device=True)


def test_intermediates_are_freed_as_the_program_goes():
    device = FakeDevice()
    x = T.dmatrix("x")
    y = x
    for _ in range(12):  # softmaxes do not fuse: one buffer each
        y = softmax(y * 1.5)
    f = th.function([x], y, mode=_cuda(device))
    a = np.random.default_rng(4).normal(size=(3, 5))
    f(a)
    device.peak = device.live
    np.testing.assert_allclose(f(a), th.function([x], y, mode="PY")(a), rtol=1e-12)
    assert device.peak - device.live <= 4  # input, the value read and the value written
    assert device.counts["kernel"] >= 24


def test_inplace_updates_write_into_device_storage():
    """W - lr * dot(x.T, g) becomes Gemm{inplace}: the update is written into W's own
    device buffer, with no new allocation for it."""
    device = FakeDevice()
    W = th.shared(np.eye(3), name="W")
    x, g = T.dmatrix("x"), T.dmatrix("g")
    f = th.function([x, g], [], updates=[(W, W - 0.1 * T.dot(x.T, g))], mode=_cuda(device))
    storage = W.device_value(device).gpudata
    a = np.arange(6.0).reshape(2, 3)
    f(a, a)
    assert W.device_value(device).gpudata == storage
    np.testing.assert_allclose(W.get_value(), np.eye(3) - 0.1 * a.T @ a)


def test_errors_name_the_node():
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], T.dot(T.sort(x), y), mode=_cuda())
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    assert any("while computing" in note for note in getattr(info.value, "__notes__", []))


def test_mode_cuda_links_the_program(monkeypatch):
    package = types.ModuleType("pycuda")
    package.__path__ = []
    driver = types.ModuleType("pycuda.driver")
    driver.init = lambda: None
    driver.Device = types.SimpleNamespace(count=lambda: 1)
    package.driver = driver
    monkeypatch.setitem(sys.modules, "pycuda", package)
    monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
    monkeypatch.setattr(build, "nvcc", lambda: ("/usr/bin/nvcc", "Cuda compilation tools"))
    assert availability.missing() is None
    mode = get_mode("CUDA")
    assert mode.linker == "cuda" and mode.device is None  # the GPU runtime, made at link


def _indexing_graphs():
    from symtheano.tensor.nnet import OneHot
    from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy

    x, v, i = T.dmatrix("x"), T.dvector("v"), T.lvector("i")
    return [x, v, i], {
        "logsumexp": ([LogSumExp((1,))(x), LogSumExp((0, 1))(x.T)], {"kernel": 2}),
        "softmax cross-entropy and its gradient": (
            [SoftmaxCrossentropy()(x, i), T.grad(T.sum(SoftmaxCrossentropy()(x, i)), x)],
            {"kernel": 4}),
        "one-hot": ([OneHot("float32")(i, 4), OneHot("int8")(i[::-1], 6)], {"kernel": 2}),
        "take": ([x[i], T.take(x.T, i, axis=1), x[i[::-1]][:, 1:]], {"kernel": 3}),
        "scatter": ([T.inc_subtensor(x[i], v), T.set_subtensor(x[:, i], T.shape_padright(v)),
                     T.inc_subtensor(x[i], 1.0)], {"kernel": 3}),
        "alloc": ([T.alloc(v, 3, v.shape[0]), T.alloc(x[0, 0], 2, 5)], {"assemble": 2}),
        "join": ([T.concatenate([x, 2 * x, x[:1]]), T.concatenate([x.T, v[None, :]], axis=0),
                  T.concatenate([x, T.cast(x, "float32")], axis=1)], {"assemble": 3}),
        "inc_subtensor": ([T.inc_subtensor(x[1:, ::2], v[::2]), T.set_subtensor(x[0], v),
                           T.inc_subtensor(x[2, 3], 5.0), T.set_subtensor(x[::-1, 1:][1], 0.0)],
                          {"assemble": 4}),
    }


@pytest.mark.parametrize("name", list(_indexing_graphs()[1]))
def test_indexing_and_log_sum_exp_nodes_run_on_the_device(name):
    """The nodes run as their kernels (on FakeDevice: their reference on the fake's
    memory) or assembled from copies and elementwise kernels, never on host copies."""
    device = FakeDevice()
    inputs, graphs = _indexing_graphs()
    outputs, kinds = graphs[name]
    py, cuda = _pair(inputs, outputs, device)
    rng = np.random.default_rng(3)
    for _ in range(2):
        args = [rng.normal(size=(4, 4)), rng.normal(size=4), rng.integers(0, 4, size=4)]
        if name in ("take", "scatter"):
            args[2] = np.array([3, -1, 0, 3, -4])  # repeated and negative indices
        _close(cuda(*args), py(*args), 1e-12)
    counts = cuda.program.kind_counts()
    assert "fallback" not in counts, counts
    for kind, n in kinds.items():
        assert counts.get(kind, 0) >= n, counts


def test_indices_out_of_range_raise_the_reference_error():
    from symtheano.tensor.nnet import OneHot
    from symtheano.tensor.stable import SoftmaxCrossentropy

    x, i = T.dmatrix("x"), T.lvector("i")
    cases = [(SoftmaxCrossentropy()(x, i), ValueError), (OneHot("float64")(i, 4), ValueError),
             (x[i], IndexError), (T.inc_subtensor(x[i], 1.0), IndexError),
             (T.alloc(x, 3, 4, 5), ValueError), (T.concatenate([x, x.T[:, :2]]), ValueError),
             (T.set_subtensor(x[1:], x[:2]), ValueError)]
    args = [np.zeros((4, 4)), np.array([0, 4])]
    for output, error in cases:
        py, cuda = _pair([x, i], [output])
        with pytest.raises(error) as want:
            py(*args)
        with pytest.raises(error) as got:
            cuda(*args)
        assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]
