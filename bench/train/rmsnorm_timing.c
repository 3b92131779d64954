/* rmsnorm_timing: one SGD step through an RMS norm over [8192, 1024], the
 * rms_norm op (its backward on the fused kernel) against the same norm
 * spelled out in kiln ops, alternating, best of 15 each.
 *
 *   rmsnorm_timing rmsnorm.safetensors THREADS
 *
 * Prints "rmsnorm <threads> op_ms composed_ms". */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rmsnorm_composed.h"
#include "rmsnorm_op.h"

enum { kRows = 8192, kWidth = 1024, kRounds = 15 };

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return fprintf(stderr, "usage: %s WEIGHTS THREADS\n", argv[0]), 2;
  float *x = malloc(sizeof(float) * kRows * kWidth), *t = malloc(sizeof(float) * kRows * kWidth);
  for (int64_t i = 0; i < (int64_t)kRows * kWidth; ++i) {
    x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    t[i] = 0.5f;
  }
  rmsnorm_op_options op_options = {atoi(argv[2])};
  rmsnorm_composed_options composed_options = {atoi(argv[2])};
  rmsnorm_op_model *op = NULL;
  rmsnorm_composed_model *composed = NULL;
  if (rmsnorm_op_create(argv[1], &op_options, &op) != 0 ||
      rmsnorm_composed_create(argv[1], &composed_options, &composed) != 0)
    return fprintf(stderr, "create: %s\n", rmsnorm_op_last_error(NULL)), 1;
  /* lr 0: the weights stay, every round does the same work. */
  double best_op = 1e30, best_composed = 1e30;
  float loss_op = 0.0f, loss_composed = 0.0f;
  for (int r = 0; r < kRounds; ++r) {
    double start = now_ms();
    if (rmsnorm_op_step(op, 0.0f, kRows, x, t, &loss_op) != 0)
      return fprintf(stderr, "step: %s\n", rmsnorm_op_last_error(op)), 1;
    double mid = now_ms();
    if (rmsnorm_composed_step(composed, 0.0f, kRows, x, t, &loss_composed) != 0)
      return fprintf(stderr, "step: %s\n", rmsnorm_composed_last_error(composed)), 1;
    double end = now_ms();
    best_op = mid - start < best_op ? mid - start : best_op;
    best_composed = end - mid < best_composed ? end - mid : best_composed;
  }
  printf("rmsnorm %s %.3f %.3f (loss %.5f vs %.5f)\n", argv[2], best_op, best_composed, loss_op,
         loss_composed);
  rmsnorm_op_destroy(op);
  rmsnorm_composed_destroy(composed);
  free(x);
  free(t);
  return 0;
}
