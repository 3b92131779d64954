/* weights_file_changes: a model keeps the weights it was created from when its
 * weights file is replaced or removed afterwards (docs/abi.md, "Weights": the
 * file is mapped private, or read into memory for a model that trains), and a
 * model created later from the same path sees whatever is there then.
 *
 *   weights_file_changes WEIGHTS DIR [--corrupt]
 *
 * Copies WEIGHTS to DIR/weights.safetensors, creates model A from the copy and
 * runs predict on a fixed batch of 4 rows (the reference), then:
 *   1. writes DIR/changed.safetensors, the same tensors with every f32 value
 *      changed (v -> 0.125 - v), and renames a second copy of it over the
 *      path: A predicts the reference, bit for bit;
 *   2. creates model B from the path: B sees the new weights (its results are
 *      those of a model created from DIR/changed.safetensors, bit for bit, and
 *      differ from the reference);
 *   3. renames a file of garbage over the path: a create from it fails with
 *      NAME_ERROR_FORMAT and a message; A and B predict as before;
 *   4. unlinks the path: A and B predict as before; a create fails with
 *      NAME_ERROR_IO.
 * One line per step; every model is destroyed at the end. --corrupt flips the
 * lowest bit of one reference value to show that a one-ulp change is caught.
 * Exit status: 0 when every check held, 1 otherwise, 2 on bad usage.
 *
 * Built against the mlp header: examples/mlp/mlp.kiln (a model that trains)
 * or Inputs/mlp_inference.kiln compiled with --name=mlp (one that maps). Only
 * files in DIR are written, each under a new name before any rename: nothing
 * here writes or truncates a file a model was created from (that would change
 * a mapped model's pages or raise SIGBUS in it). */
#define _POSIX_C_SOURCE 200809L

#include "mlp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { B = 4 };
#define NUM_OUT ((size_t)MLP_PREDICT_OUT_NUMEL(B))

static int failures = 0;
static float x[MLP_PREDICT_X_NUMEL(B)];

static void fail(const char *what) {
  printf("  FAILED: %s\n", what);
  ++failures;
}

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

/* Writes a new file (the path must not be one a model was created from). */
static int write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  int ok = fwrite(data, 1, size, f) == size;
  ok &= fclose(f) == 0;
  return ok;
}

static const char *status_name(int status) {
  switch (status) {
  case MLP_OK: return "OK";
  case MLP_ERROR_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  case MLP_ERROR_IO: return "IO";
  case MLP_ERROR_FORMAT: return "FORMAT";
  case MLP_ERROR_WEIGHTS_MISMATCH: return "WEIGHTS_MISMATCH";
  case MLP_ERROR_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
  default: return "?";
  }
}

static mlp_model *create(const char *path) {
  mlp_model *m = NULL;
  int status = mlp_create(path, NULL, &m);
  if (status != MLP_OK) {
    printf("  FAILED: create from '%s': status %d: %s\n", path, status, mlp_last_error(NULL));
    ++failures;
    return NULL;
  }
  return m;
}

/* Predicts into out (poisoned first); 0 on a failed status. */
static int predict(mlp_model *m, float *out) {
  memset(out, 0xa5, NUM_OUT * sizeof(float));
  int status = mlp_predict(m, B, x, out);
  if (status != MLP_OK) {
    printf("  FAILED: predict: status %d: %s\n", status, mlp_last_error(m));
    ++failures;
    return 0;
  }
  return 1;
}

/* Elements whose bytes differ. */
static size_t count_differing(const float *a, const float *b) {
  size_t n = 0;
  for (size_t i = 0; i < NUM_OUT; ++i)
    n += memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

/* Predicts with m and checks the result against want, bit for bit; returns
 * whether it matched (a line per mismatch). */
static int unchanged(const char *who, mlp_model *m, const float *want) {
  float out[NUM_OUT];
  if (!m || !predict(m, out))
    return 0;
  size_t n = count_differing(out, want);
  if (n == 0)
    return 1;
  size_t i = 0;
  while (memcmp(&out[i], &want[i], sizeof(float)) == 0)
    ++i;
  printf("  FAILED: %s: %zu of %zu values changed, the first [%zu] %.9g, before %.9g\n", who, n,
         NUM_OUT, i, (double)out[i], (double)want[i]);
  ++failures;
  return 0;
}

/* A create from path must fail with `expected`; prints the status and message. */
static void create_fails(const char *step, const char *path, int expected) {
  mlp_model *m = NULL;
  int status = mlp_create(path, NULL, &m);
  printf("%s: create fails with status %d (%s): %s\n", step, status, status_name(status),
         status == MLP_OK ? "" : mlp_last_error(NULL));
  if (status != expected)
    fail("unexpected status");
  if (status == MLP_OK ? !m : m != NULL)
    fail("the handle does not match the status");
  mlp_destroy(m);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--corrupt") != 0)) {
    fprintf(stderr, "usage: %s WEIGHTS DIR [--corrupt]\n", argv[0]);
    return 2;
  }
  int corrupt = argc == 4;
  setvbuf(stdout, NULL, _IOLBF, 0); /* each line out before a later step could crash */

  char path[4096], changed[4096], tmp[4096];
  snprintf(path, sizeof path, "%s/weights.safetensors", argv[2]);
  snprintf(changed, sizeof changed, "%s/changed.safetensors", argv[2]);
  snprintf(tmp, sizeof tmp, "%s/incoming.tmp", argv[2]);

  size_t size = 0;
  unsigned char *bytes = read_file(argv[1], &size);
  if (!bytes || size < 8) {
    fprintf(stderr, "error: cannot read '%s'\n", argv[1]);
    return 1;
  }
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i)
    header = header << 8 | bytes[i];
  if (header > size - 8 || (size - 8 - header) % sizeof(float) != 0) {
    fprintf(stderr, "error: '%s' is not a file of f32 tensors\n", argv[1]);
    return 1;
  }
  if (!write_file(path, bytes, size)) {
    fprintf(stderr, "error: cannot write '%s'\n", path);
    return 1;
  }

  for (size_t i = 0; i < MLP_PREDICT_X_NUMEL(B); ++i)
    x[i] = (float)((i * 7) % 17); /* the digits' pixel range, 0..16 */

  float ref[NUM_OUT];
  mlp_model *a = create(path);
  if (!a || !predict(a, ref))
    return 1;
  if (corrupt)
    *(unsigned char *)ref ^= 1; /* little-endian: the lowest mantissa bit of element 0 */
  printf("created from a copy: predict on %d rows (%zu values)\n", B, NUM_OUT);

  /* 1. Replaced by rename: the same tensors, every value changed. */
  size_t data = 8 + (size_t)header, values = (size - data) / sizeof(float);
  for (size_t i = 0; i < values; ++i) {
    float v;
    memcpy(&v, bytes + data + i * sizeof v, sizeof v);
    float w = 0.125f - v;
    if (memcmp(&v, &w, sizeof v) == 0)
      fail("a weight value did not change");
    memcpy(bytes + data + i * sizeof v, &w, sizeof w);
  }
  if (!write_file(changed, bytes, size) || !write_file(tmp, bytes, size) || rename(tmp, path)) {
    fprintf(stderr, "error: cannot write the changed weights\n");
    return 1;
  }
  if (unchanged("model A after the rename", a, ref))
    printf("replaced by rename: predict unchanged (%zu values)\n", NUM_OUT);

  /* 2. A model created from the path now has the new weights. */
  float now[NUM_OUT], fresh[NUM_OUT];
  mlp_model *b = create(path), *c = create(changed);
  if (b && c && predict(b, now) && predict(c, fresh)) {
    size_t differ = count_differing(now, ref), from_fresh = count_differing(now, fresh);
    printf("new model from the replaced path: %zu of %zu values differ from the original, "
           "%zu from a model of the changed file\n",
           differ, NUM_OUT, from_fresh);
    if (differ == 0 || from_fresh != 0)
      fail("the new model does not have the new weights");
  }
  mlp_destroy(c);

  /* 3. Replaced by rename with garbage: a create fails cleanly, A and B keep theirs. */
  static const char garbage[] = "this is not a safetensors file, nor anything else\n";
  if (!write_file(tmp, garbage, sizeof garbage - 1) || rename(tmp, path)) {
    fprintf(stderr, "error: cannot write the garbage file\n");
    return 1;
  }
  create_fails("replaced by rename with garbage", path, MLP_ERROR_FORMAT);
  if (unchanged("model A after the garbage", a, ref) & unchanged("model B after the garbage", b, now))
    printf("replaced by rename with garbage: predict unchanged (%zu values), the new model's too\n",
           NUM_OUT);

  /* 4. Unlinked: A and B keep theirs, a create fails. */
  if (unlink(path) != 0) {
    fprintf(stderr, "error: cannot unlink '%s'\n", path);
    return 1;
  }
  if (unchanged("model A after the unlink", a, ref) & unchanged("model B after the unlink", b, now))
    printf("unlinked: predict unchanged (%zu values), the new model's too\n", NUM_OUT);
  create_fails("unlinked", path, MLP_ERROR_IO);

  mlp_destroy(b);
  mlp_destroy(a);
  free(bytes);
  printf("%d failures\n", failures);
  return failures != 0;
}
