/* The kernels of an advanced-indexing library (codegen/cuda/advindex.py): NumPy's
 * integer-array and boolean-mask indexing in general (several index arrays that
 * broadcast together, mixed with slices, integers and new axes), x[idx]
 * (AdvancedSubtensor), and its functional updates (AdvancedIncSubtensor: set,
 * or increment accumulating at repeated indices like np.add.at). A generated
 * source defines
 *
 *   st_t           the array's C type
 *   ST_ATOMIC_ADD  1 when the increment may use atomicAdd (exact integer sums
 *                  only: 32- and 64-bit integers); then adv_scatter_add exists
 *   ST_IS_BOOL     1 for bool arrays (an increment is a logical or, as NumPy's)
 *
 * and includes this file. The index arrays' types are not part of the source:
 * each array has a kind (0-3: int8..int64, 4-7: uint8..uint64) in the args.
 *
 * The host (advindex.py) reduces the index to this form: the basic entries
 * (slices, integers, new axes) are folded into the start of `x` and the strides
 * of the "basic" dimensions; the index arrays (a mask becomes one int64
 * coordinate array per dimension, from nonzero_count / scan / nonzero_write)
 * broadcast to the index space B; the dense space (the result's shape, or the
 * value's broadcast to it) is outer x B x inner in C order, where outer is
 * empty when NumPy puts the broadcast dimensions first. Dense element e is
 * (o, j, r); it is x at outer_x(o) + sum_k idx_k[j] * axis_stride[k] +
 * inner_x(r). Negative indices count from the end; one out of range sets
 * *status to 1 and is not followed (the host then lets the reference raise).
 *
 *   adv_gather(args, status)      dense[e] = x[...]           (one thread per e)
 *   adv_keys(args, status)        per j: keys[j] = the flat position of the
 *                                 indexed axes' combination, vals[j] = j,
 *                                 xoffs[j] = its byte offset in x
 *   radix_count / scan / radix_scatter
 *                                 a stable LSD radix sort of (keys, vals), 8 bits
 *                                 a pass: per-tile digit counts (digit-major), an
 *                                 exclusive scan of them, then each tile writes
 *                                 its elements at the scanned offsets plus their
 *                                 rank among the tile's equal digits (warp match
 *                                 and a per-digit scan over warps): equal keys
 *                                 keep ascending j, on every run
 *   adv_scatter_sorted(args)      over (sorted position p, rest q): set writes the
 *                                 value of the last p of each key (the last of
 *                                 repeated indices, as NumPy); increment has the
 *                                 first p of each key add the values of the whole
 *                                 run in order of j onto x: each target has one
 *                                 writer and its sum is rounded exactly as
 *                                 np.add.at rounds it (no atomics, reproducible)
 *   adv_scatter_add(args, status) x[...] += dense[e] through atomicAdd (exact
 *                                 integer sums; wraps like NumPy)
 *   nonzero_count / nonzero_write the coordinates of a mask's true elements in C
 *                                 order: per-tile counts, scanned (the host reads
 *                                 the total back once to allocate), then each tile
 *                                 writes its coordinates at its offset plus the
 *                                 block-scanned rank
 *   scan(args)                    exclusive prefix sum of an int64 array in place,
 *                                 the total after it; one block, tile by tile
 */
#include "symtheano_rt.cuh"

#define ST_ADV_MAX_ARRAYS 16
#define ST_ADV_ITEMS 16
#define ST_ADV_TILE (ST_BLOCK * ST_ADV_ITEMS)
#define ST_ADV_RADIX 256
#define ST_ADV_WARPS (ST_BLOCK / 32)
static_assert(ST_ADV_RADIX == ST_BLOCK, "one thread per radix digit");

typedef struct {
    char *x;      /* the indexed array at the basic index's start */
    char *dense;  /* the gathered output, or the value written */
    int64_t *keys, *vals, *xoffs;
    int64_t n, n_idx, n_inner, n_rest; /* n = n_idx * n_rest, n_rest = n_outer * n_inner */
    int32_t outer_ndim, idx_ndim, inner_ndim, n_arrays;
    int32_t set_values, unused;
    int64_t outer_shape[ST_CUDA_MAX_DIMS];
    int64_t idx_shape[ST_CUDA_MAX_DIMS];
    int64_t inner_shape[ST_CUDA_MAX_DIMS];
    int64_t outer_strides[2][ST_CUDA_MAX_DIMS]; /* x, dense */
    int64_t inner_strides[2][ST_CUDA_MAX_DIMS]; /* x, dense */
    int64_t idx_strides[ST_ADV_MAX_ARRAYS + 1][ST_CUDA_MAX_DIMS]; /* dense, the arrays */
    char *index[ST_ADV_MAX_ARRAYS];
    int64_t axis_size[ST_ADV_MAX_ARRAYS];
    int64_t axis_stride[ST_ADV_MAX_ARRAYS];
    int64_t key_scale[ST_ADV_MAX_ARRAYS];
    int32_t index_kind[ST_ADV_MAX_ARRAYS];
} st_adv_args;

typedef struct {
    int64_t *keys_in, *vals_in, *keys_out, *vals_out, *counts;
    int64_t n, n_blocks;
    int32_t shift, unused;
} st_sort_args;

typedef struct {
    int64_t *a;
    int64_t m;
} st_scan_args;

typedef struct {
    char *mask;
    int64_t *counts, *coords;
    int64_t n, n_blocks, total;
    int32_t ndim, unused;
    int64_t shape[ST_CUDA_MAX_DIMS]; /* innermost first */
    int64_t strides[1][ST_CUDA_MAX_DIMS];
} st_nonzero_args;

#define ST_ADV_GRID_STRIDE(e, n)                                                         \
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < (n);            \
         e += (int64_t)gridDim.x * blockDim.x)

/* Position of the index at p (kind: its type) on an axis of n, or -1. */
static __device__ __forceinline__ int64_t st_adv_position(const char *p, int kind, int64_t n)
{
    switch (kind) {
    case 0: return st_position(*(const int8_t *)p, n, true);
    case 1: return st_position(*(const int16_t *)p, n, true);
    case 2: return st_position(*(const int32_t *)p, n, true);
    case 3: return st_position(*(const int64_t *)p, n, true);
    case 4: return st_position(*(const uint8_t *)p, n, true);
    case 5: return st_position(*(const uint16_t *)p, n, true);
    case 6: return st_position(*(const uint32_t *)p, n, true);
    default: return st_position(*(const uint64_t *)p, n, true);
    }
}

/* Byte offsets of position j of the index space in the first `count` of (dense,
 * the index arrays). */
static __device__ __forceinline__ void st_adv_index_offsets(const st_adv_args &a, int64_t j,
                                                            int count, int64_t *off)
{
#pragma unroll 1
    for (int k = 0; k < count; k++) off[k] = 0;
#pragma unroll 1
    for (int d = 0; d < a.idx_ndim; d++) {
        int64_t idx = j;
        if (d + 1 < a.idx_ndim) {
            const int64_t q = j / a.idx_shape[d];
            idx = j - q * a.idx_shape[d];
            j = q;
        }
#pragma unroll 1
        for (int k = 0; k < count; k++) off[k] += idx * a.idx_strides[k][d];
    }
}

/* Index position j: the dense array's offset, the offset in x of the indexed
 * axes' positions and the flat key of that combination; false when an index is
 * out of range. */
static __device__ __forceinline__ bool st_adv_index(const st_adv_args &a, int64_t j,
                                                    int64_t *dense_off, int64_t *x_off,
                                                    int64_t *key)
{
    int64_t off[ST_ADV_MAX_ARRAYS + 1];
    st_adv_index_offsets(a, j, a.n_arrays + 1, off);
    *dense_off = off[0];
    int64_t xo = 0, k_flat = 0;
    bool ok = true;
#pragma unroll 1
    for (int k = 0; k < a.n_arrays; k++) {
        const int64_t pos = st_adv_position(a.index[k] + off[k + 1], a.index_kind[k],
                                            a.axis_size[k]);
        if (pos < 0) {
            ok = false;
            continue;
        }
        xo += pos * a.axis_stride[k];
        k_flat += pos * a.key_scale[k];
    }
    *x_off = xo;
    *key = k_flat;
    return ok;
}

static __device__ __forceinline__ int64_t st_adv_dense(const st_adv_args &a, int64_t j)
{
    int64_t off[1];
    st_adv_index_offsets(a, j, 1, off);
    return off[0];
}

/* Offsets in (x, dense) of rest position q = o * n_inner + r. */
static __device__ __forceinline__ void st_adv_rest(const st_adv_args &a, int64_t q,
                                                   int64_t (&off)[2])
{
    const int64_t o = q / a.n_inner, r = q - o * a.n_inner;
    int64_t outer[2], inner[2];
    st_offsets<int64_t, 2>(o, a.outer_ndim, a.outer_shape, a.outer_strides, outer);
    st_offsets<int64_t, 2>(r, a.inner_ndim, a.inner_shape, a.inner_strides, inner);
    off[0] = outer[0] + inner[0];
    off[1] = outer[1] + inner[1];
}

#if ST_IS_BOOL
static __device__ __forceinline__ st_t st_adv_add(st_t a, st_t b) { return (st_t)(a | b); }
#else
static __device__ __forceinline__ st_t st_adv_add(st_t a, st_t b) { return st_wrap_add<st_t>(a, b); }
#endif

/* Exclusive prefix sum over the block of each thread's v (deterministic: integer);
 * *total is the block's sum. Synchronises before returning. */
static __device__ __forceinline__ int64_t st_adv_block_scan(int64_t v, int64_t *total)
{
    __shared__ int64_t warp_sums[ST_ADV_WARPS];
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    int64_t x = v;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
        const int64_t y = __shfl_up_sync(0xffffffffu, x, d);
        if (lane >= d) x += y;
    }
    if (lane == 31) warp_sums[w] = x;
    __syncthreads();
    if (w == 0) {
        int64_t s = lane < ST_ADV_WARPS ? warp_sums[lane] : 0;
#pragma unroll
        for (int d = 1; d < ST_ADV_WARPS; d <<= 1) {
            const int64_t y = __shfl_up_sync(0xffffffffu, s, d);
            if (lane >= d) s += y;
        }
        if (lane < ST_ADV_WARPS) warp_sums[lane] = s;
    }
    __syncthreads();
    const int64_t before = w > 0 ? warp_sums[w - 1] : 0;
    *total = warp_sums[ST_ADV_WARPS - 1];
    __syncthreads();
    return before + x - v;
}

/* element e of the gather/scatter-add space (outer x index positions x inner):
 * the byte offsets of its element of x and of the dense operand; false when its
 * index is out of range */
__device__ __forceinline__ bool st_adv_element(const st_adv_args &a, int64_t e,
                                               int64_t *x_off, int64_t *dense_off)
{
    const int64_t t = e / a.n_inner, r = e - t * a.n_inner;
    const int64_t o = t / a.n_idx, j = t - o * a.n_idx;
    int64_t dense_j, x_j, key, rest[2];
    if (!st_adv_index(a, j, &dense_j, &x_j, &key)) return false;
    st_adv_rest(a, o * a.n_inner + r, rest);
    *x_off = rest[0] + x_j;
    *dense_off = rest[1] + dense_j;
    return true;
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(adv_gather)(const __grid_constant__ st_adv_args a, int *status)
{
    ST_ADV_GRID_STRIDE(e, a.n) {
        int64_t x_off, dense_off;
        if (!st_adv_element(a, e, &x_off, &dense_off)) {
            *status = 1;
            continue;
        }
        *(st_t *)(a.dense + dense_off) = *(const st_t *)(a.x + x_off);
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(adv_keys)(const __grid_constant__ st_adv_args a, int *status)
{
    ST_ADV_GRID_STRIDE(j, a.n_idx) {
        int64_t dense_j, x_j, key;
        if (!st_adv_index(a, j, &dense_j, &x_j, &key)) {
            *status = 1;
            x_j = key = 0;
        }
        a.keys[j] = key;
        a.vals[j] = j;
        a.xoffs[j] = x_j;
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(adv_scatter_sorted)(const __grid_constant__ st_adv_args a)
{
    ST_ADV_GRID_STRIDE(e, a.n) {
        const int64_t p = e / a.n_rest, q = e - p * a.n_rest;
        const int64_t key = a.keys[p];
        const bool writer = a.set_values ? (p + 1 == a.n_idx || a.keys[p + 1] != key)
                                         : (p == 0 || a.keys[p - 1] != key);
        if (!writer) continue;
        int64_t rest[2];
        st_adv_rest(a, q, rest);
        st_t *target = (st_t *)(a.x + rest[0] + a.xoffs[a.vals[p]]);
        if (a.set_values) {
            *target = *(const st_t *)(a.dense + rest[1] + st_adv_dense(a, a.vals[p]));
            continue;
        }
        st_t acc = *target;
        for (int64_t s = p; s < a.n_idx && a.keys[s] == key; s++)
            acc = st_adv_add(acc, *(const st_t *)(a.dense + rest[1] + st_adv_dense(a, a.vals[s])));
        *target = acc;
    }
}

#if ST_ATOMIC_ADD
extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(adv_scatter_add)(const __grid_constant__ st_adv_args a, int *status)
{
    ST_ADV_GRID_STRIDE(e, a.n) {
        int64_t x_off, dense_off;
        if (!st_adv_element(a, e, &x_off, &dense_off)) {
            *status = 1;
            continue;
        }
        st_atomic_add((st_t *)(a.x + x_off), *(const st_t *)(a.dense + dense_off));
    }
}
#endif

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(radix_count)(const __grid_constant__ st_sort_args a)
{
    __shared__ unsigned int count[ST_ADV_RADIX];
    count[threadIdx.x] = 0;
    __syncthreads();
    const int64_t start = (int64_t)blockIdx.x * ST_ADV_TILE;
#pragma unroll 1
    for (int k = 0; k < ST_ADV_ITEMS; k++) {
        const int64_t p = start + (int64_t)k * ST_BLOCK + threadIdx.x;
        if (p < a.n) atomicAdd(&count[(a.keys_in[p] >> a.shift) & (ST_ADV_RADIX - 1)], 1u);
    }
    __syncthreads();
    a.counts[(int64_t)threadIdx.x * a.n_blocks + blockIdx.x] = count[threadIdx.x];
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(radix_scatter)(const __grid_constant__ st_sort_args a)
{
    __shared__ unsigned int warp_count[ST_ADV_WARPS][ST_ADV_RADIX];
    __shared__ int64_t next[ST_ADV_RADIX];
    const int t = threadIdx.x, lane = t & 31, w = t >> 5;
    const unsigned int before = (1u << lane) - 1u;
    next[t] = a.counts[(int64_t)t * a.n_blocks + blockIdx.x];
    const int64_t start = (int64_t)blockIdx.x * ST_ADV_TILE;
#pragma unroll 1
    for (int k = 0; k < ST_ADV_ITEMS; k++) {
#pragma unroll
        for (int v = 0; v < ST_ADV_WARPS; v++) warp_count[v][t] = 0;
        __syncthreads();
        const int64_t p = start + (int64_t)k * ST_BLOCK + t;
        const bool valid = p < a.n;
        int64_t key = 0, val = 0;
        int digit = -1 - lane; /* a lane with no element matches no other */
        if (valid) {
            key = a.keys_in[p];
            val = a.vals_in[p];
            digit = (int)((key >> a.shift) & (ST_ADV_RADIX - 1));
        }
        const unsigned int peers = __match_any_sync(0xffffffffu, digit);
        const int rank = __popc(peers & before);
        if (valid && rank == 0) warp_count[w][digit] = __popc(peers);
        __syncthreads();
        unsigned int s = 0;
#pragma unroll
        for (int v = 0; v < ST_ADV_WARPS; v++) {
            const unsigned int c = warp_count[v][t];
            warp_count[v][t] = s;
            s += c;
        }
        __syncthreads();
        if (valid) {
            const int64_t dest = next[digit] + warp_count[w][digit] + rank;
            a.keys_out[dest] = key;
            a.vals_out[dest] = val;
        }
        __syncthreads();
        next[t] += s;
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(scan)(const __grid_constant__ st_scan_args a)
{
    int64_t carry = 0;
#pragma unroll 1
    for (int64_t base = 0; base < a.m; base += ST_ADV_TILE) {
        const int64_t first = base + (int64_t)threadIdx.x * ST_ADV_ITEMS;
        int64_t mine = 0;
#pragma unroll 1
        for (int k = 0; k < ST_ADV_ITEMS; k++)
            if (first + k < a.m) mine += a.a[first + k];
        int64_t total;
        int64_t at = carry + st_adv_block_scan(mine, &total);
#pragma unroll 1
        for (int k = 0; k < ST_ADV_ITEMS; k++) {
            if (first + k < a.m) {
                const int64_t v = a.a[first + k];
                a.a[first + k] = at;
                at += v;
            }
        }
        carry += total;
    }
    if (threadIdx.x == 0) a.a[a.m] = carry;
}

static __device__ __forceinline__ int64_t st_nonzero_flag(const st_nonzero_args &a, int64_t p)
{
    if (p >= a.n) return 0;
    int64_t off[1];
    st_offsets<int64_t, 1>(p, a.ndim, a.shape, a.strides, off);
    return *(const uint8_t *)(a.mask + off[0]) != 0;
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(nonzero_count)(const __grid_constant__ st_nonzero_args a)
{
    const int64_t start = (int64_t)blockIdx.x * ST_ADV_TILE;
    int64_t mine = 0;
#pragma unroll 1
    for (int k = 0; k < ST_ADV_ITEMS; k++)
        mine += st_nonzero_flag(a, start + (int64_t)k * ST_BLOCK + threadIdx.x);
    int64_t total;
    st_adv_block_scan(mine, &total);
    if (threadIdx.x == 0) a.counts[blockIdx.x] = total;
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(nonzero_write)(const __grid_constant__ st_nonzero_args a)
{
    int64_t next = a.counts[blockIdx.x];
    const int64_t start = (int64_t)blockIdx.x * ST_ADV_TILE;
#pragma unroll 1
    for (int k = 0; k < ST_ADV_ITEMS; k++) {
        int64_t p = start + (int64_t)k * ST_BLOCK + threadIdx.x;
        const int64_t flag = st_nonzero_flag(a, p);
        int64_t total;
        const int64_t rank = next + st_adv_block_scan(flag, &total);
        if (flag) {
#pragma unroll 1
            for (int d = 0; d < a.ndim; d++) {
                const int64_t q = p / a.shape[d];
                a.coords[(int64_t)(a.ndim - 1 - d) * a.total + rank] = p - q * a.shape[d];
                p = q;
            }
        }
        next += total;
    }
}

#undef ST_ADV_GRID_STRIDE
