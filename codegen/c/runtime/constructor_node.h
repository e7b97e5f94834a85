/* Node entries (st_node.h) for ops that build an array from sizes alone: Eye
 * (numpy.eye). Their own small library (codegen/c/constructor_emit.py), so that
 * adding one changes no other library's cache key.
 */
#ifndef SYMTHEANO_CONSTRUCTOR_NODE_H
#define SYMTHEANO_CONSTRUCTOR_NODE_H

#include <stdint.h>
#include <string.h>

#include "st_node.h"

/* dtype codes in params: kind << 8 | itemsize (shape_emit.dtype_code) */
#define ST_CN_INT 1
#define ST_CN_UINT 2
#define ST_CN_FLOAT 3
#define ST_CN_BOOL 4

/* The value 1 of dtype `code` into `one` (its bytes); 0 when the dtype has none here. */
static int st_cn_one(int64_t code, unsigned char *one)
{
    const int64_t kind = code >> 8, size = code & 0xff;
    if (kind == ST_CN_FLOAT && size == 8) *(double *)one = 1.0;
    else if (kind == ST_CN_FLOAT && size == 4) *(float *)one = 1.0f;
    else if (kind == ST_CN_FLOAT || kind < ST_CN_INT || kind > ST_CN_BOOL) return 0;
    else if (size == 1) *(uint8_t *)one = 1;
    else if (size == 2) *(uint16_t *)one = 1;
    else if (size == 4) *(uint32_t *)one = 1;
    else if (size == 8) *(uint64_t *)one = 1;
    else return 0;
    return 1;
}

/* Eye: [dtype code of the output]; inputs n, m, k (int64 scalars). An n x m
 * array with ones where column - row == k. Negative sizes, or a size that does
 * not fit, decline (the reference raises). */
int st_eye(st_ctx *ctx, const st_tensor *in, int64_t n_in, st_tensor *out)
{
    _Alignas(8) unsigned char one[8];
    int64_t nmk[3], shape[2], j;
    if (n_in != 3 || ctx->n_params != 1 || !st_cn_one(ctx->params[0], one)) return ST_FALLBACK;
    const int64_t itemsize = ctx->params[0] & 0xff;
    for (j = 0; j < 3; j++) {
        if (in[j].ndim != 0) return ST_FALLBACK;
        memcpy(&nmk[j], in[j].data, 8);
    }
    const int64_t n = nmk[0], m = nmk[1], k = nmk[2];
    if (n < 0 || m < 0) return ST_FALLBACK;
    if (m > 0 && n > INT64_MAX / m / itemsize) return ST_FALLBACK;
    shape[0] = n;
    shape[1] = m;
    if (ctx->alloc(ctx, 0, 2, shape, out)) return ST_ERROR;
    if (n == 0 || m == 0) return ST_OK;
    memset(out->data, 0, (size_t)(n * m * itemsize));
    if (k >= m || k <= -n) return ST_OK;  /* the diagonal misses the array */
    /* row i holds its one at column i + k, for the rows where that column exists */
    for (int64_t i = k < 0 ? -k : 0; i < n && i + k < m; i++)
        memcpy(out->data + i * out->strides[0] + (i + k) * itemsize, one, (size_t)itemsize);
    return ST_OK;
}

#endif /* SYMTHEANO_CONSTRUCTOR_NODE_H */
