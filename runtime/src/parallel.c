/* kiln_parallel_for on libgomp, and pinning of its worker threads. */
#define _GNU_SOURCE
#include "parallel.h"

#include <sched.h>

/* libgomp's entry points (GCC's OpenMP ABI); see parallel.h for why. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
int omp_get_num_places(void);
int omp_get_place_num_procs(int place);
void omp_get_place_proc_ids(int place, int *ids);

static _Thread_local int32_t thread_count = 1;

int32_t kiln_thread_count(void) { return thread_count; }

int32_t kiln_set_thread_count(int32_t n) {
  int32_t previous = thread_count;
  thread_count = n < 1 ? 1 : n;
  return previous;
}

int32_t kiln_available_cpus(void) {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) != 0)
    CPU_ZERO(&mask);
  /* Under OMP_PROC_BIND, libgomp pins the initial thread to the first of
   * OMP_PLACES before main runs, so this thread's mask says one CPU; the
   * places name all the CPUs the user gave OpenMP. */
  for (int place = 0; place < omp_get_num_places(); ++place) {
    int ids[CPU_SETSIZE];
    int count = omp_get_place_num_procs(place);
    if (count <= 0 || count > CPU_SETSIZE)
      continue;
    omp_get_place_proc_ids(place, ids);
    for (int i = 0; i < count; ++i)
      if (ids[i] >= 0 && ids[i] < CPU_SETSIZE)
        CPU_SET(ids[i], &mask);
  }
  int count = CPU_COUNT(&mask);
  return count > 0 ? count : 1;
}

typedef struct range_job {
  kiln_range_fn fn;
  void *ctx;
  int64_t n, grain;
} range_job;

static void run_share(void *data) {
  const range_job *job = data;
  int64_t team = omp_get_num_threads(), me = omp_get_thread_num();
  /* Contiguous shares in units of grain, the remainder spread one unit each
   * over the first threads. */
  int64_t units = (job->n + job->grain - 1) / job->grain;
  int64_t per = units / team, extra = units % team;
  int64_t first = me * per + (me < extra ? me : extra);
  int64_t count = per + (me < extra);
  int64_t begin = first * job->grain, end = (first + count) * job->grain;
  if (end > job->n)
    end = job->n;
  if (begin < end)
    job->fn(job->ctx, begin, end);
}

void kiln_parallel_for(int64_t n, int64_t grain, kiln_range_fn fn, void *ctx) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  int64_t units = (n + grain - 1) / grain;
  int64_t threads = thread_count < units ? thread_count : units;
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
  kiln_bind_threads((int32_t)threads);
  range_job job = {fn, ctx, n, grain};
  GOMP_parallel(run_share, &job, (unsigned)threads, 0);
}

/* One bit per team size already pinned (sizes 2..63). Per calling thread:
 * libgomp keeps a pool of workers for each thread that starts teams. */
static _Thread_local unsigned long pinned_team_sizes;

typedef struct pin_job {
  cpu_set_t allowed;
  int ncpus;
} pin_job;

static void pin_worker(void *data) {
  const pin_job *job = data;
  int me = omp_get_thread_num();
  if (me == 0)
    return;
  /* The me-th allowed CPU, wrapping when the team is larger than the mask. */
  int wanted = me % job->ncpus, seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &job->allowed))
      continue;
    if (seen++ == wanted) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      sched_setaffinity(0, sizeof one, &one);
      return;
    }
  }
}

void kiln_bind_threads(int32_t n) {
  if (n < 2 || n > 63)
    return;
  unsigned long bit = 1ul << n;
  if (pinned_team_sizes & bit)
    return;
  pinned_team_sizes |= bit;
  pin_job job;
  if (sched_getaffinity(0, sizeof job.allowed, &job.allowed) != 0)
    return;
  job.ncpus = CPU_COUNT(&job.allowed);
  if (job.ncpus < 2)
    return;
  GOMP_parallel(pin_worker, &job, (unsigned)n, 0);
}
