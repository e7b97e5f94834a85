"""The emitters for reductions (Sum, Prod, Max, Min, All, Any, Argmax, Argmin)
and for `FusedReduce` (a Composite reduced in the same loop): one compiled
library per distinct (reduction, expression, dtypes), see reduce.py, whose
node entry `st_node` (runtime/reduce_node.h) the program runner calls with the
node's axes and broadcast patterns as parameters. Without the runner (and in
mode="DEBUG") the same entry runs from Python (node_call.py).

Empty arrays take the op's own `perform` (the entry declines them): it returns
the identity of sum, prod, all and any, and raises the reference's error for
max, min, argmax and argmin.
"""

from __future__ import annotations

from symtheano.codegen.c import build, node_call, reduce
from symtheano.codegen.c.linker import emitter, native_emitter

from symtheano.tensor.composite import FusedReduce


def _address(kind, node, composite):
    """The address of the st_node entry of `node`'s reduction library, or None when
    it has no C."""
    source = reduce.render_reduction(kind, [i.dtype for i in node.inputs],
                                     node.outputs[0].dtype, composite)
    if source is None:
        return None
    what = composite.label() if composite is not None else node.inputs[0].dtype
    return build.address(source, "st_node", description=f"{kind[3:].lower()} of {what}")


@native_emitter
def reduction_entry(node):
    """(address of the library's st_node, params) for a reduction node, or None."""
    op = node.op
    composite = None
    if isinstance(op, FusedReduce):
        composite, reduce_op = op.composite, op.reduce_op
        ndim = composite.ndim
    else:
        reduce_op = op
        ndim = node.inputs[0].ndim
    kind = reduce.reduction_kind(reduce_op)
    if kind is None or ndim > reduce.MAX_DIMS:
        return None
    address = _address(kind, node, composite)
    if address is None:
        return None
    masks = [sum(1 << d for d, n in enumerate(i.type.shape) if n == 1) for i in node.inputs]
    params = reduce.node_params(kind, ndim, reduce.reduced_axes(reduce_op, ndim), masks)
    return address, params


@emitter
def reduction(node):
    entry = reduction_entry(node)
    return None if entry is None else node_call.entry_perform(node, *entry)
