"""The contestants and the four timed workloads (latency, fused, rosenbrock, mlp).

A workload builds one `Case` per contestant: `fn(*args)` is one timed call, and
`result` its output, compared with NumPy's by `compare`. A contestant whose
library is missing, or that cannot express a workload, raises `Skip`.
The compile workload is in compile_times.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from .timing import threads_setting

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
# The rows of the compile workload's import timings (compile_times.IMPORTS).
LABEL.update({"symtheano": "symtheano", "symtheano+tensor": "symtheano.tensor",
              "import-pytensor": "PyTensor", "import-jax": "JAX"})

# Results further than this from NumPy's are flagged in the table (they are still timed).
AGREE_TOL = 1e-10


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
    if not hasattr(program, "compiled_nodes"):
        return ""
    n_c = len(program.compiled_nodes())
    n_native = len(program.native_nodes()) if hasattr(program, "native_nodes") else 0
    return (f"C code for {n_c} of {len(fn.fgraph.apply_nodes)} nodes "
            f"({n_native} called natively)")


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
