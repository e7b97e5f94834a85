/* symtheano's BLAS kernels: products of float32/float64 arrays through the
 * CBLAS of the scipy-openblas32 package, with the exact semantics of the NumPy
 * reference implementations (symtheano/tensor/blas.py and blas_ops.py).
 *
 * Included by exactly one generated translation unit (codegen/c/blas.py),
 * which first defines ST_CBLAS_PREFIX, the prefix the library puts on every
 * CBLAS symbol (scipy_ for scipy-openblas32); its cblas.h comes from the
 * package's include directory. Instantiated here once per float type: the
 * products in blas_typed.h, and the node entries the program runner calls
 * (runtime/st_node.h) in blas_node.h, `st_node_<op>_f64` and `_f32`.
 *
 * The products take byte strides (as NumPy reports them) and return a status: ST_BLAS_OK, or a
 * reason to run the reference instead (a size beyond BLAS's 32-bit integers, a
 * misaligned operand, no memory for a copy); a node entry turns the latter into
 * ST_FALLBACK. Operands BLAS cannot read in place (no unit stride, negative or
 * zero strides) are copied into contiguous scratch memory; inputs are never
 * written.
 */
#ifndef SYMTHEANO_BLAS_H
#define SYMTHEANO_BLAS_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "st_node.h"

#ifndef ST_CBLAS_PREFIX
#error "define ST_CBLAS_PREFIX (the library's symbol prefix) before including blas.h"
#endif
#define ST_PASTE2(a, b) a##b
#define ST_PASTE(a, b) ST_PASTE2(a, b)
/* ST_CBLAS(dgemm) -> scipy_cblas_dgemm */
#define ST_CBLAS(name) ST_PASTE(ST_CBLAS_PREFIX, ST_PASTE(cblas_, name))

/* The part of CBLAS these kernels call (CBLAS with 32-bit integers, as
 * scipy-openblas32 builds it), declared here rather than read from the package's
 * cblas.h: the library then needs no include path, link path or rpath, so its
 * cache key names no directory of this machine and the library can be built at
 * install time (codegen/c/prebuild.py). The symbols resolve at load time against
 * OpenBLAS, which codegen/c/blas.py loads first with RTLD_GLOBAL. */
typedef int blasint;
typedef enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 } CBLAS_ORDER;
typedef enum CBLAS_TRANSPOSE {
    CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113, CblasConjNoTrans = 114
} CBLAS_TRANSPOSE;
#define ST_DECLARE_CBLAS(t, p)                                                             \
    t ST_CBLAS(p##dot)(const blasint n, const t *x, const blasint incx, const t *y,       \
                       const blasint incy);                                               \
    void ST_CBLAS(p##gemv)(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE trans, \
                           const blasint m, const blasint n, const t alpha, const t *a,    \
                           const blasint lda, const t *x, const blasint incx,             \
                           const t beta, t *y, const blasint incy);                       \
    void ST_CBLAS(p##gemm)(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,    \
                           const enum CBLAS_TRANSPOSE tb, const blasint m, const blasint n, \
                           const blasint k, const t alpha, const t *a, const blasint lda, \
                           const t *b, const blasint ldb, const t beta, t *c,             \
                           const blasint ldc);
ST_DECLARE_CBLAS(double, d)
ST_DECLARE_CBLAS(float, s)

enum {
    ST_BLAS_OK = 0,
    ST_BLAS_TOO_LARGE = 1,   /* a size or leading dimension beyond INT_MAX */
    ST_BLAS_MISALIGNED = 2,  /* a pointer or stride that is not a multiple of the item */
    ST_BLAS_NO_MEMORY = 3,   /* scratch memory for a copy could not be allocated */
};

/* A matrix as BLAS reads it (row-major order): element (i, j) lies at
 * p[i * ld + j] when trans == 0, at p[j * ld + i] when trans == 1. */
typedef struct {
    int trans;
    int64_t ld;
} st_blas_layout;

static inline int st_blas_fits(int64_t n) { return n >= 0 && n <= INT_MAX; }

/* The layout BLAS can use for a rows x cols matrix with element strides
 * (rs, cs), or 0 when it needs a copy. A dimension of size 1 is never stepped
 * over, so its stride does not matter. */
static int st_blas_layout_of(int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                             st_blas_layout *out)
{
    int64_t row_ld = rows == 1 ? cols : rs;
    int64_t col_ld = cols == 1 ? rows : cs;
    if ((cols == 1 || cs == 1) && row_ld >= (cols > 1 ? cols : 1) && row_ld <= INT_MAX) {
        out->trans = 0;
        out->ld = row_ld;
        return 1;
    }
    if ((rows == 1 || rs == 1) && col_ld >= (rows > 1 ? rows : 1) && col_ld <= INT_MAX) {
        out->trans = 1;
        out->ld = col_ld;
        return 1;
    }
    return 0;
}

/* Element strides from byte strides: a dimension of size <= 1 gets stride 0;
 * 0 when a pointer or a used stride is not a multiple of the item size. */
static inline int st_blas_elem_strides(const void *p, size_t item, int ndim,
                                       const int64_t *shape, const int64_t *bytes,
                                       int64_t *elems)
{
    if ((uintptr_t)p % item) return 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 1) {
            elems[d] = 0;
        } else {
            if (bytes[d] % (int64_t)item) return 0;
            elems[d] = bytes[d] / (int64_t)item;
        }
    }
    return 1;
}

static inline CBLAS_TRANSPOSE st_blas_trans(int trans) { return trans ? CblasTrans : CblasNoTrans; }

/* -- what the node entries share -------------------------------------------- */

/* The dtype of an operand, as a node's parameters give it (codegen/c/blas.py
 * DTYPE_CODES); operands of another dtype than the result are cast to it. */
enum {
    ST_DT_F64, ST_DT_F32, ST_DT_BOOL, ST_DT_I8, ST_DT_I16, ST_DT_I32, ST_DT_I64,
    ST_DT_U8, ST_DT_U16, ST_DT_U32, ST_DT_U64, ST_DT_COUNT
};

static int st_blas_status(int status) { return status == ST_BLAS_OK ? ST_OK : ST_FALLBACK; }

/* NumPy's NPY_KEEPORDER, the memory order of a cast copy (`astype`): dimensions
 * by decreasing absolute stride, ties in their own order; perm[0] outermost. */
static void st_blas_keep_order(const st_tensor *t, int64_t *perm)
{
    int64_t i, j;
    for (i = 0; i < t->ndim; i++) {
        const int64_t d = i, s = t->strides[i] < 0 ? -t->strides[i] : t->strides[i];
        for (j = i; j > 0; j--) {
            const int64_t q = t->strides[perm[j - 1]];
            if ((q < 0 ? -q : q) >= s) break;
            perm[j] = perm[j - 1];
        }
        perm[j] = d;
    }
}

/* NumPy's reshape without a copy, for the dimensions `dims` (count c, in this
 * order) of t merged into one: 1 with its size and byte stride when they merge
 * (each dimension of size > 1 steps by the size times the stride of the next
 * such one), 0 when NumPy would copy. */
static int st_blas_merge(const st_tensor *t, const int64_t *dims, int64_t c, int64_t *size,
                         int64_t *stride)
{
    int64_t n = 1, last = -1, j;
    for (j = 0; j < c; j++) {
        const int64_t d = dims[j];
        n *= t->shape[d];
        if (t->shape[d] == 1) continue;
        if (last >= 0 && t->strides[last] != t->shape[d] * t->strides[d]) return 0;
        last = d;
    }
    *size = n;
    *stride = last >= 0 ? t->strides[last] : 0;
    return 1;
}

/* A dimension of the added term fits the product's `target` size: equal, or 1
 * and declared broadcastable (bit d of `mask`). */
static int st_blas_fits_term(int64_t size, int64_t target, int64_t mask, int d)
{
    return size == target || (size == 1 && ((mask >> d) & 1));
}

#define ST_R double
#define ST_S(name) name##_f64
#define ST_CB(name) ST_CBLAS(d##name)
#define ST_CODE ST_DT_F64
#include "blas_typed.h"
#include "blas_node.h"
#undef ST_R
#undef ST_S
#undef ST_CB
#undef ST_CODE

#define ST_R float
#define ST_S(name) name##_f32
#define ST_CB(name) ST_CBLAS(s##name)
#define ST_CODE ST_DT_F32
#include "blas_typed.h"
#include "blas_node.h"
#undef ST_R
#undef ST_S
#undef ST_CB
#undef ST_CODE

#endif /* SYMTHEANO_BLAS_H */
