"""mode="CUDA": a rewritten graph run on a device (device.py's interface: the
pycuda Runtime on a GPU, FakeDevice in tests).

Every variable gets a slot, as in the C program runner (codegen/c/program.py);
each node, in topological order, becomes one step of a kind chosen when the
program is built:

- "meta": Shape and Shape_i read only their input's shape: run on a shape-only
  stand-in (device.ghost), the result stays on the host;
- "host": every input is on the host (constants, shapes and what is computed
  from them): the reference `perform` on the host, the result stays there (a
  launch would cost more than the arithmetic, and a kernel reading a size would
  need it copied back);
- "view": DimShuffle, Reshape (of a contiguous array), Subtensor with a basic
  index, SpecifyShape, CheckShape: a DeviceArray on the same memory, no copy;
- "blas": Dot, Gemm, Gemv and Ger through the device's cuBLAS gemm/gemv;
  MatMul (T.matmul of stacks of matrices, batched_dot, and their gradients)
  through cuBLAS strided batched gemm (batched.py: broadcast batch dimensions
  as batch stride 0, transposed views read with op T, N-d batches as one call
  or a few, empty sizes without a call) in float32 and float64; integer
  products stay on the host (fallback);
- "kernel": the node's generated kernel (kernels.kernel_for); inputs the kernel's
  host reads (OneHot's number of classes, the integer scalars and slice bounds
  of an advanced index, PaddedSum's output shape) are passed as host values.
  PaddedSum is one kernel (padded_sum.py), so a gradient of shifted slices
  (Rosenbrock's) runs without a fallback. Advanced indexing in general
  (integer arrays, boolean masks, set and increment; advindex.py) runs here
  too, a boolean mask costing one read-back of its true count;
- "assemble": Alloc, Join and IncSubtensor, built on the device from copies and
  elementwise kernels writing into views of the output (assemble.py); Alloc
  is assembled even from host inputs, since its output is large and its inputs
  small;
- "fallback": anything else, and any call a kernel declines: inputs copied to
  the host, the reference `perform`, outputs copied back.

A program of a function compiled with profile=True times each step on the
device (profile.py: a device marker after each step, one synchronisation at
the end of the call); without it a call records nothing.

Host values a kernel reads (a mean's divisor) are copied to the device once
and kept while they do not change; constants once per program. After each
step, slots no later step reads are dropped, which frees their device memory.

`device_call` runs one call of a Function (compile/function.py hands it every
call): arguments given as NumPy arrays are copied to the device once, device
arrays are taken as they are; shared variables are read from and updated in
their device storage (SharedVariable.device_value / set_device_value), so a
training loop moves only its arguments and outputs; outputs come back as
NumPy arrays, or as DeviceArrays when the function was compiled with
`return_device=True`.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c.program import storage_plan
from symtheano.codegen.cuda import assemble, batched, profile
from symtheano.codegen.cuda.device import DeviceArray, ghost, unghost
from symtheano.codegen.cuda.kernels import kernel_for

from symtheano.compile.mode import _add_node_note
from symtheano.graph.basic import Constant
from symtheano.tensor.blas import Dot, MatMul
from symtheano.tensor.blas_ops import Gemm, Gemv, Ger
from symtheano.tensor.elemwise import DimShuffle
from symtheano.tensor.shape import Alloc, CheckShape, Reshape, Shape, ShapeI, SpecifyShape
from symtheano.tensor.subtensor import IncSubtensor, Subtensor, numpy_index

CACHE_BYTES = 1 << 16  # host values up to this size keep their device copy between calls
BLAS_DTYPES = ("float32", "float64")


def _scale_node(term, dtype):
    """The Elemwise node computing s * term (s a 0-d `dtype`) with term's type, so that
    broadcast terms stretch as the BLAS op's reference says."""
    from symtheano.tensor.basic import mul
    from symtheano.tensor.type import TensorType

    s = TensorType(dtype, ()).make_variable()
    return mul(s, term.type.make_variable()).owner


def _blas_ok(node):
    dtypes = {v.dtype for v in (*node.inputs, *node.outputs)}
    return len(dtypes) == 1 and dtypes.pop() in BLAS_DTYPES


def _step_kind(node, on_host):
    op = node.op
    if isinstance(op, Shape | ShapeI):
        return "meta"
    if type(op) is Alloc and node.outputs[0].ndim and assemble.covers(node):
        return "assemble"
    if all(on_host[v] for v in node.inputs):
        return "host"
    if isinstance(op, DimShuffle | Reshape | Subtensor | SpecifyShape | CheckShape):
        return "view"
    if (isinstance(op, Dot | Gemm | Gemv | Ger) and _blas_ok(node)) or batched.covers(node):
        return "blas"
    if kernel_for(node) is not None:
        return "kernel"
    if assemble.covers(node):
        return "assemble"
    return "fallback"


class CudaProgram:
    """Runs a FunctionGraph on `device` (see the module docstring)."""

    profile_rows = None  # per step a profiling.NodeStats when profiled (profile.py)
    copied_bytes = 0     # bytes fallback steps copied between host and device

    def __init__(self, fgraph, device):
        self.fgraph, self.device = fgraph, device
        self.return_device = False
        self.nodes = fgraph.toposort()
        slot, releases = storage_plan(fgraph, self.nodes)
        self.n_slots = len(slot)
        self.input_slots = [slot[v] for v in fgraph.inputs]
        self.output_slots = [slot[v] for v in fgraph.outputs]
        self.constants = [(s, v.data) for v, s in slot.items() if isinstance(v, Constant)]
        on_host = {v: isinstance(v, Constant) for v in slot}
        self.kinds, self.steps = [], []
        self._scale = {}
        self._host_inputs = {}  # node -> the inputs its step reads on the host
        for i, node in enumerate(self.nodes):
            kind = _step_kind(node, on_host)
            for v in node.outputs:
                on_host[v] = kind in ("meta", "host")
            if kind == "kernel":
                self._host_inputs[node] = kernel_for(node).host_inputs
            elif kind == "assemble" and isinstance(node.op, Alloc | IncSubtensor):
                first = 2 if isinstance(node.op, IncSubtensor) else 1
                self._host_inputs[node] = tuple(range(first, len(node.inputs)))
            if kind == "blas" and isinstance(node.op, Gemm | Gemv | Ger):
                term = node.inputs[0]
                self._scale[node] = _scale_node(term, node.outputs[0].dtype)
            self.kinds.append(kind)
            self.steps.append((getattr(self, f"_step_{kind}"), node,
                               tuple(slot[v] for v in node.inputs),
                               tuple(slot[v] for v in node.outputs), tuple(releases[i])))
        self._uploads = {}  # slot -> (host value, its device copy)

    # -- running -------------------------------------------------------------------------------

    def __call__(self, input_values):
        """Outputs (DeviceArrays, or host arrays for values computed on the host) of
        the graph on `input_values` (DeviceArrays on this program's device)."""
        if self.profile_rows is not None:
            return profile.run(self, input_values)
        return self.run_steps(input_values)

    def run_steps(self, input_values, after_step=None):
        """The steps in order on `input_values`; `after_step()`, when given, is
        called after each (the profiler's marker)."""
        cells = [None] * self.n_slots
        for s, value in self.constants:
            cells[s] = value
        for s, value in zip(self.input_slots, input_values):
            cells[s] = value
        for run, node, ins, outs, releases in self.steps:
            try:
                results = run(node, [cells[s] for s in ins], ins)
            except Exception as exc:
                _add_node_note(exc, node)
                raise
            for s, value in zip(outs, results):
                cells[s] = value
            for s in releases:
                cells[s] = None
            if after_step is not None:
                after_step()
        return [cells[s] for s in self.output_slots]

    def on_device(self, value, slot=None):
        """`value` as a DeviceArray of this program's device: host values are copied
        (constants once per program; other small host values once while they do
        not change, when `slot` names where they come from)."""
        if isinstance(value, DeviceArray):
            if value.device is self.device:
                return value
            return self.device.upload(value.get())
        value = np.asarray(value)
        cached = self._uploads.get(slot)
        if cached is not None and (cached[0] is value or (
                cached[0].dtype == value.dtype and cached[0].shape == value.shape
                and np.array_equal(cached[0], value))):
            return cached[1]
        array = self.device.upload(value)
        if slot is not None and value.nbytes <= CACHE_BYTES:
            self._uploads[slot] = (np.array(value, copy=True), array)
        return array

    def _device_inputs(self, node, values, slots, host=()):
        """The node's inputs on the device, but those numbered in `host` (sizes the
        host reads) on the host; an input the node overwrites that is a kept copy of
        a host value is copied first (the copy must stay as it is)."""
        arrays = [(v.get() if isinstance(v, DeviceArray) else v) if i in host
                  else self.on_device(v, s) for i, (v, s) in enumerate(zip(values, slots))]
        destroyed = {i for ins in getattr(node.op, "destroy_map", {}).values() for i in ins}
        if destroyed and self._uploads:
            kept = {id(a.owner) for _, a in self._uploads.values()}
            for i in destroyed:
                if id(arrays[i].owner) in kept:
                    arrays[i] = self.device.copy(arrays[i])
        return arrays

    # -- steps ---------------------------------------------------------------------------------

    def _step_meta(self, node, values, slots):
        stand_ins = [ghost(v) if isinstance(v, DeviceArray) else v for v in values]
        return self._host_step(node, stand_ins)

    def _step_host(self, node, values, slots):
        return self._host_step(node, values)

    @staticmethod
    def _host_step(node, values):
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, values, storage)
        return [cell[0] for cell in storage]

    def _step_fallback(self, node, values, slots):
        host = [v.get() if isinstance(v, DeviceArray) else v for v in values]
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, host, storage)
        results = [self.device.upload(np.asarray(cell[0], dtype=out.dtype))
                   for cell, out in zip(storage, node.outputs)]
        self.copied_bytes += (sum(v.nbytes for v in values if isinstance(v, DeviceArray))
                              + sum(r.nbytes for r in results))
        return results

    def _step_kernel(self, node, values, slots):
        inputs = self._device_inputs(node, values, slots, self._host_inputs.get(node, ()))
        results = self.device.kernel(node, inputs)
        if results is None:
            return self._step_fallback(node, values, slots)
        return results

    def _step_assemble(self, node, values, slots):
        inputs = self._device_inputs(node, values, slots, self._host_inputs.get(node, ()))
        results = assemble.assemble(self.device, node, inputs)
        if results is None:
            return self._step_fallback(node, values, slots)
        return results

    def _step_view(self, node, values, slots):
        x = self.on_device(values[0], slots[0])
        rest = [v.get() if isinstance(v, DeviceArray) else v for v in values[1:]]
        op = node.op
        if isinstance(op, DimShuffle):
            view = _dimshuffle(op, node, x)
        elif isinstance(op, Reshape):
            if not x.is_c_contiguous():
                x = self.device.copy(x)
            stand_in = ghost(x)
            view = unghost(x, self._host_step(node, [stand_in, *rest])[0], stand_in)
        elif isinstance(op, Subtensor):
            stand_in = ghost(x)
            index = numpy_index(node, op.idx_list, rest, stand_in)
            if Ellipsis not in index:
                index = (*index, Ellipsis)  # a 0-d view, never a scalar read from memory
            view = unghost(x, stand_in[index], stand_in)
        else:  # SpecifyShape, CheckShape: checks on the shape, then the input itself
            stand_in = ghost(x)
            view = unghost(x, self._host_step(node, [stand_in, *rest])[0], stand_in)
        if view is None:
            return self._step_fallback(node, values, slots)
        return [view]

    # -- products ------------------------------------------------------------------------------

    def _step_blas(self, node, values, slots):
        op = node.op
        if isinstance(op, Dot):
            out = self._dot(node, values, slots)
        elif isinstance(op, MatMul):
            a, b = (self.on_device(v, s) for v, s in zip(values, slots))
            dtype = node.outputs[0].dtype
            out = batched.matmul(self.device, node, a, b, lambda: self.on_device(
                np.zeros((), dtype), ("zero", dtype)))
        else:
            out = self._accumulate(node, values, slots)
        if out is None:
            return self._step_fallback(node, values, slots)
        return [out]

    def _dot(self, node, values, slots):
        a, b = (self.on_device(v, s) for v, s in zip(values, slots))
        if a.shape[-1] != b.shape[0] or 0 in a.shape or 0 in b.shape:
            return None  # the reference raises its error, or returns zeros
        device, e = self.device, a.itemsize
        if a.ndim == 2 and b.ndim == 2:
            out = device.empty((a.shape[0], b.shape[1]), a.dtype)
            return device.gemm(a, b, out, 1.0, 0.0)
        if a.ndim == 2:
            return device.gemv(a, b, device.empty((a.shape[0],), a.dtype), 1.0, 0.0)
        if b.ndim == 2:  # a @ B = B^T a
            bt = b.view(b.shape[::-1], b.strides[::-1])
            return device.gemv(bt, a, device.empty((b.shape[1],), a.dtype), 1.0, 0.0)
        k = a.shape[0]
        row = a.view((1, k), (k * e, a.strides[0]))
        column = b.view((k, 1), (b.strides[0], e))
        out = device.gemm(row, column, device.empty((1, 1), a.dtype), 1.0, 0.0)
        return out.view((), ())

    def _accumulate(self, node, values, slots):
        """Gemm, Gemv, Ger: the product added into the output, which first holds the
        scaled term (beta * C, beta * y, or A), or is the term itself."""
        op = node.op
        if isinstance(op, Ger):
            term, alpha, x, y = values
            beta, beta_var, beta_slot = 1.0, None, ("one", node.outputs[0].dtype)
            x, y = self.on_device(x, slots[2]), self.on_device(y, slots[3])
            left = x.view((x.shape[0], 1), (x.strides[0], x.itemsize))
            right = y.view((1, y.shape[0]), (y.shape[0] * y.itemsize, y.strides[0]))
            shape, operands = (x.shape[0], y.shape[0]), (left, right)
        else:
            term, alpha, a, b, beta = values
            beta_var, beta_slot = node.inputs[4], slots[4]
            a, b = self.on_device(a, slots[2]), self.on_device(b, slots[3])
            if a.shape[1] != b.shape[0]:
                return None
            shape = (a.shape[0], *b.shape[1:])
            operands = (a, b)
        if 0 in shape or 0 in operands[0].shape:
            return None
        term_shape = np.shape(term)
        if len(term_shape) != len(shape) or any(
                t != n and not (t == 1 and node.inputs[0].type.shape[d] == 1)
                for d, (t, n) in enumerate(zip(term_shape, shape))):
            return None  # the reference names the mismatch
        device = self.device
        out, scaled = None, False
        if (beta_var is not None and isinstance(beta_var, Constant) and float(beta) == 0.0
                and isinstance(node.inputs[0], Constant) and np.isfinite(term).all()):
            out = device.empty(shape, node.outputs[0].dtype)
            beta = 0.0  # a plain product: cuBLAS does not read the output
            scaled = True
        else:
            term = self._device_inputs(node, [term], slots[:1])[0]
            if op.inplace and self._writable_into(term, shape, operands):
                out = term
                if not isinstance(beta, DeviceArray) and float(beta) != 0.0:
                    scaled = True  # cuBLAS scales the term in place
        if not scaled:
            if out is None:
                out = device.empty(shape, node.outputs[0].dtype)
            beta_dev = self.on_device(np.asarray(beta, out.dtype) if not isinstance(
                beta, DeviceArray) else beta, beta_slot)
            if device.kernel(self._scale[node], [beta_dev, term], out) is None:
                return None
            beta = 1.0
        alpha, beta = self._scalars(alpha, beta, slots[1], out.dtype)
        if len(shape) == 1:
            return device.gemv(*operands, out, alpha, beta)
        return device.gemm(*operands, out, alpha, beta)

    @staticmethod
    def _writable_into(term, shape, operands):
        return (term.shape == tuple(shape) and term.is_c_contiguous()
                and all(term.owner is not x.owner for x in operands))

    def _scalars(self, alpha, beta, alpha_slot, dtype):
        """alpha and beta for cuBLAS: numbers when both are on the host, else both on
        the device (a number is copied there once and kept)."""
        if not isinstance(alpha, DeviceArray) and not isinstance(beta, DeviceArray):
            return float(np.asarray(alpha)), float(np.asarray(beta))
        if not isinstance(beta, DeviceArray):
            beta = self.on_device(np.asarray(beta, dtype), ("beta", float(beta), dtype))
        return self.on_device(alpha, alpha_slot), beta

    # -- a Function's call ---------------------------------------------------------------------

    def device_call(self, fn, values):
        """One call of Function `fn` with its arguments `values` (in input order,
        defaults filled in): see the module docstring."""
        device = self.device
        args = []
        for pos, value in enumerate(values):
            if isinstance(value, DeviceArray):
                _check_device_argument(fn, pos, value)
                value = self.on_device(value)
            else:
                if not fn.trust_input:
                    value = fn._filter(pos, value)
                value = device.upload(value)
            args.append(value)
        shared = [s.device_value(device) for s in fn._shared]
        for i in fn._destroyed:
            # storage the call may overwrite must not be visible through another argument
            owner = shared[i].owner
            if sum(a.owner is owner for a in args + shared) > 1:
                shared[i] = device.copy(shared[i])
        results = self(args + shared)
        owners = {}
        for a in args + shared:
            owners[id(a.owner)] = owners.get(id(a.owner), 0) + 1
        outputs = []
        for value in results[: fn._n_out]:
            if self.return_device:
                value = self.on_device(value)
                if owners.get(id(value.owner)):
                    value = device.copy(value)
                owners[id(value.owner)] = owners.get(id(value.owner), 0) + 1
            elif isinstance(value, DeviceArray):
                value = value.get()
            else:
                value = np.array(value, copy=True)  # a host value may be a constant's data
            outputs.append(value)
        for (var, pos, *_), new in zip(fn._update_plan, results[fn._n_out:]):
            new = self.on_device(new)
            own = 1 if new.owner is shared[pos].owner else 0
            if owners.get(id(new.owner), 0) > own:
                new = device.copy(new)
            owners[id(new.owner)] = owners.get(id(new.owner), 0) + 1
            var.set_device_value(new)
        return outputs[0] if fn._single else outputs

    def kind_counts(self):
        """How many nodes run as each kind of step."""
        counts = {}
        for kind in self.kinds:
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def _check_device_argument(fn, pos, value):
    dtype, ndim, static = fn._arg_specs[pos]
    if value.dtype != dtype or value.ndim != ndim or any(value.shape[d] != n
                                                         for d, n in static):
        raise TypeError(f"{fn.name}: bad argument for input {pos} ({fn.inputs[pos]}): a device "
                        f"array of dtype {value.dtype} and shape {value.shape}, expected "
                        f"{fn.inputs[pos].type} (device arrays are never converted)")


def _dimshuffle(op, node, x):
    for d in op.drop:
        if x.shape[d] != 1:
            raise ValueError(f"{op}: cannot drop dimension {d} of {node.inputs[0]}: its size "
                             f"is {x.shape[d]} (shape {x.shape})")
    shape = [1 if d == "x" else x.shape[d] for d in op.new_order]
    strides = [0 if d == "x" else x.strides[d] for d in op.new_order]
    return x.view(shape, strides)
