/* The kernels of an elementwise library (codegen/cuda/elemwise.py). A generated
 * source says what one element is and then includes this file:
 *
 *   ST_N_IN              number of inputs (operand ST_N_IN is the output)
 *   st_t0, st_t1, ...    C types of the inputs; st_tout of the output
 *   st_apply(i0, i1, ...)
 *                        the output value from the input values
 *   ST_ARGS(L)           L(0, st_t0), L(1, st_t1), ...: st_apply's arguments, each
 *                        read by the macro L(operand, type)
 *   ST_INPUTS(X)         X(0, st_t0) X(1, st_t1) ...
 *
 * Three kernels, each a grid-stride loop over the n elements of the output:
 *
 *   ST_SYM(ew_contig)(st_contig_args)
 *       every operand contiguous and aligned to ST_VEC elements, or one value
 *       broadcast everywhere (bit k of bcast): ST_VEC elements per thread through
 *       vector loads and stores, the last n % ST_VEC one per thread
 *   ST_SYM(ew_strided32)(st_strided_args), ST_SYM(ew_strided64)(st_strided_args)
 *       any strides (0 where broadcast): each operand's position from the linear
 *       index through the shape, in 32-bit arithmetic while n + threads < 2^32, else
 *       64-bit. A contiguous but unaligned layout is one dimension here: a multiply
 *       per operand, no division.
 *
 * Arguments are structs passed by value (the host packs the same layout,
 * codegen/cuda/layout.py); shapes and strides innermost dimension first, strides
 * in bytes.
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[ST_N_IN + 1];
    int64_t n;
    uint32_t bcast;
    uint32_t unused;
} st_contig_args;

typedef struct {
    char *p[ST_N_IN + 1];
    int64_t n;
    int32_t ndim;
    uint32_t unused;
    int64_t shape[ST_CUDA_MAX_DIMS];
    int64_t strides[ST_N_IN + 1][ST_CUDA_MAX_DIMS];
} st_strided_args;

#define ST_LD_ONE(k, T) (((a.bcast >> (k)) & 1u) ? *(const T *)a.p[k] : ((const T *)a.p[k])[i])
#define ST_LD_LANE(k, T) v##k[j]
#define ST_LD_PACK(k, T) T v##k[ST_VEC]; st_load_pack<T, ST_VEC>(v##k, a.p[k], i, (a.bcast >> (k)) & 1u);
#define ST_LD_STRIDED(k, T) (*(const T *)(a.p[k] + off[k]))

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(ew_contig)(const __grid_constant__ st_contig_args a)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    const int64_t first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t packed = a.n - a.n % ST_VEC;
    for (int64_t i = first * ST_VEC; i < packed; i += step * ST_VEC) {
        ST_INPUTS(ST_LD_PACK)
        st_tout out[ST_VEC];
#pragma unroll
        for (int j = 0; j < ST_VEC; j++) out[j] = st_apply(ST_ARGS(ST_LD_LANE));
        st_store_pack<st_tout, ST_VEC>(out, a.p[ST_N_IN], i);
    }
    for (int64_t i = packed + first; i < a.n; i += step)
        ((st_tout *)a.p[ST_N_IN])[i] = st_apply(ST_ARGS(ST_LD_ONE));
}

template <typename I>
__device__ __forceinline__ void st_ew_strided(const st_strided_args &a)
{
    const I step = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < (I)a.n; i += step) {
        int64_t off[ST_N_IN + 1];
        st_offsets<I, ST_N_IN + 1>(i, a.ndim, a.shape, a.strides, off);
        *(st_tout *)(a.p[ST_N_IN] + off[ST_N_IN]) = st_apply(ST_ARGS(ST_LD_STRIDED));
    }
}

ST_INDEX_WIDTH_KERNELS(ew_strided, st_ew_strided, st_strided_args)

#undef ST_LD_ONE
#undef ST_LD_LANE
#undef ST_LD_PACK
#undef ST_LD_STRIDED
