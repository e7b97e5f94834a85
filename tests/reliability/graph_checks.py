"""What the reliability suite asserts about one random graph (random_graphs.Built).

`check_values`: the graph as written, run by the reference back end (mode PY, no
rewrites), equals NumPy; the C program equals the reference on the same graph,
as written and rewritten (fast_run); the rewritten graph equals the graph as
written (where a stabilizing rewrite fired, the graph as written overflows or
cancels where the rewritten one does not, so there only finite values are
compared, loosely); the caller's arrays are never modified.

`check_gradient`: for a smooth graph, the C gradient of a random projection of the
outputs equals the reference gradient and agrees with a central difference along a
random direction.

Both raise AssertionError with the graph, its values and the failing comparison.
"""

from __future__ import annotations

import numpy as np

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.graph.basic import ancestors, toposort
from symtheano.rewrite import canonicalize, stabilize

from .random_graphs import assert_close

C_REWRITTEN = Mode("c", "fast_run")
PY_REWRITTEN = Mode("py", "fast_run")
C_AS_WRITTEN = Mode("c", None)
PY_AS_WRITTEN = Mode("py", None)
_STEPS = ("floor", "int_div", "mod")
# Elementwise ops whose results are rounded (on multiples of 1/4, +, -, *, max, min,
# neg, abs, sqr, integer powers, sums and products are exact while they stay small).
_ROUNDED = {"exp", "log", "sqrt", "tanh", "sigmoid", "sin", "log1p", "expm1", "true_div",
            "pow", "softplus"}
STABILIZING = {r.name for r in stabilize.STAGE.rewriters} - {
    r.name for r in canonicalize.STAGE.rewriters}


def _single(outputs):
    """Is any value float32 (then only float32 accuracy can be asked of float outputs)?"""
    return any(getattr(v, "dtype", None) == "float32" for v in ancestors(outputs))


def _decides(outputs):
    """Does a rounded float become a bool or an integer (comparison, argmax), or go
    through a step function (floor, int_div, mod)? Then a rounding difference between
    equivalent formulas may flip the result."""
    nodes = toposort(outputs)
    if not any(str(n.op) in _ROUNDED or n.outputs[0].dtype == "float32" for n in nodes):
        return False  # exact arithmetic: no rounding to flip a decision
    for n in nodes:
        floats_in = any(i.dtype.startswith("float") for i in n.inputs)
        if floats_in and (str(n.op) in _STEPS or any(
                not o.dtype.startswith("float") for o in n.outputs)):
            return True
    return False


def _run(built, mode):
    f = th.function(built.inputs, built.outputs, mode=mode, on_unused_input="ignore")
    with np.errstate(all="ignore"):
        return f, [np.asarray(v) for v in f(*built.values)]


def _compare(name, got, ref, built, rtol, scale, lenient=False):
    for k, (g, r, out) in enumerate(zip(got, ref, built.outputs)):
        assert_close(g, r, out.dtype, scale, rtol=rtol, lenient=lenient,
                     what=f"{name}, output {k}")


def check_values(built):
    originals = [v.copy() for v in built.values]
    rtol = 1e-5 if _single(built.outputs) else 1e-12
    scale = built.scale()
    stage = "building"
    try:
        stage = "reference (PY, as written) vs NumPy"
        _, py_raw = _run(built, PY_AS_WRITTEN)
        _compare(stage, py_raw, built.expected, built, rtol, scale)
        stage = "C vs reference, as written"
        _, c_raw = _run(built, C_AS_WRITTEN)
        _compare(stage, c_raw, py_raw, built, rtol, scale)
        stage = "C vs reference, rewritten"
        f, c_fast = _run(built, C_REWRITTEN)
        _, py_fast = _run(built, PY_REWRITTEN)
        _compare(stage, c_fast, py_fast, built, rtol, scale)
        stage = "rewritten vs as written"
        fired = set(f.rewrite_report().counts)
        decides = _decides(built.outputs)
        if fired & STABILIZING or decides:
            # No oracle where the graph as written overflows, nor where a rounding
            # difference may flip a decision: compare only all-finite, undecided graphs.
            finite = all(np.isfinite(v).all() for v in built.intermediates
                         if v.dtype.kind == "f")
            if finite and not decides:
                _compare(stage, c_fast, py_raw, built, 1e-2 if rtol > 1e-6 else 1e-6, scale,
                         lenient=True)
        else:
            _compare(stage, c_fast, py_raw, built, rtol, scale)
        stage = "the caller's arrays are unchanged"
        for k, (before, after) in enumerate(zip(originals, built.values)):
            np.testing.assert_array_equal(before, after, f"input {k} was modified")
    except Exception as exc:
        raise AssertionError(f"{stage}: {type(exc).__name__}: {exc}\n{built.describe()}\n"
                             f"NumPy expects: {built.expected}") from exc


def check_gradient(built, seed=0):
    """Gradient of sum_k sum(output_k * r_k) (the r_k are inputs: no constant folds into a
    kernel) with respect to every input, in C and in the reference, and a central
    difference along a random direction."""
    float_outs = [o for o in built.outputs if o.dtype.startswith("float")]
    if not float_outs:
        return
    rng = np.random.default_rng(seed)
    projections = [o.type(f"r{k}") for k, o in enumerate(float_outs)]
    cost = sum(T.sum(o * r) for o, r in zip(float_outs, projections))
    args = built.inputs + projections
    rs = [rng.uniform(-1, 1, size=v.shape).astype(v.dtype)
          for o, v in zip(built.outputs, built.expected) if o.dtype.startswith("float")]
    stage = "gradient: building"
    try:
        grads = T.grad(cost, built.inputs, disconnected_inputs="ignore")
        stage = "gradient: C vs reference"
        f_cost = th.function(args, cost, mode=C_REWRITTEN, on_unused_input="ignore")
        g_c = th.function(args, grads, mode=C_REWRITTEN, on_unused_input="ignore")(
            *built.values, *rs)
        g_py = th.function(args, grads, mode=PY_REWRITTEN, on_unused_input="ignore")(
            *built.values, *rs)
        gscale = max([1.0] + [float(np.abs(g).max()) for g in g_py if g.size])
        for k, (gc, gp, x) in enumerate(zip(g_c, g_py, built.inputs)):
            assert_close(gc, np.asarray(gp), x.dtype, gscale * built.scale(), rtol=1e-12,
                         what=f"gradient {k}")
        stage = "gradient: central difference"
        directions = [rng.standard_normal(np.shape(v)) for v in built.values]
        h = 1e-6
        plus = f_cost(*[v + h * d for v, d in zip(built.values, directions)], *rs)
        minus = f_cost(*[v - h * d for v, d in zip(built.values, directions)], *rs)
        numeric = (float(plus) - float(minus)) / (2 * h)
        analytic = sum(float(np.sum(g * d)) for g, d in zip(g_c, directions))
        magnitude = sum(float(np.sum(np.abs(g * d))) for g, d in zip(g_c, directions))
        value = abs(float(f_cost(*built.values, *rs)))
        bound = 1e-6 * (magnitude + 1.0) + 1e-9 * value
        assert abs(numeric - analytic) <= bound, (
            f"directional derivative {analytic!r}, central difference {numeric!r} "
            f"(bound {bound:.3g})")
    except Exception as exc:
        raise AssertionError(f"{stage}: {type(exc).__name__}: {exc}\n{built.describe()}"
                             ) from exc
