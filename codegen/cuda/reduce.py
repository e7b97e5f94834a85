"""CUDA reduction kernels: sum, prod, max, min, all, any, argmax and argmin over any
axes, of an input or of a fused elementwise expression (a `FusedReduce`, whose
Composite is evaluated inside the reduction and never materialised).

The generated source says what is reduced (the types, the kind, `st_apply`
computing the reduced value from the inputs' values with the C back end's
scalar steps); the kernels are the template runtime/reduce.cuh: a block-level
tree reduction per output element (optionally split across blocks, then a
final pass over the partial states) and a one-thread-per-output variant for
reductions over a strided axis. Which reductions have a kernel, and with which
dtypes, is the C back end's rule (codegen/c/reduce.py), so the two back ends
decline the same nodes.
"""

from __future__ import annotations

from symtheano.codegen.c.reduce import _supported, reduced_axes, reduction_kind
from symtheano.codegen.c.scalar import C_TYPES, c_type
from symtheano.codegen.cuda.elemwise import apply_lines, operand_lines

KERNELS = ("reduce_rows", "reduce_final", "reduce_columns")
__all__ = ["KERNELS", "reduced_axes", "reduction_kind", "render_reduction"]


def render_reduction(kind, input_dtypes, out_dtype, composite=None):
    """CUDA source of a reduction library, or None when there is no kernel for it.

    kind: an ST_REDUCE name (codegen/c/reduce.KINDS). Without a Composite the
    value reduced is the single input; with one, the Composite of the inputs."""
    input_dtypes = [str(d) for d in input_dtypes]
    out_dtype = str(out_dtype)
    if any(d not in C_TYPES for d in input_dtypes):
        return None
    if composite is None:
        if len(input_dtypes) != 1:
            return None
        val_dtype = input_dtypes[0]
    else:
        val_dtype = composite.dtype
    if not _supported(kind, val_dtype, out_dtype):
        return None
    apply = apply_lines(composite, input_dtypes, "st_val")
    if apply is None:
        return None
    lines = [
        f"/* symtheano CUDA reduction kernels ({kind}): {len(input_dtypes)} inputs "
        f"({', '.join(input_dtypes)}), value {val_dtype} -> {out_dtype} */",
        '#include "symtheano_rt.cuh"',
        "",
        *operand_lines(input_dtypes, None),
        f"#define ST_REDUCE {kind}",
        f"typedef {c_type(val_dtype)} st_val;",
        f"typedef {c_type(out_dtype)} st_acc;",
        "",
        *apply,
        "",
        '#include "reduce.cuh"',
        "",
    ]
    return "\n".join(lines)
