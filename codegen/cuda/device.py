"""The device interface the function-level CUDA program (program.py) runs on, the
arrays that live there, and `FakeDevice`, which implements the interface over
host memory so that everything above the kernels is tested without a GPU.

A device offers these (driver.Runtime implements them with pycuda and
cuBLAS, FakeDevice with NumPy):

- `empty(shape, dtype)`: a new row-major DeviceArray;
- `upload(host)` / `download(array)`: copies between host and device, the only
  two places data crosses the bus (both counted in `counts`);
- `copy(array)`: a row-major copy made on the device;
- `kernel(node, inputs, out=None)`: the node's generated kernel (kernels.py) on
  device inputs (host values for the inputs its Kernel lists as `host_inputs`),
  into `out` when given (its shape is then the iteration shape); None when there
  is no kernel for the node or this call's layout, or when the kernel found an
  index out of range (the reference then raises its error);
- `gemm(a, b, c, alpha, beta)`, `gemv(a, x, y, alpha, beta)`: cuBLAS products,
  c = alpha a b + beta c in place (cublas.py); alpha and beta are numbers or
  0-d DeviceArrays;
- `gemm_batched(a, b, c, alpha, beta)`: cuBLAS strided batched gemm of 3-D
  arrays, c[i] = alpha a[i] b[i] + beta c[i] (a batch stride of 0 repeats a
  matrix); MatMul's plan (batched.py) makes these calls;
- `synchronize()`: wait for queued work (timings only);
- `event()` / `elapsed(start, end)`: a marker recorded now in the device's
  queue, and the seconds between two markers once both were reached (after
  `synchronize()`); only profiled calls record them (codegen/cuda/profile.py):
  CUDA events on a GPU, the host clock on FakeDevice.

Views need no device call: a DeviceArray is an owner (what keeps the memory
alive: a pycuda allocation, or a NumPy buffer for the fake), the address of its
first element (`gpudata`, as pycuda names it), shape, byte strides and dtype, so
a transposed, sliced or reshaped array is a new DeviceArray on the same owner.
Memory is freed when the last array on an owner goes (pycuda frees an
allocation when it is collected), so dropping a value frees its buffer.
"""

from __future__ import annotations

import time
import weakref

import numpy as np


def c_strides(shape, itemsize):
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class DeviceArray:
    """An array in a device's memory (see the module docstring); `get()` copies it
    to the host."""

    __slots__ = ("device", "owner", "gpudata", "shape", "strides", "dtype", "__weakref__")

    def __init__(self, device, owner, gpudata, shape, strides, dtype):
        self.device, self.owner, self.gpudata = device, owner, int(gpudata)
        self.shape, self.strides = tuple(int(n) for n in shape), tuple(int(s) for s in strides)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.itemsize

    def is_c_contiguous(self):
        return all(s == c or n == 1 for n, s, c in
                   zip(self.shape, self.strides, c_strides(self.shape, self.itemsize)))

    def view(self, shape, strides, offset=0):
        """The array `shape`/`strides` starting `offset` bytes after this one's start."""
        return DeviceArray(self.device, self.owner, self.gpudata + offset, shape, strides,
                           self.dtype)

    def get(self):
        """A host copy (an ndarray)."""
        return self.device.download(self)

    def __repr__(self):
        return f"<DeviceArray {self.dtype}{list(self.shape)} on {self.device}>"


def ghost(array):
    """A NumPy array with `array`'s shape and strides over a one-element buffer:
    indexing it with basic indices (which never reads data) gives the shape,
    strides and start offset of the device view (see `unghost`)."""
    base = np.zeros(1, dtype=array.dtype)
    return np.lib.stride_tricks.as_strided(base, array.shape, array.strides, writeable=False)


def unghost(array, result, ghost_array):
    """The DeviceArray view of `array` that `result` (a view of `ghost_array`) describes,
    or None when `result` is not such a view."""
    if not isinstance(result, np.ndarray):
        return None
    base = result
    while isinstance(base, np.ndarray) and base is not ghost_array:
        base = base.base
    if base is not ghost_array:
        return None
    offset = result.__array_interface__["data"][0] - ghost_array.__array_interface__["data"][0]
    return array.view(result.shape, result.strides, offset)


class FakeDevice:
    """The device interface over host memory, for tests: each allocation is a NumPy
    byte buffer, a kernel is the node's reference `perform` run on views of those
    buffers (only for nodes that have a CUDA kernel, so the program's host
    fallback is exercised as on a GPU), but advanced indexing, whose host side
    plans several launches, runs that host code over NumPy emulations of its
    kernels (advindex_emulate.py), and PaddedSum runs its packed launch through
    an emulation of its kernel (padded_sum.emulate); gemm, gemv and
    gemm_batched are NumPy products; `event()` reads the host clock. `counts`
    says how often data crossed the (pretend) bus: "upload" and "download";
    `live` is how many allocations are alive and `peak` the most there were at once
    (freeing is checked through them).

    Because a FakeDevice's `gpudata` are real host addresses, the real cuBLAS
    mapping (cublas.Cublas) runs over its arrays against a stand-in libcublas
    (`blas=`, tests/codegen/test_cuda_program.py)."""

    def __init__(self, blas=None):
        self.counts = {"upload": 0, "download": 0, "kernel": 0, "gemm": 0, "gemv": 0,
                       "gemm_batched": 0}
        self.live = self.peak = 0
        self.blas = blas

    def __str__(self):
        return "FakeDevice"

    def synchronize(self):
        """Nothing is queued on a FakeDevice."""

    def event(self):
        """A marker: the host clock now (nothing is queued, so work is done when
        the call that queued it returns)."""
        return time.perf_counter()

    def elapsed(self, start, end):
        return end - start

    def _released(self):
        self.live -= 1

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        nbytes = max(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, 1)
        buffer = np.empty(nbytes + 64, np.uint8)
        start = -buffer.ctypes.data % 64  # aligned like cudaMalloc (the vector path)
        buffer = buffer[start:start + nbytes]
        self.live += 1
        self.peak = max(self.peak, self.live)
        weakref.finalize(buffer, self._released)
        return DeviceArray(self, buffer, buffer.ctypes.data, shape,
                           c_strides(shape, dtype.itemsize), dtype)

    def host_view(self, array):
        """The NumPy view of a DeviceArray's memory (no copy; the fake's own business)."""
        owner = array.owner
        offset = array.gpudata - owner.ctypes.data
        if array.size == 0:  # an empty view may start past its (1-byte) buffer
            return np.empty(array.shape, array.dtype)
        return np.ndarray(array.shape, array.dtype, buffer=owner, offset=offset,
                          strides=array.strides)

    def upload(self, host):
        host = np.asarray(host)
        out = self.empty(host.shape, host.dtype)
        self.host_view(out)[...] = host
        self.counts["upload"] += 1
        return out

    def download(self, array):
        self.counts["download"] += 1
        return np.array(self.host_view(array), copy=True)

    def copy(self, array):
        out = self.empty(array.shape, array.dtype)
        self.host_view(out)[...] = self.host_view(array)
        return out

    def kernel(self, node, inputs, out=None):
        from symtheano.codegen.cuda.kernels import kernel_for

        kernel = kernel_for(node)
        if kernel is None:
            return None
        if kernel.kind in ("advanced", "advanced_inc"):  # emulated launch by launch
            from symtheano.codegen.cuda.advindex_emulate import run_emulated

            return run_emulated(self, kernel, node, inputs)
        if kernel.kind == "padded_sum":  # the kernel's own launch, emulated
            from symtheano.codegen.cuda import padded_sum

            result = None if out is not None else padded_sum.emulate(self, kernel, node, inputs)
            if result is None:
                return None
            self.counts["kernel"] += 1
            return [result]
        self.counts["kernel"] += 1
        views = [self.host_view(a) if isinstance(a, DeviceArray) else np.asarray(a)
                 for a in inputs]  # sizes a kernel's host reads come as host values
        storage = [[None] for _ in node.outputs]
        with np.errstate(all="ignore"):
            node.op.perform(node, views, storage)
        results = []
        for cell, var in zip(storage, node.outputs):
            value = np.asarray(cell[0], dtype=var.dtype)
            if out is not None:
                self.host_view(out)[...] = value
                results.append(out)
                continue
            found = next((a for a, v in zip(inputs, views) if value is v), None)
            if found is None:  # written in place into an input: that input, else new memory
                found = next((a for a, v in zip(inputs, views)
                              if value.__array_interface__ == v.__array_interface__), None)
            if found is None:
                found = self.empty(value.shape, value.dtype)
                self.host_view(found)[...] = value
            results.append(found)
        return results

    def _scalar(self, value):
        if isinstance(value, DeviceArray):
            return self.host_view(value)[()]
        return value

    def gemm(self, a, b, c, alpha=1.0, beta=0.0):
        self.counts["gemm"] += 1
        if self.blas is not None:
            return self.blas.gemm(a, b, c, alpha, beta)
        self._accumulate(c, self.host_view(a) @ self.host_view(b), alpha, beta)
        return c

    def gemv(self, a, x, y, alpha=1.0, beta=0.0):
        self.counts["gemv"] += 1
        if self.blas is not None:
            return self.blas.gemv(a, x, y, alpha, beta)
        self._accumulate(y, self.host_view(a) @ self.host_view(x), alpha, beta)
        return y

    def gemm_batched(self, a, b, c, alpha=1.0, beta=0.0):
        self.counts["gemm_batched"] += 1
        if self.blas is not None:
            return self.blas.gemm_batched(a, b, c, alpha, beta)
        if c.ndim != 3 or a.ndim != 3 or b.ndim != 3:
            raise ValueError(f"gemm_batched: 3-D operands, got {a.shape} @ {b.shape} -> "
                             f"{c.shape}")
        self._accumulate(c, np.matmul(self.host_view(a), self.host_view(b)), alpha, beta)
        return c

    def _accumulate(self, out, product, alpha, beta):
        """out = alpha product + beta out, not reading out when beta is 0 (as BLAS)."""
        view, alpha, beta = self.host_view(out), self._scalar(alpha), self._scalar(beta)
        view[...] = alpha * product if beta == 0 else alpha * product + beta * view
