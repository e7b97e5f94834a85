/* The reductions of symtheano's reduction kernel, included by reduce.h (which states
 * the contract with the generated code and defines the vector helpers used here).
 * Each kind defines, for one output element reduced row by row,
 *   st_state, st_start(s), st_row(s, p, st, n, contig) -> 1 once the answer is known,
 *   st_finish(s) -> the result;
 * and for a block of neighbouring output elements (lanes, in nv lane vectors) reduced
 * together, with its state in heap memory of st_tile_bytes(nv, positions) bytes,
 *   st_tile, st_tile_start(t, memory, nv, positions), st_tile_add(t, b, v, pos, first)
 *   (lane vector b, the values at reduced position pos, the first one or not),
 *   st_tile_next(t) after each position, st_tile_finish(t), st_tile_result(t, lane).
 */
#ifndef SYMTHEANO_REDUCE_KINDS_H
#define SYMTHEANO_REDUCE_KINDS_H

/* ======================================================================== */
#if ST_REDUCE == ST_SUM

/* rows: a row is summed as NumPy's pairwise_sum does; row sums are added one after
 * the other into a leaf of at most ST_LEAF terms, and full leaves go to a binary
 * counter (level j: the sum of 2^j leaves). The result is 0 + the sum, as NumPy's
 * (which starts from 0, so that an all -0.0 sum is 0.0). */
typedef struct { st_acc level[64], leaf; uint64_t count; int64_t terms; } st_state;

ST_INLINE void st_start(st_state *s) { s->count = 0; s->terms = 0; }

static void st_push(st_state *s, st_acc v)
{
    uint64_t c = s->count;
    int j = 0;
    for (; c & 1; c >>= 1, j++) v = s->level[j] + v;
    s->level[j] = v;
    s->count++;
}

static st_out st_finish(st_state *s)
{
    uint64_t c;
    st_acc total = (st_acc)0;
    int j, first = 1;
    if (s->terms) st_push(s, s->leaf);
    for (c = s->count, j = 0; c; c >>= 1, j++) {
        if (c & 1) {
            total = first ? s->level[j] : s->level[j] + total;
            first = 0;
        }
    }
    return (st_acc)0 + total;
}

/* NumPy's pairwise_sum of n <= ST_LEAF values from position lo: 8 interleaved partial
 * sums combined as a tree, then the rest one by one. The partial sums start at -0.0,
 * the identity of IEEE addition, so that n < 8 gives NumPy's -0.0 + x0 + x1 ... */
ST_INLINE st_acc st_leaf(char *const *p, const int64_t *st, int64_t lo, int64_t n,
                         const int contig)
{
    st_vec r = st_splat((st_lane)(-0.0));
    st_acc res = (st_acc)0;
    int64_t i;
    int l;
    for (i = 0; i <= n - ST_LANES; i += ST_LANES) r = st_vadd(r, st_load(p, st, lo + i, contig));
    if (ST_LANES == 8) {
        res = ((ST_LANE(r, 0) + ST_LANE(r, 1)) + (ST_LANE(r, 2) + ST_LANE(r, 3)))
              + ((ST_LANE(r, 4) + ST_LANE(r, 5)) + (ST_LANE(r, 6) + ST_LANE(r, 7)));
    } else {  /* narrow integers: every order gives the same wrapped sum */
        for (l = 0; l < ST_LANES; l++) res += ST_LANE(r, l);
    }
    for (; i < n; i++) res += (st_acc)st_elem(p, st, lo + i, contig);
    return res;
}

/* NumPy's pairwise_sum of a row: longer rows are split in two, the first part a
 * multiple of 8 long. Not inlined: one copy serves every caller, threaded ones too
 * (inlined copies of its leaves would double the compile time). */
static __attribute__((noinline)) st_acc st_pairwise(char *const *p, const int64_t *st, int64_t lo, int64_t n,
                          int contig)
{
    int64_t half;
    if (n <= ST_LEAF) return contig ? st_leaf(p, st, lo, n, 1) : st_leaf(p, st, lo, n, 0);
    half = n / 2;
    half -= half % 8;
    return st_pairwise(p, st, lo, half, contig) + st_pairwise(p, st, lo + half, n - half, contig);
}

static int st_row(st_state *s, char *const *p, const int64_t *st, int64_t n, int contig)
{
    st_acc v = st_pairwise(p, st, 0, n, contig);
    s->leaf = s->terms ? s->leaf + v : v;
    if (++s->terms == ST_LEAF) {
        st_push(s, s->leaf);
        s->terms = 0;
    }
    return 0;
}

/* tiles: lane by lane the same: leaves of ST_LEAF values (from -0.0) added in order,
 * then binary counters (level j of lane vector b at level[j * nv + b]) */
typedef struct { st_vec *leaf, *level; uint64_t count; int64_t terms, nv; } st_tile;

static int64_t st_levels(int64_t positions)
{
    uint64_t leaves = (uint64_t)(positions + ST_LEAF - 1) / ST_LEAF;
    int64_t levels = 1;
    while (leaves >> levels) levels++;
    return levels;
}

static size_t st_tile_bytes(int64_t nv, int64_t positions)
{
    return (size_t)(nv * (1 + st_levels(positions))) * sizeof(st_vec);
}

static void st_tile_clear(st_tile *t)
{
    int64_t b;
    for (b = 0; b < t->nv; b++) t->leaf[b] = st_splat((st_lane)(-0.0));
    t->terms = 0;
}

static void st_tile_start(st_tile *t, void *memory, int64_t nv, int64_t positions)
{
    (void)positions;
    t->leaf = (st_vec *)memory;
    t->level = t->leaf + nv;
    t->nv = nv;
    t->count = 0;
    st_tile_clear(t);
}

ST_INLINE void st_tile_add(st_tile *t, int64_t b, st_vec v, int64_t pos, int first)
{
    (void)pos;
    (void)first;
    t->leaf[b] = st_vadd(t->leaf[b], v);
}

static void st_tile_push(st_tile *t)
{
    uint64_t c = t->count;
    int64_t j = 0, b;
    for (; c & 1; c >>= 1, j++)
        for (b = 0; b < t->nv; b++) t->leaf[b] = st_vadd(t->level[j * t->nv + b], t->leaf[b]);
    for (b = 0; b < t->nv; b++) t->level[j * t->nv + b] = t->leaf[b];
    t->count++;
}

ST_INLINE void st_tile_next(st_tile *t)
{
    if (++t->terms == ST_LEAF) {
        st_tile_push(t);
        st_tile_clear(t);
    }
}

/* the totals, into leaf */
static void st_tile_finish(st_tile *t)
{
    uint64_t c;
    int64_t j, b;
    int first = 1;
    if (t->terms) st_tile_push(t);
    for (c = t->count, j = 0; c; c >>= 1, j++) {
        if (!(c & 1)) continue;
        for (b = 0; b < t->nv; b++)
            t->leaf[b] = first ? t->level[j * t->nv + b]
                               : st_vadd(t->level[j * t->nv + b], t->leaf[b]);
        first = 0;
    }
}

ST_INLINE st_out st_tile_result(st_tile *t, int64_t k)
{
    return (st_acc)0 + ST_LANE(t->leaf[k / ST_LANES], k % ST_LANES);
}

/* ======================================================================== */
#elif ST_REDUCE == ST_PROD

/* one multiplication after the other, in C order, as NumPy's loop */
typedef struct { st_acc acc; } st_state;

ST_INLINE void st_start(st_state *s) { s->acc = (st_acc)1; }
ST_INLINE st_out st_finish(st_state *s) { return s->acc; }

static int st_row(st_state *s, char *const *p, const int64_t *st, int64_t n, int contig)
{
    st_acc acc = s->acc;
    int64_t i;
    for (i = 0; i < n; i++) acc *= (st_acc)st_elem(p, st, i, 0);
    (void)contig;
    s->acc = acc;
    return 0;
}

typedef struct { st_vec *acc; } st_tile;

static size_t st_tile_bytes(int64_t nv, int64_t positions)
{
    (void)positions;
    return (size_t)nv * sizeof(st_vec);
}
static void st_tile_start(st_tile *t, void *memory, int64_t nv, int64_t positions)
{
    (void)nv;
    (void)positions;
    t->acc = (st_vec *)memory;
}
ST_INLINE void st_tile_add(st_tile *t, int64_t b, st_vec v, int64_t pos, int first)
{
    (void)pos;
    t->acc[b] = first ? v : st_vmul(t->acc[b], v);
}
ST_INLINE void st_tile_next(st_tile *t) { (void)t; }
static void st_tile_finish(st_tile *t) { (void)t; }
ST_INLINE st_out st_tile_result(st_tile *t, int64_t k)
{
    return ST_LANE(t->acc[k / ST_LANES], k % ST_LANES);
}

/* ======================================================================== */
#elif ST_REDUCE == ST_ALL || ST_REDUCE == ST_ANY

/* A value decides the answer when it is false (all) or true (any); NaN is true. */
#if ST_REDUCE == ST_ALL
#define ST_DECIDES(v, zero) ((v) == (zero))
#else
#define ST_DECIDES(v, zero) ((v) != (zero))
#endif

ST_INLINE st_mask st_decides(st_vec a)
{
    st_mask m;
    int j;
    ST_EACH(j) m.v[j] = ST_DECIDES(a.v[j], (st_hv){0});
    return m;
}

typedef struct { int decided; } st_state;

ST_INLINE void st_start(st_state *s) { s->decided = 0; }
ST_INLINE st_out st_finish(st_state *s) { return (st_out)(s->decided == (ST_REDUCE == ST_ANY)); }

/* blocks of up to ST_LEAF values are tested at once */
static int st_row(st_state *s, char *const *p, const int64_t *st, int64_t n, int contig)
{
    int64_t i = 0, end;
    while (n - i >= ST_LANES) {
        st_mask m = st_isnan(st_splat((st_lane)0));
        end = n - i < ST_LEAF ? n - ST_LANES : i + ST_LEAF - ST_LANES;
        for (; i <= end; i += ST_LANES) {
            m = st_mor(m, st_decides(contig ? st_load(p, st, i, 1) : st_load(p, st, i, 0)));
        }
        if (st_any_lane(m)) return s->decided = 1;
    }
    for (; i < n; i++) {
        if (ST_DECIDES(st_elem(p, st, i, 0), 0)) return s->decided = 1;
    }
    return 0;
}

typedef struct { st_mask *decided; } st_tile;

static size_t st_tile_bytes(int64_t nv, int64_t positions)
{
    (void)positions;
    return (size_t)nv * sizeof(st_mask);
}
static void st_tile_start(st_tile *t, void *memory, int64_t nv, int64_t positions)
{
    (void)nv;
    (void)positions;
    t->decided = (st_mask *)memory;
}
ST_INLINE void st_tile_add(st_tile *t, int64_t b, st_vec v, int64_t pos, int first)
{
    (void)pos;
    t->decided[b] = first ? st_decides(v) : st_mor(t->decided[b], st_decides(v));
}
ST_INLINE void st_tile_next(st_tile *t) { (void)t; }
static void st_tile_finish(st_tile *t) { (void)t; }
ST_INLINE st_out st_tile_result(st_tile *t, int64_t k)
{
    const int decided = ST_LANE(t->decided[k / ST_LANES], k % ST_LANES) != 0;
    return (st_out)(decided == (ST_REDUCE == ST_ANY));
}

/* ======================================================================== */
#else /* max, min, argmax, argmin */

#if ST_REDUCE == ST_MAX || ST_REDUCE == ST_ARGMAX
#define ST_CMP >
#define ST_CMP_TIE >=
#define ST_IS_MAX 1
#else
#define ST_CMP <
#define ST_CMP_TIE <=
#define ST_IS_MAX 0
#endif
/* does v replace the extremum a? NaN is sticky: a NaN v replaces it, and once a is
 * NaN no comparison is true */
#define ST_BETTER(v, a) ((v) ST_CMP (a) || (v) != (v))

/* per lane, v where v is better than a (strictly, or at least as good when
 * `tie_to_v`: a later tie wins), else a. SSE2's maxpd(x, y) is exactly
 * `x > y ? x : y` (minpd `x < y ? x : y`), also for NaN (y), so maxpd(v, a) is
 * the strict choice and maxpd(a, v) the tie-to-v one (NaN: v, which the caller's
 * NaN check then decides). */
#if ST_IS_MAX
#define ST_SSE_PD __builtin_ia32_maxpd
#define ST_SSE_PS __builtin_ia32_maxps
#else
#define ST_SSE_PD __builtin_ia32_minpd
#define ST_SSE_PS __builtin_ia32_minps
#endif
ST_INLINE st_vec st_vpick(st_vec v, st_vec a, const int tie_to_v)
{
    st_mask m;
    int j;
#if defined(__SSE2__) && defined(__GNUC__) && !defined(__AVX__)
    typedef double st_v2d __attribute__((vector_size(16)));
    typedef float st_v4f __attribute__((vector_size(16)));
    if (ST_LANE_IS_FLOAT && sizeof(st_lane) == 8) {
        ST_EACH(j) a.v[j] = tie_to_v ? (st_hv)ST_SSE_PD((st_v2d)a.v[j], (st_v2d)v.v[j])
                                     : (st_hv)ST_SSE_PD((st_v2d)v.v[j], (st_v2d)a.v[j]);
        return a;
    }
    if (ST_LANE_IS_FLOAT && sizeof(st_lane) == 4) {
        ST_EACH(j) a.v[j] = tie_to_v ? (st_hv)ST_SSE_PS((st_v4f)a.v[j], (st_v4f)v.v[j])
                                     : (st_hv)ST_SSE_PS((st_v4f)v.v[j], (st_v4f)a.v[j]);
        return a;
    }
#endif
    ST_EACH(j) m.v[j] = tie_to_v ? v.v[j] ST_CMP_TIE a.v[j] : v.v[j] ST_CMP a.v[j];
    return st_select(m, v, a);
}
#define st_vbest(v, a) st_vpick((v), (a), 0)
#define st_vlast(v, a) st_vpick((v), (a), 1)

#if ST_REDUCE == ST_MAX || ST_REDUCE == ST_MIN

/* max and min give what folding numpy.maximum (minimum) over the values in C order
 * gives, which is what numpy.max gives over zeros of both signs: the first NaN, else
 * the extremum, and of extrema that tie (+0.0 and -0.0) the last. Lanes hold values
 * from interleaved positions, so where a block's extremum is a zero whose sign may
 * change, the block is read again backwards for its last zero (found at once where
 * zeros are common; a block of one sign of zero, as after relu, is not read again). */

typedef struct { st_val acc; int started; } st_state;

ST_INLINE void st_start(st_state *s) { s->started = 0; }
ST_INLINE st_out st_finish(st_state *s) { return s->acc; }

/* one by one from the running extremum *a over [i, end); 1 at a NaN (the answer) */
static int st_scan(st_state *s, st_val *a, char *const *p, const int64_t *st, int64_t i,
                   int64_t end)
{
    for (; i < end; i++) {
        st_val v = st_elem(p, st, i, 0);
        if (v != v) {
            s->acc = v;
            return 1;
        }
        *a = v ST_CMP_TIE *a ? v : *a;
    }
    return 0;
}

/* x in every lane, -0.0 included (st_splat's 0 + x makes it +0.0) */
ST_INLINE st_vec st_splat_signed(st_lane x)
{
    st_vec a;
    int j;
    ST_EACH(j) a.v[j] = ((st_hv){0} + (st_lane)1) * x;
    return a;
}

/* the last zero among positions [i, end), or `a` (itself zero) where there is none */
static st_val st_last_zero(st_val a, char *const *p, const int64_t *st, int64_t i, int64_t end,
                           int contig)
{
    st_val v;
    if (contig) {
        while (end > i)
            if ((v = st_elem(p, st, --end, 1)) == 0) return v;
    } else {
        while (end > i)
            if ((v = st_elem(p, st, --end, 0)) == 0) return v;
    }
    return a;
}

/* blocks of whole vectors from the running extremum, with a check sum of the block
 * (NaN if it holds a NaN, or +inf and -inf): such a block is scanned one by one,
 * and a NaN found ends the reduction */
static int st_row(st_state *s, char *const *p, const int64_t *st, int64_t n, int contig)
{
    int64_t i = 0;
    st_val a;
    if (!s->started) {
        s->acc = st_elem(p, st, 0, 0);
        s->started = 1;
        if (s->acc != s->acc) return 1;
    }
    a = s->acc;
    while (n - i >= ST_LANES) {
        const int64_t full = (n - i) / ST_LANES * ST_LANES;
        const int64_t end = i + (full < ST_LEAF ? full : ST_LEAF);
        st_vec best = st_splat_signed(a), check = st_splat((st_lane)0), v;
        int64_t j;
        int l;
        for (j = i; j < end; j += ST_LANES) {
            v = contig ? st_load(p, st, j, 1) : st_load(p, st, j, 0);
            check = st_vadd(check, v);
            best = st_vlast(v, best);
        }
        if (st_any_lane(st_isnan(check))) {
            if (st_scan(s, &a, p, st, i, end)) return 1;
        } else {
            /* every lane is at least a; m: the extremum so far, of either sign for zero.
             * A zero extremum is a's own unless the block rose to it or a lane holds a
             * zero of the other sign (each lane holds its last tie) */
            st_val m = a;
            int other_sign = 0;
            for (l = 0; l < ST_LANES; l++) {
                const st_val b = ST_LANE(best, l);
                m = b ST_CMP m ? b : m;
                other_sign |= signbit((double)b) != signbit((double)a);
            }
            if (ST_LANE_IS_FLOAT && m == 0)
                a = a != 0 || other_sign ? st_last_zero(a, p, st, i, end, contig) : a;
            else
                a = m;
        }
        i = end;
    }
    if (st_scan(s, &a, p, st, i, n)) return 1;
    s->acc = a;
    return 0;
}

/* tiles: per lane the extremum and a check sum, NaN when a NaN was added (or +inf and
 * -inf); st_reduce_tile then looks for a NaN in the lanes whose check is NaN */
typedef struct { st_vec *best, *check; } st_tile;

static size_t st_tile_bytes(int64_t nv, int64_t positions)
{
    (void)positions;
    return (size_t)(2 * nv) * sizeof(st_vec);
}
static void st_tile_start(st_tile *t, void *memory, int64_t nv, int64_t positions)
{
    (void)positions;
    t->best = (st_vec *)memory;
    t->check = t->best + nv;
}
ST_INLINE void st_tile_add(st_tile *t, int64_t b, st_vec v, int64_t pos, int first)
{
    (void)pos;
    if (first) {
        t->best[b] = t->check[b] = v;
    } else {
        t->best[b] = st_vlast(v, t->best[b]);
        if (ST_LANE_IS_FLOAT) t->check[b] = st_vadd(t->check[b], v);
    }
}
ST_INLINE void st_tile_next(st_tile *t) { (void)t; }
static void st_tile_finish(st_tile *t) { (void)t; }
ST_INLINE st_out st_tile_result(st_tile *t, int64_t k)
{
    return ST_LANE(t->best[k / ST_LANES], k % ST_LANES);
}
#define ST_TILE_SUSPECT(t, k) (ST_LANE((t)->check[(k) / ST_LANES], (k) % ST_LANES) \
                               != ST_LANE((t)->check[(k) / ST_LANES], (k) % ST_LANES))

#else /* argmax, argmin */

typedef struct { st_val best; int64_t index, seen; } st_state;

ST_INLINE void st_start(st_state *s) { s->seen = 0; s->index = 0; }
ST_INLINE st_out st_finish(st_state *s) { return s->index; }

/* positions [i, end) of the row one by one; 1 at the first NaN (its index is the
 * answer, as in numpy.argmax) */
static int st_scan(st_state *s, char *const *p, const int64_t *st, int64_t i, int64_t end)
{
    st_val best = s->best;
    for (; i < end; i++) {
        st_val v = st_elem(p, st, i, 0);
        if (ST_BETTER(v, best)) {
            best = v;
            s->index = s->seen + i;
            if (v != v) return 1;
        }
    }
    s->best = best;
    return 0;
}

/* A block's extremum (and check sum, see st_row of max) is found with vector
 * operations; the block is scanned one by one only when it holds a better value or
 * maybe a NaN. */
static int st_row(st_state *s, char *const *p, const int64_t *st, int64_t n, int contig)
{
    int64_t i = 0, j;
    int l, better;
    if (s->seen == 0) {
        s->best = st_elem(p, st, 0, 0);
        if (s->best != s->best) return 1;
    }
    for (; n - i >= ST_LEAF; i += ST_LEAF) {
        st_vec best = st_splat(s->best), check = st_splat((st_lane)0), v;
        for (j = i; j < i + ST_LEAF; j += ST_LANES) {
            v = contig ? st_load(p, st, j, 1) : st_load(p, st, j, 0);
            check = st_vadd(check, v);
            best = st_vbest(v, best);
        }
        for (better = 0, l = 0; l < ST_LANES; l++) better |= ST_LANE(best, l) ST_CMP s->best;
        if ((better || st_any_lane(st_isnan(check))) && st_scan(s, p, st, i, i + ST_LEAF))
            return 1;
    }
    if (st_scan(s, p, st, i, n)) return 1;
    s->seen += n;
    return 0;
}

typedef struct { int64_t *index; st_val *best; } st_tile;

static size_t st_tile_bytes(int64_t nv, int64_t positions)
{
    (void)positions;
    return (size_t)(nv * ST_LANES) * (sizeof(int64_t) + sizeof(st_val));
}
static void st_tile_start(st_tile *t, void *memory, int64_t nv, int64_t positions)
{
    (void)positions;
    t->index = (int64_t *)memory;
    t->best = (st_val *)(t->index + nv * ST_LANES);
}
ST_INLINE void st_tile_add(st_tile *t, int64_t b, st_vec v, int64_t pos, int first)
{
    int l;
    for (l = 0; l < ST_LANES; l++) {
        const st_val x = ST_LANE(v, l);
        const int64_t k = b * ST_LANES + l;
        if (first || (t->best[k] == t->best[k] && ST_BETTER(x, t->best[k]))) {
            t->best[k] = x;
            t->index[k] = pos;
        }
    }
}
ST_INLINE void st_tile_next(st_tile *t) { (void)t; }
static void st_tile_finish(st_tile *t) { (void)t; }
ST_INLINE st_out st_tile_result(st_tile *t, int64_t k) { return t->index[k]; }

#endif
#endif

#endif /* SYMTHEANO_REDUCE_KINDS_H */
