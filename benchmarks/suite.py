"""symtheano against its peers: the benchmark suite of issue 4.

    python benchmarks/suite.py                  # everything, 1 thread and all cores
    python -m benchmarks.suite --quick          # small sizes, few repetitions
    python benchmarks/suite.py --workload fused --threads 1

Contestants: NumPy eager (hand-written derivatives), numexpr, PyTensor (mode
"CVM", its C back end), JAX (jit, CPU, float64), symtheano mode="C" and
mode="PY" (the NumPy reference back end). A contestant whose library is not
installed, or that cannot run a workload, is skipped with a note.

Each thread setting runs in its own worker process, because the thread pools
of OpenBLAS, OpenMP and XLA are sized when the libraries are imported: the
"1 thread" worker starts with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=
MKL_NUM_THREADS=1, XLA_FLAGS pinning XLA to one thread, and
numexpr.set_num_threads(1); the "all cores" worker starts without them. Inside
a worker every contestant of a (workload, size) is set up, checked against
NumPy, then timed round-robin: each repetition runs one sample of every
contestant, starting with a different one each time, so machine noise spreads
over all of them. A sample is a batch of calls sized to last about
`target` seconds; the figure reported is the median over repetitions of the
time per call. Ratios are a contestant's time divided by NumPy's in the same
worker: below 1 is faster than NumPy.

Compile and import times (workload "compile") are taken in fresh processes,
in the 1-thread setting only.

Results: a markdown table (printed, and written to benchmarks/results/latest.md),
the same data as JSON (latest.json) and one plot (latest.png).

This file imports only the standard library at module level: it is also the
entry point of the worker and probe processes.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
PYTENSOR_MODE = "CVM"  # PyTensor's C back end (since PyTensor 3 its default is Numba)

# (key, label) in table order; ratios are taken against the first.
CONTESTANTS = [
    ("numpy", "NumPy"),
    ("numexpr", "numexpr"),
    ("pytensor", f"PyTensor {PYTENSOR_MODE}"),
    ("jax", "JAX jit"),
    ("symtheano-C", "symtheano C"),
    ("symtheano-PY", "symtheano PY"),
]
LABEL = dict(CONTESTANTS)

# Results further than this from NumPy's are flagged in the table (they are still timed).
AGREE_TOL = 1e-10


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


# --------------------------------------------------------------------------- contestants


class Skip(Exception):
    """A contestant cannot run here (library missing, workload not expressible)."""


def need(module, pip_name=None):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Skip(f"{module} is not installed (pip install {pip_name or module}): "
                   f"{exc}") from None


def _numexpr():
    ne = need("numexpr")
    ne.set_num_threads(1 if threads_setting() == "1" else (os.cpu_count() or 1))
    return ne


def _pytensor():
    pytensor = need("pytensor")
    if not pytensor.config.cxx:
        raise Skip("PyTensor found no C++ compiler (config.cxx is empty): mode CVM would "
                   "not run C code")
    import pytensor.tensor as pt

    return pytensor, pt


def _jax():
    jax = need("jax", "jax jaxlib")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def _symtheano():
    import symtheano as th
    import symtheano.tensor as T

    return th, T


def _symtheano_note(fn):
    """How much of a compiled symtheano function runs C code."""
    program = getattr(fn, "program", None)
    steps = getattr(program, "steps", None)
    if not hasattr(program, "c_nodes") or steps is None:
        return ""
    # A step runs C code when its callable is not the op's own `perform` (bound
    # methods are new objects at each attribute access: compare with ==, not `is`).
    n_c = sum(1 for perform, node, *_ in steps if perform != node.op.perform)
    return f"C code for {n_c} of {len(steps)} nodes"


@dataclass
class Case:
    """One contestant on one (workload, size): `fn(*args)` is one timed call."""

    fn: Any
    args: tuple = ()
    result: Any = None  # its output (set from a first call unless the builder did)
    note: str = ""
    number: int = 1  # calls per sample
    samples: list = field(default_factory=list)


# --------------------------------------------------------------------------- workloads


class Workload:
    name = ""
    title = ""
    sizes: tuple = ()
    quick_sizes: tuple = ()
    tol = AGREE_TOL  # agreement asked of every contestant (smoke test, flags)
    needs = {}  # contestant key -> reason it cannot run this workload

    def size_label(self, size):
        return f"n={size:.0e}".replace("e+0", "e")

    def data(self, size):
        raise NotImplementedError

    def build(self, key, data):
        reason = self.needs.get(key)
        if reason:
            raise Skip(reason)
        if key.startswith("symtheano-"):
            return self.symtheano(data, key.split("-", 1)[1])
        return getattr(self, key)(data)


class Latency(Workload):
    """function([x], grad(x**2, x)) called as f(4.0); NumPy: the bare call 2*4.0."""

    name = "latency"
    title = "call latency of grad(x**2, x) at 4.0"
    sizes = quick_sizes = ("f(4.0)",)

    def size_label(self, size):
        return size

    def data(self, size):
        return {"x": 4.0}

    def numpy(self, d):
        import numpy as np

        return Case(np.multiply, (2.0, d["x"]), note="bare call np.multiply(2.0, 4.0)")

    def numexpr(self, d):
        ne = _numexpr()
        import functools

        fn = functools.partial(ne.evaluate, "2.0 * x", local_dict={"x": d["x"]})
        return Case(fn, note='ne.evaluate("2.0 * x")')

    def pytensor(self, d):
        pytensor, pt = _pytensor()
        x = pt.dscalar("x")
        f = pytensor.function([x], pytensor.grad(x ** 2, x), mode=PYTENSOR_MODE)
        return Case(f, (d["x"],))

    def jax(self, d):
        jax, _ = _jax()
        g = jax.jit(jax.grad(lambda x: x ** 2))
        v = d["x"]
        return Case(lambda: g(v).block_until_ready(), note="includes block_until_ready")

    def symtheano(self, d, mode):
        th, T = _symtheano()
        x = T.dscalar("x")
        f = th.function([x], T.grad(x ** 2, x), mode=mode)
        return Case(f, (d["x"],), note=_symtheano_note(f))


FUSED = "1/(1+exp(-a*x+b))*tanh(x) + log1p(exp(x))"


class Fused(Workload):
    """The fused elementwise expression of issue 4 on a float64 vector x, scalars a, b.

    x is 5 * standard normal with NaN, +inf and -inf at positions 1, 2, 3, so
    that every run also checks that NaN/Inf come out where NumPy has them.
    """

    name = "fused"
    title = FUSED
    sizes = (10 ** 3, 10 ** 5, 10 ** 7)
    quick_sizes = (10 ** 3, 10 ** 5)

    def data(self, size):
        import numpy as np

        x = np.random.default_rng(1).standard_normal(size) * 5.0
        x[1:4] = [np.nan, np.inf, -np.inf]
        return {"x": x, "a": 1.5, "b": 0.5}

    def numpy(self, d):
        import numpy as np

        def fused(x, a, b):
            return 1 / (1 + np.exp(-a * x + b)) * np.tanh(x) + np.log1p(np.exp(x))

        return Case(fused, (d["x"], d["a"], d["b"]))

    def numexpr(self, d):
        ne = _numexpr()
        import functools

        fn = functools.partial(ne.evaluate, FUSED, local_dict=dict(d))
        return Case(fn, note="VML" if getattr(ne, "use_vml", False) else "")

    def pytensor(self, d):
        pytensor, pt = _pytensor()
        x, a, b = pt.dvector("x"), pt.dscalar("a"), pt.dscalar("b")
        expr = 1 / (1 + pt.exp(-a * x + b)) * pt.tanh(x) + pt.log1p(pt.exp(x))
        f = pytensor.function([x, a, b], expr, mode=PYTENSOR_MODE)
        return Case(f, (d["x"], d["a"], d["b"]))

    def jax(self, d):
        jax, jnp = _jax()

        @jax.jit
        def fused(x, a, b):
            return 1 / (1 + jnp.exp(-a * x + b)) * jnp.tanh(x) + jnp.log1p(jnp.exp(x))

        x, a, b = (jax.device_put(jnp.asarray(d[k])) for k in "xab")
        return Case(lambda: fused(x, a, b).block_until_ready())

    def symtheano(self, d, mode):
        th, T = _symtheano()
        x, a, b = T.dvector("x"), T.dscalar("a"), T.dscalar("b")
        expr = 1 / (1 + T.exp(-a * x + b)) * T.tanh(x) + T.log1p(T.exp(x))
        f = th.function([x, a, b], expr, mode=mode)
        return Case(f, (d["x"], d["a"], d["b"]), note=_symtheano_note(f))


class Rosenbrock(Workload):
    """The gradient of the extended (chained) Rosenbrock function, as scipy.optimize.rosen:

        f(x) = sum_{i<n-1} 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2

    NumPy and numexpr use the hand-written gradient (scipy.optimize.rosen_der's formula).
    """

    name = "rosenbrock"
    title = "gradient of the extended Rosenbrock function"
    sizes = (10 ** 2, 10 ** 4, 10 ** 6)
    quick_sizes = (10 ** 2, 10 ** 4)

    def data(self, size):
        import numpy as np

        return {"x": np.random.default_rng(2).uniform(-2.0, 2.0, size)}

    def numpy(self, d):
        import numpy as np

        def rosen_der(x):
            xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
            der = np.empty_like(x)
            der[1:-1] = (200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm
                         - 2 * (1 - xm))
            der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
            der[-1] = 200 * (x[-1] - x[-2] ** 2)
            return der

        return Case(rosen_der, (d["x"],), note="hand-written gradient")

    def numexpr(self, d):
        ne = _numexpr()
        import numpy as np

        def rosen_der(x):
            der = np.empty_like(x)
            ne.evaluate("200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm - 2 * (1 - xm)",
                        local_dict={"xm": x[1:-1], "xm_m1": x[:-2], "xm_p1": x[2:]},
                        out=der[1:-1])
            der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
            der[-1] = 200 * (x[-1] - x[-2] ** 2)
            return der

        return Case(rosen_der, (d["x"],), note="hand-written gradient")

    def pytensor(self, d):
        pytensor, pt = _pytensor()
        x = pt.dvector("x")
        cost = pt.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        f = pytensor.function([x], pytensor.grad(cost, x), mode=PYTENSOR_MODE)
        return Case(f, (d["x"],))

    def jax(self, d):
        jax, jnp = _jax()

        def rosen(x):
            return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

        g = jax.jit(jax.grad(rosen))
        x = jax.device_put(jnp.asarray(d["x"]))
        return Case(lambda: g(x).block_until_ready())

    def symtheano(self, d, mode):
        th, T = _symtheano()
        x = T.dvector("x")
        cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        f = th.function([x], T.grad(cost, x), mode=mode)
        return Case(f, (d["x"],), note=_symtheano_note(f))


MLP_SHAPE = (64, 1000, 100, 10)  # N, D_in, H, D_out
MLP_LR = 1e-6


def mlp_data():
    """The 2-layer ReLU network's data and initial weights (tutorials/04_mlp_relu.py)."""
    import numpy as np

    n, d_in, h, d_out = MLP_SHAPE
    rng = np.random.RandomState(0)
    x, y = rng.randn(n, d_in), rng.randn(n, d_out)
    w1, w2 = rng.randn(d_in, h), rng.randn(h, d_out)
    return {"x": x, "y": y, "w1": w1, "w2": w2}


def mlp_numpy_step(w1, w2, x, y, lr=MLP_LR):
    """One SGD step with hand-written backprop; updates w1, w2 in place, returns the loss."""
    import numpy as np

    h = x @ w1
    h_relu = np.maximum(h, 0)
    y_pred = h_relu @ w2
    diff = y_pred - y
    loss = np.sum(diff ** 2)
    grad_y_pred = 2.0 * diff
    grad_w2 = h_relu.T @ grad_y_pred
    grad_h = grad_y_pred @ w2.T
    grad_h[h < 0] = 0
    grad_w1 = x.T @ grad_h
    w1 -= lr * grad_w1
    w2 -= lr * grad_w2
    return loss


def symtheano_mlp_step(th, T, w1_value, w2_value, mode):
    """The training step of the tutorial, compiled: train(x, y) -> loss, updating w1, w2."""
    w1 = th.shared(w1_value.copy(), name="w1")
    w2 = th.shared(w2_value.copy(), name="w2")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    y_pred = T.dot(T.nnet.relu(T.dot(x, w1)), w2)
    loss = T.sum((y_pred - y) ** 2)
    g1, g2 = T.grad(loss, [w1, w2])
    train = th.function([x, y], loss, mode=mode,
                        updates=[(w1, w1 - MLP_LR * g1), (w2, w2 - MLP_LR * g2)])
    return train, w1, w2


def pytensor_mlp_step(pytensor, pt, w1_value, w2_value):
    w1 = pytensor.shared(w1_value.copy(), name="w1")
    w2 = pytensor.shared(w2_value.copy(), name="w2")
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    y_pred = pt.dot(pt.maximum(pt.dot(x, w1), 0), w2)
    loss = pt.sum((y_pred - y) ** 2)
    g1, g2 = pytensor.grad(loss, [w1, w2])
    train = pytensor.function([x, y], loss, mode=PYTENSOR_MODE,
                              updates=[(w1, w1 - MLP_LR * g1), (w2, w2 - MLP_LR * g2)])
    return train, w1, w2


def jax_mlp_step(jax, jnp):
    def loss_fn(w1, w2, x, y):
        return jnp.sum((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2)

    @jax.jit
    def step(w1, w2, x, y):
        loss, (g1, g2) = jax.value_and_grad(loss_fn, argnums=(0, 1))(w1, w2, x, y)
        return loss, w1 - MLP_LR * g1, w2 - MLP_LR * g2

    return step


class MLP(Workload):
    """One SGD step (forward, backward, update) of the 2-layer ReLU network, L2 loss.

    Every contestant starts from the same weights; the result compared is
    (loss, w1 after, w2 after) of the first step.
    """

    name = "mlp"
    title = "one SGD step of the 2-layer ReLU network"
    sizes = quick_sizes = (MLP_SHAPE,)
    needs = {"numexpr": "n/a: numexpr evaluates elementwise expressions only (no matrix "
                        "products)"}

    def size_label(self, size):
        return "x".join(map(str, size))

    def data(self, size):
        return mlp_data()

    def numpy(self, d):
        w1, w2 = d["w1"].copy(), d["w2"].copy()
        loss = mlp_numpy_step(w1, w2, d["x"], d["y"])
        result = (loss, w1.copy(), w2.copy())
        return Case(mlp_numpy_step, (w1, w2, d["x"], d["y"]), result=result,
                    note="hand-written backprop, in-place update")

    def pytensor(self, d):
        pytensor, pt = _pytensor()
        train, w1, w2 = pytensor_mlp_step(pytensor, pt, d["w1"], d["w2"])
        loss = train(d["x"], d["y"])
        result = (loss, w1.get_value(), w2.get_value())
        return Case(train, (d["x"], d["y"]), result=result)

    def jax(self, d):
        jax, jnp = _jax()
        step = jax.jit(jax_mlp_step(jax, jnp), donate_argnums=(0, 1))
        x, y = (jax.device_put(jnp.asarray(d[k])) for k in "xy")
        state = [jnp.array(d["w1"]), jnp.array(d["w2"])]
        loss, state[0], state[1] = step(state[0], state[1], x, y)
        result = as_arrays((loss, state[0], state[1]))

        def run():
            loss, state[0], state[1] = step(state[0], state[1], x, y)
            return jax.block_until_ready((loss, state[0], state[1]))

        return Case(run, result=result, note="weights donated (updated in place)")

    def symtheano(self, d, mode):
        th, T = _symtheano()
        train, w1, w2 = symtheano_mlp_step(th, T, d["w1"], d["w2"], mode)
        loss = train(d["x"], d["y"])
        result = (loss, w1.get_value(), w2.get_value())
        return Case(train, (d["x"], d["y"]), result=result, note=_symtheano_note(train))


TIMED_WORKLOADS = (Latency(), Fused(), Rosenbrock(), MLP())
WORKLOAD_NAMES = tuple(w.name for w in TIMED_WORKLOADS) + ("compile",)


# --------------------------------------------------------------------------- checking


def as_arrays(value):
    import numpy as np

    items = value if isinstance(value, tuple | list) else (value,)
    return tuple(np.array(v, dtype=np.float64) for v in items)


def compare(ref, got):
    """Normwise relative error (max |difference| / max |reference|, over the positions
    finite in both) and whether NaN, +inf and -inf sit exactly where the reference has them."""
    import numpy as np

    rel, match, n_special = 0.0, True, 0
    ref, got = as_arrays(ref), as_arrays(got)
    if len(ref) != len(got):
        return {"rel_err": float("inf"), "nonfinite_match": False, "n_nonfinite": 0}
    for r, g in zip(ref, got):
        if r.shape != g.shape:
            return {"rel_err": float("inf"), "nonfinite_match": False, "n_nonfinite": 0}
        n_special += int((~np.isfinite(r)).sum())
        match &= bool(np.array_equal(np.isnan(r), np.isnan(g))
                      and np.array_equal(r == np.inf, g == np.inf)
                      and np.array_equal(r == -np.inf, g == -np.inf))
        finite = np.isfinite(r) & np.isfinite(g)
        scale = float(np.max(np.abs(r[np.isfinite(r)]), initial=0.0))
        diff = float(np.max(np.abs(r[finite] - g[finite]), initial=0.0))
        rel = max(rel, diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf")))
    return {"rel_err": rel, "nonfinite_match": match, "n_nonfinite": n_special}


def run_case(workload, key, data):
    """Build one contestant and compute its first result; warnings go into its note."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case = workload.build(key, data)
        if case.result is None:
            case.result = case.fn(*case.args)
        case.result = as_arrays(case.result)
    if key.startswith("symtheano") and caught:  # e.g. a fall-back to the reference back end
        first = str(caught[0].message).strip().splitlines()[0][:120]
        case.note = "; ".join(filter(None, [case.note, f"warning: {first}"]))
    return case


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
    return reps


# --------------------------------------------------------------------------- compile probes


def probe(name, mode, cache):
    """Run in a fresh process: build, compile and call the training step once.

    Prints JSON: seconds from after the imports to the first result, the loss."""
    d = mlp_data()
    out = {}
    if name == "symtheano":
        th, T = _symtheano()
        t0 = time.perf_counter()
        train, _, _ = symtheano_mlp_step(th, T, d["w1"], d["w2"], mode)
        loss = float(train(d["x"], d["y"]))
        out["seconds"] = time.perf_counter() - t0
        out["note"] = _symtheano_note(train)
    elif name == "pytensor":
        pytensor, pt = _pytensor()
        t0 = time.perf_counter()
        train, _, _ = pytensor_mlp_step(pytensor, pt, d["w1"], d["w2"])
        loss = float(train(d["x"], d["y"]))
        out["seconds"] = time.perf_counter() - t0
    elif name == "jax":
        jax, jnp = _jax()
        jax.config.update("jax_compilation_cache_dir", cache)
        for option in ("jax_persistent_cache_min_compile_time_secs",
                       "jax_persistent_cache_min_entry_size_bytes"):
            try:
                jax.config.update(option, 0)
            except AttributeError:
                pass
        x, y, w1, w2 = (jnp.asarray(d[k]) for k in ("x", "y", "w1", "w2"))
        t0 = time.perf_counter()
        step = jax_mlp_step(jax, jnp)
        loss = float(step(w1, w2, x, y)[0])
        out["seconds"] = time.perf_counter() - t0
    else:
        raise SystemExit(f"unknown probe {name!r}")
    out["loss"] = loss
    print(json.dumps(out))


def run_probe(name, mode="", cache="", env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, str(HERE), "--probe", name, "--mode", mode, "--cache", cache]
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


IMPORTS = [  # (row key, module); ratios are to `import numpy`
    ("numpy", "numpy"),
    ("symtheano", "symtheano"),
    ("symtheano+tensor", "symtheano.tensor"),
    ("numexpr", "numexpr"),
    ("import-pytensor", "pytensor"),
    ("import-jax", "jax"),
]
LABEL.update({"symtheano": "symtheano", "symtheano+tensor": "symtheano.tensor",
              "import-pytensor": "PyTensor", "import-jax": "JAX"})
COLD, WARM, IMPORT = "train step, cold", "train step, warm", "import"


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


def compile_workload(quick, report, log):
    """Cold and warm compile of the training step, and import times, in fresh processes.

    Cold: a fresh, empty cache directory per sample (symtheano's SYMTHEANO_CACHE_DIR,
    PyTensor's compiledir, JAX's persistent compilation cache). Warm: the directory
    the first cold sample filled. symtheano PY has no cache: cold only.
    """
    d = mlp_data()
    ref_loss = float(mlp_numpy_step(d["w1"].copy(), d["w2"].copy(), d["x"], d["y"]))
    n_cold, n_warm, n_import = (1, 2, 3) if quick else (3, 5, 7)
    tmp = Path(tempfile.mkdtemp(prefix="symtheano-bench-"))
    # key -> (probe, mode, environment for a cache directory, has a cache)
    probes = {
        "symtheano-C": ("symtheano", "C", lambda c: {"SYMTHEANO_CACHE_DIR": c}, True),
        "symtheano-PY": ("symtheano", "PY", lambda c: {"SYMTHEANO_CACHE_DIR": c}, False),
        "pytensor": ("pytensor", "", lambda c: {"PYTENSOR_FLAGS": f"compiledir={c}"}, True),
        "jax": ("jax", "", lambda c: {}, True),
    }
    samples, notes, errors, failures = {}, {}, {}, {}

    def one(size, key, cache):
        name, mode, env_for, _ = probes[key]
        try:
            out = run_probe(name, mode, cache, env_for(cache))
        except Exception as exc:  # recorded, never fatal; the other samples still run
            failures.setdefault((size, key), []).append(str(exc))
            return
        samples.setdefault((size, key), []).append(out["seconds"])
        rel = abs(out["loss"] - ref_loss) / abs(ref_loss)
        note = out.get("note", "")
        if rel > AGREE_TOL:
            note = f"{note}; RESULT DIFFERS from NumPy (loss rel. {rel:.1e})".lstrip("; ")
        notes[(size, key)] = note
        if len(samples[(size, key)]) == 1:
            report["accuracy"].append({"workload": "compile", "size": size,
                                       "contestant": key, "rel_err": rel,
                                       "nonfinite_match": True, "n_nonfinite": 0})

    try:
        log("compile: training step cold (empty caches), a fresh process per sample")
        for i in range(n_cold):
            for key in probes:
                one(COLD, key, str(tmp / f"{key}-{i}"))
        log("compile: training step warm (the cache the first cold sample filled)")
        for _ in range(n_warm):
            for key, (_, _, _, cached) in probes.items():
                if cached:
                    one(WARM, key, str(tmp / f"{key}-0"))
        log("compile: import times, a fresh process per sample")
        for key, module in IMPORTS:  # untimed: fills the file cache and writes .pyc files
            try:
                time_import(module)
            except RuntimeError as exc:
                errors[("import", key)] = str(exc)
        for _ in range(n_import):
            for key, module in IMPORTS:
                if ("import", key) not in errors:
                    samples.setdefault((IMPORT, key), []).append(time_import(module))
                    notes[(IMPORT, key)] = f"import {module}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    wanted = ([(COLD, k) for k in probes] + [(WARM, k) for k in probes if probes[k][3]]
              + [(IMPORT, k) for k, _ in IMPORTS])
    for size, key in wanted:
        s = samples.get((size, key))
        failed = failures.get((size, key), [])
        if s:
            note = notes.get((size, key), "")
            if failed:
                note = "; ".join(filter(None, [note, f"{len(failed)} of {len(s) + len(failed)} "
                                               f"samples failed ({failed[0]})"]))
            report["rows"].append({"workload": "compile", "size": size, "contestant": key,
                                   "median_s": statistics.median(s), "min_s": min(s),
                                   "reps": len(s), "number": 1, "note": note, "samples": s})
        else:
            reason = errors.get(("import", key)) if size == IMPORT else (
                f"error: every sample failed: {failed[0]}" if failed else None)
            report["skipped"].append({"workload": "compile", "size": size,
                                      "contestant": key, "reason": reason or "no sample"})


# --------------------------------------------------------------------------- worker


def worker(args):
    """Run the selected workloads in this process's thread setting; write JSON."""
    import numpy as np

    np.seterr(all="ignore")
    setting = threads_setting()
    out_path = Path(args.json_out)
    report = {"threads": setting, "rows": [], "accuracy": [], "skipped": [],
              "env": {k: os.environ.get(k) for k in THREAD_VARS + ("XLA_FLAGS",)},
              "numpy_blas": _numpy_blas(), "crashed_in": None}

    def log(msg):
        print(f"[{'1 thread' if setting == '1' else 'all cores'}] {msg}", file=sys.stderr,
              flush=True)

    def save():
        out_path.write_text(json.dumps(report, indent=1, default=float))

    keys = [k for k, _ in CONTESTANTS]
    for workload in TIMED_WORKLOADS:
        if workload.name not in args.workload:
            continue
        for size in (workload.quick_sizes if args.quick else workload.sizes):
            label = workload.size_label(size)
            report["crashed_in"] = f"{workload.name} {label}"
            save()
            log(f"{workload.name} {label}: setting up")
            data = workload.data(size)
            cases = {}
            for key in keys:
                try:
                    with time_limit(SETUP_LIMIT_S):
                        cases[key] = run_case(workload, key, data)
                except Skip as exc:
                    report["skipped"].append({"workload": workload.name, "size": label,
                                              "contestant": key, "reason": str(exc)})
                except Exception as exc:
                    tb = traceback.format_exception_only(exc)[-1].strip()
                    report["skipped"].append({"workload": workload.name, "size": label,
                                              "contestant": key, "reason": f"error: {tb}"})
                    if key == "numpy":
                        raise
            ref = cases["numpy"].result
            for key, case in cases.items():
                if key == "numpy":
                    continue
                acc = compare(ref, case.result)
                report["accuracy"].append({"workload": workload.name, "size": label,
                                           "contestant": key, **acc})
                if acc["rel_err"] > workload.tol or not acc["nonfinite_match"]:
                    case.note = "; ".join(filter(None, [
                        case.note, f"RESULT DIFFERS from NumPy (rel. {acc['rel_err']:.1e}, "
                        f"NaN/Inf {'same' if acc['nonfinite_match'] else 'differ'})"]))
            log(f"{workload.name} {label}: timing {', '.join(cases)}")
            reps = measure(cases, args.quick)
            for key, case in cases.items():
                report["rows"].append({
                    "workload": workload.name, "size": label, "contestant": key,
                    "median_s": statistics.median(case.samples), "min_s": min(case.samples),
                    "reps": reps, "number": case.number, "note": case.note,
                    "samples": case.samples})
            del cases, data
            gc.collect()
    if "compile" in args.workload:
        if setting == "1":
            report["crashed_in"] = "compile"
            save()
            compile_workload(args.quick, report, log)
        else:
            log("compile: measured in the 1-thread run only")
    report["crashed_in"] = None
    save()


def _numpy_blas():
    try:
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the layout of show_config changes between NumPy versions
        return "?"


# --------------------------------------------------------------------------- report


def machine():
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2 ** 20:.0f} GiB"
    except OSError:
        pass
    versions = {}
    for dist in ("symtheano", "numpy", "numexpr", "pytensor", "jax", "jaxlib", "cffi",
                 "scipy-openblas32", "matplotlib"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    cc = shutil.which(os.environ.get("CC") or "cc") or shutil.which("gcc")
    compiler = "none found"
    if cc:
        try:
            compiler = subprocess.run([cc, "--version"], capture_output=True, text=True,
                                      timeout=30).stdout.splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            compiler = cc
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": affinity, "memory": mem,
            "os": platform.platform(), "python": platform.python_version(),
            "c_compiler": compiler, "versions": versions}


def _loadavg():
    """The 1-minute load average: other work on the machine shows up here."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}" if r < 100 else f"{r:.0f}"


def merge(workers):
    """One row per (workload, size, contestant), both thread settings side by side."""
    rows, size_order = {}, {}
    for setting, rep in workers.items():
        for r in rep["rows"]:
            size_order.setdefault((r["workload"], r["size"]), len(size_order))
            row = rows.setdefault((r["workload"], r["size"], r["contestant"]), {
                "workload": r["workload"], "size": r["size"], "contestant": r["contestant"],
                "notes": []})
            row[setting] = r
            if r["note"] and r["note"] not in row["notes"]:
                row["notes"].append(r["note"])
    workload_order = {n: i for i, n in enumerate(WORKLOAD_NAMES)}
    contestant_order = {k: i for i, k in enumerate(LABEL)}
    merged = sorted(rows.values(), key=lambda r: (
        workload_order.get(r["workload"], 99), size_order[(r["workload"], r["size"])],
        contestant_order.get(r["contestant"], 99)))
    for r in merged:
        base = rows.get((r["workload"], r["size"], "numpy"), {})
        for setting in ("1", "all"):
            mine = r.get(setting, {}).get("median_s")
            ref = base.get(setting, {}).get("median_s")
            r[f"median_{setting}"] = mine
            r[f"ratio_{setting}"] = mine / ref if mine is not None and ref else None
    return merged


def evaluate_targets(merged, accuracy):
    """The single-thread targets of issue 4, as (target, measured, verdict)."""
    by = {(r["workload"], r["size"], r["contestant"]): r.get("median_1") for r in merged}
    acc = {(a["workload"], a["size"], a["contestant"]): a for a in accuracy}
    out = []

    def add(target, measured, ok):
        out.append({"target": target, "measured": measured,
                    "verdict": "not measured" if ok is None else "met" if ok else "NOT met"})

    def t(w, s, c):
        return by.get((w, s, c))

    st, ptn = t("latency", "f(4.0)", "symtheano-C"), t("latency", "f(4.0)", "pytensor")
    add("latency: symtheano C f(4.0) <= 2 µs", fmt_time(st), None if st is None else st <= 2e-6)
    add("latency: >= 2x faster than PyTensor CVM",
        "—" if None in (st, ptn) else f"speed-up {ptn / st:.2f} (PyTensor {fmt_time(ptn)})",
        None if None in (st, ptn) else ptn / st >= 2)
    fused = Fused()
    for n in (10 ** 5, 10 ** 7):
        s = fused.size_label(n)
        st, np_, jx = (t("fused", s, c) for c in ("symtheano-C", "numpy", "jax"))
        add(f"fused {s}: >= 3x faster than NumPy",
            "—" if None in (st, np_) else f"speed-up {np_ / st:.2f}",
            None if None in (st, np_) else np_ / st >= 3)
        add(f"fused {s}: at least as fast as JAX",
            "—" if None in (st, jx) else f"{st / jx:.2f}x JAX's time",
            None if None in (st, jx) else st <= jx)
    for n in fused.sizes:
        s = fused.size_label(n)
        a = acc.get(("fused", s, "symtheano-C"))
        add(f"fused {s}: normwise rel. error <= 1e-14, NaN/Inf where NumPy has them",
            "—" if a is None else f"{a['rel_err']:.1e}, NaN/Inf "
            f"{'same' if a['nonfinite_match'] else 'differ'}",
            None if a is None else a["rel_err"] <= 1e-14 and a["nonfinite_match"])
    s = Rosenbrock().size_label(10 ** 6)
    st, np_, jx = (t("rosenbrock", s, c) for c in ("symtheano-C", "numpy", "jax"))
    add(f"rosenbrock {s}: >= 4x faster than NumPy's hand-written gradient",
        "—" if None in (st, np_) else f"speed-up {np_ / st:.2f}",
        None if None in (st, np_) else np_ / st >= 4)
    add(f"rosenbrock {s}: at least as fast as JAX",
        "—" if None in (st, jx) else f"{st / jx:.2f}x JAX's time",
        None if None in (st, jx) else st <= jx)
    s = MLP().size_label(MLP_SHAPE)
    st, np_ = t("mlp", s, "symtheano-C"), t("mlp", s, "numpy")
    add("SGD step: <= 1.0x NumPy's time",
        "—" if None in (st, np_) else f"{st / np_:.2f}x NumPy's time",
        None if None in (st, np_) else st <= np_)
    cold, warm = t("compile", COLD, "symtheano-C"), t("compile", WARM, "symtheano-C")
    add("compile: training step cold < 1 s", fmt_time(cold), None if cold is None else cold < 1)
    add("compile: training step warm < 50 ms", fmt_time(warm),
        None if warm is None else warm < 0.05)
    imp_st, imp_np = t("compile", "import", "symtheano"), t("compile", "import", "numpy")
    imp_t = t("compile", "import", "symtheano+tensor")
    add("import symtheano <= import numpy + 30 ms",
        "—" if None in (imp_st, imp_np) else f"{(imp_st - imp_np) * 1e3:+.1f} ms",
        None if None in (imp_st, imp_np) else imp_st - imp_np <= 0.030)
    # `import symtheano` is lazy (it imports neither NumPy nor the tensor module):
    # the same bound on what any use of the library imports, a stricter reading.
    add("(stricter reading) import symtheano.tensor <= import numpy + 30 ms",
        "—" if None in (imp_t, imp_np) else f"{(imp_t - imp_np) * 1e3:+.1f} ms",
        None if None in (imp_t, imp_np) else imp_t - imp_np <= 0.030)
    return out


def render_markdown(report):
    m = report["machine"]
    v = m["versions"]
    lines = [
        "# symtheano benchmark results",
        "",
        f"Date: {report['date']}. Command: `{report['command']}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), "
        f"{m['memory']} memory; {m['os']}; Python {m['python']}; C compiler: "
        f"{m['c_compiler']}; NumPy's BLAS: {report.get('numpy_blas', '?')}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Run time {report['seconds']:.0f} s; 1-minute load average "
        f"{report['load_average']['before']} before the run, "
        f"{report['load_average']['after']} after (other work on the machine shows here).",
        "",
        "Median time per call over round-robin repetitions. *1 thread*: every library "
        "pinned to one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1, XLA_FLAGS="
        f"`{XLA_ONE_THREAD}`, numexpr.set_num_threads(1)); *all cores*: library defaults. "
        "Ratio = time / NumPy's time in the same setting (below 1 is faster than NumPy). "
        "Compile rows: build the graph, compile and make the first call, in a fresh process "
        "after its imports (1 thread only); import rows: time of the import statement in a "
        "fresh process, ratio to `import numpy`.",
        "",
        "| workload | size | contestant | median (1 thread) | ratio to NumPy "
        "| median (all cores) | ratio (all cores) | note |",
        "|---|---|---|--:|--:|--:|--:|---|",
    ]
    for r in report["merged"]:
        label = LABEL.get(r["contestant"], r["contestant"])
        lines.append(
            f"| {r['workload']} | {r['size']} | {label} | {fmt_time(r['median_1'])} | "
            f"{fmt_ratio(r['ratio_1'])} | {fmt_time(r['median_all'])} | "
            f"{fmt_ratio(r['ratio_all'])} | {'; '.join(r['notes'])} |")
    acc = report["accuracy"]
    if acc:
        lines += ["", "## Agreement with NumPy (1-thread run)", "",
                  "Normwise relative error = max |result - NumPy| / max |NumPy| over the "
                  "positions finite in both (for the SGD step: the worst of loss, w1 and w2 "
                  "after one step; for compile: the first loss). NaN/Inf: whether NaN, +inf "
                  "and -inf sit exactly where NumPy has them.", "",
                  "| workload | size | contestant | normwise rel. error | NaN/Inf |",
                  "|---|---|---|--:|---|"]
        for a in acc:
            special = ("same" if a["nonfinite_match"] else "DIFFER") + (
                f" ({a['n_nonfinite']} in NumPy's)" if a["n_nonfinite"] else "")
            lines.append(f"| {a['workload']} | {a['size']} | "
                         f"{LABEL.get(a['contestant'], a['contestant'])} | "
                         f"{a['rel_err']:.1e} | {special} |")
    lines += ["", "## Targets of issue 4 (1 thread, symtheano C)", "",
              "| target | measured | verdict |", "|---|---|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {t['verdict']} |")
    if report["skipped"]:
        lines += ["", "## Not measured", ""]
        seen = set()
        for s in report["skipped"]:
            key = (s["workload"], s["contestant"], s["reason"])
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"- {s['workload']}, {LABEL.get(s['contestant'], s['contestant'])}: "
                         f"{s['reason']}")
    for setting, crash in report.get("crashes", {}).items():
        lines.append(f"- the {setting}-thread worker stopped during {crash}")
    return "\n".join(lines) + "\n"


COLORS = {"numpy": "0.5", "numexpr": "C0", "pytensor": "C1", "import-pytensor": "C1",
          "jax": "C2", "import-jax": "C2", "symtheano-C": "C3", "symtheano": "C3",
          "symtheano-PY": "C4", "symtheano+tensor": "C5"}


def plot(report, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no plot"
    merged = report["merged"]
    timed = [r for r in merged if r["workload"] != "compile"]
    groups = list(dict.fromkeys((r["workload"], r["size"]) for r in timed))
    contestants = [k for k, _ in CONTESTANTS if k != "numpy"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.5),
                                   gridspec_kw={"width_ratios": [2.2, 1]})
    width = 0.8 / len(contestants)
    by = {(r["workload"], r["size"], r["contestant"]): r for r in merged}
    for j, c in enumerate(contestants):
        xs, ys = [], []
        for i, g in enumerate(groups):
            r = by.get((*g, c))
            if r and r.get("ratio_1"):
                xs.append(i + (j - len(contestants) / 2 + 0.5) * width)
                ys.append(r["ratio_1"])
        ax1.bar(xs, ys, width, label=LABEL[c], color=COLORS.get(c))
    ax1.axhline(1.0, color="black", lw=1, ls="--", label="NumPy")
    ax1.set_yscale("log")
    ax1.set_xticks(range(len(groups)), [f"{w}\n{s}" for w, s in groups], fontsize=8)
    ax1.set_ylabel("time / NumPy's time (1 thread, log; lower is faster)")
    ax1.set_title("Run time relative to NumPy, 1 thread")
    ax1.legend(fontsize=8)
    comp = [r for r in merged if r["workload"] == "compile" and r.get("median_1")]
    sizes = list(dict.fromkeys(r["size"] for r in comp))
    labelled = set()
    for i, size in enumerate(sizes):
        group = [r for r in comp if r["size"] == size]
        w = 0.8 / len(group)
        for j, r in enumerate(group):
            c = r["contestant"]
            ax2.bar(i + (j - len(group) / 2 + 0.5) * w, r["median_1"], w, color=COLORS.get(c),
                    label=None if c in labelled else LABEL.get(c, c))
            labelled.add(c)
    if not comp:
        ax2.text(0.5, 0.5, "not measured in this run", ha="center", transform=ax2.transAxes)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(sizes)), sizes, fontsize=8)
    ax2.set_ylabel("seconds (log)")
    ax2.set_title("Compile (fresh process) and import")
    if comp:
        ax2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"symtheano benchmarks, {report['date']}, {report['machine']['cpu']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return None


def orchestrate(args):
    settings = [args.threads] if args.threads else ["1", "all"]
    workers = {}
    crashes = {}
    tmpdir = Path(tempfile.mkdtemp(prefix="symtheano-bench-"))
    started = time.perf_counter()
    load_before = _loadavg()
    try:
        for setting in settings:
            out = tmpdir / f"worker-{setting}.json"
            cmd = [sys.executable, str(HERE), "--worker", "--json-out", str(out),
                   "--workload", *args.workload] + (["--quick"] if args.quick else [])
            proc = subprocess.run(cmd, cwd=ROOT, env=thread_env(setting))
            if out.exists():
                rep = json.loads(out.read_text())
                workers[setting] = rep
                if proc.returncode != 0 or rep.get("crashed_in"):
                    crashes[setting] = (f"{rep.get('crashed_in') or 'its run'} (exit status "
                                        f"{proc.returncode})")
            else:
                crashes[setting] = f"start-up (exit status {proc.returncode})"
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if not workers:
        raise SystemExit("no worker produced results")
    first = workers.get("1") or next(iter(workers.values()))
    merged = merge(workers)
    skipped = []
    seen = set()
    for rep in workers.values():
        for s in rep["skipped"]:
            key = (s["workload"], s["size"], s["contestant"])
            if key not in seen:
                seen.add(key)
                skipped.append(s)
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/suite.py", *sys.argv[1:]]),
        "machine": machine(),
        "numpy_blas": first.get("numpy_blas"),
        "settings": {s: {"env": w["env"]} for s, w in workers.items()},
        "merged": merged,
        "accuracy": first["accuracy"],
        "skipped": skipped,
        "crashes": crashes,
        "seconds": time.perf_counter() - started,
        "load_average": {"before": load_before, "after": _loadavg()},
    }
    report["targets"] = evaluate_targets(merged, report["accuracy"])
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = render_markdown(report)
    (out_dir / "latest.md").write_text(md)
    (out_dir / "latest.json").write_text(json.dumps(report, indent=1, default=float))
    problem = plot(report, out_dir / "latest.png")
    print(md)
    print(problem or f"wrote {out_dir / 'latest.md'}, latest.json and latest.png "
          f"({report['seconds']:.0f} s)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and few repetitions")
    p.add_argument("--workload", nargs="+", choices=WORKLOAD_NAMES, default=list(WORKLOAD_NAMES),
                   help="which workloads (default: all)")
    p.add_argument("--threads", choices=("1", "all"),
                   help="only this thread setting (default: both, side by side)")
    p.add_argument("--out-dir", default=str(RESULTS_DIR), help="where results are written")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="", help=argparse.SUPPRESS)
    p.add_argument("--cache", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        probe(args.probe, args.mode, args.cache)
    elif args.worker:
        worker(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
