"""Fault injection on the compile cache with real compiled libraries (test_cache.py and
test_cache_processes.py test the cache's protocol with fake artifacts).

- Every artifact of a real entry (kernel.so and meta.json) damaged every way (0 bytes,
  1 byte, half, n-1, one flipped byte, random bytes of the same size): detected
  before loading, quarantined, rebuilt byte for byte, and a fresh process computes
  the right values from a cache whose every library was damaged.
- SIGKILL at 100 random points of a fetch that compiles: the next process succeeds
  within seconds and nothing half-written is ever served.
- A read-only and a full cache directory: compilation succeeds in a private
  temporary directory with one warning (a real read-only or full file system when
  this process may mount one, otherwise simulated).
- 32 processes (fork and spawn) racing on one graph, and on 32 different graphs:
  zero failures and one compile per graph.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from symtheano.codegen import cache as cache_module
from symtheano.codegen.c import build
from symtheano.codegen.cache import CompileCache, cache_key

from .race_worker import race

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes"),
    pytest.mark.filterwarnings("ignore::symtheano.codegen.cache.CacheWarning"),
]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT = Path(__file__).resolve().parents[2]


def compiler_or_skip():
    try:
        build.compiler()
    except build.CompilerUnavailable as exc:
        pytest.skip(f"no C compiler: {exc}")


def tiny_source(tag):
    """A small C library unique to `tag` (so that it is compiled, not found)."""
    return f"double st_fault_{tag}(double x) {{ return x * {len(tag)}.5 + 1.0; }}\n"


def fetch_tiny(cache, source, calls=None):
    def compile_it(directory):
        if calls is not None:
            calls.append(directory)
        build.compile_library(source, directory)

    key = cache_key(build.key_parts(source))
    return key, cache.get_or_build(key, compile_it, files=(build.LIBRARY_FILE,))


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- damaged artifacts -----------------------------------------------------------------------

DAMAGE = {
    "0 bytes": lambda data: b"",
    "1 byte": lambda data: data[:1],
    "half": lambda data: data[: len(data) // 2],
    "n-1 bytes": lambda data: data[:-1],
    "one flipped byte": lambda data: data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x40])
    + data[len(data) // 2 + 1:],
    "random bytes": lambda data: random.Random(len(data)).randbytes(len(data)),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("artifact", [build.LIBRARY_FILE, "meta.json"])
def test_every_damaged_artifact_is_detected_and_rebuilt(tmp_path, artifact, damage, monkeypatch):
    compiler_or_skip()
    cache = CompileCache(tmp_path / "cache")
    calls = []
    source = tiny_source(f"{artifact}_{damage}".replace(" ", "_").replace(".", "_")
                         .replace("-", "_"))
    key, entry = fetch_tiny(cache, source, calls)
    good = {name: sha(entry / name) for name in os.listdir(entry)}
    path = entry / artifact
    os.chmod(path, 0o600)
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    loaded = []
    monkeypatch.setattr(build, "_dll", lambda p: loaded.append(p))  # nothing may load it
    assert cache.lookup(key, (build.LIBRARY_FILE,)) is None  # detected by a lookup too
    again = fetch_tiny(cache, source, calls)[1]
    assert again == entry and len(calls) == 2 and loaded == []
    assert sha(entry / build.LIBRARY_FILE) == good[build.LIBRARY_FILE]  # rebuilt exactly
    quarantined = os.listdir(tmp_path / "cache" / "quarantine")
    assert len(quarantined) == 1 and quarantined[0].startswith(key)
    fetch_tiny(cache, source, calls)
    assert len(calls) == 2  # and served from then on


FUNCTION_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import symtheano as th, symtheano.tensor as T
    from symtheano.codegen.c import build
    x = T.dvector("x")
    f = th.function([x], [T.exp(x * {c}) + 1, T.sum(T.sqr(x) * {c})])
    value = np.linspace(-1, 1, 7)
    out = f(value)
    ok = (np.allclose(out[0], np.exp(value * {c}) + 1, rtol=1e-13)
          and np.isclose(out[1], np.sum(value ** 2 * {c}), rtol=1e-13))
    print(json.dumps({{"ok": bool(ok), "built": build.libraries_built()}}))
""")


def run_function(cache_dir, c, env=None, timeout=120):
    out = subprocess.run([sys.executable, "-c", FUNCTION_SCRIPT.format(c=c)],
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                         env={**os.environ, "SYMTHEANO_CACHE_DIR": str(cache_dir), **(env or {})})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def test_a_fresh_process_rebuilds_every_damaged_library_before_loading(tmp_path):
    compiler_or_skip()
    c = 1 + random.random()  # constants are inlined: these kernels are new
    cache_dir = tmp_path / "cache"
    first, _ = run_function(cache_dir, c)
    assert first["ok"] and first["built"] >= 1
    entries = [p for p in (cache_dir / "entries").iterdir()
               if json.loads((p / "meta.json").read_text())["meta"].get("kind") == "c-kernel"]
    assert len(entries) == first["built"]
    for i, entry in enumerate(entries):
        library = entry / build.LIBRARY_FILE
        os.chmod(library, 0o600)
        damage = list(DAMAGE.values())[i % len(DAMAGE)]
        library.write_bytes(damage(library.read_bytes()))
    second, _ = run_function(cache_dir, c)
    assert second["ok"] and second["built"] == first["built"]
    assert len(os.listdir(cache_dir / "quarantine")) == len(entries)


# -- SIGKILL at random points -------------------------------------------------------------------

KILLS = int(os.environ.get("SYMTHEANO_FAULT_KILLS", "100"))


def _forked(root, source):
    """A child process fetching `source` (os.fork: no interpreter start, no pipes)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fetch_tiny(CompileCache(root), source)
            code = 0
        finally:
            os._exit(code)
    return pid


def test_sigkill_at_random_points_of_a_compile(tmp_path):
    """A child fetches (and so compiles) a library and is killed at a random moment
    between its start and a little after the fetch would have ended; the next process
    must get a verified entry within seconds, whatever state the kill left."""
    compiler_or_skip()
    root = tmp_path / "cache"
    source = tiny_source("killed")
    fetch_tiny(CompileCache(root), source)  # the compiler's version and headers, once
    CompileCache(root).clear()
    started = time.monotonic()
    key, entry = fetch_tiny(CompileCache(root), source)
    full = time.monotonic() - started  # one compile and publish: the window of the kills
    good = sha(entry / build.LIBRARY_FILE)
    rng = random.Random(int(os.environ.get("SYMTHEANO_FAULT_SEED", "9")))
    recoveries, states = [], {"published": 0, "not published": 0}
    for _ in range(KILLS):
        CompileCache(root).clear()
        child = _forked(root, source)
        time.sleep(rng.uniform(0, 1.3 * full))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        states["published" if (root / "entries" / key).exists() else "not published"] += 1
        began = time.monotonic()
        _, status = os.waitpid(_forked(root, source), 0)
        recoveries.append(time.monotonic() - began)
        assert os.waitstatus_to_exitcode(status) == 0
        assert sha(root / "entries" / key / build.LIBRARY_FILE) == good
    assert max(recoveries) < 10, f"slowest recovery {max(recoveries):.2f} s"
    print(f"\n{KILLS} kills ({states}); recovery median "
          f"{sorted(recoveries)[len(recoveries) // 2]:.3f} s, max {max(recoveries):.3f} s, "
          f"one compile {full:.3f} s")


# -- read-only and full cache directories ------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(path, size="64k", read_only=False):
    """A real tmpfs of `size` at `path` (root only), remounted read-only on request;
    None where mounting is not allowed."""
    path.mkdir(parents=True)
    if not IS_ROOT or not shutil.which("mount") or os.environ.get("SYMTHEANO_TEST_NO_MOUNT"):
        yield None
        return
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                          str(path)], capture_output=True)
    if out.returncode != 0:
        yield None
        return
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# In the subprocess: writes into the cache fail as on a full disk (ENOSPC), or as in a
# read-only directory (EACCES), before anything else runs.
SIMULATE = textwrap.dedent("""
    import errno, os
    root = os.path.realpath(os.environ["SYMTHEANO_CACHE_DIR"])
    code = errno.{code}
    real_open, real_mkdir, real_rename = os.open, os.mkdir, os.rename
    def denied(path):
        return os.path.realpath(path).startswith(root + "/") or os.path.realpath(path) == root
    def fail(path):
        raise OSError(code, os.strerror(code), str(path))
    def guarded_open(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and denied(path):
            fail(path)
        return real_open(path, flags, *a, **k)
    def guarded_mkdir(path, *a, **k):
        if denied(path) and os.path.realpath(path) != root:
            fail(path)
        return real_mkdir(path, *a, **k)
    os.open, os.mkdir = guarded_open, guarded_mkdir
""")


@pytest.mark.parametrize("condition", ["read-only", "full"])
def test_unwritable_cache_compiles_privately_with_one_warning(tmp_path, condition):
    compiler_or_skip()
    c = 2 + random.random()
    where = tmp_path / "fs"
    with small_filesystem(where, size="4k" if condition == "full" else "64k",
                          read_only=condition == "read-only") as mounted:
        cache_dir = where / "cache"
        script = FUNCTION_SCRIPT.format(c=c)
        if mounted is None:  # simulate the file system's errors instead
            if condition == "read-only" and not IS_ROOT:
                os.chmod(where, 0o500)
                prelude = ""
            else:
                prelude = SIMULATE.format(code="ENOSPC" if condition == "full" else "EACCES")
            script = prelude + script
        elif condition == "full":
            # fill what is left, so that only the root's directory fits
            cache_dir.mkdir(mode=0o700)
            with contextlib.suppress(OSError), open(where / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 512)
                    f.flush()
        out = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c", script],
                             capture_output=True, text=True, timeout=120, cwd=ROOT,
                             env={**os.environ, "SYMTHEANO_CACHE_DIR": str(cache_dir),
                                  "SYMTHEANO_BUNDLE": "1"})
        if mounted is None:
            os.chmod(where, 0o700)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["built"] >= 2
    warnings = [line for line in out.stderr.splitlines() if "CacheWarning" in line]
    assert len(warnings) == 1, out.stderr
    assert "private temporary directory" in warnings[0]
    print(f"\n{condition} ({'simulated' if mounted is None else 'tmpfs'}): {warnings[0]}")


# -- 32 processes racing -------------------------------------------------------------------------

RACERS = 32


@pytest.mark.parametrize("graphs", ["one graph", "32 graphs"])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_32_processes_racing(tmp_path, method, graphs):
    compiler_or_skip()
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    ctx = multiprocessing.get_context(method)
    base = 3 + random.random()  # new kernels for this run
    constants = [base] * RACERS if graphs == "one graph" else [base + k for k in range(RACERS)]
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    cache_dir = tmp_path / "cache"
    processes = [ctx.Process(target=race, args=(cache_dir, c, barrier, results))
                 for c in constants]
    for p in processes:
        p.start()
    got = [results.get(timeout=300) for _ in processes]
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0] * RACERS
    assert all(ok for _, ok, _ in got)
    assert sum(built for _, _, built in got) == len(set(constants))  # one compile per graph


def test_cache_module_never_unpickles():
    """Nothing is unpickled from the cache: its modules do not even import pickle."""
    import re

    from symtheano.codegen import cache_entries, cache_keys, locks

    for module in (cache_module, cache_entries, cache_keys, locks, build):
        text = Path(module.__file__).read_text()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|marshal|shelve|dill)\b", text,
                             re.MULTILINE), module.__name__
        assert not re.search(r"\b(pickle|marshal|shelve)\.loads?\(", text), module.__name__
