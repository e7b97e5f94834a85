"""Tests for symtheano.tensor.special_numpy against scipy.special (and mpmath values).

The pure-NumPy module must never import scipy; these tests do, and compare every
function with scipy.special on dense grids and random points.  In the few regions where
scipy.special itself is known to be less accurate than the module (gammaln next to 1 and
2, psi next to its poles, erfcinv of subnormal arguments) the comparison is made with
values computed with mpmath at 50+ digits instead (hard-coded, plus random points when
mpmath is installed).
"""

import ast
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

try:
    from symtheano.tensor import special_numpy as sn
except Exception:  # package not importable (yet): load the module from its file
    _path = Path(__file__).resolve().parents[2] / "symtheano" / "tensor" / "special_numpy.py"
    _spec = importlib.util.spec_from_file_location("special_numpy", _path)
    sn = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sn)

RTOL = 1e-13  # the accuracy target of the module against scipy.special in float64
TINY = np.finfo(np.float64).tiny
NAMES = ["erf", "erfc", "erfinv", "erfcinv", "gamma", "gammaln", "psi"]
SCIPY = {name: getattr(sc, name) for name in NAMES}
RNG_SEED = 20240531


def rng():
    return np.random.default_rng(RNG_SEED)


def assert_close(actual, expected, rtol=RTOL, floor=0.0, atol=0.0):
    """Assert |actual - expected| <= rtol * max(|expected|, floor) + atol elementwise, and
    that non-finite expected values (nan, +-inf) are reproduced exactly.
    Returns the largest relative error |actual - expected| / max(|expected|, floor)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    fin = np.isfinite(expected)
    np.testing.assert_array_equal(actual[~fin], expected[~fin])
    a, e = actual[fin], expected[fin]
    assert np.all(np.isfinite(a)), "finite reference values but non-finite results"
    err = np.abs(a - e)
    scale = np.maximum(np.abs(e), floor)
    bad = err > rtol * scale + atol
    if bad.any():
        i = np.argmax(np.where(bad, err / np.where(scale > 0, scale, 1.0), 0.0))
        raise AssertionError(
            f"{bad.sum()} values out of tolerance; worst: got {a[i]!r}, expected {e[i]!r}, "
            f"relative error {err[i] / scale[i] if scale[i] else np.inf:.3e} > {rtol:.1e}"
        )
    scale = np.maximum(scale, atol / rtol) if rtol else scale
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, err / scale, 0.0)
    return float(rel.max(initial=0.0))


def compare(name, x, rtol=RTOL, floor=0.0, atol=0.0):
    x = np.asarray(x, dtype=np.float64)
    return assert_close(getattr(sn, name)(x), SCIPY[name](x), rtol=rtol, floor=floor, atol=atol)


def log_uniform(r, lo_exp, hi_exp, n):
    return 10.0 ** r.uniform(lo_exp, hi_exp, n)


# ---------------------------------------------------------------------------------------
# The module itself
# ---------------------------------------------------------------------------------------


def test_module_imports_only_numpy_and_math():
    tree = ast.parse(Path(sn.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"numpy", "math"}, imported


def test_public_functions_have_docstrings():
    assert sn.__doc__ and len(sn.__doc__) > 40
    for name in NAMES:
        assert getattr(sn, name).__doc__, name


# ---------------------------------------------------------------------------------------
# erf / erfc
# ---------------------------------------------------------------------------------------


def test_erf_dense_and_random():
    r = rng()
    x = np.concatenate([
        np.linspace(-30.0, 30.0, 600_001),
        r.uniform(-6.0, 6.0, 200_000),
        np.linspace(-0.5, 0.5, 10_001),  # around Cody's 0.46875 break point
        log_uniform(r, -300, 0, 20_000) * r.choice([-1.0, 1.0], 20_000),
    ])
    assert compare("erf", x, floor=TINY) < RTOL


def test_erfc_dense_and_random():
    r = rng()
    x = np.concatenate([
        np.linspace(-30.0, 30.0, 600_001),
        r.uniform(-6.0, 27.0, 200_000),
        np.linspace(-0.5, 0.5, 10_001),
    ])
    # below the smallest normal number only absolute accuracy is meaningful (scipy flushes
    # erfc(x) to 0 from x ~ 26.55 on, where the true value is still subnormal)
    assert compare("erfc", x, floor=TINY, atol=TINY) < RTOL


def test_erfc_tail_against_high_precision_values():
    # mpmath (60 digits) values; scipy itself is only good to ~6e-14 in this tail
    ref = {10.0: 2.088487583762545e-45, 15.0: 7.212994172451207e-100,
           20.0: 5.395865611607901e-176, 25.0: 8.300172571196523e-274,
           26.5: 2.2109076642637343e-307, 5.0: 1.537459794428035e-12}
    x = np.array(list(ref))
    assert_close(sn.erfc(x), np.array(list(ref.values())), rtol=1e-14)
    assert sn.erfc(-30.0) == 2.0
    assert sn.erfc(30.0) == 0.0
    assert sn.erf(30.0) == 1.0 and sn.erf(-30.0) == -1.0


# ---------------------------------------------------------------------------------------
# erfinv / erfcinv
# ---------------------------------------------------------------------------------------


def test_erfinv_dense_and_random():
    r = rng()
    eps = np.finfo(np.float64).eps
    near_one = 1.0 - np.arange(1, 2001) * eps / 2  # within 1e-13 of 1, incl. 1 - 2**-53
    x = np.concatenate([
        np.linspace(-1.0, 1.0, 400_001)[1:-1],
        r.uniform(-1.0, 1.0, 200_000),
        near_one, -near_one,
        1.0 - log_uniform(r, -16, 0, 20_000),
        log_uniform(r, -300, 0, 20_000) * r.choice([-1.0, 1.0], 20_000),
    ])
    assert np.abs(1.0 - near_one).min() < 1e-15
    assert compare("erfinv", x, floor=TINY) < RTOL


def test_erfinv_round_trip_through_scipy_erf():
    x = np.random.default_rng(1).uniform(-0.999, 0.999, 50_000)
    assert_close(sc.erf(sn.erfinv(x)), x, rtol=1e-14, atol=1e-16)
    q = 10.0 ** -np.linspace(1, 300, 3000)
    assert_close(sc.erfc(sn.erfcinv(q)), q, rtol=2e-13)  # erfc is ill-conditioned here


def test_erfinv_high_precision_values():
    ref = {1 - 2.0**-53: 5.8635847487551676, 1 - 2.0**-52: 5.805018683193453,
           1 - 1e-15: 5.675915739744713, -1 + 2.0**-53: -5.8635847487551676,
           1e-300: 8.86226925452758e-301, 0.5: 0.4769362762044699, 0.999: 2.3267537655135246}
    assert_close(sn.erfinv(np.array(list(ref))), np.array(list(ref.values())), rtol=5e-16)


def test_erfcinv_dense_and_random():
    r = rng()
    eps = np.finfo(np.float64).eps
    x = np.concatenate([
        np.linspace(0.0, 2.0, 400_001)[1:-1],
        r.uniform(0.0, 2.0, 200_000),
        log_uniform(r, -300, 0, 50_000),  # normal numbers down to 1e-300
        2.0 - np.arange(1, 2001) * eps,
        2.0 - log_uniform(r, -15, 0, 20_000),
    ])
    assert compare("erfcinv", x, floor=TINY) < RTOL


def test_erfcinv_tiny_arguments():
    # mpmath values (Newton iteration at 60 digits).  scipy is off by up to 2e-4 for the
    # subnormal ones, so they are checked against these values only.
    ref = {1e-20: 6.601580622355143, 1e-100: 15.065574702592645, 1e-300: 26.209469960516124,
           1e-310: 26.644806559364763, 1e-320: 27.073153719853043, 5e-324: 27.21329321081295}
    assert_close(sn.erfcinv(np.array(list(ref))), np.array(list(ref.values())), rtol=5e-16)


# ---------------------------------------------------------------------------------------
# gamma
# ---------------------------------------------------------------------------------------


def test_gamma_dense_and_random():
    r = rng()
    x = np.concatenate([
        np.linspace(-170.5, 171.6, 1_000_001),
        r.uniform(-170.5, 171.6, 200_000),
        r.uniform(-5.0, 5.0, 100_000),
        log_uniform(r, -300, 0, 20_000) * r.choice([-1.0, 1.0], 20_000),
        np.arange(-170, 0) + 1e-10, np.arange(-170, 0) - 1e-10,  # next to the poles
        np.arange(-170, 0) + 0.5,
    ])
    x = x[x != np.floor(x)]
    assert compare("gamma", x) < RTOL


def test_gamma_integers_are_exact_factorials():
    n = np.arange(1, 172)
    expected = np.array([float(math.factorial(k - 1)) for k in n])
    np.testing.assert_array_equal(sn.gamma(n.astype(np.float64)), expected)
    assert sn.gamma(172.0) == np.inf and sn.gamma(171.7) == np.inf


def test_gamma_overflow_and_underflow():
    compare("gamma", np.array([171.62, 171.65, 180.0, 1e10, 1e300, -200.5, -201.5, -1e10 + 0.5]))
    assert sn.gamma(-200.5) == 0.0 and np.signbit(sn.gamma(-200.5))
    assert sn.gamma(-201.5) == 0.0 and not np.signbit(sn.gamma(-201.5))


# ---------------------------------------------------------------------------------------
# gammaln
# ---------------------------------------------------------------------------------------


def test_gammaln_positive_dense_and_random():
    r = rng()
    x = np.concatenate([
        log_uniform(r, -300, 300, 300_000),
        np.linspace(1e-3, 30.0, 600_001),
        r.uniform(0.0, 12.0, 100_000),
    ])
    # scipy.special.gammaln is inaccurate next to its zeros at 1 and 2 (relative error up
    # to ~1e-6 there); those neighbourhoods are tested against mpmath values below.
    keep = (np.abs(x - 1.0) > 0.01) & (np.abs(x - 2.0) > 0.01)
    assert compare("gammaln", x[keep]) < RTOL


def test_gammaln_near_one_and_two():
    ref = {1 + 2.0**-52: -1.2816762426960008e-16, 1 - 2.0**-53: 6.408381213480008e-17,
           1 + 1e-10: -5.772157125783244e-11, 2 + 1e-10: 4.2278437011204657e-11,
           2 - 1e-9: -4.227843697573328e-10, 0.999: 0.0005780385328913802,
           1.001: -0.0005763935982833062, 1.999: -0.0004224618006921073,
           2.001: 0.000423106734800117, 1e-300: 690.7755278982137,
           1e300: 6.897755278982137e302, -2.5: -0.056243716497674054, 5e-324: 744.4400719213812,
           -100.5: -364.90096830942736, 1e-10: 23.025850929882736, 1e10: 220258509288.81058}
    assert_close(sn.gammaln(np.array(list(ref))), np.array(list(ref.values())), rtol=1e-15)
    assert sn.gammaln(1.0) == 0.0 and sn.gammaln(2.0) == 0.0


def test_gammaln_negative_non_integers():
    r = rng()
    x = np.concatenate([
        -log_uniform(r, -300, 15, 100_000),
        np.linspace(-200.0, 0.0, 1_000_001),
        r.uniform(-50.0, 0.0, 100_000),
        np.arange(-170, 0) + 1e-9, np.arange(-170, 0) - 1e-9,
    ])
    x = x[x != np.floor(x)]
    # log|gamma| has zeros on the negative axis (e.g. near -2.457, -2.747, -3.144, ...),
    # where both implementations lose relative accuracy to cancellation; there the error
    # is measured relative to 0.01 instead of to the tiny value.
    assert compare("gammaln", x, floor=1e-2) < RTOL
    far = np.abs(sc.gammaln(x)) > 0.1
    assert compare("gammaln", x[far]) < 1e-14


# ---------------------------------------------------------------------------------------
# psi
# ---------------------------------------------------------------------------------------


def test_psi_positive_dense_and_random():
    r = rng()
    x = np.concatenate([
        np.linspace(1e-4, 100.0, 1_000_001),
        log_uniform(r, -300, 10, 200_000),
        r.uniform(0.0, 3.0, 100_000),
        1.4616321449683622 + np.linspace(-1e-3, 1e-3, 2001),  # around the positive root
    ])
    assert compare("psi", x) < RTOL


def test_psi_negative_non_integers():
    r = rng()
    x = np.concatenate([
        np.linspace(-100.0, 0.0, 1_000_001),
        r.uniform(-100.0, 0.0, 200_000),
        -log_uniform(r, -300, 0, 20_000),
        -0.5040830082644554 + np.linspace(-1e-3, 1e-3, 2001),  # around the first negative root
    ])
    # scipy.special.psi loses accuracy next to the poles (1e-13 relative at distance 1e-3,
    # 4e-10 at -65.9999998); that region is tested against mpmath values instead.
    x = x[np.abs(x - np.round(x)) > 1e-2]
    around_first_root = np.abs(x + 0.5040830082644554) < 1e-3
    assert compare("psi", x[around_first_root]) < RTOL  # relative accuracy through the zero
    # psi has a zero in every interval (-n-1, -n); next to those the value comes from
    # cancelling terms of size ~log(n), so the error is measured relative to 0.1 there.
    assert compare("psi", x, floor=0.1) < RTOL


def test_psi_high_precision_values():
    ref = {1.4616321449683622: -9.241265521729427e-17, 1.4616321449683625: 1.2245374622004068e-16,
           -0.5040830082644554: 7.289763902976895e-17, -0.504083008264455: 4.042965717222496e-15,
           1e-300: -9.999999999999999e299, 1e10: 23.025850929890456,
           -65.99999979131387: -4791881.075071514, -1 + 1e-10: -9999999172.173574,
           -3 - 1e-12: 999911107321.5261, 0.5: -1.9635100260214235}
    assert_close(sn.psi(np.array(list(ref))), np.array(list(ref.values())), rtol=1e-15)


# ---------------------------------------------------------------------------------------
# Random points against mpmath (when installed)
# ---------------------------------------------------------------------------------------


def test_against_mpmath_random_points():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    r = np.random.default_rng(7)
    cases = {
        "erfc": (r.uniform(-6.0, 26.0, 300), mp.erfc, 0.0),
        "erfinv": (np.concatenate([r.uniform(-1, 1, 200), 1 - log_uniform(r, -15.9, 0, 100)]),
                   mp.erfinv, 0.0),
        "gamma": (r.uniform(-170.5, 171.6, 300), mp.gamma, 0.0),
        "gammaln": (np.concatenate([r.uniform(0.5, 2.5, 200), r.uniform(-40, 0, 200)]),
                    lambda v: mp.log(abs(mp.gamma(v))), 1e-2),
        "psi": (np.concatenate([r.uniform(0.5, 2.5, 200), r.uniform(-100, 0, 300),
                                np.round(r.uniform(-100, 0, 100)) + r.uniform(-1e-5, 1e-5, 100),
                                np.round(r.uniform(-100, 0, 100)) + r.uniform(-1e-2, 1e-2, 100)]),
                mp.digamma, 1e-2),
    }
    for name, (x, ref, floor) in cases.items():
        expected = np.array([float(ref(mp.mpf(float(v)))) for v in x])
        assert_close(getattr(sn, name)(x), expected, rtol=RTOL if floor else 2e-15,
                     floor=floor)


# ---------------------------------------------------------------------------------------
# Special values: zeros, +-1, poles, nan, +-inf, tiny and huge arguments
# ---------------------------------------------------------------------------------------

SPECIAL = np.array([
    0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, -100.0, 1e-300, -1e-300, 5e-324,
    -5e-324, 1e-20, 1e300, -1e300, 1.7976931348623157e308, -1.7976931348623157e308,
    np.inf, -np.inf, np.nan, 1.0 - 2.0**-53, -1.0 + 2.0**-53, 2.0 - 2.0**-52, 170.5, -170.5,
])


@pytest.mark.parametrize("name", NAMES)
def test_special_values_match_scipy(name):
    x = SPECIAL
    with np.errstate(invalid="ignore"):
        near_pole = (x < 0) & (np.abs(x - np.round(x)) < 1e-3) & (x != np.round(x))
    if name in ("gammaln", "erfcinv"):
        # scipy gives inf for subnormal arguments (true values: gammaln(5e-324) = 744.44,
        # erfcinv(5e-324) = 27.213); those are checked against mpmath values above
        x = x[~((np.abs(x) < TINY) & (x != 0.0))]
    if name == "gammaln":  # scipy is inaccurate next to 1 and 2 (tested above)
        x = x[(np.abs(x - 1.0) > 0.01) & (np.abs(x - 2.0) > 0.01)]
    if name == "psi":  # scipy is inaccurate next to the poles (tested above)
        x = x[~near_pole]
    got = getattr(sn, name)(x)
    want = SCIPY[name](x)
    # 2**-1074 and friends: scipy rounds differently in the subnormal range
    subnormal = (np.abs(want) < TINY) & (want != 0.0)
    assert_close(got[~subnormal], want[~subnormal], floor=0.0)


def test_documented_special_values():
    inf, nan = np.inf, np.nan
    np.testing.assert_array_equal(sn.gamma([0.0, -0.0, -1.0, -2.0, inf, -inf, nan]),
                                  [inf, -inf, nan, nan, inf, nan, nan])
    np.testing.assert_array_equal(sn.gammaln([0.0, -0.0, -1.0, -7.0, inf, -inf, nan]),
                                  [inf, inf, inf, inf, inf, -inf, nan])
    np.testing.assert_array_equal(sn.psi([0.0, -0.0, -1.0, -50.0, inf, -inf, nan]),
                                  [-inf, inf, nan, nan, inf, nan, nan])
    np.testing.assert_array_equal(sn.erfinv([1.0, -1.0, 1.5, -1.0000001, inf, nan, 0.0]),
                                  [inf, -inf, nan, nan, nan, nan, 0.0])
    np.testing.assert_array_equal(sn.erfcinv([0.0, 2.0, -0.1, 2.1, inf, nan, 1.0]),
                                  [inf, -inf, nan, nan, nan, nan, 0.0])
    np.testing.assert_array_equal(sn.erf([inf, -inf, nan, 0.0]), [1.0, -1.0, nan, 0.0])
    np.testing.assert_array_equal(sn.erfc([inf, -inf, nan, 0.0]), [0.0, 2.0, nan, 1.0])
    assert np.signbit(sn.erf(-0.0))


@pytest.mark.parametrize("name", NAMES)
def test_no_floating_point_warnings(name):
    with np.errstate(all="raise"):
        getattr(sn, name)(SPECIAL)


# ---------------------------------------------------------------------------------------
# dtypes, shapes, scalars, strides
# ---------------------------------------------------------------------------------------

DOMAIN = {  # (lo, hi) sample ranges where float32 results are finite and normal
    "erf": (-5.0, 5.0), "erfc": (-5.0, 9.0), "erfinv": (-0.999, 0.999),
    "erfcinv": (1e-30, 1.999), "gamma": (-30.3, 34.0), "gammaln": (0.01, 1e30),
    "psi": (-30.3, 1e6),
}


@pytest.mark.parametrize("name", NAMES)
def test_float32_results(name):
    lo, hi = DOMAIN[name]
    r = np.random.default_rng(3)
    x = r.uniform(lo, hi, 20_000).astype(np.float32)
    if name == "gammaln":
        x = log_uniform(r, -2, 30, 20_000).astype(np.float32)
    if name in ("gamma", "psi", "gammaln"):
        x = x[x != np.floor(x)]
    got = getattr(sn, name)(x)
    assert got.dtype == np.float32
    ref64 = SCIPY[name](x.astype(np.float64))
    ok = np.abs(ref64) > 1e-30
    if name == "psi":  # the value at a zero of psi is tiny: compare absolutely there
        ok &= np.abs(ref64) > 1e-3
    # correctly rounded float32 is within half an ulp (2**-24) of the float64 value
    assert_close(got[ok], ref64[ok], rtol=2.0**-24 * 1.0001)
    # and agrees with scipy's own float32 loop (not always computed in double) to 4 ulps
    assert_close(got[ok], SCIPY[name](x)[ok], rtol=2.0**-21)


@pytest.mark.parametrize("name", NAMES)
def test_float16_and_integer_and_bool_inputs(name):
    f = getattr(sn, name)
    h = np.array([0.25, 0.5, 0.75], dtype=np.float16)
    assert f(h).dtype == np.float16
    np.testing.assert_array_equal(f(h), f(h.astype(np.float64)).astype(np.float16))
    for dt in (np.int8, np.int32, np.int64, np.uint16):
        i = np.array([0, 1, 2, 5], dtype=dt)
        out = f(i)
        assert out.dtype == np.float64
        assert_close(out, SCIPY[name](i.astype(np.float64)), floor=0.0)
    b = np.array([True, False])
    assert f(b).dtype == np.float64
    np.testing.assert_array_equal(f(b), f(np.array([1.0, 0.0])))


@pytest.mark.parametrize("name", NAMES)
def test_zero_dim_and_python_scalars(name):
    f = getattr(sn, name)
    for arg, dt in [(0.3, np.float64), (np.float64(0.3), np.float64),
                    (np.array(0.3), np.float64), (np.array(0.3, dtype=np.float32), np.float32),
                    (np.float32(0.3), np.float32), (1, np.float64)]:
        out = f(arg)
        assert np.ndim(out) == 0 and isinstance(out, np.generic)
        assert out.dtype == dt
        expected = SCIPY[name](np.float64(np.asarray(arg).astype(dt)))
        assert_close(out, expected, rtol=RTOL if dt == np.float64 else 2.0**-24 * 1.0001)


@pytest.mark.parametrize("name", NAMES)
def test_empty_arrays(name):
    f = getattr(sn, name)
    for shape in [(0,), (2, 0, 3)]:
        for dt, out_dt in [(np.float32, np.float32), (np.float64, np.float64),
                           (np.int64, np.float64)]:
            out = f(np.empty(shape, dtype=dt))
            assert isinstance(out, np.ndarray)
            assert out.shape == shape and out.dtype == out_dt
    assert f([]).shape == (0,)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_inputs(name):
    f = getattr(sn, name)
    lo, hi = DOMAIN[name]
    base = np.random.default_rng(11).uniform(max(lo, -3.0), min(hi, 3.0), (40, 30))
    views = [base[::3, ::2], base.T, base[::-1, 5:], np.asfortranarray(base), base[:, 7]]
    for v in views:
        before = v.copy()
        out = f(v)
        assert out.shape == v.shape and out.dtype == np.float64
        # psi and gammaln have zeros in this range; measure relative to 0.1 next to them
        assert_close(out, SCIPY[name](v), floor=0.1 if name in ("psi", "gammaln") else 0.0)
        np.testing.assert_array_equal(out, f(np.ascontiguousarray(v)))
        np.testing.assert_array_equal(v, before)  # input untouched
    v32 = base.astype(np.float32)[1::2, ::-3]
    out32 = f(v32)
    assert out32.dtype == np.float32 and out32.shape == v32.shape
    np.testing.assert_array_equal(out32, f(np.ascontiguousarray(v32)))


@pytest.mark.parametrize("name", NAMES)
def test_lists_and_complex(name):
    f = getattr(sn, name)
    assert_close(f([0.1, 0.2, 0.3]), SCIPY[name](np.array([0.1, 0.2, 0.3])))
    with pytest.raises(TypeError):
        f(np.array([0.5 + 0.5j]))


# ---------------------------------------------------------------------------------------
# polygamma (two arguments: the order n, broadcast against x)
# ---------------------------------------------------------------------------------------


def _polygamma_points(r, size):
    """Positive x from subnormal to huge, and negative x far out and next to the poles."""
    k = np.round(r.uniform(-60, 0, size))
    x = np.concatenate([
        log_uniform(r, -310, 305, size), r.uniform(0.0, 40.0, size), r.uniform(-60, 0, size),
        -log_uniform(r, 2, 15, size), -np.floor(log_uniform(r, 0, 15, size)) - 0.5,
        k + log_uniform(r, -12, -0.4, size), k - log_uniform(r, -12, -0.4, size),
        [0.5, -0.5, -2.5, 1.0, 2.0, 1e-20, -1e-20],
    ])
    return x[(x > 0) | (x != np.floor(x))]  # no poles


def _reflected_size(n, x):
    """n! / d**(n+1), d the distance of x < 0 to the nearest pole: the size of the terms that
    cancel next to the zeros of polygamma of even order (0 for x > 0)."""
    with np.errstate(all="ignore"):
        d = np.abs(x - np.round(x))
        return np.where(x < 0, math.factorial(n) / d ** (n + 1.0), 0.0)


@pytest.mark.parametrize("n, size, rtol", [(1, 300, 1e-15), (2, 300, 1.5e-15),
                                           (3, 200, 1.5e-15), (6, 100, 2e-15),
                                           (25, 60, 4e-15), (100, 25, 2e-14)])
def test_polygamma_against_mpmath(n, size, rtol):
    mp = pytest.importorskip("mpmath")
    x = _polygamma_points(np.random.default_rng(n), size)

    # d^n/dt^n cot(t) = P(cot t), P's integer coefficients (lowest degree first) from
    # P_0(c) = c and P_(k+1)(c) = -(1 + c**2) P_k'(c)
    p = [0, 1]
    for _ in range(n):
        d = [k * a for k, a in enumerate(p)][1:]
        p = [-(d[k] if k < len(d) else 0) - (d[k - 2] if 2 <= k < len(d) + 2 else 0)
             for k in range(len(d) + 2)]

    def exact(v):  # below 0: the reflection formula, (-1)^n psi^(n)(1 - v) - pi d^n/dv^n cot(pi v)
        if v > 0:
            return mp.polygamma(n, v)
        c = mp.cospi(v) / mp.sinpi(v)
        cot = mp.pi ** n * sum(a * c**k for k, a in enumerate(p) if a)
        return (-1) ** n * mp.polygamma(n, 1 - v) - mp.pi * cot

    with mp.workdps(40 + n):
        expected = np.array([float(exact(mp.mpf(float(v)))) for v in x])
    got = sn.polygamma(n, x)
    big = ~np.isfinite(expected)  # beyond the float64 range
    np.testing.assert_array_equal(got[big], expected[big])
    assert_close(got[~big], expected[~big], rtol=rtol, floor=_reflected_size(n, x[~big]))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_polygamma_against_scipy(n):
    r = rng()
    x = np.concatenate([np.linspace(0.01, 50.0, 20_001), log_uniform(r, -5, 8, 5_000),
                        r.uniform(-30.0, 0.0, 5_000)])
    x = x[np.abs(x - np.round(x)) > 1e-2]
    assert_close(sn.polygamma(n, x), sc.polygamma(n, x), rtol=RTOL, floor=_reflected_size(n, x))


def test_polygamma_order_zero_is_psi_and_orders_broadcast():
    x = np.linspace(-5.3, 7.1, 37)
    np.testing.assert_array_equal(sn.polygamma(0, x), sn.psi(x))
    n = np.arange(5).reshape(5, 1)
    out = sn.polygamma(n, x)
    assert out.shape == (5, 37)
    for k in range(5):
        np.testing.assert_array_equal(out[k], sn.polygamma(k, x))


def test_polygamma_documented_special_values():
    inf, nan = np.inf, np.nan
    x = [0.0, -0.0, -1.0, -7.0, inf, -inf, nan]
    np.testing.assert_array_equal(sn.polygamma(1, x), [inf, inf, inf, inf, 0.0, nan, nan])
    np.testing.assert_array_equal(sn.polygamma(3, x), [inf, inf, inf, inf, 0.0, nan, nan])
    np.testing.assert_array_equal(sn.polygamma(2, x), [-inf, inf, nan, nan, -0.0, nan, nan])
    assert np.signbit(sn.polygamma(2, inf)) and not np.signbit(sn.polygamma(3, inf))
    # orders outside 0..170 (n! overflows above) and non-integer orders
    assert np.isnan(sn.polygamma([-1, 171, 1000, 2.5, nan], 3.0)).all()
    assert np.isfinite(sn.polygamma(170, 200.0)) and sn.polygamma(170, 0.5) == -inf


def test_polygamma_dtypes_scalars_and_warnings():
    for dt in (np.float32, np.float16):
        x = np.array([0.25, 1.5, -2.5], dtype=dt)
        assert sn.polygamma(np.int64(2), x).dtype == dt
        np.testing.assert_array_equal(sn.polygamma(2, x),
                                      sn.polygamma(2, x.astype(np.float64)).astype(dt))
    assert sn.polygamma(np.array([1, 2], np.float32), np.array([1, 2])).dtype == np.float64
    out = sn.polygamma(3, 0.7)
    assert np.ndim(out) == 0 and isinstance(out, np.generic)
    assert sn.polygamma(1, np.empty((2, 0))).shape == (2, 0)
    with np.errstate(all="raise"):
        for n in (0, 1, 2, 5, 170):
            sn.polygamma(n, SPECIAL)
    with pytest.raises(TypeError):
        sn.polygamma(1j, 2.0)
