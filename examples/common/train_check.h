/* train_check.h: what the training drivers of the examples share (examples/<model>/train.c
 * and examples/ddp/main.c).
 *
 * Header-only (every function is static inline), on top of fixture.h. Each driver trains
 * a Kiln-compiled model as a PyTorch script of scripts/references does and, with --check,
 * compares every loss, the step 1 gradients, the final outputs and the saved weights with
 * the reference's: one value within a relative and an absolute tolerance (tc_close_to), a
 * whole tensor in relative L2 norm (tc_relative_l2), found by name in the .safetensors
 * files both sides write (tc_tensor_in). The tc_check_* functions print the first
 * mismatch and keep the worst error of each kind for the driver's summary line.
 */
#ifndef KILN_EXAMPLES_TRAIN_CHECK_H
#define KILN_EXAMPLES_TRAIN_CHECK_H

#include "fixture.h"
#include "sampling.h" /* sampling_argmax: the predicted class of a row of scores */

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TC_PRINTF(fmt, args)
#endif

/* The command line of every train driver: INIT.safetensors DATA_DIR OUT_DIR [--check].
 * Sets *check and returns 0, or prints the usage and returns 2 (the exit status). */
static inline int tc_parse_args(int argc, char **argv, int *check) {
  *check = argc == 5 && strcmp(argv[4], "--check") == 0;
  if (argc != 4 && !*check) {
    fprintf(stderr, "usage: %s INIT.safetensors DATA_DIR OUT_DIR [--check]\n", argv[0]);
    return 2;
  }
  return 0;
}

/* The loss curve of a run beside PyTorch's, for plotting (scripts/plot_losses.py):
 * OUT_DIR/losses.csv, one line "phase,step,kiln,pytorch" per step, the reference empty
 * when the driver runs without --check. One log per driver (a static, like fixture.h's
 * buffers); tc_log_loss does nothing when the log is not open. */
static FILE *tc_loss_log = NULL;

/* Opens OUT_DIR/losses.csv and writes its header; returns 0, or prints why and returns 1. */
static inline int tc_log_open(const char *out_dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/losses.csv", out_dir);
  if (!(tc_loss_log = fopen(path, "w"))) {
    fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
    return 1;
  }
  fprintf(tc_loss_log, "phase,step,kiln,pytorch\n");
  return 0;
}

/* One step's loss, and the reference's (expected may be NULL: no reference). */
static inline void tc_log_loss(const char *phase, int step, double loss, const float *expected) {
  if (!tc_loss_log)
    return;
  fprintf(tc_loss_log, "%s,%d,%.9g,", phase, step, loss);
  if (expected)
    fprintf(tc_loss_log, "%.9g", (double)*expected);
  fprintf(tc_loss_log, "\n");
}

/* Closes the log; returns 0, or prints why and returns 1 when writing it failed. */
static inline int tc_log_close(void) {
  if (!tc_loss_log)
    return 0;
  /* ferror before fclose: the operands of | may be evaluated in either order. */
  int failed = ferror(tc_loss_log) != 0;
  failed |= fclose(tc_loss_log) != 0;
  tc_loss_log = NULL;
  if (failed)
    fprintf(stderr, "error: cannot write losses.csv\n");
  return failed != 0;
}

/* Copies rows first .. first + count - 1 of `src` (rows of row_bytes bytes), taken mod
 * num_rows, to `dst`: the references cycle through the training rows, batch k holding
 * rows (BATCH k + j) mod NUM_TRAIN (and a rank of examples/ddp a slice of that). */
static inline void tc_gather_rows(void *dst, const void *src, size_t row_bytes, size_t num_rows,
                                  size_t first, size_t count) {
  for (size_t j = 0; j < count; ++j)
    memcpy((unsigned char *)dst + j * row_bytes,
           (const unsigned char *)src + (first + j) % num_rows * row_bytes, row_bytes);
}

/* |got - expected| <= rel |expected| + abs_tol; false for NaN, so a NaN never passes. */
static inline int tc_close_to(double got, double expected, double rel, double abs_tol) {
  return fabs(got - expected) <= rel * fabs(expected) + abs_tol;
}

/* ||got - expected|| / ||expected||, in double: one number for a whole tensor, since a
 * tensor's small values carry large relative errors that do not matter. */
static inline double tc_relative_l2(const float *got, const float *expected, size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff += ((double)got[i] - expected[i]) * ((double)got[i] - expected[i]);
    norm += (double)expected[i] * expected[i];
  }
  return sqrt(diff) / sqrt(norm);
}

/* Keeps the largest error seen in *worst, for a summary line; a NaN counts as INFINITY,
 * so that it is never hidden. */
static inline void tc_keep_worst(double *worst, double err) {
  if (err > *worst || err != err)
    *worst = err != err ? INFINITY : err;
}

/* Begins the message of a failed check on stderr: "check: <what>: ", <what> formatted from
 * fmt and args (each driver names its steps and tensors its own way). */
static inline void tc_print_what(const char *fmt, va_list args) {
  fputs("check: ", stderr);
  vfprintf(stderr, fmt, args);
  fputs(": ", stderr);
}

/* Checks a loss against the reference's, within relative `tol`, keeping the relative
 * error in *worst (when not NULL). On a mismatch prints
 * "check: <what>: loss <loss>, reference <expected>" (tc_print_what) and returns 0. */
static inline int tc_check_loss(double loss, double expected, double tol, double *worst,
                                const char *fmt, ...) TC_PRINTF(5, 6);
static inline int tc_check_loss(double loss, double expected, double tol, double *worst,
                                const char *fmt, ...) {
  if (worst)
    tc_keep_worst(worst, fabs(loss - expected) / fabs(expected));
  if (tc_close_to(loss, expected, tol, 0.0))
    return 1;
  va_list args;
  va_start(args, fmt);
  tc_print_what(fmt, args);
  va_end(args);
  fprintf(stderr, "loss %.7g, reference %.7g\n", loss, expected);
  return 0;
}

/* Checks a tensor against the reference's, within `tol` in relative L2 norm, keeping the
 * error in *worst (when not NULL). On a mismatch (or NaN) prints
 * "check: <what>: relative L2 error <e>" (tc_print_what) and returns 0. */
static inline int tc_check_l2(const float *got, const float *expected, size_t n, double tol,
                              double *worst, const char *fmt, ...) TC_PRINTF(6, 7);
static inline int tc_check_l2(const float *got, const float *expected, size_t n, double tol,
                              double *worst, const char *fmt, ...) {
  double rel = tc_relative_l2(got, expected, n);
  if (worst)
    tc_keep_worst(worst, rel);
  if (rel <= tol)
    return 1;
  va_list args;
  va_start(args, fmt);
  tc_print_what(fmt, args);
  va_end(args);
  fprintf(stderr, "relative L2 error %.3g\n", rel);
  return 0;
}

/* Checks n outputs against the reference's, each within tc_close_to(rel, abs_tol),
 * keeping the largest absolute difference in *worst_abs (when not NULL). On a mismatch
 * prints "check: <what> [i]: <got>, reference <expected>" and returns 0. */
static inline int tc_check_close(const char *what, const float *got, const float *expected,
                                 size_t n, double rel, double abs_tol, double *worst_abs) {
  for (size_t i = 0; i < n; ++i) {
    if (worst_abs)
      tc_keep_worst(worst_abs, fabs((double)got[i] - expected[i]));
    if (!tc_close_to(got[i], expected[i], rel, abs_tol)) {
      fprintf(stderr, "check: %s [%zu]: %.7g, reference %.7g\n", what, i, got[i], expected[i]);
      return 0;
    }
  }
  return 1;
}

/* The length of a .safetensors file's JSON header (the file's first 8 bytes, little-
 * endian), or UINT64_MAX when the file is too short to hold it. */
static inline uint64_t tc_header_len(const unsigned char *file, size_t size) {
  uint64_t n = 0;
  if (size < 8)
    return UINT64_MAX;
  for (int i = 7; i >= 0; --i)
    n = n << 8 | file[i];
  return n <= size - 8 ? n : UINT64_MAX;
}

/* The data of the F32 tensor `name`, of `numel` values, in a .safetensors file read whole
 * (from fx_read_whole, so float-aligned); NULL if absent, of another dtype or size, or
 * misaligned. Looks inside the entry of `name` only: enough for the compact headers that
 * PyTorch's references and Kiln's save_weights write, not a general JSON parser. */
static inline const float *tc_tensor_in(const unsigned char *file, size_t size, const char *name,
                                        size_t numel) {
  uint64_t header_len = tc_header_len(file, size);
  /* A name too long for `key` is refused: cut short, it could match another tensor. */
  char key[128];
  int key_len = snprintf(key, sizeof key, "\"%s\"", name);
  if (header_len == UINT64_MAX || key_len < 0 || (size_t)key_len >= sizeof key)
    return NULL;
  /* A NUL-terminated copy of the header, for strstr; freed here, not kept. */
  char *header = malloc((size_t)header_len + 1);
  if (!header)
    return NULL;
  memcpy(header, file + 8, (size_t)header_len);
  header[header_len] = '\0';
  const char *at = strstr(header, key);
  const char *end_of_entry = at ? strchr(at, '}') : NULL;
  const char *dtype = at ? strstr(at, "\"dtype\"") : NULL;
  const char *f32 = dtype ? strstr(dtype, "\"F32\"") : NULL;
  const char *offsets = at ? strstr(at, "\"data_offsets\"") : NULL;
  const char *bracket = offsets ? strchr(offsets, '[') : NULL;
  unsigned long long begin = 0, end = 0;
  int ok = end_of_entry && f32 && f32 < end_of_entry && bracket && bracket < end_of_entry &&
           sscanf(bracket, "[%llu ,%llu", &begin, &end) == 2 && end <= size - 8 - header_len &&
           begin <= end && end - begin == numel * sizeof(float) &&
           (8 + header_len + begin) % sizeof(float) == 0;
  free(header);
  return ok ? (const float *)(const void *)(file + 8 + header_len + begin) : NULL;
}

/* Reads the file at `path` whole (kept for fx_free_all); NULL, with a message, on
 * failure. fx_read_whole takes a folder and a name: "x" lies in ".", "/x" in "/". */
static inline unsigned char *tc_read_path(const char *path, size_t *size) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return fx_keep(fx_read_whole(".", path, size));
  size_t dir_len = slash == path ? 1 : (size_t)(slash - path);
  char *dir = malloc(dir_len + 1);
  if (!dir) {
    fprintf(stderr, "error: out of memory\n");
    return NULL;
  }
  memcpy(dir, path, dir_len);
  dir[dir_len] = '\0';
  unsigned char *data = fx_keep(fx_read_whole(dir, slash + 1, size));
  free(dir);
  return data;
}

/* Defines `static unsigned char *fn(prefix_model *model, const char *dir, const char *name,
 * size_t *size)`: saves the model's weights as DIR/NAME with prefix_save_weights and reads
 * the file back whole (kept for fx_free_all), to check what a user of the library would
 * load; NULL, with a message, on failure. A macro because each generated API has its own
 * model type; their calls return 0 (<PREFIX>_OK) on success. */
#define TC_DEFINE_SAVE_AND_READ(fn, prefix)                                                        \
  static unsigned char *fn(prefix##_model *model, const char *dir, const char *name,               \
                           size_t *size) {                                                         \
    char path[4096];                                                                               \
    snprintf(path, sizeof path, "%s/%s", dir, name);                                               \
    if (prefix##_save_weights(model, path) != 0) {                                                 \
      fprintf(stderr, "error: saving %s: %s\n", path, prefix##_last_error(model));                 \
      return NULL;                                                                                 \
    }                                                                                              \
    return fx_keep(fx_read_whole(dir, name, size));                                                \
  }

#endif /* KILN_EXAMPLES_TRAIN_CHECK_H */
