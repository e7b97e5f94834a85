/* The node entries of the BLAS library (runtime/st_node.h), one per op kind and
 * float type: st_node_dot, st_node_tensordot, st_node_matmul, st_node_gemm,
 * st_node_gemv and st_node_ger, each with the suffix _f64 or _f32 (the result's
 * dtype). Included by blas.h once per type after blas_typed.h, with ST_R,
 * ST_S, ST_CB and ST_CODE (the result's dtype code) defined; no include guard on
 * purpose. Parameters (ctx->params), what is static:
 *
 *   dot        [a dtype, b dtype]
 *   tensordot  [a dtype, b dtype, n, a's n contracted axes, b's n axes]
 *   matmul     [a dtype, b dtype, a's broadcastable batch dims, b's] (bit masks)
 *   gemm       [C's broadcastable dims, inplace]   (C, alpha, A, B, beta)
 *   gemv       [y's broadcastable dims, inplace]   (y, alpha, A, x, beta)
 *   ger        [A's broadcastable dims, inplace]   (A, alpha, x, y)
 *
 * `inplace` (optional, 0 when absent) is 1 for the variants that may overwrite
 * their added term (destroy_map {0: [0]}, symtheano/rewrite/inplace.py): when
 * the term has the output's shape, a layout whose elements do not overlap and
 * memory apart from the other operands, the result is written into it and the
 * output is the term itself (ctx->reuse); otherwise the call allocates as the
 * plain op does. Every check happens before the term is written.
 *
 * Dtypes are codes (ST_DT_*): an operand of another dtype than the result is
 * first cast into a copy laid out as NumPy's `astype` lays it out (the same
 * memory order), so the product reads memory in the order the reference's does.
 * Shapes that do not fit (the reference raises the error naming the inputs) and
 * what the products decline fall back to the reference (ST_FALLBACK).
 */

/* operand element at p, of dtype `code`, as ST_R (NumPy's cast) */
static inline ST_R ST_S(st_blas_read)(const char *p, int64_t code)
{
    switch (code) {
    case ST_DT_F64: return (ST_R)*(const double *)p;
    case ST_DT_F32: return (ST_R)*(const float *)p;
    case ST_DT_BOOL: return (ST_R)(*(const uint8_t *)p != 0);
    case ST_DT_I8: return (ST_R)*(const int8_t *)p;
    case ST_DT_I16: return (ST_R)*(const int16_t *)p;
    case ST_DT_I32: return (ST_R)*(const int32_t *)p;
    case ST_DT_I64: return (ST_R)*(const int64_t *)p;
    case ST_DT_U8: return (ST_R)*(const uint8_t *)p;
    case ST_DT_U16: return (ST_R)*(const uint16_t *)p;
    case ST_DT_U32: return (ST_R)*(const uint32_t *)p;
    default: return (ST_R)*(const uint64_t *)p;
    }
}

/* A copy of t (elements of dtype `code`) as ST_R, its dimensions laid out in the
 * order `perm` (outermost first), contiguous; *dst describes it and *scratch is
 * the memory (to be freed by the caller). */
static int ST_S(st_blas_copy_nd)(const st_tensor *t, int64_t code, const int64_t *perm,
                                 st_tensor *dst, ST_R **scratch)
{
    const int64_t nd = t->ndim;
    int64_t idx[ST_MAX_DIMS] = {0}, size = 1, stride = (int64_t)sizeof(ST_R), i, j;
    for (j = 0; j < nd; j++) size *= t->shape[j];
    ST_R *buf = malloc((size_t)(size > 0 ? size : 1) * sizeof(ST_R));
    if (!buf) return ST_BLAS_NO_MEMORY;
    *scratch = buf;
    dst->data = (char *)buf;
    dst->ndim = nd;
    for (j = nd - 1; j >= 0; j--) {
        dst->shape[perm[j]] = t->shape[perm[j]];
        dst->strides[perm[j]] = stride;
        stride *= t->shape[perm[j]];
    }
    const char *p = t->data;
    for (i = 0; i < size; i++) {
        buf[i] = ST_S(st_blas_read)(p, code);
        for (j = nd - 1; j >= 0; j--) {
            const int64_t d = perm[j];
            p += t->strides[d];
            if (++idx[j] < t->shape[d]) break;
            p -= t->strides[d] * t->shape[d];
            idx[j] = 0;
        }
    }
    return ST_BLAS_OK;
}

/* *t as ST_R: itself when its dtype is the result's, else a cast copy in
 * NumPy's memory order (in *local, memory in *scratch) */
static int ST_S(st_blas_as)(const st_tensor **t, int64_t code, st_tensor *local,
                            ST_R **scratch)
{
    int64_t perm[ST_MAX_DIMS];
    if (code == ST_CODE) return ST_BLAS_OK;
    if (code < 0 || code >= ST_DT_COUNT) return ST_BLAS_MISALIGNED;
    st_blas_keep_order(*t, perm);
    int status = ST_S(st_blas_copy_nd)(*t, code, perm, local, scratch);
    if (status == ST_BLAS_OK) *t = local;
    return status;
}

/* t's dimensions `rows` then `cols` (counts nr, nc) as a matrix, as NumPy's
 * transpose-and-reshape gives it: a view when both groups merge, else a C-order
 * copy (memory in *scratch). Byte strides into *rs, *cs; the data pointer. */
static const char *ST_S(st_blas_matrix)(const st_tensor *t, const int64_t *rows, int64_t nr,
                                        const int64_t *cols, int64_t nc, int64_t *m,
                                        int64_t *k, int64_t *rs, int64_t *cs, ST_R **scratch,
                                        int *status)
{
    int64_t order[ST_MAX_DIMS], j;
    st_tensor copy;
    if (st_blas_merge(t, rows, nr, m, rs) && st_blas_merge(t, cols, nc, k, cs))
        return t->data;
    for (j = 0; j < nr; j++) order[j] = rows[j];
    for (j = 0; j < nc; j++) order[nr + j] = cols[j];
    *status = ST_S(st_blas_copy_nd)(t, ST_CODE, order, &copy, scratch);
    if (*status != ST_BLAS_OK) return NULL;
    st_blas_merge(&copy, rows, nr, m, rs);
    st_blas_merge(&copy, cols, nc, k, cs);
    return copy.data;
}

int ST_S(st_node_dot)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const st_tensor *a = &in[0], *b = &in[1];
    st_tensor la, lb;
    ST_R *sa = NULL, *sb = NULL;
    int64_t shape[2], nd = 0, m, n, k, ars, acs, brs, bcs;
    if (n_in != 2 || ctx->n_params != 2 || a->ndim < 1 || a->ndim > 2 || b->ndim < 1
        || b->ndim > 2 || a->shape[a->ndim - 1] != b->shape[0])
        return ST_FALLBACK;
    if (a->ndim == 2) shape[nd++] = a->shape[0];
    if (b->ndim == 2) shape[nd++] = b->shape[1];
    if (ctx->alloc(ctx, 0, nd, shape, out)) return ST_ERROR;
    int status = ST_S(st_blas_as)(&a, prm[0], &la, &sa);
    if (status == ST_BLAS_OK) status = ST_S(st_blas_as)(&b, prm[1], &lb, &sb);
    if (status == ST_BLAS_OK) {
        k = a->shape[a->ndim - 1];
        m = a->ndim == 2 ? a->shape[0] : 1;
        ars = a->ndim == 2 ? a->strides[0] : 0;
        acs = a->strides[a->ndim - 1];
        n = b->ndim == 2 ? b->shape[1] : 1;
        brs = b->strides[0];
        bcs = b->ndim == 2 ? b->strides[1] : 0;
        status = ST_S(st_dot)(m, n, k, a->data, ars, acs, b->data, brs, bcs, out->data);
    }
    free(sa);
    free(sb);
    return st_blas_status(status);
}

/* numpy.tensordot's own reduction: the contracted axes moved together, both
 * operands reshaped to matrices (copied only where NumPy copies), one product */
int ST_S(st_node_tensordot)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const st_tensor *a = &in[0], *b = &in[1];
    st_tensor la, lb;
    ST_R *sa = NULL, *sb = NULL, *ma = NULL, *mb = NULL;
    int64_t a_free[ST_MAX_DIMS], b_free[ST_MAX_DIMS], shape[ST_MAX_DIMS];
    int64_t na = 0, nb = 0, d, j, m, n, k, kb, ars, acs, brs, bcs;
    if (n_in != 2 || ctx->n_params < 3) return ST_FALLBACK;
    const int64_t n_ax = prm[2], *a_ax = prm + 3, *b_ax = prm + 3 + n_ax;
    if (ctx->n_params != 3 + 2 * n_ax) return ST_FALLBACK;
    for (j = 0; j < n_ax; j++) {
        if (a_ax[j] < 0 || a_ax[j] >= a->ndim || b_ax[j] < 0 || b_ax[j] >= b->ndim
            || a->shape[a_ax[j]] != b->shape[b_ax[j]])
            return ST_FALLBACK;
    }
    for (d = 0; d < a->ndim; d++) {
        int contracted = 0;
        for (j = 0; j < n_ax; j++) contracted |= a_ax[j] == d;
        if (!contracted) a_free[na++] = d;
    }
    for (d = 0; d < b->ndim; d++) {
        int contracted = 0;
        for (j = 0; j < n_ax; j++) contracted |= b_ax[j] == d;
        if (!contracted) b_free[nb++] = d;
    }
    if (na + nb > ST_MAX_DIMS) return ST_FALLBACK;
    for (j = 0; j < na; j++) shape[j] = a->shape[a_free[j]];
    for (j = 0; j < nb; j++) shape[na + j] = b->shape[b_free[j]];
    if (ctx->alloc(ctx, 0, na + nb, shape, out)) return ST_ERROR;
    int status = ST_S(st_blas_as)(&a, prm[0], &la, &sa);
    if (status == ST_BLAS_OK) status = ST_S(st_blas_as)(&b, prm[1], &lb, &sb);
    const char *pa = NULL, *pb = NULL;
    if (status == ST_BLAS_OK)
        pa = ST_S(st_blas_matrix)(a, a_free, na, a_ax, n_ax, &m, &k, &ars, &acs, &ma, &status);
    if (status == ST_BLAS_OK)
        pb = ST_S(st_blas_matrix)(b, b_ax, n_ax, b_free, nb, &kb, &n, &brs, &bcs, &mb, &status);
    if (status == ST_BLAS_OK)
        status = ST_S(st_dot)(m, n, k, pa, ars, acs, pb, brs, bcs, out->data);
    free(sa);
    free(sb);
    free(ma);
    free(mb);
    return st_blas_status(status);
}

/* a stack of products over the batch dimensions, which broadcast where declared */
int ST_S(st_node_matmul)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const st_tensor *a = &in[0], *b = &in[1];
    st_tensor la, lb;
    ST_R *sa = NULL, *sb = NULL;
    int64_t shape[ST_MAX_DIMS], a_bs[ST_MAX_DIMS], b_bs[ST_MAX_DIMS], idx[ST_MAX_DIMS] = {0};
    int64_t d, count = 1;
    const int64_t nd = a->ndim, nbatch = nd - 2;
    if (n_in != 2 || ctx->n_params != 4 || nd < 2 || b->ndim != nd
        || a->shape[nd - 1] != b->shape[nd - 2])
        return ST_FALLBACK;
    for (d = 0; d < nbatch; d++) {
        const int64_t s_a = a->shape[d], s_b = b->shape[d];
        const int a_bc = s_a == 1 && ((prm[2] >> d) & 1), b_bc = s_b == 1 && ((prm[3] >> d) & 1);
        if (s_a != s_b && !a_bc && !b_bc) return ST_FALLBACK;
        shape[d] = a_bc ? s_b : s_a;
        count *= shape[d];
    }
    const int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], n = b->shape[nd - 1];
    shape[nd - 2] = m;
    shape[nd - 1] = n;
    if (ctx->alloc(ctx, 0, nd, shape, out)) return ST_ERROR;
    int status = ST_S(st_blas_as)(&a, prm[0], &la, &sa);
    if (status == ST_BLAS_OK) status = ST_S(st_blas_as)(&b, prm[1], &lb, &sb);
    for (d = 0; d < nbatch; d++) {
        a_bs[d] = a->shape[d] == 1 ? 0 : a->strides[d];
        b_bs[d] = b->shape[d] == 1 ? 0 : b->strides[d];
    }
    const char *pa = a->data, *pb = b->data;
    char *po = out->data;
    const int64_t step = m * n * (int64_t)sizeof(ST_R);
    for (int64_t i = 0; i < count && status == ST_BLAS_OK; i++, po += step) {
        status = ST_S(st_dot)(m, n, k, pa, a->strides[nd - 2], a->strides[nd - 1], pb,
                              b->strides[nd - 2], b->strides[nd - 1], po);
        for (d = nbatch - 1; d >= 0; d--) {  /* the next matrix, batch index in C order */
            pa += a_bs[d];
            pb += b_bs[d];
            if (++idx[d] < shape[d]) break;
            pa -= a_bs[d] * shape[d];
            pb -= b_bs[d] * shape[d];
            idx[d] = 0;
        }
    }
    free(sa);
    free(sb);
    return st_blas_status(status);
}

/* -- writing into the added term (the inplace variants) -------------------- */

#ifndef ST_BLAS_NODE_SHARED
#define ST_BLAS_NODE_SHARED
/* The byte range [*lo, *hi) that t's elements of `item` bytes occupy; 0 when t
 * is empty (it occupies nothing). */
static int st_blas_span(const st_tensor *t, size_t item, intptr_t *lo, intptr_t *hi)
{
    intptr_t first = (intptr_t)t->data, last = (intptr_t)t->data;
    for (int64_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0) return 0;
        const intptr_t step = (intptr_t)t->strides[d] * (intptr_t)(t->shape[d] - 1);
        if (step < 0) first += step;
        else last += step;
    }
    *lo = first;
    *hi = last + (intptr_t)item;
    return 1;
}

/* 1 when t and u (items of size ti, ui) may have memory in common */
static int st_blas_overlap(const st_tensor *t, size_t ti, const st_tensor *u, size_t ui)
{
    intptr_t tlo, thi, ulo, uhi;
    if (!st_blas_span(t, ti, &tlo, &thi) || !st_blas_span(u, ui, &ulo, &uhi)) return 0;
    return tlo < uhi && ulo < thi;
}

/* 1 when no two elements of t share memory: taken by increasing |stride|, each
 * dimension of size > 1 steps over at least all that the smaller ones cover. */
static int st_blas_injective(const st_tensor *t, size_t item)
{
    int64_t order[ST_MAX_DIMS], n = 0, i, j;
    for (i = 0; i < t->ndim; i++) {
        if (t->shape[i] <= 1) continue;
        const int64_t s = t->strides[i] < 0 ? -t->strides[i] : t->strides[i];
        for (j = n; j > 0; j--) {
            const int64_t q = t->strides[order[j - 1]];
            if ((q < 0 ? -q : q) <= s) break;
            order[j] = order[j - 1];
        }
        order[j] = i;
        n++;
    }
    int64_t covered = (int64_t)item;  /* bytes spanned by the dimensions so far */
    for (i = 0; i < n; i++) {
        const int64_t d = order[i], s = t->strides[d] < 0 ? -t->strides[d] : t->strides[d];
        if (s < covered) return 0;
        covered = s * (t->shape[d] - 1) + covered;
    }
    return 1;
}
#endif

/* 1 when in[0], the added term, can take the result in place: the output's
 * `shape` (it broadcasts nowhere), distinct elements, and no memory in common
 * with any other operand (all of the result's dtype, as make_node ensures). */
static int ST_S(st_blas_takes_result)(const st_tensor *in, int64_t n_in, int64_t ndim,
                                      const int64_t *shape)
{
    if (in[0].ndim != ndim) return 0;
    for (int64_t d = 0; d < ndim; d++)
        if (in[0].shape[d] != shape[d]) return 0;
    if (!st_blas_injective(&in[0], sizeof(ST_R))) return 0;
    for (int64_t j = 1; j < n_in; j++)
        if (st_blas_overlap(&in[0], sizeof(ST_R), &in[j], sizeof(ST_R))) return 0;
    return 1;
}

/* C (m x n, any non-overlapping layout) = alpha * (A @ B) + beta * C, in place.
 * Where numpy.dot itself calls gemm (m, n, k > 1), alpha and beta are finite and
 * nonzero (BLAS skips the product for alpha == 0 and never reads C for beta ==
 * 0, where the formula propagates inf and NaN) and C has unit stride along one
 * dimension, one BLAS call accumulates into C: no output to allocate and no
 * second pass over it. Otherwise the product goes to scratch memory and the
 * formula is applied term by term. Nothing is written before every check
 * passed, so a failing call leaves C as it was. */
static int ST_S(st_gemm_inplace)(const st_tensor *c, const st_tensor *a, const st_tensor *b,
                                 ST_R alpha, ST_R beta)
{
    const int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
    int64_t sa[2], sb[2], sc[2];
    st_blas_layout la, lb, lc;
    if (!st_blas_elem_strides(a->data, sizeof(ST_R), 2, a->shape, a->strides, sa)
        || !st_blas_elem_strides(b->data, sizeof(ST_R), 2, b->shape, b->strides, sb)
        || !st_blas_elem_strides(c->data, sizeof(ST_R), 2, c->shape, c->strides, sc))
        return ST_BLAS_MISALIGNED;
    if (m == 0 || n == 0) return ST_BLAS_OK;
    ST_R *cp = (ST_R *)c->data;
    if (m > 1 && n > 1 && k > 1 && st_blas_fits(m) && st_blas_fits(n) && st_blas_fits(k)
        && alpha != 0 && beta != 0 && isfinite(alpha) && isfinite(beta)
        && st_blas_layout_of(m, n, sc[0], sc[1], &lc)) {
        const ST_R *pa = (const ST_R *)a->data, *pb = (const ST_R *)b->data;
        ST_R *ta = NULL, *tb = NULL;
        int status = ST_S(st_blas_operand)(&pa, m, k, sa[0], sa[1], &la, &ta);
        if (status == ST_BLAS_OK) status = ST_S(st_blas_operand)(&pb, k, n, sb[0], sb[1], &lb, &tb);
        if (status == ST_BLAS_OK && !lc.trans)
            ST_CB(gemm)(CblasRowMajor, st_blas_trans(la.trans), st_blas_trans(lb.trans),
                        (blasint)m, (blasint)n, (blasint)k, alpha, pa, (blasint)la.ld, pb,
                        (blasint)lb.ld, beta, cp, (blasint)lc.ld);
        else if (status == ST_BLAS_OK)  /* C is stored as its transpose: C^T = B^T A^T */
            ST_CB(gemm)(CblasRowMajor, st_blas_trans(!lb.trans), st_blas_trans(!la.trans),
                        (blasint)n, (blasint)m, (blasint)k, alpha, pb, (blasint)lb.ld, pa,
                        (blasint)la.ld, beta, cp, (blasint)lc.ld);
        free(ta);
        free(tb);
        return status;
    }
    ST_R *prod = malloc((size_t)(m * n) * sizeof(ST_R));
    if (!prod) return ST_BLAS_NO_MEMORY;
    int status = ST_S(st_dot)(m, n, k, a->data, a->strides[0], a->strides[1], b->data,
                              b->strides[0], b->strides[1], (char *)prod);
    if (status == ST_BLAS_OK) {
        for (int64_t i = 0; i < m; i++) {
            ST_R *ci = cp + i * sc[0];
            const ST_R *pi = prod + i * n;
            for (int64_t j = 0; j < n; j++) ci[j * sc[1]] = alpha * pi[j] + beta * ci[j * sc[1]];
        }
    }
    free(prod);
    return status;
}

/* y (m, any stride) = alpha * (A @ x) + beta * y, in place: the product (numpy.dot's
 * gemv) into scratch memory, then the formula term by term. */
static int ST_S(st_gemv_inplace)(const st_tensor *y, const st_tensor *a, const st_tensor *x,
                                 ST_R alpha, ST_R beta)
{
    const int64_t m = a->shape[0], k = a->shape[1];
    int64_t sy[1];
    if (!st_blas_elem_strides(y->data, sizeof(ST_R), 1, y->shape, y->strides, sy))
        return ST_BLAS_MISALIGNED;
    if (m == 0) return ST_BLAS_OK;
    ST_R *prod = malloc((size_t)m * sizeof(ST_R)), *yp = (ST_R *)y->data;
    if (!prod) return ST_BLAS_NO_MEMORY;
    int status = ST_S(st_dot)(m, 1, k, a->data, a->strides[0], a->strides[1], x->data,
                              x->strides[0], 0, (char *)prod);
    if (status == ST_BLAS_OK)
        for (int64_t i = 0; i < m; i++) yp[i * sy[0]] = alpha * prod[i] + beta * yp[i * sy[0]];
    free(prod);
    return status;
}

/* A (m x n, any non-overlapping layout) += alpha * outer(x, y), in place, rounded
 * as st_ger rounds (x*y, then alpha*, then A+). */
static int ST_S(st_ger_inplace)(const st_tensor *a, ST_R alpha, const st_tensor *x,
                                const st_tensor *y)
{
    const int64_t m = x->shape[0], n = y->shape[0];
    int64_t sa[2], sx[1], sy[1];
    if (!st_blas_elem_strides(a->data, sizeof(ST_R), 2, a->shape, a->strides, sa)
        || !st_blas_elem_strides(x->data, sizeof(ST_R), 1, x->shape, x->strides, sx)
        || !st_blas_elem_strides(y->data, sizeof(ST_R), 1, y->shape, y->strides, sy))
        return ST_BLAS_MISALIGNED;
    ST_R *ap = (ST_R *)a->data;
    const ST_R *xp = (const ST_R *)x->data, *yp = (const ST_R *)y->data;
    for (int64_t i = 0; i < m; i++) {
        const ST_R xi = xp[i * sx[0]];
        ST_R *ai = ap + i * sa[0];
        for (int64_t j = 0; j < n; j++)
            ai[j * sa[1]] = ai[j * sa[1]] + alpha * (xi * yp[j * sy[0]]);
    }
    return ST_BLAS_OK;
}

/* The entry's answer after writing into the term: the output is in[0] itself. */
static int ST_S(st_blas_reused)(st_ctx *ctx, int status, st_tensor *out)
{
    if (status != ST_BLAS_OK) return ST_FALLBACK;
    return ctx->reuse(ctx, 0, 0, out) ? ST_ERROR : ST_OK;
}

/* Whether the node is an inplace variant (its optional last parameter). */
#define ST_INPLACE(ctx) ((ctx)->n_params == 2 && (ctx)->params[1] != 0)

/* alpha and beta: 0-d operands of the result's dtype */
#define ST_SCALAR(t) (*(const ST_R *)(t).data)

int ST_S(st_node_gemm)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const st_tensor *c = &in[0], *a = &in[2], *b = &in[3];
    if (n_in != 5 || ctx->n_params < 1 || ctx->n_params > 2 || c->ndim != 2 || a->ndim != 2
        || b->ndim != 2 || in[1].ndim != 0 || in[4].ndim != 0 || a->shape[1] != b->shape[0])
        return ST_FALLBACK;
    const int64_t shape[2] = {a->shape[0], b->shape[1]}, mask = ctx->params[0];
    if (!st_blas_fits_term(c->shape[0], shape[0], mask, 0)
        || !st_blas_fits_term(c->shape[1], shape[1], mask, 1))
        return ST_FALLBACK;
    if (ST_INPLACE(ctx) && ST_S(st_blas_takes_result)(in, n_in, 2, shape))
        return ST_S(st_blas_reused)(ctx, ST_S(st_gemm_inplace)(c, a, b, ST_SCALAR(in[1]),
                                                               ST_SCALAR(in[4])), out);
    if (ctx->alloc(ctx, 0, 2, shape, out)) return ST_ERROR;
    return st_blas_status(ST_S(st_gemm)(shape[0], shape[1], a->shape[1], a->data, a->strides[0],
                                        a->strides[1], b->data, b->strides[0], b->strides[1],
                                        c->data, c->shape[0], c->shape[1], c->strides[0],
                                        c->strides[1], ST_SCALAR(in[1]), ST_SCALAR(in[4]),
                                        out->data));
}

int ST_S(st_node_gemv)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const st_tensor *y = &in[0], *a = &in[2], *x = &in[3];
    if (n_in != 5 || ctx->n_params < 1 || ctx->n_params > 2 || y->ndim != 1 || a->ndim != 2
        || x->ndim != 1 || in[1].ndim != 0 || in[4].ndim != 0 || a->shape[1] != x->shape[0]
        || !st_blas_fits_term(y->shape[0], a->shape[0], ctx->params[0], 0))
        return ST_FALLBACK;
    if (ST_INPLACE(ctx) && ST_S(st_blas_takes_result)(in, n_in, 1, a->shape))
        return ST_S(st_blas_reused)(ctx, ST_S(st_gemv_inplace)(y, a, x, ST_SCALAR(in[1]),
                                                               ST_SCALAR(in[4])), out);
    if (ctx->alloc(ctx, 0, 1, a->shape, out)) return ST_ERROR;
    return st_blas_status(ST_S(st_gemv)(a->shape[0], a->shape[1], a->data, a->strides[0],
                                        a->strides[1], x->data, x->strides[0], y->data,
                                        y->shape[0], y->strides[0], ST_SCALAR(in[1]),
                                        ST_SCALAR(in[4]), out->data));
}

int ST_S(st_node_ger)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const st_tensor *a = &in[0], *x = &in[2], *y = &in[3];
    if (n_in != 4 || ctx->n_params < 1 || ctx->n_params > 2 || a->ndim != 2 || in[1].ndim != 0
        || x->ndim != 1 || y->ndim != 1)
        return ST_FALLBACK;
    const int64_t shape[2] = {x->shape[0], y->shape[0]}, mask = ctx->params[0];
    if (!st_blas_fits_term(a->shape[0], shape[0], mask, 0)
        || !st_blas_fits_term(a->shape[1], shape[1], mask, 1))
        return ST_FALLBACK;
    if (ST_INPLACE(ctx) && ST_S(st_blas_takes_result)(in, n_in, 2, shape))
        return ST_S(st_blas_reused)(ctx, ST_S(st_ger_inplace)(a, ST_SCALAR(in[1]), x, y), out);
    if (ctx->alloc(ctx, 0, 2, shape, out)) return ST_ERROR;
    return st_blas_status(ST_S(st_ger)(shape[0], shape[1], a->data, a->shape[0], a->shape[1],
                                       a->strides[0], a->strides[1], ST_SCALAR(in[1]), x->data,
                                       x->strides[0], y->data, y->strides[0], out->data));
}

#undef ST_SCALAR
#undef ST_INPLACE
