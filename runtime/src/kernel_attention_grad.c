/* kiln_rt_attention_grad_f32, _masked_f32 and _bias_f32: the backward of
 * flash attention (kernel_attention.c) on the CPU, never forming the S x T
 * probabilities.
 *
 * One work item is one (batch, head): it owns that head's dQ, dK and dV, so
 * items need no synchronization. With the queries packed in the vector lanes
 * as in the forward (Q^T and dO^T, a block of QB queries per tile), an item
 *  1. packs every query block of the head once (scaled Q^T, dO^T) with
 *     Delta = rowsum(dO * O) per query;
 *  2. takes each query's logsumexp from the forward (_lse kernels, which
 *     the forward's _lse kernel wrote), or recomputes it with the forward's
 *     online softmax over all keys (one pass more);
 *  3. walks the keys a block of KB at a time, and for each key block the
 *     query blocks that see it:
 *       S^T = K_blk Q^T (+ bias, masks),  P^T = exp(S^T - lse),
 *       dP^T = V_blk dO^T,                dS^T = P^T (dP^T - Delta),
 *       dQ^T += K_blk^T dS^T,
 *       dV_blk^T += dO^T P,  dK_blk^T += Q^T dS (keys in the lanes: P and dS
 *       transposed once, a KB x QB copy against three products of that size
 *       times D),
 *     then stores dK_blk and dV_blk;
 *  4. stores dQ. The scale of the scores is applied to dQ and dK on store.
 * Every product is the forward's register-blocked micro-kernel. A query
 * whose keys are all hidden has lse = -inf and gets NaN gradients, as its
 * NaN output does. */
#include <math.h>
#include <stdlib.h>

#include "alloc.h"
#include "attention_tiles.h"
#include "kernels.h"
#include "parallel.h"

typedef struct grad_args {
  attn_args fwd;         /* q, k, v, mask, bias, out (O, read), shapes, strides */
  const float *dout;     /* dO [B, H, S, E] */
  float *dq, *dk, *dv;   /* [B, H, S, D], [B, H, T, D], [B, H, T, E] */
  int64_t dos[4], dqs[4], dks[4], dvs[4]; /* element strides */
} grad_args;

/* Per-thread scratch for one head at a time. */
typedef struct grad_scratch {
  float *qt;    /* [nqb][D][QB]: scaled Q^T of every query block */
  float *dot;   /* [nqb][E][QB]: dO^T */
  float *dqt;   /* [nqb][D][QB]: dQ^T, accumulated over key blocks */
  float *lse;   /* [nqb][QB] */
  float *delta; /* [nqb][QB]: rowsum(dO * O) */
  float *st;    /* [KB][QB]: S^T, then P^T */
  float *dpt;   /* [KB][QB]: dP^T, then dS^T */
  float *tr;    /* [QB][KB]: P or dS with the keys in the lanes */
  float *dkt;   /* [D][KB] */
  float *dvt;   /* [E][KB] */
  float *m, *l, *corr, *ones; /* [QB] each */
} grad_scratch;

/* The dK^T and dV^T tiles ([.][KB]) and the transposed tile share the micro-kernel's row stride. */
_Static_assert(KB == QB, "the backward's key tiles use the query tiles' row stride");

static size_t scratch_floats(const attn_args *a) {
  return (size_t)a->nqb * QB * (2 * a->d_len + a->e_len + 2) + 3 * (size_t)KB * QB +
         (size_t)(a->d_len + a->e_len) * KB + 4 * QB;
}

static void carve_scratch(const attn_args *a, float *buf, grad_scratch *w) {
  size_t blocks = (size_t)a->nqb * QB;
  w->qt = buf;
  w->dot = w->qt + blocks * a->d_len;
  w->dqt = w->dot + blocks * a->e_len;
  w->lse = w->dqt + blocks * a->d_len;
  w->delta = w->lse + blocks;
  w->st = w->delta + blocks;
  w->dpt = w->st + KB * QB;
  w->tr = w->dpt + KB * QB;
  w->dkt = w->tr + QB * KB;
  w->dvt = w->dkt + a->d_len * KB;
  w->m = w->dvt + a->e_len * KB;
  w->l = w->m + QB;
  w->corr = w->l + QB;
  w->ones = w->corr + QB;
  for (int64_t i = 0; i < QB; ++i)
    w->ones[i] = 1.0f;
}

static int64_t block_len(int64_t total, int64_t start, int64_t block) {
  return total - start < block ? total - start : block;
}

static int lane_chunks(int64_t n) { return (int)((n + KILN_VL - 1) / KILN_VL); }

/* Step 1 for query block qb: Q^T scaled, dO^T, Delta; lanes past qn are 0. */
static void pack_query_block(const grad_args *g, const grad_scratch *w, int64_t b, int64_t h,
                             int64_t qb) {
  const attn_args *a = &g->fwd;
  int64_t D = a->d_len, E = a->e_len;
  int64_t q0 = qb * QB, qn = block_len(a->s_len, q0, QB);
  const float *q = a->q + b * a->qs[0] + h * a->qs[1] + q0 * a->qs[2];
  const float *o = a->out + b * a->os[0] + h * a->os[1] + q0 * a->os[2];
  const float *d = g->dout + b * g->dos[0] + h * g->dos[1] + q0 * g->dos[2];
  float *qt = w->qt + qb * D * QB, *dot = w->dot + qb * E * QB, *dqt = w->dqt + qb * D * QB;
  float *delta = w->delta + qb * QB;
  for (int64_t x = 0; x < D; ++x)
    for (int64_t i = 0; i < QB; ++i) {
      qt[x * QB + i] = i < qn ? q[i * a->qs[2] + x * a->qs[3]] * a->scale : 0.0f;
      dqt[x * QB + i] = 0.0f;
    }
  for (int64_t e = 0; e < E; ++e)
    for (int64_t i = 0; i < QB; ++i)
      dot[e * QB + i] = i < qn ? d[i * g->dos[2] + e * g->dos[3]] : 0.0f;
  for (int64_t i = 0; i < QB; ++i) {
    float sum = 0.0f;
    for (int64_t e = 0; i < qn && e < E; ++e)
      sum += d[i * g->dos[2] + e * g->dos[3]] * o[i * a->os[2] + e * a->os[3]];
    delta[i] = sum;
  }
}

/* S^T of key block k0 against query block qb with the bias and masks applied. */
static void scores_block(const attn_args *a, const grad_scratch *w, int64_t b, int64_t h,
                         int64_t qb, int64_t k0, int64_t kn) {
  int64_t q0 = qb * QB, qn = block_len(a->s_len, q0, QB);
  int nr = lane_chunks(qn);
  const float *kbase = a->k + b * a->ks[0] + h * a->ks[1];
  gemm_rows(kn, nr, a->d_len, kbase + k0 * a->ks[2], a->ks[2], a->ks[3],
            w->qt + qb * a->d_len * QB, w->st, NULL);
  if (a->bias)
    bias_block(a, w->st, a->bias + b * a->bs[0] + h * a->bs[1] + q0 * a->bs[2], qn, k0, kn, nr);
  mask_block(a, w->st, b, q0, k0, kn, nr);
}

/* The keys of [0, T) that query block qb can see: all but, when causal, those past its last
 * query. */
static int64_t visible_keys(const attn_args *a, int64_t qb) {
  int64_t last = qb * QB + block_len(a->s_len, qb * QB, QB);
  return a->causal && last < a->t_len ? last : a->t_len;
}

/* Step 2: lse of query block qb, through the forward's online softmax. */
static void logsumexp_block(const attn_args *a, const grad_scratch *w, int64_t b, int64_t h,
                            int64_t qb) {
  int nr = lane_chunks(block_len(a->s_len, qb * QB, QB));
  for (int64_t i = 0; i < QB; ++i) {
    w->m[i] = -__builtin_inff();
    w->l[i] = 0.0f;
  }
  int64_t kend = visible_keys(a, qb);
  for (int64_t k0 = 0; k0 < kend; k0 += KB) {
    int64_t kn = block_len(kend, k0, KB);
    scores_block(a, w, b, h, qb, k0, kn);
    softmax_block(w->st, w->m, w->l, w->corr, kn, nr);
  }
  float *lse = w->lse + qb * QB;
  for (int64_t i = 0; i < QB; ++i)
    lse[i] = w->m[i] + logf(w->l[i]); /* -inf when every key is hidden */
}

/* Step 2 from the forward's lse; lanes past qn get 0 (they are never stored). */
static void load_lse_block(const attn_args *a, const grad_scratch *w, int64_t b, int64_t h,
                           int64_t qb) {
  int64_t q0 = qb * QB, qn = block_len(a->s_len, q0, QB);
  const float *src = a->lse + b * a->lses[0] + h * a->lses[1] + q0 * a->lses[2];
  float *lse = w->lse + qb * QB;
  for (int64_t i = 0; i < QB; ++i)
    lse[i] = i < qn ? src[i * a->lses[2]] : 0.0f;
}

/* tr[i][t] = src[t][i] for t < kn, i < qn: a [kn][QB] tile to [QB][KB]. */
static void transpose_block(const float *src, float *tr, int64_t kn, int64_t qn) {
  for (int64_t i = 0; i < qn; ++i)
    for (int64_t t = 0; t < kn; ++t)
      tr[i * KB + t] = src[t * QB + i];
}

/* Step 3 for one (key block, query block) pair. */
static void backward_pair(const grad_args *g, const grad_scratch *w, int64_t b, int64_t h,
                          int64_t qb, int64_t k0, int64_t kn) {
  const attn_args *a = &g->fwd;
  int64_t D = a->d_len, E = a->e_len;
  int64_t q0 = qb * QB, qn = block_len(a->s_len, q0, QB);
  int nr = lane_chunks(qn), nrk = lane_chunks(kn);
  scores_block(a, w, b, h, qb, k0, kn);
  /* P^T = exp(S^T - lse); dP^T = V_blk dO^T; dS^T = P^T (dP^T - Delta). */
  const float *lse = w->lse + qb * QB, *delta = w->delta + qb * QB;
  const float *vbase = a->v + b * a->vs[0] + h * a->vs[1];
  gemm_rows(kn, nr, E, vbase + k0 * a->vs[2], a->vs[2], a->vs[3], w->dot + qb * E * QB, w->dpt,
            NULL);
  const kiln_v16 ninf = kiln_v16_splat(-__builtin_inff());
  for (int64_t t = 0; t < kn; ++t)
    for (int j = 0; j < nr; ++j) {
      float *s = w->st + t * QB + j * KILN_VL, *dp = w->dpt + t * QB + j * KILN_VL;
      kiln_v16 sv = kiln_v16_load(s), lv = kiln_v16_load(lse + j * KILN_VL);
      /* A hidden score has p = 0, also where lse = -inf: a query with every key hidden gets its
       * NaN gradients through Delta (its output is NaN). */
      kiln_v16 p = select_v16(sv == ninf, kiln_v16_splat(0.0f), kiln_v16_exp(sv - lv));
      kiln_v16_store(s, p);
      kiln_v16_store(dp, p * (kiln_v16_load(dp) - kiln_v16_load(delta + j * KILN_VL)));
    }
  /* dQ^T[x][i] += sum_t K[t][x] dS^T[t][i] */
  const float *kbase = a->k + b * a->ks[0] + h * a->ks[1];
  gemm_rows(D, nr, kn, kbase + k0 * a->ks[2], a->ks[3], a->ks[2], w->dpt, w->dqt + qb * D * QB,
            w->ones);
  /* dV^T[e][t] += sum_i dO[i][e] P[i][t];  dK^T[x][t] += sum_i Q[i][x] dS[i][t] */
  const float *d = g->dout + b * g->dos[0] + h * g->dos[1] + q0 * g->dos[2];
  transpose_block(w->st, w->tr, kn, qn);
  gemm_rows(E, nrk, qn, d, g->dos[3], g->dos[2], w->tr, w->dvt, w->ones);
  const float *q = a->q + b * a->qs[0] + h * a->qs[1] + q0 * a->qs[2];
  transpose_block(w->dpt, w->tr, kn, qn);
  gemm_rows(D, nrk, qn, q, a->qs[3], a->qs[2], w->tr, w->dkt, w->ones);
}

static void backward_head(const grad_args *g, const grad_scratch *w, int64_t bh) {
  const attn_args *a = &g->fwd;
  int64_t b = bh / a->heads, h = bh % a->heads;
  int64_t D = a->d_len, E = a->e_len;
  for (int64_t qb = 0; qb < a->nqb; ++qb) {
    pack_query_block(g, w, b, h, qb);
    if (a->lse)
      load_lse_block(a, w, b, h, qb);
    else
      logsumexp_block(a, w, b, h, qb);
  }
  float *dk = g->dk + b * g->dks[0] + h * g->dks[1];
  float *dv = g->dv + b * g->dvs[0] + h * g->dvs[1];
  for (int64_t k0 = 0; k0 < a->t_len; k0 += KB) {
    int64_t kn = block_len(a->t_len, k0, KB);
    for (int64_t i = 0; i < (D + E) * KB; ++i)
      w->dkt[i] = 0.0f; /* dvt follows dkt */
    /* Causal: query blocks ending before k0 see none of these keys. */
    int64_t first = a->causal ? k0 / QB : 0;
    for (int64_t qb = first; qb < a->nqb; ++qb)
      backward_pair(g, w, b, h, qb, k0, kn);
    for (int64_t t = 0; t < kn; ++t) {
      for (int64_t x = 0; x < D; ++x)
        dk[(k0 + t) * g->dks[2] + x * g->dks[3]] = w->dkt[x * KB + t] * a->scale;
      for (int64_t e = 0; e < E; ++e)
        dv[(k0 + t) * g->dvs[2] + e * g->dvs[3]] = w->dvt[e * KB + t];
    }
  }
  float *dq = g->dq + b * g->dqs[0] + h * g->dqs[1];
  for (int64_t qb = 0; qb < a->nqb; ++qb) {
    int64_t q0 = qb * QB, qn = block_len(a->s_len, q0, QB);
    const float *dqt = w->dqt + qb * D * QB;
    for (int64_t i = 0; i < qn; ++i)
      for (int64_t x = 0; x < D; ++x)
        dq[(q0 + i) * g->dqs[2] + x * g->dqs[3]] = dqt[x * QB + i] * a->scale;
  }
}

/* NaN gradients for a head that could not get scratch memory: wrong, but visibly so. */
static void poison_head(const grad_args *g, int64_t bh) {
  const attn_args *a = &g->fwd;
  int64_t b = bh / a->heads, h = bh % a->heads;
  float nan = __builtin_nanf("");
  for (int64_t s = 0; s < a->s_len; ++s)
    for (int64_t x = 0; x < a->d_len; ++x)
      g->dq[b * g->dqs[0] + h * g->dqs[1] + s * g->dqs[2] + x * g->dqs[3]] = nan;
  for (int64_t t = 0; t < a->t_len; ++t) {
    for (int64_t x = 0; x < a->d_len; ++x)
      g->dk[b * g->dks[0] + h * g->dks[1] + t * g->dks[2] + x * g->dks[3]] = nan;
    for (int64_t e = 0; e < a->e_len; ++e)
      g->dv[b * g->dvs[0] + h * g->dvs[1] + t * g->dvs[2] + e * g->dvs[3]] = nan;
  }
}

static void backward_range(void *ctx, int64_t begin, int64_t end) {
  const grad_args *g = ctx;
  float *buf = kiln_malloc(scratch_floats(&g->fwd) * sizeof(float));
  if (!buf) {
    for (int64_t bh = begin; bh < end; ++bh)
      poison_head(g, bh);
    return;
  }
  grad_scratch w;
  carve_scratch(&g->fwd, buf, &w);
  for (int64_t bh = begin; bh < end; ++bh)
    backward_head(g, &w, bh);
  kiln_free(buf);
}

static void attention_grad(const kiln_memref *query, const kiln_memref *key,
                           const kiln_memref *value, const kiln_memref *mask,
                           const kiln_memref *bias, kiln_memref *out, const kiln_memref *dout,
                           kiln_memref *lse, kiln_memref *dquery, kiln_memref *dkey,
                           kiln_memref *dvalue, double scale, int64_t causal, int64_t layout) {
  grad_args g;
  int64_t batch =
      attn_args_init(&g.fwd, query, key, value, mask, bias, out, scale, causal, layout);
  if (lse)
    attn_args_bind_lse(&g.fwd, lse);
  g.dout = (const float *)dout->aligned + dout->offset;
  g.dq = (float *)dquery->aligned + dquery->offset;
  g.dk = (float *)dkey->aligned + dkey->offset;
  g.dv = (float *)dvalue->aligned + dvalue->offset;
  load_bhsd(dout, layout, KILN_ATTENTION_LAYOUT_DOUT, g.dos, 0);
  load_bhsd(dquery, layout, KILN_ATTENTION_LAYOUT_DQUERY, g.dqs, 0);
  load_bhsd(dkey, layout, KILN_ATTENTION_LAYOUT_DKEY, g.dks, 0);
  load_bhsd(dvalue, layout, KILN_ATTENTION_LAYOUT_DVALUE, g.dvs, 0);
  kiln_parallel_for(batch * g.fwd.heads, 1, backward_range, &g);
}

void kiln_rt_attention_grad_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out),
                                KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dquery),
                                KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue), double scale,
                                int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)dout_rank;
  (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  attention_grad(query, key, value, NULL, NULL, out, dout, NULL, dquery, dkey, dvalue, scale,
                 causal, layout);
}

void kiln_rt_attention_grad_masked_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                       KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                       KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                       KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                       KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                       int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)mask_rank, (void)out_rank;
  (void)dout_rank, (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  attention_grad(query, key, value, mask, NULL, out, dout, NULL, dquery, dkey, dvalue, scale,
                 causal, layout);
}

void kiln_rt_attention_grad_bias_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                     KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                     KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                     KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                     KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                     int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)dout_rank;
  (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  int64_t words[KILN_BIAS4_WORDS];
  kiln_memref *bias4 = bias_as_rank4(bias, bias_rank, words);
  attention_grad(query, key, value, NULL, bias4, out, dout, NULL, dquery, dkey, dvalue, scale,
                 causal, layout);
}

void kiln_rt_attention_grad_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                    KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(out),
                                    KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(lse),
                                    KILN_MEMREF_ARG(dquery), KILN_MEMREF_ARG(dkey),
                                    KILN_MEMREF_ARG(dvalue), double scale, int64_t causal,
                                    int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)dout_rank;
  (void)lse_rank, (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  attention_grad(query, key, value, NULL, NULL, out, dout, lse, dquery, dkey, dvalue, scale,
                 causal, layout);
}

void kiln_rt_attention_grad_masked_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                           KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                           KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                           KILN_MEMREF_ARG(lse), KILN_MEMREF_ARG(dquery),
                                           KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue),
                                           double scale, int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)mask_rank, (void)out_rank;
  (void)dout_rank, (void)lse_rank, (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  attention_grad(query, key, value, mask, NULL, out, dout, lse, dquery, dkey, dvalue, scale,
                 causal, layout);
}

void kiln_rt_attention_grad_bias_lse_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                         KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias),
                                         KILN_MEMREF_ARG(out), KILN_MEMREF_ARG(dout),
                                         KILN_MEMREF_ARG(lse), KILN_MEMREF_ARG(dquery),
                                         KILN_MEMREF_ARG(dkey), KILN_MEMREF_ARG(dvalue),
                                         double scale, int64_t causal, int64_t layout) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank, (void)dout_rank;
  (void)lse_rank, (void)dquery_rank, (void)dkey_rank, (void)dvalue_rank;
  int64_t words[KILN_BIAS4_WORDS];
  kiln_memref *bias4 = bias_as_rank4(bias, bias_rank, words);
  attention_grad(query, key, value, NULL, bias4, out, dout, lse, dquery, dkey, dvalue, scale,
                 causal, layout);
}
