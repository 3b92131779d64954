/* What Kiln's own matmul kernels share (kernel_native_matmul.c in f32,
 * kernel_native_matmul_bf16.c in bf16 with f32 accumulation): the 2-D
 * products a problem is cut into, the tile shape and cache blocking, the
 * tile's start and epilogue, and the driver that spreads tasks of up to
 * mc x NC over the threads (native_gemm.c).
 *
 * A tile is mr rows by nv 16-float vectors of c held in registers while k
 * runs; the epilogue applies bias, activation and residual to the registers
 * after the last k, so c is written once with its final values. The inline
 * functions here are inlined with constant mr and nv into each kernel's tile
 * functions, so that the tile lives in registers. */
#ifndef KILN_NATIVE_GEMM_H
#define KILN_NATIVE_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "kiln/abi.h"
#include "matmul_problem.h"
#include "target.h"
#include "vec.h"

#define KILN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* The tile is at most MR_MAX rows by NV_MAX 16-float vectors (NR_MAX
 * columns): with AVX-512, 12 x 2 = 24 of the 32 zmm registers, plus 2
 * vectors of b and a broadcast of a; with AVX2 (a 16-float vector is two ymm
 * registers), 6 x 1 = 12 of the 16 ymm; with SSE, 2 x 1 = 8 of the 16 xmm.
 * NC columns a task, unless the threads need narrower ones. */
enum { MR_MAX = 12, NV_MAX = 2, NR_MAX = NV_MAX * KILN_VL, NC = 128 };

/* The tile shape and cache blocking of one kernel on this target and CPU. */
typedef struct kiln_gemm_blocking {
  int mr;
  int64_t nr, kc, mc;
} kiln_gemm_blocking;

/* The tile's vectors and rows for the target's lanes (kiln_target_f32_lanes,
 * a constant once kilnc has linked the runtime into a model). */
static inline int kiln_gemm_tile_vectors(void) { return kiln_target_f32_lanes() >= 16 ? 2 : 1; }
static inline int kiln_gemm_tile_rows(void) {
  return kiln_target_f32_lanes() >= 16 ? 12 : kiln_target_f32_lanes() >= 8 ? 6 : 2;
}

/* The target's tile shape, and kc and mc from this CPU's caches: kc rows of
 * a strip of b (kc x nr elements of b_bytes each) take 2/3 of L1, at most
 * kc_max and a multiple of kc_step; mc rows of a's kc columns (as f32) half
 * of L2 (sysconf; 48 KB of L1 and 1 MB of L2 where it does not say). */
kiln_gemm_blocking kiln_gemm_cache_blocking(int64_t b_bytes, int64_t kc_max, int64_t kc_step);

/* One 2-D product c = act(a b + bias) + res, element strides by dim. */
typedef struct kiln_gemm {
  const float *a;
  int64_t a_m, a_k;
  const float *b;
  int64_t b_k, b_n;
  float *c;
  int64_t c_m; /* c's columns are dense */
  const float *bias;
  int64_t bias_n; /* bias == NULL: none */
  const float *res;
  int64_t res_m, res_n; /* res == NULL: none */
  int64_t m, n, k;
  kiln_gemm_blocking blocks;
  int32_t activation;
  /* b packed whole (kiln_gemm_packing), or NULL: strips packed per block. */
  const void *b_packed;
  int64_t b_packed_k; /* k per packed row of a strip */
} kiln_gemm;

/* How a kernel lays out b packed whole, for b that is a model's weight
 * (packed_weights.h): strips of blocks.nr columns over all of k, one after
 * another, each ceil(k / k_per_row) rows of nr 4-byte words, written by
 * `strip` (the strip of columns [n0, n0 + nr), zero past n). A tile then
 * reads rows [k0, k0 + kc) of a strip where they lie in it (k0 a multiple of
 * k_per_row), as it reads a strip packed for its block. */
enum { KILN_GEMM_LAYOUT_BF16_PAIRS = 1 };
typedef struct kiln_gemm_packing {
  int32_t layout; /* tells the kernels' packs apart */
  int64_t k_per_row;
  void (*strip)(const kiln_gemm *g, int64_t n0, void *dst);
} kiln_gemm_packing;

/* The packed rows of b from k0 on, in the strip that starts at column n0. */
static inline const void *kiln_gemm_packed_panel(const kiln_gemm *g, int64_t n0, int64_t k0) {
  const int64_t nr = g->blocks.nr, rows = (g->k + g->b_packed_k - 1) / g->b_packed_k;
  return (const uint32_t *)g->b_packed + (n0 / nr * rows + k0 / g->b_packed_k) * nr;
}

/* Computes rows [m0, m1) by columns [n0, n1) of g (at most NC), all of k. */
typedef void (*kiln_gemm_block_fn)(const kiln_gemm *g, int64_t m0, int64_t m1, int64_t n0,
                                   int64_t n1);

/* Cuts p into 2-D products and those into blocks of up to blocks.mc x NC,
 * narrowed until each thread has two, and runs `block` on each over the
 * runtime's threads. Consecutive blocks share the larger operand's rows or
 * columns, which then stay in cache. A c whose columns are strided goes to
 * the reference loop. When b is a model's weight, the same in every batch,
 * the blocks get it packed whole by `packing`, when not NULL (made on its
 * first call, or by create: prepare.h). */
void kiln_native_gemm_run(const kiln_matmul_problem *p, const kiln_matmul_data *d,
                          kiln_gemm_blocking blocks, kiln_gemm_block_fn block,
                          const kiln_gemm_packing *packing);

//===----------------------------------------------------------------------===//
// Epilogue
//===----------------------------------------------------------------------===//

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2, from erfc(|x| / sqrt 2) by Abramowitz
 * and Stegun 7.1.26 (absolute error <= 1.5e-7): for x < 0 the small value
 * comes straight from the polynomial, without cancellation. */
static inline kiln_v16 kiln_gemm_normal_cdf(kiln_v16 x) {
  kiln_v16 z = __builtin_elementwise_abs(x) * 0.70710678118654752f;
  kiln_v16 t = 1.0f / (1.0f + 0.3275911f * z);
  kiln_v16 poly = kiln_v16_splat(1.061405429f);
  poly = kiln_v16_fma(poly, t, kiln_v16_splat(-1.453152027f));
  poly = kiln_v16_fma(poly, t, kiln_v16_splat(1.421413741f));
  poly = kiln_v16_fma(poly, t, kiln_v16_splat(-0.284496736f));
  poly = kiln_v16_fma(poly, t, kiln_v16_splat(0.254829592f));
  kiln_v16 half_erfc = 0.5f * poly * t * kiln_v16_exp(-z * z);
  return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

static inline kiln_v16 kiln_gemm_activate(int32_t activation, kiln_v16 x) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return x < 0.0f ? kiln_v16_splat(0.0f) : x; /* NaN stays NaN */
  case KILN_ACTIVATION_GELU_ERF:
    return x * kiln_gemm_normal_cdf(x);
  case KILN_ACTIVATION_GELU_TANH: {
    /* x (1 + tanh u) / 2 = x (1 - 1 / (e^{2u} + 1)) */
    kiln_v16 u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return x - x / (kiln_v16_exp(2.0f * u) + 1.0f);
  }
  case KILN_ACTIVATION_SIGMOID:
    return 1.0f / (1.0f + kiln_v16_exp(-x));
  case KILN_ACTIVATION_SILU:
    return x / (1.0f + kiln_v16_exp(-x));
  case KILN_ACTIVATION_QUICK_GELU:
    return x / (1.0f + kiln_v16_exp(-KILN_QUICK_GELU_SCALE * x));
  default:
    return x;
  }
}

/* `count` (<= 16) elements from p with element stride `stride`, zeros after. */
static inline kiln_v16 kiln_gemm_load_row(const float *p, int64_t stride, int64_t count) {
  return kiln_v16_load_strided(p, stride, count, 0.0f);
}

/* The tile c[m0 + r][n0 + j] (r < mr, j < cols <= nv 16-float vectors) at
 * the start of the k-block at k0: zero at the first, else c's partial sums. */
KILN_ALWAYS_INLINE void kiln_gemm_tile_start(int mr, int nv, const kiln_gemm *g, int64_t m0,
                                             int64_t n0, int64_t cols, int64_t k0,
                                             kiln_v16 acc[MR_MAX][NV_MAX]) {
  const float *c = g->c + m0 * g->c_m + n0;
  bool full = cols == nv * KILN_VL;
#pragma clang loop unroll(full)
  for (int r = 0; r < mr; ++r)
#pragma clang loop unroll(full)
    for (int v = 0; v < nv; ++v) {
      int64_t count = cols - v * KILN_VL;
      count = count < 0 ? 0 : count > KILN_VL ? KILN_VL : count;
      acc[r][v] = k0 == 0 ? kiln_v16_splat(0.0f)
                  : full  ? kiln_v16_load(c + r * g->c_m + v * KILN_VL)
                          : kiln_gemm_load_row(c + r * g->c_m + v * KILN_VL, 1, count);
    }
}

/* Writes the tile back at the end of the k-block that ends at k_end: after
 * the last, through the epilogue. */
KILN_ALWAYS_INLINE void kiln_gemm_tile_finish(int mr, int nv, const kiln_gemm *g, int64_t m0,
                                              int64_t n0, int64_t cols, int64_t k_end,
                                              kiln_v16 acc[MR_MAX][NV_MAX]) {
  float *c = g->c + m0 * g->c_m + n0;
  bool last = k_end >= g->k;
#pragma clang loop unroll(full)
  for (int v = 0; v < nv; ++v) {
    int64_t count = cols - v * KILN_VL, n = n0 + v * KILN_VL;
    if (count <= 0)
      break;
    count = count > KILN_VL ? KILN_VL : count;
    kiln_v16 bias = last && g->bias ? kiln_gemm_load_row(g->bias + n * g->bias_n, g->bias_n, count)
                                    : kiln_v16_splat(0.0f);
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; ++r) {
      kiln_v16 x = acc[r][v];
      if (last) {
        x = kiln_gemm_activate(g->activation, x + bias);
        if (g->res)
          x += kiln_gemm_load_row(g->res + (m0 + r) * g->res_m + n * g->res_n, g->res_n, count);
      }
      float *out = c + r * g->c_m + v * KILN_VL;
      if (count == KILN_VL)
        kiln_v16_store(out, x);
      else
        kiln_v16_store_partial(out, x, count);
    }
  }
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

/* 16 x 16 transpose in registers: four rounds, round s swapping bit s of the
 * row index with bit s of the lane index (one two-source shuffle per row).
 * Bits move as they are, so it serves any 32-bit lanes. */
KILN_ALWAYS_INLINE void kiln_gemm_transpose16(kiln_v16 rows[16]) {
#pragma clang loop unroll(full)
  for (int s = 1; s < 16; s <<= 1) {
#pragma clang loop unroll(full)
    for (int lo = 0; lo < 16; ++lo) {
      if (lo & s)
        continue;
      int hi = lo | s;
      kiln_v16 x = rows[lo], y = rows[hi];
      /* lane j of the new low row: x[j] where bit s of j is clear, else
       * y[j ^ s]; of the new high row: x[j ^ s] where it is clear, else y[j]. */
      switch (s) {
      case 1:
        rows[lo] = __builtin_shufflevector(x, y, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28,
                                           14, 30);
        rows[hi] = __builtin_shufflevector(x, y, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29,
                                           15, 31);
        break;
      case 2:
        rows[lo] =
            __builtin_shufflevector(x, y, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        rows[hi] = __builtin_shufflevector(x, y, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15,
                                           30, 31);
        break;
      case 4:
        rows[lo] =
            __builtin_shufflevector(x, y, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        rows[hi] = __builtin_shufflevector(x, y, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29,
                                           30, 31);
        break;
      default:
        rows[lo] =
            __builtin_shufflevector(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        rows[hi] = __builtin_shufflevector(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28,
                                           29, 30, 31);
        break;
      }
    }
  }
}

#endif /* KILN_NATIVE_GEMM_H */
