/* Special functions for generated kernels: erf, erfc, erfinv, erfcinv, digamma
 * (psi), trigamma, polygamma, erfcx, log(erfc(x)) and log(1 - exp(x)); also gamma and
 * log|gamma| (libm's, with the reference's special values).
 *
 * The contract is the NumPy reference: symtheano/tensor/special_numpy.py
 * (erf, erfc, erfinv, erfcinv, psi, polygamma), tensor/special.py (trigamma_numpy) and
 * tensor/stable.py (erfcx, log_erfc, log1mexp). Each function below is a
 * scalar transcription of its reference: the same branches, the same
 * constants, the same operations in the same order, with the same libm calls.
 * Kernels are compiled without -ffast-math and with -ffp-contract=off, so no
 * operation is re-associated or fused, and the C result is the reference's,
 * bit for bit, wherever NumPy's exp/log/sin/... are the C library's (glibc
 * on x86-64 without AVX-512). That includes NaN, the infinities, the poles and
 * the signed zeros (tests/codegen/test_c_special.py checks this). Where NumPy
 * has its own SIMD exp/log (AVX-512 builds) the last bits differ: at most
 * 4 ulp measured, same NaN/inf/sign pattern, same accuracy against mpmath.
 *
 * Cost per element (x86-64, one core): erfinv, erfcinv ~200 ns (three Halley
 * steps, each an erf or erfcx and an exp), psi ~100 ns, trigamma ~60 ns,
 * erfcx, log_erfc, log1mexp ~25-30 ns.
 *
 * The reference computes in float64 and rounds once to the output dtype, so
 * every _f32 variant is the _f64 function of the widened argument, rounded.
 *
 * Names: st_<name>_f64 / st_<name>_f32 are what scalar.py emits; helpers
 * private to this file are st_sp_<name>. Included by symtheano_rt.h.
 */
#ifndef SYMTHEANO_SPECIAL_H
#define SYMTHEANO_SPECIAL_H

#include <math.h>
#include <stdint.h>

#define ST_SP_PI 3.141592653589793
#define ST_SP_PI_SQUARED 9.869604401089358      /* math.pi ** 2, rounded */
#define ST_SP_SQRTPI_2 0.886226925452758        /* sqrt(pi) / 2 */
#define ST_SP_RSQRTPI 0.5641895835477563        /* 1 / sqrt(pi) */
#define ST_SP_LOG_HALF (-0.6931471805599453)    /* log(0.5) */
#define ST_SP_ERF_THRESH 0.46875

/* p[0] x^(n-1) + ... + p[n-1]: Horner's rule, highest degree first. */
static inline double st_sp_horner(const double *p, int n, double t) {
    double r = p[0];
    for (int i = 1; i < n; i++) r = r * t + p[i];
    return r;
}

/* -- erf, erfc: W. J. Cody's rational Chebyshev approximations (CALERF) ------ */
static const double st_sp_erf_a[5] = {
    3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
    3.20937758913846947e03, 1.85777706184603153e-1};
static const double st_sp_erf_b[4] = {
    2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
    2.84423683343917062e03};
static const double st_sp_erf_c[9] = {
    5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
    2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
    2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8};
static const double st_sp_erf_d[8] = {
    1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
    1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
    3.43936767414372164e03, 1.23033935480374942e03};
static const double st_sp_erf_p[6] = {
    3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
    1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
static const double st_sp_erf_q[5] = {
    2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
    6.05183413124413191e-2, 2.33520497626869185e-3};

/* erf(x) for |x| <= 0.46875, relative accuracy also for tiny x. */
static inline double st_sp_erf_small(double x) {
    double z = x * x, num = st_sp_erf_a[4] * z, den = z;
    for (int i = 0; i < 3; i++) {
        num = (num + st_sp_erf_a[i]) * z;
        den = (den + st_sp_erf_b[i]) * z;
    }
    return x * (num + st_sp_erf_a[3]) / (den + st_sp_erf_b[3]);
}

/* exp(y*y) * erfc(y) for y >= 0 (0 at +inf). */
static inline double st_sp_erfcx_pos(double y) {
    double num, den;
    if (y <= ST_SP_ERF_THRESH) return exp(y * y) * (1.0 - st_sp_erf_small(y));
    if (y <= 4.0) {
        num = st_sp_erf_c[8] * y;
        den = y;
        for (int i = 0; i < 7; i++) {
            num = (num + st_sp_erf_c[i]) * y;
            den = (den + st_sp_erf_d[i]) * y;
        }
        return (num + st_sp_erf_c[7]) / (den + st_sp_erf_d[7]);
    }
    double z = 1.0 / (y * y);  /* 0 for huge y */
    num = st_sp_erf_p[5] * z;
    den = z;
    for (int i = 0; i < 4; i++) {
        num = (num + st_sp_erf_p[i]) * z;
        den = (den + st_sp_erf_q[i]) * z;
    }
    return (ST_SP_RSQRTPI - z * (num + st_sp_erf_p[4]) / (den + st_sp_erf_q[4])) / y;
}

/* erfc(y) for y >= 0: exp(-y*y) is split at ts = trunc(16 y) / 16 so that
 * ts*ts is exact and the far tail keeps its relative accuracy. */
static inline double st_sp_erfc_pos(double y) {
    if (y <= ST_SP_ERF_THRESH) return 1.0 - st_sp_erf_small(y);
    if (!(y < 27.5)) return 0.0;  /* underflows (and erfc(+inf) = 0) */
    double ts = trunc(y * 16.0) / 16.0;
    double d = (y - ts) * (y + ts);
    return exp(-ts * ts) * (exp(-d) * st_sp_erfcx_pos(y));
}

static inline double st_erf_f64(double x) {
    double ax = fabs(x);
    if (ax <= ST_SP_ERF_THRESH) return st_sp_erf_small(x);
    if (isnan(x)) return x;
    return copysign(1.0 - st_sp_erfc_pos(ax), x);
}

static inline double st_erfc_f64(double x) {
    if (x >= 0.0) return st_sp_erfc_pos(x);
    if (x >= -ST_SP_ERF_THRESH) return 1.0 - st_sp_erf_small(x);
    if (x < -ST_SP_ERF_THRESH) return 2.0 - st_sp_erfc_pos(-x);
    return x;  /* NaN */
}

/* -- erfinv, erfcinv: Giles' single-precision guess, three Halley steps ------ */
static const double st_sp_giles_central[9] = {
    2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
    -0.00125372503, -0.00417768164, 0.246640727, 1.50140941};
static const double st_sp_giles_tail[9] = {
    -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
    -0.0076224613, 0.00943887047, 1.00167406, 2.83297682};

/* erfinv(x) for |x| <= 1/2: Halley's iteration on erf(y) = x. */
static inline double st_sp_erfinv_central(double x) {
    double w = -log1p(-x * x);
    double y = x * st_sp_horner(st_sp_giles_central, 9, w - 2.5);
    for (int i = 0; i < 3; i++) {
        double u = ST_SP_SQRTPI_2 * (st_erf_f64(y) - x) * exp(y * y);
        y = y - u / (1.0 + y * u);
    }
    return y;
}

/* erfcinv(q) for 0 < q <= 1/2: Halley's iteration on erfc(z) = q written with
 * erfcx, so that q down to the smallest subnormal keeps its relative accuracy.
 * Beyond Giles' range the guess solves the asymptotic expansion
 * erfc(z) ~ exp(-z*z) / (z sqrt(pi)) (1 - 1/(2 z*z) + 3/(4 z^4)). */
static inline double st_sp_erfcinv_tail(double q) {
    double logq = log(q), w = -log(q * (2.0 - q)), z;
    if (w < 5.0) {
        z = (1.0 - q) * st_sp_horner(st_sp_giles_central, 9, w - 2.5);
    } else if (w < 18.0) {
        z = (1.0 - q) * st_sp_horner(st_sp_giles_tail, 9, sqrt(w) - 3.0);
    } else {
        double lq = -logq, t = sqrt(lq);
        for (int i = 0; i < 4; i++) {
            double r = 0.5 / (t * t);
            t = sqrt(lq - log(t * (2.0 * ST_SP_SQRTPI_2)) + log1p(r * (3.0 * r - 1.0)));
        }
        z = t;
    }
    for (int i = 0; i < 3; i++) {
        double u = -ST_SP_SQRTPI_2 * (st_sp_erfcx_pos(z) - exp(z * z + logq));
        z = z - u / (1.0 + z * u);
    }
    return z;
}

static inline double st_erfinv_f64(double x) {
    double ax = fabs(x);
    if (ax <= 0.5) return st_sp_erfinv_central(x);
    if (ax < 1.0) return copysign(st_sp_erfcinv_tail(1.0 - ax), x);  /* 1 - |x| exact */
    if (ax == 1.0) return copysign(INFINITY, x);
    return NAN;
}

static inline double st_erfcinv_f64(double q) {
    if (q > 0.0 && q < 0.5) return st_sp_erfcinv_tail(q);
    if (q >= 0.5 && q <= 1.5) return st_sp_erfinv_central(1.0 - q);  /* exact */
    if (q > 1.5 && q < 2.0) return -st_sp_erfcinv_tail(2.0 - q);     /* exact */
    if (q == 0.0) return INFINITY;
    if (q == 2.0) return -INFINITY;
    return NAN;
}

/* -- digamma: recurrence + asymptotic series, reflection, and Taylor series
 *    about the roots 1.4616... and -0.5040... (as hi + lo pairs) ------------- */
static const double st_sp_psi_series_pos[23] = {
    0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
    0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
    0.022597648232218104, -0.01542476590494896, 0.010538791616612175,
    -0.007204534386356869, 0.004926781395729853, -0.003369801655439328,
    0.002305126326734928, -0.0015769367714301972, 0.0010788252019162967,
    -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
    0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741};
static const double st_sp_psi_series_neg[26] = {
    8.939798558792134, -0.8093454625306507, 32.258572064915505, -2.761011648790828,
    128.27342343090902, -14.70672173553036, 513.2704629562862, -75.37700066344631,
    2055.5357119463315, -368.5783503832191, 8234.667099203069, -1743.364608867363,
    32997.785655255044, -8051.818155363498, 132262.95480834588, -36529.94596948565,
    530280.3912420176, -163451.79342700253, 2126602.3725968753, -723318.8861804305,
    8530604.878543982, -3172131.3155744765, 34228316.69580112, -13807481.997263888,
    137373435.87411496, -59721085.411294304};
/* coefficients of 1/x^2k in psi(x) - log x + 1/(2x), highest order first */
static const double st_sp_psi_asym[9] = {
    43867.0 / 14364.0, -3617.0 / 8160.0, 1.0 / 12.0, -691.0 / 32760.0, 1.0 / 132.0,
    -1.0 / 240.0, 1.0 / 252.0, -1.0 / 120.0, 1.0 / 12.0};

/* t * (c[0] + c[1] t + ... + c[n-1] t^(n-1)) with t = x - root (root = hi + lo) */
static inline double st_sp_root_series(double x, double hi, double lo, const double *c, int n) {
    double t = (x - hi) - lo, r = c[n - 1];
    for (int i = n - 2; i >= 0; i--) r = r * t + c[i];
    return t * r;
}

/* sin(pi x), cos(pi x) for finite x, with exact argument reduction */
static inline void st_sp_sincospi(double x, double *s, double *c) {
    double y = fmod(x, 2.0);         /* exact, in (-2, 2) */
    double n = rint(2.0 * y);        /* -4 .. 4 */
    double r = y - 0.5 * n;          /* exact, in [-1/4, 1/4] */
    double s0 = sin(ST_SP_PI * r), c0 = cos(ST_SP_PI * r);
    switch ((int)n & 3) {
    case 0: *s = s0; *c = c0; break;
    case 1: *s = c0; *c = -s0; break;
    case 2: *s = -s0; *c = -c0; break;
    default: *s = -c0; *c = s0; break;
    }
}

/* psi(x) for finite x > 0 */
static inline double st_sp_psi_pos(double x) {
    if (fabs(x - 1.4616321449683622) < 0.25)
        return st_sp_root_series(x, 1.4616321449683622, 9.549995429965697e-17,
                                 st_sp_psi_series_pos, 23);
    double t = x, acc = 0.0;
    for (int i = 0; i < 10 && t < 10.0; i++) {  /* psi(t) = psi(t + 1) - 1/t */
        acc += 1.0 / t;
        t += 1.0;
    }
    double inv2 = 1.0 / (t * t);
    return (log(t) - 0.5 / t - inv2 * st_sp_horner(st_sp_psi_asym, 9, inv2)) - acc;
}

static inline double st_psi_f64(double x) {
    double s, c;
    if (x > 0.0) return x == INFINITY ? x : st_sp_psi_pos(x);
    if (x == 0.0) return signbit(x) ? INFINITY : -INFINITY;
    if (!(x > -INFINITY) || x == floor(x)) return NAN;  /* NaN, -inf, poles */
    if (fabs(x - (-0.5040830082644554)) < 0.05)
        return st_sp_root_series(x, -0.5040830082644554, -8.15428206243813e-18,
                                 st_sp_psi_series_neg, 26);
    st_sp_sincospi(x, &s, &c);  /* psi(x) = psi(1 - x) - pi cot(pi x) */
    return st_sp_psi_pos(1.0 - x) - ST_SP_PI * c / s;
}

/* -- trigamma: recurrence up to 10, asymptotic series, reflection ----------- */
/* B_2k, k = 1..8, in reverse */
static const double st_sp_bernoulli_rev[8] = {
    -3617.0 / 510.0, 7.0 / 6.0, -691.0 / 2730.0, 5.0 / 66.0, -1.0 / 30.0, 1.0 / 42.0,
    -1.0 / 30.0, 1.0 / 6.0};

/* trigamma(x) for x > 0, NaN or +inf */
static inline double st_sp_trigamma_pos(double x) {
    double acc = 0.0, series = 0.0;
    while (x < 10.0) {  /* trigamma(x) = trigamma(x + 1) + 1/x^2; at most 10 steps */
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    double inv = 1.0 / x, inv2 = inv * inv;
    for (int i = 0; i < 8; i++) series = (series + st_sp_bernoulli_rev[i]) * inv2;
    return acc + inv + 0.5 * inv2 + series * inv;
}

static inline double st_trigamma_f64(double z) {
    if (!(z <= 0.0)) return st_sp_trigamma_pos(z);  /* also NaN */
    if (z == -INFINITY) return NAN;
    /* pi^2 / sin(pi z)^2 - trigamma(1 - z); sin from the distance to the
     * nearest integer, exactly 0 at the poles */
    double r = st_sp_trigamma_pos(1.0 - z);
    double s = sin(ST_SP_PI * (z - rint(z)));
    return s == 0.0 ? INFINITY : ST_SP_PI_SQUARED / (s * s) - r;
}

/* -- polygamma: psi^(n)(x) = (-1)^(n+1) n! zeta(n+1, x) for n >= 1 ---------- */
/* B_2j / (2j)!, j = 1..12: the Euler-Maclaurin tail of zeta(n+1, w) */
static const double st_sp_bernoulli_scaled[12] = {
    0.08333333333333333, -0.001388888888888889, 3.306878306878307e-05,
    -8.267195767195768e-07, 2.08767569878681e-08, -5.284190138687493e-10,
    1.3382536530684679e-11, -3.3896802963225827e-13, 8.586062056277845e-15,
    -2.174868698558062e-16, 5.5090028283602295e-18, -1.3954464685812522e-19};

/* scale k! zeta(k + 1, y) for an integer 1 <= k <= 170, y > 0 (or +inf) and a
 * power of two scale (exact: no result here is subnormal): the
 * recurrence up to y >= 10 + 0.75 k, then (k-1)! y^-k (1 + k/(2y) + sum_j
 * B_2j/(2j)! k (k+1) ... (k+2j-1) y^-2j); k! y^-(k+1) as 1/y times i/y, i = 1..k
 * (no partial product leaves the double range unless the result does) */
static inline double st_sp_scaled_hurwitz(double k, double y, double scale) {
    double acc = 0.0, bound = 10.0 + 0.75 * k;
    int top = (int)k;
    while (y < bound) {
        double p = scale / y;
        for (int i = 1; i <= top; i++) p = p * ((double)i / y);
        acc = acc + p;
        y = y + 1.0;
    }
    double r = 1.0 / y, p = scale * r, u, t = 1.0, s = 0.0;
    for (int i = 1; i < top; i++) p = p * ((double)i / y);
    u = r * r;
    for (int j = 1; j <= 12; j++) {
        t = t * ((k + (double)(2 * j - 2)) * (k + (double)(2 * j - 1)) * u);
        s = s + st_sp_bernoulli_scaled[j - 1] * t;
    }
    return acc + p * (1.0 + (0.5 * k * r + s));
}

/* n a float holding an integer 0..170 (else NaN); n = 0 is psi. Below 0, with
 * f = x - floor(x), zeta(n+1, x) = zeta(n+1, f) + (-1)^(n+1) (zeta(n+1, 1-f) -
 * zeta(n+1, 1-x)), 1 - f taken as ceil(x) - x (exact). Poles: +inf for odd n;
 * for even n -inf at +0, +inf at -0, NaN at the negative integers (as psi). */
static inline double st_polygamma_f64(double n, double x) {
    double z;
    if (!(n >= 0.0 && n <= 170.0 && n == floor(n)) || isnan(x)) return NAN;
    if (n == 0.0) return st_psi_f64(x);
    int odd = fmod(n, 2.0) == 1.0;
    if (x > 0.0) {
        z = st_sp_scaled_hurwitz(n, x, 1.0);
    } else if (x == 0.0) {
        z = odd ? INFINITY : copysign(INFINITY, x);
    } else if (x == floor(x)) {  /* a negative integer, or -inf */
        z = odd && x != -INFINITY ? INFINITY : NAN;
    } else {
        /* near and mirror scaled by 2^-(n+1): n! 2^(n+1) overflows from n = 150 */
        int order = (int)n + 1;
        double down = ldexp(1.0, -order), up = ldexp(1.0, order);
        double near = st_sp_scaled_hurwitz(n, x - floor(x), down);
        double mirror = st_sp_scaled_hurwitz(n, ceil(x) - x, down);
        double far = st_sp_scaled_hurwitz(n, 1.0 - x, 1.0);
        z = odd ? (near + mirror) * up - far : (near - mirror) * up + far;
    }
    return odd ? z : -z;
}

static inline float st_polygamma_f32(float n, float x) {
    return (float)st_polygamma_f64((double)n, (double)x);
}

/* -- the stable forms of tensor/stable.py ------------------------------------ */
/* exp(x*x) * erfc(x); below 0 erfc(-t) = 2 - erfc(t), exp(t*t) split as in erfc.
 * Like the reference, erfcx(-inf) is NaN (inf * exp(inf - inf)). */
static inline double st_erfcx_f64(double x) {
    if (x >= 0.0) return st_sp_erfcx_pos(x);
    if (!(x < 0.0)) return x;  /* NaN */
    double t = -x, ts = trunc(t * 16.0) / 16.0;
    return 2.0 * (exp(ts * ts) * exp((t - ts) * (t + ts))) - st_sp_erfcx_pos(t);
}

/* log(erfc(x)): log(erfcx(x)) - x^2 from 1/2 up, log1p(-erf(x)) near 0 */
static inline double st_log_erfc_f64(double x) {
    if (x >= 0.5) return log(st_sp_erfcx_pos(x)) - x * x;
    if (fabs(x) < 0.5) return log1p(-st_erf_f64(x));
    if (x <= -0.5) return log(st_erfc_f64(x));
    return x;  /* NaN */
}

/* log(1 - exp(x)): Maechler's two branches, split at log(1/2) */
static inline double st_log1mexp_f64(double x) {
    return x > ST_SP_LOG_HALF ? log(-expm1(x)) : log1p(-exp(x));
}

/* -- gamma, log|gamma|: libm's (glibc's are within a few ulp everywhere, more
 *    accurate than the reference next to the negative zeros of log|gamma|),
 *    with the reference's special values: gammaln(-inf) = -inf as scipy.
 *    lgamma_r leaves the global signgam alone (kernels may run in threads). */
static inline double st_gamma_f64(double x) { return tgamma(x); }
static inline double st_gammaln_f64(double x) {
    int sign;
    return x == -INFINITY ? x : lgamma_r(x, &sign);
}

/* float32: computed in float64, rounded once (as the reference) */
#define ST_SP_F32(NAME) \
    static inline float st_##NAME##_f32(float x) { return (float)st_##NAME##_f64((double)x); }
ST_SP_F32(gamma)
ST_SP_F32(gammaln)
ST_SP_F32(erf)
ST_SP_F32(erfc)
ST_SP_F32(erfinv)
ST_SP_F32(erfcinv)
ST_SP_F32(psi)
ST_SP_F32(trigamma)
ST_SP_F32(erfcx)
ST_SP_F32(log_erfc)
ST_SP_F32(log1mexp)
#undef ST_SP_F32

#endif /* SYMTHEANO_SPECIAL_H */
