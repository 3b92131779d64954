/* kiln_rt_native_matmul*_f32: Kiln's own matmuls and linear layers, for
 * --backend=native. Same operands, flags and results as the
 * kiln_rt_dnnl_matmul* kernels (matmul_problem.h), without oneDNN.
 *
 * The product is cut into tasks of mc rows by NC columns, spread over the
 * threads. A task packs its columns of b, kc rows at a time, into strips of nr
 * columns ([k][nr], zero-padded), then runs a register-blocked micro-kernel:
 * mr rows by nr columns of c held in vector registers while k runs, with the
 * bias, the activation and the residual applied to the registers after the
 * last k (the epilogue), so c is written once with its final values. The tile
 * is shaped for the target's registers (12 x 32 with AVX-512, 6 x 16 with
 * AVX2). Packing makes every micro-kernel load of b contiguous and the strip
 * (kc x nr floats, 32 KB) stay in L1 while the tile walks down the rows of a; a transposed b
 * (PyTorch's Linear weight [N, K]) is packed by 16 x 16 in-register
 * transposes. One strip is packed at a time, on the stack of the thread that
 * uses it: the kernel allocates nothing. The tile's start and epilogue, and
 * the driver that spreads blocks over the threads, are native_gemm.h's. */
#include "native_gemm.h"

/* At most KC_MAX rows of b packed at a time (a 64 KB strip at most), a
 * multiple of the 16 rows a transpose packs. */
enum { KC_MAX = 512 };

//===----------------------------------------------------------------------===//
// Micro-kernel
//===----------------------------------------------------------------------===//

/* c[m0 + r][n0 + j] for r < mr, j < cols (<= nv 16-float vectors), over k in
 * [k0, k0 + kc). panel holds b's rows k0.. of these columns as [kc][nv * 16].
 * Inlined with constant mr and nv so that the tile lives in registers. */
KILN_ALWAYS_INLINE void tile_generic(int mr, int nv, const kiln_gemm *g, int64_t m0, int64_t n0,
                                     int64_t cols, int64_t k0, int64_t kc, const float *panel) {
  const int64_t nr = nv * KILN_VL;
  kiln_v16 acc[MR_MAX][NV_MAX];
  kiln_gemm_tile_start(mr, nv, g, m0, n0, cols, k0, acc);
  const float *a = g->a + m0 * g->a_m + k0 * g->a_k;
  int64_t a_m = g->a_m, a_k = g->a_k;
  for (int64_t k = 0; k < kc; ++k) {
    kiln_v16 b[NV_MAX];
#pragma clang loop unroll(full)
    for (int v = 0; v < nv; ++v)
      b[v] = kiln_v16_load(panel + k * nr + v * KILN_VL);
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; ++r) {
      kiln_v16 av = kiln_v16_splat(a[r * a_m + k * a_k]);
#pragma clang loop unroll(full)
      for (int v = 0; v < nv; ++v)
        acc[r][v] = kiln_v16_fma(av, b[v], acc[r][v]);
    }
  }
  kiln_gemm_tile_finish(mr, nv, g, m0, n0, cols, k0 + kc, acc);
}

typedef void (*tile_fn)(const kiln_gemm *g, int64_t m0, int64_t n0, int64_t cols, int64_t k0,
                        int64_t kc, const float *panel);

#define KILN_DEFINE_TILE(R, V)                                                                     \
  static void tile_##R##x##V(const kiln_gemm *g, int64_t m0, int64_t n0, int64_t cols, int64_t k0, \
                             int64_t kc, const float *panel) {                                     \
    tile_generic(R, V, g, m0, n0, cols, k0, kc, panel);                                            \
  }
KILN_DEFINE_TILE(1, 2)
KILN_DEFINE_TILE(2, 2)
KILN_DEFINE_TILE(3, 2)
KILN_DEFINE_TILE(4, 2)
KILN_DEFINE_TILE(5, 2)
KILN_DEFINE_TILE(6, 2)
KILN_DEFINE_TILE(7, 2)
KILN_DEFINE_TILE(8, 2)
KILN_DEFINE_TILE(9, 2)
KILN_DEFINE_TILE(10, 2)
KILN_DEFINE_TILE(11, 2)
KILN_DEFINE_TILE(12, 2)
KILN_DEFINE_TILE(1, 1)
KILN_DEFINE_TILE(2, 1)
KILN_DEFINE_TILE(3, 1)
KILN_DEFINE_TILE(4, 1)
KILN_DEFINE_TILE(5, 1)
KILN_DEFINE_TILE(6, 1)
#undef KILN_DEFINE_TILE

/* The tile function for `rows` rows (1 to the shape's mr). Tested on the
 * target constant itself, so that the other shape's table is dropped. */
static tile_fn tile_for(int rows) {
  static const tile_fn wide[MR_MAX] = {tile_1x2, tile_2x2,  tile_3x2,  tile_4x2,
                                       tile_5x2, tile_6x2,  tile_7x2,  tile_8x2,
                                       tile_9x2, tile_10x2, tile_11x2, tile_12x2};
  static const tile_fn narrow[6] = {tile_1x1, tile_2x1, tile_3x1, tile_4x1, tile_5x1, tile_6x1};
  return kiln_gemm_tile_vectors() == 2 ? wide[rows - 1] : narrow[rows - 1];
}

//===----------------------------------------------------------------------===//
// Packing b
//===----------------------------------------------------------------------===//

/* panel[k][j] = b[k0 + k][n0 + j] for k < kc, j < nr, zero where n0 + j >= n. */
static void pack_strip(const kiln_gemm *g, int64_t k0, int64_t kc, int64_t n0, float *panel) {
  const int64_t nr = g->blocks.nr;
  int64_t cols = g->n - n0 < nr ? g->n - n0 : nr;
  const float *b = g->b + k0 * g->b_k + n0 * g->b_n;
  if (g->b_n == 1 && cols == nr) {
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < nr; j += KILN_VL)
        kiln_v16_store(panel + k * nr + j, kiln_v16_load(b + k * g->b_k + j));
    return;
  }
  int64_t k = 0;
  if (g->b_k == 1 && cols == nr) {
    /* b^T's rows are contiguous in k: 16 columns x 16 k at a time. */
    for (; k + KILN_VL <= kc; k += KILN_VL)
      for (int64_t j0 = 0; j0 < nr; j0 += KILN_VL) {
        kiln_v16 rows[KILN_VL];
        for (int j = 0; j < KILN_VL; ++j)
          rows[j] = kiln_v16_load(b + (j0 + j) * g->b_n + k);
        kiln_gemm_transpose16(rows);
        for (int t = 0; t < KILN_VL; ++t)
          kiln_v16_store(panel + (k + t) * nr + j0, rows[t]);
      }
  }
  for (; k < kc; ++k)
    for (int64_t j = 0; j < nr; ++j)
      panel[k * nr + j] = j < cols ? b[k * g->b_k + j * g->b_n] : 0.0f;
}

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

/* Rows [m0, m1) by columns [n0, n1) of g, all of k. */
static void run_block(const kiln_gemm *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  _Alignas(64) float strip[KC_MAX * NR_MAX];
  const kiln_gemm_blocking *bl = &g->blocks;
  tile_fn full_rows = tile_for(bl->mr);
  int64_t k0 = 0;
  do {
    int64_t kc = g->k - k0 < bl->kc ? g->k - k0 : bl->kc;
    for (int64_t s = n0; s < n1; s += bl->nr) {
      pack_strip(g, k0, kc, s, strip);
      int64_t cols = n1 - s < bl->nr ? n1 - s : bl->nr;
      int64_t m = m0;
      for (; m + bl->mr <= m1; m += bl->mr)
        full_rows(g, m, s, cols, k0, kc, strip);
      if (m < m1)
        tile_for((int)(m1 - m))(g, m, s, cols, k0, kc, strip);
    }
    k0 += kc;
  } while (k0 < g->k);
}

static void run_native(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  /* b is packed per call even when it is a weight: reading a copy packed once
   * was measured no faster (bench/matmul_kernels.sh), for twice the memory. */
  kiln_native_gemm_run(p, d, kiln_gemm_cache_blocking(sizeof(float), KC_MAX, KILN_VL), run_block,
                       NULL);
}

KILN_DEFINE_MATMUL_KERNELS(native, run_native)
