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
 *   ST_PAR_MIN       the number of values reduced from which a call is split across
 *                    OpenMP threads (st_threads.h)
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
 * of the first NaN.
 *
 * Threads never change a result. Several output elements (or tiles' blocks) are split
 * between threads, each reduced whole by one thread as it would be alone; a single sum
 * of one row (a whole contiguous array) cuts the pairwise tree near its root and adds
 * the parts' sums back along the same tree. Other single-output reductions (products,
 * extrema, several rows) run on one thread.
 *
 * Vectors are GCC/Clang vector extensions (16 bytes, 32 where AVX is
 * enabled); no -ffast-math is needed.
 */
#ifndef SYMTHEANO_REDUCE_H
#define SYMTHEANO_REDUCE_H

#include <stdlib.h>

#include "st_threads.h"

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

/* The outer loop's units [a, b), in order: unit u is output element u in C order
 * (rows), or block u % n_blocks of output line u / n_blocks (tiles: a line is the
 * last output dimension, cut into blocks of `block` elements). Each unit is reduced
 * alone, so units may be reduced on any thread in any order with the same results.
 * Not inlined: the serial and the threaded call share one copy (compile time). */
static __attribute__((noinline)) void st_reduce_units(int64_t a, int64_t b, int64_t n_outer, int64_t ndim, int64_t tiles,
                            int64_t block, int64_t n_blocks, const int64_t *shape,
                            char **data, const int64_t *strides, const int64_t *st,
                            int contig, void *memory, int64_t positions)
{
    const int64_t lines = tiles ? n_outer - 1 : n_outer;  /* dimensions that index units */
    int64_t idx[ST_MAX_DIMS], d, k, u = a, blk = tiles ? a % n_blocks : 0;
    int64_t rest = tiles ? a / n_blocks : a;
    char *base[ST_N_IN + 1], *p[ST_N_IN];
    for (d = lines - 1; d >= 0; d--) {
        idx[d] = rest % shape[d];
        rest /= shape[d];
    }
    for (k = 0; k <= ST_N_IN; k++) {
        base[k] = data[k];
        for (d = 0; d < lines; d++) base[k] += idx[d] * strides[k * ndim + d];
    }
    while (u < b) {
        if (tiles) {
            const int64_t last = n_outer - 1, width = shape[last];
            const int64_t ost = strides[ST_N_IN * ndim + last], i = blk * block;
            const int64_t w = width - i < block ? width - i : block;
            st_tile t;
            for (k = 0; k < ST_N_IN; k++) p[k] = base[k] + i * st[k];
            st_tile_start(&t, memory, (w + ST_LANES - 1) / ST_LANES, positions);
            st_reduce_tile(&t, p, w, n_outer, ndim, shape, strides, st, contig,
                           base[ST_N_IN] + i * ost, ost);
            u++;
            if (++blk < n_blocks) continue;
            blk = 0;
        } else {
            st_state s;
            st_start(&s);
            for (k = 0; k < ST_N_IN; k++) p[k] = base[k];
            st_reduce_rows(&s, p, n_outer, ndim, shape, strides, st, contig);
            *(st_out *)base[ST_N_IN] = st_finish(&s);
            u++;
        }
        if (u >= b) break;
        for (d = lines - 1; d >= 0; d--) {
            for (k = 0; k <= ST_N_IN; k++) base[k] += strides[k * ndim + d];
            if (++idx[d] < shape[d]) break;
            for (k = 0; k <= ST_N_IN; k++) base[k] -= strides[k * ndim + d] * shape[d];
            idx[d] = 0;
        }
    }
}

#if ST_REDUCE == ST_SUM && defined(_OPENMP)
/* One long row summed on several threads: st_pairwise's tree is cut at depth
 * `depth` into subtrees (in order), summed in parallel, and the subtree sums are
 * added back along the same tree, so the result is st_pairwise's, bit for bit. */
#define ST_SPLIT_MAX 64

static int st_split(int64_t lo, int64_t n, int depth, int64_t *los, int64_t *ns, int m)
{
    int64_t half;
    if (depth == 0 || n <= ST_LEAF) {
        los[m] = lo;
        ns[m] = n;
        return m + 1;
    }
    half = n / 2;
    half -= half % 8;
    m = st_split(lo, half, depth - 1, los, ns, m);
    return st_split(lo + half, n - half, depth - 1, los, ns, m);
}

static st_acc st_join(int64_t n, int depth, const st_acc *sums, int *m)
{
    int64_t half;
    st_acc first;
    if (depth == 0 || n <= ST_LEAF) return sums[(*m)++];
    half = n / 2;
    half -= half % 8;
    first = st_join(half, depth - 1, sums, m);
    return first + st_join(n - half, depth - 1, sums, m);
}

static st_acc st_pairwise_parallel(char *const *p, const int64_t *st, int64_t n, int contig,
                                   int threads)
{
    int64_t los[ST_SPLIT_MAX], ns[ST_SPLIT_MAX];
    st_acc sums[ST_SPLIT_MAX];
    int depth = 0, pieces, m = 0;
    while ((1 << depth) < 4 * threads && (2 << depth) <= ST_SPLIT_MAX) depth++;
    pieces = st_split(0, n, depth, los, ns, 0);
#pragma omp parallel num_threads(threads)
    {
        st_note_team();
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < pieces; j++) sums[j] = st_pairwise(p, st, los[j], ns[j], contig);
    }
    return st_join(n, depth, sums, &m);
}
#endif

void st_reduce(int64_t n_outer, int64_t n_inner, int64_t tiles, const int64_t *shape,
               char **data, const int64_t *strides)
{
    const int64_t ndim = n_outer + n_inner;
    int64_t st[ST_N_IN], d, k, last, positions = 1, block = 0, n_blocks = 1, units = 1;
    size_t chunk = 0;
    void *memory = NULL;
    int contig = 1, threads;
    if (n_inner < 1 || n_outer < 0 || ndim > ST_MAX_DIMS) return;
    for (d = 0; d < ndim; d++) if (shape[d] <= 0) return;
    for (d = n_outer; d < ndim; d++) positions *= shape[d];
    for (d = 0; d < n_outer; d++) units *= shape[d];
    const int64_t outputs = units;
    if (n_outer < 1) tiles = 0;
    if (tiles) {  /* blocks of up to ST_BLOCK lanes */
        block = shape[n_outer - 1] < ST_BLOCK ? shape[n_outer - 1] : ST_BLOCK;
        n_blocks = (shape[n_outer - 1] + block - 1) / block;
        units = units / shape[n_outer - 1] * n_blocks;
    }
    last = tiles ? n_outer - 1 : ndim - 1;  /* the dimension vectors are loaded along */
    for (k = 0; k < ST_N_IN; k++) {
        st[k] = strides[k * ndim + last];
        if (st[k] != st_item[k]) contig = 0;
    }
#if ST_REDUCE == ST_SUM && defined(_OPENMP)
    if (units == 1 && n_inner == 1) {  /* one row: split its pairwise tree */
        threads = st_threads_for(positions, ST_PAR_MIN);
        st_note_threads(threads);
        if (threads > 1) {
            *(st_out *)data[ST_N_IN] = (st_acc)0 + st_pairwise_parallel(data, st, positions,
                                                                         contig, threads);
            return;
        }
    }
#endif
    /* several units: split them (each its own tile memory) */
    threads = units > 1 ? st_threads_for(outputs * positions, ST_PAR_MIN) : 1;
    if (threads > units) threads = (int)units;
    if (tiles) {  /* the blocks' state lives on the heap, one block's worth per thread */
        chunk = (st_tile_bytes((block + ST_LANES - 1) / ST_LANES, positions) + 63) / 64 * 64;
        memory = aligned_alloc(64, chunk * threads);
        if (!memory && threads > 1) {
            threads = 1;
            memory = aligned_alloc(64, chunk);
        }
        if (!memory) {  /* rows need no memory */
            tiles = 0;
            last = ndim - 1;
            n_blocks = 1;
            units = outputs;
            contig = 1;
            for (k = 0; k < ST_N_IN; k++) {
                st[k] = strides[k * ndim + last];
                if (st[k] != st_item[k]) contig = 0;
            }
        }
    }
    st_note_threads(threads);
    if (threads <= 1) {
        st_reduce_units(0, units, n_outer, ndim, tiles, block, n_blocks, shape, data, strides,
                        st, contig, memory, positions);
    }
#ifdef _OPENMP
    else {
        /* ranges of units, about 8 per thread, handed out dynamically */
        const int64_t piece = (units + 8 * threads - 1) / (8 * threads);
        const int64_t pieces = (units + piece - 1) / piece;
#pragma omp parallel num_threads(threads)
        {
            char *own = tiles ? (char *)memory + chunk * omp_get_thread_num() : NULL;
            st_note_team();
#pragma omp for schedule(dynamic, 1)
            for (int64_t j = 0; j < pieces; j++) {
                const int64_t a = j * piece, b = a + piece < units ? a + piece : units;
                st_reduce_units(a, b, n_outer, ndim, tiles, block, n_blocks, shape, data,
                                strides, st, contig, own, positions);
            }
        }
    }
#endif
    free(memory);
}

#endif /* SYMTHEANO_REDUCE_H */
