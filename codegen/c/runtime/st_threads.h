/* How many OpenMP threads a kernel call runs on: shared by the elementwise loops
 * (elemwise_loop.h) and the reduction loops (reduce.h). A kernel library that
 * includes this file exports two entries for the Python side (codegen/c/build.py):
 *
 *     void st_bind_threads(int *cell)   the process-wide int[2]: cell[0] the thread
 *                                       count to use (unbound or <= 0: OpenMP's
 *                                       default, OMP_NUM_THREADS else all cores);
 *                                       cell[1] set to 1 once a kernel has run on
 *                                       several threads, so that a forked child
 *                                       knows that libgomp's thread pool is gone
 *     int st_threads_used(void)         how many threads the last call ran on
 *
 * A call splits its work only from `min` units of work on (st_threads_for); the
 * caller passes 0 work when the call cannot be split. Without OpenMP every call
 * runs on one thread. Splitting never changes a result: the kernels split only
 * along lines whose values are computed by the same instructions on any thread.
 */
#ifndef SYMTHEANO_THREADS_H
#define SYMTHEANO_THREADS_H

#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static int *st_threads_cell;  /* [0] thread count, [1] "ran in parallel"; NULL: unbound */
static int st_last_threads;

void st_bind_threads(int *cell) { st_threads_cell = cell; }
int st_threads_used(void) { return __atomic_load_n(&st_last_threads, __ATOMIC_RELAXED); }

/* the thread count for `work` units of work: 1 below `min` or without OpenMP */
static int st_threads_for(int64_t work, int64_t min)
{
    int threads = 1;
#ifdef _OPENMP
    if (work >= min) {
        threads = st_threads_cell ? __atomic_load_n(st_threads_cell, __ATOMIC_RELAXED) : 0;
        if (threads <= 0) threads = omp_get_max_threads();
    }
#else
    (void)work;
    (void)min;
#endif
    return threads < 1 ? 1 : threads;
}

/* record that a call is about to run on `threads` threads (the caller's thread 0
 * records the count OpenMP actually gave, through st_note_team) */
static void st_note_threads(int threads)
{
    __atomic_store_n(&st_last_threads, threads, __ATOMIC_RELAXED);
    if (threads > 1 && st_threads_cell)
        __atomic_store_n(&st_threads_cell[1], 1, __ATOMIC_RELAXED);
}

#ifdef _OPENMP
/* inside a parallel region: thread 0 records the size of the team */
static void st_note_team(void)
{
    if (omp_get_thread_num() == 0)
        __atomic_store_n(&st_last_threads, omp_get_num_threads(), __ATOMIC_RELAXED);
}
#endif

#endif /* SYMTHEANO_THREADS_H */
