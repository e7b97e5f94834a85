"""The compile cache across processes: racing builds of one key, parallel builds of
different keys, a build killed with SIGKILL while it holds the key's lock, keys computed
under other hash seeds and interpreters, and the command line.

Builds are fake (a sleep and a few bytes) so that the tests time the cache, not a compiler.
Workers are module-level functions so that the "spawn" start method can import them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from symtheano.codegen import cache as cache_module
from symtheano.codegen.cache import CacheLockTimeout, CompileCache, cache_key

from tests.codegen.test_cache import GOLDEN_KEY, PARTS

ARTIFACT = "module.so"
PAYLOAD = b"\x7fELF fake library " * 64
KEY = cache_key({"source": "raced"})
RACERS = 8

posix_only = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes")
KEY_SCRIPT = ("import json, sys\nfrom symtheano.codegen.cache import cache_key\n"
              "parts = json.loads(sys.argv[1]); parts['blob'] = b'\\x00\\xff'\n"
              "print(cache_key(parts))")


def counting_build(directory, log, sleep=0.0):
    """Append one line to `log` per call (O_APPEND: whole lines, even across processes)."""
    with open(log, "a") as f:
        f.write(f"{os.getpid()} {time.time()}\n")
    time.sleep(sleep)
    (Path(directory) / ARTIFACT).write_bytes(PAYLOAD)


def timed_build(directory, log, sleep):
    start = time.monotonic()
    time.sleep(sleep)
    (Path(directory) / ARTIFACT).write_bytes(PAYLOAD)
    with open(log, "a") as f:
        f.write(f"{start} {time.monotonic()}\n")


def hanging_build(directory, started):
    Path(started).write_text(str(os.getpid()))
    time.sleep(60)


def race_worker(root, key, log, barrier, result):
    barrier.wait(timeout=60)
    path = CompileCache(root).get_or_build(
        key, lambda d: counting_build(d, log, sleep=0.2), files=(ARTIFACT,))
    assert (path / ARTIFACT).read_bytes() == PAYLOAD
    Path(result).write_text(str(path))


def parallel_worker(root, key, log, barrier):
    barrier.wait(timeout=60)
    CompileCache(root).get_or_build(key, lambda d: timed_build(d, log, 0.5), files=(ARTIFACT,))


def hanging_worker(root, key, started):
    CompileCache(root).get_or_build(key, lambda d: hanging_build(d, started), files=(ARTIFACT,))


def run_all(processes, timeout=60):
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout)
    codes = [p.exitcode for p in processes]
    assert codes == [0] * len(processes), f"worker exit codes {codes}"


@posix_only
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_racing_processes_build_once(tmp_path, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    ctx = multiprocessing.get_context(method)
    root, log = tmp_path / "cache", tmp_path / "builds.log"
    barrier = ctx.Barrier(RACERS)
    results = [tmp_path / f"result{i}" for i in range(RACERS)]
    run_all([ctx.Process(target=race_worker, args=(root, KEY, log, barrier, r))
             for r in results])
    assert len(log.read_text().splitlines()) == 1  # exactly one build
    assert {r.read_text() for r in results} == {str(root / "entries" / KEY)}  # zero failures


@posix_only
def test_different_keys_build_in_parallel(tmp_path):
    ctx = multiprocessing.get_context("fork")
    root, barrier = tmp_path / "cache", ctx.Barrier(2)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    keys = [cache_key({"source": "a"}), cache_key({"source": "b"})]
    run_all([ctx.Process(target=parallel_worker, args=(root, k, log, barrier))
             for k, log in zip(keys, logs)])
    (a_start, a_end), (b_start, b_end) = (map(float, log.read_text().split()) for log in logs)
    overlap = min(a_end, b_end) - max(a_start, b_start)
    assert overlap > 0.25, f"builds of different keys ran one after the other ({overlap:.3f} s)"


@posix_only
def test_lock_of_a_killed_build_is_recovered(tmp_path):
    ctx = multiprocessing.get_context("fork")
    root, started, log = tmp_path / "cache", tmp_path / "started", tmp_path / "builds.log"
    holder = ctx.Process(target=hanging_worker, args=(root, KEY, started))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists(), "the holder never entered its build"
        lock_path = root / "locks" / f"{KEY}.lock"
        with pytest.raises(CacheLockTimeout) as info:
            CompileCache(root, lock_timeout=0.2).get_or_build(KEY, counting_build,
                                                              files=(ARTIFACT,))
        message = str(info.value)
        assert f"pid {holder.pid}" in message and socket.gethostname() in message
        assert str(lock_path) in message
        assert list((root / "tmp").iterdir()), "the holder's build directory is missing"

        os.kill(holder.pid, signal.SIGKILL)
        began = time.monotonic()
        path = CompileCache(root, lock_timeout=10).get_or_build(
            KEY, lambda d: counting_build(d, log), files=(ARTIFACT,))
        elapsed = time.monotonic() - began
    finally:
        if holder.is_alive():
            os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
    assert holder.exitcode == -signal.SIGKILL
    assert elapsed < 3, f"recovering the dead holder's lock took {elapsed:.1f} s"
    assert (path / ARTIFACT).read_bytes() == PAYLOAD
    assert len(log.read_text().splitlines()) == 1
    assert list((root / "tmp").iterdir()) == []  # the killed build's leftovers are gone


# --- keys in other processes -------------------------------------------------------------


@pytest.mark.parametrize("seed", ["0", "1", "4242"])
def test_key_is_stable_across_hash_seeds(seed):
    text = json.dumps({k: v for k, v in PARTS.items() if k != "blob"})
    out = subprocess.run([sys.executable, "-c", KEY_SCRIPT, text], capture_output=True,
                         text=True, env={**os.environ, "PYTHONHASHSEED": seed}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == GOLDEN_KEY


def _other_interpreters():
    found = []
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 20)]
    candidates += [str(p) for p in Path("/root/.pyenv/versions").glob("3.*/bin/python3")]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2] >= (3, 9),"
                                            " sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.startswith("True") and \
                f"({sys.version_info[0]}, {sys.version_info[1]})" not in out.stdout:
            found.append(exe)
    return found[:1]


def test_key_is_stable_across_interpreters():
    others = _other_interpreters()
    if not others:
        pytest.skip("no second Python interpreter on this machine")
    # Load the two cache modules as a package of their own: the other interpreter has
    # none of this project's dependencies installed.
    codegen = Path(cache_module.__file__).parent
    script = ("import sys, types, importlib, json\n"
              f"pkg = types.ModuleType('stc'); pkg.__path__ = [{str(codegen)!r}]\n"
              "sys.modules['stc'] = pkg\nmod = importlib.import_module('stc.cache')\n"
              "parts = json.loads(sys.argv[1]); parts['blob'] = b'\\x00\\xff'\n"
              "print(mod.cache_key(parts))")
    text = json.dumps({k: v for k, v in PARTS.items() if k != "blob"})
    out = subprocess.run([others[0], "-c", script, text], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == GOLDEN_KEY, others[0]


# --- command line -----------------------------------------------------------------------------


def cli(*args, root):
    env = {**os.environ, "SYMTHEANO_CACHE_DIR": str(root)}
    return subprocess.run([sys.executable, "-m", "symtheano", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_command_line(tmp_path):
    root = tmp_path / "cache"
    cache = CompileCache(root)
    out = cli("cache", "info", root=root)
    assert out.returncode == 0 and "does not exist yet" in out.stdout and not root.exists()
    cache.get_or_build(KEY, lambda d: counting_build(d, tmp_path / "log"), files=(ARTIFACT,),
                       meta={"description": "double f(double)"})
    out = cli("cache", "info", root=root)
    assert out.returncode == 0, out.stderr
    assert str(root) in out.stdout and "entries:     1" in out.stdout and "1.0 GiB" in out.stdout
    out = cli("cache", "list", root=root)
    assert KEY[:12] in out.stdout and "double f(double)" in out.stdout
    out = cli("cache", "clear", root=root)
    assert out.returncode == 0 and "removed 1 entries" in out.stdout
    assert json.loads(cli("cache", "info", "--json", root=root).stdout)["entries"] == 0
    assert cli("cache", root=root).returncode == 2
    assert cli("version", root=root).stdout.startswith("symtheano ")
