/* The loops of an elementwise kernel: the walk over the (merged) dimensions,
 * its split across OpenMP threads, and the AVX2 row loop. The generated source
 * (codegen/c/elemwise.py) says only what one element is; it defines, then
 * includes this file:
 *
 *     ST_N_IN                       the number of inputs (operand ST_N_IN is the output)
 *     st_item[ST_N_IN + 1]          each operand's item size in bytes
 *     st_row(n, p, st)              n elements of a row, scalar: operand k's first
 *                                   element at p[k], byte stride st[k]
 *     ST_PAR_MIN                    the element count from which a call is split
 *                                   across threads (scaled by the expression's cost)
 *   and, when the expression has a vector form (vecmath.h is then included):
 *     ST_VECTOR_F64 or ST_VECTOR_F32, and
 *     ST_VT st_velem(const ST_VT *in)   the expression on one vector per input
 *
 * It defines the kernel
 *
 *     void st_kernel(int64_t ndim, const int64_t *shape, char **data,
 *                    const int64_t *strides)
 *
 * (operand k at data[k], byte strides strides[k * ndim + d]); the thread count
 * comes from st_threads.h, whose entries (st_bind_threads, st_threads_used) the
 * library exports.
 *
 * Positions never change results: the iteration space is cut into ranges of
 * the flattened index (about 8 per thread, handed out dynamically), each
 * walked in C order; the vector row loop runs full vectors where every
 * operand is contiguous or broadcast (stride 0), and gathers (strided rows)
 * or pads (the tail of a row) the others into the same vector expression.
 * Each element is therefore computed by the same instructions whatever the
 * layout, the thread count or where a range starts. The vector path is
 * taken only when the CPU has AVX2 and FMA.
 */
#ifndef SYMTHEANO_ELEMWISE_LOOP_H
#define SYMTHEANO_ELEMWISE_LOOP_H

#include <stdint.h>

#include "st_threads.h"

#define ST_N_OPS (ST_N_IN + 1)
#define ST_PIECE_MIN 2048

#if defined(ST_VECTOR_F64)
#define ST_VT st_vf64
#define ST_T double
#define ST_W 4
#define ST_VLOAD st_vload_f64
#define ST_VSTORE st_vstore_f64
#elif defined(ST_VECTOR_F32)
#define ST_VT st_vf32
#define ST_T float
#define ST_W 8
#define ST_VLOAD st_vload_f32
#define ST_VSTORE st_vstore_f32
#endif

#ifdef ST_VT
/* n elements of a row through st_velem (all operands of type ST_T) */
static ST_VTARGET void st_vrow(int64_t n, char *const *p, const int64_t *st)
{
    int64_t i = 0, j, k;
    int fast = st[ST_N_IN] == (int64_t)sizeof(ST_T);
    for (k = 0; k < ST_N_IN; k++)
        fast &= st[k] == (int64_t)sizeof(ST_T) || st[k] == 0;
    if (fast) {
        /* contiguous or broadcast operands: a broadcast one is read from ST_W
         * copies of its value, with no step */
        ST_T copies[ST_N_IN][ST_W];
        const ST_T *src[ST_N_IN];
        int64_t step[ST_N_IN];
        ST_T *out = (ST_T *)p[ST_N_IN];
        for (k = 0; k < ST_N_IN; k++) {
            if (st[k] == 0) {
                for (j = 0; j < ST_W; j++) copies[k][j] = *(const ST_T *)p[k];
                src[k] = copies[k];
                step[k] = 0;
            } else {
                src[k] = (const ST_T *)p[k];
                step[k] = 1;
            }
        }
        for (; i + ST_W <= n; i += ST_W) {
            ST_VT in[ST_N_IN];
            for (k = 0; k < ST_N_IN; k++) in[k] = ST_VLOAD(src[k] + i * step[k]);
            ST_VSTORE(out + i, st_velem(in));
        }
    }
    /* strided rows, and the tail of a row (padded with zeros) */
    for (; i < n; i += ST_W) {
        const int64_t m = n - i < ST_W ? n - i : ST_W;
        ST_T buf[ST_N_IN][ST_W], res[ST_W];
        ST_VT in[ST_N_IN];
        for (k = 0; k < ST_N_IN; k++) {
            for (j = 0; j < m; j++) buf[k][j] = *(const ST_T *)(p[k] + (i + j) * st[k]);
            for (; j < ST_W; j++) buf[k][j] = 0;
            in[k] = ST_VLOAD(buf[k]);
        }
        ST_VSTORE(res, st_velem(in));
        for (j = 0; j < m; j++) *(ST_T *)(p[ST_N_IN] + (i + j) * st[ST_N_IN]) = res[j];
    }
}

static int st_vector_ok(void)
{
    static int ok = -1;
    if (ok < 0) ok = st_cpu_has_vec();
    return ok;
}
#endif /* ST_VT */

/* Elements [start, end) of the flattened iteration space, in C order. */
static void st_walk(int64_t ndim, const int64_t *shape, char **data, const int64_t *strides,
                    int64_t start, int64_t end, int vector)
{
    const int64_t inner = shape[ndim - 1];
    int64_t idx[ST_MAX_DIMS], st[ST_N_OPS];
    char *row[ST_N_OPS], *p[ST_N_OPS];
    int64_t d, k, rest = start / inner, col = start % inner;
    (void)vector;
    for (d = ndim - 2; d >= 0; d--) {
        idx[d] = rest % shape[d];
        rest /= shape[d];
    }
    for (k = 0; k < ST_N_OPS; k++) {
        st[k] = strides[k * ndim + ndim - 1];
        row[k] = data[k];
        for (d = 0; d < ndim - 1; d++) row[k] += idx[d] * strides[k * ndim + d];
    }
    while (start < end) {
        const int64_t n = inner - col < end - start ? inner - col : end - start;
        for (k = 0; k < ST_N_OPS; k++) p[k] = row[k] + col * st[k];
#ifdef ST_VT
        if (vector) st_vrow(n, p, st);
        else
#endif
            st_row(n, p, st);
        start += n;
        col = 0;
        if (start >= end) break;
        for (d = ndim - 2; d >= 0; d--) {
            for (k = 0; k < ST_N_OPS; k++) row[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k < ST_N_OPS; k++) row[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
    }
}

void st_kernel(int64_t ndim, const int64_t *shape, char **data, const int64_t *strides)
{
    int64_t d, total = 1;
    int vector = 0, threads = 1;
    if (ndim < 1 || ndim > ST_MAX_DIMS) return;
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0) return;
        total *= shape[d];
    }
#ifdef ST_VT
    vector = st_vector_ok();
#endif
    threads = st_threads_for(total, ST_PAR_MIN);
    st_note_threads(threads);
    if (threads <= 1) {
        st_walk(ndim, shape, data, strides, 0, total, vector);
        return;
    }
#ifdef _OPENMP
    {
        /* pieces of the flattened index, about 8 per thread and no smaller than
         * ST_PIECE_MIN elements, their ends on multiples of 64 elements, handed
         * out dynamically: a thread the OS runs late leaves its share to the others */
        int64_t piece = (total + 8 * threads - 1) / (8 * threads);
        if (piece < ST_PIECE_MIN) piece = ST_PIECE_MIN;
        piece = (piece + 63) & ~(int64_t)63;
        const int64_t pieces = (total + piece - 1) / piece;
#pragma omp parallel num_threads(threads)
        {
            st_note_team();
#pragma omp for schedule(dynamic, 1) nowait
            for (int64_t w = 0; w < pieces; w++) {
                const int64_t a = w * piece, b = a + piece < total ? a + piece : total;
                st_walk(ndim, shape, data, strides, a, b, vector);
            }
        }
    }
#endif
}

#endif /* SYMTHEANO_ELEMWISE_LOOP_H */
