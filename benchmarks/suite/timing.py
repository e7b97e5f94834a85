"""Thread pinning, interleaved timing with medians, and the subprocess runs.

Each thread setting runs in its own worker process (thread_env is its
environment); inside it, `measure` times the contestants round-robin. Probes
(run_probe) and import timings (time_import) each run in a fresh interpreter.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository root

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


# --------------------------------------------------------------------------- threads


def thread_env(setting, base=None):
    """The environment of a worker for thread setting "1" or "all"."""
    env = dict(os.environ if base is None else base)
    xla = env.get("XLA_FLAGS", "").replace(XLA_ONE_THREAD, "").strip()
    if setting == "1":
        env.update({v: "1" for v in THREAD_VARS})
        xla = f"{xla} {XLA_ONE_THREAD}".strip()
    else:
        for v in THREAD_VARS:
            env.pop(v, None)
    if xla:
        env["XLA_FLAGS"] = xla
    else:
        env.pop("XLA_FLAGS", None)
    env["JAX_PLATFORMS"] = "cpu"
    env["JAX_ENABLE_X64"] = "1"
    env["SYMTHEANO_BENCH_THREADS"] = setting
    return env


def threads_setting():
    return os.environ.get("SYMTHEANO_BENCH_THREADS", "1")


# --------------------------------------------------------------------------- timing

SETUP_LIMIT_S = 180  # building + compiling + the first call of one contestant


class SetupTimeout(Exception):
    pass


class time_limit:
    """Raise SetupTimeout in the main thread after `seconds` (SIGALRM; a compiler the
    contestant is waiting for is killed by subprocess.run on the way out)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def _fire(self, signum, frame):
        raise SetupTimeout(f"set-up (graph, compile, first call) took more than "
                           f"{self.seconds} s; abandoned")

    def __enter__(self):
        import signal

        self.usable = hasattr(signal, "SIGALRM")
        if self.usable:
            self.old = signal.signal(signal.SIGALRM, self._fire)
            signal.alarm(self.seconds)
        return self

    def __exit__(self, *exc):
        if self.usable:
            import signal

            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.old)
        return False


def calibrate(case, target):
    """Calls per sample so that one sample lasts about `target` seconds."""
    fn, args = case.fn, case.args
    fn(*args)  # warm-up (the first result was computed already)
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        dt = time.perf_counter() - t0
        if dt >= 1e-3 or n >= 10 ** 6:
            break
        n *= 10
    per_call = dt / n
    case.number = max(1, int(target / per_call))
    return per_call


def measure(cases, quick):
    """Round-robin medians: each repetition times one sample of every contestant."""
    target = 0.005 if quick else 0.025
    per_call = {k: calibrate(c, target) for k, c in cases.items()}
    if quick:
        reps = 5
    else:
        sample = sum(max(target, t) for t in per_call.values())
        reps = max(5, min(21, int(6.0 / sample)))
    round_robin(cases, reps)
    return reps


def round_robin(cases, reps):
    """`reps` repetitions, each taking one sample of every case (a batch of
    `case.number` calls), starting from a different case each time; the
    collector is off meanwhile."""
    keys = list(cases)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(reps):
            gc.collect()
            for k in keys[r % len(keys):] + keys[: r % len(keys)]:
                c = cases[k]
                fn, args, n = c.fn, c.args, c.number
                t0 = time.perf_counter()
                for _ in range(n):
                    fn(*args)
                c.samples.append((time.perf_counter() - t0) / n)
    finally:
        if gc_was:
            gc.enable()


# --------------------------------------------------------------------------- subprocesses


def run_probe(name, mode="", cache="", env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    # Probes run as an installed package does: with bytecode caches, written by the
    # first (cold) probe where a source changed since (pip writes them at install).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "benchmarks.suite", "--probe", name, "--mode", mode,
           "--cache", cache]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=SETUP_LIMIT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"probe {name} {mode}".strip()
                           + f": no result within {SETUP_LIMIT_S} s; abandoned") from None
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or [""]
        how = f"exit status {proc.returncode}"
        if proc.returncode < 0:
            import signal

            how = f"killed by {signal.Signals(-proc.returncode).name}"
        raise RuntimeError(f"probe {name} {mode}".strip() + f": {how} {last[0][:200]}".rstrip())
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def time_import(module):
    """Seconds the import statement takes in a fresh interpreter."""
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"import {module} failed: "
                           f"{(proc.stderr.strip().splitlines() or ['?'])[-1][:160]}")
    return float(proc.stdout.strip().splitlines()[-1])
