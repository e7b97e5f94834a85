"""CUDA elementwise kernels: a Composite (or a single Elemwise, seen as a
one-step Composite) rendered as a CUDA library of grid-stride kernels.

The generated source says what one element is: the operand types and
`st_apply`, the Composite's scalar steps as a device function of the input
values. The steps are the C back end's (codegen/c/elemwise.composite_steps,
which renders each scalar op with codegen/c/scalar.py): C's fixed-width types,
libm's function names (CUDA's device math library has the same) and the
runtime helpers, which runtime/symtheano_rt.cuh compiles as device code. The
kernels around it (contiguous, vectorised contiguous, strided with 32- or
64-bit indices) are the template runtime/elemwise.cuh.

As for C, the source depends only on the scalar steps and dtypes, never on
shapes, strides or user-chosen names, so one compiled library serves every
function that computes the same expression.
"""

from __future__ import annotations

from symtheano.codegen.c.elemwise import composite_steps
from symtheano.codegen.c.scalar import C_TYPES, c_type

KERNELS = ("ew_contig", "ew_strided32", "ew_strided64")


def operand_lines(dtypes, out_type):
    """The declarations every CUDA template reads: ST_N_IN, the operand types
    st_t<k> (and `out_type` as st_tout when given), ST_ARGS and ST_INPUTS."""
    n = len(dtypes)
    lines = [f"#define ST_N_IN {n}"]
    lines += [f"typedef {c_type(d)} st_t{k};" for k, d in enumerate(dtypes)]
    if out_type is not None:
        lines.append(f"typedef {out_type} st_tout;")
    lines.append("#define ST_ARGS(L) " + ", ".join(f"L({k}, st_t{k})" for k in range(n)))
    lines.append("#define ST_INPUTS(X) " + " ".join(f"X({k}, st_t{k})" for k in range(n)))
    return lines


def apply_lines(composite, input_dtypes, result_type):
    """`st_apply`: the value computed from the input values (the Composite's steps,
    or the single input when `composite` is None), as `result_type`; None when a
    step has no C."""
    if composite is None:
        body, result = [], "i0"
    else:
        body, result = composite_steps(composite)
        if body is None:
            return None
    params = ", ".join(f"const st_t{k} i{k}" for k in range(len(input_dtypes)))
    return [f"static __device__ __forceinline__ {result_type} st_apply({params})",
            "{",
            *["    " + line for line in body],
            f"    return ({result_type})({result});",
            "}"]


def render_composite(op):
    """CUDA source of the elementwise library computing Composite `op`, or None
    when a step (or an operand dtype) has no C."""
    dtypes = [d for d, _ in op.input_types]
    if any(d not in C_TYPES for d in dtypes) or op.dtype not in C_TYPES:
        return None
    apply = apply_lines(op, dtypes, "st_tout")
    if apply is None:
        return None
    lines = [
        f"/* symtheano CUDA elementwise kernels: {op.nin} inputs ({', '.join(dtypes)}) "
        f"-> {op.dtype}, {len(op.steps)} steps */",
        '#include "symtheano_rt.cuh"',
        "",
        *operand_lines(dtypes, c_type(op.dtype)),
        "",
        *apply,
        "",
        '#include "elemwise.cuh"',
        "",
    ]
    return "\n".join(lines)
