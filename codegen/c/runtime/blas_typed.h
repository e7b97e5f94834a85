/* The typed half of blas.h: included once per float type, with
 *   ST_R        the element type (double or float),
 *   ST_S(name)  the name with the type's suffix (name_f64 or name_f32),
 *   ST_CB(name) the CBLAS routine of the type (scipy_cblas_dgemm for ST_CB(gemm)).
 * No include guard on purpose. Strides below count elements unless they are
 * called byte strides; matrices are row-major (element (i, j) at i*rs + j*cs).
 */

/* -- scratch copies for operands BLAS cannot read in place ------------------ */

/* A contiguous row-major copy of a rows x cols matrix; NULL when out of memory. */
static ST_R *ST_S(st_blas_copy)(const ST_R *p, int64_t rows, int64_t cols, int64_t rs,
                                int64_t cs)
{
    ST_R *buf = malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof(ST_R));
    if (!buf) return NULL;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            buf[i * cols + j] = p[i * rs + j * cs];
    return buf;
}

/* A matrix ready for BLAS: `p` in the layout `lay`, copied into `*scratch`
 * (to be freed by the caller) when its strides do not allow that. */
static int ST_S(st_blas_operand)(const ST_R **p, int64_t rows, int64_t cols, int64_t rs,
                                 int64_t cs, st_blas_layout *lay, ST_R **scratch)
{
    if (st_blas_layout_of(rows, cols, rs, cs, lay)) return ST_BLAS_OK;
    *scratch = ST_S(st_blas_copy)(*p, rows, cols, rs, cs);
    if (!*scratch) return ST_BLAS_NO_MEMORY;
    *p = *scratch;
    return st_blas_layout_of(rows, cols, cols, 1, lay) ? ST_BLAS_OK : ST_BLAS_TOO_LARGE;
}

/* y (contiguous) = M x for the rows x cols matrix M (layout `lay`). */
static void ST_S(st_blas_gemv)(int64_t rows, int64_t cols, const ST_R *m, st_blas_layout lay,
                               const ST_R *x, int64_t incx, ST_R *y)
{
    if (lay.trans)  /* M is stored as its transpose, a cols x rows row-major matrix */
        ST_CB(gemv)(CblasRowMajor, CblasTrans, (blasint)cols, (blasint)rows, (ST_R)1, m,
                    (blasint)lay.ld, x, (blasint)incx, (ST_R)0, y, 1);
    else
        ST_CB(gemv)(CblasRowMajor, CblasNoTrans, (blasint)rows, (blasint)cols, (ST_R)1, m,
                    (blasint)lay.ld, x, (blasint)incx, (ST_R)0, y, 1);
}

/* -- the product, as numpy.dot computes it ----------------------------------- */

/* out (m x n, contiguous) = A (m x k) @ B (k x n). The routine follows
 * numpy.dot's choice, so that results agree to the last bit where NumPy's
 * OpenBLAS runs the same kernels: exact products when k == 1, dot for 1 x 1
 * results, gemv when one side is a vector, gemm otherwise. */
static int ST_S(st_blas_product)(int64_t m, int64_t n, int64_t k, const ST_R *a, int64_t ars,
                                 int64_t acs, const ST_R *b, int64_t brs, int64_t bcs,
                                 ST_R *out)
{
    st_blas_layout la, lb;
    ST_R *sa = NULL, *sb = NULL;
    int status = ST_BLAS_OK;
    if (m == 0 || n == 0) return ST_BLAS_OK;
    if (k == 0) {
        memset(out, 0, (size_t)(m * n) * sizeof(ST_R));
        return ST_BLAS_OK;
    }
    if (k == 1) {  /* one term each: what every NumPy path gives, 0 + a * b */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                out[i * n + j] = (ST_R)0 + a[i * ars] * b[j * bcs];
        return ST_BLAS_OK;
    }
    if (!st_blas_fits(m) || !st_blas_fits(n) || !st_blas_fits(k)) return ST_BLAS_TOO_LARGE;
    if (m == 1 && n == 1) {  /* a row times a column */
        int64_t inca = acs, incb = brs;
        if (inca <= 0 || inca > INT_MAX) {
            if (!(sa = ST_S(st_blas_copy)(a, 1, k, 0, acs))) return ST_BLAS_NO_MEMORY;
            a = sa, inca = 1;
        }
        if (incb <= 0 || incb > INT_MAX) {
            if (!(sb = ST_S(st_blas_copy)(b, k, 1, brs, 0))) {
                free(sa);
                return ST_BLAS_NO_MEMORY;
            }
            b = sb, incb = 1;
        }
        out[0] = ST_CB(dot)((blasint)k, a, (blasint)inca, b, (blasint)incb);
    } else if (n == 1) {  /* A times a column */
        int64_t incb = brs;
        status = ST_S(st_blas_operand)(&a, m, k, ars, acs, &la, &sa);
        if (status == ST_BLAS_OK && (incb <= 0 || incb > INT_MAX)) {
            if ((sb = ST_S(st_blas_copy)(b, k, 1, brs, 0))) b = sb, incb = 1;
            else status = ST_BLAS_NO_MEMORY;
        }
        if (status == ST_BLAS_OK) ST_S(st_blas_gemv)(m, k, a, la, b, incb, out);
    } else if (m == 1) {  /* a row times B: out = B^T a */
        int64_t inca = acs;
        status = ST_S(st_blas_operand)(&b, k, n, brs, bcs, &lb, &sb);
        if (status == ST_BLAS_OK && (inca <= 0 || inca > INT_MAX)) {
            if ((sa = ST_S(st_blas_copy)(a, 1, k, 0, acs))) a = sa, inca = 1;
            else status = ST_BLAS_NO_MEMORY;
        }
        lb.trans = !lb.trans;  /* the same storage read as B^T */
        if (status == ST_BLAS_OK) ST_S(st_blas_gemv)(n, k, b, lb, a, inca, out);
    } else {
        status = ST_S(st_blas_operand)(&a, m, k, ars, acs, &la, &sa);
        if (status == ST_BLAS_OK) status = ST_S(st_blas_operand)(&b, k, n, brs, bcs, &lb, &sb);
        if (status == ST_BLAS_OK)
            ST_CB(gemm)(CblasRowMajor, st_blas_trans(la.trans), st_blas_trans(lb.trans),
                        (blasint)m, (blasint)n, (blasint)k, (ST_R)1, a, (blasint)la.ld, b,
                        (blasint)lb.ld, (ST_R)0, out, (blasint)n);
    }
    free(sa);
    free(sb);
    return status;
}

/* -- the products of the node entries (byte strides in, status out) ---------- */

/* out (m x n, contiguous) = A @ B: Dot, TensorDot (reshaped to 2-d) and each
 * matrix of a MatMul. A vector operand is a 1 x k or k x 1 matrix. */
static int ST_S(st_dot)(int64_t m, int64_t n, int64_t k, const char *a, int64_t ars, int64_t acs,
                 const char *b, int64_t brs, int64_t bcs, char *out)
{
    int64_t sa[2], sb[2];
    const int64_t shape_a[2] = {m, k}, shape_b[2] = {k, n}, bytes_a[2] = {ars, acs},
                  bytes_b[2] = {brs, bcs};
    if (!st_blas_elem_strides(a, sizeof(ST_R), 2, shape_a, bytes_a, sa)
        || !st_blas_elem_strides(b, sizeof(ST_R), 2, shape_b, bytes_b, sb))
        return ST_BLAS_MISALIGNED;
    return ST_S(st_blas_product)(m, n, k, (const ST_R *)a, sa[0], sa[1], (const ST_R *)b,
                                 sb[0], sb[1], (ST_R *)out);
}

/* out = alpha * out + beta * C, C (c_rows x c_cols) broadcast to m x n: the
 * reference's formula term by term, so inf and NaN in C, alpha or beta (and
 * beta == 0 meeting them) propagate as there. When alpha == 1, beta == 0 and C
 * is finite the formula leaves out unchanged, and the pass is skipped. */
static int ST_S(st_blas_axpby)(int64_t m, int64_t n, ST_R alpha, ST_R *out, ST_R beta,
                               const char *c, int64_t c_rows, int64_t c_cols, int64_t crs,
                               int64_t ccs)
{
    int64_t sc[2];
    const int64_t shape_c[2] = {c_rows, c_cols}, bytes_c[2] = {crs, ccs};
    const ST_R *cp = (const ST_R *)c;
    if (!st_blas_elem_strides(c, sizeof(ST_R), 2, shape_c, bytes_c, sc))
        return ST_BLAS_MISALIGNED;
    if (alpha == (ST_R)1 && beta == (ST_R)0) {
        int finite = 1;
        for (int64_t i = 0; i < c_rows && finite; i++)
            for (int64_t j = 0; j < c_cols; j++)
                if (!isfinite(cp[i * sc[0] + j * sc[1]])) finite = 0;
        if (finite) return ST_BLAS_OK;
    }
    for (int64_t i = 0; i < m; i++) {
        ST_R *o = out + i * n;
        const ST_R *ci = cp + i * sc[0];
        const int64_t s = sc[1];
        if (s == 1) {
            for (int64_t j = 0; j < n; j++) o[j] = alpha * o[j] + beta * ci[j];
        } else {
            for (int64_t j = 0; j < n; j++) o[j] = alpha * o[j] + beta * ci[j * s];
        }
    }
    return ST_BLAS_OK;
}

/* Gemm: out (m x n, contiguous) = alpha * (A @ B) + beta * C. */
static int ST_S(st_gemm)(int64_t m, int64_t n, int64_t k, const char *a, int64_t ars, int64_t acs,
                  const char *b, int64_t brs, int64_t bcs, const char *c, int64_t c_rows,
                  int64_t c_cols, int64_t crs, int64_t ccs, ST_R alpha, ST_R beta, char *out)
{
    int status = ST_S(st_dot)(m, n, k, a, ars, acs, b, brs, bcs, out);
    if (status != ST_BLAS_OK || m == 0 || n == 0) return status;
    return ST_S(st_blas_axpby)(m, n, alpha, (ST_R *)out, beta, c, c_rows, c_cols, crs, ccs);
}

/* Gemv: out (m, contiguous) = alpha * (A @ x) + beta * y, y of length y_len (1 or m). */
static int ST_S(st_gemv)(int64_t m, int64_t k, const char *a, int64_t ars, int64_t acs,
                  const char *x, int64_t xs, const char *y, int64_t y_len, int64_t ys,
                  ST_R alpha, ST_R beta, char *out)
{
    int status = ST_S(st_dot)(m, 1, k, a, ars, acs, x, xs, 0, out);
    if (status != ST_BLAS_OK || m == 0) return status;
    return ST_S(st_blas_axpby)(m, 1, alpha, (ST_R *)out, beta, y, y_len, 1, ys, 0);
}

/* Ger: out (m x n, contiguous) = A + alpha * outer(x, y), A (a_rows x a_cols)
 * broadcast. A loop, not BLAS's ger: the update is one pass over memory either
 * way, and this one rounds as the reference does (x*y, then alpha*, then A+),
 * where ger's alpha*x*y + A (fused on most CPUs) would not. */
static int ST_S(st_ger)(int64_t m, int64_t n, const char *a, int64_t a_rows, int64_t a_cols,
                 int64_t ars, int64_t acs, ST_R alpha, const char *x, int64_t xs,
                 const char *y, int64_t ys, char *out)
{
    int64_t sa[2], sx[1], sy[1];
    const int64_t shape_a[2] = {a_rows, a_cols}, bytes_a[2] = {ars, acs};
    const int64_t shape_x[1] = {m}, shape_y[1] = {n}, bytes_x[1] = {xs}, bytes_y[1] = {ys};
    const ST_R *ap = (const ST_R *)a, *xp = (const ST_R *)x, *yp = (const ST_R *)y;
    ST_R *o = (ST_R *)out;
    if (!st_blas_elem_strides(a, sizeof(ST_R), 2, shape_a, bytes_a, sa)
        || !st_blas_elem_strides(x, sizeof(ST_R), 1, shape_x, bytes_x, sx)
        || !st_blas_elem_strides(y, sizeof(ST_R), 1, shape_y, bytes_y, sy))
        return ST_BLAS_MISALIGNED;
    for (int64_t i = 0; i < m; i++) {
        const ST_R xi = xp[i * sx[0]];
        const ST_R *ai = ap + i * sa[0];
        ST_R *oi = o + i * n;
        if (sa[1] == 1 && sy[0] == 1) {
            for (int64_t j = 0; j < n; j++) oi[j] = ai[j] + alpha * (xi * yp[j]);
        } else {
            for (int64_t j = 0; j < n; j++) oi[j] = ai[j * sa[1]] + alpha * (xi * yp[j * sy[0]]);
        }
    }
    return ST_BLAS_OK;
}
