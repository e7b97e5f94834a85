/* The kernel of a one-hot library (codegen/cuda/indexing.py): OneHot
 * (tensor/nnet.py), out[..., k] = (indices[...] == k). A generated source defines
 *
 *   st_t     the output's C type
 *   st_idx   the indices' C type
 *
 * and includes this file. ST_SYM(one_hot)(args, status): a grid-stride loop over
 * the n elements of the (new, row-major) output; element e is class
 * k = e % n_classes of index number e / n_classes, read from the indices at their
 * strides (any layout). An index out of [0, n_classes) sets *status to 1 (the host
 * then lets the reference raise its error).
 */
#include "symtheano_rt.cuh"

typedef struct {
    char *p[2]; /* the indices, the output */
    int64_t n, n_classes;
    int32_t ndim;
    uint32_t unused;
    int64_t shape[ST_CUDA_MAX_DIMS];      /* the indices', innermost first */
    int64_t strides[1][ST_CUDA_MAX_DIMS];
} st_one_hot_args;

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(one_hot)(const __grid_constant__ st_one_hot_args a, int *status)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < a.n; e += step) {
        const int64_t pos = e / a.n_classes, k = e - pos * a.n_classes;
        int64_t off[1];
        st_offsets<int64_t, 1>(pos, a.ndim, a.shape, a.strides, off);
        const int64_t c = st_position(*(const st_idx *)(a.p[0] + off[0]), a.n_classes, false);
        if (c < 0 && k == 0) *status = 1;
        ((st_t *)a.p[1])[e] = (st_t)(c == k);
    }
}
