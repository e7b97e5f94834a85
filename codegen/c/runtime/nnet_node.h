/* Node entries (st_node.h) for the softmax family and one-hot encoding:
 * Softmax, LogSoftmax (symtheano/tensor/nnet.py), LogSumExp and
 * SoftmaxCrossentropy (tensor/stable.py), OneHot. Included after shape_node.h
 * (its integer readers); codegen/c/nnet_emit.py builds the params.
 *
 * Each entry follows its op's perform step by step, with the same stable
 * formulation, so NaN and the infinities come out where the reference has them:
 *
 *   softmax     e = exp(x - max), e / sum(e)               (max propagates NaN)
 *   logsoftmax  s = x - m, s - log(sum(exp(s)))            m: max, 0 when not finite
 *   logsumexp   max + log1p(sum of exp(x - max) but one maximal term)
 *               max when not finite, -inf over an empty axis
 *   xent        log1p(rest) - (x[y] - max)                 max - x[y] when not finite
 *
 * float32 and float64 arrays are read into double and computed in double,
 * rounded to the dtype where the reference rounds (x - max and the exp values
 * of float32) and once at the end; sums are pairwise (as NumPy's), so results
 * agree with the reference to a few ulp. Contiguous rows take their exp from
 * libmvec's AVX2 exp (at most 4 ulp, as the elementwise kernels' vector path)
 * when the source defines ST_NNET_VECTOR and the CPU has AVX2 and FMA. The axes
 * a result is computed over ("lanes") may be any set of dimensions of any
 * strides: the other dimensions are walked with an odometer, and dimensions laid
 * out contiguously are merged.
 */
#ifndef SYMTHEANO_NNET_NODE_H
#define SYMTHEANO_NNET_NODE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "shape_node.h"

static inline double st_ld(const char *p, int f32)
{
    if (f32) {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    double v;
    memcpy(&v, p, 8);
    return v;
}

/* v rounded to the array's dtype, as the reference's float32 results are. */
static inline double st_round(double v, int f32)
{
    return f32 ? (double)(float)v : v;
}

static inline double st_sub(double x, double a, int f32)
{
    return st_round(x - a, f32);
}

static inline void st_st(char *p, int f32, double v)
{
    if (f32) {
        float f = (float)v;
        memcpy(p, &f, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

/* -- lanes: a split of the dimensions into kept ones and reduced ones ------------------- */

#define ST_OPS 3   /* operands walked along the kept dims: x, the output, the labels */

typedef struct {
    int64_t nk, nr;
    int64_t kshape[ST_MAX_DIMS], kst[ST_OPS][ST_MAX_DIMS];   /* kept dims */
    int64_t rshape[ST_MAX_DIMS], rst[2][ST_MAX_DIMS];        /* reduced dims: x, output */
} st_lanes;

/* Appends a dimension of size n and strides st[0..k) to a group, merging it into
 * the previous one when every operand steps over both evenly. */
static void st_group_add(int64_t *count, int64_t *shape, int64_t (*strides)[ST_MAX_DIMS],
                         int64_t k, int64_t n, const int64_t *st)
{
    int64_t m = *count, j;
    int merge = m > 0;
    if (n == 1) return;
    for (j = 0; merge && j < k; j++) merge = strides[j][m - 1] == st[j] * n;
    if (merge) {
        shape[m - 1] *= n;
        for (j = 0; j < k; j++) strides[j][m - 1] = st[j];
        return;
    }
    shape[m] = n;
    for (j = 0; j < k; j++) strides[j][m] = st[j];
    *count = m + 1;
}

/* The lanes of an ndim array of `shape` reduced over the dims of `mask`;
 * strides[j][d]: operand j's stride in dimension d (0 where it has none). */
static void st_lanes_init(st_lanes *L, int64_t ndim, const int64_t *shape, uint64_t mask,
                          int64_t strides[ST_OPS][ST_MAX_DIMS])
{
    L->nk = L->nr = 0;
    for (int64_t d = 0; d < ndim; d++) {
        const int64_t st[ST_OPS] = {strides[0][d], strides[1][d], strides[2][d]};
        if ((mask >> d) & 1) st_group_add(&L->nr, L->rshape, L->rst, 2, shape[d], st);
        else st_group_add(&L->nk, L->kshape, L->kst, ST_OPS, shape[d], st);
    }
    if (L->nr == 0) {   /* nothing reduced, or all of it of size 1: lanes of one element */
        L->nr = 1;
        L->rshape[0] = 1;
        L->rst[0][0] = L->rst[1][0] = 0;
    }
}

/* The next lane: advances ptr[0..ST_OPS) over the kept dims; 0 after the last one. */
static int st_next_lane(const st_lanes *L, int64_t *idx, char **ptr)
{
    for (int64_t d = L->nk - 1; d >= 0; d--) {
        for (int j = 0; j < ST_OPS; j++) ptr[j] += L->kst[j][d];
        if (++idx[d] < L->kshape[d]) return 1;
        for (int j = 0; j < ST_OPS; j++) ptr[j] -= L->kst[j][d] * L->kshape[d];
        idx[d] = 0;
    }
    return 0;
}

/* -- passes over one lane: rows along the last reduced dim, an odometer over the others -- */

enum { ST_MAX, ST_SUM_EXP, ST_SUM_OUT, ST_STORE_EXP, ST_DIV, ST_LOG_SHIFTED };

/* Pairwise sum of n terms: x[i] (ST_SUM_OUT) or exp(x[i] - a) (ST_SUM_EXP), the term
 * at `skip` left out. Blocks of up to 128 terms use 8 interleaved partial sums. */
static double st_pairwise(int op, const char *x, int64_t n, int64_t s, int f32, double a,
                          int64_t skip)
{
#define ST_TERM(i) ((i) == skip ? 0.0                                                    \
                    : op == ST_SUM_EXP ? st_round(exp(st_sub(st_ld(x + (i) * s, f32), a, f32)), f32) \
                                       : st_ld(x + (i) * s, f32))
    int64_t i;
    if (n < 8) {
        double r = 0.0;
        for (i = 0; i < n; i++) r += ST_TERM(i);
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = ST_TERM(j);
        for (i = 8; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += ST_TERM(i + j);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += ST_TERM(i);
        return res;
    }
#undef ST_TERM
    int64_t half = n / 2;
    half -= half % 8;
    return st_pairwise(op, x, half, s, f32, a, skip) +
           st_pairwise(op, x + half * s, n - half, s, f32, a, skip - half);
}

/* -- the vector path: exp of a contiguous row, 4 lanes in double ------------------------
 * Taken when the source defines ST_NNET_VECTOR after including vecmath.h (the
 * machine has AVX2 and libmvec) and the CPU running it has them. A row's tail is
 * padded, so each element's result depends on its value alone. */
#ifdef ST_NNET_VECTOR
/* o[i] = exp(x[i] - a) for a contiguous row x of n elements; o holds the dtype's
 * values, or doubles (the dtype's values widened) when `wide`. */
static ST_VTARGET void st_vexp_row(const char *x, char *o, int64_t n, int f32, double a, int wide)
{
    const st_vf64 shift = _mm256_set1_pd(a);
    const int64_t isz = f32 ? 4 : 8;
    double pad[4];
    for (int64_t i = 0; i < n; i += 4) {
        const int64_t k = n - i < 4 ? n - i : 4;
        st_vf64 v;
        if (k == 4) {
            v = f32 ? _mm256_cvtps_pd(_mm_loadu_ps((const float *)x + i))
                    : _mm256_loadu_pd((const double *)x + i);
        } else {
            for (int64_t j = 0; j < 4; j++) pad[j] = j < k ? st_ld(x + (i + j) * isz, f32) : a;
            v = _mm256_loadu_pd(pad);
        }
        v = _mm256_sub_pd(v, shift);
        if (f32) v = _mm256_cvtps_pd(_mm256_cvtpd_ps(v));   /* st_sub's rounding */
        v = st_vexp_f64(v);
        if (f32) v = _mm256_cvtps_pd(_mm256_cvtpd_ps(v));   /* the dtype's exp values */
        if (k == 4 && wide) {
            _mm256_storeu_pd((double *)o + i, v);
        } else if (k == 4) {
            if (f32) _mm_storeu_ps((float *)o + i, _mm256_cvtpd_ps(v));
            else _mm256_storeu_pd((double *)o + i, v);
        } else {
            _mm256_storeu_pd(pad, v);
            for (int64_t j = 0; j < k; j++) {
                if (wide) memcpy(o + (i + j) * 8, &pad[j], 8);
                else st_st(o + (i + j) * isz, f32, pad[j]);
            }
        }
    }
}

#define ST_CHUNK 1024   /* doubles of exp values summed at a time (8 KiB of stack) */

/* The pairwise sum of exp(x[i] - a) over a contiguous row, x[skip] left out: the
 * values are computed in chunks, 4 at a time, then summed as ST_SUM_EXP sums them. */
static double st_vsum_exp_row(const char *x, int64_t n, int f32, double a, int64_t skip)
{
    double buf[ST_CHUNK], acc = 0.0;
    const int64_t isz = f32 ? 4 : 8;
    for (int64_t i = 0; i < n; i += ST_CHUNK) {
        const int64_t k = n - i < ST_CHUNK ? n - i : ST_CHUNK;
        st_vexp_row(x + i * isz, (char *)buf, k, f32, a, 1);
        if (skip >= i && skip < i + k) buf[skip - i] = 0.0;
        acc += st_pairwise(ST_SUM_OUT, (const char *)buf, k, 8, 0, 0.0, -1);
    }
    return acc;
}
#endif

/* One pass of `op` over the lane at x (input) and o (output). ST_MAX returns the
 * maximum (NaN if any) and its first position in *arg; the sums return the sum;
 * the others write o from x (and o) with a and b. */
static inline __attribute__((always_inline)) double st_lane_pass(const st_lanes *L, int op, const char *x, char *o, int f32, double a,
                           double b, int64_t skip, int64_t *arg)
{
    const int64_t last = L->nr - 1, n = L->rshape[last];
    const int64_t xs = L->rst[0][last], os = L->rst[1][last];
    int64_t idx[ST_MAX_DIMS], pos = 0, i, d;
    double acc = op == ST_MAX ? -INFINITY : 0.0;
    for (d = 0; d < last; d++) idx[d] = 0;   /* (not `= {0}`: a lane may be short) */
    for (;;) {
        switch (op) {
        case ST_MAX:
            for (i = 0; i < n; i++) {
                const double v = st_ld(x + i * xs, f32);
                if (v > acc || (v != v && acc == acc)) {   /* the first max, or NaN */
                    acc = v;
                    *arg = pos + i;
                }
            }
            break;
        case ST_SUM_EXP:
#ifdef ST_NNET_VECTOR
            if (xs == (f32 ? 4 : 8) && st_cpu_has_vec()) {
                acc += st_vsum_exp_row(x, n, f32, a, skip - pos);
                break;
            }
#endif
            acc += st_pairwise(op, x, n, xs, f32, a, skip - pos);
            break;
        case ST_SUM_OUT:
            acc += st_pairwise(op, o, n, os, f32, a, -1);
            break;
        case ST_STORE_EXP:
#ifdef ST_NNET_VECTOR
            if (xs == (f32 ? 4 : 8) && os == xs && st_cpu_has_vec()) {
                st_vexp_row(x, o, n, f32, a, 0);
                break;
            }
#endif
            for (i = 0; i < n; i++)
                st_st(o + i * os, f32, exp(st_sub(st_ld(x + i * xs, f32), a, f32)));
            break;
        case ST_DIV:
            for (i = 0; i < n; i++) st_st(o + i * os, f32, st_ld(o + i * os, f32) / a);
            break;
        case ST_LOG_SHIFTED:
            for (i = 0; i < n; i++)
                st_st(o + i * os, f32, st_sub(st_ld(x + i * xs, f32), a, f32) - b);
            break;
        }
        pos += n;
        for (d = last - 1; d >= 0; d--) {
            x += L->rst[0][d];
            o += L->rst[1][d];
            if (++idx[d] < L->rshape[d]) break;
            x -= L->rst[0][d] * L->rshape[d];
            o -= L->rst[1][d] * L->rshape[d];
            idx[d] = 0;
        }
        if (d < 0) return acc;
    }
}

/* -- the entries ----------------------------------------------------------------------- */

static int st_float_code(int64_t code, int *f32)
{
    *f32 = code == ST_CODE(ST_KIND_FLOAT, 4);
    return *f32 || code == ST_CODE(ST_KIND_FLOAT, 8);
}

/* The bit mask of the reduced axes: `axis`, or every dimension when it is -1. */
static uint64_t st_axis_mask(int64_t axis, int64_t ndim)
{
    return axis < 0 ? (ndim >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << ndim) - 1) : (uint64_t)1 << axis;
}

/* Softmax and LogSoftmax: [dtype code, axis or -1 for all]; `log` picks the op. */
static int st_softmax_common(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out,
                             int take_log)
{
    const int64_t *p = ctx->params;
    int f32;
    int64_t strides[ST_OPS][ST_MAX_DIMS], idx[ST_MAX_DIMS] = {0}, arg, d, size;
    if (n_in != 1 || ctx->n_params != 2 || !st_float_code(p[0], &f32) || p[1] >= in[0].ndim)
        return ST_FALLBACK;
    const st_tensor *x = &in[0];
    if (ctx->alloc(ctx, 0, x->ndim, x->shape, out)) return ST_ERROR;
    if (st_size(x->ndim, x->shape, 1, &size) || size == 0) return ST_OK;
    for (d = 0; d < x->ndim; d++) {
        strides[0][d] = x->strides[d];
        strides[1][d] = out->strides[d];
        strides[2][d] = 0;
    }
    st_lanes L;
    st_lanes_init(&L, x->ndim, x->shape, st_axis_mask(p[1], x->ndim), strides);
    char *ptr[ST_OPS] = {x->data, out->data, NULL};
    do {
        const double m = st_lane_pass(&L, ST_MAX, ptr[0], ptr[1], f32, 0, 0, -1, &arg);
        if (take_log) {
            const double shift = isfinite(m) ? m : 0.0;
            /* the output holds exp(x - shift) until the sum is taken */
            st_lane_pass(&L, ST_STORE_EXP, ptr[0], ptr[1], f32, shift, 0, -1, &arg);
            const double s = st_lane_pass(&L, ST_SUM_OUT, ptr[0], ptr[1], f32, 0, 0, -1, &arg);
            st_lane_pass(&L, ST_LOG_SHIFTED, ptr[0], ptr[1], f32, shift, log(s), -1, &arg);
        } else {
            st_lane_pass(&L, ST_STORE_EXP, ptr[0], ptr[1], f32, m, 0, -1, &arg);
            const double s = st_lane_pass(&L, ST_SUM_OUT, ptr[0], ptr[1], f32, 0, 0, -1, &arg);
            st_lane_pass(&L, ST_DIV, ptr[0], ptr[1], f32, s, 0, -1, &arg);
        }
    } while (st_next_lane(&L, idx, ptr));
    return ST_OK;
}

int st_softmax(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    return st_softmax_common(ctx, in, n_in, out, 0);
}

int st_log_softmax(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    return st_softmax_common(ctx, in, n_in, out, 1);
}

/* log(sum(exp(lane))) as LogSumExp and SoftmaxCrossentropy compute it: m is the
 * maximum; *shift is m when finite, else 0 (and the sum is not computed). */
static double st_log_rest(const st_lanes *L, const char *x, int f32, double *m, double *shift)
{
    int64_t arg = -1;
    *m = st_lane_pass(L, ST_MAX, x, NULL, f32, 0, 0, -1, &arg);
    if (!isfinite(*m)) {
        *shift = 0.0;
        return 0.0;
    }
    *shift = *m;
    return log1p(st_lane_pass(L, ST_SUM_EXP, x, NULL, f32, *m, 0, arg, &arg));
}

/* LogSumExp: [dtype code, number of axes, axes...]. */
int st_logsumexp(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    int f32;
    int64_t strides[ST_OPS][ST_MAX_DIMS], shape[ST_MAX_DIMS] = {0}, idx[ST_MAX_DIMS] = {0};
    int64_t d, k, lane = 1, size;
    uint64_t mask = 0;
    if (n_in != 1 || ctx->n_params < 2 || !st_float_code(p[0], &f32) || ctx->n_params != 2 + p[1])
        return ST_FALLBACK;
    const st_tensor *x = &in[0];
    for (k = 0; k < p[1]; k++) {
        if (p[2 + k] < 0 || p[2 + k] >= x->ndim) return ST_FALLBACK;
        mask |= (uint64_t)1 << p[2 + k];
    }
    for (d = k = 0; d < x->ndim; d++) {
        if ((mask >> d) & 1) lane *= x->shape[d];
        else shape[k++] = x->shape[d];
    }
    if (ctx->alloc(ctx, 0, k, shape, out)) return ST_ERROR;
    if (st_size(k, shape, 1, &size) || size == 0) return ST_OK;
    for (d = k = 0; d < x->ndim; d++) {
        strides[0][d] = x->strides[d];
        strides[1][d] = (mask >> d) & 1 ? 0 : out->strides[k++];
        strides[2][d] = 0;
    }
    st_lanes L;
    st_lanes_init(&L, x->ndim, x->shape, mask, strides);
    char *ptr[ST_OPS] = {x->data, out->data, NULL};
    do {
        double m, shift, res = -INFINITY;
        if (lane > 0) {
            const double rest = st_log_rest(&L, ptr[0], f32, &m, &shift);
            res = isfinite(m) ? m + rest : m;
        }
        st_st(ptr[1], f32, res);
    } while (st_next_lane(&L, idx, ptr));
    return ST_OK;
}

/* SoftmaxCrossentropy: [dtype code of the logits, dtype code of the labels];
 * inputs logits x (..., n) and labels y (...). */
int st_softmax_xent(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    int f32;
    int64_t strides[ST_OPS][ST_MAX_DIMS], idx[ST_MAX_DIMS] = {0}, d, size, label;
    if (n_in != 2 || ctx->n_params != 2 || !st_float_code(p[0], &f32)) return ST_FALLBACK;
    const st_tensor *x = &in[0], *y = &in[1];
    const int64_t nd = x->ndim;
    if (nd < 1 || y->ndim != nd - 1) return ST_FALLBACK;
    for (d = 0; d < nd - 1; d++)
        if (y->shape[d] != x->shape[d]) return ST_FALLBACK;
    if (ctx->alloc(ctx, 0, nd - 1, y->shape, out)) return ST_ERROR;
    if (st_size(nd - 1, y->shape, 1, &size) || size == 0) return ST_OK;
    const int64_t n = x->shape[nd - 1], xs = x->strides[nd - 1];
    for (d = 0; d < nd; d++) {
        const int kept = d < nd - 1;
        strides[0][d] = x->strides[d];
        strides[1][d] = kept ? out->strides[d] : 0;
        strides[2][d] = kept ? y->strides[d] : 0;
    }
    st_lanes L;
    st_lanes_init(&L, nd, x->shape, (uint64_t)1 << (nd - 1), strides);
    char *ptr[ST_OPS] = {x->data, out->data, y->data};
    do {   /* the reference checks every label before it computes */
        if (st_read_int(ptr[2], p[1], &label) || label < 0 || label >= n) return ST_FALLBACK;
    } while (st_next_lane(&L, idx, ptr));
    do {
        double m, shift;
        st_read_int(ptr[2], p[1], &label);
        const double rest = st_log_rest(&L, ptr[0], f32, &m, &shift);
        const double picked = st_ld(ptr[0] + label * xs, f32);
        st_st(ptr[1], f32, isfinite(m) ? rest - st_sub(picked, shift, f32) : m - picked);
    } while (st_next_lane(&L, idx, ptr));
    return ST_OK;
}

/* OneHot: [dtype code of the output, dtype code of the indices]; inputs indices
 * (any shape) and the number of classes (a 0-d int64). */
int st_one_hot(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    int64_t shape[ST_MAX_DIMS], strides[ST_OPS][ST_MAX_DIMS], idx[ST_MAX_DIMS] = {0};
    int64_t n, d, size, k, pos = 0;
    if (n_in != 2 || ctx->n_params != 2 || st_read_scalar(&in[1], ST_CODE(ST_KIND_INT, 8), &n))
        return ST_FALLBACK;
    const st_tensor *ind = &in[0];
    const int64_t itemsize = p[0] & 0xff;
    if (n < 0 || ind->ndim + 1 > ST_MAX_DIMS) return ST_FALLBACK;
    for (d = 0; d < ind->ndim; d++) shape[d] = ind->shape[d];
    shape[ind->ndim] = n;
    if (st_size(ind->ndim + 1, shape, itemsize, &size)) return ST_FALLBACK;
    if (ctx->alloc(ctx, 0, ind->ndim + 1, shape, out)) return ST_ERROR;
    if (st_size(ind->ndim, shape, 1, &k) || k == 0) return ST_OK;
    memset(out->data, 0, (size_t)(size * itemsize));
    for (d = 0; d < ind->ndim; d++) {
        strides[0][d] = ind->strides[d];
        strides[1][d] = strides[2][d] = 0;
    }
    st_lanes L;   /* nothing reduced: one lane per index, in C order */
    st_lanes_init(&L, ind->ndim, ind->shape, 0, strides);
    char *ptr[ST_OPS] = {ind->data, NULL, NULL};
    do {
        int64_t c;
        if (st_read_int(ptr[0], p[1], &c) || c < 0 || c >= n) return ST_FALLBACK;
        char *one = out->data + (pos * n + c) * itemsize;
        switch (p[0] >> 8) {
        case ST_KIND_FLOAT:
            st_st(one, itemsize == 4, 1.0);
            break;
        default: {   /* integers and bool: 1 in the lowest byte (little endian) */
            const uint64_t v = 1;
            memcpy(one, &v, (size_t)itemsize);
        }
        }
        pos++;
    } while (st_next_lane(&L, idx, ptr));
    return ST_OK;
}

#endif /* SYMTHEANO_NNET_NODE_H */
