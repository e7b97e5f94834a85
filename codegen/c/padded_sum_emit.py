"""The emitter for PaddedSum nodes (symtheano/tensor/padded_sum.py): the entry
runtime/padded_sum_node.h, compiled once for every function, cuts the output
into regions and runs elementwise kernels over them, passed by address in the
params: the kernel of the whole sum (where every term's box covers the output)
and one accumulating kernel per term. The kernels are ordinary elementwise
libraries (elemwise_emit.source_of), shared with every node computing the same
expression.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c import build, node_call
from symtheano.codegen.c.elemwise_emit import MAX_DIMS, source_of
from symtheano.codegen.c.linker import emitter, native_emitter

from symtheano.tensor.padded_sum import PaddedSum

SOURCE = '#include "padded_sum_node.h"\n'
NONE = -(2 ** 63)  # ST_PS_NONE
KIND_CODES = {"inc": 0, "set": 1, "full": 2}
MAX_TERMS = 64  # ST_PS_MAX_TERMS


def _kernel(composite):
    source = source_of(composite)
    if source is None:
        return None
    return build.address(source, "st_kernel", description=f"elementwise {composite.label()}")


@native_emitter
def padded_sum_entry(node):
    op = node.op
    if not isinstance(op, PaddedSum) or op.ndim > MAX_DIMS or len(op.terms) > MAX_TERMS:
        return None
    term_inputs = node.inputs[op.ndim:]
    (fused, fused_sources), accs = op.kernels([v.type for v in term_inputs],
                                              op.interior_aliases(node))
    fused_address = _kernel(fused)
    if fused_address is None:
        return None
    params = [op.ndim, np.dtype(op.dtype).itemsize, len(op.terms), len(term_inputs),
              fused_address, len(fused_sources), *fused_sources]
    first = 0
    for term, (acc, acc_sources) in zip(op.terms, accs):
        acc_address = _kernel(acc)
        if acc_address is None:
            return None
        params += [KIND_CODES[term.kind], first, term.n_inputs, acc_address,
                   len(acc_sources), *acc_sources, len(term.box)]
        for start, stop in term.box:
            params += [NONE if start is None else start, NONE if stop is None else stop]
        first += term.n_inputs
    params += [sum(1 << d for d, n in enumerate(v.type.shape) if n == 1) for v in term_inputs]
    address = build.address(SOURCE, "st_node", description="padded sum")
    return address, tuple(int(p) for p in params)


@emitter
def padded_sum(node):
    """The same entry called from Python (no runner, or mode="DEBUG")."""
    entry = padded_sum_entry(node)
    return None if entry is None else node_call.entry_perform(node, *entry)
