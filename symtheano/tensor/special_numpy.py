"""Pure-NumPy reference implementations of special functions.

These functions are the ``perform`` specification of symtheano's elementwise
special-function ops (erf, erfc, erfinv, erfcinv, gamma, gammaln, psi, polygamma): they
define the values that generated kernels are checked against, so they favour accuracy
and clarity over speed.  Only ``numpy`` and ``math`` are used; scipy is deliberately not imported.

Conventions shared by every public function:

* The argument is anything ``numpy.asarray`` accepts.  float16, float32 and float64
  inputs keep their dtype (the computation is done in float64 and rounded once at the
  end); integer, boolean and other real inputs give float64.  Complex input raises
  ``TypeError``.  polygamma's order ``n`` is broadcast against ``x`` and does not
  affect the result's dtype.
* The result has the shape of the input and is a new array; a 0-d input (or a Python
  scalar) gives a NumPy scalar, as ufuncs do.  Non-contiguous inputs are fine.
* NaN propagates; infinities, poles and out-of-domain arguments give the same values as
  ``scipy.special`` (but for polygamma of even order at its poles, see ``polygamma``).
  No floating-point warnings are emitted.
* Everything is vectorised with NumPy masks; there are no Python loops over elements.

Accuracy in float64 (against mpmath): below 1e-15 relative for erf, erfc (including
the far tail, e.g. erfc(25)), erfinv, erfcinv (down to the smallest subnormal), gamma,
and gammaln / psi on the positive axis (including the zeros of gammaln at 1 and 2 and of
psi at 1.4616...).  On the negative axis gammaln and psi have a zero in every unit
interval, where the result is a difference of O(1)-O(10) terms: the absolute error is
then ~1e-15 of those terms, so the relative error grows next to those zeros (the first
negative zero of psi, -0.5040..., is handled by a Taylor series and stays accurate).
Where they differ, these functions are more accurate than scipy.special: scipy's
gammaln near 1 and 2, psi near its poles, erfc beyond ~15, and gammaln / erfcinv of
subnormal arguments (which scipy maps to inf), and erfc underflowing to subnormals.
"""

import math

import numpy as np

__all__ = ["erf", "erfc", "erfinv", "erfcinv", "gamma", "gammaln", "psi", "polygamma"]

_KEPT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

_PI = math.pi
_LOG_PI = 1.1447298858494002
_HALF_LOG_2PI = 0.9189385332046728
_SQRTPI_2 = 0.886226925452758  # sqrt(pi) / 2
_RSQRTPI = 0.5641895835477563  # 1 / sqrt(pi)


# ---------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------


def _apply(core, x):
    """Run ``core`` (1-D float64 in, 1-D float64 out) elementwise over ``x``."""
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise TypeError("complex arguments are not supported")
    out_dtype = a.dtype if a.dtype in _KEPT_DTYPES else np.dtype(np.float64)
    flat = a.astype(np.float64).ravel()  # a private, contiguous float64 copy
    with np.errstate(all="ignore"):
        res = core(flat).reshape(a.shape).astype(out_dtype, copy=False)
    return res[()] if res.ndim == 0 else res


def _horner(coeffs, t):
    """Evaluate the polynomial with coefficients ``coeffs`` (highest degree first)."""
    r = np.full_like(t, coeffs[0])
    for c in coeffs[1:]:
        r = r * t + c
    return r


def _sincospi(x):
    """Return (sin(pi*x), cos(pi*x)) for finite x, with exact argument reduction."""
    y = np.fmod(x, 2.0)  # exact, in (-2, 2)
    n = np.round(2.0 * y)
    r = y - 0.5 * n  # exact, in [-1/4, 1/4]
    s0 = np.sin(_PI * r)
    c0 = np.cos(_PI * r)
    m = np.mod(n, 4.0).astype(np.intp)
    s = np.choose(m, [s0, c0, -s0, -c0])
    c = np.choose(m, [c0, -s0, -c0, s0])
    return s, c


# ---------------------------------------------------------------------------------------
# erf, erfc  (W. J. Cody's rational Chebyshev approximations, as in CALERF)
# ---------------------------------------------------------------------------------------

_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_THRESH = 0.46875


def _erf_small(x):
    """erf(x) for |x| <= 0.46875 (relative accuracy, also for tiny x)."""
    z = x * x
    num = _ERF_A[4] * z
    den = z
    for i in range(3):
        num = (num + _ERF_A[i]) * z
        den = (den + _ERF_B[i]) * z
    return x * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfcx_pos(y):
    """Scaled complement exp(y**2) * erfc(y) for y >= 0 (y = +inf gives 0)."""
    out = np.empty_like(y)
    m1 = y <= _ERF_THRESH
    m3 = y > 4.0
    m2 = ~(m1 | m3)
    t = y[m1]
    out[m1] = np.exp(t * t) * (1.0 - _erf_small(t))
    t = y[m2]
    num = _ERF_C[8] * t
    den = t
    for i in range(7):
        num = (num + _ERF_C[i]) * t
        den = (den + _ERF_D[i]) * t
    out[m2] = (num + _ERF_C[7]) / (den + _ERF_D[7])
    t = y[m3]
    z = 1.0 / (t * t)  # 0 for huge t
    num = _ERF_P[5] * z
    den = z
    for i in range(4):
        num = (num + _ERF_P[i]) * z
        den = (den + _ERF_Q[i]) * z
    out[m3] = (_RSQRTPI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / t
    return out


def _erfc_pos(y):
    """erfc(y) for y >= 0 (including +inf), accurate deep into the tail."""
    out = np.zeros_like(y)  # erfc(y) underflows to 0 for y >= 27.3, and erfc(+inf) = 0
    small = y <= _ERF_THRESH
    out[small] = 1.0 - _erf_small(y[small])
    big = ~small & (y < 27.5)
    t = y[big]
    # exp(-t*t) without the rounding error of t*t: split t = ts + (t - ts), ts = k/16.
    ts = np.trunc(t * 16.0) / 16.0
    d = (t - ts) * (t + ts)
    out[big] = np.exp(-ts * ts) * (np.exp(-d) * _erfcx_pos(t))
    return out


def _erf_core(x):
    out = np.empty_like(x)
    ax = np.abs(x)
    small = ax <= _ERF_THRESH
    out[small] = _erf_small(x[small])
    big = ~small & ~np.isnan(x)
    out[big] = np.copysign(1.0 - _erfc_pos(ax[big]), x[big])
    out[np.isnan(x)] = np.nan
    return out


def _erfc_core(x):
    out = np.full_like(x, np.nan)
    pos = x >= 0.0
    out[pos] = _erfc_pos(x[pos])
    mid = (x < 0.0) & (x >= -_ERF_THRESH)
    out[mid] = 1.0 - _erf_small(x[mid])
    neg = x < -_ERF_THRESH
    out[neg] = 2.0 - _erfc_pos(-x[neg])
    return out


def erf(x):
    """Error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt."""
    return _apply(_erf_core, x)


def erfc(x):
    """Complementary error function 1 - erf(x), accurate in both tails."""
    return _apply(_erfc_core, x)


# ---------------------------------------------------------------------------------------
# erfinv, erfcinv  (single-precision initial guess, then Halley steps on erf / erfc)
# ---------------------------------------------------------------------------------------

# M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011), single
# precision version: erfinv(x) ~= x * p(w), w = -log((1 - x) * (1 + x)).
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
               0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_HALLEY_STEPS = 3
_W_ASYMPTOTIC = 18.0


def _erfinv_central(x):
    """erfinv(x) for |x| <= 1/2 (Halley iteration on erf(y) = x)."""
    w = -np.log1p(-x * x)
    y = x * _horner(_GILES_CENTRAL, w - 2.5)
    for _ in range(_HALLEY_STEPS):
        u = _SQRTPI_2 * (_erf_core(y) - x) * np.exp(y * y)
        y = y - u / (1.0 + y * u)
    return y


def _erfcinv_tail(q):
    """erfcinv(q) for 0 < q <= 1/2 (Halley iteration on erfc(z) = q, so that tiny q,
    down to the smallest subnormal, keep full relative accuracy)."""
    logq = np.log(q)
    w = -np.log(q * (2.0 - q))  # Giles' w = -log((1 - x) (1 + x)) with x = 1 - q
    z = np.empty_like(q)
    m1 = w < 5.0
    z[m1] = (1.0 - q[m1]) * _horner(_GILES_CENTRAL, w[m1] - 2.5)
    m2 = (w >= 5.0) & (w < _W_ASYMPTOTIC)
    z[m2] = (1.0 - q[m2]) * _horner(_GILES_TAIL, np.sqrt(w[m2]) - 3.0)
    m3 = w >= _W_ASYMPTOTIC
    # erfc(z) ~ exp(-z**2) / (z sqrt(pi)) * (1 - 1/(2 z**2) + 3/(4 z**4)), solved for z
    # by fixed-point iteration.
    lq = -logq[m3]
    t = np.sqrt(lq)
    for _ in range(4):
        r = 0.5 / (t * t)
        t = np.sqrt(lq - np.log(t * (2.0 * _SQRTPI_2)) + np.log1p(r * (3.0 * r - 1.0)))
    z[m3] = t
    for _ in range(_HALLEY_STEPS):
        # u = f / f' for f(z) = erfc(z) - q, written with erfcx to avoid underflow.
        u = -_SQRTPI_2 * (_erfcx_pos(z) - np.exp(z * z + logq))
        z = z - u / (1.0 + z * u)
    return z


def _erfinv_core(x):
    out = np.full_like(x, np.nan)
    ax = np.abs(x)
    c = ax <= 0.5
    out[c] = _erfinv_central(x[c])
    t = (ax > 0.5) & (ax < 1.0)
    out[t] = np.copysign(_erfcinv_tail(1.0 - ax[t]), x[t])  # 1 - |x| is exact here
    one = ax == 1.0
    out[one] = np.copysign(np.inf, x[one])
    return out


def _erfcinv_core(q):
    out = np.full_like(q, np.nan)
    lo = (q > 0.0) & (q < 0.5)
    out[lo] = _erfcinv_tail(q[lo])
    mid = (q >= 0.5) & (q <= 1.5)
    out[mid] = _erfinv_central(1.0 - q[mid])  # exact subtraction
    hi = (q > 1.5) & (q < 2.0)
    out[hi] = -_erfcinv_tail(2.0 - q[hi])  # exact subtraction
    out[q == 0.0] = np.inf
    out[q == 2.0] = -np.inf
    return out


def erfinv(x):
    """Inverse error function on [-1, 1]; erfinv(+-1) = +-inf, nan outside the domain."""
    return _apply(_erfinv_core, x)


def erfcinv(x):
    """Inverse complementary error function on [0, 2]; erfcinv(0) = inf,
    erfcinv(2) = -inf, nan outside the domain; accurate for tiny arguments."""
    return _apply(_erfcinv_core, x)


# ---------------------------------------------------------------------------------------
# gamma  (Lanczos approximation with CPython's error compensation)
# ---------------------------------------------------------------------------------------

_LANCZOS_G = 6.024680040776729583740234375
_LANCZOS_G_MINUS_HALF = 5.524680040776729583740234375
_LANCZOS_NUM = (
    23531376880.410759688572007674451636754734846804940,
    42919803642.649098768957899047001988850926355848959,
    35711959237.355668049440185451547166705960488635843,
    17921034426.037209699919755754458931112671403265390,
    6039542586.3520280050642916443072979210699388420708,
    1439720407.3117216736632230727949123939715485786772,
    248874557.86205415651146038641322942321632125127801,
    31426415.585400194380614231628318205362874684987640,
    2876370.6289353724412254090516208496135991145378768,
    186056.26539522349504029498971604569928220784236328,
    8071.6720023658162106380029022722506138218516325024,
    210.82427775157934587250973392071336271166969580291,
    2.5066282746310002701649081771338373386264310793408,
)
# Denominator x (x + 1) ... (x + 11), ascending powers.
_LANCZOS_DEN = (0.0, 39916800.0, 120543840.0, 150917976.0, 105258076.0, 45995730.0,
                13339535.0, 2637558.0, 357423.0, 32670.0, 1925.0, 66.0, 1.0)
# Correctly rounded (k-1)! for k = 1 .. 171, i.e. gamma at the positive integers.
_FACTORIALS = np.array([float(math.factorial(k)) for k in range(171)])


def _lanczos_sum(ax):
    """Lanczos rational function for ax > 0."""
    out = np.empty_like(ax)
    s = ax < 5.0
    t = ax[s]
    num = np.zeros_like(t)
    den = np.zeros_like(t)
    for i in range(12, -1, -1):
        num = num * t + _LANCZOS_NUM[i]
        den = den * t + _LANCZOS_DEN[i]
    out[s] = num / den
    t = ax[~s]
    num = np.zeros_like(t)
    den = np.zeros_like(t)
    for i in range(13):  # same ratio, evaluated in 1/x to avoid overflow
        num = num / t + _LANCZOS_NUM[i]
        den = den / t + _LANCZOS_DEN[i]
    out[~s] = num / den
    return out


def _gamma_lanczos(x):
    """gamma(x) for finite, non-integer-pole x with 1e-20 <= |x| <= 200."""
    ax = np.abs(x)
    y = ax + _LANCZOS_G_MINUS_HALF
    # z = rounding error of y, scaled (see CPython's math.gamma).
    above = ax > _LANCZOS_G_MINUS_HALF
    q = np.where(above, y - ax, y - _LANCZOS_G_MINUS_HALF)
    z = np.where(above, q - _LANCZOS_G_MINUS_HALF, q - ax)
    z = z * _LANCZOS_G / y
    ls = _lanczos_sum(ax)
    neg = x < 0.0
    r = np.empty_like(x)
    p = ~neg
    r[p] = ls[p] / np.exp(y[p])
    r[p] += z[p] * r[p]
    s, _ = _sincospi(ax[neg])
    r[neg] = -_PI / s / ax[neg] * np.exp(y[neg]) / ls[neg]
    r[neg] -= z[neg] * r[neg]
    # multiply (x > 0) or divide (x < 0) by y ** (ax - 1/2), in two halves when large
    e = np.where(ax < 140.0, ax - 0.5, 0.5 * ax - 0.25)
    f = np.power(y, e)
    f2 = np.where(ax < 140.0, 1.0, f)
    return np.where(neg, r / f / f2, r * f * f2)


def _gamma_core(x):
    out = np.full_like(x, np.nan)
    finite = np.isfinite(x)
    out[x == np.inf] = np.inf
    zero = x == 0.0
    out[zero] = np.copysign(np.inf, x[zero])  # gamma(+-0) = +-inf
    integer = finite & (x == np.floor(x))
    fact = integer & (x >= 1.0) & (x <= 171.0)
    out[fact] = _FACTORIALS[x[fact].astype(np.intp) - 1]
    # negative integers (poles) stay nan, as in scipy
    regular = finite & ~integer
    out[(regular & (x > 200.0)) | (integer & (x > 171.0))] = np.inf
    tiny = regular & (np.abs(x) < 1e-20)
    out[tiny] = 1.0 / x[tiny]
    under = regular & (x < -200.0)
    s, _ = _sincospi(x[under])
    out[under] = np.copysign(0.0, s)  # gamma(x) has the sign of sin(pi x) for x < 0
    lanczos = regular & ~tiny & ~under & (x <= 200.0)
    out[lanczos] = _gamma_lanczos(x[lanczos])
    return out


def gamma(x):
    """Gamma function; inf at +0 (-inf at -0), nan at the negative integers, overflows to
    inf above 171.62, underflows to a signed zero for very negative arguments."""
    return _apply(_gamma_core, x)


# ---------------------------------------------------------------------------------------
# gammaln  (Taylor series about 2, recurrence, Stirling series, reflection)
# ---------------------------------------------------------------------------------------

# log(gamma(2 + e)) = sum_{k>=1} c_k e**k, c_1 = 1 - euler_gamma,
# c_k = (-1)**k (zeta(k) - 1) / k; highest degree first (computed with mpmath).
_LGAMMA2_SERIES = (
    7.275974480239079e-12, -1.5021384080754142e-11, 3.1044247747322276e-11,
    -6.4229645638381e-11, 1.330476437424449e-10, -2.7595228851242334e-10,
    5.731367241678862e-10, -1.1921401405860912e-09, 2.4836745438024785e-09,
    -5.183475041970047e-09, 1.0838659214896955e-08, -2.2711094608943164e-08,
    4.7698101693639804e-08, -1.0043224823968099e-07, 2.1207184805554665e-07,
    -4.492469198764566e-07, 9.55141213040742e-07, -2.039215753801366e-06,
    4.374866789907488e-06, -9.439488275268397e-06, 2.050721277567069e-05,
    -4.492623673813314e-05, 9.945751278180853e-05, -0.00022315475845357939,
    0.0005096695247430425, -0.001192753911703261, 0.0028905103307415234,
    -0.007385551028673986, 0.020580808427784546, -0.0673523010531981,
    0.3224670334241132, 0.42278433509846713,
)
# Stirling series for log(gamma(x)) - ((x - 1/2) log x - x + log(2 pi)/2), in 1/x:
# B_2k / (2k (2k - 1)), highest order first.
_STIRLING = (-174611.0 / 125400.0, 43867.0 / 244188.0, -3617.0 / 122400.0, 1.0 / 156.0,
             -691.0 / 360360.0, 1.0 / 1188.0, -1.0 / 1680.0, 1.0 / 1260.0, -1.0 / 360.0,
             1.0 / 12.0)


_LGAMMA_REFLECT = 40.0  # below -40 the reflection formula is used


def _lgamma2(e):
    """log(gamma(2 + e)) for |e| <= 1/2, with relative accuracy near e = 0."""
    return e * _horner(_LGAMMA2_SERIES, e)


def _lgamma_pos(x):
    """log(gamma(x)) for finite x > 0; also correct for -1/2 < x < 0 (as log|gamma|)."""
    out = np.empty_like(x)
    m0 = np.abs(x) < 0.5  # log gamma(x) = log gamma(2 + x) - log(1 + x) - log|x|
    t = x[m0]
    out[m0] = (_lgamma2(t) - np.log1p(t)) - np.log(np.abs(t))
    m1 = (x >= 0.5) & (x < 1.5)
    t = x[m1] - 1.0  # exact
    out[m1] = _lgamma2(t) - np.log1p(t)
    m2 = (x >= 1.5) & (x < 2.5)
    out[m2] = _lgamma2(x[m2] - 2.0)  # exact subtraction
    m3 = (x >= 2.5) & (x < 10.0)
    t = x[m3]
    n = np.floor(t - 1.5)  # 1 .. 8, and t - j is exact for integer j < t
    prod = np.ones_like(t)
    for j in range(1, 9):
        prod *= np.where(j <= n, t - j, 1.0)
    out[m3] = _lgamma2(t - n - 2.0) + np.log(prod)
    m4 = x >= 10.0
    t = x[m4]
    inv = 1.0 / t
    series = inv * _horner(_STIRLING, inv * inv)
    out[m4] = (t - 0.5) * np.log(t) - t + (_HALF_LOG_2PI + series)
    return out


def _gammaln_core(x):
    out = np.full_like(x, np.nan)
    out[x == np.inf] = np.inf
    out[x == -np.inf] = -np.inf  # scipy.special.gammaln(-inf) is -inf
    finite = np.isfinite(x)
    pole = finite & (x <= 0.0) & (x == np.floor(x))
    out[pole] = np.inf
    direct = finite & ~pole & (x > -0.5)
    out[direct] = _lgamma_pos(x[direct])
    # -40 < x <= -1/2: log|gamma(x)| = log gamma(x + n) - log|x (x + 1) ... (x + n - 1)|
    # with x + n in [1.5, 2.5).  The factors near zero are exact, so the cancellation
    # close to the zeros of log|gamma| only costs the rounding of the product.
    up = finite & ~pole & (x <= -0.5) & (x > -_LGAMMA_REFLECT)
    t = x[up]
    n = np.ceil(1.5 - t)
    prod = np.ones_like(t)
    for k in range(int(_LGAMMA_REFLECT) + 2):
        prod *= np.where(k < n, t + k, 1.0)
    out[up] = _lgamma2(t + n - 2.0) - np.log(np.abs(prod))
    refl = finite & ~pole & (x <= -_LGAMMA_REFLECT)
    t = x[refl]
    s, _ = _sincospi(t)
    out[refl] = _LOG_PI - np.log(np.abs(s)) - _lgamma_pos(1.0 - t)
    return out


def gammaln(x):
    """Logarithm of the absolute value of the gamma function, log|gamma(x)|; inf at the
    poles and at +inf (scipy's convention gives -inf at -inf)."""
    return _apply(_gammaln_core, x)


# ---------------------------------------------------------------------------------------
# psi (digamma)  (recurrence + asymptotic series, reflection, Taylor series at the roots)
# ---------------------------------------------------------------------------------------

# Roots of psi as hi + lo pairs, and the Taylor coefficients
# psi^(n)(r) / n! = (-1)**(n + 1) zeta(n + 1, r), n = 1, 2, ... (computed with mpmath).
_PSI_ROOT_POS = (1.4616321449683622, 9.549995429965697e-17)
_PSI_SERIES_POS = (
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
    0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
    0.022597648232218104, -0.01542476590494896, 0.010538791616612175,
    -0.007204534386356869, 0.004926781395729853, -0.003369801655439328,
    0.002305126326734928, -0.0015769367714301972, 0.0010788252019162967,
    -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
    0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741,
)
_PSI_ROOT_NEG = (-0.5040830082644554, -8.15428206243813e-18)
_PSI_SERIES_NEG = (
    8.939798558792134, -0.8093454625306507, 32.258572064915505, -2.761011648790828,
    128.27342343090902, -14.70672173553036, 513.2704629562862, -75.37700066344631,
    2055.5357119463315, -368.5783503832191, 8234.667099203069, -1743.364608867363,
    32997.785655255044, -8051.818155363498, 132262.95480834588, -36529.94596948565,
    530280.3912420176, -163451.79342700253, 2126602.3725968753, -723318.8861804305,
    8530604.878543982, -3172131.3155744765, 34228316.69580112, -13807481.997263888,
    137373435.87411496, -59721085.411294304,
)
_PSI_WINDOW_POS = 0.25
_PSI_WINDOW_NEG = 0.05
# Asymptotic series psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x**2k), coefficients of
# 1/x**2k, highest order first.
_PSI_ASYMPTOTIC = (43867.0 / 14364.0, -3617.0 / 8160.0, 1.0 / 12.0, -691.0 / 32760.0,
                   1.0 / 132.0, -1.0 / 240.0, 1.0 / 252.0, -1.0 / 120.0, 1.0 / 12.0)
_PSI_SHIFT = 10.0


def _root_series(x, root, coeffs):
    t = (x - root[0]) - root[1]
    return t * _horner(coeffs[::-1], t)


def _psi_pos(x):
    """psi(x) for finite x > 0."""
    out = np.empty_like(x)
    near = np.abs(x - _PSI_ROOT_POS[0]) < _PSI_WINDOW_POS
    out[near] = _root_series(x[near], _PSI_ROOT_POS, _PSI_SERIES_POS)
    far = ~near
    t = x[far]
    acc = np.zeros_like(t)
    for _ in range(int(_PSI_SHIFT)):  # psi(t) = psi(t + 1) - 1/t until t >= 10
        m = t < _PSI_SHIFT
        acc += np.where(m, 1.0 / t, 0.0)
        t = np.where(m, t + 1.0, t)
    inv2 = 1.0 / (t * t)
    out[far] = (np.log(t) - 0.5 / t - inv2 * _horner(_PSI_ASYMPTOTIC, inv2)) - acc
    return out


def _psi_core(x):
    out = np.full_like(x, np.nan)
    out[x == np.inf] = np.inf
    zero = x == 0.0
    out[zero] = np.where(np.signbit(x[zero]), np.inf, -np.inf)
    pos = (x > 0.0) & (x < np.inf)
    out[pos] = _psi_pos(x[pos])
    neg = (x < 0.0) & (x > -np.inf) & (x != np.floor(x))  # negative integers stay nan
    near = neg & (np.abs(x - _PSI_ROOT_NEG[0]) < _PSI_WINDOW_NEG)
    out[near] = _root_series(x[near], _PSI_ROOT_NEG, _PSI_SERIES_NEG)
    refl = neg & ~near  # psi(x) = psi(1 - x) - pi cot(pi x)
    t = x[refl]
    s, c = _sincospi(t)
    out[refl] = _psi_pos(1.0 - t) - _PI * c / s
    return out


def psi(x):
    """Digamma function psi(x) = d/dx log gamma(x); -inf at +0, +inf at -0, nan at the
    negative integers and at -inf."""
    return _apply(_psi_core, x)


# ---------------------------------------------------------------------------------------
# polygamma  (Hurwitz zeta: recurrence, Euler-Maclaurin tail, reflection by fractional part)
# ---------------------------------------------------------------------------------------

# B_2j / (2j)! for j = 1..12: the Euler-Maclaurin tail
#   n! zeta(n+1, w) = (n-1)! w**-n (1 + n/(2w) + sum_j B_2j/(2j)! n (n+1) ... (n+2j-1) w**-2j)
# (Hurwitz zeta, DLMF 25.11). Its terms come from a completely monotone function, so the
# error is below the first omitted term, which is under 2**-54 relative for
# w >= 10 + 0.75 n (checked with mpmath for n = 1..170: 7.3 + 0.7 n would do).
_PG_BERNOULLI = (
    0.08333333333333333, -0.001388888888888889, 3.306878306878307e-05,
    -8.267195767195768e-07, 2.08767569878681e-08, -5.284190138687493e-10,
    1.3382536530684679e-11, -3.3896802963225827e-13, 8.586062056277845e-15,
    -2.174868698558062e-16, 5.5090028283602295e-18, -1.3954464685812522e-19,
)
_PG_MAX_ORDER = 170  # the largest n with n! below the float64 overflow


def _scaled_hurwitz(k, y, scale=1.0):
    """scale * k! * zeta(k + 1, y) for 1-D float64 arrays of integers 1 <= k <= 170 and
    y > 0 (or +inf), and powers of two `scale` (exact: no result here is subnormal).
    k! y**-(k+1) is formed as y**-1 times the factors i / y (i = 1..k), so no partial
    product leaves the float64 range unless the result does."""
    acc = np.zeros_like(y)
    y = y.copy()
    bound = 10.0 + 0.75 * k
    while True:  # k! zeta(k+1, y) = k! y**-(k+1) + k! zeta(k+1, y+1), up to y >= bound
        m = y < bound
        if not m.any():
            break
        ym = y[m]
        km = k[m]
        p = (scale if np.ndim(scale) == 0 else scale[m]) / ym
        for i in range(1, int(km.max()) + 1):
            p = np.where(i <= km, p * (i / ym), p)
        acc[m] = acc[m] + p
        y[m] = y[m] + 1.0
    r = 1.0 / y
    p = scale * r  # scale (k-1)! y**-k
    for i in range(1, int(k.max()) if k.size else 0):
        p = np.where(i < k, p * (i / y), p)
    u = r * r
    t = np.ones_like(y)
    s = np.zeros_like(y)
    for j, b in enumerate(_PG_BERNOULLI, start=1):
        t = t * ((k + (2 * j - 2)) * (k + (2 * j - 1)) * u)
        s = s + b * t
    return acc + p * (1.0 + (0.5 * k * r + s))


def _polygamma_core(n, x):
    out = np.full_like(x, np.nan)
    valid = (n >= 0.0) & (n <= _PG_MAX_ORDER) & (n == np.floor(n)) & ~np.isnan(x)
    digamma = valid & (n == 0.0)
    out[digamma] = _psi_core(x[digamma])
    higher = valid & (n >= 1.0)
    odd = np.fmod(n, 2.0) == 1.0
    z = np.full_like(x, np.nan)  # n! zeta(n + 1, x); the result is z for odd n, else -z
    pos = higher & (x > 0.0)
    z[pos] = _scaled_hurwitz(n[pos], x[pos])
    zero = higher & (x == 0.0)
    z[zero] = np.where(odd[zero], np.inf, np.copysign(np.inf, x[zero]))
    pole = higher & (x < 0.0) & (x == np.floor(x)) & (x > -np.inf)
    z[pole] = np.where(odd[pole], np.inf, np.nan)
    # x < 0: with f = x - floor(x) in (0, 1), the terms of zeta(n+1, x) at x, x+1, ...,
    # f-1 are (-1)**(n+1) times those of zeta(n+1, 1-f) not in zeta(n+1, 1-x):
    #   zeta(n+1, x) = zeta(n+1, f) + (-1)**(n+1) (zeta(n+1, 1-f) - zeta(n+1, 1-x)),
    # the reflection formula without the derivatives of cot; no cost grows with |x|.
    # f and 1 - f = ceil(x) - x are exact, but f for -1/2 < x < 0, where the term in f is
    # not the dominant one. The first two terms are combined first (for even n they
    # cancel, exactly at f = 1/2), scaled by 2**-(n+1) so that neither overflows before
    # their difference does (n >= 150: n! 2**(n+1) overflows).
    neg = higher & (x < 0.0) & (x != np.floor(x))
    t = x[neg]
    kn = n[neg]
    order = kn.astype(np.int64) + 1
    down, up = np.ldexp(1.0, -order), np.ldexp(1.0, order)
    near = _scaled_hurwitz(kn, t - np.floor(t), down)
    mirror = _scaled_hurwitz(kn, np.ceil(t) - t, down)
    far = _scaled_hurwitz(kn, 1.0 - t)
    z[neg] = np.where(odd[neg], (near + mirror) * up - far, (near - mirror) * up + far)
    out[higher] = np.where(odd[higher], z[higher], -z[higher])
    return out


def polygamma(n, x):
    """The polygamma function psi^(n)(x), the n-th derivative of digamma:
    polygamma(0, x) = psi(x), and for n >= 1, (-1)**(n+1) n! zeta(n+1, x).

    n must hold integers 0 <= n <= 170 (NaN otherwise: n! overflows above 170). x > 0
    shifts up by the recurrence to x >= 10 + 0.75 n, then sums the Euler-Maclaurin
    tail; x < 0 uses three such sums at positive arguments (see `_polygamma_core`).
    Special values: 0 at +inf (-0 for even n), NaN at -inf; at the poles 0, -1, -2, ...
    +inf for odd n (the limit from both sides); for even n, where the two sides'
    limits differ, -inf at +0 and +inf at -0 and NaN at the negative integers, as psi
    (scipy gives -inf at every pole there). Accuracy in float64 (against mpmath), for
    x > 0: 3-4 ulp for n = 1..3, growing about as n / 2 ulp (each factor of n! x**-(n+1)
    rounds once), below 1e-14 relative up to n ~ 60; for x < 0 the same relative to
    the reflected terms n! / d**(n+1) (d the distance to the nearest pole), which even
    orders cancel next to their zeros.
    """
    a = np.asarray(x)
    k = np.asarray(n)
    if a.dtype.kind == "c" or k.dtype.kind == "c":
        raise TypeError("complex arguments are not supported")
    out_dtype = a.dtype if a.dtype in _KEPT_DTYPES else np.dtype(np.float64)
    k, a = np.broadcast_arrays(k.astype(np.float64), a.astype(np.float64))
    with np.errstate(all="ignore"):
        res = _polygamma_core(k.ravel(), a.ravel()).reshape(a.shape)
        res = res.astype(out_dtype, copy=False)
    return res[()] if res.ndim == 0 else res
