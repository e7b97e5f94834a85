"""C expressions for scalar ops: one table, keyed by scalar-op name.

`c_expression(op, args, arg_dtypes, out_dtype)` returns a C expression computing
`op` on the C expressions `args` exactly as the NumPy reference does, or None
when this back end has no C for that op and those dtypes (the node then runs
its `perform`). Operands are converted the way `Elemwise.perform` converts
them: arithmetic happens in the output dtype, comparisons in the operands'
common dtype.

Where the C comes from:

- libm, for the elementary functions whose reference is a NumPy ufunc (exp,
  log, sin, ...: the same glibc functions on x86-64 without AVX-512, except
  tanh; elsewhere NumPy's own SIMD versions may differ in the last bits);
- runtime helpers (runtime/symtheano_rt.h): floor division and modulo with
  Python's signs, NaN-propagating extrema, integer powers, sigmoid, softplus;
- runtime/special.h for the special functions whose reference is our own NumPy
  code (special_numpy.py, special.trigamma_numpy, stable.py): erf, erfc,
  erfinv, erfcinv, psi, tri_gamma, polygamma, erfcx, log_erfc, log1mexp are
  line-by-line transcriptions, bit-identical to the reference (tests/codegen/
  test_c_special.py); gamma and gammaln stay on libm, with the reference's
  special values. These compute in float64 and round once, as the reference.
- `_BOOL` for ops on bools (NumPy's rules: sub is xor, maximum is or, ...).

Every scalar op has C for every dtype combination it accepts, except two that
stay on `perform` on purpose: casts from float to integer (C leaves NaN, inf
and out-of-range values undefined) and bitwise ops on a signed and a 64-bit
unsigned integer (the output dtype is float64 and NumPy raises).
"""

from __future__ import annotations

import math

import numpy as np

C_TYPES = {
    "bool": "st_bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
    "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
    "uint64": "uint64_t", "float32": "float", "float64": "double",
}
SUFFIX = {
    "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8",
    "uint16": "u16", "uint32": "u32", "uint64": "u64", "float32": "f32", "float64": "f64",
}
FLOATS = ("float32", "float64")

# libm functions of one float argument: scalar-op name -> C name (float64; float32 adds 'f')
_LIBM = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "sin": "sin", "cos": "cos",
    "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "round_half_to_even": "rint",
}
_LIBM2 = {"arctan2": "atan2", "hypot": "hypot", "pow": "pow"}
# runtime helpers of two float arguments (special.h), called as st_<name>_f64 / _f32
_HELPERS2 = {"polygamma": "st_polygamma"}
# runtime helpers of one float argument (codegen/c/runtime/symtheano_rt.h and
# special.h): scalar-op name -> st_<name>, called as st_<name>_f64 / _f32
_HELPERS = {"sigmoid": "st_sigmoid", "softplus": "st_softplus", "sgn": "st_sgn",
            "round_half_away_from_zero": "st_round_away",
            "erf": "st_erf", "erfc": "st_erfc", "erfinv": "st_erfinv", "erfcinv": "st_erfcinv",
            "psi": "st_psi", "tri_gamma": "st_trigamma", "erfcx": "st_erfcx",
            "log_erfc": "st_log_erfc", "log1mexp": "st_log1mexp", "gamma": "st_gamma",
            "gammaln": "st_gammaln"}
_COMPARE = {"lt": "<", "gt": ">", "le": "<=", "ge": ">=", "eq": "==", "neq": "!="}
_BITWISE = {"and_": "&", "or_": "|", "xor": "^"}


# Ops on bools that give a bool (NumPy's rules, as the reference computes them): the
# rounding family, abs, sgn, sqr and neg are the identity, sub is xor, maximum is or,
# minimum and floor division are and (True // False is 0), mod is 0, a ** b is a or
# not b. `{0}` and `{1}` are the truth values of the operands.
_BOOL = {
    "abs": "{0}", "sgn": "{0}", "sqr": "{0}", "neg": "{0}", "floor": "{0}", "ceil": "{0}",
    "trunc": "{0}", "round_half_to_even": "{0}", "round_half_away_from_zero": "{0}",
    "invert": "(!{0})", "and_": "({0} && {1})", "or_": "({0} || {1})",
    "xor": "({0} != {1})", "sub": "({0} != {1})", "maximum": "({0} || {1})",
    "minimum": "({0} && {1})", "int_div": "({0} && {1})", "mod": "0",
    "pow": "({0} || !{1})",
}


def _bool_expression(name, args):
    pattern = _BOOL.get(name)
    if pattern is None:
        return None
    return pattern.format(*[f"(({a}) != 0)" for a in args])


def c_type(dtype):
    return C_TYPES[str(dtype)]


def literal(value, dtype):
    """A C literal of `dtype` holding `value` exactly (floats in hex notation)."""
    dtype = str(dtype)
    if dtype == "bool":
        return "1" if value else "0"
    if dtype in FLOATS:
        v = float(value)
        if math.isnan(v):
            text = "NAN"
        elif math.isinf(v):
            text = "INFINITY" if v > 0 else "(-INFINITY)"
        else:
            text = v.hex()
        return f"(({c_type(dtype)}){text})"
    v = int(value)
    if dtype.startswith("uint"):
        return f"(({c_type(dtype)}){v}ULL)"
    if v == np.iinfo("int64").min:
        return "((int64_t)(-9223372036854775807LL - 1))"
    return f"(({c_type(dtype)}){v}LL)"


def _cast(expr, dtype):
    return f"(({c_type(dtype)})({expr}))"


def c_expression(op, args, arg_dtypes, out_dtype):
    """The C expression for scalar op `op`, or None when there is none."""
    name = op.name
    out = str(out_dtype)
    arg_dtypes = [str(d) for d in arg_dtypes]
    if name.startswith("cast_"):
        src = arg_dtypes[0]
        if src in FLOATS and out not in FLOATS and out != "bool":
            return None  # float -> int of NaN/inf/out-of-range is undefined in C
        if out == "bool":
            return f"(({args[0]}) != 0)"
        return _cast(args[0], out)
    if name in _COMPARE:
        common = str(np.result_type(*arg_dtypes))
        a, b = (_cast(x, common) for x in args)
        return f"({a} {_COMPARE[name]} {b})"
    if name in ("logical_and", "logical_or", "logical_xor", "logical_not"):
        truth = [f"(({x}) != 0)" for x in args]
        return {"logical_and": f"({truth[0]} && {truth[-1]})",
                "logical_or": f"({truth[0]} || {truth[-1]})",
                "logical_xor": f"({truth[0]} != {truth[-1]})",
                "logical_not": f"(!{truth[0]})"}[name]
    if name in ("isnan", "isinf"):
        if arg_dtypes[0] in FLOATS:
            return f"({name}({args[0]}) != 0)"
        return "0"
    if name == "switch":
        a, b = _cast(args[1], out), _cast(args[2], out)
        return f"((({args[0]}) != 0) ? {a} : {b})"
    if name == "second":
        return _cast(args[1], out)
    if name == "identity":
        return _cast(args[0], out)
    # Everything below computes in the output dtype.
    xs = [_cast(a, out) for a in args]
    is_float = out in FLOATS
    f = "f" if out == "float32" else ""
    if name in ("add", "mul"):
        if out == "bool":
            joiner = " || " if name == "add" else " && "
            return "(" + joiner.join(f"({a} != 0)" for a in args) + ")"
        return "(" + (" + " if name == "add" else " * ").join(xs) + ")"
    if out == "bool":
        return _bool_expression(name, args)
    if name == "sub":
        return f"({xs[0]} - {xs[1]})"
    if name == "neg":
        return f"(-{xs[0]})"
    if name == "sqr":
        return f"({xs[0]} * {xs[0]})"
    if name == "true_div" and is_float:
        return f"({xs[0]} / {xs[1]})"
    if name == "reciprocal" and is_float:
        return f"({literal(1, out)} / {xs[0]})"
    if name in ("int_div", "mod"):
        helper = "st_floordiv_" if name == "int_div" else "st_mod_"
        return f"{helper}{SUFFIX[out]}({xs[0]}, {xs[1]})"
    if name in ("maximum", "minimum"):
        if is_float:
            return f"st_{name}_{SUFFIX[out]}({xs[0]}, {xs[1]})"
        cmp = ">=" if name == "maximum" else "<="
        return f"({xs[0]} {cmp} {xs[1]} ? {xs[0]} : {xs[1]})"
    if name == "abs":
        if is_float:
            return f"fabs{f}({xs[0]})"
        if out.startswith("uint"):
            return xs[0]
        return f"({xs[0]} < 0 ? -{xs[0]} : {xs[0]})"
    if name == "sgn" and not is_float:
        return xs[0] if out.startswith("uint") else _cast(f"({xs[0]} > 0) - ({xs[0]} < 0)", out)
    if name in ("floor", "ceil", "trunc", "round_half_to_even",
                "round_half_away_from_zero") and not is_float:
        return xs[0]
    if name == "invert":
        return f"(~{xs[0]})"
    if name in _BITWISE and not is_float:
        return f"({xs[0]} {_BITWISE[name]} {xs[1]})"
    if name == "pow" and not is_float:
        return f"st_pow_{SUFFIX[out]}({xs[0]}, {xs[1]})"
    if not is_float:
        return None
    if name in _LIBM:
        return f"{_LIBM[name]}{f}({xs[0]})"
    if name in _LIBM2:
        return f"{_LIBM2[name]}{f}({xs[0]}, {xs[1]})"
    if name in _HELPERS:
        return f"{_HELPERS[name]}_{SUFFIX[out]}({xs[0]})"
    if name in _HELPERS2:
        return f"{_HELPERS2[name]}_{SUFFIX[out]}({xs[0]}, {xs[1]})"
    if name == "deg2rad":
        return f"({xs[0]} * {literal(math.pi / 180.0, out)})"
    if name == "rad2deg":
        return f"({xs[0]} * {literal(180.0 / math.pi, out)})"
    if name == "xlogx":
        return f"({xs[0]} == 0 ? {literal(0, out)} : {xs[0]} * log{f}({xs[0]}))"
    return None
