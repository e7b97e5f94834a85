"""The emitters for elementwise nodes (Elemwise and the fused Composite): one
compiled library per distinct scalar expression (see elemwise.py), holding the
loop `st_kernel` and the node entry `st_node` (runtime/elemwise_node.h) that
the program runner calls: broadcasting, the output, the merged loop layout.
"""

from __future__ import annotations

from symtheano.codegen.c import build, elemwise, node_call
from symtheano.codegen.c.linker import emitter, native_emitter

from symtheano.tensor.composite import Composite
from symtheano.tensor.elemwise import Elemwise

MAX_DIMS = 32  # ST_MAX_DIMS in runtime/st_node.h


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


def source_of(composite):
    """The C source of `composite`'s library (kernel and node entry), or None when
    a step has no C."""
    source = elemwise.render_composite(composite)
    return None if source is None else source + '\n#include "elemwise_node.h"\n'


def broadcast_masks(node):
    """Per input, the bit mask of the dimensions declared broadcastable (static 1)."""
    return tuple(sum(1 << d for d, n in enumerate(i.type.shape) if n == 1)
                 for i in node.inputs)


@native_emitter
def elementwise_entry(node):
    composite = as_composite(node)
    if composite is None or node.outputs[0].ndim > MAX_DIMS:
        return None
    source = source_of(composite)
    if source is None:
        return None
    inplace = -1 if composite.inplace is None else composite.inplace
    params = (node.outputs[0].ndim, inplace, *broadcast_masks(node))
    address = build.address(source, "st_node", description=f"elementwise {composite.label()}")
    return address, params


@emitter
def elementwise(node):
    """The same entry called from Python (no runner, or mode="DEBUG"): broadcasting
    and the loop layout stay in elemwise_node.h."""
    entry = elementwise_entry(node)
    return None if entry is None else node_call.entry_perform(node, *entry)
