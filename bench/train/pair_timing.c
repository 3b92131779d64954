/* pair_timing: one train step of two builds of a bench/train case, the fused
 * one (FAST) and the one it replaces (SLOW), alternating, best of 15 each,
 * with each one's step memory. Compiled once per case with -DPAIR_<CASE>:
 *   RMSNORM: SGD through rms_norm(x * s, w) over [8192, 1024], the op (its
 *            backward on the fused kernel) against the norm spelled out in
 *            kiln ops (rmsnorm_op.kiln, rmsnorm_composed.kiln);
 *   KD:      the distillation term at [512, 32000] (kd.kiln), compiled as is
 *            and with --fusion=false;
 *   CLIP:    CLIP's InfoNCE at a batch of 4096 (clip4096.kiln), likewise.
 *
 *   pair_timing WEIGHTS.safetensors THREADS
 *
 * Prints "pair <case> <threads> <fast ms> <slow ms> <fast MB> <slow MB>". */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(PAIR_RMSNORM)
#include "rmsnorm_composed.h"
#include "rmsnorm_op.h"
#define CASE "rmsnorm_8192x1024"
#define FAST(x) rmsnorm_op_##x
#define SLOW(x) rmsnorm_composed_##x
enum { kRows = 8192, kWidth = 1024 };
#define DIMS kRows,
#define INPUTS x, t
#elif defined(PAIR_KD)
#include "kd_fused.h"
#include "kd_unfused.h"
#define CASE "kd_512x32000"
#define FAST(x) kd_fused_##x
#define SLOW(x) kd_unfused_##x
enum { kRows = 512, kWidth = 32000 };
#define DIMS
#define INPUTS t
#elif defined(PAIR_CLIP)
#include "clip4096_fused.h"
#include "clip4096_unfused.h"
#define CASE "clip_infonce_4096"
#define FAST(x) clip4096_fused_##x
#define SLOW(x) clip4096_unfused_##x
enum { kRows = 1, kWidth = 1 };
#define DIMS
#define INPUTS
#define NO_INPUTS
#else
#error "define PAIR_RMSNORM, PAIR_KD or PAIR_CLIP"
#endif

enum { kRounds = 15 };

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
    t[i] = (float)((i * 40503u) % 1000) / 100.0f - 5.0f;
  }
  (void)x;
  FAST(options) fast_options = {atoi(argv[2])};
  SLOW(options) slow_options = {atoi(argv[2])};
  FAST(model) *fast = NULL;
  SLOW(model) *slow = NULL;
  if (FAST(create)(argv[1], &fast_options, &fast) != 0 ||
      SLOW(create)(argv[1], &slow_options, &slow) != 0)
    return fprintf(stderr, "create: %s\n", FAST(last_error)(NULL)), 1;
  /* lr 0: the weights stay, every round does the same work. */
  double best_fast = 1e30, best_slow = 1e30;
  float loss_fast = 0.0f, loss_slow = 0.0f;
  for (int r = 0; r < kRounds; ++r) {
    double start = now_ms();
#ifdef NO_INPUTS
    int fast_status = FAST(step)(fast, 0.0f, &loss_fast);
#else
    int fast_status = FAST(step)(fast, 0.0f, DIMS INPUTS, &loss_fast);
#endif
    if (fast_status != 0)
      return fprintf(stderr, "step: %s\n", FAST(last_error)(fast)), 1;
    double mid = now_ms();
#ifdef NO_INPUTS
    int slow_status = SLOW(step)(slow, 0.0f, &loss_slow);
#else
    int slow_status = SLOW(step)(slow, 0.0f, DIMS INPUTS, &loss_slow);
#endif
    if (slow_status != 0)
      return fprintf(stderr, "step: %s\n", SLOW(last_error)(slow)), 1;
    double end = now_ms();
    best_fast = mid - start < best_fast ? mid - start : best_fast;
    best_slow = end - mid < best_slow ? end - mid : best_slow;
  }
  size_t fast_bytes = 0, slow_bytes = 0;
  if (FAST(step_memory)(fast, DIMS &fast_bytes) != 0 ||
      SLOW(step_memory)(slow, DIMS &slow_bytes) != 0)
    return fprintf(stderr, "step_memory failed\n"), 1;
  printf("pair %s %s %.3f %.3f %.1f %.1f (loss %.5f vs %.5f)\n", CASE, argv[2], best_fast,
         best_slow, fast_bytes / 1e6, slow_bytes / 1e6, loss_fast, loss_slow);
  FAST(destroy)(fast);
  SLOW(destroy)(slow);
  free(x);
  free(t);
  return 0;
}
