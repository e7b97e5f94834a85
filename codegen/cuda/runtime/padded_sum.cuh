/* The kernels of a padded-sum library (codegen/cuda/padded_sum.py): PaddedSum
 * (symtheano/tensor/padded_sum.py), a sum of elementwise terms each written into
 * a box of an array of zeros, in one pass over the output. A generated source
 * defines
 *
 *   ST_PS_NDIM       the output's number of dimensions
 *   ST_PS_N_TERMS    the number of terms (at most 64: one bit each)
 *   ST_PS_N_IN       the number of term inputs
 *   st_tout          the output's C type
 *   st_ps_value(p, off, miss)
 *                    the output value at one position from the term inputs'
 *                    pointers p and byte offsets off there; bit k of miss is set
 *                    when term k's box does not cover the position (the inputs
 *                    of such a term are not read: their offsets lie outside)
 *
 * and includes this file. st_ps_value evaluates what the C back end's entry
 * (codegen/c/runtime/padded_sum_node.h) evaluates region by region, with the
 * same Composites (PaddedSum.kernels): where every box covers the position,
 * the whole sum T_1 + ... + T_K; elsewhere zero, to which each covering term
 * adds its contribution in term order. So every element gets the additions, in
 * the order, that the C back end and the reference make.
 *
 *   ST_SYM(padded_sum32)(st_ps_args), ST_SYM(padded_sum64)(st_ps_args)
 *       a grid-stride loop over the n elements of the (new, row-major) output:
 *       each thread finds its position's coordinates, which boxes cover it, and
 *       every term input's offset there; 32-bit index arithmetic while
 *       n + threads < 2^32, else 64-bit.
 *
 * The struct is packed by the host (codegen/cuda/padded_sum.py, `args_dtype`),
 * every array innermost dimension first. A term input of fewer dimensions is
 * aligned on the right; its strides are 0 where it is broadcast. `origin[j]` is
 * input j's offset at its box's first position, sum_d lo[term][d] * strides[j][d],
 * so that its offset at position x is sum_d x[d] * strides[j][d] - origin[j]
 * (integer arithmetic: no pointer is formed outside the box).
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[ST_PS_N_IN + 1];                /* the term inputs, then the output */
    int64_t n;                              /* elements of the output */
    int64_t shape[ST_PS_NDIM];              /* the output's */
    int64_t lo[ST_PS_N_TERMS][ST_PS_NDIM];  /* each term's box: [lo, hi) */
    int64_t hi[ST_PS_N_TERMS][ST_PS_NDIM];
    int64_t origin[ST_PS_N_IN];
    int64_t strides[ST_PS_N_IN][ST_PS_NDIM];
} st_ps_args;

template <typename I>
__device__ __forceinline__ void st_padded_sum(const st_ps_args &a)
{
    const I step = (I)gridDim.x * blockDim.x;
    for (I e = (I)blockIdx.x * blockDim.x + threadIdx.x; e < (I)a.n; e += step) {
        int64_t off[ST_PS_N_IN];
        uint64_t miss = 0;
#pragma unroll
        for (int j = 0; j < ST_PS_N_IN; j++) off[j] = -a.origin[j];
        I i = e;
#pragma unroll
        for (int d = 0; d < ST_PS_NDIM; d++) {
            I idx = i;
            if (d + 1 < ST_PS_NDIM) {
                const I n = (I)a.shape[d];
                const I q = i / n;
                idx = i - q * n;
                i = q;
            }
            const int64_t x = (int64_t)idx;
#pragma unroll
            for (int k = 0; k < ST_PS_N_TERMS; k++)
                if (x < a.lo[k][d] || x >= a.hi[k][d]) miss |= (uint64_t)1 << k;
#pragma unroll
            for (int j = 0; j < ST_PS_N_IN; j++) off[j] += x * a.strides[j][d];
        }
        ((st_tout *)a.p[ST_PS_N_IN])[e] = st_ps_value(a.p, off, miss);
    }
}

ST_INDEX_WIDTH_KERNELS(padded_sum, st_padded_sum, st_ps_args)
