"""Running CUDA kernel libraries through pycuda: modules loaded from the compile
cache (build.module_path: nvcc to a cubin for this GPU's architecture),
kernels launched with the grids and packed argument structs of layout.py, on
DeviceArrays (device.py) over pycuda allocations. `Runtime` is the real
implementation of the device interface that program.py runs functions on
(device.py lists it); `Runtime.run(node, inputs)` computes one node on the
device (the reference `perform` on host copies where there is no kernel).

Importing this module needs neither pycuda nor a GPU; making a Runtime does
(it raises availability.CudaUnavailable naming what is missing). Not yet run on
a GPU: benchmarks/gpu/run_registry.sh is the first check to run on one.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.cuda import availability, build, layout
from symtheano.codegen.cuda.device import DeviceArray, c_strides, ghost
from symtheano.codegen.cuda.kernels import kernel_for

from symtheano.tensor.subtensor import check_value_shape


def _pointer(array):
    return int(array.gpudata)


def _state_size(kind, val_dtype, out_dtype):
    """Bytes of one partial state of a reduction kind (runtime/reduce.cuh)."""
    if kind in ("ST_ARGMAX", "ST_ARGMIN"):
        return np.dtype([("v", val_dtype), ("i", np.int64)], align=True).itemsize
    if kind in ("ST_ALL", "ST_ANY"):
        return 1
    if kind in ("ST_MAX", "ST_MIN"):
        return np.dtype(val_dtype).itemsize
    return np.dtype(out_dtype).itemsize


def broadcast_shape(shapes, masks, ndim):
    """The shape inputs of `shapes` broadcast to, under Theano's rule: a dimension of
    size 1 stretches only where its input declares it broadcastable (bit d of its
    mask); otherwise sizes must agree (ValueError naming the input)."""
    out = [1] * ndim
    for shape in shapes:
        lead = ndim - len(shape)
        for d, n in enumerate(shape):
            if n != 1:
                out[lead + d] = n
    for k, (shape, mask) in enumerate(zip(shapes, masks)):
        lead = ndim - len(shape)
        for d, n in enumerate(shape):
            size = out[d + lead]
            if n != size and not (n == 1 and mask >> d & 1):
                raise ValueError(f"input {k} has size {n} in dimension {d}, where the other "
                                 f"inputs have {size} (it is not declared broadcastable)")
    return tuple(out)


def _host_value(value):
    """A size the host reads: given on the host, or copied back."""
    return value.get() if isinstance(value, DeviceArray) else np.asarray(value)


class Runtime:
    """One GPU (device 0 by default) and the modules loaded on it: the device
    interface of device.py (empty, upload, download, copy, kernel, gemm, gemv,
    gemm_batched, synchronize, event, elapsed)."""

    def __init__(self, device=0):
        availability.require()
        import pycuda.driver as drv
        from pycuda.tools import DeviceMemoryPool

        drv.init()
        self.drv = drv
        self.device = drv.Device(device)
        self.context = self.device.retain_primary_context()
        self.context.push()
        major, minor = self.device.compute_capability()
        self.arch = 10 * major + minor
        self.sm_count = self.device.get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT)
        self.counts = {"upload": 0, "download": 0, "kernel": 0, "gemm": 0, "gemv": 0,
                       "gemm_batched": 0}
        # Freed blocks go back to a pool instead of cuMemFree, which would wait for the
        # device: a function's intermediates are dropped as soon as they are read, while
        # the launches that read them may still be queued (one stream: a block handed out
        # again is written only by work queued after them).
        self.pool = DeviceMemoryPool()
        self._modules = {}
        self._functions = {}
        self._copy_kernels = {}
        self._blas = None
        self._status = None

    def __str__(self):
        return f"cuda:{self.device.name()}"

    def synchronize(self):
        """Wait until everything queued on the device has run (for timings)."""
        self.context.synchronize()

    def event(self):
        """A CUDA event recorded now on the (default) stream: a profiled call's
        marker between steps (codegen/cuda/profile.py)."""
        event = self.drv.Event()
        event.record()
        return event

    def elapsed(self, start, end):
        """Seconds between two recorded events, once both were reached."""
        return start.time_till(end) * 1e-3

    def close(self):
        if self._blas is not None:
            self._blas.close()
            self._blas = None
        self.pool.stop_holding()
        self.context.pop()

    # -- modules and launches ------------------------------------------------------------------

    def function(self, source, symbol, arg_format):
        """Kernel `symbol` of the compiled `source`, prepared for `arg_format`."""
        key = (source, symbol, tuple(arg_format))
        found = self._functions.get(key)
        if found is None:
            module = self._modules.get(source)
            if module is None:
                path = build.module_path(source, self.arch, description=symbol)
                module = self._modules[source] = self.drv.module_from_file(path)
            found = module.get_function(symbol)
            found.prepare(list(arg_format))
            self._functions[key] = found
        return found

    def launch(self, source, launch, *extra, extra_format=()):
        """Launch `launch` (layout.Launch) with the packed struct, then `extra` arguments
        (pycuda struct formats in `extra_format`: "P" a pointer, "q" an int64)."""
        fmt = (f"{len(launch.args)}s", *extra_format)
        self.function(source, launch.symbol, fmt).prepared_call(
            launch.grid, launch.block, launch.args, *extra)

    def checked_launch(self, source, launch, *extra, extra_format=()):
        """Launch a kernel that reports indices out of range through a status flag
        (its first argument after the struct), then wait for it and read the flag:
        False when an index was out of range. The flag lives on the device, reset
        only after it was raised, so a call costs one 4-byte copy back."""
        if self._status is None:
            self._status = self.empty((1,), np.int32)
            self.drv.memset_d32(self._status.gpudata, 0, 1)
        self.launch(source, launch, self._status.gpudata, *extra,
                    extra_format=("P", *extra_format))
        return self.status_ok()

    def status_ok(self):
        """Whether no checked kernel raised the status flag since the last call."""
        flag = np.zeros(1, np.int32)
        self.drv.memcpy_dtoh(flag, self._status.gpudata)
        if flag[0]:
            self.drv.memset_d32(self._status.gpudata, 0, 1)
            return False
        return True

    # -- arrays --------------------------------------------------------------------------------

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        memory = self.pool.allocate(max(nbytes, 1))  # back to the pool when collected
        return DeviceArray(self, memory, int(memory), shape, c_strides(shape, dtype.itemsize),
                           dtype)

    def upload(self, host):
        host = np.ascontiguousarray(host)
        out = self.empty(host.shape, host.dtype)
        self.counts["upload"] += 1
        if host.nbytes:
            self.drv.memcpy_htod(out.gpudata, host)
        return out

    def download(self, array):
        self.counts["download"] += 1
        if not array.is_c_contiguous():
            array = self.copy(array)
        host = np.empty(array.shape, array.dtype)
        if host.nbytes:
            self.drv.memcpy_dtoh(host, array.gpudata)
        return host

    def copy(self, array):
        """A row-major copy on the device (memcpy when contiguous, else a copy kernel)."""
        out = self.empty(array.shape, array.dtype)
        if not out.nbytes:
            return out
        if array.is_c_contiguous():
            self.drv.memcpy_dtod(out.gpudata, array.gpudata, out.nbytes)
            return out
        node = self._copy_kernels.get((array.dtype, array.ndim))
        if node is None:
            from symtheano.tensor.basic import tensor_copy
            from symtheano.tensor.type import TensorType

            x = TensorType(array.dtype, (None,) * array.ndim).make_variable()
            node = self._copy_kernels[(array.dtype, array.ndim)] = tensor_copy(x).owner
        if self.kernel(node, [array], out) is None:
            out = self.upload(array.get())
        return out

    # kept for benchmarks/gpu/run_registry.py
    to_device = upload

    # -- products ------------------------------------------------------------------------------

    def _cublas(self):
        if self._blas is None:
            from symtheano.codegen.cuda.cublas import Cublas

            self._blas = Cublas(self.copy)
        return self._blas

    def gemm(self, a, b, c, alpha=1.0, beta=0.0):
        self.counts["gemm"] += 1
        return self._cublas().gemm(a, b, c, alpha, beta)

    def gemv(self, a, x, y, alpha=1.0, beta=0.0):
        self.counts["gemv"] += 1
        return self._cublas().gemv(a, x, y, alpha, beta)

    def gemm_batched(self, a, b, c, alpha=1.0, beta=0.0):
        self.counts["gemm_batched"] += 1
        return self._cublas().gemm_batched(a, b, c, alpha, beta)

    # -- nodes ---------------------------------------------------------------------------------

    def kernel(self, node, inputs, out=None):
        """`node`'s generated kernel on DeviceArrays `inputs` (into `out` when given);
        None when there is no kernel for it, or for this call's layout."""
        kernel = kernel_for(node)
        if kernel is None or (out is not None and kernel.kind != "elementwise"):
            return None
        result = getattr(self, f"_{kernel.kind}")(kernel, node, inputs, out)
        if result is None:
            return None
        self.counts["kernel"] += 1
        return [result]

    def run(self, node, inputs):
        """Compute `node` on device arrays `inputs`; returns its outputs."""
        from symtheano.codegen.cuda import assemble

        found = self.kernel(node, inputs)
        if found is None and assemble.covers(node):
            found = assemble.assemble(self, node, inputs)
        return found or self._on_host(node, inputs)

    def _on_host(self, node, inputs):
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [a.get() for a in inputs], storage)
        return [self.upload(np.asarray(cell[0], dtype=out.dtype))
                for cell, out in zip(storage, node.outputs)]

    def _elementwise(self, kernel, node, inputs, out=None):
        ndim, inplace, masks = kernel.params
        if out is not None:
            shape = out.shape
        else:
            shape = broadcast_shape([a.shape for a in inputs], masks, ndim)
            if inplace >= 0 and inputs[inplace].shape == shape:
                out = inputs[inplace]
            else:
                out = self.empty(shape, node.outputs[0].dtype)
        if out.size == 0:
            return out
        operands = [*inputs, out]
        strides = [layout.broadcast_strides(shape, a.shape, a.strides) for a in operands]
        launch = layout.elementwise_launch(shape, [_pointer(a) for a in operands], strides,
                                           [a.dtype.itemsize for a in operands], self.sm_count)
        if launch is None:
            return None
        self.launch(kernel.source, launch)
        return out

    def _reduce(self, kernel, node, inputs, out=None):
        kind, ndim, axes, masks = kernel.params
        shape = broadcast_shape([a.shape for a in inputs], masks, ndim)
        out_shape = tuple(n for d, n in enumerate(shape) if d not in axes)
        out = self.empty(out_shape, node.outputs[0].dtype)
        out_strides = [0] * ndim
        for d, s in zip([d for d in range(ndim) if d not in axes], out.strides):
            out_strides[d] = s
        strides = [layout.broadcast_strides(shape, a.shape, a.strides) for a in inputs]
        val_dtype = getattr(getattr(node.op, "composite", None), "dtype", inputs[0].dtype)
        plan = layout.reduce_plan(shape, axes, [*map(_pointer, inputs), _pointer(out)],
                                  [*strides, out_strides],
                                  _state_size(kind, val_dtype, out.dtype), self.sm_count)
        if plan is None:
            return None  # empty: the reference gives the identity, or raises
        if plan.first.symbol == "st_reduce_columns":
            self.launch(kernel.source, plan.first)
            return out
        workspace = self.empty((max(plan.workspace, 1),), np.uint8)
        self.launch(kernel.source, plan.first, _pointer(workspace), extra_format=("P",))
        if plan.final is not None:
            self.launch(kernel.source, plan.final, _pointer(workspace), np.int64(plan.parts),
                        extra_format=("P", "q"))
        return out

    def _logsumexp(self, kernel, node, inputs, out=None):
        axes, xent = kernel.params
        x = inputs[0]
        out_shape = tuple(n for d, n in enumerate(x.shape) if d not in axes)
        if xent:
            labels = inputs[1]
            if labels.shape != out_shape or x.size == 0:
                return None  # the reference names the mismatch, or gives zeros
        out = self.empty(out_shape, x.dtype)
        if out.size == 0:
            return out
        kept = [d for d in range(x.ndim) if d not in axes]
        out_strides, label_strides = [0] * x.ndim, [0] * x.ndim
        for k, d in enumerate(kept):
            out_strides[d] = out.strides[k]
            if xent:
                label_strides[d] = labels.strides[k]
        pointers = [_pointer(x), _pointer(out), _pointer(labels) if xent else 0]
        launch = layout.logsumexp_launch(x.shape, axes, pointers,
                                         [x.strides, out_strides, label_strides],
                                         x.strides[-1] if xent else 0, self.sm_count)
        if launch is None:
            return None
        return out if self.checked_launch(kernel.source, launch) else None

    def _one_hot(self, kernel, node, inputs, out=None):
        indices, n_classes = inputs
        n_classes = int(_host_value(n_classes))
        if n_classes < 0:
            return None
        out = self.empty((*indices.shape, n_classes), node.outputs[0].dtype)
        launch = layout.one_hot_launch(indices.shape, n_classes, [_pointer(indices),
                                       _pointer(out)], indices.strides, self.sm_count)
        if launch is None:
            return None  # empty: the reference still checks the indices
        return out if self.checked_launch(kernel.source, launch) else None

    def _take(self, kernel, node, inputs, out=None):
        (axis,) = kernel.params
        x, index = inputs
        if not 0 < x.shape[axis] or index.size == 0:
            return None  # nothing to take from, or nothing taken: the reference
        shape = (*x.shape[:axis], *index.shape, *x.shape[axis + 1:])
        out = self.empty(shape, x.dtype)
        args = layout.take_args(x.shape, axis, index.shape,
                                [_pointer(x), _pointer(out), _pointer(index)], x.strides,
                                index.strides, out.strides)
        if args is None:
            return None  # an empty output (the reference still checks the indices)
        launch = layout.take_launch("st_take", args, self.sm_count)
        return out if self.checked_launch(kernel.source, launch) else None

    def _scatter(self, kernel, node, inputs, out=None):
        axis, set_values = kernel.params
        x, y, index = inputs
        target = (*x.shape[:axis], *index.shape, *x.shape[axis + 1:])
        check_value_shape(node, node.inputs[1], ghost(y), target)
        if x.shape[axis] == 0 or index.size == 0 or index.size >= 2**31:
            return None
        out = self.copy(x)
        dense = layout.broadcast_strides(target, y.shape, y.strides)
        args = layout.take_args(x.shape, axis, index.shape,
                                [_pointer(out), _pointer(y), _pointer(index)], out.strides,
                                index.strides, dense)
        if args is None:
            return None
        if set_values:
            winner = self.empty((x.shape[axis],), np.int32)
            self.drv.memset_d32(winner.gpudata, 0xFFFFFFFF, x.shape[axis])
            claim = layout.take_launch("st_scatter_claim", args, self.sm_count)
            write = layout.take_launch("st_scatter_set", args, self.sm_count)
            if not self.checked_launch(kernel.source, claim, winner.gpudata,
                                       extra_format=("P",)):
                return None
            self.launch(kernel.source, write, self._status.gpudata, winner.gpudata,
                        extra_format=("P", "P"))
            return out
        add = layout.take_launch("st_scatter_add", args, self.sm_count)
        return out if self.checked_launch(kernel.source, add) else None

    def _advanced(self, kernel, node, inputs, out=None):
        """AdvancedSubtensor and AdvancedIncSubtensor in general (advindex.py)."""
        from symtheano.codegen.cuda import advindex

        return advindex.run(self, kernel, node, inputs)

    _advanced_inc = _advanced

    def _padded_sum(self, kernel, node, inputs, out=None):
        """PaddedSum in one launch (padded_sum.py)."""
        from symtheano.codegen.cuda import padded_sum

        return padded_sum.run(self, kernel, node, inputs)

    def _softmax(self, kernel, node, inputs, out=None):
        (axis,) = kernel.params
        (x,) = inputs
        out = self.empty(x.shape, x.dtype)
        launch = layout.softmax_launch(x.shape, axis, [_pointer(x), _pointer(out)],
                                       [x.strides, out.strides], self.sm_count)
        if launch is None:
            return None if x.size else out
        self.launch(kernel.source, launch)
        return out


_default = []


def default_runtime():
    """The process's Runtime on device 0 (made on first use; mode="CUDA" runs on it)."""
    if not _default:
        _default.append(Runtime())
    return _default[0]
