/* Shared by backends.c and fused_kernels.c: synthetic inputs (the same hash
 * as synth() in scripts/gen_op_fixtures.py, so only the expected outputs are
 * fixtures) and a looser comparison than check.h's for results that go
 * through oneDNN, fused kernels or another thread count:
 *   |got - expected| <= 1e-4 * |expected| + 1e-5, NaN only where NaN. */
#ifndef KILN_TEST_OPS_SYNTH_H
#define KILN_TEST_OPS_SYNTH_H

#include "check.h"

#include <string.h>

/* Element i is (h >> 16) / 32768 - 1 for h the mix of i * 0x9E3779B1 +
 * seed * 0x85EBCA77: a multiple of 2^-15 in [-1, 1), times `scale` (a power
 * of two, so that the product is exact). */
static inline float *synth(uint32_t seed, size_t n, float scale) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t h = (uint32_t)i * 0x9E3779B1u + seed * 0x85EBCA77u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    p[i] = (float)((int32_t)(h >> 16) - 32768) / 32768.0f * scale;
  }
  return p;
}

static inline int close_enough(double got, double expected) {
  if (isnan(expected) || isnan(got))
    return isnan(expected) && isnan(got);
  return fabs(got - expected) <= 1e-4 * fabs(expected) + 1e-5;
}

/* Compares n floats of `got` with `reference`; prints the largest |got - ref|,
 * the largest error as a fraction of the tolerance (a mismatch is > 1), and
 * the first mismatch. */
static inline void compare_f32(const char *what, const float *got, const float *reference,
                               size_t n) {
  double max_diff = 0, max_ratio = 0;
  size_t bad = 0, first = n, nans = 0;
  for (size_t i = 0; i < n; ++i) {
    double g = got[i], e = reference[i];
    nans += isnan(e) != 0;
    if (!close_enough(g, e) && bad++ == 0)
      first = i;
    if (!isnan(g) && !isnan(e)) {
      double diff = fabs(g - e), ratio = diff / (1e-4 * fabs(e) + 1e-5);
      max_diff = diff > max_diff ? diff : max_diff;
      max_ratio = ratio > max_ratio ? ratio : max_ratio;
    }
  }
  if (bad) {
    fprintf(stderr, "%s: %zu of %zu values differ; first [%zu]: got %.9g, expected %.9g\n", what,
            bad, n, first, got[first], reference[first]);
    ++failures;
  }
  printf("%s: %zu values, %zu NaN, max |diff| %.3g (%.3f of tolerance)%s\n", what, n, nans,
         max_diff, max_ratio, bad ? ": MISMATCH" : "");
}

/* Compares with the fixture `<fixture_dir>/<name>`. */
static inline void check_close(const char *name, const float *got, size_t n) {
  float *expected = F32(name, n);
  compare_f32(name, got, expected, n);
  free(expected);
}

#endif
