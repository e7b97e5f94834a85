/* Vector math for the AVX2 path of elementwise kernels: 4 doubles (st_vf64)
 * or 8 floats (st_vf32) per register, one function per scalar op that has a
 * vector form (codegen/c/vector.py is the table that names them).
 *
 * Contract: each st_v<name>_<f64|f32> computes, lane by lane, what the scalar
 * C expression of codegen/c/scalar.py computes for that op (which is NumPy's
 * result): the same branches, written as blends, and the same IEEE operations.
 * Arithmetic, comparisons, sqrt, rounding, abs, sign, maximum/minimum are
 * therefore bit-identical to the scalar path. Transcendental functions call
 * glibc's libmvec (the AVX2 variants _ZGVdN4v_<f> and _ZGVdN8v_<f>f), whose
 * documented error is at most 4 ulp and which handles NaN, the infinities,
 * signed zeros and overflow/underflow exactly as libm (special lanes are
 * recomputed by the scalar function). A lane's result depends only on that
 * lane's arguments, never on its neighbours or its position in the array.
 *
 * sigmoid and softplus keep the stable formulas of symtheano_rt.h (one exp of
 * -|x|, blended by sign), and their float32 forms, like the scalar ones,
 * compute in double and round once. tanh is u / (u + 2) with u = expm1(2|x|)
 * (|x| capped at 20, or 9 in float32, where tanh rounds to 1), signed as x:
 * twice as fast as libmvec's tanh, and as accurate (the division damps u's
 * error; at most 5 ulp from glibc's tanh, measured over 2^22 values per decade).
 *
 * Nothing here is compiled for AVX2 by the command line: each function carries
 * ST_VTARGET, so a kernel that includes this file still runs (on its scalar
 * path) on a CPU without AVX2; st_cpu_has_vec() says at run time whether the
 * vector path may be taken (AVX2 for our code, FMA as well for libmvec's AVX2
 * variants). Linking needs -lmvec (build.py adds it for sources that include
 * this file).
 *
 * The vectors are GCC's generic vector types (the same types and calling
 * convention as __m256d / __m256), written with operators, three ia32
 * builtins (sqrt, round) and bit operations, not with <immintrin.h>: that
 * header alone takes 0.4 s to compile, four times a whole scalar kernel. It is
 * still included unless the source defines ST_VECMATH_LEAN first, for sources
 * that also call intrinsics themselves (they should include it themselves);
 * elementwise kernels define it.
 *
 * Masks (comparison results) are vectors of the same type whose lanes are all
 * ones (true) or all zeros (false).
 */
#ifndef SYMTHEANO_VECMATH_H
#define SYMTHEANO_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#ifndef ST_VECMATH_LEAN
#include <immintrin.h>
#endif

#define ST_VTARGET __attribute__((target("avx2")))
#define ST_VINLINE static inline __attribute__((always_inline)) ST_VTARGET

typedef double st_vf64 __attribute__((vector_size(32)));
typedef float st_vf32 __attribute__((vector_size(32)));
typedef int64_t st_vi64 __attribute__((vector_size(32)));   /* lanes of st_vf64 as bits */
typedef int32_t st_vi32 __attribute__((vector_size(32)));   /* lanes of st_vf32 as bits */
typedef float st_vf32x4 __attribute__((vector_size(16)));   /* half a st_vf32 */

static inline int st_cpu_has_vec(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* -- libmvec: one argument (NAME: scalar-op name, F: libm name) -------------- */
#define ST_MVEC1(NAME, F)                                                           \
    st_vf64 _ZGVdN4v_##F(st_vf64);                                                  \
    st_vf32 _ZGVdN8v_##F##f(st_vf32);                                               \
    ST_VINLINE st_vf64 st_v##NAME##_f64(st_vf64 x) { return _ZGVdN4v_##F(x); }      \
    ST_VINLINE st_vf32 st_v##NAME##_f32(st_vf32 x) { return _ZGVdN8v_##F##f(x); }
#define ST_MVEC2(NAME, F)                                                           \
    st_vf64 _ZGVdN4vv_##F(st_vf64, st_vf64);                                        \
    st_vf32 _ZGVdN8vv_##F##f(st_vf32, st_vf32);                                     \
    ST_VINLINE st_vf64 st_v##NAME##_f64(st_vf64 x, st_vf64 y) {                     \
        return _ZGVdN4vv_##F(x, y);                                                 \
    }                                                                               \
    ST_VINLINE st_vf32 st_v##NAME##_f32(st_vf32 x, st_vf32 y) {                     \
        return _ZGVdN8vv_##F##f(x, y);                                              \
    }

ST_MVEC1(exp, exp)
ST_MVEC1(exp2, exp2)
ST_MVEC1(expm1, expm1)
ST_MVEC1(log, log)
ST_MVEC1(log2, log2)
ST_MVEC1(log10, log10)
ST_MVEC1(log1p, log1p)
ST_MVEC1(sin, sin)
ST_MVEC1(cos, cos)
ST_MVEC1(tan, tan)
ST_MVEC1(arcsin, asin)
ST_MVEC1(arccos, acos)
ST_MVEC1(arctan, atan)
ST_MVEC1(sinh, sinh)
ST_MVEC1(cosh, cosh)
ST_MVEC1(arcsinh, asinh)
ST_MVEC1(arccosh, acosh)
ST_MVEC1(arctanh, atanh)
ST_MVEC2(arctan2, atan2)
ST_MVEC2(hypot, hypot)
ST_MVEC2(pow, pow)

/* -- everything else, for both widths ----------------------------------------
 * SUF: f64/f32, VT: vector type, IT: its lanes as integers, T: scalar type,
 * W: lanes, PS: suffix of the ia32 builtins (pd256/ps256). */
#define ST_VBASIC(SUF, VT, IT, T, W, PS)                                            \
    ST_VINLINE VT st_vset1_##SUF(T x) {                                             \
        VT v;                                                                       \
        for (int i = 0; i < W; i++) v[i] = x;                                       \
        return v;                                                                   \
    }                                                                               \
    ST_VINLINE VT st_vload_##SUF(const T *p) {                                      \
        VT v;                                                                       \
        memcpy(&v, p, sizeof v);                                                    \
        return v;                                                                   \
    }                                                                               \
    ST_VINLINE void st_vstore_##SUF(T *p, VT x) { memcpy(p, &x, sizeof x); }        \
    ST_VINLINE VT st_vadd_##SUF(VT a, VT b) { return a + b; }                       \
    ST_VINLINE VT st_vsub_##SUF(VT a, VT b) { return a - b; }                       \
    ST_VINLINE VT st_vmul_##SUF(VT a, VT b) { return a * b; }                       \
    ST_VINLINE VT st_vdiv_##SUF(VT a, VT b) { return a / b; }                       \
    ST_VINLINE VT st_vsqrt_##SUF(VT x) { return __builtin_ia32_sqrt##PS(x); }       \
    /* the sign bit alone: -x flips it, fabs clears it (NaN included, as in C) */   \
    ST_VINLINE VT st_vneg_##SUF(VT x) {                                             \
        return (VT)((IT)x ^ (IT)st_vset1_##SUF((T)-0.0));                           \
    }                                                                               \
    ST_VINLINE VT st_vabs_##SUF(VT x) {                                             \
        return (VT)((IT)x & ~(IT)st_vset1_##SUF((T)-0.0));                          \
    }                                                                               \
    /* comparisons as C's: false with NaN, except != */                             \
    ST_VINLINE VT st_vlt_##SUF(VT a, VT b) { return (VT)(a < b); }                  \
    ST_VINLINE VT st_vgt_##SUF(VT a, VT b) { return (VT)(a > b); }                  \
    ST_VINLINE VT st_vle_##SUF(VT a, VT b) { return (VT)(a <= b); }                 \
    ST_VINLINE VT st_vge_##SUF(VT a, VT b) { return (VT)(a >= b); }                 \
    ST_VINLINE VT st_veq_##SUF(VT a, VT b) { return (VT)(a == b); }                 \
    ST_VINLINE VT st_vneq_##SUF(VT a, VT b) { return (VT)(a != b); }                \
    ST_VINLINE VT st_visnan_##SUF(VT x) { return (VT)(x != x); }                    \
    ST_VINLINE VT st_visinf_##SUF(VT x) {                                           \
        return (VT)(st_vabs_##SUF(x) == st_vset1_##SUF((T)INFINITY));               \
    }                                                                               \
    /* masks */                                                                     \
    ST_VINLINE VT st_vand_##SUF(VT a, VT b) { return (VT)((IT)a & (IT)b); }         \
    ST_VINLINE VT st_vor_##SUF(VT a, VT b) { return (VT)((IT)a | (IT)b); }          \
    ST_VINLINE VT st_vxor_##SUF(VT a, VT b) { return (VT)((IT)a ^ (IT)b); }         \
    ST_VINLINE VT st_vnot_##SUF(VT m) { return (VT)(~(IT)m); }                      \
    /* m ? a : b */                                                                 \
    ST_VINLINE VT st_vsel_##SUF(VT m, VT a, VT b) {                                 \
        return (VT)(((IT)m & (IT)a) | (~(IT)m & (IT)b));                            \
    }                                                                               \
    /* (x != 0): the truth of a number, NaN is true */                              \
    ST_VINLINE VT st_vtruth_##SUF(VT x) { return (VT)(x != (VT){0}); }              \
    /* (T)mask: 1 or 0 */                                                           \
    ST_VINLINE VT st_vbool_##SUF(VT m) {                                            \
        return (VT)((IT)m & (IT)st_vset1_##SUF((T)1));                              \
    }                                                                               \
    /* st_maximum / st_minimum: NaN-propagating, b wins ties (+0.0/-0.0: NumPy) */  \
    ST_VINLINE VT st_vmaximum_##SUF(VT a, VT b) {                                   \
        VT r = st_vsel_##SUF(st_vgt_##SUF(a, b), a, b);                             \
        r = st_vsel_##SUF(st_visnan_##SUF(b), b, r);                                \
        return st_vsel_##SUF(st_visnan_##SUF(a), a, r);                             \
    }                                                                               \
    ST_VINLINE VT st_vminimum_##SUF(VT a, VT b) {                                   \
        VT r = st_vsel_##SUF(st_vlt_##SUF(a, b), a, b);                             \
        r = st_vsel_##SUF(st_visnan_##SUF(b), b, r);                                \
        return st_vsel_##SUF(st_visnan_##SUF(a), a, r);                             \
    }                                                                               \
    /* st_sgn: NaN stays, else (x > 0) - (x < 0) */                                 \
    ST_VINLINE VT st_vsgn_##SUF(VT x) {                                             \
        const VT zero = {0};                                                        \
        const VT r = st_vbool_##SUF(st_vgt_##SUF(x, zero))                          \
                     - st_vbool_##SUF(st_vlt_##SUF(x, zero));                       \
        return st_vsel_##SUF(st_visnan_##SUF(x), x, r);                             \
    }                                                                               \
    /* rounding: 8 = no precision exception; 1 down, 2 up, 3 toward zero,        */ \
    /* 4 the current mode (rint: half to even by default)                        */ \
    ST_VINLINE VT st_vfloor_##SUF(VT x) { return __builtin_ia32_round##PS(x, 9); }  \
    ST_VINLINE VT st_vceil_##SUF(VT x) { return __builtin_ia32_round##PS(x, 10); }  \
    ST_VINLINE VT st_vtrunc_##SUF(VT x) { return __builtin_ia32_round##PS(x, 11); } \
    ST_VINLINE VT st_vrint_##SUF(VT x) { return __builtin_ia32_round##PS(x, 4); }   \
    /* st_round_away: copysign(floor(fabs(x) + 0.5), x) */                          \
    ST_VINLINE VT st_vround_away_##SUF(VT x) {                                      \
        const IT sign = (IT)st_vset1_##SUF((T)-0.0);                                \
        const VT t = st_vfloor_##SUF(st_vabs_##SUF(x) + (T)0.5);                    \
        return (VT)(((IT)t & ~sign) | ((IT)x & sign));                              \
    }                                                                               \
    /* xlogx: x == 0 ? 0 : x * log(x) */                                            \
    ST_VINLINE VT st_vxlogx_##SUF(VT x) {                                           \
        const VT zero = {0};                                                        \
        return st_vsel_##SUF(st_veq_##SUF(x, zero), zero, x * st_vlog_##SUF(x));    \
    }

ST_VBASIC(f64, st_vf64, st_vi64, double, 4, pd256)
ST_VBASIC(f32, st_vf32, st_vi32, float, 8, ps256)

/* -- logistic function and softplus, as st_sigmoid_f64 / st_softplus_f64 ----- */
ST_VINLINE st_vf64 st_vsigmoid_f64(st_vf64 x) {
    /* x >= 0: 1 / (1 + exp(-x)); otherwise (NaN too) e / (1 + e), e = exp(x).
     * Both exponentials are exp(-|x|). */
    const st_vf64 one = st_vset1_f64(1.0);
    const st_vf64 e = st_vexp_f64(st_vneg_f64(st_vabs_f64(x)));
    const st_vf64 num = st_vsel_f64(st_vge_f64(x, (st_vf64){0}), one, e);
    return num / (one + e);
}
ST_VINLINE st_vf64 st_vsoftplus_f64(st_vf64 x) {
    /* NaN stays; else (x > 0 ? x : 0) + log1p(exp(-|x|)) */
    const st_vf64 t = st_vlog1p_f64(st_vexp_f64(st_vneg_f64(st_vabs_f64(x))));
    const st_vf64 pos = st_vand_f64(x, st_vgt_f64(x, (st_vf64){0}));
    return st_vsel_f64(st_visnan_f64(x), x, pos + t);
}

/* tanh(x) = sign(x) u / (u + 2), u = expm1(2 min(|x|, CAP)); NaN stays NaN */
#define ST_VTANH(SUF, VT, T, CAP)                                                   \
    ST_VINLINE VT st_vtanh_##SUF(VT x) {                                            \
        const VT cap = st_vset1_##SUF((T)CAP);                                      \
        VT a = st_vabs_##SUF(x), u;                                                 \
        a = st_vsel_##SUF(st_vgt_##SUF(a, cap), cap, a);                            \
        u = st_vexpm1_##SUF(a + a);                                                 \
        return st_vor_##SUF(u / (u + (T)2), st_vand_##SUF(x, st_vset1_##SUF((T)-0.0))); \
    }

ST_VTANH(f64, st_vf64, double, 20)
ST_VTANH(f32, st_vf32, float, 9)

/* float32 through double, rounded once, as the scalar (float)st_<f>_f64(x) */
#define ST_VIA_F64(NAME)                                                            \
    ST_VINLINE st_vf32 st_v##NAME##_f32(st_vf32 x) {                                \
        st_vf32x4 half[2];                                                          \
        st_vf32 r;                                                                  \
        memcpy(half, &x, sizeof x);                                                 \
        for (int h = 0; h < 2; h++)                                                 \
            half[h] = __builtin_convertvector(                                      \
                st_v##NAME##_f64(__builtin_convertvector(half[h], st_vf64)), st_vf32x4); \
        memcpy(&r, half, sizeof r);                                                 \
        return r;                                                                   \
    }

ST_VIA_F64(sigmoid)
ST_VIA_F64(softplus)

#endif /* SYMTHEANO_VECMATH_H */
