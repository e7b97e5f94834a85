/* The node entry of an elementwise kernel (see st_node.h): broadcasting, the
 * output, then the kernel over the merged loop layout (elemwise_call.h). A generated
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
#include "elemwise_call.h"

int st_node(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    const int64_t *prm = ctx->params;
    const int64_t ndim = prm[0], inplace = prm[1], n_ops = n_in + 1;
    int64_t shape[ST_MAX_DIMS];
    int64_t d, k, size = 1;
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
    const st_tensor *ops[n_ops];
    for (k = 0; k < n_in; k++) ops[k] = &in[k];
    ops[n_in] = out;
    st_elemwise_call(st_kernel, n_ops, ops, ndim, shape);
    return ST_OK;
}

#endif /* SYMTHEANO_ELEMWISE_NODE_H */
