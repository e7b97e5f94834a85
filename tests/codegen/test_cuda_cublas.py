"""The cuBLAS calls' arguments (codegen/cuda/cublas.py), checked without a GPU: a
stand-in libcublas implements the column-major BLAS semantics of gemm, gemv and
strided batched gemm over host memory, so row-major, transposed, sliced and
broadcast NumPy operands must come out as NumPy's products."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from cffi import FFI
from symtheano.codegen.cuda import cublas

_ffi = FFI()
_ffi.cdef(cublas.CDEF)  # also checks that the declarations parse


class _HostArray:
    """A NumPy array seen as a device array (gpudata: its address)."""

    def __init__(self, array):
        self.array = array
        self.gpudata = array.ctypes.data
        self.shape, self.strides, self.dtype = array.shape, array.strides, array.dtype


def _address(pointer):
    return int(_ffi.cast("uintptr_t", pointer))


def _col_major(pointer, rows, cols, ld, dtype, offset=0):
    """The column-major rows x cols matrix with leading dimension ld at `pointer`."""
    e = np.dtype(dtype).itemsize
    nbytes = ((cols - 1) * ld + rows) * e if rows and cols else 0
    buffer = (ctypes.c_char * nbytes).from_address(_address(pointer) + offset * e)
    flat = np.frombuffer(buffer, dtype=dtype)
    return np.lib.stride_tricks.as_strided(flat, (rows, cols), (e, ld * e))


def _op(pointer, trans, rows, cols, ld, dtype, offset=0):
    """op(X) of shape rows x cols, X stored column-major."""
    if trans == cublas.OP_N:
        return _col_major(pointer, rows, cols, ld, dtype, offset)
    return _col_major(pointer, cols, rows, ld, dtype, offset).T


class _FakeLib:
    """libcublas's semantics in NumPy (status 0 on success)."""

    def cublasCreate_v2(self, handle):
        return 0

    def cublasDestroy_v2(self, handle):
        return 0

    def _gemm(self, dtype, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, sa=0, sb=0,
              sc=0, batch=1):
        for i in range(batch):
            op_a = _op(a, ta, m, k, lda, dtype, i * sa)
            op_b = _op(b, tb, k, n, ldb, dtype, i * sb)
            out = _col_major(c, m, n, ldc, dtype, i * sc)
            out[...] = alpha[0] * (op_a @ op_b) + beta[0] * out
        return 0

    def cublasDgemm_v2(self, h, *args):
        return self._gemm("float64", *args)

    def cublasSgemm_v2(self, h, *args):
        return self._gemm("float32", *args)

    def _batched(self, dtype, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc,
                 batch):
        return self._gemm(dtype, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, sa, sb,
                          sc, batch)

    def cublasDgemmStridedBatched(self, h, *args):
        return self._batched("float64", *args)

    def cublasSgemmStridedBatched(self, h, *args):
        return self._batched("float32", *args)

    def _gemv(self, dtype, trans, m, n, alpha, a, lda, x, incx, beta, y, incy):
        matrix = _col_major(a, m, n, lda, dtype)
        op = matrix if trans == cublas.OP_N else matrix.T
        xs = _col_major(x, 1, op.shape[1], incx, dtype)[0]
        ys = _col_major(y, 1, op.shape[0], incy, dtype)[0]
        ys[...] = alpha[0] * (op @ xs) + beta[0] * ys
        return 0

    def cublasDgemv_v2(self, h, *args):
        return self._gemv("float64", *args)

    def cublasSgemv_v2(self, h, *args):
        return self._gemv("float32", *args)

    def cublasSetPointerMode_v2(self, h, mode):
        # alpha and beta are read through their pointers either way: host memory here
        self.pointer_mode = mode
        return 0


@pytest.fixture
def blas(monkeypatch):
    monkeypatch.setattr(cublas, "_library", lambda: (_ffi, _FakeLib()))
    copies = []

    def copy(a):
        copies.append(a.shape)
        return _HostArray(np.ascontiguousarray(a.array))

    handle = cublas.Cublas(copy)
    handle.copies = copies
    return handle


def _layouts(rng, rows, cols, dtype):
    base = rng.normal(size=(rows, cols)).astype(dtype)
    wide = rng.normal(size=(rows, 2 * cols + 1)).astype(dtype)
    return {"row-major": base, "transposed": np.asfortranarray(base),
            "row-sliced": wide[:, 1:cols + 1], "every-other": wide[:, : 2 * cols : 2]}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemm_layouts(blas, dtype):
    rng = np.random.default_rng(0)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for name_a, a in _layouts(rng, 5, 3, dtype).items():
        for name_b, b in _layouts(rng, 3, 4, dtype).items():
            c0 = rng.normal(size=(5, 4)).astype(dtype)
            c = c0.copy()
            blas.gemm(_HostArray(a), _HostArray(b), _HostArray(c), alpha=2.0, beta=0.5)
            np.testing.assert_allclose(c, 2.0 * a @ b + 0.5 * c0, rtol=tol, atol=tol,
                                       err_msg=f"{name_a} @ {name_b}")
    assert blas.copies  # only the every-other layouts are copied
    assert all(shape in ((5, 3), (3, 4)) for shape in blas.copies)


def test_gemm_into_a_strided_output_row(blas):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))
    big = np.zeros((3, 7))
    out = big[:, 2:6]
    blas.gemm(_HostArray(a), _HostArray(b), _HostArray(out))
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    assert not big[:, :2].any() and not big[:, 6:].any()
    with pytest.raises(ValueError, match="row-major"):
        blas.gemm(_HostArray(a), _HostArray(b), _HostArray(np.zeros((4, 3)).T))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemv_layouts(blas, dtype):
    rng = np.random.default_rng(2)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for name, a in _layouts(rng, 6, 4, dtype).items():
        xs = rng.normal(size=8).astype(dtype)
        for x in (xs[:4], xs[::2]):
            y0 = rng.normal(size=6).astype(dtype)
            y = y0.copy()
            blas.gemv(_HostArray(a), _HostArray(x), _HostArray(y), alpha=-1.5, beta=2.0)
            np.testing.assert_allclose(y, -1.5 * a @ x + 2.0 * y0, rtol=tol, atol=tol,
                                       err_msg=name)


def test_gemm_batched(blas):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 3, 5))
    b = rng.normal(size=(4, 5, 2))
    c = np.zeros((4, 3, 2))
    blas.gemm_batched(_HostArray(a), _HostArray(b), _HostArray(c))
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)
    shared = np.broadcast_to(rng.normal(size=(1, 5, 2)), (4, 5, 2))  # batch stride 0
    blas.gemm_batched(_HostArray(a), _HostArray(shared), _HostArray(c))
    np.testing.assert_allclose(c, a @ shared, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemm_batched_layouts(blas, dtype):
    """Row-major and transposed matrices are read as they lie (op N / op T), other
    layouts and negative batch strides copied; a batch stride of 0 repeats one."""
    rng = np.random.default_rng(5)
    tol = 1e-12 if dtype == "float64" else 1e-5

    def stacks(rows, cols):
        base = rng.normal(size=(3, rows, cols)).astype(dtype)
        wide = rng.normal(size=(3, rows, 2 * cols + 1)).astype(dtype)
        one = rng.normal(size=(1, rows, cols)).astype(dtype)
        return {"row-major": base, "transposed": np.swapaxes(np.swapaxes(base, 1, 2).copy(),
                                                             1, 2),
                "row-sliced": wide[:, :, 1:cols + 1], "every-other": wide[:, :, : 2 * cols : 2],
                "reversed batch": base[::-1], "broadcast": np.broadcast_to(one, base.shape)}

    for name_a, a in stacks(4, 3).items():
        for name_b, b in stacks(3, 2).items():
            blas.copies.clear()
            c0 = rng.normal(size=(3, 4, 2)).astype(dtype)
            c = c0.copy()
            blas.gemm_batched(_HostArray(a), _HostArray(b), _HostArray(c), alpha=2.0, beta=-1.0)
            np.testing.assert_allclose(c, 2.0 * (a @ b) - c0, rtol=tol, atol=tol,
                                       err_msg=f"{name_a} @ {name_b}")
            copied = [n for n in (name_a, name_b) if n in ("every-other", "reversed batch")]
            assert len(blas.copies) == len(copied), (name_a, name_b, blas.copies)


def test_gemm_batched_empty_and_bad_output(blas):
    a, b = np.ones((0, 2, 3)), np.ones((0, 3, 4))
    c = np.ones((0, 2, 4))
    assert blas.gemm_batched(_HostArray(a), _HostArray(b), _HostArray(c)).shape == (0, 2, 4)
    a, b = np.ones((2, 2, 3)), np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="row-major"):
        blas.gemm_batched(_HostArray(a), _HostArray(b),
                          _HostArray(np.swapaxes(np.zeros((2, 4, 2)), 1, 2)))
    with pytest.raises(ValueError, match="shapes"):
        blas.gemm_batched(_HostArray(a), _HostArray(b), _HostArray(np.zeros((3, 2, 4))))


def test_single_rows_and_columns_with_reversed_strides_are_copied(blas):
    """A 1 x k (or k x 1) matrix whose stride runs backwards is no contiguous vector."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=5), rng.normal(size=5)
    row, column = x[::-1][None, :], y[::-1][:, None]
    assert cublas.matrix_layout(_HostArray(row)) is None
    assert cublas.matrix_layout(_HostArray(column)) is None
    c = np.zeros((1, 1))
    blas.gemm(_HostArray(row), _HostArray(column), _HostArray(c))
    np.testing.assert_allclose(c[0, 0], x[::-1] @ y[::-1], rtol=1e-12)


def test_scalars_in_device_memory(blas):
    """alpha and beta as 0-d device arrays switch cuBLAS to device pointer mode (and
    numbers back to host mode); mixing the two is refused."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))
    c0 = rng.normal(size=(3, 4))
    c = c0.copy()
    alpha, beta = _HostArray(np.array(2.0)), _HostArray(np.array(-1.0))
    blas.gemm(_HostArray(a), _HostArray(b), _HostArray(c), alpha, beta)
    np.testing.assert_allclose(c, 2.0 * a @ b - c0, rtol=1e-12)
    assert blas.pointer_mode == cublas.POINTER_MODE_DEVICE
    blas.gemm(_HostArray(a), _HostArray(b), _HostArray(c), 1.0, 0.0)
    assert blas.pointer_mode == cublas.POINTER_MODE_HOST
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)
    with pytest.raises(TypeError, match="both"):
        blas.gemm(_HostArray(a), _HostArray(b), _HostArray(c), alpha, 0.0)


def test_shape_and_dtype_errors(blas):
    a = _HostArray(np.ones((2, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        blas.gemm(a, a, _HostArray(np.ones((2, 3))))
    with pytest.raises(TypeError, match="float32 or float64"):
        blas.gemm(_HostArray(np.ones((2, 3), np.int64)), _HostArray(np.ones((3, 2), np.int64)),
                  _HostArray(np.ones((2, 2), np.int64)))


def test_library_search_names_the_candidates(monkeypatch):
    monkeypatch.setattr(cublas, "library_candidates", lambda: ["/nonexistent/libcublas.so"])
    cublas._library.cache_clear()
    try:
        with pytest.raises(cublas.CublasError, match="libcublas was not found"):
            cublas._library()
    finally:
        cublas._library.cache_clear()
