/* The cost of a call beyond its arithmetic (bench/call_overhead.sh): call.kiln's
 * two tiny entries, a million calls each, best of 5 rounds in ns per call; and,
 * when bench/train/heap_meter.c is preloaded, the heap bytes 2,000 warm calls
 * allocate (the call path should allocate nothing).
 *
 *   overhead EMPTY.safetensors */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "call.h"

extern long long heap_meter_reset(void) __attribute__((weak));
extern long long heap_meter_peak(void) __attribute__((weak));

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return fprintf(stderr, "usage: %s EMPTY.safetensors\n", argv[0]), 2;
  call_options options = {1};
  call_model *model = NULL;
  if (call_create(argv[1], &options, &model) != 0)
    return fprintf(stderr, "create: %s\n", call_last_error(NULL)), 1;
  float x[4] = {1, 2, 3, 4}, w[16] = {0}, b[4] = {1, 1, 1, 1}, y[4];
  const int calls = 1000000;
  double linear = 1e30, add = 1e30;
  for (int round = 0; round < 5; ++round) {
    double t0 = now_ns();
    for (int i = 0; i < calls; ++i)
      call_linear(model, 1, x, w, b, y);
    double t1 = now_ns();
    for (int i = 0; i < calls; ++i)
      call_add_one(model, x, y);
    double t2 = now_ns();
    linear = (t1 - t0) / calls < linear ? (t1 - t0) / calls : linear;
    add = (t2 - t1) / calls < add ? (t2 - t1) / calls : add;
  }
  printf("call linear [1, 4] x [4, 4]^T + b: %.0f ns per call\n", linear);
  printf("call add_one [1, 4]: %.0f ns per call\n", add);
  if (heap_meter_reset) {
    long long base = heap_meter_reset();
    for (int i = 0; i < 1000; ++i) {
      call_linear(model, 1, x, w, b, y);
      call_add_one(model, x, y);
    }
    printf("call heap: %lld bytes allocated at most during 2000 warm calls\n",
           heap_meter_peak() - base);
  }
  call_destroy(model);
  return 0;
}
