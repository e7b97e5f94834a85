"""OpenMP in reduction kernels: results are bit-identical with one and two
threads (several output elements split between threads, tiles' blocks split,
and the pairwise tree of one long sum cut near its root), they agree with
NumPy, and small reductions stay on one thread."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c import build, reduce
from symtheano.codegen.c.linker import native_entry

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.composite import FusedReduce

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

pytestmark = pytest.mark.skipif(not build.features().openmp,
                                reason="the compiler has no OpenMP")


def _reduction_library(f):
    """The ctypes library of the one reduction node of compiled function f."""
    nodes = [n for n in f.fgraph.apply_nodes
             if reduce.reduction_kind(getattr(n.op, "reduce_op", n.op)) is not None]
    assert len(nodes) == 1, nodes
    native_entry(nodes[0])  # loads it
    node = nodes[0]
    op = node.op
    composite = op.composite if isinstance(op, FusedReduce) else None
    kind = reduce.reduction_kind(op.reduce_op if composite is not None else op)
    source = reduce.render_reduction(kind, [i.dtype for i in node.inputs],
                                     node.outputs[0].dtype, composite)
    return build._dll(build.library_path(source)), source


def _values(shape, seed, dtype="float64"):
    v = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return v


CASES = [  # label, build(x), numpy reference, input shape, view of the input
    ("sum, one long row", lambda x: T.sum(x), np.sum, (2_000_003,), None),
    ("sum, the last axis", lambda x: T.sum(x, axis=1), lambda a: a.sum(axis=1),
     (5000, 301), None),
    ("sum, axis 0 (tiles)", lambda x: T.sum(x, axis=0), lambda a: a.sum(axis=0),
     (301, 5003), None),
    ("sum, axis 0 of a transposed view", lambda x: T.sum(x, axis=0),
     lambda a: a.sum(axis=0), (1001, 1203), "T"),
    ("max, the last axis", lambda x: T.max(x, axis=1), lambda a: a.max(axis=1),
     (4000, 257), None),
    ("argmax, axis 0", lambda x: T.argmax(x, axis=0), lambda a: a.argmax(axis=0),
     (257, 4001), None),
    ("fused: sum of exp(x) * x over the last axis",
     lambda x: T.sum(T.exp(x) * x, axis=-1), lambda a: (np.exp(a) * a).sum(axis=-1),
     (3000, 401), None),
    ("fused: sum of sin(x) over everything", lambda x: T.sum(T.sin(x)),
     lambda a: np.sin(a).sum(), (1_000_001,), None),
    ("prod, the last axis", lambda x: T.prod(x, axis=1), lambda a: a.prod(axis=1),
     (4000, 257), None),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("label, build_fn, ref, shape, view", CASES,
                         ids=[c[0] for c in CASES])
def test_identical_with_one_and_two_threads(threads, label, build_fn, ref, shape, view, dtype):
    x = T.TensorType(dtype, (None,) * len(shape))("x")
    f = th.function([x], build_fn(x), mode="C")
    lib, _ = _reduction_library(f)
    value = _values(shape, 7, dtype)
    if label.startswith("prod"):
        value = 1 + value * 1e-3
    if view == "T":
        value = value.T
    results = []
    for count in (1, 2):
        threads(count)
        results.append(f(value))
        assert lib.st_threads_used() == count, label
    np.testing.assert_array_equal(results[0], results[1], err_msg=label)
    want = ref(value)
    tol = 2e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(results[0], want, rtol=tol, atol=tol * np.abs(want).max(),
                               err_msg=label)


def test_one_long_sum_equals_numpy_bit_for_bit(threads):
    """NumPy sums a contiguous row pairwise; the split tree is the same tree."""
    x = T.dvector("x")
    f = th.function([x], T.sum(x), mode="C")
    threads(2)
    for n in (1_000_000, 1_048_583, 3_000_017):
        v = _values(n, n)
        assert f(v) == np.sum(v), n


def test_small_reductions_stay_on_one_thread(threads):
    x = T.dmatrix("x")
    f = th.function([x], T.sum(x, axis=1), mode="C")
    lib, source = _reduction_library(f)
    par_min = int(source.split("#define ST_PAR_MIN ")[1].split()[0])
    threads(2)
    rows = par_min // 100
    f(_values((rows - 1, 100), 1))
    assert lib.st_threads_used() == 1
    f(_values((rows + 1, 100), 1))
    assert lib.st_threads_used() == 2
    f(_values((1, 100 * rows + 500), 1))  # one output element, one row: the tree splits
    assert lib.st_threads_used() == 2


def test_single_extremum_stays_serial(threads):
    """One output element of max: visited in order on one thread."""
    x = T.dvector("x")
    f = th.function([x], T.max(x), mode="C")
    lib, _ = _reduction_library(f)
    threads(2)
    v = _values(2_000_000, 3)
    assert f(v) == v.max()
    assert lib.st_threads_used() == 1
