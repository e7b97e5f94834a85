"""Which CUDA library computes a node: `kernel_for(node)` returns a `Kernel` (the
CUDA source of its library, the kernels in it and how the host lays a call out),
or None for a node the CUDA back end has no kernel for (it then runs its
reference `perform` on host copies; see driver.py).

Covered: elementwise nodes (Elemwise and the fused Composite), reductions (Sum,
Prod, Max, Min, All, Any, Argmax, Argmin, and FusedReduce: a Composite reduced
in the same kernel), Softmax and LogSoftmax, LogSumExp and SoftmaxCrossentropy,
OneHot, integer-array indexing along one axis (AdvancedSubtensor and
AdvancedIncSubtensor of x[:, ..., :, idx]; take library), advanced indexing in
general (advindex.py: several broadcasting index arrays, boolean masks through a
device nonzero, mixed with slices, integers and new axes; set, and increments
bit-identical to np.add.at through a sort, or exact integer atomics; a float
increment on one axis comes here too), and PaddedSum (padded_sum.py: one
pass over the output, evaluating the C back end's Composites). Products go to cuBLAS (cublas.py),
not to generated kernels; Alloc, Join and IncSubtensor are assembled from
copies and elementwise kernels (assemble.py). The sources depend only on what is computed (scalar
steps, dtypes, the reduction kind), never on shapes, axes or user-chosen names;
the node-specific facts (axes, broadcast patterns) are `params`, applied by
the host when it lays out a call.
"""

from __future__ import annotations

import dataclasses

from symtheano.codegen.c.elemwise_emit import as_composite, broadcast_masks
from symtheano.codegen.cuda import advindex, elemwise, indexing, nnet, padded_sum, reduce

from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from symtheano.tensor.composite import FusedReduce
from symtheano.tensor.nnet import LogSoftmax, OneHot, Softmax
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy

MAX_DIMS = 16  # ST_CUDA_MAX_DIMS in runtime/symtheano_rt.cuh


@dataclasses.dataclass(frozen=True)
class Kernel:
    """A node's CUDA library.

    kind: "elementwise", "reduce", "softmax", "logsumexp", "one_hot", "take",
    "scatter", "advanced", "advanced_inc" or "padded_sum"; source: the CUDA
    source; symbols: the names of its kernels (with the default ST_SYM,
    st_<name>); params: what the host needs besides the source
    (elementwise: the output ndim, the inplace input or -1, per input the mask of
    declared-broadcastable dimensions; reduce: the reduced axes, ndim and the
    masks; softmax: the axis or None; logsumexp: the reduced axes and whether it is
    the cross-entropy (labels as a second input); take: the indexed axis; scatter:
    the axis and set_instead_of_inc; advanced: the idx_list; advanced_inc: the
    idx_list, set_instead_of_inc and "sorted" or "atomic"; padded_sum: the output
    ndim, the terms' boxes, each term input's term and broadcast mask);
    host_inputs: the inputs the host reads (sizes: OneHot's number of classes,
    PaddedSum's output shape, advanced indexing's integer scalars and slice
    bounds), which a program passes as host values."""

    kind: str
    source: str
    symbols: tuple
    params: tuple
    host_inputs: tuple = ()


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


def _logsumexp(node):
    op = node.op
    if type(op) is LogSumExp:
        source = nnet.render_logsumexp(node.inputs[0].dtype)
        axes = op.axis
    elif type(op) is SoftmaxCrossentropy:
        source = nnet.render_logsumexp(node.inputs[0].dtype, node.inputs[1].dtype)
        axes = (node.inputs[0].ndim - 1,)
    else:
        return None
    if source is None or node.outputs[0].dtype != node.inputs[0].dtype:
        return None
    return Kernel("logsumexp", source, _symbols(nnet.LOGSUMEXP_KERNELS),
                  (axes, type(op) is SoftmaxCrossentropy))


def _one_hot(node):
    if type(node.op) is not OneHot or node.inputs[1].ndim != 0:
        return None
    source = indexing.render_one_hot(node.outputs[0].dtype, node.inputs[0].dtype)
    if source is None:
        return None
    return Kernel("one_hot", source, _symbols(indexing.ONE_HOT_KERNELS), (), host_inputs=(1,))


def _take(node):
    op = node.op
    if type(op) not in (AdvancedSubtensor, AdvancedIncSubtensor):
        return None
    axis = indexing.take_axis(op.idx_list)
    if axis is None:
        return None
    x, index = node.inputs[0], node.inputs[-1]
    source = indexing.render_take(x.dtype, index.dtype)
    if source is None:
        return None
    symbols = _symbols(indexing.TAKE_KERNELS)
    if type(op) is AdvancedSubtensor:
        return Kernel("take", source, symbols, (axis,))
    if node.inputs[1].dtype != x.dtype or not (
            op.set_instead_of_inc or x.dtype in advindex.ATOMIC_INT_DTYPES):
        return None  # float increments: advindex's reproducible sorted path
    return Kernel("scatter", source, symbols, (axis, op.set_instead_of_inc))


def _advanced(node):
    found = advindex.kernel_parts(node)
    if found is None:
        return None
    kind, source, symbols, params, host_inputs = found
    return Kernel(kind, source, symbols, params, host_inputs=host_inputs)


def _padded_sum(node):
    found = padded_sum.kernel_parts(node)
    if found is None:
        return None
    source, params = found
    return Kernel("padded_sum", source, _symbols(padded_sum.KERNELS), params,
                  host_inputs=tuple(range(params[0])))


def kernel_for(node):
    """The Kernel computing `node`, or None when the CUDA back end has none."""
    if any(v.ndim > MAX_DIMS for v in (*node.inputs, *node.outputs)):
        return None
    for make in (_elementwise, _reduction, _softmax, _logsumexp, _one_hot, _take,
                 _advanced, _padded_sum):
        found = make(node)
        if found is not None:
            return found
    return None
