/* The kernels of a reduction library (codegen/cuda/reduce.py). A generated source
 * says what is reduced and then includes this file:
 *
 *   ST_N_IN, st_t<k>, ST_ARGS(L), ST_INPUTS(X)   the inputs, as for elemwise.cuh
 *   ST_REDUCE        ST_SUM, ST_PROD, ST_MAX, ST_MIN, ST_ALL, ST_ANY, ST_ARGMAX or
 *                    ST_ARGMIN
 *   st_val           type of the reduced value; st_apply(i0, ...) computes it (a
 *                    Composite's steps, or the single input)
 *   st_acc           type of the result; sums and products accumulate in it (as
 *                    numpy.sum(x, dtype=out_dtype) does)
 *
 * The host lays the iteration space out as outer positions (one per output element)
 * times inner positions (the reduced ones, numbered in C order, which is what
 * argmax/argmin return), each with its own shape and per-operand byte strides,
 * innermost dimension first; operand ST_N_IN is the output (inner strides unused).
 *
 *   ST_SYM(reduce_rows)(args, partial)   block (o, s) reduces inner positions
 *       [s * chunk, (s + 1) * chunk) of output o (grid-stride over o): each thread
 *       a strided share, then a tree over the block. With one part per output
 *       (gridDim.y == 1) it writes the result, else the partial state to
 *       partial[o * gridDim.y + s]
 *   ST_SYM(reduce_final)(args, partial, parts)
 *       the final pass: block o combines output o's `parts` partial states
 *   ST_SYM(reduce_columns)(args)
 *       one thread per output element, its inner positions one after the other:
 *       for many outputs whose neighbours are neighbours in memory (a sum over
 *       axis 0), where the loads of a warp coalesce
 *
 * The reduction of a part is a tree of fixed shape, so results do not depend on
 * timing; float sums differ from NumPy's pairwise sums only by rounding (error
 * growing as log2 of the number of terms, as NumPy's).
 */
#include "symtheano_rt.cuh"

#define ST_SUM 1
#define ST_PROD 2
#define ST_MAX 3
#define ST_MIN 4
#define ST_ALL 5
#define ST_ANY 6
#define ST_ARGMAX 7
#define ST_ARGMIN 8

typedef struct {
    char *p[ST_N_IN + 1];
    int64_t n_outer, n_inner, chunk;
    int32_t outer_ndim, inner_ndim;
    int64_t outer_shape[ST_CUDA_MAX_DIMS];
    int64_t inner_shape[ST_CUDA_MAX_DIMS];
    int64_t outer_strides[ST_N_IN + 1][ST_CUDA_MAX_DIMS];
    int64_t inner_strides[ST_N_IN + 1][ST_CUDA_MAX_DIMS];
} st_reduce_args;

/* -- the kinds: a state, its identity, the state of one value at inner position j,
 *    the combination of two states (associative; commutative where the order of
 *    the tree may matter) and the result ------------------------------------------ */
#if ST_REDUCE == ST_SUM || ST_REDUCE == ST_PROD
typedef st_acc st_state;
#if ST_REDUCE == ST_SUM
#define ST_IDENTITY ((st_acc)0)
#define ST_COMBINE(a, b) st_wrap_add<st_acc>((a), (b))
#else
#define ST_IDENTITY ((st_acc)1)
#define ST_COMBINE(a, b) st_wrap_mul<st_acc>((a), (b))
#endif
static __device__ __forceinline__ st_state st_one(const st_val v, int64_t) { return (st_acc)v; }
static __device__ __forceinline__ st_acc st_result(const st_state s) { return s; }

#elif ST_REDUCE == ST_ALL || ST_REDUCE == ST_ANY
typedef st_bool st_state;
#if ST_REDUCE == ST_ALL
#define ST_IDENTITY ((st_bool)1)
#define ST_COMBINE(a, b) ((st_bool)((a) && (b)))
#else
#define ST_IDENTITY ((st_bool)0)
#define ST_COMBINE(a, b) ((st_bool)((a) || (b)))
#endif
static __device__ __forceinline__ st_state st_one(const st_val v, int64_t) { return v != 0; }
static __device__ __forceinline__ st_acc st_result(const st_state s) { return (st_acc)s; }

#elif ST_REDUCE == ST_MAX || ST_REDUCE == ST_MIN
/* NaN wins (numpy.max propagates it); the identity is never better than a value */
typedef st_val st_state;
#if ST_REDUCE == ST_MAX
#define ST_IDENTITY (cuda::std::numeric_limits<st_val>::lowest())
#define ST_COMBINE(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : ((a) >= (b) ? (a) : (b))))
#else
#define ST_IDENTITY (cuda::std::numeric_limits<st_val>::has_infinity                       \
                     ? cuda::std::numeric_limits<st_val>::infinity()                       \
                     : cuda::std::numeric_limits<st_val>::max())
#define ST_COMBINE(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : ((a) <= (b) ? (a) : (b))))
#endif
static __device__ __forceinline__ st_state st_one(const st_val v, int64_t) { return v; }
static __device__ __forceinline__ st_acc st_result(const st_state s) { return (st_acc)s; }

#elif ST_REDUCE == ST_ARGMAX || ST_REDUCE == ST_ARGMIN
/* (value, position); position -1: no value yet. As numpy.argmax: the first NaN,
 * else the first extremum (the smaller position among equals). */
typedef struct { st_val v; int64_t i; } st_state;
#if ST_REDUCE == ST_ARGMAX
#define ST_BETTER(x, y) ((x) > (y))
#else
#define ST_BETTER(x, y) ((x) < (y))
#endif
#define ST_IDENTITY (st_state{st_val(), -1})
static __device__ __forceinline__ st_state st_pick(const st_state a, const st_state b)
{
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool a_nan = a.v != a.v, b_nan = b.v != b.v;
    if (a_nan || b_nan) return (a_nan && b_nan) ? (a.i <= b.i ? a : b) : (a_nan ? a : b);
    if (ST_BETTER(a.v, b.v)) return a;
    if (ST_BETTER(b.v, a.v)) return b;
    return a.i <= b.i ? a : b;
}
#define ST_COMBINE(a, b) st_pick((a), (b))
static __device__ __forceinline__ st_state st_one(const st_val v, int64_t j) { return st_state{v, j}; }
static __device__ __forceinline__ st_acc st_result(const st_state s) { return (st_acc)s.i; }

#else
#error "ST_REDUCE must name a reduction"
#endif

struct st_combine_fn {
    __device__ __forceinline__ st_state operator()(const st_state a, const st_state b) const
    {
        return ST_COMBINE(a, b);
    }
};

#define ST_LD_AT(k, T) (*(const T *)(a.p[k] + base[k] + off[k]))

/* the state of inner positions lo, lo + step, ... < hi of the output at `base` */
template <typename I>
__device__ __forceinline__ st_state st_reduce_span(const st_reduce_args &a,
                                                   const int64_t (&base)[ST_N_IN + 1],
                                                   I lo, I hi, I step)
{
    st_state s = ST_IDENTITY;
    for (I j = lo; j < hi; j += step) {
        int64_t off[ST_N_IN + 1];
        st_offsets<I, ST_N_IN + 1>(j, a.inner_ndim, a.inner_shape, a.inner_strides, off);
        s = ST_COMBINE(s, st_one(st_apply(ST_ARGS(ST_LD_AT)), (int64_t)j));
    }
    return s;
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(reduce_rows)(const __grid_constant__ st_reduce_args a, st_state *partial)
{
    const int64_t lo = (int64_t)blockIdx.y * a.chunk;
    const int64_t hi = lo + a.chunk < a.n_inner ? lo + a.chunk : a.n_inner;
    for (int64_t o = blockIdx.x; o < a.n_outer; o += gridDim.x) {
        int64_t base[ST_N_IN + 1];
        st_offsets<int64_t, ST_N_IN + 1>(o, a.outer_ndim, a.outer_shape, a.outer_strides, base);
        st_state s = hi <= 0xffffffffll - ST_BLOCK
            ? st_reduce_span<uint32_t>(a, base, (uint32_t)(lo + threadIdx.x), (uint32_t)hi,
                                       ST_BLOCK)
            : st_reduce_span<int64_t>(a, base, lo + threadIdx.x, hi, ST_BLOCK);
        s = st_block_reduce(s, st_combine_fn());
        if (threadIdx.x == 0) {
            if (gridDim.y == 1)
                *(st_acc *)(a.p[ST_N_IN] + base[ST_N_IN]) = st_result(s);
            else
                partial[o * gridDim.y + blockIdx.y] = s;
        }
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(reduce_final)(const __grid_constant__ st_reduce_args a, const st_state *partial, int64_t parts)
{
    for (int64_t o = blockIdx.x; o < a.n_outer; o += gridDim.x) {
        int64_t base[ST_N_IN + 1];
        st_offsets<int64_t, ST_N_IN + 1>(o, a.outer_ndim, a.outer_shape, a.outer_strides, base);
        st_state s = ST_IDENTITY;
        for (int64_t j = threadIdx.x; j < parts; j += ST_BLOCK)
            s = ST_COMBINE(s, partial[o * parts + j]);
        s = st_block_reduce(s, st_combine_fn());
        if (threadIdx.x == 0) *(st_acc *)(a.p[ST_N_IN] + base[ST_N_IN]) = st_result(s);
    }
}

extern "C" __global__ void __launch_bounds__(ST_BLOCK)
ST_SYM(reduce_columns)(const __grid_constant__ st_reduce_args a)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < a.n_outer; o += step) {
        int64_t base[ST_N_IN + 1];
        st_offsets<int64_t, ST_N_IN + 1>(o, a.outer_ndim, a.outer_shape, a.outer_strides, base);
        const st_state s = a.n_inner < 0xffffffffll
            ? st_reduce_span<uint32_t>(a, base, 0u, (uint32_t)a.n_inner, 1u)
            : st_reduce_span<int64_t>(a, base, 0, a.n_inner, 1);
        *(st_acc *)(a.p[ST_N_IN] + base[ST_N_IN]) = st_result(s);
    }
}

#undef ST_LD_AT
#undef ST_IDENTITY
#undef ST_COMBINE
#undef ST_BETTER
