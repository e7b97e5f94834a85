"""The CUDA back end's generated source, checked without a GPU: every kernel library
the CUDA renderer produces for the op registry's graphs (rewritten and not), and
for every reduction kind over every dtype, and for the PaddedSums of
test_cuda_padded_sum.py, is compiled with nvcc for sm_90 and
to PTX (one fatbin holding both), so CUDA code cannot rot unseen on machines
that have nvcc and no GPU. Also: user-chosen names never reach CUDA source, and
the CUDA back end has a kernel wherever the C back end has one.

nvcc costs about a second per call however little it compiles, so the
libraries are compiled many to a translation unit: each wrapped in its own
namespace, with its kernels renamed through ST_SYM (runtime/symtheano_rt.cuh)
and the macros it defines undefined after it. The source compiled is the
library's own text.
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from symtheano.codegen.c.elemwise import composite_steps
from symtheano.codegen.c.elemwise_emit import as_composite
from symtheano.codegen.c.nnet_emit import _EMITTERS as NNET_EMITTERS
from symtheano.codegen.c.reduce import KINDS, reduction_kind, render_reduction
from symtheano.codegen.c.scalar import C_TYPES
from symtheano.codegen.cuda import build
from symtheano.codegen.cuda.kernels import kernel_for

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.composite import FusedReduce
from symtheano.tensor.nnet import OneHot, softmax
from symtheano.tensor.stable import LogSumExp, SoftmaxCrossentropy
from symtheano.tensor.subtensor import inc_subtensor, set_subtensor
from tests.codegen.test_cuda_padded_sum import padded_sum_nodes
from tests.tensor.registry import collect_cases

ARCH = 90
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)", re.MULTILINE)


def _nvcc_or_skip():
    try:
        build.nvcc()
    except build.NvccUnavailable as exc:
        pytest.skip(str(exc))


def _graph_nodes(inputs, outputs, optimizer):
    f = th.function(inputs, outputs, mode=Mode("py", optimizer), on_unused_input="ignore")
    return f.fgraph.apply_nodes


def _registry_nodes():
    """The nodes of every registry case's graph, rewritten (fused) and as built."""
    from tests.tensor.test_registry import _symbolic_inputs

    for case in collect_cases():
        for sample in case.samples(np.random.default_rng(0))[:2]:
            inputs = _symbolic_inputs(case, sample)
            outputs = case.build(*inputs)
            outputs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
            for optimizer in ("fast_run", None):
                yield from _graph_nodes(inputs, outputs, optimizer)


def _reduction_nodes():
    """A reduction of every kind over a matrix of every dtype, with and without a fused
    elementwise producer."""
    reductions = {"ST_SUM": T.sum, "ST_PROD": T.prod, "ST_MAX": T.max, "ST_MIN": T.min,
                  "ST_ALL": T.all, "ST_ANY": T.any, "ST_ARGMAX": T.argmax,
                  "ST_ARGMIN": T.argmin}
    assert set(reductions) == set(KINDS.values())
    for dtype in C_TYPES:
        x = T.matrix("x", dtype=dtype)
        for reduce in reductions.values():
            outputs = [reduce(x, axis=1), reduce(x, axis=None), reduce(abs(x) + x, axis=0)]
            yield from _graph_nodes([x], outputs, "fast_run")


def _indexing_nodes():
    """LogSumExp and SoftmaxCrossentropy, OneHot, and take/scatter over a spread of
    dtypes: every array dtype with int64 indices, and every index dtype once."""
    index_dtypes = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    for k, dtype in enumerate(C_TYPES):
        x = T.matrix("x", dtype=dtype)
        i = T.vector("i", dtype="int64")
        j = T.vector("j", dtype=index_dtypes[k % len(index_dtypes)])
        outputs = [x[i], T.take(x, j, axis=1), set_subtensor(x[i], x[0])]
        if dtype in ("float32", "float64", "int32", "uint32", "int64", "uint64"):
            outputs.append(inc_subtensor(x[:, j], x[:, :1]))
        outputs.append(OneHot(dtype)(j, 7))
        if dtype in ("float32", "float64"):
            outputs += [LogSumExp((0, 1))(x), SoftmaxCrossentropy()(x, j)]
        yield from _graph_nodes([x, i, j], outputs, None)


@pytest.fixture(scope="module")
def kernels():
    """{source: (Kernel, a node it was made for)} over all the nodes above."""
    found = {}
    nodes = list(_registry_nodes()) + list(_reduction_nodes()) + list(_indexing_nodes())
    nodes += list(padded_sum_nodes())
    for node in nodes:
        kernel = kernel_for(node)
        if kernel is not None:
            found.setdefault(kernel.source, (kernel, node))
    return found


def _unit(sources):
    """One translation unit holding `sources`, and the line range of each."""
    lines = ['#include "symtheano_rt.cuh"', "#undef ST_SYM"]
    ranges = []
    for j, source in enumerate(sources):
        lines += [f"#define ST_SYM(name) k{j}_##name", f"namespace st_k{j} {{"]
        start = len(lines) + 1
        lines += source.splitlines()
        ranges.append((start, len(lines)))
        lines += ["}", "#undef ST_SYM"]
        lines += [f"#undef {name}" for name in sorted(set(_DEFINE.findall(source)))]
    return "\n".join(lines) + "\n", ranges


def _culprits(stderr, name, ranges, sources):
    """nvcc's errors, each with the first lines of the library it is in."""
    report = []
    for m in re.finditer(rf"{re.escape(name)}\((\d+)\): (error.*)", stderr):
        line = int(m.group(1))
        for (lo, hi), source in zip(ranges, sources):
            if lo <= line <= hi:
                report.append(f"{m.group(2)}\n  at line {line - lo + 1} of:\n"
                              + "\n".join(source.splitlines()[:3]))
                break
    return "\n".join(report[:5]) or stderr[-4000:]


def test_every_kernel_compiles_for_sm90_and_ptx(kernels, tmp_path):
    _nvcc_or_skip()
    sources = sorted(kernels)
    kinds = {kernel.kind for kernel, _ in kernels.values()}
    assert {"elementwise", "reduce", "softmax", "logsumexp", "one_hot", "take", "scatter",
            "advanced", "advanced_inc", "padded_sum"} <= kinds, kinds
    batches = max(2, min(4, os.cpu_count() or 1))
    jobs = []
    for b in range(batches):
        chunk = sources[b::batches]
        text, ranges = _unit(chunk)
        src = tmp_path / f"unit{b}.cu"
        src.write_text(text)
        out = tmp_path / f"unit{b}.fatbin"
        proc = subprocess.Popen(build.command(src, out, ARCH, "fatbin"), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        jobs.append((proc, src.name, ranges, chunk, out))
    failures = []
    for proc, name, ranges, chunk, out in jobs:
        stderr, _ = proc.communicate(timeout=1200)
        if proc.returncode != 0:
            failures.append(_culprits(stderr, name, ranges, chunk))
        else:
            assert out.stat().st_size > 0
    assert not failures, "\n\n".join(failures)


def test_a_library_compiles_alone_as_the_driver_builds_it(tmp_path):
    """The production path: one library's own source, to a cubin, through the cache."""
    _nvcc_or_skip()
    x = T.fmatrix("x")
    (node,) = [n for n in _graph_nodes([x], [T.exp(x) * 2 + 1], "fast_run")]
    kernel = kernel_for(node)
    build.compile_module(kernel.source, tmp_path, ARCH)
    cubin = (tmp_path / build.MODULE_FILE).read_bytes()
    assert cubin[:4] == b"\x7fELF"
    for symbol in kernel.symbols:
        assert symbol.encode() in cubin


def test_names_never_reach_cuda_source():
    evil = '*/ #include <stdio.h> "quote" \n int main(){} __global__'
    x = T.fmatrix(evil)
    y = T.fmatrix(evil + "2")
    outputs = [T.exp(x) * y + 1, T.sum(T.exp(x) * y, axis=1), T.argmax(x * 2, axis=0),
               softmax(x)]
    seen = set()
    for optimizer in ("fast_run", None):
        for node in _graph_nodes([x, y], outputs, optimizer):
            kernel = kernel_for(node)
            if kernel is None:
                continue
            seen.add(kernel.kind)
            for bad in ("quote", "stdio", "main(", "*/ #"):
                assert bad not in kernel.source, (bad, kernel.source)
    assert seen == {"elementwise", "reduce", "softmax"}


def test_cuda_has_a_kernel_wherever_c_has_one():
    """Same coverage as the C back end: every elementwise node whose steps have C, and
    every reduction with a C kernel, has a CUDA kernel."""
    checked = 0
    for node in list(_registry_nodes()) + list(_reduction_nodes()) + list(_indexing_nodes()):
        composite = as_composite(node)
        if composite is not None:
            has_c = composite_steps(composite)[0] is not None and all(
                d in C_TYPES for d, _ in composite.input_types)
        elif isinstance(node.op, FusedReduce) or reduction_kind(node.op) is not None:
            fused = node.op.composite if isinstance(node.op, FusedReduce) else None
            kind = reduction_kind(node.op.reduce_op if fused is not None else node.op)
            has_c = kind is not None and render_reduction(
                kind, [i.dtype for i in node.inputs], node.outputs[0].dtype, fused) is not None
        elif type(node.op) in NNET_EMITTERS:
            has_c = NNET_EMITTERS[type(node.op)](node) is not None
        else:
            continue
        checked += 1
        assert (kernel_for(node) is not None) == has_c, str(node.op)
    assert checked > 100


def test_sources_depend_on_the_expression_only():
    """Shapes, broadcast patterns and names change the params, never the source."""
    a, b = T.dmatrix("a"), T.drow("b")
    c, d = T.dtensor3("c"), T.dtensor3("d")
    (n1,) = _graph_nodes([a, b], [T.exp(a) + b], "fast_run")
    (n2,) = _graph_nodes([c, d], [T.exp(c) + d], "fast_run")
    k1, k2 = kernel_for(n1), kernel_for(n2)
    assert k1.source == k2.source
    assert k1.params != k2.params
