/* The kernel of a softmax library (codegen/cuda/nnet.py): Softmax and LogSoftmax
 * along a set of axes ("lanes") of a float array. A generated source defines
 *
 *   st_t           the array's C type (float or double), in which everything is
 *                  computed, as the reference does (NumPy computes float32 in float32)
 *   ST_LOG         0: softmax, exp(x - max) / sum(exp(x - max))
 *                  1: log_softmax, (x - m) - log(sum(exp(x - m))), m the max, 0 where
 *                     the max is not finite
 *
 * and includes this file. ST_SYM(softmax)(args): block r (grid-stride over the
 * rows, the positions of the other axes) takes the maximum of its row's lanes
 * (NaN-propagating, as numpy.max), then the sum of the exponentials, both as
 * block trees, then writes every lane. Operand 0 is the input, 1 the output.
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[2];
    int64_t n_rows, n_lanes;
    int32_t row_ndim, lane_ndim;
    int64_t row_shape[ST_CUDA_MAX_DIMS];
    int64_t lane_shape[ST_CUDA_MAX_DIMS];
    int64_t row_strides[2][ST_CUDA_MAX_DIMS];
    int64_t lane_strides[2][ST_CUDA_MAX_DIMS];
} st_softmax_args;

struct st_max_fn {
    __device__ __forceinline__ st_t operator()(const st_t a, const st_t b) const
    {
        return (a != a) ? a : ((b != b) ? b : (a >= b ? a : b));
    }
};

struct st_sum_fn {
    __device__ __forceinline__ st_t operator()(const st_t a, const st_t b) const { return a + b; }
};

#define ST_LANE_AT(k) (a.p[k] + base[k] + off[k])

extern "C" __global__ void __launch_bounds__(ST_BLOCK) ST_SYM(softmax)(const __grid_constant__ st_softmax_args a)
{
    for (int64_t r = blockIdx.x; r < a.n_rows; r += gridDim.x) {
        int64_t base[2], off[2];
        st_offsets<int64_t, 2>(r, a.row_ndim, a.row_shape, a.row_strides, base);
        st_t m = -cuda::std::numeric_limits<st_t>::infinity();
        for (int64_t j = threadIdx.x; j < a.n_lanes; j += ST_BLOCK) {
            st_offsets<int64_t, 2>(j, a.lane_ndim, a.lane_shape, a.lane_strides, off);
            m = st_max_fn()(m, *(const st_t *)ST_LANE_AT(0));
        }
        m = st_block_reduce(m, st_max_fn());
#if ST_LOG
        if (!isfinite(m)) m = (st_t)0;
#endif
        st_t total = (st_t)0;
        for (int64_t j = threadIdx.x; j < a.n_lanes; j += ST_BLOCK) {
            st_offsets<int64_t, 2>(j, a.lane_ndim, a.lane_shape, a.lane_strides, off);
            total += exp(*(const st_t *)ST_LANE_AT(0) - m);
        }
        total = st_block_reduce(total, st_sum_fn());
#if ST_LOG
        const st_t log_total = log(total);
#endif
        for (int64_t j = threadIdx.x; j < a.n_lanes; j += ST_BLOCK) {
            st_offsets<int64_t, 2>(j, a.lane_ndim, a.lane_shape, a.lane_strides, off);
            const st_t shifted = *(const st_t *)ST_LANE_AT(0) - m;
#if ST_LOG
            *(st_t *)ST_LANE_AT(1) = shifted - log_total;
#else
            *(st_t *)ST_LANE_AT(1) = exp(shifted) / total;
#endif
        }
    }
}

#undef ST_LANE_AT
