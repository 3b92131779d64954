/* kiln_rt_attention_f32, _masked_f32 and _bias_f32: flash attention on the CPU.
 *
 * One work item is a block of up to QB queries of one (batch, head). It walks
 * the keys a block of up to KB keys at a time with an online softmax, so the
 * S x T scores are never formed. Everything is laid out transposed, with the
 * queries of the block in the vector lanes:
 *  - Q^T [D][QB] is packed once per item (scaled by `scale`);
 *  - S^T [KB][QB] = K_blk Q^T: each fma updates 16 queries of one key;
 *  - the softmax is then lane-wise (a max and a sum over keys per lane): no
 *    horizontal reductions, and rescaling by the correction is one multiply
 *    per vector;
 *  - O^T [E][QB] = O^T * corr + V_blk^T P^T, accumulated over key blocks and
 *    transposed into the output once at the end.
 * Both products are the same register-blocked micro-kernel, C[MR rows][16-lane
 * chunks] += A(row, k) B[k][chunk], with A a broadcast read in place through
 * its strides (K or V: never packed) and B a packed, contiguous tile (Q^T or
 * P^T). Arbitrary T and E cost nothing extra (they are rows); only the last
 * query block of a head wastes lanes.
 *
 * An additive bias (_bias_f32) is added to S^T before the masks and the
 * softmax: for key t, the 16 queries of a lane chunk read bias[s..s+15][t], a
 * gather at the bias's query stride (T for a dense [.., S, T] bias), a splat
 * when that dim is broadcast, a plain load when it is contiguous. A -inf bias
 * gives a -inf score, which the softmax treats as hidden like the masks'. */
#include <math.h>
#include <stdlib.h>

#include "alloc.h"
#include "attention_tiles.h"
#include "kernels.h"
#include "parallel.h"

/* Per-thread scratch, allocated once per range of work items. */
typedef struct attn_scratch {
  float *qt;   /* [D][QB]: scaled Q^T */
  float *st;   /* [KB][QB]: S^T, then P^T in place */
  float *ot;   /* [E][QB]: unnormalized O^T */
  float *m;    /* [QB]: running max per query */
  float *l;    /* [QB]: running sum of exp per query */
  float *corr; /* [QB]: exp(m_old - m_new) of the current key block */
} attn_scratch;

/* Work item index -> (batch x head, query block). Within a head, the blocks go 0, n-1, 1, n-2,
 * ...: the contiguous ranges kiln_parallel_for hands out then get a fair share of the causal
 * work, which grows with the block index. */
static void item_of(const attn_args *a, int64_t item, int64_t *bh, int64_t *qb) {
  int64_t n = a->nqb, i = item % n;
  *bh = item / n;
  *qb = (i & 1) ? n - 1 - i / 2 : i / 2;
}

static void attention_item(const attn_args *a, const attn_scratch *w, int64_t item) {
  int64_t bh, qb;
  item_of(a, item, &bh, &qb);
  int64_t b = bh / a->heads, h = bh % a->heads;
  int64_t D = a->d_len, E = a->e_len, T = a->t_len;
  int64_t q0 = qb * QB, qn = a->s_len - q0 < QB ? a->s_len - q0 : QB;
  int nr = (int)((qn + KILN_VL - 1) / KILN_VL);
  int64_t lanes = (int64_t)nr * KILN_VL;

  /* Q^T, scaled; lanes past qn are 0 so that they stay finite. */
  const float *q = a->q + b * a->qs[0] + h * a->qs[1] + q0 * a->qs[2];
  for (int64_t d = 0; d < D; ++d) {
    float *row = w->qt + d * QB;
    for (int64_t i = 0; i < qn; ++i)
      row[i] = q[i * a->qs[2] + d * a->qs[3]] * a->scale;
    for (int64_t i = qn; i < lanes; ++i)
      row[i] = 0.0f;
  }
  for (int64_t e = 0; e < E; ++e)
    for (int64_t i = 0; i < lanes; ++i)
      w->ot[e * QB + i] = 0.0f;
  for (int64_t i = 0; i < lanes; ++i) {
    w->m[i] = -__builtin_inff();
    w->l[i] = 0.0f;
  }

  /* Causal: keys past the block's last query are hidden for all of it. */
  int64_t kend = a->causal && q0 + qn < T ? q0 + qn : T;
  const float *kbase = a->k + b * a->ks[0] + h * a->ks[1];
  const float *vbase = a->v + b * a->vs[0] + h * a->vs[1];
  const float *bias = a->bias ? a->bias + b * a->bs[0] + h * a->bs[1] + q0 * a->bs[2] : NULL;
  for (int64_t k0 = 0; k0 < kend; k0 += KB) {
    int64_t kn = kend - k0 < KB ? kend - k0 : KB;
    /* S^T[t][i] = sum_d K[k0 + t][d] Q^T[d][i] */
    gemm_rows(kn, nr, D, kbase + k0 * a->ks[2], a->ks[2], a->ks[3], w->qt, w->st, NULL);
    if (bias)
      bias_block(a, w->st, bias, qn, k0, kn, nr);
    mask_block(a, w->st, b, q0, k0, kn, nr);
    softmax_block(w->st, w->m, w->l, w->corr, kn, nr);
    /* O^T[e][i] = O^T[e][i] corr[i] + sum_t V[k0 + t][e] P^T[t][i] */
    gemm_rows(E, nr, kn, vbase + k0 * a->vs[2], a->vs[3], a->vs[2], w->st, w->ot, w->corr);
  }

  /* O = (O^T)^T / l; l == 0 means every key was hidden: NaN, as PyTorch. */
  float *o = a->out + b * a->os[0] + h * a->os[1] + q0 * a->os[2];
  for (int64_t i = 0; i < qn; ++i) {
    float inv = w->l[i] > 0.0f ? 1.0f / w->l[i] : __builtin_nanf("");
    float *orow = o + i * a->os[2];
    for (int64_t e = 0; e < E; ++e)
      orow[e * a->os[3]] = w->ot[e * QB + i] * inv;
  }
  /* The backward's logsumexp, as it would recompute it (-inf when every key
   * is hidden). */
  if (a->lse) {
    float *lse = a->lse + b * a->lses[0] + h * a->lses[1] + q0 * a->lses[2];
    for (int64_t i = 0; i < qn; ++i)
      lse[i * a->lses[2]] = w->m[i] + logf(w->l[i]);
  }
}

/* NaN for the outputs of items that could not get scratch memory: wrong, but visibly so. */
static void poison_item(const attn_args *a, int64_t item) {
  int64_t bh, qb;
  item_of(a, item, &bh, &qb);
  int64_t b = bh / a->heads, h = bh % a->heads;
  int64_t q0 = qb * QB, qn = a->s_len - q0 < QB ? a->s_len - q0 : QB;
  float *o = a->out + b * a->os[0] + h * a->os[1] + q0 * a->os[2];
  for (int64_t i = 0; i < qn; ++i)
    for (int64_t e = 0; e < a->e_len; ++e)
      o[i * a->os[2] + e * a->os[3]] = __builtin_nanf("");
}

static void attention_range(void *ctx, int64_t begin, int64_t end) {
  const attn_args *a = ctx;
  size_t floats = (size_t)(a->d_len + KB + a->e_len + 3) * QB;
  float *buf = kiln_malloc(floats * sizeof(float));
  if (!buf) {
    for (int64_t item = begin; item < end; ++item)
      poison_item(a, item);
    return;
  }
  attn_scratch w;
  w.qt = buf;
  w.st = w.qt + a->d_len * QB;
  w.ot = w.st + KB * QB;
  w.m = w.ot + a->e_len * QB;
  w.l = w.m + QB;
  w.corr = w.l + QB;
  for (int64_t item = begin; item < end; ++item)
    attention_item(a, &w, item);
  kiln_free(buf);
}

static void attention(const kiln_memref *query, const kiln_memref *key, const kiln_memref *value,
                      const kiln_memref *mask, const kiln_memref *bias, kiln_memref *out,
                      kiln_memref *lse, double scale, int64_t causal, int64_t layout) {
  attn_args a;
  int64_t batch = attn_args_init(&a, query, key, value, mask, bias, out, scale, causal, layout);
  if (lse)
    attn_args_bind_lse(&a, lse);
  if (batch == 0 || a.heads == 0 || a.s_len == 0 || a.e_len == 0)
    return;
  kiln_parallel_for(batch * a.heads * a.nqb, 1, attention_range, &a);
}

void kiln_rt_attention_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key), KILN_MEMREF_ARG(value),
                           KILN_MEMREF_ARG(out), double scale, int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank;
  attention(query, key, value, NULL, NULL, out, NULL, scale, causal, layout);
}

void kiln_rt_attention_masked_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                  KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                  KILN_MEMREF_ARG(out), double scale, int64_t causal,
                                  int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)mask_rank, (void)out_rank;
  attention(query, key, value, mask, NULL, out, NULL, scale, causal, layout);
}

void kiln_rt_attention_bias_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(out),
                                double scale, int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank;
  int64_t words[KILN_BIAS4_WORDS];
  kiln_memref *bias4 = bias_as_rank4(bias, bias_rank, words);
  attention(query, key, value, NULL, bias4, out, NULL, scale, causal, layout);
}

void kiln_rt_attention_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                               KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse),
                               double scale, int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)lse_rank;
  attention(query, key, value, NULL, NULL, out, lse, scale, causal, layout);
}

void kiln_rt_attention_masked_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                      KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                      KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse), double scale,
                                      int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)mask_rank, (void)out_rank;
  (void)lse_rank;
  attention(query, key, value, mask, NULL, out, lse, scale, causal, layout);
}

void kiln_rt_attention_bias_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                    KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                    KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(lse), double scale,
                                    int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)lse_rank;
  int64_t words[KILN_BIAS4_WORDS];
  kiln_memref *bias4 = bias_as_rank4(bias, bias_rank, words);
  attention(query, key, value, NULL, bias4, out, lse, scale, causal, layout);
}
