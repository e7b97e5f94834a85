"""Native entries for the softmax family: Softmax and LogSoftmax (tensor/nnet.py),
LogSumExp and SoftmaxCrossentropy (tensor/stable.py), and OneHot, which the
cross-entropy's gradient builds.

The C (runtime/nnet_node.h) follows each op's perform formula by formula (the
same max shift, the same treatment of non-finite maxima, pairwise sums), in
double for float32 and float64 alike, rounding where the reference rounds; it
shares the library of shape_emit.py. Labels and indices out of range, or
shapes that do not match, make the entry decline the call so the perform
raises its error.
"""

from __future__ import annotations

from symtheano.codegen.c import build
from symtheano.codegen.c.linker import native_emitter
from symtheano.codegen.c.shape_emit import MAX_DIMS, dtype_code, entry

from symtheano.tensor.nnet import LogSoftmax, OneHot, Softmax
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES


def _softmax(node, name):
    x = node.inputs[0]
    if x.dtype not in FLOAT_DTYPES:
        return None
    return name, (dtype_code(x.dtype), -1 if node.op.axis is None else node.op.axis)


def _logsumexp(node):
    x = node.inputs[0]
    if x.dtype not in FLOAT_DTYPES or node.outputs[0].dtype != x.dtype:
        return None
    return "st_logsumexp", (dtype_code(x.dtype), len(node.op.axis), *node.op.axis)


def _softmax_xent(node):
    x, y = node.inputs
    if x.dtype not in FLOAT_DTYPES or y.dtype not in INT_DTYPES:
        return None
    return "st_softmax_xent", (dtype_code(x.dtype), dtype_code(y.dtype))


def _one_hot(node):
    indices, n = node.inputs
    if indices.dtype not in INT_DTYPES or n.dtype != "int64" or n.ndim != 0:
        return None
    return "st_one_hot", (dtype_code(node.outputs[0].dtype), dtype_code(indices.dtype))


_EMITTERS = {
    Softmax: lambda node: _softmax(node, "st_softmax"),
    LogSoftmax: lambda node: _softmax(node, "st_log_softmax"),
    LogSumExp: _logsumexp,
    SoftmaxCrossentropy: _softmax_xent,
    OneHot: _one_hot,
}


@native_emitter
def nnet_entry(node):
    emit = _EMITTERS.get(type(node.op))
    if emit is None or any(v.ndim > MAX_DIMS for v in (*node.inputs, *node.outputs)):
        return None
    found = emit(node)
    if found is None:
        return None
    try:
        return entry(*found)
    except build.CompilerUnavailable:
        return None
