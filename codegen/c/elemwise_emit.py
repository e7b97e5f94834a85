"""The emitter for elementwise nodes (Elemwise and the fused Composite): one
compiled kernel per distinct scalar expression (see elemwise.py)."""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c import build, elemwise
from symtheano.codegen.c.linker import emitter

from symtheano.tensor.composite import Composite, check_broadcast
from symtheano.tensor.elemwise import Elemwise


def as_composite(node):
    """The Composite an elementwise node computes, or None for other nodes."""
    op = node.op
    if isinstance(op, Composite):
        return op
    if isinstance(op, Elemwise):
        types = tuple((i.dtype, i.ndim) for i in node.inputs)
        steps = ((op.scalar_op, tuple(range(len(node.inputs))), node.outputs[0].ndim),)
        return Composite(types, (), steps)
    return None


@emitter
def elementwise(node):
    composite = as_composite(node)
    if composite is None:
        return None
    source = elemwise.render_composite(composite)
    if source is None:
        return None
    ffi, lib = build.load(source, elemwise.CDEF, description=f"elementwise {composite.label()}")
    kernel = lib.st_kernel
    dtype = node.outputs[0].dtype
    inplace = composite.inplace
    ndim = node.outputs[0].ndim

    def perform(node, inputs, output_storage):
        shape = check_broadcast(composite, node, inputs)
        if len(shape) < ndim:  # inputs of lower rank are left-padded, as in the reference
            shape = (1,) * (ndim - len(shape)) + tuple(shape)
        if inplace is not None and inputs[inplace].shape == shape:
            out = inputs[inplace]
        else:
            out = np.empty(shape, dtype=dtype)
        elemwise.run(kernel, ffi, inputs, out)
        output_storage[0][0] = out

    return perform
