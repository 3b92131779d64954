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
#include <stdlib.h>

#include "kernels.h"
#include "parallel.h"
#include "vec.h"

/* QB = 64 queries is 4 vectors per row of a tile: MR = 6 rows x 4 = 24
 * accumulators, plus 4 B vectors and a broadcast, fills the 32 zmm registers.
 * KB = 64 keys keeps S^T/P^T at 16 KB, so the tiles of each product (Q^T + K
 * rows + S^T, or P^T + V rows + O^T, 16 KB each at D = E = 64) stay in L1. */
enum { QB = 64, KB = 64, MR = 6, NR = QB / KILN_VL };

typedef struct attn_args {
  const float *q, *k, *v;
  float *out;
  const uint8_t *mask; /* NULL: no key-padding mask */
  const float *bias;   /* NULL: no additive bias */
  int64_t heads, s_len, t_len, d_len, e_len, nqb;
  int64_t qs[4], ks[4], vs[4], os[4], ms[2]; /* element strides */
  int64_t bs[4]; /* bias element strides, 0 along its broadcast (size 1) dims */
  float scale;
  int causal;
} attn_args;

static inline kiln_v16 select_v16(kiln_v16i cond, kiln_v16 a, kiln_v16 b) {
  kiln_v16i ai = __builtin_bit_cast(kiln_v16i, a), bi = __builtin_bit_cast(kiln_v16i, b);
  return __builtin_bit_cast(kiln_v16, (cond & ai) | (~cond & bi));
}

static inline kiln_v16i lane_index(void) {
  return (kiln_v16i){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
}

/* C[r][j] = (cscale ? C[r][j] * cscale[j] : 0) + sum_k a[r * ars + k * aks] * B[k][j] for r < mr
 * rows and j < nr 16-lane chunks; B and C rows are QB floats apart. Inlined with constant mr and
 * nr, so that acc lives in registers. */
#define KILN_ALWAYS_INLINE static inline __attribute__((always_inline))
KILN_ALWAYS_INLINE void tile_generic(int mr, int nr, int64_t kdim, const float *a, int64_t ars,
                                     int64_t aks, const float *b, float *c, const float *cscale) {
  /* Full unrolling is forced: the runtime bitcode is optimized for a generic x86-64 first, whose
   * cost model would leave acc in memory. */
  kiln_v16 acc[MR][NR];
#pragma clang loop unroll(full)
  for (int r = 0; r < mr; ++r)
#pragma clang loop unroll(full)
    for (int j = 0; j < nr; ++j)
      acc[r][j] =
          cscale ? kiln_v16_load(c + r * QB + j * KILN_VL) * kiln_v16_load(cscale + j * KILN_VL)
                 : kiln_v16_splat(0.0f);
  for (int64_t k = 0; k < kdim; ++k) {
    kiln_v16 bv[NR];
#pragma clang loop unroll(full)
    for (int j = 0; j < nr; ++j)
      bv[j] = kiln_v16_load(b + k * QB + j * KILN_VL);
    const float *ak = a + k * aks;
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; ++r) {
      kiln_v16 av = kiln_v16_splat(ak[r * ars]);
#pragma clang loop unroll(full)
      for (int j = 0; j < nr; ++j)
        acc[r][j] = kiln_v16_fma(av, bv[j], acc[r][j]);
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < mr; ++r)
#pragma clang loop unroll(full)
    for (int j = 0; j < nr; ++j)
      kiln_v16_store(c + r * QB + j * KILN_VL, acc[r][j]);
}

typedef void (*tile_fn)(int64_t kdim, const float *a, int64_t ars, int64_t aks, const float *b,
                        float *c, const float *cscale);

#define KILN_DEFINE_TILE(R, N)                                                                     \
  static void tile_##R##_##N(int64_t kdim, const float *a, int64_t ars, int64_t aks,               \
                             const float *b, float *c, const float *cscale) {                      \
    tile_generic(R, N, kdim, a, ars, aks, b, c, cscale);                                           \
  }
#define KILN_DEFINE_TILES(R)                                                                       \
  KILN_DEFINE_TILE(R, 1) KILN_DEFINE_TILE(R, 2) KILN_DEFINE_TILE(R, 3) KILN_DEFINE_TILE(R, 4)
KILN_DEFINE_TILES(1)
KILN_DEFINE_TILES(2)
KILN_DEFINE_TILES(3)
KILN_DEFINE_TILES(4)
KILN_DEFINE_TILES(5)
KILN_DEFINE_TILES(6)

#define KILN_TILE_ROW(R)                                                                           \
  { tile_##R##_1, tile_##R##_2, tile_##R##_3, tile_##R##_4 }
static const tile_fn tiles[MR][NR] = {KILN_TILE_ROW(1), KILN_TILE_ROW(2), KILN_TILE_ROW(3),
                                      KILN_TILE_ROW(4), KILN_TILE_ROW(5), KILN_TILE_ROW(6)};

/* C[rows][nr chunks] (see tile_generic), MR rows at a time; A row r starts at a + r * ars. */
static void gemm_rows(int64_t rows, int nr, int64_t kdim, const float *a, int64_t ars, int64_t aks,
                      const float *b, float *c, const float *cscale) {
  int64_t r0 = 0;
  for (; r0 + MR <= rows; r0 += MR)
    tiles[MR - 1][nr - 1](kdim, a + r0 * ars, ars, aks, b, c + r0 * QB, cscale);
  if (r0 < rows)
    tiles[rows - r0 - 1][nr - 1](kdim, a + r0 * ars, ars, aks, b, c + r0 * QB, cscale);
}

/* Per-thread scratch, allocated once per range of work items. */
typedef struct attn_scratch {
  float *qt;   /* [D][QB]: scaled Q^T */
  float *st;   /* [KB][QB]: S^T, then P^T in place */
  float *ot;   /* [E][QB]: unnormalized O^T */
  float *m;    /* [QB]: running max per query */
  float *l;    /* [QB]: running sum of exp per query */
  float *corr; /* [QB]: exp(m_old - m_new) of the current key block */
} attn_scratch;

/* The online-softmax step for key block rows [0, kn) of S^T: P^T in place, m and l updated, and
 * corr for rescaling O^T. Hidden scores are -inf; a lane that has seen only -inf so far keeps
 * m = -inf, l = 0 and gets p = 0, never exp(-inf - -inf). */
static void softmax_block(const attn_scratch *w, int64_t kn, int nr) {
  const kiln_v16 ninf = kiln_v16_splat(-__builtin_inff());
  for (int j = 0; j < nr; ++j) {
    float *col = w->st + j * KILN_VL;
    kiln_v16 mx0 = ninf, mx1 = ninf;
    int64_t t = 0;
    for (; t + 2 <= kn; t += 2) {
      mx0 = kiln_v16_max(mx0, kiln_v16_load(col + t * QB));
      mx1 = kiln_v16_max(mx1, kiln_v16_load(col + (t + 1) * QB));
    }
    if (t < kn)
      mx0 = kiln_v16_max(mx0, kiln_v16_load(col + t * QB));
    kiln_v16 m_old = kiln_v16_load(w->m + j * KILN_VL);
    kiln_v16 m_new = kiln_v16_max(m_old, kiln_v16_max(mx0, mx1));
    kiln_v16 corr = select_v16(m_old == ninf, kiln_v16_splat(0.0f), kiln_v16_exp(m_old - m_new));
    kiln_v16 m_sub = select_v16(m_new == ninf, kiln_v16_splat(0.0f), m_new);
    kiln_v16 sum0 = kiln_v16_splat(0.0f), sum1 = sum0;
    for (t = 0; t + 2 <= kn; t += 2) {
      kiln_v16 s0 = kiln_v16_load(col + t * QB), s1 = kiln_v16_load(col + (t + 1) * QB);
      kiln_v16 p0 = select_v16(s0 == ninf, kiln_v16_splat(0.0f), kiln_v16_exp(s0 - m_sub));
      kiln_v16 p1 = select_v16(s1 == ninf, kiln_v16_splat(0.0f), kiln_v16_exp(s1 - m_sub));
      kiln_v16_store(col + t * QB, p0);
      kiln_v16_store(col + (t + 1) * QB, p1);
      sum0 += p0;
      sum1 += p1;
    }
    if (t < kn) {
      kiln_v16 s0 = kiln_v16_load(col + t * QB);
      kiln_v16 p0 = select_v16(s0 == ninf, kiln_v16_splat(0.0f), kiln_v16_exp(s0 - m_sub));
      kiln_v16_store(col + t * QB, p0);
      sum0 += p0;
    }
    kiln_v16 l = kiln_v16_load(w->l + j * KILN_VL);
    kiln_v16_store(w->l + j * KILN_VL, l * corr + (sum0 + sum1));
    kiln_v16_store(w->m + j * KILN_VL, m_new);
    kiln_v16_store(w->corr + j * KILN_VL, corr);
  }
}

/* Adds the bias to S^T rows [0, kn) of the key block at k0, for the qn queries of the block at q0
 * (lanes past qn read no bias memory). bias points at bias[b][h][q0][0]. */
static void bias_block(const attn_args *a, const attn_scratch *w, const float *bias, int64_t qn,
                       int64_t k0, int64_t kn, int nr) {
  int64_t sq = a->bs[2], sk = a->bs[3];
  if (sq == 0) { /* broadcast over queries: one value per key */
    for (int64_t t = 0; t < kn; ++t) {
      kiln_v16 bv = kiln_v16_splat(bias[(k0 + t) * sk]);
      for (int j = 0; j < nr; ++j) {
        float *p = w->st + t * QB + j * KILN_VL;
        kiln_v16_store(p, kiln_v16_load(p) + bv);
      }
    }
    return;
  }
  for (int j = 0; j < nr; ++j) {
    int64_t n = qn - j * KILN_VL < KILN_VL ? qn - j * KILN_VL : KILN_VL;
    const float *bj = bias + j * KILN_VL * sq + k0 * sk;
    float *col = w->st + j * KILN_VL;
    if (sq == 1 || n < KILN_VL || sq > INT32_MAX / KILN_VL) {
      for (int64_t t = 0; t < kn; ++t)
        kiln_v16_store(col + t * QB, kiln_v16_load(col + t * QB) +
                                         kiln_v16_load_strided(bj + t * sk, sq, n, 0.0f));
    } else {
      /* A full chunk at a query stride that fits int32 indices: one gather per key. */
      kiln_v16i idx = lane_index() * (int32_t)sq;
      const _Bool all __attribute__((ext_vector_type(16))) = (kiln_v16i)(1) != 0;
      for (int64_t t = 0; t < kn; ++t) {
        kiln_v16 bv = __builtin_masked_gather(all, idx, bj + t * sk);
        kiln_v16_store(col + t * QB, kiln_v16_load(col + t * QB) + bv);
      }
    }
  }
}

/* Hides what the masks hide in S^T rows [0, kn) of the key block at k0, for the query block at
 * q0: keys with mask[b, t] == 0, and (causal) lanes whose query s < t. */
static void mask_block(const attn_args *a, const attn_scratch *w, int64_t b, int64_t q0, int64_t k0,
                       int64_t kn, int nr) {
  const kiln_v16 ninf = kiln_v16_splat(-__builtin_inff());
  if (a->mask) {
    const uint8_t *mrow = a->mask + b * a->ms[0];
    for (int64_t t = 0; t < kn; ++t)
      if (!mrow[(k0 + t) * a->ms[1]])
        for (int j = 0; j < nr; ++j)
          kiln_v16_store(w->st + t * QB + j * KILN_VL, ninf);
  }
  if (a->causal && k0 + kn - 1 > q0) {
    /* Key t hides lane i (query q0 + i) when i < t - q0. */
    for (int64_t t = k0 > q0 ? 0 : q0 - k0 + 1; t < kn; ++t) {
      int64_t hidden = k0 + t - q0;
      for (int j = 0; j < nr && hidden > j * KILN_VL; ++j) {
        float *p = w->st + t * QB + j * KILN_VL;
        kiln_v16i lanes = lane_index() + j * KILN_VL;
        kiln_v16_store(p, select_v16(lanes < (kiln_v16i)(int32_t)hidden, ninf, kiln_v16_load(p)));
      }
    }
  }
}

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
      bias_block(a, w, bias, qn, k0, kn, nr);
    mask_block(a, w, b, q0, k0, kn, nr);
    softmax_block(w, kn, nr);
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
  float *buf = malloc(floats * sizeof(float));
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
  free(buf);
}

static void load_strides(const kiln_memref *m, int64_t rank, int64_t *strides) {
  for (int64_t i = 0; i < rank; ++i)
    strides[i] = m->sizes_strides[rank + i];
}

static void attention(const kiln_memref *query, const kiln_memref *key, const kiln_memref *value,
                      const kiln_memref *mask, const kiln_memref *bias, kiln_memref *out,
                      double scale, int64_t causal) {
  attn_args a;
  const int64_t *qsz = query->sizes_strides;
  int64_t batch = qsz[0];
  a.heads = qsz[1];
  a.s_len = qsz[2];
  a.d_len = qsz[3];
  a.t_len = key->sizes_strides[2];
  a.e_len = value->sizes_strides[3];
  if (batch == 0 || a.heads == 0 || a.s_len == 0 || a.e_len == 0)
    return;
  a.q = (const float *)query->aligned + query->offset;
  a.k = (const float *)key->aligned + key->offset;
  a.v = (const float *)value->aligned + value->offset;
  a.out = (float *)out->aligned + out->offset;
  load_strides(query, 4, a.qs);
  load_strides(key, 4, a.ks);
  load_strides(value, 4, a.vs);
  load_strides(out, 4, a.os);
  a.mask = NULL;
  if (mask) {
    a.mask = (const uint8_t *)mask->aligned + mask->offset;
    load_strides(mask, 2, a.ms);
  }
  a.bias = NULL;
  if (bias) {
    a.bias = (const float *)bias->aligned + bias->offset;
    load_strides(bias, 4, a.bs);
    for (int i = 0; i < 4; ++i)
      if (bias->sizes_strides[i] == 1)
        a.bs[i] = 0;
  }
  a.scale = (float)scale;
  a.causal = causal != 0;
  a.nqb = (a.s_len + QB - 1) / QB;
  kiln_parallel_for(batch * a.heads * a.nqb, 1, attention_range, &a);
}

void kiln_rt_attention_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key), KILN_MEMREF_ARG(value),
                           KILN_MEMREF_ARG(out), double scale, int64_t causal) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank;
  attention(query, key, value, NULL, NULL, out, scale, causal);
}

void kiln_rt_attention_masked_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                  KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(mask),
                                  KILN_MEMREF_ARG(out), double scale, int64_t causal) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)mask_rank, (void)out_rank;
  attention(query, key, value, mask, NULL, out, scale, causal);
}

void kiln_rt_attention_bias_f32(KILN_MEMREF_ARG(query), KILN_MEMREF_ARG(key),
                                KILN_MEMREF_ARG(value), KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(out),
                                double scale, int64_t causal) {
  (void)query_rank, (void)key_rank, (void)value_rank, (void)out_rank;
  /* A bias of rank < 4 broadcasts from the right ([S, T] over batch and
   * heads): view it as rank 4 with leading size-1 dims. */
  int64_t words[(sizeof(kiln_memref) / sizeof(int64_t)) + 8];
  kiln_memref *bias4 = bias;
  if (bias_rank < 4) {
    bias4 = (kiln_memref *)(void *)words;
    bias4->allocated = bias->allocated;
    bias4->aligned = bias->aligned;
    bias4->offset = bias->offset;
    int64_t lead = 4 - bias_rank;
    for (int64_t i = 0; i < 4; ++i) {
      bool given = i >= lead;
      bias4->sizes_strides[i] = given ? bias->sizes_strides[i - lead] : 1;
      bias4->sizes_strides[4 + i] = given ? bias->sizes_strides[bias_rank + i - lead] : 0;
    }
  }
  attention(query, key, value, NULL, bias4, out, scale, causal);
}
