/* Softmax + cross-entropy kernels (kiln_rt_softmax_ce_*_f32, kernels.h).
 *
 * Per row, one pass over the logits keeps a running max m and sum-exp s per
 * vector lane, rescaling s only when a block of vectors raises m; the lanes
 * are combined at the end into lse = max + log(sum). The _grad variant then
 * writes exp((x - max) - log(sum)) from the same row, which is still in L2.
 * Rows are split across threads; each row's loss goes to a per-row buffer
 * that is summed in row order, so the mean does not depend on the thread
 * count. A row holding NaN or +inf gets a NaN lse, loss and grad row; an
 * all -inf row an lse of -inf and a NaN loss and grad row. */
#include "kernels.h"

#include <float.h>
#include <stdlib.h>

#include "alloc.h"
#include "parallel.h"
#include "vec.h"

/* -FLT_MAX rather than -inf as the initial running max: x - m is then never
 * -inf - -inf (NaN) for a lane that has only seen -inf (or tail fill). */
#define SCE_MAX_INIT (-FLT_MAX)

/* Enough elements per parallel range to cover the cost of waking a thread. */
#define SCE_MIN_RANGE_ELEMS 16384

static inline int sce_any_greater(kiln_v16 a, kiln_v16 b) {
  return __builtin_reduce_or(a > b) != 0;
}

/* Raises m to max(m, bm) and rescales s to the new m. Only called when some
 * lane of bm exceeds m, which is rare once a row's large values are seen. */
static inline void sce_rescale(kiln_v16 *m, kiln_v16 *s, kiln_v16 bm) {
  kiln_v16 mn = kiln_v16_select_max(*m, bm);
  *s *= kiln_v16_exp_nonpositive(*m - mn);
  *m = mn;
}

static inline void sce_step(kiln_v16 *m, kiln_v16 *s, kiln_v16 x) {
  if (sce_any_greater(x, *m))
    sce_rescale(m, s, x);
  *s += kiln_v16_exp_nonpositive(x - *m);
}

/* True when every one of the row's c elements is -inf (or c == 0). */
static int sce_row_all_neg_inf(const float *x, int64_t c, int64_t stride) {
  for (int64_t i = 0; i < c; ++i)
    if (x[i * stride] != -__builtin_inff())
      return 0;
  return 1;
}

/* A row's logsumexp as max + log_sum. Kept apart, they give x - max exactly
 * for the softmax and the loss, which the rounded sum lse loses when the
 * logits are large. */
typedef struct sce_lse {
  float max, log_sum;
} sce_lse;

/* Combines the lanes. */
static sce_lse sce_finish(kiln_v16 m, kiln_v16 s, const float *x, int64_t c, int64_t stride) {
  float mx = kiln_v16_reduce_max(m);
  float sum = kiln_v16_reduce_add(s * kiln_v16_exp_nonpositive(m - mx));
  /* A max still at its initial value means every element is -FLT_MAX or
   * -inf; only the latter (or an empty row) makes the logsumexp -inf. */
  if (mx == SCE_MAX_INIT && sce_row_all_neg_inf(x, c, stride))
    return (sce_lse){-__builtin_inff(), 0.0f};
  /* sum >= 1 (the max's own term is exactly 1), so log_sum >= 0; NaN when
   * the row holds NaN or +inf. */
  return (sce_lse){mx, __builtin_logf(sum)};
}

static sce_lse sce_row_lse_dense(const float *x, int64_t c) {
  kiln_v16 m = kiln_v16_splat(SCE_MAX_INIT), s = kiln_v16_splat(0.0f);
  int64_t i = 0;
  /* Four vectors a step: one max test for all four, four independent exps,
   * and a single add into s on the loop-carried chain. */
  for (; i + 4 * KILN_VL <= c; i += 4 * KILN_VL) {
    kiln_v16 x0 = kiln_v16_load(x + i), x1 = kiln_v16_load(x + i + KILN_VL);
    kiln_v16 x2 = kiln_v16_load(x + i + 2 * KILN_VL), x3 = kiln_v16_load(x + i + 3 * KILN_VL);
    kiln_v16 bm = kiln_v16_select_max(kiln_v16_select_max(x0, x1), kiln_v16_select_max(x2, x3));
    if (sce_any_greater(bm, m))
      sce_rescale(&m, &s, bm);
    s += (kiln_v16_exp_nonpositive(x0 - m) + kiln_v16_exp_nonpositive(x1 - m)) +
         (kiln_v16_exp_nonpositive(x2 - m) + kiln_v16_exp_nonpositive(x3 - m));
  }
  for (; i + KILN_VL <= c; i += KILN_VL)
    sce_step(&m, &s, kiln_v16_load(x + i));
  /* -inf fill: exp(-inf - m) is (nearly) 0 and never raises m. */
  if (i < c)
    sce_step(&m, &s, kiln_v16_load_partial(x + i, c - i, -__builtin_inff()));
  return sce_finish(m, s, x, c, 1);
}

/* The same for any element stride: a correct fallback, not a fast one. */
static sce_lse sce_row_lse(const float *x, int64_t c, int64_t stride) {
  if (stride == 1)
    return sce_row_lse_dense(x, c);
  kiln_v16 m = kiln_v16_splat(SCE_MAX_INIT), s = kiln_v16_splat(0.0f);
  for (int64_t i = 0; i < c; i += KILN_VL) {
    int64_t n = c - i < KILN_VL ? c - i : KILN_VL;
    sce_step(&m, &s, kiln_v16_load_strided(x + i * stride, stride, n, -__builtin_inff()));
  }
  return sce_finish(m, s, x, c, stride);
}

/* g[i] = exp((x[i] - max) - log_sum), the row's softmax. */
static void sce_row_softmax(const float *x, int64_t xs, float *g, int64_t gs, int64_t c,
                            sce_lse lse) {
  /* The logsumexp is -inf or NaN only when the row is all -inf or holds +inf
   * or NaN; its softmax is then undefined, NaN as in PyTorch. */
  if (!__builtin_isfinite(lse.max + lse.log_sum)) {
    for (int64_t i = 0; i < c; ++i)
      g[i * gs] = __builtin_nanf("");
    return;
  }
  kiln_v16 mx = kiln_v16_splat(lse.max), l = kiln_v16_splat(lse.log_sum);
  if (xs == 1 && gs == 1) {
    int64_t i = 0;
    for (; i + 2 * KILN_VL <= c; i += 2 * KILN_VL) {
      kiln_v16 e0 = kiln_v16_exp_nonpositive(kiln_v16_load(x + i) - mx - l);
      kiln_v16 e1 = kiln_v16_exp_nonpositive(kiln_v16_load(x + i + KILN_VL) - mx - l);
      kiln_v16_store(g + i, e0);
      kiln_v16_store(g + i + KILN_VL, e1);
    }
    for (; i + KILN_VL <= c; i += KILN_VL)
      kiln_v16_store(g + i, kiln_v16_exp_nonpositive(kiln_v16_load(x + i) - mx - l));
    if (i < c)
      kiln_v16_store_partial(
          g + i, kiln_v16_exp_nonpositive(kiln_v16_load_partial(x + i, c - i, 0.0f) - mx - l),
          c - i);
    return;
  }
  for (int64_t i = 0; i < c; i += KILN_VL) {
    int64_t n = c - i < KILN_VL ? c - i : KILN_VL;
    kiln_v16 e = kiln_v16_exp_nonpositive(kiln_v16_load_strided(x + i * xs, xs, n, 0.0f) - mx - l);
    kiln_v16_store_strided(g + i * gs, gs, e, n);
  }
}

typedef struct sce_job {
  const float *logits;
  int64_t c, ls0, ls1; /* columns; row and element strides of logits */
  const int64_t *targets;
  int64_t ts;
  float *lse; /* NULL unless _lse */
  int64_t lses;
  float *grad; /* NULL unless _grad */
  int64_t gs0, gs1;
  double *row_loss; /* [N]; NULL: rows run serially, summing into sum */
  double sum;
} sce_job;

static void sce_rows(void *ctx, int64_t begin, int64_t end) {
  sce_job *job = ctx;
  int64_t c = job->c;
  for (int64_t n = begin; n < end; ++n) {
    const float *x = job->logits + n * job->ls0;
    sce_lse lse = sce_row_lse(x, c, job->ls1);
    if (job->lse)
      job->lse[n * job->lses] = lse.max + lse.log_sum;
    int64_t t = job->targets[n * job->ts];
    int in_range = t >= 0 && t < c;
    /* max - x[t] is exact in double. Read before the gradient, which may
     * overwrite the row (_grad works in place). */
    double loss = in_range ? ((double)lse.max - x[t * job->ls1]) + lse.log_sum : __builtin_nan("");
    if (job->grad) {
      float *g = job->grad + n * job->gs0;
      sce_row_softmax(x, job->ls1, g, job->gs1, c, lse);
      if (in_range)
        g[t * job->gs1] -= 1.0f;
    }
    if (job->row_loss)
      job->row_loss[n] = loss;
    else
      job->sum += loss;
  }
}

static inline int64_t sce_size(const kiln_memref *d, int64_t i) { return d->sizes_strides[i]; }

static inline int64_t sce_stride(const kiln_memref *d, int64_t rank, int64_t i) {
  return d->sizes_strides[rank + i];
}

static void sce_run(int64_t logits_rank, kiln_memref *logits, int64_t targets_rank,
                    kiln_memref *targets, kiln_memref *loss, int64_t lse_rank, kiln_memref *lse,
                    int64_t grad_rank, kiln_memref *grad) {
  int64_t n = sce_size(logits, 0), c = sce_size(logits, 1);
  sce_job job = {
      .logits = (const float *)logits->aligned + logits->offset,
      .c = c,
      .ls0 = sce_stride(logits, logits_rank, 0),
      .ls1 = sce_stride(logits, logits_rank, 1),
      .targets = (const int64_t *)targets->aligned + targets->offset,
      .ts = sce_stride(targets, targets_rank, 0),
  };
  if (lse) {
    job.lse = (float *)lse->aligned + lse->offset;
    job.lses = sce_stride(lse, lse_rank, 0);
  }
  if (grad) {
    job.grad = (float *)grad->aligned + grad->offset;
    job.gs0 = sce_stride(grad, grad_rank, 0);
    job.gs1 = sce_stride(grad, grad_rank, 1);
  }
  double sum = 0.0;
  job.row_loss = n > 0 ? kiln_malloc((size_t)n * sizeof(double)) : NULL;
  if (job.row_loss) {
    int64_t grain = c >= SCE_MIN_RANGE_ELEMS ? 1 : SCE_MIN_RANGE_ELEMS / (c > 0 ? c : 1);
    kiln_parallel_for(n, grain, sce_rows, &job);
    for (int64_t i = 0; i < n; ++i)
      sum += job.row_loss[i];
    kiln_free(job.row_loss);
  } else {
    /* Out of memory (or no rows): one thread, summing as it goes. */
    sce_rows(&job, 0, n);
    sum = job.sum;
  }
  /* The mean of no rows is NaN, as in PyTorch. */
  *((float *)loss->aligned + loss->offset) = (float)(sum / (double)n);
}

void kiln_rt_softmax_ce_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                            KILN_MEMREF_ARG(loss)) {
  (void)loss_rank;
  sce_run(logits_rank, logits, targets_rank, targets, loss, 0, NULL, 0, NULL);
}

void kiln_rt_softmax_ce_lse_f32(KILN_MEMREF_ARG(logits), KILN_MEMREF_ARG(targets),
                                KILN_MEMREF_ARG(loss), KILN_MEMREF_ARG(lse)) {
  (void)loss_rank;
  sce_run(logits_rank, logits, targets_rank, targets, loss, lse_rank, lse, 0, NULL);
}

/* In place: each element of a row is read (for its exp) before it is
 * written, and the target's logit before the row is. */
void kiln_rt_softmax_ce_grad_f32(KILN_MEMREF_ARG(targets), KILN_MEMREF_ARG(loss),
                                 KILN_MEMREF_ARG(grad)) {
  (void)loss_rank;
  sce_run(grad_rank, grad, targets_rank, targets, loss, 0, NULL, grad_rank, grad);
}
