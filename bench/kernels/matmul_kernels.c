/* The runtime's matmul kernels side by side on the same buffers (issue 11):
 * oneDNN's (kiln_rt_dnnl_matmul_f32), Kiln's in f32 and Kiln's in bf16
 * (kiln_rt_native{,_bf16}_matmul_f32), on Linear-layer shapes (b an [n, k]
 * weight, transposed by strides), called alternately, best of REPS each.
 * Kiln's kernels twice: packing b per call, and with b a registered weight,
 * packed once (packed_weights.h; columns "-packed"), as in a model without
 * train entries. Built by bench/matmul_kernels.sh from the runtime's sources
 * for this CPU.
 *
 *   matmul_kernels THREADS M K N [M K N ...]
 *
 * Prints, per shape, each kernel's time and GFLOP/s and the rates' ratios. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels.h"
#include "packed_weights.h"
#include "parallel.h"
#include "target.h"

#define KERNELS 5

#define REPS 15

typedef void (*matmul_fn)(int64_t, kiln_memref *, int64_t, kiln_memref *, int64_t, kiln_memref *,
                          int64_t);

/* A rank-2 memref descriptor. */
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} desc2;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static float *randoms(int64_t n, unsigned seed) {
  float *p = malloc((size_t)n * sizeof *p);
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
  }
  return p;
}

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 2) % 3 != 0) {
    fprintf(stderr, "usage: %s THREADS M K N [M K N ...]\n", argv[0]);
    return 2;
  }
  /* The tiles a model compiled for this CPU would get. */
  __builtin_cpu_init();
  kiln_target_set_f32_lanes(__builtin_cpu_supports("avx512f") ? 16
                            : __builtin_cpu_supports("avx2")  ? 8
                                                              : 4);
  kiln_target_set_bf16_dot(__builtin_cpu_supports("avx512bf16"));
  int threads = atoi(argv[1]);
  kiln_set_thread_count(threads);
  const matmul_fn kernels[KERNELS] = {kiln_rt_dnnl_matmul_f32, kiln_rt_native_matmul_f32,
                                      kiln_rt_native_matmul_f32, kiln_rt_native_bf16_matmul_f32,
                                      kiln_rt_native_bf16_matmul_f32};
  const char *names[KERNELS] = {"onednn", "kiln-f32", "kiln-f32-packed", "kiln-bf16",
                                "kiln-bf16-packed"};
  const int packed[KERNELS] = {0, 0, 1, 0, 1};
  int owner;
  printf("tiles: %d f32 lanes, bf16 %s\n", kiln_target_f32_lanes(),
         kiln_target_has_bf16_dot() ? "with vdpbf16ps" : "with f32 FMAs");
  for (int s = 2; s + 2 < argc; s += 3) {
    int64_t m = atoll(argv[s]), k = atoll(argv[s + 1]), n = atoll(argv[s + 2]);
    float *a = randoms(m * k, 1), *b = randoms(n * k, 2), *c = malloc((size_t)(m * n) * 4);
    float *w = randoms(n * k, 2); /* b again, registered as a weight */
    kiln_packed_weights_add(&owner, w, (size_t)(n * k) * sizeof *w);
    desc2 da = {a, a, 0, {m, k}, {k, 1}}, db = {b, b, 0, {k, n}, {1, k}};
    desc2 dw = {w, w, 0, {k, n}, {1, k}}, dc = {c, c, 0, {m, n}, {n, 1}};
    double best[KERNELS] = {1e30, 1e30, 1e30, 1e30, 1e30};
    for (int rep = 0; rep <= REPS; ++rep)
      for (int i = 0; i < KERNELS; ++i) {
        double start = now_ms();
        kernels[i](2, (kiln_memref *)&da, 2, (kiln_memref *)(packed[i] ? &dw : &db), 2,
                   (kiln_memref *)&dc, /*flags=*/0);
        double ms = now_ms() - start;
        if (rep > 0 && ms < best[i]) /* the first round warms up */
          best[i] = ms;
      }
    double flops = 2.0 * (double)m * (double)k * (double)n;
    for (int i = 0; i < KERNELS; ++i)
      printf("threads=%d %lldx%lldx%lld %-16s %8.3f ms %7.1f GFLOP/s\n", threads, (long long)m,
             (long long)k, (long long)n, names[i], best[i], flops / best[i] / 1e6);
    printf("threads=%d %lldx%lldx%lld kiln-f32/onednn %.2f kiln-bf16/kiln-f32 %.2f "
           "kiln-bf16/onednn %.2f; packed once/per call: f32 %.2f bf16 %.2f; "
           "kiln-bf16-packed/onednn %.2f (rates)\n",
           threads, (long long)m, (long long)k, (long long)n, best[0] / best[1], best[1] / best[3],
           best[0] / best[3], best[1] / best[2], best[3] / best[4], best[0] / best[4]);
    kiln_packed_weights_release(&owner);
    free(a);
    free(b);
    free(w);
    free(c);
  }
  return 0;
}
