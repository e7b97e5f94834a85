/* Node entries (st_node.h) for the ops that move or describe elements without
 * computing on them: DimShuffle, Reshape, Subtensor, IncSubtensor, Shape,
 * Shape_i, MakeVector, SpecifyShape, CheckShape, Alloc and Join. Their behaviour is fully
 * described by ctx->params, so one library holds them all and every function
 * shares it (codegen/c/shape_emit.py picks the entry per op class and builds
 * the params).
 *
 * Where NumPy returns a view (dimshuffle, reshape of a layout that allows it,
 * basic indexing) the entry returns one through ctx->view; SpecifyShape returns
 * its input itself (ctx->reuse, as its perform does); the others allocate.
 * Anything the reference would reject (an index out of range, a size that does
 * not fit, a dimension that cannot broadcast) returns ST_FALLBACK, so the op's
 * perform raises its own error.
 *
 * Integers read at run time (shapes, index bounds) may have any integer dtype;
 * a dtype travels in params as a code: kind << 8 | itemsize, kind 1 signed,
 * 2 unsigned, 3 float, 4 bool (ST_CODE below, shape_emit.dtype_code in Python).
 */
#ifndef SYMTHEANO_SHAPE_NODE_H
#define SYMTHEANO_SHAPE_NODE_H

#include <stdint.h>
#include <string.h>

#include "st_node.h"

#define ST_KIND_INT 1
#define ST_KIND_UINT 2
#define ST_KIND_FLOAT 3
#define ST_KIND_BOOL 4
#define ST_CODE(kind, size) (((kind) << 8) | (size))

/* The integer at p of dtype `code` into *v; 0 when it fits an int64, 1 otherwise. */
static int st_read_int(const char *p, int64_t code, int64_t *v)
{
    switch (code) {
    case ST_CODE(ST_KIND_INT, 1): { int8_t t; memcpy(&t, p, 1); *v = t; return 0; }
    case ST_CODE(ST_KIND_INT, 2): { int16_t t; memcpy(&t, p, 2); *v = t; return 0; }
    case ST_CODE(ST_KIND_INT, 4): { int32_t t; memcpy(&t, p, 4); *v = t; return 0; }
    case ST_CODE(ST_KIND_INT, 8): { int64_t t; memcpy(&t, p, 8); *v = t; return 0; }
    case ST_CODE(ST_KIND_UINT, 1): { uint8_t t; memcpy(&t, p, 1); *v = t; return 0; }
    case ST_CODE(ST_KIND_UINT, 2): { uint16_t t; memcpy(&t, p, 2); *v = t; return 0; }
    case ST_CODE(ST_KIND_UINT, 4): { uint32_t t; memcpy(&t, p, 4); *v = t; return 0; }
    case ST_CODE(ST_KIND_UINT, 8): {
        uint64_t t;
        memcpy(&t, p, 8);
        if (t > (uint64_t)INT64_MAX) return 1;
        *v = (int64_t)t;
        return 0;
    }
    default: return 1;
    }
}

/* The value of a 0-d integer tensor; 0 on success, 1 when it is not one or does not fit. */
static int st_read_scalar(const st_tensor *t, int64_t code, int64_t *v)
{
    return t->ndim != 0 || st_read_int(t->data, code, v);
}

/* -- strided loops --------------------------------------------------------------------- */

/* One row of an elementwise step: n elements, strides in bytes. */
typedef void (*st_row_fn)(int64_t n, char *dst, int64_t ds, const char *src, int64_t ss,
                          int64_t itemsize);

static void st_row_copy(int64_t n, char *dst, int64_t ds, const char *src, int64_t ss,
                        int64_t itemsize)
{
    int64_t i;
    if (ds == itemsize && ss == itemsize) {
        memcpy(dst, src, (size_t)(n * itemsize));
        return;
    }
#define ST_COPY_ROW(T)                                                                   \
    for (i = 0; i < n; i++) {                                                            \
        T t;                                                                             \
        memcpy(&t, src + i * ss, sizeof(T));                                             \
        memcpy(dst + i * ds, &t, sizeof(T));                                             \
    }                                                                                    \
    return;
    switch (itemsize) {
    case 1: ST_COPY_ROW(uint8_t)
    case 2: ST_COPY_ROW(uint16_t)
    case 4: ST_COPY_ROW(uint32_t)
    case 8: ST_COPY_ROW(uint64_t)
    default:
        for (i = 0; i < n; i++) memcpy(dst + i * ds, src + i * ss, (size_t)itemsize);
    }
#undef ST_COPY_ROW
}

/* dst += src for the dtypes of NumPy's `+=`: integers wrap (-fwrapv), bool is `or`. */
#define ST_ADD_ROW(NAME, T)                                                              \
    static void NAME(int64_t n, char *dst, int64_t ds, const char *src, int64_t ss,     \
                     int64_t itemsize)                                                  \
    {                                                                                    \
        (void)itemsize;                                                                  \
        for (int64_t i = 0; i < n; i++) {                                                \
            T a, b;                                                                      \
            memcpy(&a, dst + i * ds, sizeof(T));                                         \
            memcpy(&b, src + i * ss, sizeof(T));                                         \
            a = (T)(a + b);                                                              \
            memcpy(dst + i * ds, &a, sizeof(T));                                         \
        }                                                                                \
    }
ST_ADD_ROW(st_row_add_i8, int8_t)
ST_ADD_ROW(st_row_add_i16, int16_t)
ST_ADD_ROW(st_row_add_i32, int32_t)
ST_ADD_ROW(st_row_add_i64, int64_t)
ST_ADD_ROW(st_row_add_u8, uint8_t)
ST_ADD_ROW(st_row_add_u16, uint16_t)
ST_ADD_ROW(st_row_add_u32, uint32_t)
ST_ADD_ROW(st_row_add_u64, uint64_t)
ST_ADD_ROW(st_row_add_f32, float)
ST_ADD_ROW(st_row_add_f64, double)
#undef ST_ADD_ROW

static void st_row_or_bool(int64_t n, char *dst, int64_t ds, const char *src, int64_t ss,
                           int64_t itemsize)
{
    (void)itemsize;
    for (int64_t i = 0; i < n; i++) dst[i * ds] = (char)(dst[i * ds] | src[i * ss]);
}

static st_row_fn st_add_row_for(int64_t code)
{
    switch (code) {
    case ST_CODE(ST_KIND_INT, 1): return st_row_add_i8;
    case ST_CODE(ST_KIND_INT, 2): return st_row_add_i16;
    case ST_CODE(ST_KIND_INT, 4): return st_row_add_i32;
    case ST_CODE(ST_KIND_INT, 8): return st_row_add_i64;
    case ST_CODE(ST_KIND_UINT, 1): return st_row_add_u8;
    case ST_CODE(ST_KIND_UINT, 2): return st_row_add_u16;
    case ST_CODE(ST_KIND_UINT, 4): return st_row_add_u32;
    case ST_CODE(ST_KIND_UINT, 8): return st_row_add_u64;
    case ST_CODE(ST_KIND_FLOAT, 4): return st_row_add_f32;
    case ST_CODE(ST_KIND_FLOAT, 8): return st_row_add_f64;
    case ST_CODE(ST_KIND_BOOL, 1): return st_row_or_bool;
    default: return NULL;
    }
}

/* row(dst, src) over every element of `shape`: size-1 dimensions dropped and
 * dimensions laid out alike in both operands merged, so rows are long. */
static void st_apply_nd(int64_t ndim, const int64_t *shape, char *dst, const int64_t *dst_strides,
                        const char *src, const int64_t *src_strides, int64_t itemsize,
                        st_row_fn row)
{
    int64_t n[ST_MAX_DIMS], ds[ST_MAX_DIMS], ss[ST_MAX_DIMS], idx[ST_MAX_DIMS];
    int64_t d, m = 0;
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0) return;
        if (shape[d] == 1) continue;
        if (m > 0 && ds[m - 1] == dst_strides[d] * shape[d] &&
            ss[m - 1] == src_strides[d] * shape[d]) {
            n[m - 1] *= shape[d];
            ds[m - 1] = dst_strides[d];
            ss[m - 1] = src_strides[d];
        } else {
            n[m] = shape[d];
            ds[m] = dst_strides[d];
            ss[m] = src_strides[d];
            m++;
        }
    }
    if (m == 0) {
        row(1, dst, itemsize, src, itemsize, itemsize);
        return;
    }
    for (d = 0; d < m; d++) idx[d] = 0;
    for (;;) {
        row(n[m - 1], dst, ds[m - 1], src, ss[m - 1], itemsize);
        for (d = m - 2; d >= 0; d--) {   /* the odometer over the outer dimensions */
            dst += ds[d];
            src += ss[d];
            if (++idx[d] < n[d]) break;
            dst -= ds[d] * n[d];
            src -= ss[d] * n[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

/* The C-contiguous strides of `shape`. */
static void st_c_strides(int64_t ndim, const int64_t *shape, int64_t itemsize, int64_t *strides)
{
    int64_t s = itemsize;
    for (int64_t d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d] > 0 ? shape[d] : 1;
    }
}

/* The number of elements of `shape` (all >= 0); 1 when it would overflow. */
static int st_size(int64_t ndim, const int64_t *shape, int64_t itemsize, int64_t *size)
{
    int64_t n = 1, bytes;
    for (int64_t d = 0; d < ndim; d++)
        if (__builtin_mul_overflow(n, shape[d], &n)) return 1;
    if (__builtin_mul_overflow(n, itemsize, &bytes)) return 1;
    *size = n;
    return 0;
}

/* -- DimShuffle: [itemsize, input ndim, output ndim, order... (-1: a new axis)] ---------- */

int st_dimshuffle(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (n_in != 1 || ctx->n_params < 3) return ST_FALLBACK;
    const int64_t itemsize = p[0], in_ndim = p[1], ndim = p[2];
    const int64_t *order = p + 3;
    uint64_t kept = 0;
    st_tensor v;
    int64_t d;
    if (ctx->n_params != 3 + ndim || in[0].ndim != in_ndim || ndim > ST_MAX_DIMS)
        return ST_FALLBACK;
    for (d = 0; d < ndim; d++)
        if (order[d] >= 0) kept |= (uint64_t)1 << order[d];
    for (d = 0; d < in_ndim; d++)
        if (!((kept >> d) & 1) && in[0].shape[d] != 1) return ST_FALLBACK;  /* dropped, not 1 */
    v.data = in[0].data;
    v.ndim = ndim;
    for (d = ndim - 1; d >= 0; d--) {
        if (order[d] >= 0) {
            v.shape[d] = in[0].shape[order[d]];
            v.strides[d] = in[0].strides[order[d]];
        } else {   /* a new axis: the stride a reshape gives it */
            v.shape[d] = 1;
            v.strides[d] = d + 1 < ndim ? v.strides[d + 1] * v.shape[d + 1] : itemsize;
        }
    }
    (void)out;
    return ctx->view(ctx, 0, 0, &v) ? ST_ERROR : ST_OK;
}

/* -- Reshape: [itemsize, output ndim, dtype code of the shape vector] -------------------- */

/* The strides of x seen with shape `shape` (same size > 0, size-1 dims of x
 * ignored) without copying, when its layout allows it: 0, else 1. */
static int st_reshape_strides(const st_tensor *x, int64_t ndim, const int64_t *shape,
                              int64_t itemsize, int64_t *strides)
{
    int64_t os[ST_MAX_DIMS], ost[ST_MAX_DIMS], no = 0, i = 0, j = 0, d;
    for (d = 0; d < x->ndim; d++) {
        if (x->shape[d] == 1) continue;
        os[no] = x->shape[d];
        ost[no++] = x->strides[d];
    }
    /* walk both shapes in groups of equal products; a group of x must be one
     * evenly strided run of memory */
    while (i < no && j < ndim) {
        int64_t i0 = i, j0 = j, po = os[i], pn = shape[j];
        while (po != pn) {
            if (po < pn) po *= os[++i];
            else pn *= shape[++j];
        }
        for (d = i0; d < i; d++)
            if (ost[d] != ost[d + 1] * os[d + 1]) return 1;
        strides[j] = ost[i];
        for (d = j; d > j0; d--) strides[d - 1] = strides[d] * shape[d];
        i++;
        j++;
    }
    for (; j < ndim; j++) strides[j] = 0;   /* trailing size-1 dims, fixed below */
    for (d = ndim - 1; d >= 0; d--)
        if (shape[d] == 1) strides[d] = d + 1 < ndim ? strides[d + 1] * shape[d + 1] : itemsize;
    return 0;
}

int st_reshape(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (n_in != 2 || ctx->n_params != 3) return ST_FALLBACK;
    const int64_t itemsize = p[0], ndim = p[1], code = p[2];
    const st_tensor *x = &in[0], *shp = &in[1];
    int64_t shape[ST_MAX_DIMS], strides[ST_MAX_DIMS], x_strides[ST_MAX_DIMS];
    int64_t d, free_dim = -1, known = 1, size, new_size;
    if (ndim > ST_MAX_DIMS || shp->ndim != 1 || shp->shape[0] != ndim) return ST_FALLBACK;
    for (d = 0; d < ndim; d++) {
        if (st_read_int(shp->data + d * shp->strides[0], code, &shape[d])) return ST_FALLBACK;
        if (shape[d] == -1 && free_dim < 0) {
            free_dim = d;
            continue;
        }
        if (shape[d] < 0 || __builtin_mul_overflow(known, shape[d], &known)) return ST_FALLBACK;
    }
    if (st_size(x->ndim, x->shape, itemsize, &size)) return ST_FALLBACK;
    if (free_dim >= 0) {
        if (known == 0 || size % known) return ST_FALLBACK;   /* NumPy's error */
        shape[free_dim] = size / known;
    }
    if (st_size(ndim, shape, itemsize, &new_size) || new_size != size) return ST_FALLBACK;
    st_tensor v;
    v.ndim = ndim;
    for (d = 0; d < ndim; d++) v.shape[d] = shape[d];
    if (size == 0) {   /* empty arrays are contiguous: a view */
        st_c_strides(ndim, shape, itemsize, v.strides);
        v.data = x->data;
        return ctx->view(ctx, 0, 0, &v) ? ST_ERROR : ST_OK;
    }
    if (!st_reshape_strides(x, ndim, shape, itemsize, strides)) {
        memcpy(v.strides, strides, sizeof(int64_t) * ndim);
        v.data = x->data;
        return ctx->view(ctx, 0, 0, &v) ? ST_ERROR : ST_OK;
    }
    /* a copy in C order: x's elements, in its own shape, into a contiguous buffer */
    if (ctx->alloc(ctx, 0, ndim, shape, out)) return ST_ERROR;
    st_c_strides(x->ndim, x->shape, itemsize, x_strides);
    st_apply_nd(x->ndim, x->shape, out->data, x_strides, x->data, x->strides, itemsize,
                st_row_copy);
    (void)out;
    return ST_OK;
}

/* -- basic indexing ---------------------------------------------------------------------
 * An index is described in params as
 *     [number of index inputs k, their dtype codes (k), number of entries, entries...]
 * with entries
 *     0                    a new axis
 *     1 value              a constant integer
 *     2                    an integer scalar input (the next one)
 *     3 (tag value) * 3    a slice: start, stop, step; tag 0 None, 1 constant, 2 input
 * Index inputs follow the indexed (and written) tensors, in order. */

/* Python's slice.indices for a dimension of size n: first element and length. */
static int st_slice(int64_t n, int has_start, int64_t start, int has_stop, int64_t stop,
                    int64_t step, int64_t *first, int64_t *len)
{
    if (step == 0 || step == INT64_MIN) return 1;
    if (step > 0) {
        start = !has_start ? 0 : start < 0 ? (start + n < 0 ? 0 : start + n) : (start > n ? n : start);
        stop = !has_stop ? n : stop < 0 ? (stop + n < 0 ? 0 : stop + n) : (stop > n ? n : stop);
        *len = stop > start ? (stop - start - 1) / step + 1 : 0;
    } else {
        start = !has_start ? n - 1
                : start < 0 ? (start + n < 0 ? -1 : start + n) : (start >= n ? n - 1 : start);
        stop = !has_stop ? -1
               : stop < 0 ? (stop + n < 0 ? -1 : stop + n) : (stop >= n ? n - 1 : stop);
        *len = start > stop ? (start - stop - 1) / (-step) + 1 : 0;
    }
    *first = *len > 0 ? start : 0;   /* an empty view points at the data */
    return 0;
}

/* The view base[index] into *v; params p start at the index description. 0 on
 * success, 1 when the reference must handle the call (an error). */
static int st_index_view(const st_tensor *base, const int64_t *p, int64_t n_p,
                         const st_tensor *idx, int64_t n_idx, st_tensor *v)
{
    if (n_p < 1 || p[0] != n_idx || n_p < 2 + n_idx) return 1;
    const int64_t *codes = p + 1, *e = p + 2 + n_idx, *end = p + n_p;
    int64_t n_entries = p[1 + n_idx], next = 0, dim = 0, k;
    char *data = base->data;
    v->ndim = 0;
    for (k = 0; k < n_entries; k++) {
        if (e >= end) return 1;
        const int64_t kind = *e++;
        if (kind == 0) {   /* new axis */
            if (v->ndim >= ST_MAX_DIMS) return 1;
            v->shape[v->ndim] = 1;
            v->strides[v->ndim++] = 0;   /* as NumPy's x[None] */
            continue;
        }
        if (dim >= base->ndim) return 1;
        const int64_t n = base->shape[dim], stride = base->strides[dim];
        if (kind == 1 || kind == 2) {   /* an integer */
            int64_t i;
            if (kind == 1) {
                if (e >= end) return 1;
                i = *e++;
            } else if (next >= n_idx || st_read_scalar(&idx[next], codes[next], &i)) {
                return 1;
            } else {
                next++;
            }
            if (i < -n || i >= n) return 1;   /* IndexError */
            data += (i < 0 ? i + n : i) * stride;
            dim++;
            continue;
        }
        if (kind != 3 || end - e < 6) return 1;
        int64_t part[3];
        int has[3];
        for (int j = 0; j < 3; j++, e += 2) {
            has[j] = e[0] != 0;
            part[j] = e[1];
            if (e[0] == 2) {
                if (next >= n_idx || st_read_scalar(&idx[next], codes[next], &part[j])) return 1;
                next++;
            }
        }
        int64_t first, len, step = has[2] ? part[2] : 1;
        if (st_slice(n, has[0], part[0], has[1], part[1], step, &first, &len)) return 1;
        if (v->ndim >= ST_MAX_DIMS) return 1;
        data += first * stride;
        v->shape[v->ndim] = len;
        v->strides[v->ndim++] = stride * step;
        dim++;
    }
    if (next != n_idx || v->ndim + base->ndim - dim > ST_MAX_DIMS) return 1;
    for (; dim < base->ndim; dim++) {
        v->shape[v->ndim] = base->shape[dim];
        v->strides[v->ndim++] = base->strides[dim];
    }
    v->data = data;
    return 0;
}

/* Subtensor: [itemsize, output ndim, index...]; inputs x, index inputs. */
int st_subtensor(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    st_tensor v;
    if (n_in < 1 || ctx->n_params < 3) return ST_FALLBACK;
    const int64_t itemsize = p[0], ndim = p[1];
    if (st_index_view(&in[0], p + 2, ctx->n_params - 2, in + 1, n_in - 1, &v) || v.ndim != ndim)
        return ST_FALLBACK;
    if (ndim == 0) {   /* NumPy gives a scalar, which perform turns into a new 0-d array */
        if (ctx->alloc(ctx, 0, 0, v.shape, out)) return ST_ERROR;
        memcpy(out->data, v.data, (size_t)itemsize);
        return ST_OK;
    }
    return ctx->view(ctx, 0, 0, &v) ? ST_ERROR : ST_OK;
}

/* IncSubtensor: [itemsize, set (1) or increment (0), dtype code, bit d set: the value
 * declared broadcastable in dimension d, index...]; inputs x, value, index inputs. */
int st_inc_subtensor(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    st_tensor target;
    int64_t ys[ST_MAX_DIMS], d;
    if (n_in < 2 || ctx->n_params < 5) return ST_FALLBACK;
    const int64_t itemsize = p[0], set = p[1], code = p[2], mask = p[3];
    const st_tensor *x = &in[0], *y = &in[1];
    const st_row_fn row = set ? st_row_copy : st_add_row_for(code);
    if (row == NULL) return ST_FALLBACK;
    /* the checks first, on x: the index, then the value's shape */
    if (st_index_view(x, p + 4, ctx->n_params - 4, in + 2, n_in - 2, &target)) return ST_FALLBACK;
    const int64_t off = target.ndim - y->ndim;
    if (off < 0) return ST_FALLBACK;
    for (d = 0; d < off; d++) ys[d] = 0;
    for (d = 0; d < y->ndim; d++) {
        if (y->shape[d] == target.shape[off + d]) ys[off + d] = y->strides[d];
        else if (y->shape[d] == 1 && ((mask >> d) & 1)) ys[off + d] = 0;
        else return ST_FALLBACK;
    }
    if (ctx->alloc(ctx, 0, x->ndim, x->shape, out)) return ST_ERROR;
    st_apply_nd(x->ndim, x->shape, out->data, out->strides, x->data, x->strides, itemsize,
                st_row_copy);
    if (st_index_view(out, p + 4, ctx->n_params - 4, in + 2, n_in - 2, &target)) return ST_FALLBACK;
    st_apply_nd(target.ndim, target.shape, target.data, target.strides, y->data, ys, itemsize,
                row);
    return ST_OK;
}

/* -- shapes as values ---------------------------------------------------------------------- */

/* Shape: no params; an int64 vector. */
int st_shape(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    if (n_in != 1) return ST_FALLBACK;
    const int64_t n = in[0].ndim;
    if (ctx->alloc(ctx, 0, 1, &n, out)) return ST_ERROR;
    for (int64_t d = 0; d < n; d++) memcpy(out->data + d * out->strides[0], &in[0].shape[d], 8);
    return ST_OK;
}

/* Shape_i: [i]; an int64 scalar. */
int st_shape_i(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    if (n_in != 1 || ctx->n_params != 1 || ctx->params[0] < 0 || ctx->params[0] >= in[0].ndim)
        return ST_FALLBACK;
    if (ctx->alloc(ctx, 0, 0, NULL, out)) return ST_ERROR;
    memcpy(out->data, &in[0].shape[ctx->params[0]], 8);
    return ST_OK;
}

/* MakeVector: [itemsize]; scalars of the output's dtype into a vector. */
int st_make_vector(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    if (ctx->n_params != 1) return ST_FALLBACK;
    const int64_t itemsize = ctx->params[0];
    for (int64_t k = 0; k < n_in; k++)
        if (in[k].ndim != 0) return ST_FALLBACK;
    if (ctx->alloc(ctx, 0, 1, &n_in, out)) return ST_ERROR;
    for (int64_t k = 0; k < n_in; k++)
        memcpy(out->data + k * itemsize, in[k].data, (size_t)itemsize);
    return ST_OK;
}

/* SpecifyShape: [ndim, size per dimension or -1]; the input itself, once checked. */
int st_specify_shape(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (n_in != 1 || ctx->n_params < 1 || p[0] != in[0].ndim || ctx->n_params != 1 + p[0])
        return ST_FALLBACK;
    for (int64_t d = 0; d < p[0]; d++)
        if (p[1 + d] >= 0 && in[0].shape[d] != p[1 + d]) return ST_FALLBACK;
    return ctx->reuse(ctx, 0, 0, out) ? ST_ERROR : ST_OK;
}

/* CheckShape: [number of checked dimensions, then (dimension, dtype code of its size)
 * per checked dimension]; the input itself, once its sizes match. */
int st_check_shape(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (ctx->n_params < 1 || n_in != 1 + p[0] || ctx->n_params != 1 + 2 * p[0])
        return ST_FALLBACK;
    for (int64_t k = 0; k < p[0]; k++) {
        const int64_t d = p[1 + 2 * k];
        int64_t size;
        if (d < 0 || d >= in[0].ndim || st_read_scalar(&in[1 + k], p[2 + 2 * k], &size)
            || in[0].shape[d] != size)
            return ST_FALLBACK;
    }
    return ctx->reuse(ctx, 0, 0, out) ? ST_ERROR : ST_OK;
}

/* -- new arrays from old ones -------------------------------------------------------------- */

/* Alloc: [itemsize, output ndim, bit d set: the value declared broadcastable in
 * dimension d, dtype code of each size input]; inputs value, sizes. */
int st_alloc(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (ctx->n_params < 3) return ST_FALLBACK;
    const int64_t itemsize = p[0], ndim = p[1], mask = p[2];
    const st_tensor *value = &in[0];
    int64_t shape[ST_MAX_DIMS], vs[ST_MAX_DIMS], d, size;
    if (ndim > ST_MAX_DIMS || n_in != 1 + ndim || ctx->n_params != 3 + ndim) return ST_FALLBACK;
    for (d = 0; d < ndim; d++)
        if (st_read_scalar(&in[1 + d], p[3 + d], &shape[d]) || shape[d] < 0) return ST_FALLBACK;
    if (st_size(ndim, shape, itemsize, &size)) return ST_FALLBACK;
    const int64_t off = ndim - value->ndim;
    if (off < 0) return ST_FALLBACK;
    for (d = 0; d < off; d++) vs[d] = 0;
    for (d = 0; d < value->ndim; d++) {
        if (value->shape[d] == shape[off + d]) vs[off + d] = value->strides[d];
        else if (value->shape[d] == 1 && ((mask >> d) & 1)) vs[off + d] = 0;
        else return ST_FALLBACK;
    }
    if (ctx->alloc(ctx, 0, ndim, shape, out)) return ST_ERROR;
    if (size == 0) return ST_OK;
    int single = 1;
    for (d = 0; d < value->ndim; d++) single &= value->shape[d] == 1;
    if (single) {   /* one value everywhere: zeros are a memset */
        int zero = 1;
        for (d = 0; d < itemsize; d++) zero &= value->data[d] == 0;
        if (zero) {
            memset(out->data, 0, (size_t)(size * itemsize));
            return ST_OK;
        }
    }
    st_apply_nd(ndim, shape, out->data, out->strides, value->data, vs, itemsize, st_row_copy);
    return ST_OK;
}

/* Join: [itemsize, ndim, axis]; inputs of the output's dtype, joined along axis. */
int st_join(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params;
    if (n_in < 1 || ctx->n_params != 3) return ST_FALLBACK;
    const int64_t itemsize = p[0], ndim = p[1], axis = p[2];
    int64_t shape[ST_MAX_DIMS], d, k, size;
    if (ndim < 1 || ndim > ST_MAX_DIMS || axis < 0 || axis >= ndim) return ST_FALLBACK;
    for (d = 0; d < ndim; d++) shape[d] = in[0].shape[d];
    shape[axis] = 0;
    for (k = 0; k < n_in; k++) {
        if (in[k].ndim != ndim) return ST_FALLBACK;
        for (d = 0; d < ndim; d++)
            if (d != axis && in[k].shape[d] != shape[d]) return ST_FALLBACK;
        if (__builtin_add_overflow(shape[axis], in[k].shape[axis], &shape[axis]))
            return ST_FALLBACK;
    }
    if (st_size(ndim, shape, itemsize, &size)) return ST_FALLBACK;
    if (ctx->alloc(ctx, 0, ndim, shape, out)) return ST_ERROR;
    char *dst = out->data;
    for (k = 0; k < n_in; k++) {
        st_apply_nd(ndim, in[k].shape, dst, out->strides, in[k].data, in[k].strides, itemsize,
                    st_row_copy);
        dst += in[k].shape[axis] * out->strides[axis];
    }
    return ST_OK;
}

#endif /* SYMTHEANO_SHAPE_NODE_H */
