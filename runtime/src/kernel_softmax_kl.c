/* Distillation's soft term (kiln_rt_softmax_kl_div_f32, kernels.h).
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
 * Rows are split across threads; each row's KL goes to a per-row buffer that
 * is summed in row order, so the mean does not depend on the thread count. */
#include "kernels.h"

#include <float.h>
#include <stdlib.h>

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

/* Per-lane running state of a row pair. */
typedef struct skl_state {
  kiln_v16 ms, zs; /* student: max, sum exp(a - ms) */
  kiln_v16 mt, zt; /* teacher: max, sum exp(b - mt) */
  kiln_v16 acc;    /* sum exp(b - mt) ((b - mt) - (a - ms)) */
} skl_state;

/* Raises the maxima to cover bms and bmt (block maxima of a and b, or the
 * row's maxima) and rescales the sums; a lane whose maxima do not rise is
 * scaled by exp(0) = 1 and shifted by 0. acc's terms move by
 * -(mt' - mt) + (ms' - ms) each, zt of them; where zt is still 0 the shift
 * is skipped, as mt' - mt may be inf (from the initial -FLT_MAX). */
SKL_INLINE void skl_rescale(skl_state *st, kiln_v16 bms, kiln_v16 bmt) {
  kiln_v16 ms = kiln_v16_select_max(st->ms, bms), mt = kiln_v16_select_max(st->mt, bmt);
  kiln_v16 shift = st->zt * ((mt - st->mt) - (ms - st->ms));
  kiln_v16 acc = st->zt > 0.0f ? st->acc - shift : st->acc;
  kiln_v16 w = skl_exp(st->mt - mt);
  st->zs *= skl_exp(st->ms - ms);
  st->zt *= w;
  st->acc = acc * w;
  st->ms = ms;
  st->mt = mt;
}

SKL_INLINE int skl_rises(const skl_state *st, kiln_v16 bms, kiln_v16 bmt) {
  return __builtin_reduce_or((bms > st->ms) | (bmt > st->mt)) != 0;
}

/* One vector of scaled logits a, b; the first n lanes are the row's, the
 * rest (n < 16 in the tail only) are filled with -inf and masked out of acc. */
SKL_INLINE void skl_step(skl_state *st, kiln_v16 a, kiln_v16 b, int64_t n) {
  if (skl_rises(st, a, b))
    skl_rescale(st, a, b);
  kiln_v16 xa = a - st->ms, xb = b - st->mt;
  kiln_v16 et = skl_exp(xb), d = xb - xa;
  if (n < KILN_VL)
    for (int64_t l = n; l < KILN_VL; ++l)
      d[l] = 0.0f; /* -inf - -inf */
  st->zs += skl_exp(xa);
  st->zt += et;
  st->acc = kiln_v16_fma(et, d, st->acc);
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

/* One row pair's KL, strides ss and ts between elements; inlined once with
 * both 1 (vector loads) and once with any strides (gathers). */
SKL_INLINE double skl_row_body(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c,
                               float k) {
  const kiln_v16 kv = kiln_v16_splat(k);
  skl_state st = {
      kiln_v16_splat(SKL_MAX_INIT), kiln_v16_splat(0.0f), kiln_v16_splat(SKL_MAX_INIT),
      kiln_v16_splat(0.0f),         kiln_v16_splat(0.0f),
  };
  int64_t i = 0;
  /* Four vectors a step: one max test for all four, independent exps, and
   * one add into each sum on the loop-carried chains. */
  for (; i + 4 * KILN_VL <= c; i += 4 * KILN_VL) {
    kiln_v16 a0 = kiln_v16_load_strided(s + i * ss, ss, KILN_VL, 0.0f) * kv;
    kiln_v16 a1 = kiln_v16_load_strided(s + (i + KILN_VL) * ss, ss, KILN_VL, 0.0f) * kv;
    kiln_v16 a2 = kiln_v16_load_strided(s + (i + 2 * KILN_VL) * ss, ss, KILN_VL, 0.0f) * kv;
    kiln_v16 a3 = kiln_v16_load_strided(s + (i + 3 * KILN_VL) * ss, ss, KILN_VL, 0.0f) * kv;
    kiln_v16 b0 = kiln_v16_load_strided(t + i * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b1 = kiln_v16_load_strided(t + (i + KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b2 = kiln_v16_load_strided(t + (i + 2 * KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 b3 = kiln_v16_load_strided(t + (i + 3 * KILN_VL) * ts, ts, KILN_VL, 0.0f) * kv;
    kiln_v16 bms = kiln_v16_select_max(kiln_v16_select_max(a0, a1), kiln_v16_select_max(a2, a3));
    kiln_v16 bmt = kiln_v16_select_max(kiln_v16_select_max(b0, b1), kiln_v16_select_max(b2, b3));
    if (skl_rises(&st, bms, bmt))
      skl_rescale(&st, bms, bmt);
    a0 -= st.ms, a1 -= st.ms, a2 -= st.ms, a3 -= st.ms;
    b0 -= st.mt, b1 -= st.mt, b2 -= st.mt, b3 -= st.mt;
    kiln_v16 e0 = skl_exp(b0), e1 = skl_exp(b1), e2 = skl_exp(b2), e3 = skl_exp(b3);
    st.zs += (skl_exp(a0) + skl_exp(a1)) + (skl_exp(a2) + skl_exp(a3));
    st.zt += (e0 + e1) + (e2 + e3);
    kiln_v16 w = kiln_v16_fma(e0, b0 - a0, e1 * (b1 - a1));
    w += kiln_v16_fma(e2, b2 - a2, e3 * (b3 - a3));
    st.acc += w;
  }
  for (; i + KILN_VL <= c; i += KILN_VL)
    skl_step(&st, kiln_v16_load_strided(s + i * ss, ss, KILN_VL, 0.0f) * kv,
             kiln_v16_load_strided(t + i * ts, ts, KILN_VL, 0.0f) * kv, KILN_VL);
  if (i < c) {
    kiln_v16 a = kiln_v16_load_strided(s + i * ss, ss, c - i, 0.0f) * kv;
    kiln_v16 b = kiln_v16_load_strided(t + i * ts, ts, c - i, 0.0f) * kv;
    for (int64_t l = c - i; l < KILN_VL; ++l)
      a[l] = b[l] = -__builtin_inff();
    skl_step(&st, a, b, c - i);
  }
  /* The lanes, brought to the rows' maxima, summed. */
  skl_rescale(&st, kiln_v16_splat(kiln_v16_reduce_max(st.ms)),
              kiln_v16_splat(kiln_v16_reduce_max(st.mt)));
  float zs = kiln_v16_reduce_add(st.zs), zt = kiln_v16_reduce_add(st.zt);
  float acc = kiln_v16_reduce_add(st.acc);
  /* zs, zt >= 1 (each max's own term is exactly 1) unless a row is all -inf
   * or holds NaN / +inf; those, and -inf teacher logits (0 * -inf in acc),
   * come out not finite and go to the careful pass. */
  double kl = (double)acc / zt - __builtin_log((double)zt) + __builtin_log((double)zs);
  if (!__builtin_isfinite(kl))
    kl = skl_row_careful(s, ss, t, ts, c, k);
  return kl;
}

static double skl_row(const float *s, int64_t ss, const float *t, int64_t ts, int64_t c, float k) {
  if (ss == 1 && ts == 1)
    return skl_row_body(s, 1, t, 1, c, k);
  return skl_row_body(s, ss, t, ts, c, k);
}

typedef struct skl_job {
  const float *s, *t;
  int64_t c, ss0, ss1, ts0, ts1;
  float k;     /* 1 / T */
  double *row; /* per-row KL, [N]; NULL: rows run serially, summing into sum */
  double sum;
} skl_job;

static void skl_rows(void *ctx, int64_t begin, int64_t end) {
  skl_job *job = ctx;
  for (int64_t n = begin; n < end; ++n) {
    double kl =
        skl_row(job->s + n * job->ss0, job->ss1, job->t + n * job->ts0, job->ts1, job->c, job->k);
    if (job->row)
      job->row[n] = kl;
    else
      job->sum += kl;
  }
}

void kiln_rt_softmax_kl_div_f32(KILN_MEMREF_ARG(student), KILN_MEMREF_ARG(teacher),
                                KILN_MEMREF_ARG(loss), double temperature) {
  (void)loss_rank;
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
  double sum = 0.0;
  job.row = n > 0 ? malloc((size_t)n * sizeof(double)) : NULL;
  if (job.row) {
    int64_t grain = c >= SKL_MIN_RANGE_ELEMS ? 1 : SKL_MIN_RANGE_ELEMS / (c > 0 ? c : 1);
    kiln_parallel_for(n, grain, skl_rows, &job);
    for (int64_t i = 0; i < n; ++i)
      sum += job.row[i];
    free(job.row);
  } else {
    /* Out of memory (or no rows): one thread, summing as it goes. */
    skl_rows(&job, 0, n);
    sum = job.sum;
  }
  /* batchmean over no rows is 0 / 0, NaN as in PyTorch. */
  *((float *)loss->aligned + loss->offset) = (float)(sum / (double)n);
}
