/* The kernel of a log-sum-exp library (codegen/cuda/nnet.py): LogSumExp over a set
 * of axes ("lanes") and SoftmaxCrossentropy over the last axis (tensor/stable.py).
 * A generated source defines
 *
 *   st_t           the array's C type (float or double)
 *   ST_XENT        0: LogSumExp, out = m + log1p(rest)
 *                  1: SoftmaxCrossentropy, out = log1p(rest) - (x[label] - m)
 *   st_label       (ST_XENT only) the labels' C type
 *
 * and includes this file. m is the row's maximum (NaN-propagating); rest is the sum
 * of exp(x - m) with one maximal term left out, which log1p adds back, as the
 * reference does (tensor/stable._shifted_log_sum): every maximal term is exactly
 * exp(0) = 1, so the kernel sums the others and adds (count of maxima - 1). Where m
 * is not finite the result is m (LogSumExp; -inf over an empty axis) or
 * m - x[label]. x - m and the exponentials are computed in st_t, as the reference
 * computes them, and summed in double.
 *
 * ST_SYM(logsumexp)(args, status): block r (grid-stride over the rows) reduces its
 * row as softmax.cuh does. Operands: 0 the input, 1 the output, 2 the labels; a
 * label out of [0, n_lanes) sets *status to 1 and leaves the row unwritten (the
 * host then lets the reference raise its error).
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[3];
    int64_t n_rows, n_lanes;
    int32_t row_ndim, lane_ndim;
    int64_t label_stride; /* x's byte stride along the class axis (ST_XENT) */
    int64_t row_shape[ST_CUDA_MAX_DIMS];
    int64_t lane_shape[ST_CUDA_MAX_DIMS];
    int64_t row_strides[3][ST_CUDA_MAX_DIMS];
    int64_t lane_strides[1][ST_CUDA_MAX_DIMS];
} st_logsumexp_args;

struct st_lse_max_fn {
    __device__ __forceinline__ st_t operator()(const st_t a, const st_t b) const
    {
        return (a != a) ? a : ((b != b) ? b : (a >= b ? a : b));
    }
};

/* The sum of the terms that are not maximal, and how many were. */
struct st_lse_part {
    double sum;
    long long maxima;
};

struct st_lse_part_fn {
    __device__ __forceinline__ st_lse_part operator()(const st_lse_part a,
                                                       const st_lse_part b) const
    {
        return {a.sum + b.sum, a.maxima + b.maxima};
    }
};

#define ST_LANE(j) (*(const st_t *)(a.p[0] + base[0] + st_lane_offset(a, j)))

static __device__ __forceinline__ int64_t st_lane_offset(const st_logsumexp_args &a, int64_t j)
{
    int64_t off[1];
    st_offsets<int64_t, 1>(j, a.lane_ndim, a.lane_shape, a.lane_strides, off);
    return off[0];
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(logsumexp)(const __grid_constant__ st_logsumexp_args a, int *status)
{
    for (int64_t r = blockIdx.x; r < a.n_rows; r += gridDim.x) {
        int64_t base[3];
        st_offsets<int64_t, 3>(r, a.row_ndim, a.row_shape, a.row_strides, base);
#if ST_XENT
        const int64_t label = (int64_t)*(const st_label *)(a.p[2] + base[2]);
        if (label < 0 || label >= a.n_lanes) {
            if (threadIdx.x == 0) *status = 1;
            continue; /* the same for the whole block: no barrier is skipped by half of it */
        }
#endif
        st_t m = -cuda::std::numeric_limits<st_t>::infinity();
        for (int64_t j = threadIdx.x; j < a.n_lanes; j += ST_BLOCK)
            m = st_lse_max_fn()(m, ST_LANE(j));
        m = st_block_reduce(m, st_lse_max_fn());
        st_lse_part part = {0.0, 0};
        if (isfinite(m)) {
            for (int64_t j = threadIdx.x; j < a.n_lanes; j += ST_BLOCK) {
                const st_t x = ST_LANE(j);
                if (x == m) part.maxima++;
                else part.sum += (double)exp((st_t)(x - m));
            }
        }
        part = st_block_reduce(part, st_lse_part_fn());
        if (threadIdx.x != 0) continue;
        double result;
        if (isfinite(m)) {
            const double rest = log1p(part.sum + (double)(part.maxima - 1));
#if ST_XENT
            const st_t picked = *(const st_t *)(a.p[0] + base[0] + label * a.label_stride);
            result = rest - (double)(st_t)(picked - m);
#else
            result = (double)m + rest;
#endif
        } else {
#if ST_XENT
            result = (double)m - (double)*(const st_t *)(a.p[0] + base[0] + label * a.label_stride);
#else
            result = (double)m;
#endif
        }
        *(st_t *)(a.p[1] + base[1]) = (st_t)result;
    }
}

#undef ST_LANE
