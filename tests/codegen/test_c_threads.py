"""OpenMP in elementwise kernels: results do not depend on the thread count, the
kernels use the count `config.openmp_threads` asks for (also when it changes
after they were loaded, and from SYMTHEANO_FLAGS), small calls stay on one
thread, and 0 means OMP_NUM_THREADS, else all cores."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from symtheano.codegen.c import build, elemwise
from symtheano.codegen.c.elemwise_emit import as_composite

import symtheano as th
import symtheano.tensor as T

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

OPENMP = build.features().openmp


def _expr(x, y):
    return T.tanh(x) * T.exp(-y) + T.sqrt(T.abs(x - y)) + T.switch(T.lt(x, y), x, y)


def _kernel(dtype="float64"):
    """(ffi, lib) of the kernel of _expr, and the composite."""
    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    f = th.function([x, y], _expr(x, y), mode="C")
    (comp,) = [as_composite(n) for n in f.fgraph.apply_nodes if as_composite(n) is not None]
    source = elemwise.render_composite(comp)
    return build.load(source, elemwise.CDEF, description="thread test"), source


def _values(n, seed, dtype="float64"):
    v = np.random.default_rng(seed).standard_normal(n).astype(dtype) * 4
    v[::97] = np.nan
    v[5::101] = np.inf
    return v


def _run(ffi, lib, inputs, out):
    with np.errstate(all="ignore"):
        elemwise.run(lib.st_kernel, ffi, inputs, out)
    return lib.st_threads_used()


@pytest.mark.skipif(not OPENMP, reason="the compiler has no OpenMP")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_results_identical_with_one_and_two_threads(threads, dtype):
    (ffi, lib), source = _kernel(dtype)
    assert "-fopenmp" in build.key_parts(source)["flags"]
    n = 1_000_003
    xs, ys = _values(n, 1, dtype), _values(n, 2, dtype)
    layouts = {
        "contiguous": (xs, ys, np.empty(n, dtype)),
        "strided": (xs[:-1:2], ys[1::2], np.empty(ys[1::2].shape, dtype)),
        "2-d, transposed": (xs[:1000 * 999].reshape(1000, 999).T,
                            ys[:1000 * 999].reshape(999, 1000), np.empty((999, 1000), dtype)),
        "broadcast row": (xs[: 999 * 1001].reshape(999, 1001), ys[:1001],
                          np.empty((999, 1001), dtype)),
    }
    for label, (a, b, out) in layouts.items():
        results = []
        for count in (1, 2):
            threads(count)
            out[...] = 0
            assert _run(ffi, lib, [a, b], out) == count, label
            results.append(out.copy())
        np.testing.assert_array_equal(results[0], results[1], err_msg=label)
        with np.errstate(all="ignore"):
            want = np.tanh(a) * np.exp(-b) + np.sqrt(np.abs(a - b)) + np.where(a < b, a, b)
        tol = 1e-5 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(results[0], want.astype(dtype), rtol=tol, atol=tol,
                                   err_msg=label)


@pytest.mark.skipif(not OPENMP, reason="the compiler has no OpenMP")
def test_small_calls_stay_on_one_thread(threads):
    (ffi, lib), source = _kernel()
    par_min = int(source.split("#define ST_PAR_MIN ")[1].split()[0])
    threads(2)
    for n, expected in ((par_min - 1, 1), (par_min, 2)):
        out = np.empty(n)
        assert _run(ffi, lib, [_values(n, 3), _values(n, 4)], out) == expected, n


@pytest.mark.skipif(not OPENMP, reason="the compiler has no OpenMP")
def test_functions_follow_config_changes(threads):
    """A compiled function's kernels read the count at every call."""
    x, y = T.dvectors("x", "y")
    f = th.function([x, y], _expr(x, y), mode="C")
    xs, ys = _values(400_001, 5), _values(400_001, 6)
    (ffi, lib), _ = _kernel()  # the same kernel source, for st_threads_used
    results = []
    for count in (2, 1, 2):
        threads(count)
        with np.errstate(all="ignore"):
            results.append(f(xs, ys))
        out = np.empty_like(xs)
        assert _run(ffi, lib, [xs, ys], out) == count
        np.testing.assert_array_equal(out, results[-1])
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_thread_count_resolution(threads, monkeypatch):
    threads(3)
    assert build.openmp_threads() == 3
    threads(0)
    monkeypatch.setenv("OMP_NUM_THREADS", "5,2")
    assert build.openmp_threads() == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert build.openmp_threads() == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="openmp_threads"):
        th.config.openmp_threads = -1
    with pytest.raises(ValueError, match="openmp_threads"):
        th.config.openmp_threads = "two"


def test_openmp_threads_from_symtheano_flags():
    code = ("import symtheano; from symtheano.codegen.c import build; "
            "print(symtheano.config.openmp_threads, build.openmp_threads())")
    env = dict(os.environ, SYMTHEANO_FLAGS="openmp_threads=2", OMP_NUM_THREADS="7")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["2", "2"]
    env["SYMTHEANO_FLAGS"] = "openmp_threads=0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["0", "7"]


@pytest.mark.skipif(not OPENMP or not hasattr(os, "fork"), reason="needs OpenMP and fork")
def test_forked_child_runs_kernels_serially(threads):
    """libgomp's threads do not survive fork(): a child of a process whose kernels
    ran in parallel must still compute (serially) instead of waiting forever."""
    import time

    threads(2)
    x = T.dvector("x")
    f = th.function([x], T.exp(x) * T.tanh(x), mode="C")
    v = np.linspace(-3, 3, 500_000)
    want = f(v)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if np.array_equal(f(v), want) and build.openmp_threads() == 1 else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in its kernel")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert build.openmp_threads() == 2  # the parent is unaffected
