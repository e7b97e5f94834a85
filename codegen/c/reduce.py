"""Reduction kernels: sum, prod, max, min, all, any, argmax and argmin over any
axes, of an input or of a fused elementwise expression (a `FusedReduce`, whose
Composite is evaluated inside the reduction loop and never materialised).

The generated source only says *what* is reduced: the C type of the reduced
value and of the result, and a function `st_elem` computing the value at one
position of a row (loads of the inputs, then the Composite's scalar steps).
The loops are the runtime template `runtime/reduce.h`, included at the end;
the kernel it defines is

    void st_reduce(int64_t n_outer, int64_t n_inner, int64_t tiles,
                   const int64_t *shape, char **data, const int64_t *strides)

and after it `runtime/reduce_node.h`, the library's node entry `st_node`
(runtime/st_node.h), which the program runner calls: it broadcasts the inputs
(checking declared broadcasting), allocates the output and computes the
layout: the output dimensions first, the reduced ones last, size-1 dimensions
dropped, dimensions put in memory order (NumPy's iteration order; argmax/argmin
keep C order, which their index counts in) and merged where contiguous, and the
loop order: rows (each output element's reduced positions, row by row) or
tiles (blocks of neighbouring output elements reduced together, when those are
adjacent in memory, as in a sum over axis 0). The axes and broadcast patterns
are the entry's parameters (`node_params`), so the source depends on the
scalar steps and dtypes only, never on shapes, axes or user-chosen names, and
one compiled kernel serves every function reducing the same expression.

Accuracy: sums are pairwise. Each row is summed exactly as NumPy's
`pairwise_sum` does, and up to 128 row sums (or column values) are added in
order as NumPy adds them, so results are bit-identical to `numpy.sum` wherever
NumPy sums whole rows (contiguous or merged arrays, the last axis, up to 128
rows); beyond that, groups of 128 are combined in a binary counter, so the
error grows as log2 of the number of terms whatever the layout (NumPy's grows
linearly along a column). float64 sums of 1e6 random values equal NumPy's
(contiguous) or agree to about 1e-16 relative. Products multiply one after the
other in NumPy's order, so intermediate overflow and underflow happen where
they do there.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c import vector
from symtheano.codegen.c.elemwise import PARALLEL_MIN_ELEMENTS, PARALLEL_WORK, composite_steps
from symtheano.codegen.c.scalar import C_TYPES, FLOATS, c_type

from symtheano.tensor.reduce import All, Any, Argmax, Argmin, Max, Min, Prod, Sum

CDEF = "int st_node(void *ctx, void *inputs, int64_t n_in, void *outputs);"
MAX_DIMS = 32  # ST_MAX_DIMS in runtime/st_node.h

# exact op class -> the kernel's ST_REDUCE (Any subclasses All, Argmin Argmax)
KINDS = {Sum: "ST_SUM", Prod: "ST_PROD", Max: "ST_MAX", Min: "ST_MIN", All: "ST_ALL",
         Any: "ST_ANY", Argmax: "ST_ARGMAX", Argmin: "ST_ARGMIN"}
# Kinds that visit the reduced positions in C order (their index counts in it). The
# others visit them in memory order, as NumPy's iterator does, so that sums round
# and products overflow or underflow as NumPy's do.
ORDERED_KINDS = ("ST_ARGMAX", "ST_ARGMIN")


def reduction_kind(op):
    """The ST_REDUCE name of a reduction op, or None for other ops."""
    return KINDS.get(type(op))


def reduced_axes(op, ndim):
    """The axes a reduction op reduces, for an input of `ndim` dimensions."""
    if isinstance(op, Argmax):
        return tuple(range(ndim)) if op.axis is None else (op.axis,)
    return tuple(op.axis)


def _supported(kind, val_dtype, out_dtype):
    if val_dtype not in C_TYPES or out_dtype not in C_TYPES:
        return False
    if kind in ("ST_SUM", "ST_PROD"):
        # bool results (logical or/and) and float -> int conversions stay in NumPy
        return out_dtype != "bool" and (val_dtype not in FLOATS or out_dtype in FLOATS)
    if kind in ("ST_MAX", "ST_MIN"):
        return out_dtype == val_dtype
    if kind in ("ST_ALL", "ST_ANY"):
        return out_dtype == "bool"
    return out_dtype == "int64"


def _loads(dtypes):
    lines = []
    for k, dtype in enumerate(dtypes):
        t = c_type(dtype)
        lines.append(f"const {t} i{k} = contig ? ((const {t} *)p[{k}])[i]")
        lines.append(f"    : *(const {t} *)(p[{k}] + i * st[{k}]);")
    return lines


def parallel_min(composite):
    """The number of values reduced from which a call is split across threads: as
    for elementwise kernels (elemwise.PARALLEL_WORK), by the work per value (a load
    and an addition, plus the Composite's steps)."""
    cost = 2 if composite is None else vector.cost(composite) + 1
    return max(PARALLEL_MIN_ELEMENTS, -(-PARALLEL_WORK // cost))


def render_reduction(kind, input_dtypes, out_dtype, composite=None):
    """C source of a reduction kernel, or None when this back end has no C for it.

    kind: an ST_REDUCE name (see KINDS). Without a Composite the value reduced
    is the single input; with one, it is the Composite of the inputs."""
    input_dtypes = [str(d) for d in input_dtypes]
    out_dtype = str(out_dtype)
    if any(d not in C_TYPES for d in input_dtypes):
        return None
    if composite is None:
        if len(input_dtypes) != 1:
            return None
        body, result, val_dtype = [], "i0", input_dtypes[0]
    else:
        body, result = composite_steps(composite)
        if body is None:
            return None
        val_dtype = composite.dtype
    if not _supported(kind, val_dtype, out_dtype):
        return None
    items = ", ".join(str(np.dtype(d).itemsize) for d in input_dtypes)
    n_in = len(input_dtypes)
    lines = [
        f"/* symtheano reduction kernel ({kind}) */",
        '#include "symtheano_rt.h"',
        "",
        f"#define ST_N_IN {n_in}",
        f"#define ST_REDUCE {kind}",
        f"#define ST_PAR_MIN {parallel_min(composite)}",
        f"typedef {c_type(val_dtype)} st_val;",
        f"typedef {c_type(out_dtype)} st_acc;",
        f"static const int64_t st_item[ST_N_IN] = {{{items}}};",
        "",
        "/* the reduced value at position i of the current row */",
        "static inline __attribute__((always_inline)) st_val",
        "st_elem(char *const *p, const int64_t *st, int64_t i, const int contig)",
        "{",
        *["    " + line for line in _loads(input_dtypes) + body],
        f"    return (st_val)({result});",
        "}",
        "",
        '#include "reduce.h"',
        '#include "reduce_node.h"',
        "",
    ]
    return "\n".join(lines)


def node_params(kind, ndim, axes, broadcast_masks):
    """The parameters of the node entry (runtime/reduce_node.h): the reduced value's
    ndim, the reduced axes as a bit mask, whether the reduced positions are visited
    in C order, then per input the mask of its declared-broadcastable dimensions."""
    return (ndim, sum(1 << d for d in axes), int(kind in ORDERED_KINDS), *broadcast_masks)
