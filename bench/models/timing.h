/* timing.h: the clock and the median of the timing drivers in bench/models.
 * Header-only. */
#ifndef KILN_BENCH_TIMING_H
#define KILN_BENCH_TIMING_H

#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of n samples (sorts them). */
static double median(double *samples, size_t n) {
  qsort(samples, n, sizeof *samples, compare_doubles);
  return samples[n / 2];
}

#endif /* KILN_BENCH_TIMING_H */
