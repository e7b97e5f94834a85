"""Calling a node's native entry (runtime/st_node.h) from Python.

The program runner (vm/st_vm.c) calls `st_node` entries directly. Where it is
not used (no Python headers to build it, or mode="DEBUG", which runs node by
node), `entry_perform(node, address, params)` turns the same entry into a
perform-compatible callable, so that a node's checks, output shapes and loop
layout live in C only: the context's callbacks (cffi callbacks) allocate
outputs as NumPy arrays, reuse an input or make a view of one, and a call the
entry declines (ST_FALLBACK) runs the op's reference `perform`, as the runner
does. Inputs the entry cannot read (byte-swapped, misaligned, more than
ST_MAX_DIMS dimensions) go to the reference without a call.

A call costs a few microseconds of Python (describing the arrays, one callback
per output); each callable keeps its contexts (the st_ctx with its parameters,
the st_tensor array) for reuse, one per call in flight, since cffi releases the
GIL during the entry and several threads may call at once.
"""

from __future__ import annotations

import functools

import numpy as np

MAX_DIMS = 32  # ST_MAX_DIMS
OK, FALLBACK, ERROR = 0, 1, -1

def _cdef():
    """The node ABI as cffi declarations: the marked part of runtime/st_node.h (with
    ST_MAX_DIMS spelled out), and the context the callbacks of this module see."""
    from symtheano.codegen.c.build import RUNTIME_DIR

    text = (RUNTIME_DIR / "st_node.h").read_text()
    abi = text.split("/* -- cffi: begin")[1].split("*/", 1)[1].split("/* -- cffi: end")[0]
    return (abi.replace("ST_MAX_DIMS", str(MAX_DIMS))
            + "typedef struct { st_ctx base; void *call; } st_py_ctx;\n")


class _Call:
    """The state of a call in flight: the node's arrays and what the callbacks made."""

    __slots__ = ("inputs", "outputs", "dtypes", "error")

    def __init__(self, dtypes):
        self.dtypes = dtypes
        self.inputs = self.outputs = self.error = None


class _ViewOf:
    """An array interface over memory inside `base` (kept alive by the view)."""

    def __init__(self, base, data, shape, strides, dtype):
        self.base = base
        self.__array_interface__ = {
            "data": (data, not base.flags.writeable), "shape": shape, "strides": strides,
            "typestr": dtype.str, "version": 3}


@functools.cache
def _runtime():
    """(ffi, (alloc, reuse, view) callbacks), made once per process."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(_cdef())

    def state(ctx):
        return ffi.from_handle(ffi.cast("st_py_ctx *", ctx).call)

    def guarded(fn):
        def callback(ctx, *args):
            call = state(ctx)
            try:
                return fn(call, *args)
            except BaseException as exc:  # noqa: BLE001 - re-raised after the entry returns
                call.error = exc
                return -1
        return callback

    @guarded
    def alloc(call, k, ndim, shape, out):
        a = np.empty(tuple(shape[0:ndim]), dtype=call.dtypes[k])
        call.outputs[k] = a
        describe(ffi, a, out)
        return 0

    @guarded
    def reuse(call, k, j, out):
        a = call.inputs[j]
        call.outputs[k] = a
        describe(ffi, a, out)
        return 0

    @guarded
    def view(call, k, j, t):
        nd = t.ndim
        data = int(ffi.cast("uintptr_t", t.data))
        holder = _ViewOf(call.inputs[j], data, tuple(t.shape[0:nd]), tuple(t.strides[0:nd]),
                         np.dtype(call.dtypes[k]))
        call.outputs[k] = np.asarray(holder)
        return 0

    callbacks = (  # -1 (a failed callback) should anything escape `guarded`
        ffi.callback("int(st_ctx *, int64_t, int64_t, const int64_t *, st_tensor *)", alloc,
                     error=-1),
        ffi.callback("int(st_ctx *, int64_t, int64_t, st_tensor *)", reuse, error=-1),
        ffi.callback("int(st_ctx *, int64_t, int64_t, const st_tensor *)", view, error=-1),
    )
    return ffi, callbacks


def describe(ffi, a, t):
    """Fill st_tensor `t` with array `a`'s data pointer, shape and byte strides."""
    try:
        t.data = ffi.from_buffer(a)  # C-contiguous (the array keeps the memory alive)
    except ValueError:
        t.data = ffi.cast("char *", a.ctypes.data)
    nd = a.ndim
    t.ndim = nd
    if nd:
        t.shape[0:nd] = a.shape
        t.strides[0:nd] = a.strides


def _readable(a):
    return (isinstance(a, np.ndarray) and a.flags.aligned and a.dtype.isnative
            and a.ndim <= MAX_DIMS)


def entry_perform(node, address, params):
    """A perform(node, inputs, output_storage) that runs the st_node entry at
    `address` with `params`, or the op's perform for the calls it declines."""
    ffi, (alloc, reuse, view) = _runtime()
    fn = ffi.cast("st_node_fn", address)
    c_params = ffi.new("int64_t[]", [int(p) for p in params] or [0])
    n_params = len(params)
    dtypes = [np.dtype(v.dtype) for v in node.outputs]
    n_in, n_out = len(node.inputs), len(node.outputs)
    reference = node.op.perform
    free = []  # contexts not in use; each call (several threads may call) takes one

    def context():
        call = _Call(dtypes)
        handle = ffi.new_handle(call)
        ctx = ffi.new("st_py_ctx *", {"base": {"alloc": alloc, "reuse": reuse, "view": view,
                                               "params": c_params, "n_params": n_params},
                                      "call": handle})
        tensors = ffi.new("st_tensor[]", n_in + n_out)
        return call, handle, ctx, ffi.cast("st_ctx *", ctx), tensors, tensors + n_in

    def perform(node, inputs, output_storage):
        if not all(map(_readable, inputs)):
            return reference(node, inputs, output_storage)
        try:
            slot = free.pop()
        except IndexError:
            slot = context()
        call, _, _, ctx, tensors, outs = slot
        call.inputs, call.outputs = inputs, [None] * n_out
        try:
            for j, a in enumerate(inputs):
                describe(ffi, a, tensors[j])
            rc = fn(ctx, tensors, n_in, outs)
        finally:
            outputs, error = call.outputs, call.error
            call.inputs = call.outputs = call.error = None
            free.append(slot)
        if rc == FALLBACK:
            return reference(node, inputs, output_storage)
        if rc != OK:
            if error is not None:
                raise error
            raise RuntimeError(f"symtheano: the native entry of {node.op} failed")
        for k, out in enumerate(outputs):
            if out is None:
                raise RuntimeError(f"symtheano internal error: the native entry of {node.op} "
                                   f"left output {k} unset")
            output_storage[k][0] = out

    return perform
