"""Random graphs with their NumPy mirrors, for the reliability suite and scripts/fuzz.py.

A graph is grown one step at a time from a few inputs of random dtypes and
shapes (static or dynamic, declared broadcastable or not). Each step applies a
symtheano op to symbolic variables *and* the matching NumPy operation to the
input values, so every intermediate carries its own independent reference
value, and a step NumPy refuses (or Theano's broadcasting rule forbids) is
simply not taken. The vocabulary is deliberately bounded (a few dozen ops, short
chains, small shapes) so that the compiled kernels of thousands of graphs fit in
a few hundred cache entries.

NumPy semantics: every op is computed by NumPy in the dtype symtheano declares
for its output (inputs cast to it first), which is what the reference back end
does; reductions use NumPy's own reductions with `dtype=`.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import symtheano.tensor as T

DTYPES = ("float64", "float64", "float32", "int64", "int32", "int8", "uint8", "bool")
SMOOTH_DTYPES = ("float64",)
KINDS = ("scalar", "vector", "row", "col", "matrix", "static")


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (symbolic, NumPy on values already cast to the output dtype)
UNARY = {
    "neg": (T.neg, np.negative), "abs": (T.abs, np.abs), "exp": (T.exp, np.exp),
    "log": (T.log, np.log), "sqrt": (T.sqrt, np.sqrt), "tanh": (T.tanh, np.tanh),
    "sqr": (T.sqr, np.square), "sigmoid": (T.sigmoid, _expit), "sin": (T.sin, np.sin),
    "floor": (T.floor, np.floor), "log1p": (T.log1p, np.log1p), "expm1": (T.expm1, np.expm1),
}
SMOOTH_UNARY = ("neg", "exp", "tanh", "sqr", "sigmoid", "sin")
BINARY = {
    "add": (T.add, np.add), "sub": (T.sub, np.subtract), "mul": (T.mul, np.multiply),
    "true_div": (T.true_div, np.true_divide), "maximum": (T.maximum, np.maximum),
    "minimum": (T.minimum, np.minimum), "int_div": (T.int_div, np.floor_divide),
    "mod": (T.mod, np.mod),
}
COMPARE = {"lt": (T.lt, np.less), "ge": (T.ge, np.greater_equal), "eq": (T.eq, np.equal)}
SMOOTH_BINARY = ("add", "sub", "mul")
REDUCE = {"sum": (T.sum, np.sum), "prod": (T.prod, np.prod), "max": (T.max, np.max),
          "min": (T.min, np.min), "mean": (T.mean, np.mean), "argmax": (T.argmax, np.argmax)}
SMOOTH_REDUCE = ("sum", "prod", "mean")  # max: ties (x.T @ x) have no derivative
POWERS = (2, 3, 0.5, -1)
FAMILIES = ("unary",) * 3 + ("binary",) * 3 + ("compare", "pow", "switch", "reduce", "reduce",
                                               "index", "index", "layout", "dot", "shape")
SMOOTH_FAMILIES = ("unary",) * 3 + ("binary",) * 3 + ("reduce", "index", "layout", "dot")

# What each kind of graph is made of. How many kernels thousands of graphs compile
# depends on the elementwise chains alone (a kernel is keyed by its scalar steps and
# dtypes; shapes, layouts, axes and indices are run-time arguments), so "small" (the
# test suite's default) keeps few elementwise ops and dtypes and many structural
# steps; "full" (scripts/fuzz.py) takes everything; "smooth" is for gradients.
VOCABULARIES = {
    "full": {"dtypes": DTYPES, "unary": tuple(sorted(UNARY)), "binary": tuple(sorted(BINARY)),
             "compare": tuple(sorted(COMPARE)), "reduce": tuple(sorted(REDUCE)),
             "families": FAMILIES, "smooth": False},
    "small": {"dtypes": ("float64", "float64", "float32", "int64", "bool"),
              "unary": ("neg", "exp", "sqr"), "binary": ("add", "mul", "maximum"),
              "compare": ("lt",), "reduce": tuple(sorted(REDUCE)),
              "families": ("unary", "binary", "binary", "compare", "switch", "reduce", "reduce",
                           "index", "index", "layout", "layout", "dot", "shape"),
              "smooth": False},
    "smooth": {"dtypes": SMOOTH_DTYPES, "unary": SMOOTH_UNARY, "binary": SMOOTH_BINARY,
               "compare": (), "reduce": SMOOTH_REDUCE, "families": SMOOTH_FAMILIES,
               "smooth": True},
}

# index code (appended to the variable's name) -> the index, by ndim
_INDEXES = {
    1: {"[::-1]": lambda v: v[::-1], "[1:]": lambda v: v[1:], "[0]": lambda v: v[0],
        "[-1:]": lambda v: v[-1:], "[::2]": lambda v: v[::2]},
    2: {"[::-1]": lambda v: v[::-1], "[0]": lambda v: v[0], "[:, 0]": lambda v: v[:, 0],
        "[:, ::-1]": lambda v: v[:, ::-1], "[1:, :-1]": lambda v: v[1:, :-1],
        "[-1, ::2]": lambda v: v[-1, ::2]},
}
# (code with {x} for the operand, symbolic, NumPy) by ndim
_LAYOUTS = {
    0: [("{x}.dimshuffle('x')", lambda v: v.dimshuffle("x"), lambda a: a[None])],
    1: [("{x}.dimshuffle('x', 0)", lambda v: v.dimshuffle("x", 0), lambda a: a[None, :]),
        ("{x}.dimshuffle(0, 'x')", lambda v: v.dimshuffle(0, "x"), lambda a: a[:, None])],
    2: [("{x}.T", lambda v: v.T, lambda a: a.T),
        ("T.reshape({x}, (-1,))", lambda v: T.reshape(v, (-1,)), lambda a: a.reshape(-1)),
        ("T.reshape({x}, ({x}.shape[1], -1))", lambda v: T.reshape(v, (v.shape[1], -1)),
         lambda a: a.reshape(a.shape[1], -1))],
}


def literal(a):
    """Python source that rebuilds the array `a` exactly (NaN, inf and all)."""
    def item(v):
        if isinstance(v, list):
            return "[" + ", ".join(map(item, v)) + "]"
        if isinstance(v, float) and not np.isfinite(v):
            return "np.nan" if np.isnan(v) else ("np.inf" if v > 0 else "-np.inf")
        return repr(v)

    return f"np.array({item(a.tolist())}, dtype={a.dtype.name!r})"


class Built:
    """A random graph: inputs, outputs, input values, the NumPy value of each output
    and of every float intermediate, and the steps taken (for messages)."""

    def __init__(self, inputs, values, outputs, expected, intermediates, steps,
                 output_names=(), scale=None, layouts=None):
        self.inputs, self.values, self.outputs = inputs, values, outputs
        self.layouts = layouts or ["contiguous"] * len(values)
        self.expected, self.intermediates, self.steps = expected, intermediates, steps
        self.output_names, self._scale = list(output_names), scale

    def scale(self):
        """The largest finite magnitude among the float values NumPy computed."""
        if self._scale is not None:
            return self._scale
        scale = 1.0
        for value in self.intermediates:
            if value.dtype.kind == "f":
                finite = np.abs(value[np.isfinite(value)])
                if finite.size:
                    scale = max(scale, float(finite.max()))
        return scale

    def describe(self):
        lines = [f"  {v.name}: {v.type} = {np.array2string(a, separator=', ')}"
                 f" (dtype={a.dtype}, shape={a.shape}, {how})"
                 for v, a, how in zip(self.inputs, self.values, self.layouts)]
        return "inputs:\n" + "\n".join(lines) + "\nsteps:\n  " + "\n  ".join(self.steps)

    def to_test(self, name):
        """A regression test reproducing this graph (paste into test_regressions.py)."""
        body = [f"{v.name} = T.TensorType({v.dtype!r}, {v.type.shape!r})({v.name!r})"
                for v in self.inputs] + list(self.steps)
        values = [literal(a) if how == "contiguous" else f"with_layout({literal(a)}, {how!r})"
                  for a, how in zip(self.values, self.layouts)]
        body += [f"values = [{', '.join(values)}]",
                 f"expected = [{', '.join(literal(a) for a in self.expected)}]",
                 f"check_values(Built([{', '.join(v.name for v in self.inputs)}], values, "
                 f"[{', '.join(self.output_names)}], expected, [], [], scale={self.scale()!r}))"]
        return (f"@pytest.mark.filterwarnings(\"ignore::RuntimeWarning\")\ndef {name}():\n"
                + "".join(f"    {line}\n" for line in body))


def make_input(name, dtype, kind, rows, cols):
    static = {"scalar": (), "vector": (None,), "row": (1, None), "col": (None, 1),
              "matrix": (None, None), "static": (rows, cols)}[kind]
    runtime = {"scalar": (), "vector": (cols,), "row": (1, cols), "col": (rows, 1),
               "matrix": (rows, cols), "static": (rows, cols)}[kind]
    return T.TensorType(dtype, static)(name), runtime


def input_values(shapes, dtypes, seed, smooth=False):
    """Floats are multiples of 1/4 in [-3, 3] with the odd 0, inf or NaN (smooth: uniform
    in [-1, 1], all finite); integers in [-12, 12] ([0, 12] unsigned); bools."""
    rng = np.random.default_rng(seed)
    values = []
    for shape, dtype in zip(shapes, dtypes):
        if smooth:
            values.append(rng.uniform(-1, 1, size=shape).astype(dtype))
            continue
        ints = rng.integers(-12, 13, size=shape)
        if dtype.startswith("float"):
            data = ints / 4.0
            if data.size and rng.random() < 0.3:
                data.flat[rng.integers(data.size)] = rng.choice([0.0, np.inf, -np.inf, np.nan])
        elif dtype == "bool":
            data = ints > 0
        else:
            data = np.abs(ints) if dtype.startswith("uint") else ints
        values.append(np.asarray(data, dtype=dtype))
    return values


LAYOUTS = ("contiguous", "contiguous", "reversed", "strided", "fortran", "unaligned")


def with_layout(a, how):
    """The same values in other memory: reversed strides, every other element of a
    larger buffer, Fortran order, or one byte off alignment (0-d arrays stay)."""
    if a.ndim == 0 or how == "contiguous":
        return a
    if how == "reversed":
        return np.flip(np.flip(a).copy())
    if how == "strided":
        return np.repeat(a, 2, axis=-1)[..., ::2]
    if how == "fortran":
        return np.asfortranarray(a)
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


def broadcasts(variables, arrays):
    """Do these operands combine under Theano's rule (a dimension of another size
    than the others' must be 1 and declared so)? NumPy would broadcast any 1."""
    ndim = max(v.ndim for v in variables)
    for d in range(ndim):
        sizes = set()
        for v, a in zip(variables, arrays):
            k = d - (ndim - v.ndim)
            if k < 0:
                continue  # a dimension added on the left is declared broadcastable
            if v.type.shape[k] != 1:
                sizes.add(a.shape[k])
        if len(sizes) > 1:
            return False
    return True


def _cast(a, dtype):
    return np.asarray(a).astype(dtype, copy=False)


class _Step(Exception):
    """This step does not apply to these operands."""


def _apply(draw, family, x, a, pool, vocab):
    """(code, variable, NumPy value[, y]) of one random step applied to x (value a), or
    raise _Step. Pool entries are (variable, value, name in code); the code uses {x}
    and {y} for the operands (y, a pool variable, is returned when used)."""
    if family == "unary":
        name = draw(st.sampled_from(vocab["unary"]))
        sym, ref = UNARY[name]
        out = sym(x)
        return f"T.{name}({{x}})", out, ref(_cast(a, out.dtype))
    if family in ("binary", "compare", "switch"):
        y, b, _ = draw(st.sampled_from(pool))
        if not broadcasts([x, y], [a, b]):
            raise _Step
        if family == "switch":
            out = T.switch(T.gt(x, 0), x, y)
            value = np.where(a > 0, _cast(a, out.dtype), _cast(b, out.dtype))
            return "T.switch(T.gt({x}, 0), {x}, {y})", out, value, y
        table = COMPARE if family == "compare" else BINARY
        name = draw(st.sampled_from(vocab[family]))
        sym, ref = table[name]
        out = sym(x, y)
        if family == "compare":
            return f"T.{name}({{x}}, {{y}})", out, ref(a, b), y
        return f"T.{name}({{x}}, {{y}})", out, ref(_cast(a, out.dtype), _cast(b, out.dtype)), y
    if family == "pow":
        if not x.dtype.startswith("float"):
            raise _Step
        p = draw(st.sampled_from(POWERS))
        out = x ** p
        return f"{{x}} ** {p}", out, np.power(_cast(a, out.dtype), np.asarray(p, out.dtype))
    if family == "reduce":
        name = draw(st.sampled_from(vocab["reduce"]))
        axis = draw(st.sampled_from([None, *range(x.ndim)]))
        keepdims = draw(st.booleans())
        sym, ref = REDUCE[name]
        out = sym(x, axis=axis, keepdims=keepdims)
        code = f"T.{name}({{x}}, axis={axis}, keepdims={keepdims})"
        if name == "argmax":
            return code, out, np.argmax(a, axis=axis, keepdims=keepdims)
        if name in ("sum", "prod", "mean"):
            value = ref(_cast(a, out.dtype), axis=axis, keepdims=keepdims, dtype=out.dtype)
        else:
            value = ref(a, axis=axis, keepdims=keepdims)
        return code, out, value
    if family == "index":
        if x.ndim not in _INDEXES:
            raise _Step
        index = draw(st.sampled_from(sorted(_INDEXES[x.ndim])))
        fn = _INDEXES[x.ndim][index]
        return "{x}" + index, fn(x), fn(a)
    if family == "layout":
        code, sym, ref = draw(st.sampled_from(_LAYOUTS[x.ndim]))
        return code, sym(x), ref(a)
    if family == "dot":
        if x.ndim == 0:
            raise _Step
        y, b, _ = draw(st.sampled_from(pool))
        if draw(st.booleans()) or y.ndim == 0:
            out = T.dot(x, x.T)  # always conforming
            return "T.dot({x}, {x}.T)", out, np.dot(_cast(a, out.dtype), _cast(a.T, out.dtype))
        out = T.dot(x, y)
        return "T.dot({x}, {y})", out, np.dot(_cast(a, out.dtype), _cast(b, out.dtype)), y
    # shapes as values
    if x.ndim == 0:
        raise _Step
    out = x * T.cast(x.shape[0], x.dtype)
    code = f"{{x}} * T.cast({{x}}.shape[0], {x.dtype!r})"
    return code, out, _cast(a, out.dtype) * np.asarray(a.shape[0], out.dtype)


@st.composite
def graphs(draw, vocabulary="small", max_steps=6):
    """A `Built` graph of the named vocabulary (VOCABULARIES); "smooth": float64
    inputs in [-1, 1] and only differentiable steps (for gradient checks)."""
    vocab = VOCABULARIES[vocabulary]
    smooth = vocab["smooth"]
    rows = draw(st.integers(1, 3))
    cols = rows if draw(st.booleans()) else draw(st.integers(1, 4))
    n_inputs = draw(st.integers(1, 3))
    dtypes = [draw(st.sampled_from(vocab["dtypes"])) for _ in range(n_inputs)]
    inputs, shapes = [], []
    for i, dtype in enumerate(dtypes):
        kind = draw(st.sampled_from(KINDS))
        v, shape = make_input(f"x{i}", dtype, kind, rows, cols)
        inputs.append(v)
        shapes.append(shape)
    values = input_values(shapes, dtypes, draw(st.integers(0, 2**32 - 1)), smooth)
    layouts = [draw(st.sampled_from(LAYOUTS)) for _ in values]
    values = [with_layout(a, how) for a, how in zip(values, layouts)]
    pool = [(v, a, v.name) for v, a in zip(inputs, values)]
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        family = draw(st.sampled_from(vocab["families"]))
        x, a, x_name = pool[-1] if draw(st.booleans()) else draw(st.sampled_from(pool))
        try:
            with np.errstate(all="ignore"):
                step = _apply(draw, family, x, a, pool, vocab)
        except (_Step, TypeError, ValueError, IndexError, NotImplementedError):
            continue
        code, out, value = step[:3]
        operand = step[3] if len(step) > 3 else None
        value = np.asarray(value)
        if (value.shape != tuple(s if s is not None else value.shape[d]
                                 for d, s in enumerate(out.type.shape))
                or value.ndim != out.ndim):
            continue  # NumPy disagrees with the declared type: not a step we can mirror
        y_name = None if operand is None else next(n for v, _, n in pool if v is operand)
        name = f"v{len(pool)}"
        steps.append(f"{name} = " + code.format(x=x_name, y=y_name))
        pool.append((out, _cast(value, out.dtype), name))
    outputs = [pool[-1]]
    if len(pool) > n_inputs + 1 and draw(st.booleans()):
        outputs.append(draw(st.sampled_from(pool[n_inputs:-1])))
    return Built(inputs, values, [o for o, _, _ in outputs], [v for _, v, _ in outputs],
                 [v for _, v, _ in pool], steps, [n for _, _, n in outputs], layouts=layouts)


# -- comparing ----------------------------------------------------------------------------------


def assert_close(got, ref, dtype, scale, rtol=None, lenient=False, what="output"):
    """got == ref: integers and bools exactly; floats within rtol of (|ref| + scale)
    (float64 1e-12, float32 1e-5), with NaN and inf in the same places (lenient: only
    where ref is finite)."""
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}, expected {dtype}"
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, expected {ref.shape}"
    if got.dtype.kind != "f":
        np.testing.assert_array_equal(got, ref, f"{what} differs")
        return
    rtol = rtol if rtol is not None else (1e-5 if dtype == "float32" else 1e-12)
    finite = np.isfinite(ref)
    if not lenient:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), f"{what}: NaN positions")
        np.testing.assert_array_equal(got[~finite], ref[~finite], f"{what}: inf values")
    got, ref = got[finite], ref[finite]
    assert np.isfinite(got).all(), f"{what}: a finite value became inf or NaN"
    err = np.abs(got.astype("float64") - ref)
    bound = rtol * (np.abs(ref.astype("float64")) + scale)
    assert (err <= bound).all(), f"{what}: max error {err.max()} > {bound[err.argmax()]}"
