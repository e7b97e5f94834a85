/* Toolchain probe (codegen/c/build.py:features): OpenMP compiles, links, loads and
 * runs a parallel region. st_probe() returns the number of threads that ran plus
 * ten times omp_get_max_threads(). */
#include <omp.h>

int st_probe(void)
{
    int n = 0;
#pragma omp parallel num_threads(2) reduction(+ : n)
    n += 1;
    return n + 10 * omp_get_max_threads();
}
