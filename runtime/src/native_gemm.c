/* The driver of Kiln's own matmul kernels: a problem cut into 2-D products,
 * those into blocks, the blocks spread over the threads (native_gemm.h). */
#include "native_gemm.h"

#include <unistd.h>

#include "packed_weights.h"
#include "parallel.h"
#include "prepare.h"

/* Measured on an AVX-512 EPYC (48 KB, 1 MB: the f32 kernel's kc 256, mc 504):
 * the projector's [576, 1024] x [1024, 4096] at 0.90 of oneDNN's time at 1
 * thread and 0.98 at 2, against 0.86 and 0.76 with mc 240 (bench/README.md). */
kiln_gemm_blocking kiln_gemm_cache_blocking(int64_t b_bytes, int64_t kc_max, int64_t kc_step) {
  kiln_gemm_blocking b = {kiln_gemm_tile_rows(), kiln_gemm_tile_vectors() * KILN_VL, 0, 0};
  long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  int64_t kc = (l1 > 0 ? l1 : 48 * 1024) * 2 / 3 / (b.nr * b_bytes);
  b.kc = kc < 64 ? 64 : kc > kc_max ? kc_max : kc / kc_step * kc_step;
  int64_t mc = (l2 > 0 ? l2 : 1024 * 1024) / 2 / (b.kc * (int64_t)sizeof(float));
  b.mc = mc < 4 * b.mr ? 4 * b.mr : mc > 1024 ? 1024 : mc / b.mr * b.mr;
  return b;
}

/* The batches of a problem as 2-D products, cut into tasks. */
typedef struct plan {
  const kiln_matmul_problem *p;
  const kiln_matmul_data *d;
  int64_t batches, m_blocks, n_blocks, mc, nc;
  kiln_gemm_blocking blocks;
  kiln_gemm_block_fn block;
  bool columns_outer; /* consecutive tasks share columns (b) rather than rows (a) */
  const void *b_packed;
  int64_t b_packed_k;
} plan;

/* Batch `batch` (row-major over c's leading dims) of the problem as a gemm. */
static kiln_gemm gemm_of(const plan *pl, int64_t batch) {
  const kiln_matmul_problem *p = pl->p;
  const kiln_matmul_data *d = pl->d;
  int32_t r = p->c.rank;
  int64_t idx[KILN_MATMUL_MAX_RANK] = {0};
  for (int32_t i = r - 3; i >= 0; --i) {
    idx[i] = batch % p->c.dims[i];
    batch /= p->c.dims[i];
  }
  kiln_gemm g = {
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
      .b_packed = pl->b_packed,
      .b_packed_k = pl->b_packed_k,
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
    kiln_gemm g = gemm_of(pl, batch);
    int64_t m0 = mb * pl->mc, n0 = nb * pl->nc;
    int64_t m1 = m0 + pl->mc < g.m ? m0 + pl->mc : g.m;
    int64_t n1 = n0 + pl->nc < g.n ? n0 + pl->nc : g.n;
    pl->block(&g, m0, m1, n0, n1);
  }
}

static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

/* Packing b whole: the product (its batch 0) and the kernel's layout. */
typedef struct whole_b {
  kiln_gemm g;
  const kiln_gemm_packing *packing;
  int64_t strip_words;
  uint32_t *dst;
} whole_b;

static void pack_strips(void *ctx, int64_t begin, int64_t end) {
  const whole_b *w = ctx;
  for (int64_t s = begin; s < end; ++s)
    w->packing->strip(&w->g, s * w->g.blocks.nr, w->dst + s * w->strip_words);
}

static void pack_whole_b(const void *ctx, void *dst) {
  whole_b w = *(const whole_b *)ctx;
  w.dst = dst;
  kiln_parallel_for(ceil_div(w.g.n, w.g.blocks.nr), 1, pack_strips, &w);
}

/* b packed whole when it is a model's weight (packed_weights.h) and the same
 * in every batch; NULL otherwise. */
static const void *packed_b(const plan *pl, const kiln_gemm_packing *packing) {
  const kiln_matmul_operand *b = &pl->p->b;
  for (int32_t i = 0; i + 2 < b->rank; ++i)
    if (b->dims[i] != 1 && b->strides[i] != 0)
      return NULL;
  whole_b w = {gemm_of(pl, 0), packing, 0, NULL};
  w.strip_words = ceil_div(w.g.k, packing->k_per_row) * w.g.blocks.nr;
  kiln_packed_key key = {packing->layout, w.g.blocks.nr, w.g.b, w.g.k, w.g.n, w.g.b_k, w.g.b_n};
  size_t bytes = (size_t)(ceil_div(w.g.n, w.g.blocks.nr) * w.strip_words) * sizeof(uint32_t);
  return kiln_packed_weights_get(&key, bytes, pack_whole_b, &w);
}

void kiln_native_gemm_run(const kiln_matmul_problem *p, const kiln_matmul_data *d,
                          kiln_gemm_blocking blocks, kiln_gemm_block_fn block,
                          const kiln_gemm_packing *packing) {
  int32_t r = p->c.rank;
  int64_t m = p->c.dims[r - 2], n = p->c.dims[r - 1], batches = 1;
  for (int32_t i = 0; i + 2 < r; ++i)
    batches *= p->c.dims[i];
  if (batches == 0 || m == 0 || n == 0 || (kiln_prepare_only() && !packing))
    return;
  if (p->c.strides[r - 1] != 1) {
    if (kiln_prepare_only())
      return;
    kiln_matmul_reference(p, d);
    return;
  }
  /* Blocks of up to mc x NC, narrowed until each thread has two tasks, then
   * evened out: threads take equal runs of tasks. */
  int64_t threads = p->threads > 0 ? p->threads : 1;
  int64_t nc = NC, mc = m < blocks.mc ? m : blocks.mc;
  while (nc > blocks.nr && batches * ceil_div(m, mc) * ceil_div(n, nc) < 2 * threads)
    nc /= 2;
  while (mc > blocks.mr && batches * ceil_div(m, mc) * ceil_div(n, nc) < 2 * threads)
    mc = ceil_div(mc, 2);
  mc = ceil_div(ceil_div(m, ceil_div(m, mc)), blocks.mr) * blocks.mr;
  nc = ceil_div(ceil_div(n, ceil_div(n, nc)), blocks.nr) * blocks.nr;
  plan pl = {.p = p,
             .d = d,
             .batches = batches,
             .m_blocks = ceil_div(m, mc),
             .n_blocks = ceil_div(n, nc),
             .mc = mc,
             .nc = nc,
             .blocks = blocks,
             .block = block,
             .columns_outer = n > m};
  if (packing && (pl.b_packed = packed_b(&pl, packing)))
    pl.b_packed_k = packing->k_per_row;
  if (kiln_prepare_only())
    return; /* create packing a weight: nothing to compute */
  kiln_parallel_for(batches * pl.m_blocks * pl.n_blocks, 1, run_tasks, &pl);
}
