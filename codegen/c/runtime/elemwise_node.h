/* The node entry of an elementwise kernel (see st_node.h): broadcasting, the
 * output, the merged loop layout, then the kernel itself. A generated
 * elementwise source defines
 *
 *     void st_kernel(int64_t ndim, const int64_t *shape, char **data,
 *                    const int64_t *strides);
 *
 * and includes this file after it. Parameters (ctx->params):
 *
 *     [0] ndim of the output      [1] input the node may overwrite, or -1
 *     [2 + k] bit d set: input k declared dimension d broadcastable (static size 1)
 *
 * Inputs are aligned on the right, as NumPy broadcasts. A dimension of size 1
 * that was not declared broadcastable while others are larger, or sizes that
 * cannot broadcast, make the node fall back to the reference, which raises the
 * error that names the input.
 */
#ifndef SYMTHEANO_ELEMWISE_NODE_H
#define SYMTHEANO_ELEMWISE_NODE_H

#include "st_node.h"

int st_node(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const int64_t ndim = prm[0], inplace = prm[1], n_ops = n_in + 1;
    int64_t shape[ST_MAX_DIMS];
    int64_t d, k, m, size = 1;
    if (ndim > ST_MAX_DIMS || ctx->n_params != 2 + n_in) return ST_FALLBACK;
    if (!st_broadcast(in, n_in, ndim, prm + 2, shape)) return ST_FALLBACK;
    int same = 0;
    if (inplace >= 0 && in[inplace].ndim == ndim) {
        same = 1;
        for (d = 0; d < ndim; d++) same &= in[inplace].shape[d] == shape[d];
    }
    if (same ? ctx->reuse(ctx, 0, inplace, out) : ctx->alloc(ctx, 0, ndim, shape, out))
        return ST_ERROR;
    for (d = 0; d < ndim; d++) size *= shape[d];
    if (size == 0) return ST_OK;

    /* Loop layout: size-1 dimensions dropped, dimensions contiguous in every
     * operand merged, so the innermost loop is as long as possible. */
    int64_t m_shape[ST_MAX_DIMS];
    int64_t m_strides[n_ops * ST_MAX_DIMS];
    int64_t full[n_ops];
    char *data[n_ops];
    m = 0;
    for (d = 0; d < ndim; d++) {
        const int64_t n = shape[d];
        if (n == 1) continue;
        for (k = 0; k < n_ops; k++) {
            const st_tensor *t = k < n_in ? &in[k] : out;
            const int64_t local = d - (ndim - t->ndim);
            full[k] = (local < 0 || t->shape[local] == 1) ? 0 : t->strides[local];
        }
        int merge = m > 0;
        for (k = 0; merge && k < n_ops; k++)
            merge = m_strides[k * ST_MAX_DIMS + m - 1] == full[k] * n;
        if (merge) {
            m_shape[m - 1] *= n;
            for (k = 0; k < n_ops; k++) m_strides[k * ST_MAX_DIMS + m - 1] = full[k];
        } else {
            m_shape[m] = n;
            for (k = 0; k < n_ops; k++) m_strides[k * ST_MAX_DIMS + m] = full[k];
            m++;
        }
    }
    if (m == 0) {
        m = 1;
        m_shape[0] = 1;
        for (k = 0; k < n_ops; k++) m_strides[k * ST_MAX_DIMS] = 0;
    }
    int64_t strides[n_ops * m];
    for (k = 0; k < n_ops; k++) {
        for (d = 0; d < m; d++) strides[k * m + d] = m_strides[k * ST_MAX_DIMS + d];
        data[k] = k < n_in ? in[k].data : out->data;
    }
    st_kernel(m, m_shape, data, strides);
    return ST_OK;
}

#endif /* SYMTHEANO_ELEMWISE_NODE_H */
