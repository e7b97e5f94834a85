/* Toolchain probe (codegen/c/build.py:features): the AVX2/libmvec path of
 * vecmath.h builds, links and gives exp in both vector widths. st_probe_cpu()
 * says whether this CPU may take it. */
#define ST_VECMATH_LEAN
#include "vecmath.h"

int st_probe_cpu(void) { return st_cpu_has_vec(); }

ST_VTARGET void st_probe(double *x, float *y)
{
    st_vstore_f64(x, st_vexp_f64(st_vload_f64(x)));
    st_vstore_f32(y, st_vexp_f32(st_vload_f32(y)));
}
