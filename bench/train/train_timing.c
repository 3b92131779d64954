/* train_timing: median time of one train step of a bench/train model, and the
 * memory it keeps. Compiled once per model with -DMODEL_<NAME>.
 *
 *   train_timing WEIGHTS.safetensors THREADS STEPS [RSS_STEPS]
 *
 * Prints "kiln <case> ms <median>" and the memory of a step; with
 * RSS_STEPS, runs that many more steps and prints the resident set before
 * and after them (growth would be a leak). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(MODEL_MLP784)
#include "mlp784.h"
#define M(x) mlp784_##x
#define CASE "mlp784_sgd_b128"
#define B 128
static float x[B * 784];
static int64_t y[B];
static void fill(void) {
  for (size_t i = 0; i < sizeof x / sizeof *x; ++i)
    x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
  for (int i = 0; i < B; ++i)
    y[i] = i % 10;
}
#define STEP(model, loss) mlp784_step(model, 0.01f, B, x, y, loss)
#define NUM_GRADS MLP784_STEP_NUM_GRADS
#define STEP_MEMORY(model, bytes) mlp784_step_memory(model, B, bytes)
#define ARENA MLP784_STEP_ARENA_BYTES(B)
#define MOMENTS 1
#elif defined(MODEL_INFONCE)
#include "infonce.h"
#define M(x) infonce_##x
#define CASE "infonce_256x512"
static void fill(void) {}
#define STEP(model, loss) infonce_step(model, 0.01f, loss)
#define NUM_GRADS INFONCE_STEP_NUM_GRADS
#define STEP_MEMORY(model, bytes) infonce_step_memory(model, bytes)
#define ARENA INFONCE_STEP_ARENA_BYTES
#define MOMENTS 0
#elif defined(MODEL_BLOCK)
#include "block.h"
#define M(x) block_##x
#define CASE "block_adamw_b8_s128"
#define B 8
#define S 128
static float x[B * S * 512], target[B * S * 512];
static void fill(void) {
  for (size_t i = 0; i < sizeof x / sizeof *x; ++i) {
    x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    target[i] = (float)((i * 40503u) % 1000) / 500.0f - 1.0f;
  }
}
#define STEP(model, loss) block_step(model, 1e-4f, B, S, x, target, loss)
#define NUM_GRADS BLOCK_STEP_NUM_GRADS
#define STEP_MEMORY(model, bytes) block_step_memory(model, B, S, bytes)
#define ARENA BLOCK_STEP_ARENA_BYTES(B, S)
#define MOMENTS 2
#elif defined(MODEL_GPT)
#include "gpt.h"
#define M(x) gpt_##x
#define CASE "gpt135m_adamw_b4_s128"
#define B 4
#define S 128
static int64_t ids[B * S], targets[B * S];
static void fill(void) {
  for (int64_t i = 0; i < B * S; ++i) {
    ids[i] = (int64_t)((uint64_t)i * 2654435761u % 32000);
    targets[i] = (i * 40503 + 7) % 32000;
  }
}
#define STEP(model, loss) gpt_step(model, 3e-4f, B, S, ids, targets, loss)
#define NUM_GRADS GPT_STEP_NUM_GRADS
#define STEP_MEMORY(model, bytes) gpt_step_memory(model, B, S, bytes)
#define ARENA GPT_STEP_ARENA_BYTES(B, S)
#define MOMENTS 2
#else
#error "define MODEL_MLP784, MODEL_INFONCE, MODEL_BLOCK or MODEL_GPT"
#endif

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long rss_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  if (f)
    fclose(f);
  return resident * 4;
}

/* bench/train/heap_meter.c, when preloaded: the C heap's live bytes and peak. */
extern long long heap_meter_reset(void) __attribute__((weak));
extern long long heap_meter_peak(void) __attribute__((weak));

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4)
    return fprintf(stderr, "usage: %s WEIGHTS THREADS STEPS [RSS_STEPS]\n", argv[0]), 2;
  int steps = atoi(argv[3]);
  long rss_steps = argc > 4 ? atol(argv[4]) : 0;
  M(options) options = {atoi(argv[2])};
  M(model) *model = NULL;
  if (M(create)(argv[1], &options, &model) != 0)
    return fprintf(stderr, "create: %s\n", M(last_error)(NULL)), 1;
  fill();
  float loss = 0.0f;
  for (int i = 0; i < 3; ++i)
    if (STEP(model, &loss) != 0)
      return fprintf(stderr, "step: %s\n", M(last_error)(model)), 1;
  double *times = malloc(sizeof(double) * (size_t)steps);
  for (int i = 0; i < steps; ++i) {
    double start = now_ms();
    STEP(model, &loss);
    times[i] = now_ms() - start;
  }
  qsort(times, (size_t)steps, sizeof *times, compare);
  printf("kiln %s ms %.3f\n", CASE, times[steps / 2]);
  /* A step's working memory is its arena, which holds the gradients too (in
   * activations' dead bytes where it can); the optimizer state persists
   * between calls, as PyTorch's does. */
  size_t step_bytes = 0;
  if (STEP_MEMORY(model, &step_bytes) != 0)
    return fprintf(stderr, "step_bytes: %s\n", M(last_error)(model)), 1;
  double arena_mb = (double)(ARENA) / 1e6, grads_mb = (double)NUM_GRADS * 4 / 1e6;
  double step_mb = (double)step_bytes / 1e6;
  if (heap_meter_reset) {
    /* What a call takes from the heap besides its arena (oneDNN's scratch, say). */
    long long base = heap_meter_reset();
    STEP(model, &loss);
    double heap_mb = (double)(heap_meter_peak() - base) / 1e6;
    printf("heap %s: %.3f MB allocated at most during a step\n", CASE, heap_mb);
    step_mb += heap_mb;
  }
  printf("memory %s: %.1f MB per step (activations' arena %.1f MB, gradients %.1f MB, "
         "%.1f MB of them past the activations), optimizer state %.1f MB (loss %.4f)\n",
         CASE, step_mb, arena_mb, grads_mb, step_mb - arena_mb, grads_mb * MOMENTS, loss);
  printf("kilnmem %s MB %.2f\n", CASE, step_mb);
  if (rss_steps > 0) {
    long before = rss_kb();
    for (long i = 0; i < rss_steps; ++i)
      STEP(model, &loss);
    printf("rss %s: %ld KB before %ld more steps, %ld KB after\n", CASE, before, rss_steps,
           rss_kb());
  }
  free(times);
  M(destroy)(model);
  return 0;
}
