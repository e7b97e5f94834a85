"""Property test: for random graphs, the rewritten graph (fast_run) computes what
the graph as written (optimizer=None) computes, on random inputs.

The graphs mix dtypes (float64, float32, int32, int64, bool, int8, uint8), static and
dynamic shapes with broadcasting (scalar, vector, row, col, matrix), chains of
elementwise ops (arithmetic, comparisons, switch, exp/log/sqrt/tanh/sigmoid
with NaN allowed), reductions over axes with keepdims, indexing, dot,
reshape/dimshuffle/transpose, shapes, and the constants 0, 1, -1, 2 and 0.5
that make canonicalize fire. Inputs are multiples of 1/4 (so that sums and
products of them are exact and reassociating them changes nothing), with an
occasional 0, inf or NaN.

Equality: integer and bool outputs exactly; float outputs within a relative
tolerance of the largest intermediate value (float64 1e-12; 1e-5 where any
value is float32), with NaN and inf in the same places. Where a stabilizing
rewrite fired, the graph as written is no oracle where it overflows or cancels:
see check_graph.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.graph.basic import Constant, ancestors, toposort
from symtheano.printing import debugprint
from symtheano.rewrite import canonicalize, stabilize

FAST_RUN = Mode()
AS_WRITTEN = Mode(optimizer=None)
STABILIZED = Mode(optimizer="stabilize_only")
DTYPES = ("float64", "float64", "float32", "int32", "int64", "bool", "int8", "uint8")
KINDS = ("scalar", "vector", "row", "col", "matrix", "static")
CONSTANTS = (0, 1, -1, 2, 0.5, 3, np.float32(0.5), np.int8(-1), np.array([1.0, 0.0]))
STABILIZING = {r.name for r in stabilize.STAGE.rewriters} - {
    r.name for r in canonicalize.STAGE.rewriters}

# -- building random graphs -------------------------------------------------------------------


def make_input(name, dtype, kind, rows, cols):
    static = {"scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
              "matrix": (None, None), "static": (rows, cols)}[kind]
    runtime = {"scalar": (), "vector": (cols,), "row": (1, cols), "col": (rows, 1),
               "matrix": (rows, cols), "static": (rows, cols)}[kind]
    return T.TensorType(dtype, static)(name), runtime


def _float(x):
    return x if x.dtype.startswith("float") else T.cast(x, "float64")


def _discrete(x):
    # Casting inf, NaN or a huge float to an integer is undefined (NumPy's C casts).
    if x.dtype.startswith("float"):
        raise TypeError("no float -> int casts")
    return x


UNARY = {
    "neg": T.neg, "abs": T.abs, "sqr": T.sqr, "exp": T.exp, "log": T.log, "sqrt": T.sqrt,
    "tanh": T.tanh, "sigmoid": T.sigmoid, "log1p": T.log1p, "expm1": T.expm1,
    "softplus": T.softplus,
    "one_minus_sigmoid": lambda x: 1 - T.sigmoid(x),
    "log_one_plus_exp": lambda x: T.log(1 + T.exp(x)),
    "cast_float": _float,
    "cast_int": lambda x: T.cast(_discrete(x), "int64"),
    "not": lambda x: T.eq(x, 0),
}
BINARY = {
    "add": T.add, "sub": T.sub, "mul": T.mul, "true_div": T.true_div,
    "maximum": T.maximum, "minimum": T.minimum,
    "lt": T.lt, "gt": T.gt, "eq": T.eq, "ge": T.ge,
}
POWERS = (0, 1, 2, 3, 0.5, -1, -2)
FAMILIES = ("unary",) * 3 + ("binary",) * 3 + ("const",) * 3 + (
    "pow", "switch", "reduce", "index", "layout", "dot", "shape")


def _reduce(draw, x):
    op = draw(st.sampled_from([T.sum, T.max, T.min, T.mean, T.prod]))
    axis = draw(st.sampled_from([None, *range(x.ndim), *([(0, 1)] if x.ndim == 2 else [])]))
    return op(x, axis=axis, keepdims=draw(st.booleans()))


def _index(draw, x):
    if x.ndim == 0:
        return x
    choices = [lambda v: v[:], lambda v: v[::-1], lambda v: v[0], lambda v: v[-1:],
               lambda v: v[::2], lambda v: v[: v.shape[0]], lambda v: v[0:]]
    if x.ndim == 2:
        choices += [lambda v: v[:, 0], lambda v: v[:, ::-1], lambda v: v[:, :]]
    return draw(st.sampled_from(choices))(x)


def _layout(draw, x):
    if x.ndim == 2:
        choices = [lambda v: v.T, lambda v: v.dimshuffle(1, 0).T, lambda v: T.reshape(v, (-1,)),
                   lambda v: T.reshape(v, v.shape), lambda v: T.reshape(v, (v.shape[1], -1)),
                   lambda v: T.exp(v).T, lambda v: T.alloc(v, v.shape[0], v.shape[1])]
    elif x.ndim == 1:
        choices = [lambda v: v.dimshuffle("x", 0), lambda v: v.dimshuffle(0, "x"),
                   lambda v: T.reshape(v, (1, -1)), lambda v: T.reshape(v, (-1,))]
    else:
        choices = [lambda v: v.dimshuffle("x"), lambda v: v.dimshuffle("x", "x")]
    return draw(st.sampled_from(choices))(x)


def _shape_use(draw, x):
    """Shapes as values: sizes times x, or shape(x) summed."""
    choices = [lambda v: v * T.cast(T.prod(T.shape(T.exp(v))), v.dtype),
               lambda v: v + T.cast(T.sum(T.shape(v * 2)), v.dtype)]
    if x.ndim:
        choices.append(lambda v: v * T.cast(T.exp(v).shape[0], v.dtype))
    return draw(st.sampled_from(choices))(x)


@st.composite
def graphs(draw):
    """(inputs, outputs, input values, description) of a random graph."""
    rows = draw(st.integers(1, 3))
    cols = rows if draw(st.booleans()) else draw(st.integers(1, 4))
    inputs, runtimes = [], []
    for i in range(draw(st.integers(1, 3))):
        dtype = draw(st.sampled_from(DTYPES))
        v, shape = make_input(f"i{i}", dtype, draw(st.sampled_from(KINDS)), rows, cols)
        inputs.append(v)
        runtimes.append(shape)
    pool = list(inputs)
    steps = []
    for _ in range(draw(st.integers(1, 10))):
        family = draw(st.sampled_from(FAMILIES))
        # Mostly extend the last value, so that chains form.
        x = pool[-1] if draw(st.booleans()) else draw(st.sampled_from(pool))
        try:
            if family == "unary":
                name = draw(st.sampled_from(sorted(UNARY)))
                out = UNARY[name](x)
            elif family == "binary":
                name = draw(st.sampled_from(sorted(BINARY)))
                out = BINARY[name](x, draw(st.sampled_from(pool)))
            elif family == "const":
                name = draw(st.sampled_from(sorted(BINARY)))
                c = draw(st.sampled_from(CONSTANTS))
                out = BINARY[name](c, x) if draw(st.booleans()) else BINARY[name](x, c)
            elif family == "pow":
                name = "pow"
                out = _float(x) ** draw(st.sampled_from(POWERS))
            elif family == "switch":
                name = "switch"
                out = T.switch(T.gt(x, 0), x, draw(st.sampled_from(pool)))
            elif family == "reduce":
                name, out = "reduce", _reduce(draw, x)
            elif family == "index":
                name, out = "index", _index(draw, x)
            elif family == "layout":
                name, out = "layout", _layout(draw, x)
            elif family == "dot":
                name, out = "dot", T.dot(x, draw(st.sampled_from(pool)))
            else:
                name, out = "shape", _shape_use(draw, x)
        except (TypeError, ValueError, IndexError, NotImplementedError):
            continue  # this op does not apply to these operands
        steps.append(name)
        pool.append(out)
    outputs = [pool[-1]]
    if len(pool) > len(inputs) + 1 and draw(st.booleans()):
        outputs.append(draw(st.sampled_from(pool[len(inputs):-1])))  # a shared subexpression
    seed = draw(st.integers(0, 2**32 - 1))
    return inputs, outputs, [_values(runtimes, inputs, seed)], steps


def _values(runtimes, inputs, seed):
    """Input arrays: floats are multiples of 1/4 in [-3, 3], sometimes with one
    0, inf or NaN; integers in [-12, 12] ([0, 12] unsigned); bools."""
    rng = np.random.default_rng(seed)
    values = []
    for shape, var in zip(runtimes, inputs):
        ints = rng.integers(-12, 13, size=shape)
        if var.dtype.startswith("float"):
            data = ints / 4.0
            if data.size and rng.random() < 0.3:
                data.flat[rng.integers(data.size)] = rng.choice([0.0, np.inf, -np.inf, np.nan])
        elif var.dtype == "bool":
            data = ints > 0
        else:
            data = np.abs(ints) if var.dtype.startswith("uint") else ints
        values.append(np.asarray(data, dtype=var.dtype))
    return values


# -- comparing ----------------------------------------------------------------------------------


def intermediate_scale(inputs, outputs, values):
    """(the largest finite magnitude of any float value the graph as written computes,
    whether any of those values is inf or NaN)."""
    inner = [o for n in toposort(outputs) for o in n.outputs
             if o.dtype.startswith("float") and not isinstance(o, Constant)]
    scale, nonfinite = 1.0, False
    if inner:
        f = th.function(inputs, inner, mode=AS_WRITTEN, on_unused_input="ignore")
        for value in f(*values):
            finite = np.abs(value[np.isfinite(value)])
            nonfinite = nonfinite or finite.size < value.size
            if finite.size:
                scale = max(scale, float(finite.max()))
    for v in values:
        if v.dtype.kind == "f" and np.isfinite(v).any():
            scale = max(scale, float(np.abs(v[np.isfinite(v)]).max()))
    return scale, nonfinite


def assert_same(got, ref, dtype, rtol, scale, lenient=False):
    """got == ref: exactly for integers and bools; for floats within rtol of
    (|ref| + scale), with NaN and inf in the same places. lenient: only where ref
    is finite."""
    assert got.dtype == ref.dtype == dtype and got.shape == ref.shape
    if not dtype.startswith("float"):
        np.testing.assert_array_equal(got, ref)
        return
    finite = np.isfinite(ref)
    if not lenient:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), "NaN positions differ")
        np.testing.assert_array_equal(got[~finite], ref[~finite], "inf values differ")
    got, ref = got[finite], ref[finite]
    assert np.isfinite(got).all(), "a finite value became inf or NaN"
    err = np.abs(got.astype("float64") - ref)
    bound = rtol * (np.abs(ref) + scale)
    assert (err <= bound).all(), f"max error {err.max()} > {bound[err.argmax()]}"


def decides(outputs):
    """Does the graph turn a float into a bool or an integer (a comparison, a cast)?
    Its result then jumps where a rounding error moves that float across a threshold."""
    return any(not o.dtype.startswith("float") and any(i.dtype.startswith("float")
                                                      for i in n.inputs)
               for n in toposort(outputs) for o in n.outputs)


def run(inputs, outputs, values, mode):
    f = th.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    with np.errstate(all="ignore"):
        return f, [np.asarray(v) for v in f(*values)]


def check_graph(inputs, outputs, values):
    """Assert that fast_run computes what the graph as written computes.

    Where a stabilizing rewrite fired, the graph as written is no oracle (it
    overflows or cancels where the stabilized one does not): fast_run is then
    compared with the graph rewritten up to stabilize (strictly: the stages after
    it must not change values), and that one with the graph as written (leniently:
    float outputs, to 1e-6, or 1e-2 with float32 values, where every value as
    written is finite and no comparison or cast decides on a float)."""
    try:
        _, as_written = run(inputs, outputs, values, AS_WRITTEN)
    except (ValueError, IndexError, TypeError, ZeroDivisionError):
        reject()  # the graph as written fails at run time (e.g. mismatched sizes)
    f, got = run(inputs, outputs, values, FAST_RUN)
    with np.errstate(all="ignore"):
        scale, nonfinite = intermediate_scale(inputs, outputs, values)
    stabilized = bool(set(f.rewrite_report().counts) & STABILIZING)
    # A float64 result computed from float32 values is only as accurate as they are.
    single = any(v.dtype == "float32" for v in ancestors(outputs))
    rtol = 1e-5 if single else 1e-12
    ref = as_written
    try:
        if stabilized:
            _, ref = run(inputs, outputs, values, STABILIZED)
            for s, r, out in zip(ref, as_written, outputs):
                if out.dtype.startswith("float") and not nonfinite and not decides(outputs):
                    # The naive formula's own error (cancellation) bounds how close
                    # it can come: this only catches a stabilized formula that is wrong.
                    assert_same(s, r, out.dtype, 1e-2 if single else 1e-6, scale,
                                lenient=True)
        for g, r, out in zip(got, ref, outputs):
            assert_same(g, r, out.dtype, rtol, scale)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\nrewrites: {dict(f.rewrite_report().counts)}\ninputs: {values}\n"
            f"expected: {ref}\ngot: {got}\nas written:\n{debugprint(outputs, file='str')}"
            f"\nrewritten:\n{debugprint(f, file='str')}") from None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=2500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(graphs())
def test_rewritten_graph_computes_what_the_graph_as_written_computes(case):
    inputs, outputs, (values,), _ = case
    check_graph(inputs, outputs, values)
