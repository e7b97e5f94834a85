/* The node entry of PaddedSum (symtheano/tensor/padded_sum.py): a sum of
 * elementwise terms, each written into a box of an array of zeros, computed in
 * one pass over the output.
 *
 * The output is split into regions by what covers them. Where every term's box
 * does (the intersection of the boxes), one elementwise kernel computes the
 * whole sum; elsewhere the output is zeroed and each term adds its contribution
 * over its box minus the intersection (a few thin slabs). The kernels are the
 * elementwise kernels of codegen/c/elemwise.py (elemwise_call.h), compiled
 * separately and passed by address; this entry only cuts views.
 *
 * Inputs: in[0 .. ndim) the output's sizes (int64 scalars), then the term inputs.
 * Parameters (ctx->params):
 *
 *     [0] ndim    [1] itemsize of the output    [2] K terms    [3] N term inputs
 *     [4] address of the fused kernel (0: none)    [5] its input count F,
 *         then F sources
 *     per term: kind (0 inc, 1 set, 2 full), first input, input count,
 *         address of its accumulating kernel, its input count A, then A sources,
 *         number of boxed axes B, then B (start, stop) pairs (ST_PS_NONE: None)
 *     then N masks: bit d set when term input j declared dimension d broadcastable
 *
 * A source is a term input (0 .. N) or -1: the output itself (what an
 * accumulating kernel adds to). Term inputs are aligned on the right and must
 * have, in every dimension, their box's size, or size 1 if declared
 * broadcastable; otherwise the entry declines (ST_FALLBACK) and the reference
 * raises the error.
 */
#ifndef SYMTHEANO_PADDED_SUM_NODE_H
#define SYMTHEANO_PADDED_SUM_NODE_H

#include <stdint.h>
#include <string.h>

#include "st_node.h"
#include "elemwise_call.h"

#define ST_PS_NONE INT64_MIN
#define ST_PS_MAX_TERMS 64

typedef struct {
    const int64_t *sources;     /* of the accumulating kernel */
    st_kernel_fn acc;
    int64_t n_acc, first, n_in;
    int64_t lo[ST_MAX_DIMS], hi[ST_MAX_DIMS];   /* the box */
} st_ps_term;

typedef struct {
    int64_t ndim, itemsize, n_terms;
    const st_tensor *in;        /* the term inputs */
    const int64_t *owner;       /* per term input: its term */
    st_ps_term *terms;
    st_tensor *out;
} st_ps;

/* Python's slice bound for step 1: None, negative from the end, clipped. */
static int64_t st_ps_bound(int64_t v, int64_t n, int64_t none)
{
    if (v == ST_PS_NONE) return none;
    if (v < 0) return v + n < 0 ? 0 : v + n;
    return v > n ? n : v;
}

/* *view: operand `src` over the output region [lo, hi), with every dimension. */
static void st_ps_view(const st_ps *ps, int64_t src, const int64_t *lo, const int64_t *hi,
                       st_tensor *view)
{
    const int64_t ndim = ps->ndim;
    const st_tensor *t = src < 0 ? ps->out : &ps->in[src];
    const int64_t *origin = src < 0 ? NULL : ps->terms[ps->owner[src]].lo;
    const int64_t off = ndim - t->ndim;
    char *data = t->data;
    view->ndim = ndim;
    for (int64_t d = 0; d < ndim; d++) {
        const int64_t local = d - off;
        if (local < 0 || t->shape[local] == 1) {
            view->shape[d] = 1;
            view->strides[d] = 0;
            continue;
        }
        data += (lo[d] - (origin ? origin[d] : 0)) * t->strides[local];
        view->shape[d] = hi[d] - lo[d];
        view->strides[d] = t->strides[local];
    }
    view->data = data;
}

/* Run `kernel` (inputs from `sources`, the output last) over the region [lo, hi). */
static void st_ps_run(const st_ps *ps, st_kernel_fn kernel, int64_t n_src,
                      const int64_t *sources, const int64_t *lo, const int64_t *hi)
{
    const int64_t ndim = ps->ndim;
    int64_t shape[ST_MAX_DIMS];
    st_tensor views[n_src + 1];
    const st_tensor *ops[n_src + 1];
    for (int64_t d = 0; d < ndim; d++) {
        shape[d] = hi[d] - lo[d];
        if (shape[d] <= 0) return;
    }
    for (int64_t k = 0; k <= n_src; k++) {
        st_ps_view(ps, k < n_src ? sources[k] : -1, lo, hi, &views[k]);
        ops[k] = &views[k];
    }
    st_elemwise_call(kernel, n_src + 1, ops, ndim, shape);
}

/* Zero the output region [lo, hi) (the output is C-contiguous). */
static void st_ps_zero(const st_ps *ps, const int64_t *lo, const int64_t *hi)
{
    const int64_t ndim = ps->ndim;
    const st_tensor *out = ps->out;
    int64_t d, q = ndim - 1, run = ps->itemsize;
    for (d = 0; d < ndim; d++)
        if (hi[d] <= lo[d]) return;
    /* The innermost dimensions the region spans entirely are one contiguous run. */
    while (q > 0 && lo[q] == 0 && hi[q] == out->shape[q]) run *= out->shape[q--];
    run *= hi[q] - lo[q];
    int64_t idx[ST_MAX_DIMS];
    for (d = 0; d < q; d++) idx[d] = lo[d];
    for (;;) {
        char *p = out->data + lo[q] * out->strides[q];
        for (d = 0; d < q; d++) p += idx[d] * out->strides[d];
        memset(p, 0, (size_t)run);
        for (d = q - 1; d >= 0; d--) {
            if (++idx[d] < hi[d]) break;
            idx[d] = lo[d];
        }
        if (d < 0) return;
    }
}

/* Call act(ps, k, slab_lo, slab_hi) for each slab of box [blo, bhi) minus the box
 * [ilo, ihi) it contains: along axis a, the parts before and after [ilo, ihi),
 * inside [ilo, ihi) on the axes before a and spanning the box on those after. */
static void st_ps_minus(const st_ps *ps, int64_t k, const int64_t *blo, const int64_t *bhi,
                        const int64_t *ilo, const int64_t *ihi,
                        void (*act)(const st_ps *, int64_t, const int64_t *, const int64_t *))
{
    const int64_t ndim = ps->ndim;
    int64_t lo[ST_MAX_DIMS], hi[ST_MAX_DIMS];
    for (int64_t a = 0; a < ndim; a++) {
        for (int side = 0; side < 2; side++) {
            for (int64_t d = 0; d < ndim; d++) {
                lo[d] = d < a ? ilo[d] : blo[d];
                hi[d] = d < a ? ihi[d] : bhi[d];
            }
            if (side == 0) hi[a] = ilo[a];
            else lo[a] = ihi[a];
            if (hi[a] > lo[a]) act(ps, k, lo, hi);
        }
    }
}

static void st_ps_zero_act(const st_ps *ps, int64_t k, const int64_t *lo, const int64_t *hi)
{
    (void)k;
    st_ps_zero(ps, lo, hi);
}

static void st_ps_acc_act(const st_ps *ps, int64_t k, const int64_t *lo, const int64_t *hi)
{
    const st_ps_term *t = &ps->terms[k];
    st_ps_run(ps, t->acc, t->n_acc, t->sources, lo, hi);
}

int st_node(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *p = ctx->params, n_params = ctx->n_params;
    int64_t d, k, j, at;
    if (n_params < 6) return ST_FALLBACK;
    const int64_t ndim = p[0], itemsize = p[1], n_terms = p[2], n_inputs = p[3];
    const st_kernel_fn fused = (st_kernel_fn)(intptr_t)p[4];
    const int64_t n_fused = p[5];
    const int64_t *fused_sources = p + 6;
    if (ndim < 1 || ndim > ST_MAX_DIMS || n_terms < 1 || n_terms > ST_PS_MAX_TERMS
        || n_in != ndim + n_inputs || n_fused < 0)
        return ST_FALLBACK;
    st_ps_term terms[n_terms];
    int64_t owner[n_inputs > 0 ? n_inputs : 1];
    int64_t shape[ST_MAX_DIMS];
    for (d = 0; d < ndim; d++) {
        if (in[d].ndim != 0) return ST_FALLBACK;
        memcpy(&shape[d], in[d].data, sizeof(int64_t));
        if (shape[d] < 0) return ST_FALLBACK;
    }
    /* The terms: boxes, inputs; every input must fit its box. */
    at = 6 + n_fused;
    for (k = 0; k < n_terms; k++) {
        st_ps_term *t = &terms[k];
        if (at + 6 > n_params) return ST_FALLBACK;
        t->first = p[at + 1];
        t->n_in = p[at + 2];
        t->acc = (st_kernel_fn)(intptr_t)p[at + 3];
        t->n_acc = p[at + 4];
        t->sources = p + at + 5;
        at += 5 + t->n_acc;
        if (at >= n_params) return ST_FALLBACK;
        const int64_t n_axes = p[at++];
        if (n_axes > ndim || at + 2 * n_axes > n_params || t->first < 0
            || t->first + t->n_in > n_inputs)
            return ST_FALLBACK;
        for (d = 0; d < ndim; d++) {
            t->lo[d] = d < n_axes ? st_ps_bound(p[at + 2 * d], shape[d], 0) : 0;
            t->hi[d] = d < n_axes ? st_ps_bound(p[at + 2 * d + 1], shape[d], shape[d]) : shape[d];
            if (t->hi[d] < t->lo[d]) t->hi[d] = t->lo[d];
        }
        at += 2 * n_axes;
        for (j = t->first; j < t->first + t->n_in; j++) owner[j] = k;
    }
    if (at + n_inputs != n_params) return ST_FALLBACK;
    const int64_t *masks = p + at;
    for (j = 0; j < n_inputs; j++) {
        const st_tensor *t = &in[ndim + j];
        const st_ps_term *term = &terms[owner[j]];
        const int64_t off = ndim - t->ndim;
        if (off < 0) return ST_FALLBACK;
        for (d = 0; d < t->ndim; d++) {
            const int64_t want = term->hi[off + d] - term->lo[off + d];
            if (t->shape[d] != want && !(t->shape[d] == 1 && ((masks[j] >> d) & 1)))
                return ST_FALLBACK;
        }
    }
    if (ctx->alloc(ctx, 0, ndim, shape, out)) return ST_ERROR;
    for (d = 0; d < ndim; d++)
        if (shape[d] == 0) return ST_OK;

    st_ps ps = {ndim, itemsize, n_terms, in + ndim, owner, terms, out};
    int64_t ilo[ST_MAX_DIMS], ihi[ST_MAX_DIMS], full_lo[ST_MAX_DIMS];
    int nonempty = fused != NULL;
    for (d = 0; d < ndim; d++) {
        ilo[d] = 0;
        ihi[d] = shape[d];
        full_lo[d] = 0;
        for (k = 0; k < n_terms; k++) {
            if (terms[k].lo[d] > ilo[d]) ilo[d] = terms[k].lo[d];
            if (terms[k].hi[d] < ihi[d]) ihi[d] = terms[k].hi[d];
        }
        if (ihi[d] <= ilo[d]) nonempty = 0;
    }
    if (!nonempty) {  /* no position every box covers: zeros, then each term */
        st_ps_zero(&ps, full_lo, shape);
        for (k = 0; k < n_terms; k++) st_ps_acc_act(&ps, k, terms[k].lo, terms[k].hi);
        return ST_OK;
    }
    st_ps_run(&ps, fused, n_fused, fused_sources, ilo, ihi);
    st_ps_minus(&ps, 0, full_lo, shape, ilo, ihi, st_ps_zero_act);
    for (k = 0; k < n_terms; k++)
        st_ps_minus(&ps, k, terms[k].lo, terms[k].hi, ilo, ihi, st_ps_acc_act);
    return ST_OK;
}

#endif /* SYMTHEANO_PADDED_SUM_NODE_H */
