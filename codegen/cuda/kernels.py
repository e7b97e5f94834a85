"""Which CUDA library computes a node: `kernel_for(node)` returns a `Kernel` (the
CUDA source of its library, the kernels in it and how the host lays a call out),
or None for a node the CUDA back end has no kernel for (it then runs its
reference `perform` on host copies; see driver.py).

Covered: elementwise nodes (Elemwise and the fused Composite), reductions (Sum,
Prod, Max, Min, All, Any, Argmax, Argmin, and FusedReduce: a Composite reduced
in the same kernel), Softmax and LogSoftmax. Products go to cuBLAS (cublas.py),
not to generated kernels. The sources depend only on what is computed (scalar
steps, dtypes, the reduction kind), never on shapes, axes or user-chosen names;
the node-specific facts (axes, broadcast patterns) are `params`, applied by
the host when it lays out a call.
"""

from __future__ import annotations

import dataclasses

from symtheano.codegen.c.elemwise_emit import as_composite, broadcast_masks
from symtheano.codegen.cuda import elemwise, nnet, reduce

from symtheano.tensor.composite import FusedReduce
from symtheano.tensor.nnet import LogSoftmax, Softmax

MAX_DIMS = 16  # ST_CUDA_MAX_DIMS in runtime/symtheano_rt.cuh


@dataclasses.dataclass(frozen=True)
class Kernel:
    """A node's CUDA library.

    kind: "elementwise", "reduce" or "softmax"; source: the CUDA source; symbols:
    the names of its kernels (with the default ST_SYM, st_<name>); params: what the
    host needs besides the source (elementwise: the output ndim, the inplace
    input or -1, per input the mask of declared-broadcastable dimensions;
    reduce: the reduced axes, ndim and the masks; softmax: the axis or None)."""

    kind: str
    source: str
    symbols: tuple
    params: tuple


def _symbols(names):
    return tuple(f"st_{n}" for n in names)


def _elementwise(node):
    composite = as_composite(node)
    if composite is None:
        return None
    source = elemwise.render_composite(composite)
    if source is None:
        return None
    inplace = -1 if composite.inplace is None else composite.inplace
    return Kernel("elementwise", source, _symbols(elemwise.KERNELS),
                  (node.outputs[0].ndim, inplace, broadcast_masks(node)))


def _reduction(node):
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
    axes = reduce.reduced_axes(reduce_op, ndim)
    return Kernel("reduce", source, _symbols(reduce.KERNELS),
                  (kind, ndim, axes, broadcast_masks(node)))


def _softmax(node):
    if type(node.op) not in (Softmax, LogSoftmax):
        return None
    source = nnet.render_softmax(node.inputs[0].dtype, isinstance(node.op, LogSoftmax))
    if source is None:
        return None
    return Kernel("softmax", source, _symbols(nnet.KERNELS), (node.op.axis,))


def kernel_for(node):
    """The Kernel computing `node`, or None when the CUDA back end has none."""
    if any(v.ndim > MAX_DIMS for v in (*node.inputs, *node.outputs)):
        return None
    for make in (_elementwise, _reduction, _softmax):
        found = make(node)
        if found is not None:
            return found
    return None
