/* symtheano's CUDA runtime for generated kernels: the scalar helpers of the C
 * runtime as device functions, and what every kernel template shares (the
 * offsets of a position in strided operands, block-wide reductions).
 *
 * The scalar helpers are not copied. The C runtime (codegen/c/runtime/
 * symtheano_rt.h and special.h, found on the include path) declares every
 * helper and constant table `static`; it is included here with `static`
 * spelled `static __device__`, so the CUDA kernels compute floor division,
 * NaN-propagating extrema, integer powers, sigmoid, softplus, erfinv, psi, ...
 * with the very code the C kernels use, and the two cannot drift apart. The
 * standard headers are included first, so their include guards keep them out
 * of the redefinition. One C call has no device counterpart: glibc's
 * lgamma_r, which becomes CUDA's lgamma (thread-safe; the sign is not used).
 * Results differ from C only where CUDA's libm differs from glibc's (CUDA's
 * exp, log, sin, ... are within 1-2 ulp, see the CUDA math API's accuracy
 * tables), and kernels are compiled with --fmad=false so that no a * b + c
 * is contracted, as the C kernels' -ffp-contract=off.
 *
 * Every generated CUDA kernel includes this file; its text, and the text of
 * the C headers it includes, are part of the cache key.
 */
#ifndef SYMTHEANO_RT_CUH
#define SYMTHEANO_RT_CUH

#include <math.h>
#include <stdint.h>
#include <cuda/std/limits>
#include <cuda/std/type_traits>

static __device__ __forceinline__ double st_cuda_lgamma_r(double x, int *sign)
{
    *sign = 1;
    return lgamma(x);
}

#define lgamma_r st_cuda_lgamma_r
#define static static __device__
#include "symtheano_rt.h"
#undef static
#undef lgamma_r

/* Dimensions of a kernel's iteration space after the host merged those that are
 * contiguous in every operand; layouts with more take the reference back end. */
#define ST_CUDA_MAX_DIMS 16
/* Threads per block of every kernel (a power of two: block reductions halve it). */
#define ST_BLOCK 256
/* Elements per thread on the vectorised contiguous path. */
#define ST_VEC 4

/* Kernel names: each template names its kernels ST_SYM(name). One module holds
 * one kernel library, so plain names do; a test that compiles many libraries in
 * one translation unit gives each its own prefix. */
#ifndef ST_SYM
#define ST_SYM(name) st_##name
#endif

/* Byte offsets of position i (C order over ndim dimensions) in N operands. Shapes
 * and strides are stored innermost dimension first. They are read where the kernel
 * received them: kernels take their argument struct as `__grid_constant__`, so
 * indexing it needs no per-thread copy. */
template <typename I, int N>
__device__ __forceinline__ void st_offsets(I i, int ndim, const int64_t (&shape)[ST_CUDA_MAX_DIMS],
                                           const int64_t (&strides)[N][ST_CUDA_MAX_DIMS],
                                           int64_t (&off)[N])
{
#pragma unroll
    for (int k = 0; k < N; k++) off[k] = 0;
#pragma unroll 1
    for (int d = 0; d < ndim; d++) {
        I idx = i;
        if (d + 1 < ndim) {
            const I n = (I)shape[d];
            const I q = i / n;
            idx = i - q * n;
            i = q;
        }
#pragma unroll
        for (int k = 0; k < N; k++) off[k] += (int64_t)idx * strides[k][d];
    }
}

/* V neighbouring values of type T from an array aligned to V values, or V copies
 * of the one value at p (an operand broadcast everywhere). */
template <typename T, int V>
struct alignas(sizeof(T) * V) st_pack {
    T v[V];
};

template <typename T, int V>
__device__ __forceinline__ void st_load_pack(T (&out)[V], const char *p, int64_t first, bool one)
{
    if (one) {
        const T x = *(const T *)p;
#pragma unroll
        for (int v = 0; v < V; v++) out[v] = x;
    } else {
        const st_pack<T, V> pk = ((const st_pack<T, V> *)p)[first / V];
#pragma unroll
        for (int v = 0; v < V; v++) out[v] = pk.v[v];
    }
}

template <typename T, int V>
__device__ __forceinline__ void st_store_pack(const T (&in)[V], char *p, int64_t first)
{
    st_pack<T, V> pk;
#pragma unroll
    for (int v = 0; v < V; v++) pk.v[v] = in[v];
    ((st_pack<T, V> *)p)[first / V] = pk;
}

/* Position `raw` (an integer of any type) on an axis of n elements: counted from the
 * end when negative and `wrap` (NumPy's indices), else taken as it is; -1 when out
 * of range. (A uint64 above INT64_MAX is out of range; INT64_MIN is not negated.) */
template <typename T>
__device__ __forceinline__ int64_t st_position(T raw, int64_t n, bool wrap)
{
    if constexpr (cuda::std::is_signed<T>::value) {
        const int64_t v = (int64_t)raw;
        if (v < 0) return (wrap && v >= -n) ? v + n : -1;
        return v < n ? v : -1;
    } else {
        return (uint64_t)raw < (uint64_t)n ? (int64_t)raw : -1;
    }
}

/* Integer sums and products wrap around as NumPy's do: signed overflow is
 * undefined in C++, so they are computed in the unsigned type of the same width. */
template <typename T>
__device__ __forceinline__ T st_wrap_add(T a, T b) { return a + b; }
template <typename T>
__device__ __forceinline__ T st_wrap_mul(T a, T b) { return a * b; }
#define ST_WRAPPING(T, U)                                                                   \
    template <>                                                                             \
    __device__ __forceinline__ T st_wrap_add<T>(T a, T b) { return (T)((U)a + (U)b); }      \
    template <>                                                                             \
    __device__ __forceinline__ T st_wrap_mul<T>(T a, T b) { return (T)((U)a * (U)b); }
ST_WRAPPING(int8_t, uint32_t)
ST_WRAPPING(int16_t, uint32_t)
ST_WRAPPING(int32_t, uint32_t)
ST_WRAPPING(int64_t, uint64_t)
ST_WRAPPING(uint8_t, uint32_t)
ST_WRAPPING(uint16_t, uint32_t)
#undef ST_WRAPPING

/* The combination of every thread's `s` in the block (blockDim.x == ST_BLOCK), as a
 * tree: thread t takes t + w for w = ST_BLOCK / 2, ..., 1, so the order (and the
 * rounding of sums) is the same on every run. The result is valid in thread 0; the
 * block may call it again afterwards (it synchronises before returning). */
template <typename S, typename Combine>
__device__ __forceinline__ S st_block_reduce(S s, Combine combine)
{
    __shared__ S shared[ST_BLOCK];
    const int t = threadIdx.x;
    shared[t] = s;
    __syncthreads();
#pragma unroll
    for (int w = ST_BLOCK / 2; w > 0; w >>= 1) {
        if (t < w) shared[t] = combine(shared[t], shared[t + w]);
        __syncthreads();
    }
    s = shared[0];
    __syncthreads();
    return s;
}

/* The two entries of a kernel whose flat index is 32-bit where every offset fits
 * (NAME32, faster on the GPU) or 64-bit (NAME64): IMPL<I>(args) is the body. */
#define ST_INDEX_WIDTH_KERNELS(NAME, IMPL, ARGS)                                        \
    extern "C" __global__ void __launch_bounds__(ST_BLOCK)                            \
    ST_SYM(NAME##32)(const __grid_constant__ ARGS a) { IMPL<uint32_t>(a); }           \
    extern "C" __global__ void __launch_bounds__(ST_BLOCK)                            \
    ST_SYM(NAME##64)(const __grid_constant__ ARGS a) { IMPL<int64_t>(a); }

/* atomicAdd for every type that has one: it has no signed 64-bit or uint64_t
 * overload, and the unsigned ones add two's-complement integers of either
 * signedness alike (wrapping, as NumPy's integer sums). Used by the scatter
 * kernels (take.cuh, advindex.cuh) where an increment is exact in any order. */
template <typename T>
__device__ __forceinline__ void st_atomic_add(T *p, T v) { atomicAdd(p, v); }
template <>
__device__ __forceinline__ void st_atomic_add<int64_t>(int64_t *p, int64_t v)
{
    atomicAdd((unsigned long long *)p, (unsigned long long)v);
}
template <>
__device__ __forceinline__ void st_atomic_add<uint64_t>(uint64_t *p, uint64_t v)
{
    atomicAdd((unsigned long long *)p, (unsigned long long)v);
}
template <>
__device__ __forceinline__ void st_atomic_add<int32_t>(int32_t *p, int32_t v)
{
    atomicAdd((unsigned int *)p, (unsigned int)v);
}

#endif /* SYMTHEANO_RT_CUH */
