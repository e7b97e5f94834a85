/* The node entry of a reduction kernel (see st_node.h): broadcasting of the
 * inputs, the output, the loop layout, then the kernel st_reduce (reduce.h). A
 * generated reduction source (codegen/c/reduce.py) includes this file after
 * reduce.h. Parameters (ctx->params):
 *
 *     [0] ndim of the reduced value (the input's, or the fused Composite's)
 *     [1] bit d set: dimension d is reduced
 *     [2] 1: visit the reduced positions in C order (argmax, argmin, whose index
 *         counts in it); 0: in memory order, as NumPy's iterator does
 *     [3 + k] bit d set: input k declared dimension d broadcastable (static size 1)
 *
 * Inputs are aligned on the right, as NumPy broadcasts. The node falls back to
 * the reference (ST_FALLBACK) for sizes that do not broadcast, a dimension of size
 * 1 broadcast without being declared so (the reference raises the error naming the
 * input), and empty inputs (the reference returns the identity or raises).
 *
 * The layout: the output dimensions first, the reduced ones last; size-1
 * dimensions dropped; each group put in memory order (largest input stride
 * first, a stable sort, so the last dimension moves fastest), except reduced
 * dimensions of C-order kinds; neighbouring dimensions merged where they are
 * contiguous in every operand. The loop order is tiles when the inputs move
 * faster along the last output dimension than along the last reduced one (a sum
 * over axis 0 of a C-ordered matrix), rows otherwise. Results depend on this
 * layout (sums round in the order it gives), so it is computed here only.
 */
#ifndef SYMTHEANO_REDUCE_NODE_H
#define SYMTHEANO_REDUCE_NODE_H

#include "st_node.h"

#define ST_N_OPS (ST_N_IN + 1)  /* the inputs, then the output */

typedef struct {
    int64_t n;
    int64_t st[ST_N_OPS];  /* byte strides of every operand */
} st_dim;

static int64_t st_abs64(int64_t x) { return x < 0 ? -x : x; }

/* the largest input stride of a dimension: the memory-order sort key */
static int64_t st_dim_key(const st_dim *e)
{
    int64_t key = 0, k;
    for (k = 0; k < ST_N_IN; k++)
        if (st_abs64(e->st[k]) > key) key = st_abs64(e->st[k]);
    return key;
}

/* The dimensions `dims` (count c) of `shape` whose size is not 1, in memory order
 * when `reorder`, merged where contiguous in every operand, into `res`; at least
 * one dimension (size 1, strides 0). Returns how many. */
static int64_t st_group(const int64_t *dims, int64_t c, const int64_t *shape,
                        int64_t full[ST_N_OPS][ST_MAX_DIMS], int reorder, st_dim *res)
{
    st_dim entries[ST_MAX_DIMS];
    int64_t n_e = 0, i, j, k, m = 0;
    for (i = 0; i < c; i++) {
        const int64_t d = dims[i];
        if (shape[d] == 1) continue;
        entries[n_e].n = shape[d];
        for (k = 0; k < ST_N_OPS; k++) entries[n_e].st[k] = full[k][d];
        n_e++;
    }
    if (reorder) {  /* stable insertion sort, largest key first */
        for (i = 1; i < n_e; i++) {
            const st_dim e = entries[i];
            const int64_t key = st_dim_key(&e);
            for (j = i; j > 0 && st_dim_key(&entries[j - 1]) < key; j--)
                entries[j] = entries[j - 1];
            entries[j] = e;
        }
    }
    for (i = 0; i < n_e; i++) {
        int merge = m > 0;
        for (k = 0; merge && k < ST_N_OPS; k++)
            merge = res[m - 1].st[k] == entries[i].st[k] * entries[i].n;
        if (merge) {
            res[m - 1].n *= entries[i].n;
            for (k = 0; k < ST_N_OPS; k++) res[m - 1].st[k] = entries[i].st[k];
        } else {
            res[m++] = entries[i];
        }
    }
    if (m == 0) {
        res[0].n = 1;
        for (k = 0; k < ST_N_OPS; k++) res[0].st[k] = 0;
        m = 1;
    }
    return m;
}

int st_node(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const int64_t ndim = prm[0], reduced = prm[1], ordered = prm[2];
    int64_t shape[ST_MAX_DIMS], kept[ST_MAX_DIMS], axes[ST_MAX_DIMS], out_shape[ST_MAX_DIMS];
    int64_t full[ST_N_OPS][ST_MAX_DIMS];
    int64_t d, k, n_kept = 0, n_axes = 0;
    if (n_in != ST_N_IN || ctx->n_params != 3 + n_in || ndim < 0 || ndim > ST_MAX_DIMS)
        return ST_FALLBACK;
    if (!st_broadcast(in, n_in, ndim, prm + 3, shape)) return ST_FALLBACK;
    for (k = 0; k < n_in; k++) {
        const int64_t off = ndim - in[k].ndim;
        for (d = 0; d < ndim; d++) full[k][d] = 0;
        for (d = 0; d < in[k].ndim; d++)
            full[k][off + d] = in[k].shape[d] == 1 ? 0 : in[k].strides[d];
    }
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0) return ST_FALLBACK;  /* the reference's identity or error */
        if ((reduced >> d) & 1) {
            axes[n_axes++] = d;
        } else {
            out_shape[n_kept] = shape[d];
            kept[n_kept++] = d;
        }
    }
    if (ctx->alloc(ctx, 0, n_kept, out_shape, out)) return ST_ERROR;
    for (d = 0; d < ndim; d++) full[ST_N_IN][d] = 0;
    for (d = 0; d < n_kept; d++) full[ST_N_IN][kept[d]] = out->strides[d];

    st_dim o[ST_MAX_DIMS], r[ST_MAX_DIMS];
    int64_t n_o = st_group(kept, n_kept, shape, full, 1, o);
    const int64_t n_r = st_group(axes, n_axes, shape, full, !ordered, r);
    if (n_o == 1 && o[0].n == 1) n_o = 0;  /* a single output element */
    int64_t tiles = 0;
    if (n_o > 0) {
        int64_t along_out = 0, along_red = 0;
        for (k = 0; k < ST_N_IN; k++) {
            along_out += st_abs64(o[n_o - 1].st[k]);
            along_red += st_abs64(r[n_r - 1].st[k]);
        }
        tiles = along_out < along_red;
    }
    const int64_t total = n_o + n_r;
    if (total > ST_MAX_DIMS) return ST_FALLBACK;  /* 32 dimensions, none reduced */
    int64_t sizes[2 * ST_MAX_DIMS], strides[ST_N_OPS * 2 * ST_MAX_DIMS];
    char *data[ST_N_OPS];
    for (d = 0; d < total; d++) sizes[d] = d < n_o ? o[d].n : r[d - n_o].n;
    for (k = 0; k < ST_N_OPS; k++) {
        for (d = 0; d < total; d++)
            strides[k * total + d] = d < n_o ? o[d].st[k] : r[d - n_o].st[k];
        data[k] = k < ST_N_IN ? in[k].data : out->data;
    }
    st_reduce(n_o, n_r, tiles, sizes, data, strides);
    return ST_OK;
}

#endif /* SYMTHEANO_REDUCE_NODE_H */
