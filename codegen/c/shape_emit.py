"""Native entries for the ops that rearrange or describe elements: DimShuffle,
Reshape, Subtensor, IncSubtensor, Shape, Shape_i, MakeVector, SpecifyShape
(hence addbroadcast/unbroadcast/patternbroadcast), CheckShape, Alloc and Join.

Their C (runtime/shape_node.h) shares one library with the softmax family's
(runtime/nnet_node.h, emitted by nnet_emit.py), compiled once for every
function: what a node does is data in its params (a dimshuffle pattern, an
index description, the dtype codes of the integers it reads), and the emitter
below picks the entry for the op's class. Views are returned where NumPy makes
them; anything the reference would reject makes the entry decline the call,
so the op's `perform` raises the precise error.
"""

from __future__ import annotations

import functools

import numpy as np
from symtheano.codegen.c import build
from symtheano.codegen.c.linker import native_emitter

from symtheano.tensor.elemwise import DimShuffle
from symtheano.tensor.join import Join
from symtheano.tensor.shape import (
    Alloc,
    CheckShape,
    MakeVector,
    Reshape,
    Shape,
    ShapeI,
    SpecifyShape,
)
from symtheano.tensor.subtensor import SCALAR, IncSubtensor, Subtensor, entry_kind

MAX_DIMS = 32  # ST_MAX_DIMS in runtime/st_node.h
ENTRIES = ("st_dimshuffle", "st_reshape", "st_subtensor", "st_inc_subtensor", "st_shape",
           "st_shape_i", "st_make_vector", "st_specify_shape", "st_check_shape", "st_alloc",
           "st_join",
           "st_softmax", "st_log_softmax", "st_logsumexp", "st_softmax_xent", "st_one_hot")
SOURCE = '#include "shape_node.h"\n#include "nnet_node.h"\n'
_KINDS = {"i": 1, "u": 2, "f": 3, "b": 4}  # ST_KIND_* in shape_node.h
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def dtype_code(dtype):
    """The code of a dtype in params (ST_CODE in shape_node.h): kind << 8 | itemsize."""
    dt = np.dtype(dtype)
    return _KINDS[dt.kind] << 8 | dt.itemsize


@functools.cache
def _source(vector):
    if vector:  # the AVX2/libmvec exp of nnet_node.h
        return '#include "vecmath.h"\n#define ST_NNET_VECTOR\n' + SOURCE
    return SOURCE


def entry(name, params):
    """(address of the library's entry `name`, params as ints) for a native emitter."""
    address = build.address(_source(build.features().vector), name,
                            description="shape, view and softmax nodes")
    return address, tuple(int(p) for p in params)


def _itemsize(var):
    return np.dtype(var.dtype).itemsize


def _fits_int64(value):
    return _INT64[0] <= value <= _INT64[1]


def _mask(var):
    """Bit d set: `var` is declared broadcastable (static size 1) in dimension d."""
    return sum(1 << d for d, n in enumerate(var.type.shape) if n == 1)


def index_params(idx_list, index_inputs):
    """The index description of shape_node.h, or None when a constant does not fit."""
    params = [len(index_inputs), *(dtype_code(v.dtype) for v in index_inputs), len(idx_list)]
    for e in idx_list:
        kind = entry_kind(e)
        if kind == "new":
            params.append(0)
        elif kind == "int":
            if not _fits_int64(e):
                return None
            params += [1, e]
        elif kind == "scalar":
            params.append(2)
        elif kind == "slice":
            params.append(3)
            for part in (e.start, e.stop, e.step):
                if part is None:
                    params += [0, 0]
                elif part == SCALAR:
                    params += [2, 0]
                elif _fits_int64(part):
                    params += [1, part]
                else:
                    return None
        else:  # arrays and masks: advanced indexing, not served here
            return None
    return params


def _dimshuffle(node):
    op, x = node.op, node.inputs[0]
    order = [-1 if d == "x" else d for d in op.new_order]
    return "st_dimshuffle", (_itemsize(x), x.ndim, len(order), *order)


def _reshape(node):
    x, shp = node.inputs
    if shp.ndim != 1 or shp.dtype not in _INT_NAMES:
        return None
    return "st_reshape", (_itemsize(x), node.outputs[0].ndim, dtype_code(shp.dtype))


def _subtensor(node):
    x, *index = node.inputs
    params = index_params(node.op.idx_list, index)
    if params is None:
        return None
    return "st_subtensor", (_itemsize(x), node.outputs[0].ndim, *params)


def _inc_subtensor(node):
    x, y, *index = node.inputs
    params = index_params(node.op.idx_list, index)
    if params is None or y.dtype != x.dtype:
        return None
    return "st_inc_subtensor", (_itemsize(x), int(node.op.set_instead_of_inc),
                                dtype_code(x.dtype), _mask(y), *params)


def _shape(node):
    return "st_shape", ()


def _shape_i(node):
    return "st_shape_i", (node.op.i,)


def _make_vector(node):
    out = node.outputs[0]
    if any(i.dtype != out.dtype for i in node.inputs):
        return None
    return "st_make_vector", (_itemsize(out),)


def _specify_shape(node):
    shape = node.op.shape
    return "st_specify_shape", (len(shape), *(-1 if s is None else s for s in shape))


def _check_shape(node):
    sizes = node.inputs[1:]
    if any(s.dtype not in _INT_NAMES for s in sizes):
        return None
    pairs = [p for d, s in zip(node.op.dims, sizes) for p in (d, dtype_code(s.dtype))]
    return "st_check_shape", (len(sizes), *pairs)


def _alloc(node):
    value, *dims = node.inputs
    out = node.outputs[0]
    if value.dtype != out.dtype or any(d.ndim != 0 or d.dtype not in _INT_NAMES for d in dims):
        return None
    return "st_alloc", (_itemsize(out), out.ndim, _mask(value),
                        *(dtype_code(d.dtype) for d in dims))


def _join(node):
    out = node.outputs[0]
    if any(i.dtype != out.dtype for i in node.inputs):  # NumPy would cast: the reference
        return None
    return "st_join", (_itemsize(out), out.ndim, node.op.axis % out.ndim)


_INT_NAMES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_EMITTERS = {DimShuffle: _dimshuffle, Reshape: _reshape, Subtensor: _subtensor,
             IncSubtensor: _inc_subtensor, Shape: _shape, ShapeI: _shape_i,
             MakeVector: _make_vector, SpecifyShape: _specify_shape, CheckShape: _check_shape,
             Alloc: _alloc, Join: _join}


@native_emitter
def shape_entry(node):
    emit = _EMITTERS.get(type(node.op))
    if emit is None:
        return None
    if any(v.ndim > MAX_DIMS for v in (*node.inputs, *node.outputs)):
        return None
    found = emit(node)
    if found is None:
        return None
    name, params = found
    try:
        return entry(name, params)
    except build.CompilerUnavailable:
        return None
