/* fixture.h: reading and checking the raw fixtures of the seed-model examples.
 *
 * Header-only (every function is static inline): include it from one driver.
 * Fixture files are raw little-endian, row-major arrays named
 * DATA_DIR/<entry>.<arg>.<dtype> (see docs/seed-models.md and each example's
 * data/README.md). Outputs are compared with
 *
 *   |got - expected| <= FX_REL_TOL * |expected| + FX_ABS_TOL
 *
 * (false for NaN), and the worst relative error over all checked arrays is kept; or,
 * with --l2-tolerance, each array as a whole in relative L2 norm.
 */
#ifndef KILN_EXAMPLES_FIXTURE_H
#define KILN_EXAMPLES_FIXTURE_H

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_REL_TOL 1e-4
#define FX_ABS_TOL 1e-6

/* Runs one call of a generated API; on a non-zero status prints what failed,
 * the status and `last_error`, and jumps to the caller's `done` label. */
#define FX_CALL(what, expr, last_error)                                                            \
  do {                                                                                             \
    int fx_status_ = (expr);                                                                       \
    if (fx_status_ != 0) {                                                                         \
      fprintf(stderr, "error: %s failed (status %d): %s\n", (what), fx_status_, (last_error));    \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

/* With --l2-tolerance=X (a model compiled --precision=bf16, say), fx_compare_f32
 * checks each output as a whole instead: ||got - expected|| <= X ||expected||, since
 * rounding the operands of every matmul moves small values by large relative amounts
 * that do not matter. 0: element by element. */
static double fx_l2_tol = 0.0;

/* The command line every driver takes: WEIGHTS DATA_DIR [--check] [--l2-tolerance=X]. */
typedef struct fx_args {
  const char *weights_path;
  const char *data_dir;
  int check;
} fx_args;

/* Parses the command line; returns 0 on success, else prints usage and returns 2.
 * Also refuses big-endian hosts (the fixtures are little-endian): returns 1. */
static inline int fx_parse_args(int argc, char **argv, fx_args *args) {
  args->weights_path = NULL;
  args->data_dir = NULL;
  args->check = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--check") == 0) {
      args->check = 1;
    } else if (strncmp(argv[i], "--l2-tolerance=", 15) == 0) {
      char *end = NULL;
      fx_l2_tol = strtod(argv[i] + 15, &end);
      if (*end != '\0' || !(fx_l2_tol > 0.0)) {
        fprintf(stderr, "error: --l2-tolerance wants a positive number, not '%s'\n", argv[i] + 15);
        args->weights_path = NULL;
        break;
      }
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "error: unknown option %s\n", argv[i]);
      args->weights_path = NULL;
      break;
    } else if (!args->weights_path) {
      args->weights_path = argv[i];
    } else if (!args->data_dir) {
      args->data_dir = argv[i];
    } else {
      args->weights_path = NULL;
      break;
    }
  }
  if (!args->weights_path || !args->data_dir) {
    fprintf(stderr, "usage: %s WEIGHTS.safetensors DATA_DIR [--check] [--l2-tolerance=X]\n",
            argv[0]);
    return 2;
  }
  const uint32_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  if (first != 1) {
    fprintf(stderr, "error: the data files are little-endian; this host is not\n");
    return 1;
  }
  return 0;
}

/* Every buffer fx_read* and fx_alloc return is remembered here, so that a driver
 * frees them all with one fx_free_all() on every exit path. */
#define FX_MAX_BUFFERS 64
static void *fx_buffers[FX_MAX_BUFFERS];
static size_t fx_num_buffers = 0;

static inline void *fx_keep(void *p) {
  if (p && fx_num_buffers == FX_MAX_BUFFERS) {
    fprintf(stderr, "error: more than %d fixture buffers\n", FX_MAX_BUFFERS);
    free(p);
    return NULL;
  }
  if (p)
    fx_buffers[fx_num_buffers++] = p;
  return p;
}

static inline void fx_free_all(void) {
  while (fx_num_buffers > 0)
    free(fx_buffers[--fx_num_buffers]);
}

/* Reads the whole of DIR/NAME into a malloc'd buffer (not yet kept); NULL, with a
 * message on stderr, on failure. */
static inline void *fx_read_whole(const char *dir, const char *name, size_t *size) {
  size_t path_len = strlen(dir) + 1 + strlen(name) + 1;
  char *path = malloc(path_len);
  if (!path) {
    fprintf(stderr, "error: out of memory\n");
    return NULL;
  }
  snprintf(path, path_len, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "error: cannot open %s: %s\n", path, strerror(errno));
    free(path);
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    len += fread(buf + len, 1, cap - len, f);
    if (len < cap)
      break;
    unsigned char *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  if (!buf) {
    fprintf(stderr, "error: out of memory reading %s\n", path);
  } else if (ferror(f)) {
    fprintf(stderr, "error: cannot read %s\n", path);
    free(buf);
    buf = NULL;
  }
  fclose(f);
  free(path);
  *size = len;
  return buf;
}

/* Reads DIR/NAME, which must hold exactly `expected_bytes` bytes. NULL (message
 * printed) on failure. The buffer is kept for fx_free_all. */
static inline void *fx_read(const char *dir, const char *name, size_t expected_bytes) {
  size_t size;
  void *buf = fx_read_whole(dir, name, &size);
  if (buf && size != expected_bytes) {
    fprintf(stderr, "error: %s/%s has %zu bytes, expected %zu\n", dir, name, size, expected_bytes);
    free(buf);
    buf = NULL;
  }
  return fx_keep(buf);
}

/* Reads DIR/NAME, a positive whole number of rows of `row_bytes` bytes each, and sets
 * *rows: how symbolic dims (a batch, a node or edge count) are learnt from the files. */
static inline void *fx_read_rows(const char *dir, const char *name, size_t row_bytes,
                                 size_t *rows) {
  size_t size;
  void *buf = fx_read_whole(dir, name, &size);
  if (buf && (size == 0 || size % row_bytes != 0)) {
    fprintf(stderr, "error: %s/%s has %zu bytes, expected a positive multiple of %zu\n", dir, name,
            size, row_bytes);
    free(buf);
    buf = NULL;
  }
  *rows = buf ? size / row_bytes : 0;
  return fx_keep(buf);
}

/* fx_read for the common element types; n is the element count. */
static inline float *fx_read_f32(const char *dir, const char *name, size_t n) {
  return (float *)fx_read(dir, name, n * sizeof(float));
}
static inline int64_t *fx_read_i64(const char *dir, const char *name, size_t n) {
  return (int64_t *)fx_read(dir, name, n * sizeof(int64_t));
}
static inline uint8_t *fx_read_bool(const char *dir, const char *name, size_t n) {
  return (uint8_t *)fx_read(dir, name, n);
}

/* A zeroed output buffer of n elements of `size` bytes, kept for fx_free_all; NULL
 * (message printed) on failure. */
static inline void *fx_alloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p)
    fprintf(stderr, "error: out of memory\n");
  return fx_keep(p);
}

/* Checks that every id is in [0, limit): the library does not check index inputs. */
static inline int fx_check_ids(const char *what, const int64_t *ids, size_t n, int64_t limit) {
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= limit) {
      fprintf(stderr, "error: %s[%zu] = %lld is not in [0, %lld)\n", what, i, (long long)ids[i],
              (long long)limit);
      return 0;
    }
  }
  return 1;
}

/* Prints "what: [shape text] min .. max, mean". */
static inline void fx_print_stats(const char *what, const char *shape, const float *x, size_t n) {
  double lo = INFINITY, hi = -INFINITY, sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double v = (double)x[i];
    if (v < lo)
      lo = v;
    if (v > hi)
      hi = v;
    sum += v;
  }
  printf("%s: %s, min %.4f, max %.4f, mean %.4f\n", what, shape, lo, hi, n ? sum / (double)n : 0.0);
}

/* The worst relative error seen by fx_compare_f32 so far (|diff| / |expected|, or
 * |diff| where expected is 0). */
static double fx_worst_rel_err = 0.0;
static size_t fx_values_checked = 0;

/* Compares n floats with the reference as one vector: ||got - expected|| <= fx_l2_tol
 * ||expected|| (false for NaN); the relative L2 error counts as the worst relative error. */
static inline int fx_compare_f32_l2(const char *what, const float *got, const float *expected,
                                    size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double d = (double)got[i] - expected[i];
    diff += d * d;
    norm += (double)expected[i] * expected[i];
  }
  double rel = norm > 0.0 ? sqrt(diff / norm) : sqrt(diff);
  fx_values_checked += n;
  if (rel > fx_worst_rel_err || rel != rel)
    fx_worst_rel_err = rel != rel ? INFINITY : rel;
  if (!(rel <= fx_l2_tol)) {
    fprintf(stderr, "check: %s: relative L2 error %.3g over %zu values, more than %.3g\n", what,
            rel, n, fx_l2_tol);
    return 0;
  }
  return 1;
}

/* Compares n floats with the reference; prints the first mismatch (and how many
 * there are) and returns 0 on mismatch, 1 when all match. */
static inline int fx_compare_f32(const char *what, const float *got, const float *expected,
                                 size_t n) {
  if (fx_l2_tol > 0.0)
    return fx_compare_f32_l2(what, got, expected, n);
  size_t bad = 0, first_bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double g = (double)got[i], e = (double)expected[i];
    double diff = fabs(g - e);
    if (!(diff <= FX_REL_TOL * fabs(e) + FX_ABS_TOL)) { /* also catches NaN */
      if (bad++ == 0)
        first_bad = i;
    }
    double rel = e != 0.0 ? diff / fabs(e) : diff;
    if (rel > worst || rel != rel)
      worst = rel != rel ? INFINITY : rel;
  }
  fx_values_checked += n;
  if (worst > fx_worst_rel_err)
    fx_worst_rel_err = worst;
  if (bad) {
    fprintf(stderr,
            "check: %s: %zu of %zu values differ from the reference; first at [%zu]: got "
            "%.9g, expected %.9g (worst rel err %.3g)\n",
            what, bad, n, first_bad, (double)got[first_bad], (double)expected[first_bad], worst);
    return 0;
  }
  return 1;
}

/* Compares n int64 values exactly; returns 0 (first mismatch printed) or 1. */
static inline int fx_compare_i64(const char *what, const int64_t *got, const int64_t *expected,
                                 size_t n) {
  fx_values_checked += n;
  for (size_t i = 0; i < n; ++i) {
    if (got[i] != expected[i]) {
      fprintf(stderr, "check: %s: mismatch at [%zu]: got %lld, expected %lld\n", what, i,
              (long long)got[i], (long long)expected[i]);
      return 0;
    }
  }
  return 1;
}

/* Prints the one-line summary of a successful check. */
static inline void fx_report_check(void) {
  printf("check: %zu values match the reference (max rel err %.3g)\n", fx_values_checked,
         fx_worst_rel_err);
}

#endif /* KILN_EXAMPLES_FIXTURE_H */
