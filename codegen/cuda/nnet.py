"""CUDA kernels of the softmax family over float32 and float64: Softmax and
LogSoftmax (tensor/nnet.py), one library per (dtype, kind), the template
runtime/softmax.cuh (a block per row: a block maximum, a block sum of
exponentials, then the row; axis None is every axis as lanes); LogSumExp and
SoftmaxCrossentropy (tensor/stable.py), one library per dtype (and label dtype),
the template runtime/logsumexp.cuh (a block per output: the maximum, then the sum
of the exponentials with one maximal term left out, as the reference). OneHot,
which the cross-entropy's gradient builds, is in indexing.py.
"""

from __future__ import annotations

from symtheano.codegen.c.scalar import c_type

from symtheano.tensor.type import INT_DTYPES

KERNELS = ("softmax",)
LOGSUMEXP_KERNELS = ("logsumexp",)


def render_softmax(dtype, log):
    """CUDA source of the (log_)softmax library for `dtype`, or None for other dtypes."""
    dtype = str(dtype)
    if dtype not in ("float32", "float64"):
        return None
    what = "log_softmax" if log else "softmax"
    return "\n".join([
        f"/* symtheano CUDA {what} kernel: {dtype} */",
        '#include "symtheano_rt.cuh"',
        "",
        f"typedef {c_type(dtype)} st_t;",
        f"#define ST_LOG {int(bool(log))}",
        '#include "softmax.cuh"',
        "",
    ])


def render_logsumexp(dtype, label_dtype=None):
    """CUDA source of the LogSumExp library for `dtype`, or with `label_dtype` of the
    SoftmaxCrossentropy library; None for dtypes without one."""
    dtype = str(dtype)
    if dtype not in ("float32", "float64"):
        return None
    lines = [f"/* symtheano CUDA log-sum-exp kernel: {dtype}"
             + ("" if label_dtype is None else f", labels {label_dtype}") + " */",
             '#include "symtheano_rt.cuh"', "", f"typedef {c_type(dtype)} st_t;"]
    if label_dtype is None:
        lines.append("#define ST_XENT 0")
    else:
        if str(label_dtype) not in INT_DTYPES:
            return None
        lines += ["#define ST_XENT 1", f"typedef {c_type(label_dtype)} st_label;"]
    return "\n".join([*lines, '#include "logsumexp.cuh"', ""])
