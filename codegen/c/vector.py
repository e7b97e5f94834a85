"""The vector form of a Composite: its steps on AVX2 registers (runtime/vecmath.h),
4 float64 or 8 float32 lanes at a time, for the elementwise kernel's vector
row loop (runtime/elemwise_loop.h).

`render_velem(op, mvec)` returns the C function

    ST_VT st_velem(const ST_VT *in)    (in[k]: one vector of input k)

or None when some step has no vector form here; the kernel then keeps only
its scalar loops. A Composite is vectorised when every input and the output
have one float dtype D (the kernel's width follows from it) and every step
computes in D or gives a bool, which lives in a register as a mask (lanes all
ones or all zeros): comparisons, isnan/isinf, logical ops, casts to bool. A
mask turns back into a number (1 or 0) where a step reads it as one, and a
number into a mask (x != 0) where a condition is expected, exactly as the
scalar C converts bools. Constants of any dtype are converted to D here, as
the scalar C converts them, and splatted.

Each vector function computes what the scalar C expression of scalar.py
computes for the same op (see vecmath.h for the contract): arithmetic,
comparisons, blends, sqrt and rounding are bit-identical; the libm functions
come from libmvec (at most 4 ulp from glibc's), tanh from libmvec's expm1 (at
most 5 ulp). Ops whose scalar C is a
transcription of a reference algorithm (erf, gamma, the special functions),
integer arithmetic, modulo and floor division keep the whole kernel scalar.

`cost(op)` estimates the work per element (transcendental calls weigh more),
from which elemwise.py derives the size above which a kernel runs on several
threads.
"""

from __future__ import annotations

import numpy as np
from symtheano.codegen.c.scalar import literal

SUFFIX = {"float64": "f64", "float32": "f32"}
VTYPE = {"float64": "st_vf64", "float32": "st_vf32"}

# scalar-op name -> libm name of a libmvec function (vecmath.h: st_v<op name>_<suffix>)
LIBMVEC = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "arctan2": "atan2", "hypot": "hypot", "pow": "pow",
}
# scalar-op name -> vecmath.h function of one number
UNARY = {
    "sqrt": "sqrt", "abs": "abs", "neg": "neg", "sgn": "sgn", "floor": "floor",
    "ceil": "ceil", "trunc": "trunc", "round_half_to_even": "rint",
    "round_half_away_from_zero": "round_away", "sigmoid": "sigmoid", "softplus": "softplus",
    "tanh": "tanh", "xlogx": "xlogx",
}
# vecmath.h functions written with libmvec functions: op name -> the libm names they call
_HELPER_CALLS = {"sigmoid": ("exp",), "softplus": ("exp", "log1p"), "xlogx": ("log",),
                 "tanh": ("expm1",)}
COMPARE = ("lt", "gt", "le", "ge", "eq", "neq")
LOGICAL = {"logical_and": "and", "logical_or": "or", "logical_xor": "xor"}
# ops on bools giving bools (scalar.py's _BOOL): the same mask operations
BOOL_OPS = {"and_": "and", "or_": "or", "xor": "xor", "maximum": "or", "minimum": "and",
            "sub": "xor"}


class _NoVector(Exception):
    """A step without a vector form."""


class _Value:
    """An operand: a vector of D ('v'), a mask ('m'), or a constant ('c': a
    Python scalar of `dtype`, converted where it is used)."""

    def __init__(self, kind, expr, dtype):
        self.kind, self.expr, self.dtype = kind, expr, dtype


class _Renderer:
    def __init__(self, dtype, mvec):
        self.d = dtype
        self.s = SUFFIX[dtype]
        self.mvec = mvec

    def fn(self, name, *args):
        return f"st_v{name}_{self.s}({', '.join(args)})"

    def number(self, v):
        """C expression of `v` as a vector of D (the scalar C's cast to D)."""
        if v.kind == "v":
            return v.expr
        if v.kind == "m":
            return self.fn("bool", v.expr)
        if v.dtype == "bool" or np.dtype(v.dtype).kind in "iuf":
            with np.errstate(all="ignore"):
                value = np.asarray(v.expr, dtype=v.dtype).astype(self.d)
            return self.fn("set1", literal(value, self.d))
        raise _NoVector(f"constant of dtype {v.dtype}")

    def mask(self, v):
        """C expression of `v` as a mask: (v != 0)."""
        if v.kind == "m":
            return v.expr
        return self.fn("truth", self.number(v))

    def step(self, name, args, out):
        """(kind, C expression) of scalar op `name` on `args` giving dtype `out`."""
        if out == "bool":
            return "m", self.bool_step(name, args)
        if out != self.d:
            raise _NoVector(f"a step gives {out}")
        if name == "switch":
            return "v", self.fn("sel", self.mask(args[0]), self.number(args[1]),
                                self.number(args[2]))
        xs = [self.number(a) for a in args]
        if name in ("add", "mul"):
            expr = xs[0]
            for x in xs[1:]:  # C's a + b + c is (a + b) + c
                expr = self.fn(name, expr, x)
            return "v", expr
        if name in ("identity", f"cast_{self.d}"):
            return "v", xs[0]
        if name == "second":
            return "v", xs[1]
        if name == "sub":
            return "v", self.fn("sub", xs[0], xs[1])
        if name == "true_div":
            return "v", self.fn("div", xs[0], xs[1])
        if name == "reciprocal":
            return "v", self.fn("div", self.fn("set1", literal(1, self.d)), xs[0])
        if name == "sqr":
            return "v", self.fn("mul", xs[0], xs[0])
        if name in ("maximum", "minimum"):
            return "v", self.fn(name, xs[0], xs[1])
        if name in ("deg2rad", "rad2deg"):
            factor = np.pi / 180.0 if name == "deg2rad" else 180.0 / np.pi
            return "v", self.fn("mul", xs[0], self.fn("set1", literal(factor, self.d)))
        if name in UNARY:
            if not set(_HELPER_CALLS.get(name, ())) <= self.mvec:
                raise _NoVector(f"libmvec lacks one of {_HELPER_CALLS[name]}")
            return "v", self.fn(UNARY[name], xs[0])
        if name in LIBMVEC and LIBMVEC[name] in self.mvec:
            return "v", self.fn(name, *xs)
        raise _NoVector(name)

    def bool_step(self, name, args):
        if name in COMPARE:
            common = str(np.result_type(*[a.dtype for a in args]))
            if common != self.d:
                raise _NoVector(f"comparison in {common}")
            return self.fn(name, self.number(args[0]), self.number(args[1]))
        if name in ("isnan", "isinf"):
            if args[0].dtype != self.d:
                raise _NoVector(f"{name} of {args[0].dtype}")
            return self.fn(name, self.number(args[0]))
        if name in LOGICAL:
            return self.fn(LOGICAL[name], self.mask(args[0]), self.mask(args[-1]))
        if name == "logical_not":
            return self.fn("not", self.mask(args[0]))
        if all(a.dtype == "bool" for a in args):
            if name in BOOL_OPS and len(args) == 2:
                return self.fn(BOOL_OPS[name], self.mask(args[0]), self.mask(args[1]))
            if name == "invert":
                return self.fn("not", self.mask(args[0]))
        if name in ("cast_bool", "identity"):
            return self.mask(args[0])
        if name == "second":
            return self.mask(args[1])
        raise _NoVector(f"{name} giving bool")


def kernel_dtype(op):
    """The float dtype of every input and of the output of Composite `op`, or None."""
    dtypes = {d for d, _ in op.input_types} | {op.step_dtypes[-1]}
    if op.nin < 1 or len(dtypes) != 1:
        return None
    (dtype,) = dtypes
    return dtype if dtype in SUFFIX else None


def render_velem(op, mvec):
    """C source of `st_velem` for Composite `op` (libmvec functions `mvec` available:
    libm names), or None when a step has no vector form."""
    dtype = kernel_dtype(op)
    if dtype is None:
        return None
    r = _Renderer(dtype, frozenset(mvec))
    vt = VTYPE[dtype]
    values = [_Value("v", f"i{k}", dtype) for k in range(op.nin)]
    values += [_Value("c", arr.reshape(-1)[0].item(), arr.dtype.name)
               for arr in op.constant_arrays]
    lines = [f"ST_VINLINE {vt} st_velem(const {vt} *in)", "{"]
    lines += [f"    const {vt} i{k} = in[{k}];" for k in range(op.nin)]
    try:
        for k, (scalar_op, refs, _) in enumerate(op.steps):
            out = str(op.step_dtypes[k])
            kind, expr = r.step(scalar_op.name, [values[i] for i in refs], out)
            lines.append(f"    const {vt} s{k} = {expr};")
            values.append(_Value(kind, f"s{k}", out))
    except _NoVector:
        return None
    if values[-1].kind != "v":
        return None
    lines += [f"    return {values[-1].expr};", "}"]
    return "\n".join(lines)


def cost(op):
    """Rough work per element of Composite `op`, in additions: a load or store 1,
    an arithmetic step 1, a libm call 10."""
    total = op.nin + 1
    for scalar_op, _, _ in op.steps:
        name = scalar_op.name
        total += 10 * len(_HELPER_CALLS.get(name, ())) or (10 if name in LIBMVEC else 1)
    return total
