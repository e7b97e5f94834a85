/* symtheano's reduction kernel: the loops shared by every reduction. A generated
 * kernel (codegen/c/reduce.py) says what is reduced and then includes this file,
 * which defines the kernel function itself:
 *
 *   ST_N_IN          number of input operands
 *   ST_REDUCE        ST_SUM, ST_PROD, ST_MAX, ST_MIN, ST_ALL, ST_ANY, ST_ARGMAX or ST_ARGMIN
 *   st_val           C type of the reduced value (a Composite's result or the input)
 *   st_acc           C type of the result of sum and prod, which accumulate in it (as
 *                    numpy.sum(x, dtype=out_dtype) does)
 *   st_item[k]       byte size of input k's elements
 *   st_elem(p, st, i, contig)
 *                    the value at position i of a line: operand k's line starts at p[k]
 *                    with byte stride st[k] (contig: every st[k] is st_item[k])
 *
 *   void st_reduce(int64_t n_outer, int64_t n_inner, int64_t tiles, const int64_t *shape,
 *                  char **data, const int64_t *strides);
 *
 * Dimensions d < n_outer are output dimensions, the n_inner >= 1 after them are
 * reduced; operand k (inputs, then the output) starts at data[k] with byte stride
 * strides[k * ndim + d] in dimension d (the output's strides along reduced
 * dimensions are not used). Empty arrays are never passed. Two loop orders:
 *
 *   rows  (tiles == 0): for each output element, walk its reduced positions as rows
 *         (the last dimension), in C order.
 *   tiles (tiles != 0): the last output dimension moves fastest in memory (a sum over
 *         axis 0 of a C-ordered matrix): blocks of up to ST_BLOCK neighbouring output
 *         elements are reduced together, reading a contiguous segment at every reduced
 *         position (visited in C order), as NumPy's `out += row` loop does; the
 *         block's state (its lanes) lives on the heap.
 *
 * Sums are pairwise, and equal numpy.sum bit for bit wherever NumPy sums whole rows:
 * a row is summed as NumPy's pairwise_sum does (8 interleaved partial sums over
 * leaves of at most ST_LEAF values, longer rows split in halves), and row sums (or
 * the values of a column, in tiles) are added one after the other as NumPy does, but
 * only ST_LEAF of them: such leaves then go to a binary counter (level j holds the
 * sum of 2^j leaves), so the error grows as log2 of the number of terms even along a
 * column or over many short rows, where NumPy's grows linearly. Products multiply one
 * after the other in the order given (reduce_node.h gives NumPy's), so intermediate
 * overflow to inf or underflow to 0 happens as there. max/min propagate NaN (a NaN
 * from the data); argmax/argmin return the first index of the extremum in C order, or
 * of the first NaN. Vectors are GCC/Clang vector extensions (16 bytes, 32 where AVX is
 * enabled); no -ffast-math is needed.
 */
#ifndef SYMTHEANO_REDUCE_H
#define SYMTHEANO_REDUCE_H

#include <stdlib.h>

/* Wide vector arguments are passed between inlined functions only. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define ST_SUM 1
#define ST_PROD 2
#define ST_MAX 3
#define ST_MIN 4
#define ST_ALL 5
#define ST_ANY 6
#define ST_ARGMAX 7
#define ST_ARGMIN 8

#define ST_LEAF 128
#define ST_BLOCK 2048  /* output elements reduced together in tiles */
#define ST_INLINE static inline __attribute__((always_inline))

#if ST_REDUCE == ST_SUM || ST_REDUCE == ST_PROD
typedef st_acc st_lane;
typedef st_acc st_out;
#elif ST_REDUCE == ST_ALL || ST_REDUCE == ST_ANY
typedef st_val st_lane;
typedef st_bool st_out;
#elif ST_REDUCE == ST_ARGMAX || ST_REDUCE == ST_ARGMIN
typedef st_val st_lane;
typedef int64_t st_out;
#else
typedef st_val st_lane;
typedef st_val st_out;
#endif

/* -- st_vec: ST_LANES lanes (8, or more for narrow integers) in ST_NV hardware vectors
 *    of ST_VBYTES bytes ------------------------------------------------------------- */
#if defined(__AVX__)
#define ST_VBYTES 32
#else
#define ST_VBYTES 16
#endif
typedef st_lane st_hv __attribute__((vector_size(ST_VBYTES)));
typedef __typeof__((st_hv){0} > (st_hv){0}) st_hm;
enum {
    ST_HL = (int)(sizeof(st_hv) / sizeof(st_lane)),
    ST_LANES = ST_HL > 8 ? ST_HL : 8,
    ST_NV = ST_LANES / ST_HL
};
typedef struct { st_hv v[ST_NV]; } st_vec;
typedef struct { st_hm v[ST_NV]; } st_mask;
#define ST_LANE(x, l) ((x).v[(l) / ST_HL][(l) % ST_HL])
#define ST_LANE_IS_FLOAT ((st_lane)0.5 != 0)
#define ST_EACH(j) for (j = 0; j < ST_NV; j++)

ST_INLINE st_vec st_vadd(st_vec a, st_vec b) { int j; ST_EACH(j) a.v[j] += b.v[j]; return a; }
ST_INLINE st_vec st_vmul(st_vec a, st_vec b) { int j; ST_EACH(j) a.v[j] *= b.v[j]; return a; }
ST_INLINE st_vec st_splat(st_lane x)
{
    st_vec a;
    int j;
    ST_EACH(j) a.v[j] = (st_hv){0} + x;
    return a;
}
ST_INLINE st_mask st_isnan(st_vec a)
{
    st_mask m;
    int j;
    ST_EACH(j) m.v[j] = a.v[j] != a.v[j];
    return m;
}
ST_INLINE st_mask st_mor(st_mask a, st_mask b) { int j; ST_EACH(j) a.v[j] |= b.v[j]; return a; }

ST_INLINE int st_any_lane(st_mask m)
{
    st_hm any = m.v[0];
    int j, l, found = 0;
    for (j = 1; j < ST_NV; j++) any |= m.v[j];
    for (l = 0; l < ST_HL; l++) found |= any[l] != 0;
    return found;
}

/* lanes of a where m is set, of b elsewhere */
ST_INLINE st_vec st_select(st_mask m, st_vec a, st_vec b)
{
    int j;
    ST_EACH(j) a.v[j] = (st_hv)(((st_hm)a.v[j] & m.v[j]) | ((st_hm)b.v[j] & ~m.v[j]));
    return a;
}

/* ST_LANES values of a line from position i. Only contiguous loads are unrolled (the
 * compiler makes vector loads of them); a strided load stays a loop, which keeps the
 * number of inlined copies of st_elem, and so the compile time, small. */
ST_INLINE st_vec st_load(char *const *p, const int64_t *st, int64_t i, const int contig)
{
    st_vec v;
    int l;
    if (contig) {
        for (l = 0; l < ST_LANES; l++) ST_LANE(v, l) = (st_lane)st_elem(p, st, i + l, 1);
    } else {
#pragma GCC unroll 1
        for (l = 0; l < ST_LANES; l++) ST_LANE(v, l) = (st_lane)st_elem(p, st, i + l, 0);
    }
    return v;
}

/* w < ST_LANES values of a line from position i; the other lanes repeat the last */
ST_INLINE st_vec st_load_part(char *const *p, const int64_t *st, int64_t i, int64_t w)
{
    st_vec v;
    int l;
#pragma GCC unroll 1
    for (l = 0; l < ST_LANES; l++)
        ST_LANE(v, l) = (st_lane)st_elem(p, st, i + (l < w ? l : w - 1), 0);
    return v;
}

#include "reduce_kinds.h"

/* rows: reduce the reduced dimensions [n_outer, ndim), rows of the last one, into s */
static void st_reduce_rows(st_state *s, char **p, int64_t n_outer, int64_t ndim,
                           const int64_t *shape, const int64_t *strides, const int64_t *st,
                           int contig)
{
    int64_t idx[ST_MAX_DIMS] = {0};
    const int64_t row = shape[ndim - 1];
    int64_t d, k;
    for (;;) {
        if (st_row(s, p, st, row, contig)) return;
        for (d = ndim - 2; d >= n_outer; d--) {
            for (k = 0; k < ST_N_IN; k++) p[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k < ST_N_IN; k++) p[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
        if (d < n_outer) return;
    }
}

#ifdef ST_TILE_SUSPECT
/* the first NaN of lane `lane` of a block (reduced positions in C order), or `best` */
static st_val st_first_nan(char *const *p, int64_t lane, int64_t n_outer, int64_t ndim,
                           const int64_t *shape, const int64_t *strides, const int64_t *tst,
                           st_val best)
{
    int64_t idx[ST_MAX_DIMS] = {0}, d, k;
    char *q[ST_N_IN];
    for (k = 0; k < ST_N_IN; k++) q[k] = p[k];
    for (;;) {
        const st_val v = st_elem(q, tst, lane, 0);
        if (v != v) return v;
        for (d = ndim - 1; d >= n_outer; d--) {
            for (k = 0; k < ST_N_IN; k++) q[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k < ST_N_IN; k++) q[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
        if (d < n_outer) return best;
    }
}
#endif

/* tiles: the values at reduced position pos into lane vectors [from, ...) of the block,
 * strided or partial loads; not inlined, as is the first position */
static __attribute__((noinline)) void st_tile_slow(st_tile *t, char *const *q,
                                                   const int64_t *tst, int64_t from, int64_t w,
                                                   int64_t pos)
{
    int64_t b;
    for (b = from; b < w / ST_LANES; b++)
        st_tile_add(t, b, st_load(q, tst, b * ST_LANES, 0), pos, pos == 0);
    if (w % ST_LANES)
        st_tile_add(t, b, st_load_part(q, tst, b * ST_LANES, w % ST_LANES), pos, pos == 0);
}

/* tiles: reduce a block of w output elements, neighbours along the last output
 * dimension (input byte strides tst, output stride ost from out), over every reduced
 * position in C order: the rows of the reduced positions are read one after the other */
static void st_reduce_tile(st_tile *t, char **p, int64_t w, int64_t n_outer, int64_t ndim,
                           const int64_t *shape, const int64_t *strides, const int64_t *tst,
                           int contig, char *out, int64_t ost)
{
    int64_t idx[ST_MAX_DIMS] = {0}, d, k, j, b, pos = 0;
    const int64_t n = shape[ndim - 1], full = w / ST_LANES;
    char *q[ST_N_IN];
    for (;;) {
        for (j = 0; j < n; j++, pos++) {
            for (k = 0; k < ST_N_IN; k++) q[k] = p[k] + j * strides[k * ndim + ndim - 1];
            if (contig && pos) {
                for (b = 0; b < full; b++)
                    st_tile_add(t, b, st_load(q, tst, b * ST_LANES, 1), pos, 0);
                if (full * ST_LANES < w) st_tile_slow(t, q, tst, full, w, pos);
            } else {
                st_tile_slow(t, q, tst, 0, w, pos);
            }
            st_tile_next(t);
        }
        for (d = ndim - 2; d >= n_outer; d--) {
            for (k = 0; k < ST_N_IN; k++) p[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k < ST_N_IN; k++) p[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
        if (d < n_outer) break;
    }
    st_tile_finish(t);
    for (j = 0; j < w; j++) {
        st_out r = st_tile_result(t, j);
#ifdef ST_TILE_SUSPECT
        if (ST_TILE_SUSPECT(t, j)) r = st_first_nan(p, j, n_outer, ndim, shape, strides, tst, r);
#endif
        *(st_out *)(out + j * ost) = r;
    }
}

void st_reduce(int64_t n_outer, int64_t n_inner, int64_t tiles, const int64_t *shape,
               char **data, const int64_t *strides)
{
    const int64_t ndim = n_outer + n_inner;
    int64_t idx[ST_MAX_DIMS] = {0}, st[ST_N_IN], d, k, last, positions = 1, block = 0;
    char *base[ST_N_IN + 1], *p[ST_N_IN];
    void *memory = NULL;
    int contig = 1;
    if (n_inner < 1 || n_outer < 0 || ndim > ST_MAX_DIMS) return;
    for (d = 0; d < ndim; d++) if (shape[d] <= 0) return;
    for (d = n_outer; d < ndim; d++) positions *= shape[d];
    if (n_outer < 1) tiles = 0;
    if (tiles) {  /* blocks of up to ST_BLOCK lanes, their state on the heap */
        block = shape[n_outer - 1] < ST_BLOCK ? shape[n_outer - 1] : ST_BLOCK;
        size_t bytes = st_tile_bytes((block + ST_LANES - 1) / ST_LANES, positions);
        memory = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!memory) tiles = 0;  /* rows need no memory */
    }
    last = tiles ? n_outer - 1 : ndim - 1;  /* the dimension vectors are loaded along */
    for (k = 0; k < ST_N_IN; k++) {
        st[k] = strides[k * ndim + last];
        if (st[k] != st_item[k]) contig = 0;
    }
    for (k = 0; k <= ST_N_IN; k++) base[k] = data[k];
    for (;;) {
        if (tiles) {
            const int64_t width = shape[last], ost = strides[ST_N_IN * ndim + last];
            int64_t i;
            for (i = 0; i < width; i += block) {
                const int64_t w = width - i < block ? width - i : block;
                st_tile t;
                for (k = 0; k < ST_N_IN; k++) p[k] = base[k] + i * st[k];
                st_tile_start(&t, memory, (w + ST_LANES - 1) / ST_LANES, positions);
                st_reduce_tile(&t, p, w, n_outer, ndim, shape, strides, st, contig,
                               base[ST_N_IN] + i * ost, ost);
            }
        } else {
            st_state s;
            st_start(&s);
            for (k = 0; k < ST_N_IN; k++) p[k] = base[k];
            st_reduce_rows(&s, p, n_outer, ndim, shape, strides, st, contig);
            *(st_out *)base[ST_N_IN] = st_finish(&s);
        }
        for (d = (tiles ? n_outer - 2 : n_outer - 1); d >= 0; d--) {
            for (k = 0; k <= ST_N_IN; k++) base[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k <= ST_N_IN; k++) base[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
        if (d < 0) break;
    }
    free(memory);
}

#endif /* SYMTHEANO_REDUCE_H */
