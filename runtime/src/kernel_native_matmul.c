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
 * uses it: the kernel allocates nothing. */
#include <unistd.h>

#include "matmul_problem.h"
#include "parallel.h"
#include "target.h"
#include "vec.h"

/* The micro-kernel's tile is MR rows by NV 16-float vectors of c, sized to
 * the target's registers (target.h): with AVX-512, 12 x 2 = 24 of the 32 zmm
 * registers, plus 2 vectors of b and a broadcast of a; with AVX2 (a 16-float
 * vector is two ymm registers), 6 x 1 = 12 of the 16 ymm, plus 2 of b and a
 * broadcast; with SSE, 2 x 1 = 8 of the 16 xmm, plus 4 of b. NC columns a
 * task, unless the threads need narrower ones; at most KC_MAX rows of b
 * packed at a time (a 64 KB strip at most). */
enum { MR_MAX = 12, NV_MAX = 2, NR_MAX = NV_MAX * KILN_VL, NC = 128, KC_MAX = 512 };

/* The tile shape and cache blocking for this target and CPU. */
typedef struct blocking {
  int mr;
  int64_t nr, kc, mc;
} blocking;

/* The tile's vectors and rows for the target's lanes (kiln_target_f32_lanes,
 * a constant once kilnc has linked the runtime into a model). */
static inline int tile_vectors(void) { return kiln_target_f32_lanes() >= 16 ? 2 : 1; }
static inline int tile_rows(void) {
  return kiln_target_f32_lanes() >= 16 ? 12 : kiln_target_f32_lanes() >= 8 ? 6 : 2;
}

/* kc rows of a strip (kc x nr floats) take 2/3 of L1, mc rows of a's kc
 * columns half of L2 (sysconf; 48 KB of L1 and 1 MB of L2 where it does not
 * say). Measured on an AVX-512 EPYC (48 KB, 1 MB: kc 256, mc 504): the
 * projector's [576, 1024] x [1024, 4096] at 0.90 of oneDNN's time at 1 thread
 * and 0.98 at 2, against 0.86 and 0.76 with mc 240 (bench/README.md). */
static blocking cache_blocking(void) {
  blocking b = {tile_rows(), tile_vectors() * KILN_VL, 0, 0};
  long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  int64_t kc = (l1 > 0 ? l1 : 48 * 1024) * 2 / 3 / (b.nr * (int64_t)sizeof(float));
  b.kc = kc < 64 ? 64 : kc > KC_MAX ? KC_MAX : kc / KILN_VL * KILN_VL;
  int64_t mc = (l2 > 0 ? l2 : 1024 * 1024) / 2 / (b.kc * (int64_t)sizeof(float));
  b.mc = mc < 4 * b.mr ? 4 * b.mr : mc > 1024 ? 1024 : mc / b.mr * b.mr;
  return b;
}

/* One 2-D product c = act(a b + bias) + res, element strides by dim. */
typedef struct gemm {
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
  blocking blocks;
  int32_t activation;
} gemm;

//===----------------------------------------------------------------------===//
// Epilogue
//===----------------------------------------------------------------------===//

/* Phi(x) = (1 + erf(x / sqrt 2)) / 2, from erfc(|x| / sqrt 2) by Abramowitz
 * and Stegun 7.1.26 (absolute error <= 1.5e-7): for x < 0 the small value
 * comes straight from the polynomial, without cancellation. */
static inline kiln_v16 normal_cdf(kiln_v16 x) {
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

static inline kiln_v16 activate(int32_t activation, kiln_v16 x) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return x < 0.0f ? kiln_v16_splat(0.0f) : x; /* NaN stays NaN */
  case KILN_ACTIVATION_GELU_ERF:
    return x * normal_cdf(x);
  case KILN_ACTIVATION_GELU_TANH: {
    /* x (1 + tanh u) / 2 = x (1 - 1 / (e^{2u} + 1)) */
    kiln_v16 u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return x - x / (kiln_v16_exp(2.0f * u) + 1.0f);
  }
  case KILN_ACTIVATION_SIGMOID:
    return 1.0f / (1.0f + kiln_v16_exp(-x));
  default:
    return x;
  }
}

/* Columns [n0, n0 + count) of a row with element stride `stride`. */
static inline kiln_v16 load_row(const float *p, int64_t stride, int64_t count) {
  return kiln_v16_load_strided(p, stride, count, 0.0f);
}

//===----------------------------------------------------------------------===//
// Micro-kernel
//===----------------------------------------------------------------------===//

#define KILN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* c[m0 + r][n0 + j] for r < mr, j < cols (<= nv 16-float vectors), over k in
 * [k0, k0 + kc): starts from zero at k0 = 0, else from c; after the last k,
 * the epilogue. panel holds b's rows k0.. of these columns as [kc][nv * 16].
 * Inlined with constant mr and nv so that the tile lives in registers. */
KILN_ALWAYS_INLINE void tile_generic(int mr, int nv, const gemm *g, int64_t m0, int64_t n0,
                                     int64_t cols, int64_t k0, int64_t kc, const float *panel) {
  const int64_t nr = nv * KILN_VL;
  float *c = g->c + m0 * g->c_m + n0;
  bool full = cols == nr;
  kiln_v16 acc[MR_MAX][NV_MAX];
#pragma clang loop unroll(full)
  for (int r = 0; r < mr; ++r)
#pragma clang loop unroll(full)
    for (int v = 0; v < nv; ++v) {
      int64_t count = cols - v * KILN_VL;
      count = count < 0 ? 0 : count > KILN_VL ? KILN_VL : count;
      acc[r][v] = k0 == 0 ? kiln_v16_splat(0.0f)
                  : full  ? kiln_v16_load(c + r * g->c_m + v * KILN_VL)
                          : load_row(c + r * g->c_m + v * KILN_VL, 1, count);
    }
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
  bool last = k0 + kc >= g->k;
#pragma clang loop unroll(full)
  for (int v = 0; v < nv; ++v) {
    int64_t count = cols - v * KILN_VL, n = n0 + v * KILN_VL;
    if (count <= 0)
      break;
    count = count > KILN_VL ? KILN_VL : count;
    kiln_v16 bias = last && g->bias ? load_row(g->bias + n * g->bias_n, g->bias_n, count)
                                    : kiln_v16_splat(0.0f);
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; ++r) {
      kiln_v16 x = acc[r][v];
      if (last) {
        x = activate(g->activation, x + bias);
        if (g->res)
          x += load_row(g->res + (m0 + r) * g->res_m + n * g->res_n, g->res_n, count);
      }
      float *out = c + r * g->c_m + v * KILN_VL;
      if (count == KILN_VL)
        kiln_v16_store(out, x);
      else
        kiln_v16_store_partial(out, x, count);
    }
  }
}

typedef void (*tile_fn)(const gemm *g, int64_t m0, int64_t n0, int64_t cols, int64_t k0, int64_t kc,
                        const float *panel);

#define KILN_DEFINE_TILE(R, V)                                                                     \
  static void tile_##R##x##V(const gemm *g, int64_t m0, int64_t n0, int64_t cols, int64_t k0,      \
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
  return tile_vectors() == 2 ? wide[rows - 1] : narrow[rows - 1];
}

//===----------------------------------------------------------------------===//
// Packing b
//===----------------------------------------------------------------------===//

/* 16 x 16 transpose in registers: four rounds, round s swapping bit s of the
 * row index with bit s of the lane index (one two-source shuffle per row). */
KILN_ALWAYS_INLINE void transpose16(kiln_v16 rows[16]) {
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

/* panel[k][j] = b[k0 + k][n0 + j] for k < kc, j < nr, zero where n0 + j >= n. */
static void pack_strip(const gemm *g, int64_t k0, int64_t kc, int64_t n0, float *panel) {
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
        transpose16(rows);
        for (int t = 0; t < KILN_VL; ++t)
          kiln_v16_store(panel + (k + t) * nr + j0, rows[t]);
      }
  }
  for (; k < kc; ++k)
    for (int64_t j = 0; j < nr; ++j)
      panel[k * nr + j] = j < cols ? b[k * g->b_k + j * g->b_n] : 0.0f;
}

//===----------------------------------------------------------------------===//
// Tasks
//===----------------------------------------------------------------------===//

/* Rows [m0, m1) by columns [n0, n1) of g, all of k. */
static void run_block(const gemm *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  _Alignas(64) float strip[KC_MAX * NR_MAX];
  const blocking *bl = &g->blocks;
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

/* The batches of a problem as 2-D products, cut into tasks. */
typedef struct plan {
  const kiln_matmul_problem *p;
  const kiln_matmul_data *d;
  int64_t batches, m_blocks, n_blocks, mc, nc;
  blocking blocks;
  bool columns_outer; /* consecutive tasks share columns (b) rather than rows (a) */
} plan;

/* Batch `batch` (row-major over c's leading dims) of the problem as a gemm. */
static gemm gemm_of(const plan *pl, int64_t batch) {
  const kiln_matmul_problem *p = pl->p;
  const kiln_matmul_data *d = pl->d;
  int32_t r = p->c.rank;
  int64_t idx[KILN_MATMUL_MAX_RANK] = {0};
  for (int32_t i = r - 3; i >= 0; --i) {
    idx[i] = batch % p->c.dims[i];
    batch /= p->c.dims[i];
  }
  gemm g = {
      .a = d->a + kiln_matmul_element(&p->a, idx),
      .a_m = p->a.strides[r - 2],
      .a_k = p->a.strides[r - 1],
      .b = d->b + kiln_matmul_element(&p->b, idx),
      .b_k = p->b.strides[r - 2],
      .b_n = p->b.strides[r - 1],
      .c = d->c + kiln_matmul_element(&p->c, idx),
      .c_m = p->c.strides[r - 2],
      .m = p->c.dims[r - 2],
      .n = p->c.dims[r - 1],
      .k = p->a.dims[r - 1],
      .blocks = pl->blocks,
      .activation = p->activation,
  };
  if (p->has_bias) {
    g.bias = d->bias;
    g.bias_n = p->bias.strides[r - 1];
  }
  if (p->has_residual) {
    g.res = d->residual + kiln_matmul_element(&p->residual, idx);
    g.res_m = p->residual.dims[r - 2] == 1 ? 0 : p->residual.strides[r - 2];
    g.res_n = p->residual.dims[r - 1] == 1 ? 0 : p->residual.strides[r - 1];
  }
  return g;
}

static void run_tasks(void *ctx, int64_t begin, int64_t end) {
  const plan *pl = ctx;
  int64_t tiles_per_batch = pl->m_blocks * pl->n_blocks;
  for (int64_t task = begin; task < end; ++task) {
    int64_t batch = task / tiles_per_batch, rest = task % tiles_per_batch;
    /* Consecutive tasks share the larger operand's block, which then stays
     * in cache, and the threads' runs of tasks split it between them. */
    int64_t mb = pl->columns_outer ? rest % pl->m_blocks : rest / pl->n_blocks;
    int64_t nb = pl->columns_outer ? rest / pl->m_blocks : rest % pl->n_blocks;
    gemm g = gemm_of(pl, batch);
    int64_t m0 = mb * pl->mc, n0 = nb * pl->nc;
    int64_t m1 = m0 + pl->mc < g.m ? m0 + pl->mc : g.m;
    int64_t n1 = n0 + pl->nc < g.n ? n0 + pl->nc : g.n;
    run_block(&g, m0, m1, n0, n1);
  }
}

static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

static void run_native(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  int32_t r = p->c.rank;
  int64_t m = p->c.dims[r - 2], n = p->c.dims[r - 1], batches = 1;
  for (int32_t i = 0; i + 2 < r; ++i)
    batches *= p->c.dims[i];
  if (batches == 0 || m == 0 || n == 0)
    return;
  if (p->c.strides[r - 1] != 1) {
    kiln_matmul_reference(p, d);
    return;
  }
  /* Blocks of up to mc x NC, narrowed until each thread has two tasks, then
   * evened out: threads take equal runs of tasks. */
  blocking blocks = cache_blocking();
  int64_t threads = p->threads > 0 ? p->threads : 1;
  int64_t nc = NC, mc = m < blocks.mc ? m : blocks.mc;
  while (nc > blocks.nr && batches * ceil_div(m, mc) * ceil_div(n, nc) < 2 * threads)
    nc /= 2;
  while (mc > blocks.mr && batches * ceil_div(m, mc) * ceil_div(n, nc) < 2 * threads)
    mc = ceil_div(mc, 2);
  mc = ceil_div(ceil_div(m, ceil_div(m, mc)), blocks.mr) * blocks.mr;
  nc = ceil_div(ceil_div(n, ceil_div(n, nc)), blocks.nr) * blocks.nr;
  plan pl = {p, d, batches, ceil_div(m, mc), ceil_div(n, nc), mc, nc, blocks, n > m};
  kiln_parallel_for(batches * pl.m_blocks * pl.n_blocks, 1, run_tasks, &pl);
}

KILN_DEFINE_MATMUL_KERNELS(native, run_native)
