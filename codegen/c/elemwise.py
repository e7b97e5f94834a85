"""Elementwise kernels: a Composite (or a single Elemwise, seen as a one-step
Composite) rendered as one C loop over strided, broadcast operands.

The kernel's source depends only on the scalar steps and dtypes (and on what
this machine's toolchain offers, see build.features), never on shapes or on
user-chosen names, so one compiled kernel serves every function (and every
rank) that computes the same expression:

    void st_kernel(int64_t ndim, const int64_t *shape, char **data,
                   const int64_t *strides)

Operand k (inputs first, the output last) lives at data[k] with byte strides
strides[k * ndim + d]. The Python side (`run`) broadcasts, allocates the
output, merges dimensions that are contiguous in every operand so that the
innermost loop is as long as possible, and calls the kernel once.

The generated source says what one element is: `st_row`, the scalar loops
over a row (a contiguous and a strided variant) with the steps' scalar C, and
where every step has one, `st_velem`, the same steps on AVX2 vectors
(vector.py). The loops around them (the walk over dimensions, the split across
OpenMP threads above `ST_PAR_MIN` elements, the vector row loop and its
run-time CPU check) are the runtime template runtime/elemwise_loop.h. The
library also exports `st_bind_threads` (the process's thread count, bound by
build.load) and `st_threads_used` (threads of the last call, for tests).
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c import build, vector
from symtheano.codegen.c.scalar import C_TYPES, c_expression, c_type, literal

KERNEL_NAME = "st_kernel"
CDEF = ("void st_kernel(int64_t ndim, const int64_t *shape, char **data, "
        "const int64_t *strides);\n"
        "void st_bind_threads(int *cell);\n"
        "int st_threads_used(void);")
# A call is split across threads from PARALLEL_WORK / vector.cost(op) elements on
# (x + y: 100,000; exp(x) * y: 28,600; the fused expression: 10,000). On an
# idle machine the split breaks even at about 150,000 units of work (16-core Xeon,
# 2 threads); this is 2.5 times that, where 2 threads give 1.4-1.7x.
PARALLEL_WORK = 400_000
PARALLEL_MIN_ELEMENTS = 4_096


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


def render_composite(op, vectorize=True):
    """C source of the kernel computing Composite `op`, or None if a step has no C.
    `vectorize=False` leaves out the vector path (the scalar loops only)."""
    body, result = composite_steps(op)
    if body is None:
        return None
    velem = None
    if vectorize:
        features = build.features()
        if features.vector:
            velem = vector.render_velem(op, features.mvec)
    out_dtype = op.step_dtypes[-1]
    in_types = [c_type(d) for d, _ in op.input_types]
    loads_strided = [f"const {t} i{k} = *(const {t} *)(p[{k}] + i * st[{k}]);"
                     for k, t in enumerate(in_types)]
    loads_contig = [f"const {t} i{k} = ((const {t} *)p[{k}])[i];"
                    for k, t in enumerate(in_types)]
    out_t = c_type(out_dtype)
    store_strided = f"*({out_t} *)(p[{op.nin}] + i * st[{op.nin}]) = {result};"
    store_contig = f"(({out_t} *)p[{op.nin}])[i] = {result};"
    sizes = ", ".join(f"(int64_t)sizeof({t})" for t in in_types + [out_t])
    par_min = max(PARALLEL_MIN_ELEMENTS, -(-PARALLEL_WORK // vector.cost(op)))
    indent = "            "
    lines = ['#include "symtheano_rt.h"']
    if velem is not None:  # without <immintrin.h>, which takes 0.4 s to compile
        lines += ["#define ST_VECMATH_LEAN", '#include "vecmath.h"']
    lines += [
        "",
        f"#define ST_N_IN {op.nin}",
        f"#define ST_PAR_MIN {par_min}",
        f"static const int64_t st_item[ST_N_IN + 1] = {{{sizes}}};",
        "",
        "static void st_row(int64_t n, char *const *p, const int64_t *st)",
        "{",
        "    int64_t k, contiguous = 1;",
        "    for (k = 0; k <= ST_N_IN; k++)",
        "        if (st[k] != st_item[k]) contiguous = 0;",
        "    if (contiguous) {",
        "        for (int64_t i = 0; i < n; i++) {",
        *[indent + s for s in loads_contig + body + [store_contig]],
        "        }",
        "    } else {",
        "        for (int64_t i = 0; i < n; i++) {",
        *[indent + s for s in loads_strided + body + [store_strided]],
        "        }",
        "    }",
        "}",
        "",
    ]
    if velem is not None:
        lines += [f"#define ST_VECTOR_{vector.SUFFIX[out_dtype].upper()}", velem, ""]
    lines += ['#include "elemwise_loop.h"', ""]
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
