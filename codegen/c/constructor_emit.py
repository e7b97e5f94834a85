"""Native entries for ops that build an array from sizes alone: Eye (numpy.eye),
which every Hessian's identity seeds (symtheano/derivatives.py). The C is
runtime/constructor_node.h, one small library of its own, so that adding an op
here changes the key of no other library (the shape library is bundled at
install time)."""

from __future__ import annotations

from symtheano.codegen.c import build
from symtheano.codegen.c.linker import native_emitter
from symtheano.codegen.c.shape_emit import dtype_code

from symtheano.tensor.constructors import Eye

SOURCE = '#include "constructor_node.h"\n'
_DTYPES = ("float64", "float32", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
           "uint32", "uint64")


@native_emitter
def constructor_entry(node):
    if not isinstance(node.op, Eye) or node.outputs[0].dtype not in _DTYPES:
        return None
    if any(i.dtype != "int64" or i.ndim != 0 for i in node.inputs):
        return None
    try:
        address = build.address(SOURCE, "st_eye", description="eye")
    except build.CompilerUnavailable:
        return None
    return address, (dtype_code(node.outputs[0].dtype),)
