/* CLIP's contrastive loss in both directions (kiln_rt_contrastive_ce_f32,
 * kernels.h): row_loss = mean_n lse(logits[n, :]) - logits[n, t_n] and
 * col_loss = mean_m lse(logits[:, m]) - logits[t_m, m]; with the gradients
 * softmax over rows and over columns less the one-hots
 * (kiln_rt_contrastive_ce_grad_f32): the same pass keeps each row's max and
 * sum and the merged column arrays, and one more read of the matrix writes
 * both gradients in its layout.
 *
 * The matrix is streamed once, a block of CCE_ROWS rows at a time, two
 * vectors of columns a step. Each row keeps a running max and sum-exp per
 * vector lane, as in kernel_softmax_ce.c (one max test per step); each column
 * a running max and sum-exp in two arrays that the block updates once per
 * vector of columns (branch-free: a fresh block of rows raises some column's
 * max more often than not). That is 2 exps per element and 1 per column and
 * block; the kernel is bound by them, not by memory.
 *
 * Rows are cut into chunks whose size depends on N only. Every chunk starts
 * its column arrays afresh and leaves them in a slot of its own; the slots
 * are then merged (max, and sums rescaled to it) in chunk order, and the row
 * losses are summed in row order, so both losses are the same for any thread
 * count. A target outside [0, N) makes both losses NaN (the matrix is then
 * not read). A row or column holding NaN or +inf has a NaN loss, one of all
 * -inf a NaN loss as well (lse -inf minus -inf). */
#include "kernels.h"

#include <float.h>
#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"
#include "parallel.h"
#include "vec.h"

#define CCE_INLINE static inline __attribute__((always_inline))

/* -FLT_MAX rather than -inf as the initial running max: x - m is then never
 * -inf - -inf (NaN) for a lane that has only seen -inf (or tail fill). */
#define CCE_MAX_INIT (-FLT_MAX)

/* Rows a block: each vector of the column arrays is loaded, rescaled (one
 * exp) and stored once per block. 8 beat 4 by ~15% and 16 (spilling) at
 * N = 4096 on one AVX-512 core. */
#define CCE_ROWS 8

/* Chunks are at least this many rows (so the merge, 2 exps per column and
 * chunk, stays small next to the chunk's 2 exps per element), and there are
 * at most CCE_MAX_CHUNKS of them (so their slots, 8 bytes per column each,
 * stay small next to the matrix). */
#define CCE_MIN_CHUNK_ROWS 64
#define CCE_MAX_CHUNKS 64

/* Enough elements per parallel range to cover the cost of waking a thread. */
#define CCE_MIN_RANGE_ELEMS 16384

/* True when every one of the n elements is -inf (or n == 0). */
static int cce_all_neg_inf(const float *x, int64_t n, int64_t stride) {
  for (int64_t i = 0; i < n; ++i)
    if (x[i * stride] != -__builtin_inff())
      return 0;
  return 1;
}

/* lse - x_t as (max - x_t) + log(sum), exact in double but for the log; NaN
 * for a line of all -inf, whose max is still the initial value. */
static double cce_loss(float max, float sum, float xt, const float *line, int64_t n,
                       int64_t stride) {
  if (max == CCE_MAX_INIT && cce_all_neg_inf(line, n, stride))
    return __builtin_nan("");
  return ((double)max - xt) + __builtin_log((double)sum);
}

typedef struct cce_job {
  const float *x;
  int64_t n, rs, cs; /* N; row and element strides */
  const int64_t *t;
  int64_t ts;
  int64_t np;         /* N rounded up to a multiple of KILN_VL: a column array */
  int64_t chunk_rows; /* rows a chunk, a multiple of CCE_ROWS */
  float *slots;       /* per chunk: column max [np], then column sum [np] */
  double *chunk_loss; /* per chunk: the sum of its row losses, in row order */
  /* The gradient kernel's: each row's max and sum of exp(x - max) [N]. */
  float *row_max, *row_sum;
} cce_job;

/* The column arrays cmax, csum at one vector of columns, for the nr rows'
 * values x there: max raised, sum rescaled (branch-free) and added to. */
CCE_INLINE void cce_columns(float *cmax, float *csum, const kiln_v16 *x, int nr) {
  kiln_v16 bm = x[0];
  for (int r = 1; r < nr; ++r)
    bm = kiln_v16_select_max(bm, x[r]);
  kiln_v16 cm = kiln_v16_load(cmax);
  kiln_v16 mn = kiln_v16_select_max(cm, bm);
  kiln_v16 e[CCE_ROWS];
  for (int r = 0; r < nr; ++r)
    e[r] = kiln_v16_exp_nonpositive(x[r] - mn);
  for (int w = 1; w < nr; w *= 2) /* a tree: short dependency chains */
    for (int r = 0; r + w < nr; r += 2 * w)
      e[r] += e[r + w];
  kiln_v16_store(csum, kiln_v16_fma(kiln_v16_load(csum), kiln_v16_exp_nonpositive(cm - mn), e[0]));
  kiln_v16_store(cmax, mn);
}

/* A row's running m, s for its values x0 (and x1 when two). */
CCE_INLINE void cce_row(kiln_v16 *m, kiln_v16 *s, kiln_v16 x0, kiln_v16 x1, int two) {
  kiln_v16 bm = two ? kiln_v16_select_max(x0, x1) : x0;
  if (__builtin_reduce_or(bm > *m) != 0) {
    kiln_v16 mr = kiln_v16_select_max(*m, bm);
    *s *= kiln_v16_exp_nonpositive(*m - mr);
    *m = mr;
  }
  *s += two ? kiln_v16_exp_nonpositive(x0 - *m) + kiln_v16_exp_nonpositive(x1 - *m)
            : kiln_v16_exp_nonpositive(x0 - *m);
}

/* Rows [r0, r0 + nr) into the column arrays; returns the sum of their losses
 * in row order. cs: the element stride, inlined as 1 and as any. */
CCE_INLINE double cce_block(const cce_job *job, int64_t r0, int nr, int64_t cs, float *cmax,
                            float *csum) {
  const int64_t n = job->n;
  const float *row[CCE_ROWS];
  kiln_v16 m[CCE_ROWS], s[CCE_ROWS], x[CCE_ROWS], y[CCE_ROWS];
  for (int r = 0; r < nr; ++r) {
    row[r] = job->x + (r0 + r) * job->rs;
    m[r] = kiln_v16_splat(CCE_MAX_INIT);
    s[r] = kiln_v16_splat(0.0f);
  }
  int64_t j = 0;
  /* Two vectors of columns a step: one max test per row for both. */
  for (; j + 2 * KILN_VL <= n; j += 2 * KILN_VL) {
    for (int r = 0; r < nr; ++r) {
      x[r] = kiln_v16_load_strided(row[r] + j * cs, cs, KILN_VL, 0.0f);
      y[r] = kiln_v16_load_strided(row[r] + (j + KILN_VL) * cs, cs, KILN_VL, 0.0f);
    }
    cce_columns(cmax + j, csum + j, x, nr);
    cce_columns(cmax + j + KILN_VL, csum + j + KILN_VL, y, nr);
    for (int r = 0; r < nr; ++r)
      cce_row(&m[r], &s[r], x[r], y[r], 1);
  }
  for (; j < n; j += KILN_VL) {
    for (int r = 0; r < nr; ++r)
      x[r] = n - j < KILN_VL ? kiln_v16_load_strided(row[r] + j * cs, cs, n - j, -__builtin_inff())
                             : kiln_v16_load_strided(row[r] + j * cs, cs, KILN_VL, 0.0f);
    cce_columns(cmax + j, csum + j, x, nr);
    for (int r = 0; r < nr; ++r)
      cce_row(&m[r], &s[r], x[r], x[r], 0);
  }
  double loss = 0.0;
  for (int r = 0; r < nr; ++r) {
    float mx = kiln_v16_reduce_max(m[r]);
    float sum = kiln_v16_reduce_add(s[r] * kiln_v16_exp_nonpositive(m[r] - mx));
    int64_t t = job->t[(r0 + r) * job->ts]; /* checked to be in [0, N) */
    loss += cce_loss(mx, sum, row[r][t * cs], row[r], n, cs);
    if (job->row_max) {
      job->row_max[r0 + r] = mx;
      job->row_sum[r0 + r] = sum;
    }
  }
  return loss;
}

CCE_INLINE double cce_chunk_body(const cce_job *job, int64_t r0, int64_t r1, int64_t cs,
                                 float *cmax, float *csum) {
  double loss = 0.0;
  int64_t r = r0;
  for (; r + CCE_ROWS <= r1; r += CCE_ROWS)
    loss += cce_block(job, r, CCE_ROWS, cs, cmax, csum);
  for (; r < r1; ++r)
    loss += cce_block(job, r, 1, cs, cmax, csum);
  return loss;
}

/* Chunk k's rows into slot (2 np floats); returns their losses' sum. */
static double cce_chunk(const cce_job *job, int64_t k, float *slot) {
  int64_t r0 = k * job->chunk_rows;
  int64_t r1 = job->n - r0 < job->chunk_rows ? job->n : r0 + job->chunk_rows;
  float *cmax = slot, *csum = slot + job->np;
  for (int64_t j = 0; j < job->np; ++j) {
    cmax[j] = CCE_MAX_INIT;
    csum[j] = 0.0f;
  }
  if (job->cs == 1)
    return cce_chunk_body(job, r0, r1, 1, cmax, csum);
  return cce_chunk_body(job, r0, r1, job->cs, cmax, csum);
}

static void cce_chunks(void *ctx, int64_t begin, int64_t end) {
  cce_job *job = ctx;
  for (int64_t k = begin; k < end; ++k)
    job->chunk_loss[k] = cce_chunk(job, k, job->slots + k * 2 * job->np);
}

/* Merges the column arrays of slot b into those of slot a. */
static void cce_merge(float *a, const float *b, int64_t np) {
  for (int64_t j = 0; j < np; j += KILN_VL) {
    kiln_v16 ma = kiln_v16_load(a + j), mb = kiln_v16_load(b + j);
    kiln_v16 mn = kiln_v16_select_max(ma, mb);
    kiln_v16 s = kiln_v16_load(a + np + j) * kiln_v16_exp_nonpositive(ma - mn);
    s = kiln_v16_fma(kiln_v16_load(b + np + j), kiln_v16_exp_nonpositive(mb - mn), s);
    kiln_v16_store(a + j, mn);
    kiln_v16_store(a + np + j, s);
  }
}

/* Both losses of the job's matrix into *row_out and *col_out; false (NaN
 * losses) when a target is out of range or memory runs out. With keep, the
 * merged column arrays stay in job->slots (column max [np], then sum) for
 * the caller to free. */
static bool cce_losses(cce_job *job, float *row_out, float *col_out, bool keep) {
  int64_t n = job->n;
  const float nan = __builtin_nanf("");
  /* A mean over no rows is NaN, as in PyTorch; so are both losses when a
   * target is out of range (the rows' and the columns' targets are one). */
  int valid = n > 0;
  for (int64_t i = 0; i < n && valid; ++i)
    valid = job->t[i * job->ts] >= 0 && job->t[i * job->ts] < n;
  if (!valid) {
    *row_out = nan;
    *col_out = nan;
    return false;
  }
  job->np = (n + KILN_VL - 1) / KILN_VL * KILN_VL;
  int64_t rows = (n + CCE_MAX_CHUNKS - 1) / CCE_MAX_CHUNKS;
  rows = rows < CCE_MIN_CHUNK_ROWS ? CCE_MIN_CHUNK_ROWS : rows;
  job->chunk_rows = (rows + CCE_ROWS - 1) / CCE_ROWS * CCE_ROWS;
  int64_t chunks = (n + job->chunk_rows - 1) / job->chunk_rows;

  double row_sum = 0.0;
  size_t slot_bytes = (size_t)(2 * job->np) * sizeof(float);
  job->slots = kiln_malloc((size_t)chunks * (slot_bytes + sizeof(double)));
  if (job->slots) {
    job->chunk_loss = (double *)(void *)((char *)job->slots + (size_t)chunks * slot_bytes);
    int64_t elems = job->chunk_rows * n;
    int64_t grain = elems >= CCE_MIN_RANGE_ELEMS ? 1 : CCE_MIN_RANGE_ELEMS / elems;
    kiln_parallel_for(chunks, grain, cce_chunks, job);
    row_sum = job->chunk_loss[0];
    for (int64_t k = 1; k < chunks; ++k) {
      cce_merge(job->slots, job->slots + k * 2 * job->np, job->np);
      row_sum += job->chunk_loss[k];
    }
  } else {
    /* Short of memory: the chunks one after another on this thread, through
     * two slots, merged in the same order (so to the same result). */
    job->slots = kiln_malloc(2 * slot_bytes);
    if (!job->slots) {
      *row_out = nan;
      *col_out = nan;
      return false;
    }
    for (int64_t k = 0; k < chunks; ++k) {
      double loss = cce_chunk(job, k, job->slots + (k ? 2 * job->np : 0));
      if (k)
        cce_merge(job->slots, job->slots + 2 * job->np, job->np);
      row_sum = k ? row_sum + loss : loss;
    }
  }
  const float *cmax = job->slots, *csum = job->slots + job->np;
  double col_sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const float *col = job->x + j * job->cs;
    col_sum += cce_loss(cmax[j], csum[j], col[job->t[j * job->ts] * job->rs], col, n, job->rs);
  }
  if (!keep) {
    kiln_free(job->slots);
    job->slots = NULL;
  }
  *row_out = (float)(row_sum / (double)n);
  *col_out = (float)(col_sum / (double)n);
  return true;
}

/* The job of a [N, N] logits memref and its targets. */
static cce_job cce_job_of(int64_t logits_rank, const kiln_memref *logits, int64_t targets_rank,
                          const kiln_memref *targets) {
  const int64_t *ld = logits->sizes_strides;
  cce_job job = {
      .x = (const float *)logits->aligned + logits->offset,
      .n = ld[0],
      .rs = ld[logits_rank],
      .cs = ld[logits_rank + 1],
      .t = (const int64_t *)targets->aligned + targets->offset,
      .ts = targets->sizes_strides[targets_rank],
  };
  return job;
}

void kiln_rt_contrastive_ce_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss)) {
  (void)row_loss_rank;
  (void)col_loss_rank;
  float *row_out = (float *)row_loss->aligned + row_loss->offset;
  float *col_out = (float *)col_loss->aligned + col_loss->offset;
  cce_job job = cce_job_of(logits_rank, logits, targets_rank, targets);
  /* A transposed (column-major) view: its row loss is the dense matrix's
   * column loss and the other way round, so stream that. */
  if (job.cs != 1 && job.rs == 1) {
    job.rs = job.cs;
    job.cs = 1;
    float *o = row_out;
    row_out = col_out;
    col_out = o;
  }
  cce_losses(&job, row_out, col_out, false);
}

/* The gradients' rows [begin, end): softmax over each row and over each
 * column (the column statistics merged in job->slots), less the one-hots. */
typedef struct cce_grad_job {
  const cce_job *job;
  float *rg, *cg;        /* row_grad, col_grad */
  int64_t rgs[2], cgs[2]; /* their strides */
  /* The sum kernel: rg = cg = the one gradient, a * row_grad + b * col_grad. */
  bool sum;
  float a, b;
} cce_grad_job;

static void cce_grad_rows(void *ctx, int64_t begin, int64_t end) {
  const cce_grad_job *g = ctx;
  const cce_job *job = g->job;
  const int64_t n = job->n;
  const float *cmax = job->slots, *csum = job->slots + job->np;
  for (int64_t i = begin; i < end; ++i) {
    const float *row = job->x + i * job->rs;
    float *rg = g->rg + i * g->rgs[0], *cg = g->cg + i * g->cgs[0];
    kiln_v16 m = kiln_v16_splat(job->row_max[i]);
    kiln_v16 inv = kiln_v16_splat(1.0f / job->row_sum[i]);
    for (int64_t j = 0; j < n; j += KILN_VL) {
      int64_t lanes = n - j < KILN_VL ? n - j : KILN_VL;
      kiln_v16 x = kiln_v16_load_strided(row + j * job->cs, job->cs, lanes, 0.0f);
      kiln_v16 cm = kiln_v16_load_partial(cmax + j, lanes, 0.0f);
      kiln_v16 cz = kiln_v16_load_partial(csum + j, lanes, 1.0f);
      kiln_v16 r = kiln_v16_exp_nonpositive(x - m) * inv;
      kiln_v16 c = kiln_v16_exp_nonpositive(x - cm) / cz;
      if (g->sum) {
        kiln_v16 both = kiln_v16_fma(kiln_v16_splat(g->a), r, kiln_v16_splat(g->b) * c);
        kiln_v16_store_strided(rg + j * g->rgs[1], g->rgs[1], both, lanes);
      } else {
        kiln_v16_store_strided(rg + j * g->rgs[1], g->rgs[1], r, lanes);
        kiln_v16_store_strided(cg + j * g->cgs[1], g->cgs[1], c, lanes);
      }
    }
    /* Row i's one-hot: its target column (scaled in the sum). */
    rg[job->t[i * job->ts] * g->rgs[1]] -= g->sum ? g->a : 1.0f;
  }
}

/* The columns' one-hots, after the rows: column j's target row (scaled in
 * the sum); one pass over the targets rather than one per row. */
static void cce_grad_column_targets(const cce_grad_job *g) {
  const cce_job *job = g->job;
  for (int64_t j = 0; j < job->n; ++j)
    g->cg[job->t[j * job->ts] * g->cgs[0] + j * g->cgs[1]] -= g->sum ? g->b : 1.0f;
}

/* Both losses, then the gradients of g's kind (the job's matrix and targets
 * set, g's pointers too); NaN everywhere when a target is out of range, there
 * are no rows, or memory runs out. */
static void cce_grad(cce_job *job, cce_grad_job *g, float *row_out, float *col_out) {
  int64_t n = job->n;
  job->row_max = n > 0 ? kiln_malloc((size_t)n * 2 * sizeof(float)) : NULL;
  job->row_sum = job->row_max ? job->row_max + n : NULL;
  g->job = job;
  bool ok = job->row_max && cce_losses(job, row_out, col_out, true);
  if (ok) {
    int64_t grain = n >= CCE_MIN_RANGE_ELEMS ? 1 : CCE_MIN_RANGE_ELEMS / (n > 0 ? n : 1);
    kiln_parallel_for(n, grain, cce_grad_rows, g);
    cce_grad_column_targets(g);
  } else {
    *row_out = *col_out = __builtin_nanf("");
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        g->rg[i * g->rgs[0] + j * g->rgs[1]] = g->cg[i * g->cgs[0] + j * g->cgs[1]] =
            __builtin_nanf("");
  }
  kiln_free(job->slots);
  kiln_free(job->row_max);
}

static float *memref_f32(const kiln_memref *m) { return (float *)m->aligned + m->offset; }

void kiln_rt_contrastive_ce_grad_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                     KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss),
                                     KILN_MEMREF_ARG(row_grad), KILN_MEMREF_ARG(col_grad)) {
  (void)row_loss_rank;
  (void)col_loss_rank;
  (void)row_grad_rank;
  (void)col_grad_rank;
  cce_job job = cce_job_of(logits_rank, logits, targets_rank, targets);
  cce_grad_job g = {
      .rg = memref_f32(row_grad),
      .cg = memref_f32(col_grad),
      .rgs = {row_grad->sizes_strides[2], row_grad->sizes_strides[3]},
      .cgs = {col_grad->sizes_strides[2], col_grad->sizes_strides[3]},
  };
  cce_grad(&job, &g, memref_f32(row_loss), memref_f32(col_loss));
}

void kiln_rt_contrastive_ce_grad_sum_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                         KILN_MEMREF_ARG(row_scale), KILN_MEMREF_ARG(col_scale),
                                         KILN_MEMREF_ARG(row_loss), KILN_MEMREF_ARG(col_loss),
                                         KILN_MEMREF_ARG(grad)) {
  (void)row_scale_rank;
  (void)col_scale_rank;
  (void)row_loss_rank;
  (void)col_loss_rank;
  (void)grad_rank;
  cce_job job = cce_job_of(logits_rank, logits, targets_rank, targets);
  float *out = memref_f32(grad);
  int64_t strides[2] = {grad->sizes_strides[2], grad->sizes_strides[3]};
  cce_grad_job g = {
      .rg = out,
      .cg = out,
      .rgs = {strides[0], strides[1]},
      .cgs = {strides[0], strides[1]},
      .sum = true,
      .a = *memref_f32(row_scale),
      .b = *memref_f32(col_scale),
  };
  cce_grad(&job, &g, memref_f32(row_loss), memref_f32(col_loss));
}
