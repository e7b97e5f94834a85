/* The kernels of a take library (codegen/cuda/indexing.py): integer-array indexing
 * along one axis, x[:, ..., :, idx] (AdvancedSubtensor, as numpy.take), and its
 * functional updates (AdvancedIncSubtensor: set, or increment like np.add.at).
 * A generated source defines
 *
 *   st_t           the array's C type
 *   st_idx         the indices' C type
 *   ST_ATOMIC_ADD  1 when st_t has an atomicAdd (float, double, 32- and 64-bit
 *                  integers), which scatter_add needs; else 0
 *
 * and includes this file. Two operands are walked together over the "dense" space
 * outer x idx x inner (the dimensions before the axis, the index array's, those
 * after it): operand 0 is the indexed array (x for take, the output copy for the
 * updates), reached at outer + idx[j] * axis_stride + inner; operand 1 the dense
 * array (take's new output, or the update's value broadcast: strides 0). Negative
 * indices count from the end; one outside [-axis_size, axis_size) sets *status to 1
 * and is not followed (the host then lets the reference raise its error).
 *
 *   ST_SYM(take)(args, status)           dense[e] = x[..., idx[j], ...]
 *   ST_SYM(scatter_claim)(args, status, winner)
 *                                        winner[i] = the last j with idx[j] == i
 *                                        (atomicMax over a table preset to -1)
 *   ST_SYM(scatter_set)(args, status, winner)
 *                                        out[..., idx[j], ...] = dense[e] where
 *                                        winner[idx[j]] == j: with repeated indices
 *                                        the last value is kept, as NumPy keeps it,
 *                                        whatever order threads run in
 *   ST_SYM(scatter_add)(args, status)    out[..., idx[j], ...] += dense[e], through
 *                                        atomicAdd: float sums at repeated indices
 *                                        are rounded in the order threads arrive
 *                                        (integer sums are exact and wrap)
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[3]; /* the indexed array, the dense array, the indices */
    int64_t n, n_idx, n_inner;
    int64_t axis_size, axis_stride;
    int32_t outer_ndim, idx_ndim, inner_ndim;
    uint32_t unused;
    int64_t outer_shape[ST_CUDA_MAX_DIMS];
    int64_t idx_shape[ST_CUDA_MAX_DIMS];
    int64_t inner_shape[ST_CUDA_MAX_DIMS];
    int64_t outer_strides[2][ST_CUDA_MAX_DIMS]; /* indexed, dense */
    int64_t idx_strides[2][ST_CUDA_MAX_DIMS];   /* indices, dense */
    int64_t inner_strides[2][ST_CUDA_MAX_DIMS]; /* indexed, dense */
} st_take_args;

/* Where dense element e is: the byte offsets of its indexed (without the axis) and
 * dense elements, its position j in the index array, and idx[j] (counted from 0);
 * false for an index out of range. */
static __device__ __forceinline__ bool st_take_at(const st_take_args &a, int64_t e,
                                                  int64_t (&off)[2], int64_t *j, int64_t *i)
{
    const int64_t t = e / a.n_inner, r = e - t * a.n_inner;
    const int64_t o = t / a.n_idx;
    *j = t - o * a.n_idx;
    int64_t outer[2], inner[2], at[2];
    st_offsets<int64_t, 2>(o, a.outer_ndim, a.outer_shape, a.outer_strides, outer);
    st_offsets<int64_t, 2>(r, a.inner_ndim, a.inner_shape, a.inner_strides, inner);
    st_offsets<int64_t, 2>(*j, a.idx_ndim, a.idx_shape, a.idx_strides, at);
    off[0] = outer[0] + inner[0];
    off[1] = outer[1] + inner[1] + at[1];
    *i = st_position(*(const st_idx *)(a.p[2] + at[0]), a.axis_size, true);
    return *i >= 0;
}

#define ST_GRID_STRIDE(e, n)                                                             \
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < (n);            \
         e += (int64_t)gridDim.x * blockDim.x)

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(take)(const __grid_constant__ st_take_args a, int *status)
{
    ST_GRID_STRIDE(e, a.n) {
        int64_t off[2], j, i;
        if (!st_take_at(a, e, off, &j, &i)) {
            *status = 1;
            continue;
        }
        *(st_t *)(a.p[1] + off[1]) = *(const st_t *)(a.p[0] + off[0] + i * a.axis_stride);
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(scatter_claim)(const __grid_constant__ st_take_args a, int *status, int *winner)
{
    /* one thread per index: the first dense element of each (outer 0, inner 0) */
    ST_GRID_STRIDE(j, a.n_idx) {
        int64_t off[2], jj, i;
        if (!st_take_at(a, j * a.n_inner, off, &jj, &i)) {
            *status = 1;
            continue;
        }
        atomicMax(winner + i, (int)j);
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(scatter_set)(const __grid_constant__ st_take_args a, int *status, const int *winner)
{
    ST_GRID_STRIDE(e, a.n) {
        int64_t off[2], j, i;
        if (!st_take_at(a, e, off, &j, &i)) {
            *status = 1;
            continue;
        }
        if (winner[i] == (int)j)
            *(st_t *)(a.p[0] + off[0] + i * a.axis_stride) = *(const st_t *)(a.p[1] + off[1]);
    }
}

#if ST_ATOMIC_ADD
extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(scatter_add)(const __grid_constant__ st_take_args a, int *status)
{
    ST_GRID_STRIDE(e, a.n) {
        int64_t off[2], j, i;
        if (!st_take_at(a, e, off, &j, &i)) {
            *status = 1;
            continue;
        }
        st_atomic_add((st_t *)(a.p[0] + off[0] + i * a.axis_stride),
                      *(const st_t *)(a.p[1] + off[1]));
    }
}
#endif

#undef ST_GRID_STRIDE
