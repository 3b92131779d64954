/* Shared by the op test drivers: load fixture files written by
 * scripts/gen_op_fixtures.py and compare results with them. A float matches
 * when |got - expected| <= 1e-5 * |expected| + 1e-6 (NaN matches NaN). */
#ifndef KILN_TEST_OPS_CHECK_H
#define KILN_TEST_OPS_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *fixture_dir;
static int failures;

/* Reads `<fixture_dir>/<name>` of exactly `bytes` bytes; exits on error. */
static inline void *load(const char *name, size_t bytes) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", fixture_dir, name);
  FILE *f = fopen(path, "rb");
  void *data = malloc(bytes ? bytes : 1);
  if (!f || !data || fread(data, 1, bytes, f) != bytes || fgetc(f) != EOF) {
    fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, path);
    exit(2);
  }
  fclose(f);
  return data;
}

static inline void check_f32(const char *name, const float *got, size_t n) {
  const float *expected = (const float *)load(name, n * sizeof(float));
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = expected[i], g = got[i];
    if (isnan(e) && isnan(g))
      continue;
    double err = fabs(g - e) - 1e-6;
    if (!(err <= 1e-5 * fabs(e))) {
      fprintf(stderr, "%s[%zu]: got %.9g, expected %.9g\n", name, i, g, e);
      ++failures;
      break;
    }
    if (err / (fabs(e) + 1e-30) > worst)
      worst = err / (fabs(e) + 1e-30);
  }
  printf("%s: %zu values checked\n", name, n);
  free((void *)expected);
}

static inline void check_i64(const char *name, const int64_t *got, size_t n) {
  const int64_t *expected = (const int64_t *)load(name, n * sizeof(int64_t));
  for (size_t i = 0; i < n; ++i)
    if (got[i] != expected[i]) {
      fprintf(stderr, "%s[%zu]: got %lld, expected %lld\n", name, i, (long long)got[i],
              (long long)expected[i]);
      ++failures;
      break;
    }
  printf("%s: %zu values checked\n", name, n);
  free((void *)expected);
}

static inline void check_status(const char *what, int status, const char *message) {
  if (status != 0) {
    fprintf(stderr, "%s failed (%d): %s\n", what, status, message);
    exit(1);
  }
}

#define F32(name, n) ((float *)load(name, (n) * sizeof(float)))
#define I64(name, n) ((int64_t *)load(name, (n) * sizeof(int64_t)))
/* A bool tensor: one byte (0 or 1) per element. */
#define BOOL(name, n) ((uint8_t *)load(name, (n)))

#endif
