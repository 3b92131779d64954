/* Distillation's soft term (kiln_rt_softmax_kl_div_f32, kernels.h), with
 * its gradient (kiln_rt_softmax_kl_div_grad_f32), and both its terms at once
 * (kiln_rt_distillation_f32).
 *
 * With a = student / T, b = teacher / T, p = softmax(b) and q = softmax(a),
 * a row's KL(p || q) = sum_c p_c (log p_c - log q_c)
 *                    = A / Zt - log Zt + log Zs,
 * where mt, ms are the rows' maxima, Zt = sum exp(b - mt), Zs = sum exp(a - ms)
 * and A = sum exp(b - mt) ((b - mt) - (a - ms)). The differences are taken
 * from the maxima, as the exps' arguments are, so that a large offset between
 * the rows (or logits of 1e4) does not cancel in float. One pass over both
 * rows keeps, per vector lane, the running maxima and the three sums,
 * rescaling (and, for A, shifting) them only when a block of vectors raises
 * a maximum; the lanes are combined at the end. Identical rows give A = 0
 * and Zs = Zt exactly, so a KL of 0.
 *
 * A row whose result is not finite (NaN or infinite logits, -inf teacher
 * logits) is recomputed by a scalar pass in double with kiln.kl_div's
 * semantics: a term is 0 where the teacher's probability is 0 (its logit is
 * -inf); a student -inf under a teacher that is not makes the row +inf; a NaN
 * or +inf anywhere, or a row of either all -inf, makes it NaN.
 *
 * kiln_rt_distillation_f32 adds the hard term, cross_entropy(s, y) at
 * temperature 1, to the same pass (the row body inlined with with_ce true;
 * the KL alone inlines it with with_ce false, where the extra state folds
 * away): per lane a running max mr of the raw student s and Zr = sum
 * exp(s - mr), rescaled like the others, give a row's loss as
 * (mr - s[y]) + log Zr in double. mr is kept on s itself rather than taken
 * as T ms: s / T rounds, and T (a - ms) would be off by ~1e-3 at logits of
 * 1e4. One exp more an element. A row whose loss is not finite is recomputed
 * by a scalar double pass; a target outside [0, C) gives NaN.
 *
 * The gradient, softmax(a) - softmax(b), is a second pass over the row pair
 * from the row's maxima and sums: exp(a - ms) / Zs - exp(b - mt) / Zt.
 *
 * Rows are split across threads; each row's KL (and loss) goes to a per-row
 * buffer that is summed in row order, so the means do not depend on the
 * thread count. */
#include "kernels.h"

#include <float.h>
#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"
#include "parallel.h"
#include "vec.h"

#define SKL_INLINE static inline __attribute__((always_inline))

/* -FLT_MAX rather than -inf as the initial running max: x - m is then never
 * -inf - -inf (NaN) for a lane that has only seen -inf (or tail fill). */
#define SKL_MAX_INIT (-FLT_MAX)

/* Enough elements (of each matrix) per parallel range to cover the cost of
 * waking a thread. */
#define SKL_MIN_RANGE_ELEMS 16384

/* kiln_v16_exp_nonpositive, but exactly 0 below -87.3 instead of 2^-126: the
 * teacher-weighted differences can reach 1e38 for extreme logits, where that
 * floor would add terms of order 1. */
SKL_INLINE kiln_v16 skl_exp(kiln_v16 x) {
  kiln_v16 e = kiln_v16_exp_nonpositive(x);
  return x < kiln_v16_splat(-87.3365479f) ? kiln_v16_splat(0.0f) : e;
}

/* Per-lane running state of a row pair. The last two fields belong to the
 * hard (cross-entropy) term of kiln_rt_distillation_f32 and are left alone,
 * and optimized away, when the body is inlined with with_ce false. */
typedef struct skl_state {
  kiln_v16 ms, zs; /* student: max, sum exp(a - ms) */
  kiln_v16 mt, zt; /* teacher: max, sum exp(b - mt) */
  kiln_v16 acc;    /* sum exp(b - mt) ((b - mt) - (a - ms)) */
  kiln_v16 mr, zr; /* raw student s = T a: max, sum exp(s - mr) (with_ce) */
} skl_state;

/* Raises the maxima to cover bms and bmt (block maxima of a and b, or the
 * row's maxima), and with with_ce bmr (of the raw student), and rescales the
 * sums; a lane whose maxima do not rise is scaled by exp(0) = 1 and shifted
 * by 0. acc's terms move by -(mt' - mt) + (ms' - ms) each, zt of them; where
 * zt is still 0 the shift is skipped, as mt' - mt may be inf (from the
 * initial -FLT_MAX). */
SKL_INLINE void skl_rescale(skl_state *st, kiln_v16 bms, kiln_v16 bmt, bool with_ce,
                            kiln_v16 bmr) {
  kiln_v16 ms = kiln_v16_select_max(st->ms, bms), mt = kiln_v16_select_max(st->mt, bmt);
  kiln_v16 shift = st->zt * ((mt - st->mt) - (ms - st->ms));
  kiln_v16 acc = st->zt > 0.0f ? st->acc - shift : st->acc;
  kiln_v16 w = skl_exp(st->mt - mt);
  st->zs *= skl_exp(st->ms - ms);
  st->zt *= w;
  st->acc = acc * w;
  st->ms = ms;
  st->mt = mt;
  if (with_ce) {
    kiln_v16 mr = kiln_v16_select_max(st->mr, bmr);
    st->zr *= kiln_v16_exp_nonpositive(st->mr - mr);
    st->mr = mr;
  }
}

/* The raw maximum is tested on its own: fl(s k) is monotonic in s but not
 * strictly, so a raw maximum can rise while the scaled one stays. */
SKL_INLINE int skl_rises(const skl_state *st, kiln_v16 bms, kiln_v16 bmt, bool with_ce,
                         kiln_v16 bmr) {
  if (with_ce)
    return __builtin_reduce_or((bms > st->ms) | (bmt > st->mt) | (bmr > st->mr)) != 0;
  return __builtin_reduce_or((bms > st->ms) | (bmt > st->mt)) != 0;
}

/* One vector of scaled logits a, b (and with with_ce the raw student r, a =
 * r k); the first n lanes are the row's, the rest (n < 16 in the tail only)
 * are filled with -inf and masked out of acc. */
SKL_INLINE void skl_step(skl_state *st, kiln_v16 a, kiln_v16 b, int64_t n, bool with_ce,
                         kiln_v16 r) {
  if (skl_rises(st, a, b, with_ce, r))
    skl_rescale(st, a, b, with_ce, r);
  kiln_v16 xa = a - st->ms, xb = b - st->mt;
  kiln_v16 et = skl_exp(xb), d = xb - xa;
  if (n < KILN_VL)
    for (int64_t l = n; l < KILN_VL; ++l)
      d[l] = 0.0f; /* -inf - -inf */
  st->zs += skl_exp(xa);
  st->zt += et;
  st->acc = kiln_v16_fma(et, d, st->acc);
  if (with_ce)
    st->zr += kiln_v16_exp_nonpositive(r - st->mr);
}

/* The scalar double pass for rows whose fast result is not finite. */
static double skl_row_careful(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c,
                              float k) {
  const double inf = __builtin_inf();
  if (c == 0)
    return 0.0; /* a sum of no terms */
  double ms = -inf, mt = -inf;
  int student_inf = 0;
  for (int64_t i = 0; i < c; ++i) {
    /* Scaled in float, as the fast pass (and the unfused ops) do. */
    double a = s[i * ss] * k, b = t[i * ts] * k;
    if (__builtin_isnan(a) || __builtin_isnan(b) || a == inf || b == inf)
      return __builtin_nan("");
    ms = a > ms ? a : ms;
    mt = b > mt ? b : mt;
    student_inf |= a == -inf && b != -inf;
  }
  /* Either softmax of an all -inf row (or of no columns) is undefined. */
  if (ms == -inf || mt == -inf)
    return __builtin_nan("");
  if (student_inf)
    return inf;
  double zs = 0.0, zt = 0.0, acc = 0.0;
  for (int64_t i = 0; i < c; ++i) {
    double a = s[i * ss] * k, b = t[i * ts] * k;
    zs += __builtin_exp(a - ms);
    if (b != -inf) {
      double e = __builtin_exp(b - mt);
      zt += e;
      acc += e * (b - a);
    }
  }
  return acc / zt - (mt - ms) - __builtin_log(zt) + __builtin_log(zs);
}

/* The same for the hard term, cross_entropy(s, y) of a row at temperature 1
 * with an in-range target y, as PyTorch's log_softmax gives it: NaN for a
 * row holding NaN or +inf or of all -inf; +inf when s[y] alone is -inf; a
 * -inf elsewhere adds nothing. */
static double skl_row_ce_careful(const float *s, int64_t ss, int64_t c, int64_t y) {
  const double inf = __builtin_inf();
  double m = -inf;
  for (int64_t i = 0; i < c; ++i) {
    double x = s[i * ss];
    if (__builtin_isnan(x) || x == inf)
      return __builtin_nan("");
    m = x > m ? x : m;
  }
  if (m == -inf)
    return __builtin_nan("");
  double sy = s[y * ss];
  if (sy == -inf)
    return inf;
  double z = 0.0;
  for (int64_t i = 0; i < c; ++i)
    z += __builtin_exp(s[i * ss] - m);
  return (m - sy) + __builtin_log(z);
}

/* g = softmax(a) - softmax(b) of a row pair, given the row's maxima and sums
 * (a row that is not finite gives what these do: NaN where a NaN is). */
SKL_INLINE void skl_row_grad(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c,
                             kiln_v16 kv, float ms, float mt, float zs, float zt, float *g,
                             int64_t gs) {
  const kiln_v16 vms = kiln_v16_splat(ms), vmt = kiln_v16_splat(mt);
  const kiln_v16 rs = kiln_v16_splat(1.0f / zs), rt = kiln_v16_splat(1.0f / zt);
  for (int64_t i = 0; i < c; i += KILN_VL) {
    int64_t n = c - i < KILN_VL ? c - i : KILN_VL;
    kiln_v16 a = kiln_v16_load_strided(s + i * ss, ss, n, 0.0f) * kv;
    kiln_v16 b = kiln_v16_load_strided(t + i * ts, ts, n, 0.0f) * kv;
    kiln_v16 d = skl_exp(a - vms) * rs - skl_exp(b - vmt) * rt;
    kiln_v16_store_strided(g + i * gs, gs, d, n);
  }
}

/* One row pair's KL, strides ss and ts between elements; inlined with both 1
 * (vector loads) and with any strides (gathers), each with and without the
 * hard term. With with_ce, *hard gets cross_entropy(s, y) for a target y in
 * [0, c) and NaN for any other. */
SKL_INLINE double skl_row_body(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c,
                               float k, bool with_ce, int64_t y, double *hard, float *g,
                               int64_t gs) {
  const kiln_v16 kv = kiln_v16_splat(k);
  const kiln_v16 none = kiln_v16_splat(0.0f); /* the unused raw vectors without with_ce */
  skl_state st = {
      kiln_v16_splat(SKL_MAX_INIT), kiln_v16_splat(0.0f), kiln_v16_splat(SKL_MAX_INIT),
      kiln_v16_splat(0.0f),         kiln_v16_splat(0.0f), kiln_v16_splat(SKL_MAX_INIT),
      kiln_v16_splat(0.0f),
  };
  int64_t i = 0;
  /* Four vectors a step: one max test for all four, independent exps, and
   * one add into each sum on the loop-carried chains. */
  for (; i + 4 * KILN_VL <= c; i += 4 * KILN_VL) {
    kiln_v16 r0 = kiln_v16_load_strided(s + i * ss, ss, KILN_VL, 0.0f);
    kiln_v16 r1 = kiln_v16_load_strided(s + (i + KILN_VL) * ss, ss, KILN_VL, 0.0f);
    kiln_v16 r2 = kiln_v16_load_strided(s + (i + 2 * KILN_VL) * ss, ss, KILN_VL, 0.0f);
    kiln_v16 r3 = kiln_v16_load_strided(s + (i + 3 * KILN_VL) * ss, ss, KILN_VL, 0.0f);
    kiln_v16 a0 = r0 * kv, a1 = r1 * kv, a2 = r2 * kv, a3 = r3 * kv;
    kiln_v16 b0 = kiln_v16_load_strided(t + i * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b1 = kiln_v16_load_strided(t + (i + KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b2 = kiln_v16_load_strided(t + (i + 2 * KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b3 = kiln_v16_load_strided(t + (i + 3 * KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 bms = kiln_v16_select_max(kiln_v16_select_max(a0, a1), kiln_v16_select_max(a2, a3));
    kiln_v16 bmt = kiln_v16_select_max(kiln_v16_select_max(b0, b1), kiln_v16_select_max(b2, b3));
    kiln_v16 bmr =
        with_ce ? kiln_v16_select_max(kiln_v16_select_max(r0, r1), kiln_v16_select_max(r2, r3))
                : none;
    if (skl_rises(&st, bms, bmt, with_ce, bmr))
      skl_rescale(&st, bms, bmt, with_ce, bmr);
    a0 -= st.ms, a1 -= st.ms, a2 -= st.ms, a3 -= st.ms;
    b0 -= st.mt, b1 -= st.mt, b2 -= st.mt, b3 -= st.mt;
    kiln_v16 e0 = skl_exp(b0), e1 = skl_exp(b1), e2 = skl_exp(b2), e3 = skl_exp(b3);
    st.zs += (skl_exp(a0) + skl_exp(a1)) + (skl_exp(a2) + skl_exp(a3));
    st.zt += (e0 + e1) + (e2 + e3);
    kiln_v16 w = kiln_v16_fma(e0, b0 - a0, e1 * (b1 - a1));
    w += kiln_v16_fma(e2, b2 - a2, e3 * (b3 - a3));
    st.acc += w;
    if (with_ce)
      st.zr += (kiln_v16_exp_nonpositive(r0 - st.mr) + kiln_v16_exp_nonpositive(r1 - st.mr)) +
               (kiln_v16_exp_nonpositive(r2 - st.mr) + kiln_v16_exp_nonpositive(r3 - st.mr));
  }
  for (; i + KILN_VL <= c; i += KILN_VL) {
    kiln_v16 r = kiln_v16_load_strided(s + i * ss, ss, KILN_VL, 0.0f);
    skl_step(&st, r * kv, kiln_v16_load_strided(t + i * ts, ts, KILN_VL, 0.0f) * kv, KILN_VL,
             with_ce, with_ce ? r : none);
  }
  if (i < c) {
    kiln_v16 r = kiln_v16_load_strided(s + i * ss, ss, c - i, 0.0f);
    kiln_v16 a = r * kv;
    kiln_v16 b = kiln_v16_load_strided(t + i * ts, ts, c - i, 0.0f) * kv;
    for (int64_t l = c - i; l < KILN_VL; ++l)
      a[l] = b[l] = r[l] = -__builtin_inff();
    skl_step(&st, a, b, c - i, with_ce, with_ce ? r : none);
  }
  /* The lanes, brought to the rows' maxima, summed. */
  skl_rescale(&st, kiln_v16_splat(kiln_v16_reduce_max(st.ms)),
              kiln_v16_splat(kiln_v16_reduce_max(st.mt)), with_ce,
              with_ce ? kiln_v16_splat(kiln_v16_reduce_max(st.mr)) : none);
  float zs = kiln_v16_reduce_add(st.zs), zt = kiln_v16_reduce_add(st.zt);
  float acc = kiln_v16_reduce_add(st.acc);
  /* zs, zt >= 1 (each max's own term is exactly 1) unless a row is all -inf
   * or holds NaN / +inf; those, and -inf teacher logits (0 * -inf in acc),
   * come out not finite and go to the careful pass. */
  double kl = (double)acc / zt - __builtin_log((double)zt) + __builtin_log((double)zs);
  if (!__builtin_isfinite(kl))
    kl = skl_row_careful(s, ss, t, ts, c, k);
  if (g)
    skl_row_grad(s, ss, t, ts, c, kv, st.ms[0], st.mt[0], zs, zt, g, gs);
  if (with_ce) {
    double ce = __builtin_nan("");
    if (y >= 0 && y < c) {
      /* zr >= 1 as zs; mr - s[y] is exact in double, so logits of 1e4 keep
       * their digits. NaN, +inf, all -inf rows and a -inf s[y] come out not
       * finite. */
      float mr = st.mr[0], zr = kiln_v16_reduce_add(st.zr);
      ce = ((double)mr - s[y * ss]) + __builtin_log((double)zr);
      if (!__builtin_isfinite(ce))
        ce = skl_row_ce_careful(s, ss, c, y);
    }
    *hard = ce;
  }
  return kl;
}

/* One row pair, dense (vector loads) or at any strides (gathers). */
SKL_INLINE double skl_row(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c,
                          float k, bool with_ce, int64_t y, double *hard, float *g, int64_t gs) {
  if (ss == 1 && ts == 1 && (!g || gs == 1))
    return skl_row_body(s, 1, t, 1, c, k, with_ce, y, hard, g, 1);
  return skl_row_body(s, ss, t, ts, c, k, with_ce, y, hard, g, gs);
}

typedef struct skl_job {
  const float *s, *t;
  int64_t c, ss0, ss1, ts0, ts1;
  float k;     /* 1 / T */
  double *row; /* per-row KL, [N]; NULL: rows run serially, summing into sum */
  double sum;
  /* kiln_rt_distillation_f32's hard term: targets NULL for the KL alone. */
  const int64_t *targets;
  int64_t ys;
  double *hard_row; /* per-row cross-entropy, [N], with row */
  double hard_sum;
  /* kiln_rt_softmax_kl_div_grad_f32's gradient: NULL for the loss alone. */
  float *grad;
  int64_t gs0, gs1;
} skl_job;

SKL_INLINE void skl_rows_body(skl_job *job, int64_t begin, int64_t end, bool with_ce) {
  for (int64_t n = begin; n < end; ++n) {
    const float *s = job->s + n * job->ss0, *t = job->t + n * job->ts0;
    double ce = 0.0;
    int64_t y = with_ce ? job->targets[n * job->ys] : 0;
    float *g = job->grad ? job->grad + n * job->gs0 : NULL;
    double kl = skl_row(s, job->ss1, t, job->ts1, job->c, job->k, with_ce, y, &ce, g, job->gs1);
    if (job->row) {
      job->row[n] = kl;
      if (with_ce)
        job->hard_row[n] = ce;
    } else {
      job->sum += kl;
      if (with_ce)
        job->hard_sum += ce;
    }
  }
}

/* The KL alone, and with the hard term: separate functions, so that the
 * former is the code it was before the hard term existed. */
static void skl_rows(void *ctx, int64_t begin, int64_t end) {
  skl_rows_body(ctx, begin, end, false);
}

static void skl_rows_ce(void *ctx, int64_t begin, int64_t end) {
  skl_rows_body(ctx, begin, end, true);
}

/* Runs the rows and stores the means: loss, and with targets hard; with
 * grad, each row's gradient. */
static void skl_run(int64_t student_rank, kiln_memref *student, int64_t teacher_rank,
                    kiln_memref *teacher, int64_t targets_rank, kiln_memref *targets,
                    kiln_memref *loss, kiln_memref *hard, kiln_memref *grad, double temperature) {
  const int64_t *sd = student->sizes_strides, *td = teacher->sizes_strides;
  int64_t n = sd[0], c = sd[1];
  skl_job job = {
      .s = (const float *)student->aligned + student->offset,
      .t = (const float *)teacher->aligned + teacher->offset,
      .c = c,
      .ss0 = sd[student_rank],
      .ss1 = sd[student_rank + 1],
      .ts0 = td[teacher_rank],
      .ts1 = td[teacher_rank + 1],
      .k = (float)(1.0 / temperature),
  };
  if (targets) {
    job.targets = (const int64_t *)targets->aligned + targets->offset;
    job.ys = targets->sizes_strides[targets_rank];
  }
  if (grad) {
    job.grad = (float *)grad->aligned + grad->offset;
    job.gs0 = grad->sizes_strides[2];
    job.gs1 = grad->sizes_strides[3];
  }
  size_t per_row = targets ? 2 : 1;
  double sum = 0.0, hard_sum = 0.0;
  job.row = n > 0 ? kiln_malloc((size_t)n * per_row * sizeof(double)) : NULL;
  if (job.row) {
    if (targets)
      job.hard_row = job.row + n;
    int64_t grain = c >= SKL_MIN_RANGE_ELEMS ? 1 : SKL_MIN_RANGE_ELEMS / (c > 0 ? c : 1);
    kiln_parallel_for(n, grain, targets ? skl_rows_ce : skl_rows, &job);
    for (int64_t i = 0; i < n; ++i)
      sum += job.row[i];
    if (targets)
      for (int64_t i = 0; i < n; ++i)
        hard_sum += job.hard_row[i];
    kiln_free(job.row);
  } else {
    /* Out of memory (or no rows): one thread, summing as it goes. */
    (targets ? skl_rows_ce : skl_rows)(&job, 0, n);
    sum = job.sum;
    hard_sum = job.hard_sum;
  }
  /* batchmean over no rows is 0 / 0, NaN as in PyTorch; so is the mean
   * cross-entropy of no rows. */
  *((float *)loss->aligned + loss->offset) = (float)(sum / (double)n);
  if (hard)
    *((float *)hard->aligned + hard->offset) = (float)(hard_sum / (double)n);
}

void kiln_rt_softmax_kl_div_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                                KILN_MEMREF_ARG(loss), double temperature) {
  (void)loss_rank;
  skl_run(student_rank, student, teacher_rank, teacher, 0, NULL, loss, NULL, NULL, temperature);
}

void kiln_rt_softmax_kl_div_grad_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                                     KILN_MEMREF_ARG(loss), KILN_MEMREF_ARG(grad),
                                     double temperature) {
  (void)loss_rank;
  (void)grad_rank;
  skl_run(student_rank, student, teacher_rank, teacher, 0, NULL, loss, NULL, grad, temperature);
}

void kiln_rt_distillation_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                              KILN_MEMREF_ARG(targets), KILN_MEMREF_ARG(soft),
                              KILN_MEMREF_ARG(hard), double temperature) {
  (void)soft_rank;
  (void)hard_rank;
  skl_run(student_rank, student, teacher_rank, teacher, targets_rank, targets, soft, hard, NULL,
          temperature);
}
