/* The node ABI: how the program runner (codegen/c/vm/st_vm.c) calls a compiled
 * node, and how the node asks for its outputs.
 *
 * A node's library exports one entry
 *
 *     int st_node(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out);
 *
 * `in` describes the node's inputs (aligned, native byte order, never NULL data
 * unless empty). The entry checks what it needs (shapes, broadcasting), obtains
 * every output through ctx->alloc (a new C-contiguous array of the output's dtype)
 * or ctx->reuse (an input's own memory, for a node allowed to overwrite it), fills
 * them and returns ST_OK. It returns ST_FALLBACK when this call is not one it
 * handles (a shape error, an empty reduction, a layout it does not serve): the
 * runner then discards what was allocated and calls the op's reference `perform`,
 * which computes the result or raises the reference's precise error. ST_ERROR
 * means a callback failed (out of memory); the runner's error is already set.
 *
 * Node parameters known when the function is compiled (axes, declared broadcast
 * patterns, dtypes) arrive in ctx->params, so one compiled library serves every
 * function computing the same thing. Nothing here depends on Python.
 */
#ifndef SYMTHEANO_NODE_H
#define SYMTHEANO_NODE_H

#include <stdint.h>

#ifndef ST_MAX_DIMS
#define ST_MAX_DIMS 32
#endif

#define ST_OK 0
#define ST_FALLBACK 1
#define ST_ERROR -1

/* -- cffi: begin (codegen/c/node_call.py declares what lies between these lines) */
typedef struct {
    char *data;
    int64_t ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t strides[ST_MAX_DIMS];   /* in bytes */
} st_tensor;

typedef struct st_ctx st_ctx;
struct st_ctx {
    /* Output k becomes a new C-contiguous array of `shape`; *out describes it. */
    int (*alloc)(st_ctx *ctx, int64_t k, int64_t ndim, const int64_t *shape, st_tensor *out);
    /* Output k is input j itself (the node writes into it); *out describes it. */
    int (*reuse)(st_ctx *ctx, int64_t k, int64_t j, st_tensor *out);
    /* Output k is a view of input j's memory with the layout in *view (its data
     * pointer lies inside input j's buffer). */
    int (*view)(st_ctx *ctx, int64_t k, int64_t j, const st_tensor *view);
    const int64_t *params;
    int64_t n_params;
};

typedef int (*st_node_fn)(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out);
/* -- cffi: end */

/* The shape of in[0..n_in) broadcast together, aligned on the right, into `ndim`
 * dimensions (written to `shape`); 0 when the sizes cannot broadcast or a size-1
 * dimension broadcasts without being declared so (bit d of masks[k]: input k
 * declared its dimension d broadcastable), which the reference reports. */
static inline int st_broadcast(const st_tensor *in, int64_t n_in, int64_t ndim,
                               const int64_t *masks, int64_t *shape)
{
    int64_t d, k;
    for (d = 0; d < ndim; d++) shape[d] = 1;
    for (k = 0; k < n_in; k++) {
        const int64_t off = ndim - in[k].ndim;
        if (off < 0) return 0;
        for (d = 0; d < in[k].ndim; d++) {
            const int64_t n = in[k].shape[d];
            if (n == 1) continue;
            if (shape[off + d] == 1) shape[off + d] = n;
            else if (shape[off + d] != n) return 0;
        }
    }
    for (k = 0; k < n_in; k++) {
        const int64_t off = ndim - in[k].ndim;
        for (d = 0; d < in[k].ndim; d++)
            if (in[k].shape[d] != shape[off + d] && !((masks[k] >> d) & 1)) return 0;
    }
    return 1;
}

#endif /* SYMTHEANO_NODE_H */
