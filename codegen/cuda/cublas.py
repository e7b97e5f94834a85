"""Products on the GPU through cuBLAS, called from our own code through cffi (ABI
mode: the library is opened with dlopen, no compiler involved): gemm, gemv and
strided batched gemm in float32 and float64 on device arrays (pycuda
GPUArrays, or anything with .gpudata, .shape, .strides and .dtype).

cuBLAS is column-major and our arrays are row-major: a row-major m x n matrix
with row stride ld is, to cuBLAS, the column-major n x m matrix of its
transpose with the same ld, so C = A @ B is computed as C^T = B^T @ A^T. An
operand laid out column-major (a transposed view) is passed with op T instead;
any other layout is copied first. The output must be row-major.

Strided batched gemm (`gemm_batched`) does the same per matrix of 3-D arrays,
with one batch stride per operand in elements: a stride of 0 repeats one matrix
(an operand broadcast over the batch), a negative one is copied first. It
computes MatMul on the device: codegen/cuda/batched.py maps N-d broadcasting
batches onto one call or a few.

Where libcublas is looked for: $SYMTHEANO_CUBLAS, the loader's search path
(libcublas.so.13 / .12 / .11), $CUDA_HOME/lib64 and /usr/local/cuda/lib64, and
the `nvidia-cublas` wheels' nvidia/cublas/lib. Not yet run on a GPU.
"""

from __future__ import annotations

import functools
import glob
import os

CDEF = """
typedef struct cublasContext *cublasHandle_t;
typedef int cublasStatus_t;
cublasStatus_t cublasCreate_v2(cublasHandle_t *handle);
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, void *stream);
cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, int mode);
cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n,
    int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
    const float *beta, float *C, int ldc);
cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n,
    int k, const double *alpha, const double *A, int lda, const double *B, int ldb,
    const double *beta, double *C, int ldc);
cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, int trans, int m, int n,
    const float *alpha, const float *A, int lda, const float *x, int incx,
    const float *beta, float *y, int incy);
cublasStatus_t cublasDgemv_v2(cublasHandle_t handle, int trans, int m, int n,
    const double *alpha, const double *A, int lda, const double *x, int incx,
    const double *beta, double *y, int incy);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, int transa, int transb,
    int m, int n, int k, const float *alpha, const float *A, int lda, long long strideA,
    const float *B, int ldb, long long strideB, const float *beta, float *C, int ldc,
    long long strideC, int batchCount);
cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t handle, int transa, int transb,
    int m, int n, int k, const double *alpha, const double *A, int lda, long long strideA,
    const double *B, int ldb, long long strideB, const double *beta, double *C, int ldc,
    long long strideC, int batchCount);
"""
OP_N, OP_T = 0, 1
POINTER_MODE_HOST, POINTER_MODE_DEVICE = 0, 1
_PREFIX = {"float32": ("S", "float"), "float64": ("D", "double")}
INT_MAX = 2**31 - 1


class CublasError(RuntimeError):
    """cuBLAS could not be loaded, or a call returned an error status."""


def library_candidates():
    """Paths and sonames of libcublas to try, in order."""
    found = []
    if os.environ.get("SYMTHEANO_CUBLAS"):
        found.append(os.environ["SYMTHEANO_CUBLAS"])
    found += ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"]
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    for root in filter(None, roots):
        found += sorted(glob.glob(os.path.join(root, "lib64", "libcublas.so*")), reverse=True)
    try:
        import importlib.util

        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        spec = None
    for base in (spec.submodule_search_locations or []) if spec else []:
        found += sorted(glob.glob(os.path.join(base, "cublas", "lib", "libcublas.so*")),
                        reverse=True)
    return found


@functools.cache
def _library():
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(CDEF)
    errors = []
    for candidate in library_candidates():
        try:
            return ffi, ffi.dlopen(candidate)
        except OSError as exc:
            errors.append(f"{candidate}: {exc}")
    raise CublasError("libcublas was not found; tried " + "; ".join(errors[:6]))


def _check(status, what):
    if status != 0:
        raise CublasError(f"{what} failed with cuBLAS status {status}")


def matrix_layout(a):
    """(op applied to the column-major buffer to get a^T, leading dimension) for a 2-D
    row-major-or-column-major array, or None when it must be copied (a negative or
    zero stride along a dimension longer than 1 among them)."""
    rows, cols = a.shape
    e = a.dtype.itemsize
    s0, s1 = a.strides
    if (s1 == e or cols == 1) and s0 % e == 0 and s0 // e >= max(1, cols):
        return OP_N, s0 // e
    if (s0 == e or rows == 1) and s1 % e == 0 and s1 // e >= max(1, rows):
        return OP_T, s1 // e
    if rows * cols <= 1:  # one element, or none: its strides are never used
        return OP_N, max(1, cols)
    return None


class Cublas:
    """A cuBLAS handle on the current CUDA context; `copy(a)` must return a
    row-major copy of device array a (the caller's allocator)."""

    def __init__(self, copy):
        self.ffi, self.lib = _library()
        handle = self.ffi.new("cublasHandle_t *")
        _check(self.lib.cublasCreate_v2(handle), "cublasCreate")
        self.handle = handle[0]
        self.copy = copy
        self.pointer_mode = POINTER_MODE_HOST

    def close(self):
        if self.handle is not None:
            self.lib.cublasDestroy_v2(self.handle)
            self.handle = None

    def _ptr(self, array, ctype):
        return self.ffi.cast(f"{ctype} *", int(array.gpudata))

    def _scalars(self, alpha, beta, ctype):
        """alpha and beta as cuBLAS reads them: numbers from host memory, or 0-d device
        arrays (both, then) read by the device when the product runs, so a scale
        computed on the device never travels to the host."""
        on_device = [hasattr(v, "gpudata") for v in (alpha, beta)]
        if any(on_device) and not all(on_device):
            raise TypeError("cuBLAS: alpha and beta must both be numbers or both device arrays")
        mode = POINTER_MODE_DEVICE if all(on_device) else POINTER_MODE_HOST
        if mode != self.pointer_mode:
            _check(self.lib.cublasSetPointerMode_v2(self.handle, mode), "cublasSetPointerMode")
            self.pointer_mode = mode
        if mode == POINTER_MODE_DEVICE:
            return self._ptr(alpha, ctype), self._ptr(beta, ctype)
        return self.ffi.new(f"{ctype} *", alpha), self.ffi.new(f"{ctype} *", beta)

    def _operand(self, a):
        found = matrix_layout(a)
        if found is None:
            a = self.copy(a)
            found = matrix_layout(a)
        return a, found

    def gemm(self, a, b, c, alpha=1.0, beta=0.0):
        """c = alpha * a @ b + beta * c for 2-D device arrays; c row-major."""
        (m, k), (k2, n) = a.shape, b.shape
        if k != k2 or c.shape != (m, n):
            raise ValueError(f"gemm: shapes {a.shape} @ {b.shape} -> {c.shape} do not fit")
        dtype = str(c.dtype)
        if dtype not in _PREFIX or a.dtype != c.dtype or b.dtype != c.dtype:
            raise TypeError(f"gemm: float32 or float64 operands of one dtype, got "
                            f"{a.dtype}, {b.dtype}, {c.dtype}")
        if max(m, n, k) > INT_MAX:
            raise ValueError("gemm: a dimension exceeds cuBLAS's 32-bit sizes")
        out = matrix_layout(c)
        if out is None or out[0] != OP_N:
            raise ValueError("gemm: the output must be row-major")
        a, (op_a, lda) = self._operand(a)
        b, (op_b, ldb) = self._operand(b)
        prefix, ctype = _PREFIX[dtype]
        call = getattr(self.lib, f"cublas{prefix}gemm_v2")
        alpha, beta = self._scalars(alpha, beta, ctype)
        # row-major C = A B is column-major C^T = B^T A^T
        _check(call(self.handle, op_b, op_a, n, m, k, alpha, self._ptr(b, ctype), ldb,
                    self._ptr(a, ctype), lda, beta, self._ptr(c, ctype), out[1]), "gemm")
        return c

    def gemv(self, a, x, y, alpha=1.0, beta=0.0):
        """y = alpha * a @ x + beta * y for a 2-D a and 1-D x, y."""
        m, n = a.shape
        if x.shape != (n,) or y.shape != (m,):
            raise ValueError(f"gemv: shapes {a.shape} @ {x.shape} -> {y.shape} do not fit")
        dtype = str(y.dtype)
        if dtype not in _PREFIX or a.dtype != y.dtype or x.dtype != y.dtype:
            raise TypeError(f"gemv: float32 or float64 operands of one dtype, got "
                            f"{a.dtype}, {x.dtype}, {y.dtype}")
        e = y.dtype.itemsize
        if x.strides[0] <= 0 or x.strides[0] % e:
            x = self.copy(x)
        if y.strides[0] <= 0 or y.strides[0] % e:
            raise ValueError("gemv: the output must have a positive element stride")
        a, (op, lda) = self._operand(a)
        prefix, ctype = _PREFIX[dtype]
        call = getattr(self.lib, f"cublas{prefix}gemv_v2")
        # the buffer is a^T (n x m) for a row-major a: y = (a^T)^T x; for a column-major a
        # it is a itself (m x n)
        rows, cols = (n, m) if op == OP_N else (m, n)
        trans = OP_T if op == OP_N else OP_N
        alpha, beta = self._scalars(alpha, beta, ctype)
        _check(call(self.handle, trans, rows, cols, alpha, self._ptr(a, ctype), lda,
                    self._ptr(x, ctype), x.strides[0] // e, beta, self._ptr(y, ctype),
                    y.strides[0] // e), "gemv")
        return y

    def gemm_batched(self, a, b, c, alpha=1.0, beta=0.0):
        """c[i] = alpha * a[i] @ b[i] + beta * c[i] for 3-D device arrays, one strided
        batched gemm. The matrices of a and b may be row-major or column-major
        (transposed views), others are copied, as is an operand with a negative batch
        stride; a batch stride of 0 repeats one matrix. c's matrices must be
        row-major and its batch stride positive (or anything for a batch of one)."""
        (batch, m, k), (batch_b, k2, n) = a.shape, b.shape
        if k != k2 or batch_b != batch or c.shape != (batch, m, n):
            raise ValueError(f"gemm_batched: shapes {a.shape} @ {b.shape} -> {c.shape}")
        dtype = str(c.dtype)
        if dtype not in _PREFIX or a.dtype != c.dtype or b.dtype != c.dtype:
            raise TypeError("gemm_batched: float32 or float64 operands of one dtype")
        if max(batch, m, n, k) > INT_MAX:
            raise ValueError("gemm_batched: a dimension exceeds cuBLAS's 32-bit sizes")
        if batch == 0 or m == 0 or n == 0:
            return c
        e = c.dtype.itemsize
        out = matrix_layout(_Inner(c))
        sc = c.strides[0] // e if batch > 1 else 0
        if out is None or out[0] != OP_N or c.strides[0] % e or (batch > 1 and sc <= 0):
            raise ValueError("gemm_batched: the output's matrices must be row-major")
        a, (op_a, lda), sa = self._batch_operand(a)
        b, (op_b, ldb), sb = self._batch_operand(b)
        prefix, ctype = _PREFIX[dtype]
        call = getattr(self.lib, f"cublas{prefix}gemmStridedBatched")
        alpha, beta = self._scalars(alpha, beta, ctype)
        # per matrix, row-major C = A B is column-major C^T = B^T A^T
        _check(call(self.handle, op_b, op_a, n, m, k, alpha, self._ptr(b, ctype), ldb, sb,
                    self._ptr(a, ctype), lda, sa, beta, self._ptr(c, ctype), out[1], sc,
                    batch), "gemm_batched")
        return c

    def _batch_operand(self, x):
        """(x or its row-major copy, (op, leading dimension) of its matrices, batch
        stride in elements)."""
        e = x.dtype.itemsize
        found = matrix_layout(_Inner(x))
        if found is None or x.strides[0] < 0 or x.strides[0] % e:
            x = self.copy(x)
            found = matrix_layout(_Inner(x))
        return x, found, (x.strides[0] // e if x.shape[0] > 1 else 0)


class _Inner:
    """The layout of the matrices of a 3-D array (for matrix_layout)."""

    def __init__(self, array):
        self.shape, self.strides, self.dtype = array.shape[1:], array.strides[1:], array.dtype

