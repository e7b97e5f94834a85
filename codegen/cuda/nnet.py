"""CUDA kernels of the softmax family: Softmax and LogSoftmax (tensor/nnet.py) over
float32 and float64, one library per (dtype, kind); the kernel is the template
runtime/softmax.cuh (a block per row: a block maximum, a block sum of
exponentials, then the row). Axis None is every axis as lanes. LogSumExp,
SoftmaxCrossentropy and OneHot have no CUDA kernel yet.
"""

from __future__ import annotations

from symtheano.codegen.c.scalar import c_type

KERNELS = ("softmax",)


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
