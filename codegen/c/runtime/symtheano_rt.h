/* symtheano's C runtime for generated kernels: fixed-width types and scalar
 * helpers whose results match the NumPy reference implementation (floor
 * division and modulo with Python's signs, NaN-propagating maximum/minimum,
 * integer division by zero giving 0, integer powers, stable sigmoid and
 * softplus; the special functions are in special.h, included at the end).
 *
 * Every generated kernel includes this file; its text is part of the cache key.
 */
#ifndef SYMTHEANO_RT_H
#define SYMTHEANO_RT_H

#include <math.h>
#include <stdint.h>

typedef uint8_t st_bool;

/* The strided loop every elementwise kernel runs: `ndim` dimensions of
 * `shape`, operand k at data[k] with byte strides strides[k * ndim + d]. The
 * caller has merged contiguous dimensions, so the innermost loop is long. */
#define ST_MAX_DIMS 32

/* -- NaN-propagating extrema (numpy.maximum / numpy.minimum) ----------------- */
/* Bit for bit as NumPy: the first operand if it is NaN, else the second if it is
 * NaN, else the larger (smaller); on a tie, which differs only for +0.0 and -0.0,
 * the second operand, as every loop of NumPy's does. */
static inline double st_maximum_f64(double a, double b) {
    return isnan(a) ? a : (isnan(b) ? b : (a > b ? a : b));
}
static inline double st_minimum_f64(double a, double b) {
    return isnan(a) ? a : (isnan(b) ? b : (a < b ? a : b));
}
static inline float st_maximum_f32(float a, float b) {
    return isnan(a) ? a : (isnan(b) ? b : (a > b ? a : b));
}
static inline float st_minimum_f32(float a, float b) {
    return isnan(a) ? a : (isnan(b) ? b : (a < b ? a : b));
}

/* -- sign ------------------------------------------------------------------- */
static inline double st_sgn_f64(double x) {
    return isnan(x) ? x : (double)((x > 0) - (x < 0));
}
static inline float st_sgn_f32(float x) {
    return isnan(x) ? x : (float)((x > 0) - (x < 0));
}

/* -- floor division and modulo of floats, as numpy's npy_divmod ------------- */
static inline double st_mod_f64(double a, double b) {
    double m;
    if (b == 0.0) return fmod(a, b);              /* NaN, as NumPy */
    m = fmod(a, b);
    if (m != 0.0) {
        if ((b < 0) != (m < 0)) m += b;
    } else {
        m = copysign(0.0, b);
    }
    return m;
}
static inline double st_floordiv_f64(double a, double b) {
    double m, div, floordiv;
    if (b == 0.0) return a / b;
    m = fmod(a, b);
    div = (a - m) / b;
    if (m != 0.0 && ((b < 0) != (m < 0))) div -= 1.0;
    if (div != 0.0) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, a / b);
    }
    return floordiv;
}
static inline float st_mod_f32(float a, float b) { return (float)st_mod_f64(a, b); }
static inline float st_floordiv_f32(float a, float b) { return (float)st_floordiv_f64(a, b); }

/* -- floor division and modulo of integers: Python's signs, 0 for b == 0, and
 *    no trap for INT_MIN / -1 (NumPy wraps around) --------------------------- */
#define ST_INT_DIVMOD(T, NAME)                                                  \
    static inline T st_floordiv_##NAME(T a, T b) {                              \
        T q;                                                                    \
        if (b == 0) return 0;                                                   \
        if (b == (T)-1) return (T)(0 - (uint64_t)a);                            \
        q = a / b;                                                              \
        if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;                       \
        return q;                                                               \
    }                                                                           \
    static inline T st_mod_##NAME(T a, T b) {                                   \
        T r;                                                                    \
        if (b == 0 || b == (T)-1) return 0;                                     \
        r = a % b;                                                              \
        if (r != 0 && ((r < 0) != (b < 0))) r += b;                             \
        return r;                                                               \
    }
#define ST_UINT_DIVMOD(T, NAME)                                                 \
    static inline T st_floordiv_##NAME(T a, T b) { return b ? a / b : 0; }      \
    static inline T st_mod_##NAME(T a, T b) { return b ? a % b : 0; }

ST_INT_DIVMOD(int8_t, i8)
ST_INT_DIVMOD(int16_t, i16)
ST_INT_DIVMOD(int32_t, i32)
ST_INT_DIVMOD(int64_t, i64)
ST_UINT_DIVMOD(uint8_t, u8)
ST_UINT_DIVMOD(uint16_t, u16)
ST_UINT_DIVMOD(uint32_t, u32)
ST_UINT_DIVMOD(uint64_t, u64)

/* -- rounding half away from zero (C's round), half to even (rint) ---------- */
static inline double st_round_away_f64(double x) { return copysign(floor(fabs(x) + 0.5), x); }
static inline float st_round_away_f32(float x) { return copysignf(floorf(fabsf(x) + 0.5f), x); }

/* -- logistic function and softplus, without overflow ----------------------- */
static inline double st_sigmoid_f64(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
static inline float st_sigmoid_f32(float x) { return (float)st_sigmoid_f64(x); }
static inline double st_softplus_f64(double x) {
    /* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) */
    if (isnan(x)) return x;
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}
static inline float st_softplus_f32(float x) { return (float)st_softplus_f64(x); }

/* -- integer power: NumPy's wrap-around for b >= 0 (square and multiply modulo
 *    2^64, exact modulo 2^bits); for b < 0 the truncated exact value, as
 *    Pow.impl: 1 for a == 1, (-1)^b for a == -1, else 0 (also for a == 0) ---- */
static inline uint64_t st_upow_(uint64_t a, uint64_t e) {
    uint64_t r = 1;
    while (e) {
        if (e & 1) r *= a;
        a *= a;
        e >>= 1;
    }
    return r;
}
#define ST_INT_POW(T, NAME)                                                     \
    static inline T st_pow_##NAME(T a, T b) {                                   \
        if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);      \
        return (T)st_upow_((uint64_t)a, (uint64_t)b);                           \
    }
#define ST_UINT_POW(T, NAME)                                                    \
    static inline T st_pow_##NAME(T a, T b) { return (T)st_upow_(a, b); }
ST_INT_POW(int8_t, i8)
ST_INT_POW(int16_t, i16)
ST_INT_POW(int32_t, i32)
ST_INT_POW(int64_t, i64)
ST_UINT_POW(uint8_t, u8)
ST_UINT_POW(uint16_t, u16)
ST_UINT_POW(uint32_t, u32)
ST_UINT_POW(uint64_t, u64)

/* -- special functions (erfinv, psi, erfcx, ...): see special.h ------------ */
#include "special.h"

#endif /* SYMTHEANO_RT_H */
