"""The program runner (codegen/c/program.py, vm/st_vm.c): a compiled function's
whole graph in one native call, with Function's guarantees intact."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from symtheano.codegen.c import vm

import symtheano as th
import symtheano.tensor as T

pytestmark = pytest.mark.skipif(not vm.available(), reason="the program runner cannot be built")

ROOT = Path(__file__).resolve().parents[2]


def test_default_mode_runs_the_native_program():
    x = T.dscalar("x")
    f = th.function([x], T.grad(x ** 2, x))
    assert type(f.program).__name__ == "NativeProgram"
    assert set(f.program.native_nodes()) == set(f.fgraph.apply_nodes)
    assert f(4.0) == 8.0 and isinstance(f(4.0), np.ndarray)
    assert f(np.float32(3.0)) == 6.0  # converted by the type's filter
    assert f(2) == 4.0


def test_bad_arguments_name_the_input():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError, match=r"input 0 'x'.*2 dimensions|input 0 'x'.*dimensions"):
        f(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="takes 1 argument"):
        f(np.zeros(2), np.zeros(2))
    with pytest.raises(TypeError, match="missing argument"):
        f()


def test_outputs_never_alias_arguments_or_each_other():
    x = T.dvector("x")
    xv = np.arange(3.0)
    ident = th.function([x], x)
    out = ident(xv)
    assert out is not xv and not np.shares_memory(out, xv)
    twice = th.function([x], [x * 2, x * 2])
    a, b = twice(xv)
    assert a is not b and not np.shares_memory(a, b)
    const = th.function([x], [x + 1, T.constant(np.ones(3))])
    c = const(xv)[1]
    assert c.flags.writeable
    c[0] = 5.0  # a private copy: the constant is untouched
    np.testing.assert_array_equal(const(xv)[1], np.ones(3))
    np.testing.assert_array_equal(xv, np.arange(3.0))


def test_keywords_and_defaults_take_the_general_path():
    x, y = T.dvectors("x", "y")
    f = th.function([x, th.In(y, value=np.ones(2))], x + y)
    np.testing.assert_array_equal(f(np.zeros(2)), np.ones(2))
    np.testing.assert_array_equal(f(y=np.full(2, 3.0), x=np.zeros(2)), np.full(2, 3.0))


def test_errors_name_the_node_and_the_users_line():
    x, y = T.dvectors("x", "y")
    f = th.function([x, y], T.exp(x) + y)
    with pytest.raises(ValueError) as info:
        f(np.zeros(3), np.zeros(4))
    text = str(info.value) + " ".join(getattr(info.value, "__notes__", []))
    assert "test_program.py" in text


def test_shared_variables_and_updates():
    w = th.shared(np.zeros(3), name="w")
    x = T.dvector("x")
    step = th.function([x], (w * x).sum(), updates=[(w, w + x)])
    for _ in range(3):
        step(np.ones(3))
    np.testing.assert_array_equal(w.get_value(), np.full(3, 3.0))


def test_inplace_composites_and_intermediates():
    x = T.dmatrix("x")
    y = T.exp(x) * 2
    out = (y.T + 1) * y.T
    f = th.function([x], out)
    xv = np.random.default_rng(0).normal(size=(3, 4))
    want = (np.exp(xv).T * 2 + 1) * (np.exp(xv).T * 2)
    np.testing.assert_allclose(f(xv), want, rtol=1e-15)
    np.testing.assert_array_equal(xv, np.random.default_rng(0).normal(size=(3, 4)))


def test_unaligned_and_byteswapped_inputs_use_the_reference():
    x = T.dvector("x")
    f = th.function([x], T.exp(x) + 1)
    buf = np.zeros(8 * 5 + 1, dtype=np.uint8)
    unaligned = np.frombuffer(buf.data, dtype=np.float64, count=5, offset=1)
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(f(unaligned), np.exp(unaligned) + 1)
    swapped = np.arange(4.0).astype(">f8")
    np.testing.assert_allclose(f(swapped), np.exp(np.arange(4.0)) + 1, rtol=1e-15)


def test_many_threads_share_one_function():
    x = T.dvector("x")
    f = th.function([x], T.tanh(x) * 3)
    errors = []

    def work(seed):
        v = np.random.default_rng(seed).normal(size=1000)
        for _ in range(200):
            if not np.allclose(f(v), np.tanh(v) * 3, rtol=1e-15):
                errors.append(seed)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_no_compiler_falls_back_to_the_reference_with_one_warning(tmp_path):
    script = (
        "import warnings, numpy as np, symtheano as th, symtheano.tensor as T\n"
        "warnings.simplefilter('always')\n"
        "x = T.dvector('x')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    f = th.function([x], x * 2)\n"
        "    g = th.function([x], x + 1)\n"
        "assert type(f.program).__name__ == 'PyProgram', type(f.program)\n"
        "assert (f(np.ones(2)) == 2).all() and (g(np.ones(2)) == 2).all()\n"
        "msgs = [str(m.message) for m in w if 'C compiler' in str(m.message)]\n"
        "assert len(msgs) == 1, msgs\n"
        "print(msgs[0])\n"
    )
    env = dict(os.environ, CC=str(tmp_path / "no-such-compiler"),
               SYMTHEANO_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "mode='PY'" in proc.stdout


def _fresh_cache(tmp_path, monkeypatch):
    """An empty cache and no bundle: every library of a new function is missing."""
    from symtheano.codegen.c import build

    monkeypatch.setenv("SYMTHEANO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMTHEANO_BUNDLE", "0")
    build._bundle_exists.cache_clear()
    monkeypatch.setattr(build, "_paths", {})  # forget the libraries this process loaded
    return build


def test_missing_libraries_compile_once_each_and_hits_compile_nothing(tmp_path, monkeypatch):
    build = _fresh_cache(tmp_path, monkeypatch)
    compiled, threads = [], []
    real_compile = build.compile_library

    def counting(source, directory, *args, **kwargs):
        compiled.append(source)
        threads.append(threading.current_thread().name)
        return real_compile(source, directory, *args, **kwargs)

    monkeypatch.setattr(build, "compile_library", counting)
    x, y = T.dvector("x"), T.dvector("y")
    # three elementwise nodes, each its own library (constants found nowhere else)
    a = T.exp(x * 1.03125) + 0.40625
    b = T.tanh(y * 2.15625)
    outs = [a, b, a * b - 0.71875]
    f = th.function([x, y], outs)
    kernels = [s for s in compiled if "Toolchain probe" not in s]
    assert len(kernels) == len(set(kernels)) >= 3  # each library compiled exactly once
    xv, yv = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    want = [np.exp(xv * 1.03125) + 0.40625, np.tanh(yv * 2.15625)]
    want.append(want[0] * want[1] - 0.71875)
    for got, w in zip(f(xv, yv), want):
        np.testing.assert_allclose(got, w, rtol=1e-14)

    # the same graph again, in a process that has loaded nothing: found, not compiled,
    # and looked up without starting a thread
    monkeypatch.setattr(build, "_paths", {})
    compiled.clear()
    started = []
    real_pool = __import__("concurrent.futures").futures.ThreadPoolExecutor
    monkeypatch.setattr("concurrent.futures.ThreadPoolExecutor",
                        lambda *a, **k: started.append(1) or real_pool(*a, **k))
    g = th.function([x, y], outs)
    assert compiled == [] and started == []
    for got, w in zip(g(xv, yv), want):
        np.testing.assert_allclose(got, w, rtol=1e-14)


def test_cached_only_raises_instead_of_compiling(tmp_path, monkeypatch):
    build = _fresh_cache(tmp_path, monkeypatch)
    source = "int st_cached_only_probe(void) { return 41 + 1; }\n"
    with build.cached_only():
        with pytest.raises(build.NotCached) as info:
            build.library_path(source, description="a test library")
    assert "a test library" in str(info.value) and len(info.value.key) == 64
    entries = tmp_path / "cache" / "entries"
    kinds = [json.loads((e / "meta.json").read_text())["meta"]["kind"]
             for e in (entries.iterdir() if entries.exists() else ())]
    assert "c-kernel" not in kinds  # nothing was compiled
    path = build.library_path(source)  # outside: compiled into the cache
    monkeypatch.setattr(build, "_paths", {})
    with build.cached_only():
        assert build.library_path(source) == path  # now a hit


def test_a_bundled_runner_is_used_only_for_this_source(tmp_path, monkeypatch):
    record = tmp_path / "runner.json"
    monkeypatch.setattr(vm, "BUNDLED_RECORD", record)
    assert vm.bundled() is None  # no record: built through the cache
    record.write_text(json.dumps({"source_sha256": "0" * 64}))
    assert vm.bundled() is None  # built from another st_vm.c
    record.write_text(json.dumps({"source_sha256": vm.source_sha256()}))
    import importlib.util

    if importlib.util.find_spec(vm.BUNDLED_MODULE) is None:
        assert vm.bundled() is None  # a record without the extension
    else:
        mod = vm.bundled()
        assert mod is not None and hasattr(mod, "Program")
