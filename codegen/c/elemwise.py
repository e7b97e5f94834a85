"""Elementwise kernels: a Composite (or a single Elemwise, seen as a one-step
Composite) rendered as one C loop over strided, broadcast operands.

The kernel's source depends only on the scalar steps and dtypes, never on
shapes or on user-chosen names, so one compiled kernel serves every function
(and every rank) that computes the same expression:

    void st_kernel(int64_t ndim, const int64_t *shape, char **data,
                   const int64_t *strides)

Operand k (inputs first, the output last) lives at data[k] with byte strides
strides[k * ndim + d]. The Python side (`run`) broadcasts, allocates the
output, merges dimensions that are contiguous in every operand so that the
innermost loop is as long as possible, and calls the kernel once.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c.scalar import C_TYPES, c_expression, c_type, literal

KERNEL_NAME = "st_kernel"
CDEF = ("void st_kernel(int64_t ndim, const int64_t *shape, char **data, "
        "const int64_t *strides);")


def composite_steps(op):
    """(C lines computing the steps of Composite `op` from i0, i1, ..., name of the
    result), or (None, None) when a step has no C. Shared by every kernel that
    evaluates a Composite (elementwise loops, fused reductions)."""
    dtypes = [d for d, _ in op.input_types] + [d for d, _, _ in op.constants]
    values = [f"i{k}" for k in range(op.nin)]
    values += [literal(arr.reshape(-1)[0], arr.dtype.name) for arr in op.constant_arrays]
    lines = []
    for k, (scalar_op, refs, _) in enumerate(op.steps):
        out_dtype = op.step_dtypes[k]
        if out_dtype not in C_TYPES:
            return None, None
        expr = c_expression(scalar_op, [values[r] for r in refs], [dtypes[r] for r in refs],
                            out_dtype)
        if expr is None:
            return None, None
        t = c_type(out_dtype)
        lines.append(f"const {t} s{k} = ({t})({expr});")
        values.append(f"s{k}")
        dtypes.append(out_dtype)
    return lines, values[-1]


def render_composite(op):
    """C source of the kernel computing Composite `op`, or None if a step has no C."""
    body, result = composite_steps(op)
    if body is None:
        return None
    out_dtype = op.step_dtypes[-1]
    n_ops = op.nin + 1
    in_types = [c_type(d) for d, _ in op.input_types]
    loads_strided = [f"const {t} i{k} = *(const {t} *)(p[{k}] + i * st[{k}]);"
                     for k, t in enumerate(in_types)]
    loads_contig = [f"const {t} i{k} = ((const {t} *)p[{k}])[i];"
                    for k, t in enumerate(in_types)]
    out_t = c_type(out_dtype)
    store_strided = f"*({out_t} *)(p[{op.nin}] + i * st[{op.nin}]) = {result};"
    store_contig = f"(({out_t} *)p[{op.nin}])[i] = {result};"
    sizes = ", ".join(f"(int64_t)sizeof({t})" for t in in_types + [out_t])
    indent = "            "
    lines = [
        '#include "symtheano_rt.h"',
        "",
        "void st_kernel(int64_t ndim, const int64_t *shape, char **data,",
        "               const int64_t *strides)",
        "{",
        f"    enum {{ N_OPS = {n_ops} }};",
        f"    static const int64_t item[N_OPS] = {{{sizes}}};",
        "    char *p[N_OPS];",
        "    int64_t st[N_OPS], idx[ST_MAX_DIMS] = {0};",
        "    int64_t d, k, inner, contiguous = 1;",
        "    if (ndim < 1 || ndim > ST_MAX_DIMS) return;",
        "    for (d = 0; d < ndim; d++) if (shape[d] == 0) return;",
        "    inner = shape[ndim - 1];",
        "    for (k = 0; k < N_OPS; k++) {",
        "        p[k] = data[k];",
        "        st[k] = strides[k * ndim + ndim - 1];",
        "        if (st[k] != item[k]) contiguous = 0;",
        "    }",
        "    for (;;) {",
        "        if (contiguous) {",
        "            for (int64_t i = 0; i < inner; i++) {",
        *[indent + s for s in loads_contig + body + [store_contig]],
        "            }",
        "        } else {",
        "            for (int64_t i = 0; i < inner; i++) {",
        *[indent + s for s in loads_strided + body + [store_strided]],
        "            }",
        "        }",
        "        for (d = ndim - 2; d >= 0; d--) {",
        "            for (k = 0; k < N_OPS; k++) p[k] += strides[k * ndim + d];",
        "            if (++idx[d] < shape[d]) break;",
        "            for (k = 0; k < N_OPS; k++) p[k] -= strides[k * ndim + d] * shape[d];",
        "            idx[d] = 0;",
        "        }",
        "        if (d < 0) break;",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def merged_layout(shape, operand_strides):
    """(shape, strides per operand) with size-1 dimensions dropped and dimensions
    that are contiguous in every operand merged; at least one dimension."""
    dims = [(n, [s[d] for s in operand_strides]) for d, n in enumerate(shape) if n != 1]
    merged = []
    for n, strides in dims:
        if merged:
            pn, pstrides = merged[-1]
            if all(ps == s * n for ps, s in zip(pstrides, strides)):
                merged[-1] = (pn * n, strides)
                continue
        merged.append((n, strides))
    if not merged:
        merged = [(1, [0] * len(operand_strides))]
    return [n for n, _ in merged], [[s[d] for _, s in merged] for d in range(
        len(operand_strides))]


def run(kernel, ffi, inputs, out):
    """Call a compiled kernel on `inputs` (broadcast to `out`'s shape) writing `out`."""
    shape = out.shape
    operands = [np.broadcast_to(a, shape) if a.shape != shape else a for a in inputs]
    operands.append(out)
    dims, strides = merged_layout(shape, [a.strides for a in operands])
    ndim = len(dims)
    flat = [s for per_operand in strides for s in per_operand]
    kernel(ndim, ffi.new("int64_t[]", dims),
           ffi.new("char *[]", [ffi.cast("char *", a.ctypes.data) for a in operands]),
           ffi.new("int64_t[]", flat))
