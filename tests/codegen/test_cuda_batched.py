"""Batched products in mode="CUDA" without a GPU: MatMul (T.matmul of stacks,
batched_dot, their gradients) runs as cuBLAS strided batched gemm
(codegen/cuda/batched.py) on FakeDevice, both through its NumPy gemm_batched
and through the real cuBLAS argument mapping (cublas.Cublas) against the
stand-in libcublas of test_cuda_cublas.py. Results are compared with
np.matmul over shapes, dtypes, broadcast batch dimensions, promoted vectors,
transposed, sliced and reversed inputs and empty sizes; the number of cuBLAS
calls and the absence of host fallbacks are checked too."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.cuda import batched, cublas
from symtheano.codegen.cuda.device import FakeDevice

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.blas import _matmul
from tests.codegen.test_cuda_cublas import _FakeLib, _ffi

N = None


def _device(blas, monkeypatch):
    device = FakeDevice()
    if blas != "numpy":
        monkeypatch.setattr(cublas, "_library", lambda: (_ffi, _FakeLib()))
        device.blas = cublas.Cublas(device.copy)
    return device


def _function(inputs, outputs, device):
    return th.function(inputs, outputs, mode=Mode("cuda", "fast_run", device=device))


def _t(x):
    return np.swapaxes(x, -1, -2)


# name: (static shape of a, of b, shape of a, of b, symbolic product, NumPy product,
# cuBLAS calls per function call)
CASES = {
    "stack @ stack": ((N, N, N), (N, N, N), (4, 3, 5), (4, 5, 2),
                      T.matmul, np.matmul, 1),
    "4-d": ((N, N, N, N), (N, N, N, N), (2, 3, 4, 5), (2, 3, 5, 2), T.matmul, np.matmul, 1),
    "broadcast both": ((N, 1, N, N), (1, N, N, N), (2, 1, 3, 5), (1, 3, 5, 2),
                       T.matmul, np.matmul, 2),
    "broadcast both, many": ((N, 1, N, N), (1, N, N, N), (17, 1, 2, 3), (1, 17, 3, 2),
                             T.matmul, np.matmul, 1),
    "stack @ matrix": ((N, N, N), (N, N), (4, 3, 5), (5, 2), T.matmul, np.matmul, 1),
    "matrix @ 4-d": ((N, N), (N, N, N, N), (3, 5), (2, 4, 5, 2), T.matmul, np.matmul, 1),
    "broadcast size 1": ((1, N, N), (N, N, N), (1, 3, 5), (4, 5, 2), T.matmul, np.matmul, 1),
    "vector @ stack": ((N,), (N, N, N), (5,), (4, 5, 2), T.matmul, np.matmul, 1),
    "stack @ vector": ((N, N, N), (N,), (4, 3, 5), (5,), T.matmul, np.matmul, 1),
    "transposed a": ((N, N, N), (N, N, N), (4, 5, 3), (4, 5, 2),
                     lambda a, b: T.matmul(a.dimshuffle(0, 2, 1), b),
                     lambda a, b: _t(a) @ b, 1),
    "transposed b": ((N, N, N), (N, N, N), (4, 3, 5), (4, 2, 5),
                     lambda a, b: T.matmul(a, b.dimshuffle(0, 2, 1)),
                     lambda a, b: a @ _t(b), 1),
    "batch moved": ((N, N, N), (N, N, N), (3, 4, 5), (5, 4, 2),
                    lambda a, b: T.matmul(a.dimshuffle(1, 0, 2), b.dimshuffle(1, 0, 2)),
                    lambda a, b: a.transpose(1, 0, 2) @ b.transpose(1, 0, 2), 1),
    "sliced and reversed": ((N, N, N), (N, N, N), (4, 3, 10), (4, 5, 2),
                            lambda a, b: T.matmul(a[:, ::-1, ::2], b[::-1]),
                            lambda a, b: a[:, ::-1, ::2] @ b[::-1], 1),
    "sliced batch": ((N, N, N, N), (N, N, N, N), (2, 6, 3, 5), (2, 3, 5, 2),
                     lambda a, b: T.matmul(a[:, 1:4], b), lambda a, b: a[:, 1:4] @ b, 2),
    "2-d MatMul": ((N, N), (N, N), (3, 5), (5, 2), _matmul, np.matmul, 1),
    "batched_dot": ((N, N, N), (N, N, N), (4, 3, 5), (4, 5, 2),
                    T.batched_dot, np.matmul, 1),
    "batched_dot matrix-vector": ((N, N, N), (N, N), (4, 3, 5), (4, 5), T.batched_dot,
                                  lambda a, b: np.matmul(a, b[:, :, None])[:, :, 0], 1),
    "empty batch": ((N, N, N), (N, N, N), (0, 3, 5), (0, 5, 2), T.matmul, np.matmul, 0),
    "empty rows": ((N, N, N), (N, N, N), (4, 0, 5), (4, 5, 2), T.matmul, np.matmul, 0),
    "empty columns": ((N, N, N), (N, N, N), (4, 3, 5), (4, 5, 0), T.matmul, np.matmul, 0),
    "empty inner": ((N, N, N), (N, N, N), (4, 3, 0), (4, 0, 2), T.matmul, np.matmul, 0),
}


@pytest.mark.parametrize("blas", ["numpy", "cublas stand-in"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_batched_products_equal_np_matmul(name, dtype, blas, monkeypatch):
    static_a, static_b, shape_a, shape_b, product, reference, calls = CASES[name]
    device = _device(blas, monkeypatch)
    a, b = T.tensor(dtype, shape=static_a, name="a"), T.tensor(dtype, shape=static_b, name="b")
    f = _function([a, b], product(a, b), device)
    kinds = f.program.kind_counts()
    assert "fallback" not in kinds and kinds.get("blas", 0) == 1, kinds
    rng = np.random.default_rng(0)
    tol = 1e-12 if dtype == "float64" else 2e-5
    for _ in range(2):
        x = rng.normal(size=shape_a).astype(dtype)
        y = rng.normal(size=shape_b).astype(dtype)
        before = device.counts["gemm_batched"]
        got = f(x, y)
        assert device.counts["gemm_batched"] - before == calls
        want = reference(x, y)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("blas", ["numpy", "cublas stand-in"])
def test_mixed_float_dtypes_are_cast_on_the_device(blas, monkeypatch):
    device = _device(blas, monkeypatch)
    a, b = T.ftensor3("a"), T.dtensor3("b")
    f = _function([a, b], T.matmul(a, b), device)
    assert "fallback" not in f.program.kind_counts()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 2, 4)).astype("float32"), rng.normal(size=(3, 4, 5))
    got = f(x, y)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.matmul(x, y), rtol=1e-12)


def test_integer_products_stay_on_the_host():
    device = FakeDevice()
    a, b = T.ltensor3("a"), T.ltensor3("b")
    f = _function([a, b], T.matmul(a, b), device)
    assert f.program.kind_counts().get("fallback") == 1
    x, y = np.arange(24).reshape(2, 3, 4), np.arange(40).reshape(2, 4, 5)
    np.testing.assert_array_equal(f(x, y), np.matmul(x, y))
    assert device.counts["gemm_batched"] == 0


def test_shapes_that_do_not_fit_raise_the_reference_error():
    a, b = T.dtensor3("a"), T.dtensor3("b")
    f = _function([a, b], T.matmul(a, b), FakeDevice())
    with pytest.raises(ValueError, match="inner dimensions do not match"):
        f(np.ones((2, 3, 4)), np.ones((2, 5, 2)))
    with pytest.raises(ValueError, match="batch dimension 0"):
        f(np.ones((2, 3, 4)), np.ones((3, 4, 2)))
    with pytest.raises(ValueError, match="broadcasts only when its static size is 1"):
        f(np.ones((1, 3, 4)), np.ones((3, 4, 2)))


@pytest.mark.parametrize("blas", ["numpy", "cublas stand-in"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradients_of_batched_products_run_on_the_device(dtype, blas, monkeypatch):
    device = _device(blas, monkeypatch)
    a = T.tensor(dtype, shape=(N, N, N), name="a")
    b = T.tensor(dtype, shape=(1, N, N), name="b")  # broadcast over the batch
    c = T.tensor(dtype, shape=(N, N, N), name="c")
    v = T.tensor(dtype, shape=(N,), name="v")
    w = T.tensor(dtype, shape=(N, N, N), name="w")
    cost = ((T.matmul(a, b) * w).sum() + (T.batched_dot(a, c) ** 2).sum()
            + T.tanh(T.matmul(a, v)).sum())
    grads = th.grad(cost, [a, b, c, v])
    inputs = [a, b, c, v, w]
    f = _function(inputs, [cost, *grads], device)
    py = th.function(inputs, [cost, *grads], mode="PY")
    kinds = f.program.kind_counts()
    assert "fallback" not in kinds, kinds
    n_matmul = sum(isinstance(n.op, type(_matmul)) for n in f.program.nodes)
    assert n_matmul >= 6
    assert all(k == "blas" for n, k in zip(f.program.nodes, f.program.kinds)
               if isinstance(n.op, type(_matmul)))
    rng = np.random.default_rng(2)
    args = [rng.normal(size=s).astype(dtype)
            for s in [(4, 3, 5), (1, 5, 2), (4, 5, 2), (5,), (4, 3, 2)]]
    tol = 1e-10 if dtype == "float64" else 2e-4
    for got, want in zip(f(*args), py(*args)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert device.counts["gemm_batched"] >= n_matmul


def test_covers_float_products_only():
    f64, f32, i64 = T.dtensor3(), T.ftensor3(), T.ltensor3()
    assert batched.covers(T.matmul(f64, f64).owner)
    assert batched.covers(T.matmul(f32, f64).owner)
    assert not batched.covers(T.matmul(i64, i64).owner)
    assert not batched.covers(T.matmul(i64, f64).owner)
    assert not batched.covers(T.dot(T.dmatrix(), T.dmatrix()).owner)
