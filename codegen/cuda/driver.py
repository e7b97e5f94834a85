"""Running CUDA kernel libraries through pycuda: modules loaded from the compile
cache (build.module_path: nvcc to a cubin for this GPU's architecture),
kernels launched with the grids and packed argument structs of layout.py, on
pycuda GPUArrays. `Runtime.run(node, inputs)` computes one node on the device
(the reference `perform` on host copies where the CUDA back end has no kernel).

Importing this module needs neither pycuda nor a GPU; making a Runtime does
(it raises availability.CudaUnavailable naming what is missing). Not yet run on
a GPU: benchmarks/gpu/run_registry.sh is the first check to run on one.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.cuda import availability, build, layout
from symtheano.codegen.cuda.kernels import kernel_for


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


class Runtime:
    """One GPU (device 0 by default) and the modules loaded on it."""

    def __init__(self, device=0):
        availability.require()
        import pycuda.driver as drv
        import pycuda.gpuarray as gpuarray

        drv.init()
        self.drv, self.gpuarray = drv, gpuarray
        self.device = drv.Device(device)
        self.context = self.device.retain_primary_context()
        self.context.push()
        major, minor = self.device.compute_capability()
        self.arch = 10 * major + minor
        self.sm_count = self.device.get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT)
        self._modules = {}
        self._functions = {}

    def close(self):
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

    # -- arrays --------------------------------------------------------------------------------

    def to_device(self, array):
        return self.gpuarray.to_gpu(np.ascontiguousarray(array))

    def empty(self, shape, dtype):
        return self.gpuarray.empty(tuple(shape), np.dtype(dtype))

    # -- nodes ---------------------------------------------------------------------------------

    def run(self, node, inputs):
        """Compute `node` on device arrays `inputs`; returns its outputs (GPUArrays)."""
        kernel = kernel_for(node)
        if kernel is not None:
            result = getattr(self, f"_{kernel.kind}")(kernel, node, inputs)
            if result is not None:
                return [result]
        return self._on_host(node, inputs)

    def _on_host(self, node, inputs):
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [a.get() for a in inputs], storage)
        return [self.to_device(np.asarray(cell[0], dtype=out.dtype))
                for cell, out in zip(storage, node.outputs)]

    def _elementwise(self, kernel, node, inputs):
        ndim, inplace, masks = kernel.params
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

    def _reduce(self, kernel, node, inputs):
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

    def _softmax(self, kernel, node, inputs):
        (axis,) = kernel.params
        (x,) = inputs
        out = self.empty(x.shape, x.dtype)
        launch = layout.softmax_launch(x.shape, axis, [_pointer(x), _pointer(out)],
                                       [x.strides, out.strides], self.sm_count)
        if launch is None:
            return None if x.size else out
        self.launch(kernel.source, launch)
        return out
