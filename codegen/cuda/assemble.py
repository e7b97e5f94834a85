"""Nodes the CUDA back end assembles from device copies and elementwise kernels
writing into views of their output, with no kernel library of their own:

- Alloc: a new array, the value broadcast into it (an identity kernel);
- Join: a new array, each input copied (or cast) into its slab along the axis;
- IncSubtensor with a basic index: a device copy of x, then the indexed view
  of the copy set to y (identity kernel) or incremented by it (an add kernel
  reading and writing the view: each element is read and written by one
  thread).

`assemble(device, node, inputs)` runs one on any device of device.py (the
elementwise kernels are the nodes built here, so a FakeDevice runs their
reference there), or returns None for a call it leaves to the reference: shapes
that do not fit (the reference raises its error), dtypes it does not cover.
Sizes and indices are read on the host (DeviceArrays among them are copied
back). The checks the reference makes on shapes are the reference's own
functions where it has them (numpy_index, check_value_shape), so errors read
the same.
"""

from __future__ import annotations

import functools

import numpy as np
from symtheano.codegen.cuda.device import DeviceArray, ghost, unghost

from symtheano.tensor.basic import add, cast, tensor_copy
from symtheano.tensor.join import Join
from symtheano.tensor.shape import Alloc
from symtheano.tensor.subtensor import IncSubtensor, check_value_shape, numpy_index
from symtheano.tensor.type import TensorType


def covers(node):
    """Whether `node` is one of the ops assembled here (a call may still decline)."""
    op = node.op
    if type(op) is IncSubtensor:
        x, y = node.inputs[:2]
        return y.dtype == x.dtype and (op.set_instead_of_inc or x.dtype != "bool")
    if type(op) is Alloc:
        return node.inputs[0].dtype == node.outputs[0].dtype
    if type(op) is Join:
        dtypes = [i.dtype for i in node.inputs]
        return np.result_type(*dtypes) == np.dtype(node.outputs[0].dtype)
    return False


def assemble(device, node, inputs):
    """The outputs of `node` computed on `device` from `inputs` (DeviceArrays, or host
    values for sizes and indices), or None (see the module docstring)."""
    op = node.op
    if type(op) is Alloc:
        out = _alloc(device, node, inputs)
    elif type(op) is Join:
        out = _join(device, node, inputs)
    else:
        out = _inc_subtensor(device, node, inputs)
    return None if out is None else [out]


# -- the elementwise nodes, one per pattern of types ----------------------------------------

def _type(dtype, pattern):
    return TensorType(dtype, tuple(1 if b else None for b in pattern))


@functools.cache
def _copy_node(src_dtype, dst_dtype, pattern):
    """out = x (cast to dst_dtype); x broadcasts where `pattern` is true."""
    x = _type(src_dtype, pattern).make_variable()
    return (tensor_copy(x) if src_dtype == dst_dtype else cast(x, dst_dtype)).owner


@functools.cache
def _add_node(dtype, pattern):
    """out = view + y; y broadcasts where `pattern` is true."""
    view = _type(dtype, (False,) * len(pattern)).make_variable()
    return add(view, _type(dtype, pattern).make_variable()).owner


def _padded(array, static_shape, ndim):
    """`array` seen with ndim dimensions (leading ones, stride 0) and its broadcast
    pattern (the dimensions of static size 1)."""
    lead = ndim - array.ndim
    view = array.view((1,) * lead + array.shape, (0,) * lead + array.strides)
    return view, (True,) * lead + tuple(n == 1 for n in static_shape)


def _host(value):
    return value.get() if isinstance(value, DeviceArray) else np.asarray(value)


def _write(device, node, inputs, out):
    """Run elementwise `node` into `out`; False when the device declined."""
    return device.kernel(node, inputs, out) is not None


# -- the ops -----------------------------------------------------------------------------------

def _alloc(device, node, inputs):
    value, *sizes = inputs
    target = tuple(int(_host(s)) for s in sizes)
    declared = node.inputs[0].type.shape
    lead = len(target) - value.ndim
    if any(n < 0 for n in target) or any(
            size != target[lead + d] and static != 1
            for d, (size, static) in enumerate(zip(value.shape, declared))):
        return None  # the reference names the size that does not fit
    out = device.empty(target, node.outputs[0].dtype)
    if out.size == 0:
        return out
    padded, pattern = _padded(value, declared, len(target))
    copy = _copy_node(value.dtype.name, out.dtype.name, pattern)
    return out if _write(device, copy, [padded], out) else None


def _join(device, node, inputs):
    ndim = node.outputs[0].ndim
    axis = node.op.axis % ndim
    first = inputs[0].shape
    if any(x.ndim != ndim or any(n != first[d] for d, n in enumerate(x.shape) if d != axis)
           for x in inputs):
        return None  # the reference names the shapes that do not agree
    shape = list(first)
    shape[axis] = sum(x.shape[axis] for x in inputs)
    out = device.empty(shape, node.outputs[0].dtype)
    offset = 0
    for x in inputs:
        if x.size:
            slab = out.view(x.shape, out.strides, offset * out.strides[axis])
            copy = _copy_node(x.dtype.name, out.dtype.name, (False,) * ndim)
            if not _write(device, copy, [x], slab):
                return None
        offset += x.shape[axis]
    return out


def _inc_subtensor(device, node, inputs):
    op = node.op
    x, y, *index = inputs
    out = device.copy(x)
    stand_in = ghost(out)
    key = numpy_index(node, op.idx_list, [_host(i) for i in index], stand_in)
    view = unghost(out, stand_in[(*key, Ellipsis)], stand_in)
    check_value_shape(node, node.inputs[1], ghost(y), view.shape)
    if view.size == 0:
        return out
    padded, pattern = _padded(y, node.inputs[1].type.shape, view.ndim)
    if op.set_instead_of_inc:
        done = _write(device, _copy_node(y.dtype.name, out.dtype.name, pattern), [padded], view)
    else:
        done = _write(device, _add_node(out.dtype.name, pattern), [view, padded], view)
    return out if done else None
