"""The emitter for reductions (Sum, Prod, Max, Min, All, Any, Argmax, Argmin)
and for `FusedReduce` (a Composite reduced in the same loop): one compiled
kernel per distinct (reduction, expression, dtypes), see reduce.py.

Empty arrays take the op's own `perform`: it returns the identity of sum, prod,
all and any, and raises the reference's error for max, min, argmax and argmin.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c import build, reduce
from symtheano.codegen.c.linker import emitter

from symtheano.tensor.composite import FusedReduce, check_broadcast


@emitter
def reduction(node):
    op = node.op
    composite = None
    if isinstance(op, FusedReduce):
        composite, reduce_op = op.composite, op.reduce_op
        ndim = composite.ndim
    else:
        reduce_op = op
        ndim = node.inputs[0].ndim
    kind = reduce.reduction_kind(reduce_op)
    if kind is None:
        return None
    source = reduce.render_reduction(kind, [i.dtype for i in node.inputs],
                                     node.outputs[0].dtype, composite)
    if source is None:
        return None
    what = composite.label() if composite is not None else node.inputs[0].dtype
    ffi, lib = build.load(source, reduce.CDEF, description=f"{kind[3:].lower()} of {what}")
    axes = reduce.reduced_axes(reduce_op, ndim)
    reducer = reduce.Reducer(lib.st_reduce, ffi, kind, axes)
    kept = [d for d in range(ndim) if d not in axes]
    dtype = np.dtype(node.outputs[0].dtype)
    constant_shapes = [c.shape for c in composite.constant_arrays] if composite else []

    def perform(node, inputs, output_storage):
        shape = inputs[0].shape
        if composite is not None and (len(shape) != ndim
                                      or any(a.shape != shape for a in inputs)):
            check_broadcast(op, node, inputs)  # equal full shapes need no check
            shape = np.broadcast_shapes(*[a.shape for a in inputs], *constant_shapes)
            shape = (1,) * (ndim - len(shape)) + shape
        if 0 in shape or ndim > reduce.MAX_DIMS:
            # The reference gives the identity, an empty result or the error.
            return op.perform(node, inputs, output_storage)
        out = np.empty(tuple(shape[d] for d in kept), dtype=dtype)
        if not reducer(inputs, shape, out):
            return op.perform(node, inputs, output_storage)
        output_storage[0][0] = out

    return perform
