/* symtheano's BLAS kernels: products of float32/float64 arrays through the
 * CBLAS of the scipy-openblas32 package, with the exact semantics of the NumPy
 * reference implementations (symtheano/tensor/blas.py and blas_ops.py).
 *
 * Included by exactly one generated translation unit (codegen/c/blas.py),
 * which first defines ST_CBLAS_PREFIX, the prefix the library puts on every
 * CBLAS symbol (scipy_ for scipy-openblas32); its cblas.h comes from the
 * package's include directory. The typed kernels live in blas_typed.h,
 * instantiated here once per float type.
 *
 * Every entry point takes byte strides (as NumPy reports them) and returns a
 * status: ST_BLAS_OK, or a reason for the caller to run the reference instead
 * (a size beyond BLAS's 32-bit integers, a misaligned operand) or to raise
 * MemoryError. Operands BLAS cannot read in place (no unit stride, negative or
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
#include <cblas.h>

#ifndef ST_CBLAS_PREFIX
#error "define ST_CBLAS_PREFIX (the library's symbol prefix) before including blas.h"
#endif
#define ST_PASTE2(a, b) a##b
#define ST_PASTE(a, b) ST_PASTE2(a, b)
/* ST_CBLAS(dgemm) -> scipy_cblas_dgemm */
#define ST_CBLAS(name) ST_PASTE(ST_CBLAS_PREFIX, ST_PASTE(cblas_, name))

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

#define ST_R double
#define ST_S(name) name##_f64
#define ST_CB(name) ST_CBLAS(d##name)
#include "blas_typed.h"
#undef ST_R
#undef ST_S
#undef ST_CB

#define ST_R float
#define ST_S(name) name##_f32
#define ST_CB(name) ST_CBLAS(s##name)
#include "blas_typed.h"
#undef ST_R
#undef ST_S
#undef ST_CB

#endif /* SYMTHEANO_BLAS_H */
