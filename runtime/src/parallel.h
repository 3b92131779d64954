/* The runtime's thread pool is GNU OpenMP's (libgomp), the runtime Debian's
 * oneDNN uses, so Kiln's kernels and oneDNN's primitives share one set of
 * threads. The runtime calls libgomp's ABI directly (GOMP_parallel): it is
 * compiled by clang, whose -fopenmp would target LLVM's libomp instead. */
#ifndef KILN_PARALLEL_H
#define KILN_PARALLEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs fn(ctx, begin, end) over [0, n) split into contiguous ranges, one per
 * thread, each range a multiple of grain (but the last). Runs inline when
 * one thread is asked for or n <= grain. */
typedef void (*kiln_range_fn)(void *ctx, int64_t begin, int64_t end);
void kiln_parallel_for(int64_t n, int64_t grain, kiln_range_fn fn, void *ctx);

/* The thread count kernels use on this thread: set by kiln_rt_invoke for the
 * duration of a call (the model's num_threads), 1 outside calls. */
int32_t kiln_thread_count(void);
/* Sets it; returns the previous value. */
int32_t kiln_set_thread_count(int32_t n);

/* The number of CPUs this process may run on (its affinity mask, and the
 * CPUs of OMP_PLACES when OpenMP binds threads), >= 1. */
int32_t kiln_available_cpus(void);

/* Pins the OpenMP workers of this thread's n-thread team to distinct CPUs of
 * the process's affinity mask (worker i to the i-th allowed CPU), once per n
 * and calling thread. Unbound OpenMP threads on a small VM were measured up to
 * ~80x slower in oneDNN (docs/pipeline.md, Threads); this spares users from setting
 * OMP_PROC_BIND. The calling thread itself is left as the user set it. */
void kiln_bind_threads(int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* KILN_PARALLEL_H */
