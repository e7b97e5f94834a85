"""The C special functions (codegen/c/runtime/special.h) against mpmath and
against their NumPy reference, compiled into real elementwise kernels.

Each function is sampled over its whole domain (a few thousand points: uniform
and log-uniform ranges, the tails, the neighbourhoods of poles, roots, branch
boundaries and the end points, NaN, the infinities and the signed zeros):

- against mpmath at 40+ digits, the error in ulp of the output dtype must stay
  below a per-function bound (psi on the negative axis is measured against the
  size of the reflection terms it cancels, as its reference is documented);
- against the NumPy reference, C must agree bit for bit (signed zeros and NaN
  positions included) when NumPy's exp, log, ... are the C library's (as with
  glibc on x86-64 without AVX-512); otherwise (NumPy's own SIMD exp/log) the
  NaN / inf / sign pattern must still be identical and the values agree within
  the accuracy bound of the mpmath test (measured on such a machine: at most
  4 ulp, erfcx; float32 identical).

Also: the nodes really run compiled code (c_perform), fused expressions with
these ops compile into one kernel, and every registered scalar op has C for
every dtype combination it accepts (float -> int casts excepted).
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath
import numpy as np
import pytest
from symtheano.codegen.c import build, scalar
from symtheano.codegen.c.linker import c_perform

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor import special_numpy, stable
from symtheano.tensor.elemwise import SCALAR_OPS
from symtheano.tensor.special import trigamma_numpy

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

C = Mode(linker="c")
INF, NAN = np.inf, np.nan
SPECIALS = [0.0, -0.0, INF, -INF, NAN, 5e-324, -5e-324, 2.2250738585072014e-308,
            1e-300, -1e-300, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 1e300, -1e300]


def _near(points, rel=4):
    """`points` and their `rel` nearest doubles on either side."""
    out = []
    for p in points:
        lo = hi = p
        out.append(p)
        for _ in range(rel):
            lo, hi = np.nextafter(lo, -INF), np.nextafter(hi, INF)
            out += [lo, hi]
    return out


def _logu(rng, lo, hi, n):
    return 10.0 ** rng.uniform(lo, hi, n)


def _points(name):
    """Sample points (float64) of special function `name`."""
    rng = np.random.default_rng(sum(map(ord, name)))
    p = [SPECIALS]
    if name == "erfinv":
        p += [rng.uniform(-1, 1, 2000), 1 - _logu(rng, -16, 0, 500),
              -(1 - _logu(rng, -16, 0, 300)), 1 - np.arange(1, 60) * 2.0**-53,
              _logu(rng, -320, 0, 300), _near([0.5, -0.5, 1.0, -1.0, 1e-20]),
              [1.0000001, -3.0, 1 + 2.0**-52]]
    elif name == "erfcinv":
        p += [rng.uniform(0, 2, 2000), _logu(rng, -323.5, 0, 800), 2 - _logu(rng, -16, 0, 500),
              _near([0.5, 1.5, 1.0, 2.0, 5e-324, 1e-300]), [-1e-300, 2.0000001, 3.0]]
    elif name in ("psi", "tri_gamma") or name.startswith("polygamma"):
        n = np.arange(0.0, 60.0)
        p += [rng.uniform(-50, 50, 1500), rng.uniform(0, 3, 500), _logu(rng, -320, 300, 400),
              -_logu(rng, -3, 15, 300) - 0.5,
              -n + _logu(rng, -14, -0.5, 60), -n - _logu(rng, -14, -0.5, 60),
              _near([1.4616321449683622, 1.2116, 1.7116,
                                                  -0.5040830082644554, 10.0, -4.5]),
              -n, [-1e16, -2.0**52 - 0.5, 2.0**53]]
        if name == "psi":  # around the negative roots of psi (one per unit interval)
            p += [r + rng.uniform(-1e-3, 1e-3, 20) for r in _psi_negative_roots()]
    elif name == "erfcx":
        p += [rng.uniform(-27, 30, 2000), _logu(rng, -320, 300, 600),
              -_logu(rng, -320, 1.43, 600), _near([0.46875, 4.0, -26.6, -27.3, 27.5])]
    elif name == "log_erfc":
        p += [rng.uniform(-10, 30, 2000), _logu(rng, -320, 10, 600), -_logu(rng, -320, 10, 500),
              _near([0.5, -0.5, 0.46875, -0.46875, 27.5, 1e10]), [1e20, -1e20]]
    elif name == "log1mexp":
        p += [-_logu(rng, -320, 3, 1500), rng.uniform(-5, 0, 1000),
              _near([-0.6931471805599453, -1e-300, -745.2]), [1e-300, 3.0, -800.0]]
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in p])


@functools.cache
def _psi_negative_roots():
    with mpmath.workdps(30):
        return [float(mpmath.findroot(mpmath.digamma, -k + 0.4)) for k in range(0, 40, 3)]


# -- the independent references (mpmath) ---------------------------------------------------------

def _erfcinv_mp(q):
    if q < 1e-20:  # Newton on log(erfc(z)) = log(q), from the asymptotic guess
        z, logq = mpmath.sqrt(-mpmath.log(q)), mpmath.log(q)
        for _ in range(60):
            step = (mpmath.log(mpmath.erfc(z)) - logq) * mpmath.erfc(z) / (
                -2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-z * z))
            z -= step
            if abs(step) < mpmath.mpf(10) ** -35 * z:
                break
        return z
    return mpmath.erfinv(1 - q)


def _erfcx_mp(v):
    if v > 1e6:  # mpmath's erfc cannot take huge arguments: the asymptotic series,
        t = 1 / (2 * v * v)  # whose first omitted term is below 1e-48 here
        return (1 - t + 3 * t * t - 15 * t**3) / (v * mpmath.sqrt(mpmath.pi))
    if v < -30:  # erfc(v) = 2 - erfc(-v), erfc(-v) < 1e-393
        return 2 * mpmath.exp(v * v)
    return mpmath.exp(v * v) * mpmath.erfc(v)


def _log_erfc_mp(v):
    if v > 1e6:
        return mpmath.log(_erfcx_mp(v)) - v * v
    if v < -30:
        return mpmath.log(2)
    if abs(v) < 1:  # erfc(v) = 1 - erf(v) would need more than 40 digits for tiny v
        return mpmath.log1p(-mpmath.erf(v))
    return mpmath.log(mpmath.erfc(v))


def _log1mexp_mp(v):
    if v < -1:  # 1 - exp(v) would need more than 40 digits far below 0
        return mpmath.log1p(-mpmath.exp(v))
    return mpmath.log(-mpmath.expm1(v))


def _trigamma_mp(v):
    if v < 0:  # the reflection formula, exact (mpmath's polygamma crawls far below 0)
        return (mpmath.pi / mpmath.sinpi(v)) ** 2 - mpmath.polygamma(1, 1 - v)
    return mpmath.polygamma(1, v)


@functools.cache
def _cot_derivative(n):
    """Integer coefficients (lowest degree first) of P_n, d^n/dt^n cot(t) = P_n(cot t):
    P_0(c) = c, P_(k+1)(c) = -(1 + c**2) P_k'(c)."""
    p = [0, 1]
    for _ in range(n):
        d = [k * a for k, a in enumerate(p)][1:]
        p = [0] * (len(d) + 2)
        for k, a in enumerate(d):
            p[k] -= a
            p[k + 2] -= a
    return p


def _polygamma_mp(n, v):
    """mpmath's polygamma; below 0 the reflection formula with the derivatives of cot
    (mpmath's own loses digits there, and crawls far below 0)."""
    if v > 0:
        return mpmath.polygamma(n, v)
    c = mpmath.cospi(v) / mpmath.sinpi(v)
    cot_n = sum(a * c**k for k, a in enumerate(_cot_derivative(n)) if a)
    return (-1) ** n * mpmath.polygamma(n, 1 - v) - mpmath.pi ** (n + 1) * cot_n


# polygamma(n, x) at these constant orders is tested as a function of x like the others.
POLYGAMMA_ORDERS = (1, 2, 3, 6, 25)

MP = {
    **{f"polygamma{n}": functools.partial(_polygamma_mp, n) for n in POLYGAMMA_ORDERS},
    "erfinv": mpmath.erfinv,
    "erfcinv": _erfcinv_mp,
    "psi": mpmath.digamma,
    "tri_gamma": _trigamma_mp,
    "erfcx": _erfcx_mp,
    "log_erfc": _log_erfc_mp,
    "log1mexp": _log1mexp_mp,
}


# Values mpmath does not give as the contract states them: the end points and infinities,
# the poles (psi: NaN at negative integers, -inf / +inf at +0 / -0; trigamma: +inf), NaN
# outside the domain, and erfcx(-inf), NaN in the reference (inf * exp(inf - inf)).
def _contract_value(name, v):
    """The value at `v` fixed by the contract, or None where mpmath decides."""
    if math.isnan(v):
        return NAN
    if name == "erfinv":
        return NAN if abs(v) > 1 else {1.0: INF, -1.0: -INF}.get(v)
    if name == "erfcinv":
        return NAN if not 0 <= v <= 2 else {0.0: INF, 2.0: -INF}.get(v)
    if name == "psi":
        if v == 0:
            return INF if math.copysign(1, v) < 0 else -INF
        return NAN if v == -INF or (v < 0 and v == math.floor(v)) else {INF: INF}.get(v)
    if name == "tri_gamma":
        return NAN if v == -INF else INF if v <= 0 and v == math.floor(v) else {INF: 0.0}.get(v)
    if name.startswith("polygamma"):  # odd orders: +inf at the poles; even: as psi
        if v == -INF or v == INF:
            return NAN if v == -INF else 0.0
        if v <= 0 and v == math.floor(v):
            if int(name[len("polygamma"):]) % 2:
                return INF
            return NAN if v != 0 else INF if math.copysign(1, v) < 0 else -INF
        return None
    if name == "erfcx":
        return {INF: 0.0, -INF: NAN}.get(v)
    if name == "log_erfc":
        return {INF: -INF, -INF: math.log(2.0)}.get(v)
    assert name == "log1mexp"
    return NAN if v > 0 else {0.0: -INF, -INF: 0.0}.get(v)


def _exact(name, values):
    """The exact values of `name` at `values`, rounded to float64."""
    out = []
    with mpmath.workdps(40):
        for v in np.asarray(values, np.float64).tolist():
            fixed = _contract_value(name, v)
            out.append(float(MP[name](mpmath.mpf(v))) if fixed is None else fixed)
    return np.array(out)


@functools.cache
def _truth(name):
    """(points, exact values rounded to float64) of special function `name`."""
    x = _points(name)
    return x, _exact(name, x)


REFERENCE = {
    **{f"polygamma{n}": functools.partial(special_numpy.polygamma, n) for n in POLYGAMMA_ORDERS},
    "erfinv": special_numpy.erfinv, "erfcinv": special_numpy.erfcinv, "psi": special_numpy.psi,
    "tri_gamma": trigamma_numpy, "erfcx": stable.erfcx_numpy,
    "log_erfc": stable.log_erfc_numpy, "log1mexp": stable.log1mexp_numpy,
}
OPS = {**{f"polygamma{n}": functools.partial(T.polygamma, n) for n in POLYGAMMA_ORDERS},
       "erfinv": T.erfinv, "erfcinv": T.erfcinv, "psi": T.psi, "tri_gamma": T.tri_gamma,
       "erfcx": T.erfcx, "log_erfc": T.log_erfc, "log1mexp": T.log1mexp}
NAMES = sorted(OPS)


@functools.cache
def _compiled(name, dtype):
    x = T.vector("x", dtype=dtype)
    f = th.function([x], OPS[name](x), mode=C)
    nodes = list(f.fgraph.apply_nodes)
    assert nodes and all(c_perform(node) is not None for node in nodes), \
        f"{name} ({dtype}) does not run compiled code"
    return f


def run_c(name, x):
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        return _compiled(name, x.dtype.name)(x)


def ulp_error(got, want, dtype, scale=None):
    """|got - want| in ulp of `dtype` at `want` (or at `scale`, the size of the terms that
    cancel); 0 where both are the same NaN / infinity, inf where only one is."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    with np.errstate(over="ignore"):
        rounded = want.astype(dtype).astype(np.float64)
    want = np.where(np.isinf(rounded), rounded, want)  # beyond the dtype's range: +-inf
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    ref = np.abs(want) if scale is None else np.maximum(np.abs(want), scale)
    tiny = np.finfo(dtype).smallest_subnormal
    spacing = np.maximum(np.spacing(ref.astype(dtype)).astype(np.float64), tiny)
    with np.errstate(all="ignore"):
        err = np.abs(got - want) / spacing
    err = np.where(same, 0.0, err)
    return np.where(np.isfinite(got) & np.isfinite(want) | same, err, np.inf)


def _cancellation_scale(name, x):
    """For psi on the negative axis, psi(1 - x) - pi cot(pi x): the size of those terms,
    as the reference's error is ~1e-16 of them next to the zeros of psi; for polygamma
    (n) the size n! / d**(n+1) of its largest reflected term (d: the distance to the
    nearest pole), which even orders cancel next to their zeros. None elsewhere."""
    if name.startswith("polygamma"):
        n = int(name[len("polygamma"):])
        with np.errstate(all="ignore"):
            d = np.abs(x - np.round(x))
            return np.where((x < 0) & np.isfinite(x), math.factorial(n) / d ** (n + 1), 0.0)
    if name != "psi":
        return None
    with np.errstate(all="ignore"):
        s = np.abs(np.sin(np.pi * (x - np.round(x))))
        other = np.abs(special_numpy.psi(np.where(x < 0, 1 - x, 1.0)))
        return np.where((x < 0) & np.isfinite(x), np.maximum(np.pi / s, other), 0.0)


# Bounds in ulp against mpmath in float64 (C is the reference bit for bit, so these are the
# reference's errors, measured on the points above: erfinv 4, erfcinv 3, psi 27 (34 on a
# denser scan of [1.2, 1.75]: around the root window, psi ~ 0.2 is the difference of
# terms ~ 2), trigamma 4, erfcx 4, log_erfc 3, log1mexp 1; polygamma of orders 1, 2, 3,
# 6, 25: 4, 5, 5, 7, 13, growing with n as n! / x**(n+1) is a product of n + 1 factors).
MAX_ULP_F64 = {"erfinv": 6, "erfcinv": 6, "psi": 40, "tri_gamma": 6, "erfcx": 6, "log_erfc": 6,
               "log1mexp": 2, "polygamma1": 6, "polygamma2": 8, "polygamma3": 8,
               "polygamma6": 10, "polygamma25": 20}
# float32 rounds a float64 value accurate to ~40 ulp64 (~1e-7 ulp32) once: correctly
# rounded but for a float64 error straddling a float32 midpoint.
MAX_ULP_F32 = 0.5 + 1e-6


def max_errors():
    """{name: (max ulp float64, max ulp float32)} against mpmath (for the report)."""
    out = {}
    for name in NAMES:
        x, want = _truth(name)
        scale = _cancellation_scale(name, x)
        e64 = ulp_error(run_c(name, x), want, np.float64, scale)
        with np.errstate(over="ignore"):
            x32 = x.astype(np.float32)
        _, want32 = _truth_at(name, x32)
        e32 = ulp_error(run_c(name, x32), want32, np.float32)
        out[name] = (float(e64.max()), float(e32.max()))
    return out


def _truth_at(name, x32):
    """(x32 as float64, exact values there), reusing the float64 table where it has them."""
    x, want = _truth(name)
    table = dict(zip(x.view(np.int64).tolist(), want.tolist()))  # keyed by bits: -0.0 != 0.0
    xs = x32.astype(np.float64)
    keys = xs.view(np.int64).tolist()
    missing = [i for i, k in enumerate(keys) if k not in table]
    res = np.array([table.get(k, 0.0) for k in keys])
    if missing:
        res[missing] = _exact(name, xs[missing])
    return xs, res


@pytest.mark.parametrize("name", NAMES)
def test_float64_against_mpmath(name):
    x, want = _truth(name)
    got = run_c(name, x)
    err = ulp_error(got, want, np.float64, _cancellation_scale(name, x))
    worst = int(np.argmax(err))
    assert err.max() <= MAX_ULP_F64[name], (
        f"{name}({x[worst]!r}) = {got[worst]!r}, exact {want[worst]!r}: {err[worst]} ulp")


@pytest.mark.parametrize("name", NAMES)
def test_float32_against_mpmath(name):
    with np.errstate(over="ignore"):
        x32 = _truth(name)[0].astype(np.float32)
    xs, want = _truth_at(name, x32)
    got = run_c(name, x32)
    assert got.dtype == np.float32
    err = ulp_error(got, want, np.float32)
    worst = int(np.argmax(err))
    assert err.max() <= MAX_ULP_F32, (
        f"{name}({xs[worst]!r}) = {got[worst]!r}, exact {want[worst]!r}: {err[worst]} ulp")


@functools.cache
def _numpy_uses_libm():
    """Whether NumPy's float64 exp, log, ... are the C library's (math.* are)."""
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(size=2000) * 30, rng.uniform(-1, 1, 2000)])
    a = np.abs(v) + 1e-3
    for npf, mf, args in ((np.exp, math.exp, v), (np.expm1, math.expm1, v), (np.sin, math.sin, v),
                          (np.cos, math.cos, v), (np.log, math.log, a),
                          (np.log1p, math.log1p, a - 0.99)):
        if any(npf(t) != mf(t) for t in args.tolist()):
            return False
    return True


def _assert_same(got, want, label):
    """Bit for bit where NumPy's libm is C's; else within 1e-13 (float32: 1 ulp)."""
    if _numpy_uses_libm():
        np.testing.assert_array_equal(got, want, err_msg=label)
    else:  # pragma: no cover - NumPy with its own SIMD exp/log
        rtol = 1e-13 if got.dtype == np.float64 else 2.0**-23
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True, err_msg=label)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_matches_numpy_reference(name, dtype):
    with np.errstate(over="ignore"):
        x = _truth(name)[0].astype(dtype)
    with np.errstate(all="ignore"):  # stable.py's functions return float64: round once
        want = np.asarray(REFERENCE[name](x)).astype(dtype)
    got = run_c(name, x)
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    np.testing.assert_array_equal(got[~np.isfinite(want)], want[~np.isfinite(want)])
    np.testing.assert_array_equal(np.signbit(got[finite]), np.signbit(want[finite]))
    if _numpy_uses_libm():
        np.testing.assert_array_equal(got, want, err_msg=f"{name} is not the reference's")
    else:  # pragma: no cover - NumPy with its own SIMD exp/log (AVX-512 builds): the last
        # bits differ (measured: up to 4 ulp for erfcx, 0 in float32), within the accuracy
        # both are held to against mpmath.
        bound = MAX_ULP_F64[name] if dtype == "float64" else 1
        assert ulp_error(got, want, dtype, _cancellation_scale(name, x)).max() <= bound


def test_error_bound_can_fail():
    """The ulp measure sees a 1-ulp nudge and a wrong special value."""
    x, want = _truth("erfinv")
    got = run_c("erfinv", x)
    nudged = np.where(np.isfinite(got) & (got != 0), np.nextafter(got, INF), got)
    assert ulp_error(nudged, got, np.float64).max() == 1
    broken = np.where(np.isinf(got), NAN, got)
    assert np.isinf(ulp_error(broken, want, np.float64)).any()


def test_integer_inputs_compute_in_float():
    """int16 -> float32 and int64 -> float64, as the reference."""
    for dtype, out in (("int16", "float32"), ("int64", "float64")):
        x = T.vector("x", dtype=dtype)
        values = np.array([-3, -1, 0, 1, 2, 7], dtype=dtype)
        for name in NAMES:
            f = th.function([x], OPS[name](x), mode=C)
            assert all(c_perform(node) is not None for node in f.fgraph.apply_nodes)
            with np.errstate(all="ignore"):
                got = f(values)
                want = th.function([x], OPS[name](x), mode="PY")(values)
            assert got.dtype == want.dtype == np.dtype(out)
            _assert_same(got, want, f"{name} of {dtype}")


@pytest.mark.parametrize("order_dtype", ["int64", "int8", "uint8"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_polygamma_with_an_order_per_element(order_dtype, dtype):
    """The order as a tensor (broadcast against x), out-of-range orders (NaN), and order 0
    (psi's own code): C is the reference, and the order does not set the dtype."""
    n, x = T.vector("n", dtype=order_dtype), T.matrix("x", dtype=dtype)
    out = T.polygamma(n, x)
    assert out.dtype == dtype
    f = th.function([n, x], out, mode=C)
    assert all(c_perform(node) is not None for node in f.fgraph.apply_nodes
               if str(node.op) == "polygamma")
    info = np.iinfo(order_dtype)
    orders = np.array([k for k in (0, 1, 2, 3, 4, 5, 11, 40, 127, 170, 171, 255, -1, -128)
                       if info.min <= k <= info.max], order_dtype)
    with np.errstate(over="ignore"):
        xv = np.resize(_points("polygamma2"), (400, orders.size)).astype(dtype)
    with np.errstate(all="ignore"):
        got = f(orders, xv)
        want = special_numpy.polygamma(orders.astype(dtype), xv)
    _assert_same(got, want, f"polygamma({order_dtype}, {dtype})")
    assert np.isnan(got[:, orders > 170]).all() and np.isnan(got[:, orders < 0]).all()
    _assert_same(got[:, 0], run_c("psi", xv[:, 0]), "polygamma(0, x) is psi(x)")


def test_fused_expression_is_one_kernel():
    x, y = T.dvectors("x", "y")
    out = T.erfinv(x * 0.3) * T.psi(T.exp(y)) + T.log1mexp(-abs(x)) - T.tri_gamma(y) \
        + T.erfcx(x) * T.log_erfc(y) + T.erfcinv(T.exp(-abs(y))) + T.polygamma(3, x * y)
    f = th.function([x, y], out, mode=C)
    nodes = list(f.fgraph.apply_nodes)
    assert len(nodes) == 1 and c_perform(nodes[0]) is not None
    rng = np.random.default_rng(5)
    xv, yv = rng.normal(size=(2, 300)) * 3
    with np.errstate(all="ignore"):
        want = th.function([x, y], out, mode="PY")(xv, yv)
        got = f(xv, yv)
    _assert_same(got, want, "fused")


# -- every scalar op has C ------------------------------------------------------------------------

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint64", "float32", "float64"]


def _signatures(op):
    n = 3 if op.name == "switch" else (op.nin or 2)
    for combo in itertools.product(DTYPES, repeat=n):
        try:
            yield combo, op.output_dtype(*combo)
        except TypeError:
            continue


def test_every_scalar_op_has_c():
    missing = []
    for name, op in sorted(SCALAR_OPS.items()):
        for combo, out in _signatures(op):
            if name.startswith("cast_") and combo[0].startswith("float") and out not in (
                    "float32", "float64", "bool"):
                continue  # float -> int of NaN / inf / out of range is undefined in C
            if op.int_only and out.startswith("float"):
                continue  # int8 & uint64: NumPy has no common integer type, the reference raises
            args = [f"a{i}" for i in range(len(combo))]
            if scalar.c_expression(op, args, list(combo), out) is None:
                missing.append(f"{name}{combo} -> {out}")
    assert not missing, "scalar ops without C: " + ", ".join(missing[:20])


BOOL_OPS = {
    "abs": abs, "sgn": T.sgn, "sqr": T.sqr, "neg": lambda a: -a, "floor": T.floor,
    "ceil": T.ceil, "trunc": T.trunc, "round_half_to_even": T.round_half_to_even,
    "round_half_away_from_zero": T.round_half_away_from_zero, "invert": lambda a: ~a,
    "and_": lambda a, b: a & b, "or_": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "sub": lambda a, b: a - b, "maximum": T.maximum, "minimum": T.minimum,
    "int_div": lambda a, b: a // b, "mod": lambda a, b: a % b, "pow": lambda a, b: a ** b,
}


@pytest.mark.parametrize("name", sorted(BOOL_OPS))
def test_bool_ops_in_c(name):
    fn, op = BOOL_OPS[name], SCALAR_OPS[name]
    a, b = T.vector("a", dtype="bool"), T.vector("b", dtype="bool")
    ins = [a] if op.nin == 1 else [a, b]
    out = fn(*ins)
    assert out.dtype == "bool"
    f = th.function(ins, out, mode=Mode(linker="c", excluding=["canonicalize", "specialize",
                                                                  "stabilize"]))
    assert any(getattr(getattr(n.op, "scalar_op", None), "name", None) == name
               for n in f.fgraph.apply_nodes), "the op was rewritten away"
    assert all(c_perform(n) is not None for n in f.fgraph.apply_nodes)
    av, bv = np.array([0, 1, 0, 1], bool), np.array([0, 0, 1, 1], bool)
    args = [av] if op.nin == 1 else [av, bv]
    want = th.function(ins, out, mode="PY")(*args)
    np.testing.assert_array_equal(f(*args), want)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int64", "uint64"])
def test_integer_pow_in_c(dtype):
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    f = th.function([a, b], a ** b, mode=C)
    assert all(c_perform(n) is not None for n in f.fgraph.apply_nodes)
    info = np.iinfo(dtype)
    if info.bits == 8:  # every pair
        av, bv = (g.ravel().astype(dtype) for g in np.meshgrid(np.arange(info.min, info.max + 1),
                                                                np.arange(info.min, info.max + 1)))
    else:  # random pairs, small bases and exponents (also negative), and the extremes
        rng = np.random.default_rng(6)
        wide = rng.integers(info.min, info.max, 2000, dtype=dtype, endpoint=True)
        small = rng.integers(max(info.min, -5), 6, 2000).astype(dtype)
        edges = np.array([info.min, info.max, 0, 1, -1 if info.min else 0], dtype=dtype)
        av = np.concatenate([wide, small, edges]).astype(dtype)
        bv = np.concatenate([small, wide, edges[::-1]]).astype(dtype)
    with np.errstate(all="ignore"):
        want = th.function([a, b], a ** b, mode="PY")(av, bv)
    np.testing.assert_array_equal(f(av, bv), want)
