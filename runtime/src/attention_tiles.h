/* What the flash-attention kernels share (kernel_attention.c, forward, and
 * kernel_attention_grad.c, backward): the problem read from the memrefs, the
 * register-blocked micro-kernel, and the bias, mask and online-softmax steps
 * on a transposed [keys][queries] score tile. Everything here is static, so
 * each kernel file inlines its own copy. */
#ifndef KILN_ATTENTION_TILES_H
#define KILN_ATTENTION_TILES_H

#include <stdbool.h>

#include "kernels.h"
#include "memref.h"
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
  /* Each query's logsumexp [B, H, S] (strides lses), or NULL: the forward
   * writes it for the backward (_lse kernels), which then reads it instead
   * of recomputing it. */
  float *lse;
  int64_t lses[3];
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

/* The online-softmax step for key block rows [0, kn) of S^T (st): P^T in place, the running max m
 * and sum l per query lane updated, and corr (exp(m_old - m_new)) for rescaling O^T. Hidden scores are -inf; a lane that has seen only -inf so far keeps
 * m = -inf, l = 0 and gets p = 0, never exp(-inf - -inf). */
static void softmax_block(float *st, float *m, float *l, float *corr_out, int64_t kn, int nr) {
  const kiln_v16 ninf = kiln_v16_splat(-__builtin_inff());
  for (int j = 0; j < nr; ++j) {
    float *col = st + j * KILN_VL;
    kiln_v16 mx0 = ninf, mx1 = ninf;
    int64_t t = 0;
    for (; t + 2 <= kn; t += 2) {
      mx0 = kiln_v16_max(mx0, kiln_v16_load(col + t * QB));
      mx1 = kiln_v16_max(mx1, kiln_v16_load(col + (t + 1) * QB));
    }
    if (t < kn)
      mx0 = kiln_v16_max(mx0, kiln_v16_load(col + t * QB));
    kiln_v16 m_old = kiln_v16_load(m + j * KILN_VL);
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
    kiln_v16 l_old = kiln_v16_load(l + j * KILN_VL);
    kiln_v16_store(l + j * KILN_VL, l_old * corr + (sum0 + sum1));
    kiln_v16_store(m + j * KILN_VL, m_new);
    kiln_v16_store(corr_out + j * KILN_VL, corr);
  }
}

/* Adds the bias to S^T (st) rows [0, kn) of the key block at k0, for the qn queries of the block at q0
 * (lanes past qn read no bias memory). bias points at bias[b][h][q0][0]. */
static void bias_block(const attn_args *a, float *st, const float *bias, int64_t qn,
                       int64_t k0, int64_t kn, int nr) {
  int64_t sq = a->bs[2], sk = a->bs[3];
  if (sq == 0) { /* broadcast over queries: one value per key */
    for (int64_t t = 0; t < kn; ++t) {
      kiln_v16 bv = kiln_v16_splat(bias[(k0 + t) * sk]);
      for (int j = 0; j < nr; ++j) {
        float *p = st + t * QB + j * KILN_VL;
        kiln_v16_store(p, kiln_v16_load(p) + bv);
      }
    }
    return;
  }
  for (int j = 0; j < nr; ++j) {
    int64_t n = qn - j * KILN_VL < KILN_VL ? qn - j * KILN_VL : KILN_VL;
    const float *bj = bias + j * KILN_VL * sq + k0 * sk;
    float *col = st + j * KILN_VL;
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

/* Hides what the masks hide in S^T (st) rows [0, kn) of the key block at k0, for the query block at
 * q0: keys with mask[b, t] == 0, and (causal) lanes whose query s < t. */
static void mask_block(const attn_args *a, float *st, int64_t b, int64_t q0, int64_t k0,
                       int64_t kn, int nr) {
  const kiln_v16 ninf = kiln_v16_splat(-__builtin_inff());
  if (a->mask) {
    const uint8_t *mrow = a->mask + b * a->ms[0];
    for (int64_t t = 0; t < kn; ++t)
      if (!mrow[(k0 + t) * a->ms[1]])
        for (int j = 0; j < nr; ++j)
          kiln_v16_store(st + t * QB + j * KILN_VL, ninf);
  }
  if (a->causal && k0 + kn - 1 > q0) {
    /* Key t hides lane i (query q0 + i) when i < t - q0. */
    for (int64_t t = k0 > q0 ? 0 : q0 - k0 + 1; t < kn; ++t) {
      int64_t hidden = k0 + t - q0;
      for (int j = 0; j < nr && hidden > j * KILN_VL; ++j) {
        float *p = st + t * QB + j * KILN_VL;
        kiln_v16i lanes = lane_index() + j * KILN_VL;
        kiln_v16_store(p, select_v16(lanes < (kiln_v16i)(int32_t)hidden, ninf, kiln_v16_load(p)));
      }
    }
  }
}

static void load_strides(const kiln_memref *m, int64_t rank, int64_t *strides) {
  for (int64_t i = 0; i < rank; ++i)
    strides[i] = m->sizes_strides[rank + i];
}

/* Strides of a [B, H, S, D] operand, and its size along dim `dim` of that
 * order. Bit `bit` of layout set (KILN_ATTENTION_LAYOUT_*): it is stored as
 * [B, S, H, D], heads split off a [B, S, H * D] projection without a
 * transposed copy, so its dims 1 and 2 are swapped back here. */
static int64_t load_bhsd(const kiln_memref *m, int64_t layout, int bit, int64_t strides[4],
                         int dim) {
  load_strides(m, 4, strides);
  int64_t sizes[4] = {m->sizes_strides[0], m->sizes_strides[1], m->sizes_strides[2],
                      m->sizes_strides[3]};
  if (layout >> bit & 1) {
    int64_t t = strides[1];
    strides[1] = strides[2];
    strides[2] = t;
    t = sizes[1];
    sizes[1] = sizes[2];
    sizes[2] = t;
  }
  return sizes[dim];
}

/* Fills a from the memrefs (mask, bias: NULL when absent; bias of rank 4, see
 * bias_as_rank4) and returns the batch size. `out` is the [B, H, S, E]
 * attention output: written by the forward, read by the backward. layout:
 * which operands are stored [B, S, H, D] (load_bhsd). */
static int64_t attn_args_init(attn_args *a, const kiln_memref *query, const kiln_memref *key,
                              const kiln_memref *value, const kiln_memref *mask,
                              const kiln_memref *bias, kiln_memref *out, double scale,
                              int64_t causal, int64_t layout) {
  a->heads = load_bhsd(query, layout, KILN_ATTENTION_LAYOUT_QUERY, a->qs, 1);
  a->s_len = load_bhsd(query, layout, KILN_ATTENTION_LAYOUT_QUERY, a->qs, 2);
  a->d_len = query->sizes_strides[3];
  a->t_len = load_bhsd(key, layout, KILN_ATTENTION_LAYOUT_KEY, a->ks, 2);
  a->e_len = load_bhsd(value, layout, KILN_ATTENTION_LAYOUT_VALUE, a->vs, 3);
  load_bhsd(out, layout, KILN_ATTENTION_LAYOUT_OUT, a->os, 0);
  a->q = (const float *)query->aligned + query->offset;
  a->k = (const float *)key->aligned + key->offset;
  a->v = (const float *)value->aligned + value->offset;
  a->out = (float *)out->aligned + out->offset;
  a->mask = NULL;
  if (mask) {
    a->mask = (const uint8_t *)mask->aligned + mask->offset;
    load_strides(mask, 2, a->ms);
  }
  a->bias = NULL;
  if (bias) {
    a->bias = (const float *)bias->aligned + bias->offset;
    load_strides(bias, 4, a->bs);
    for (int i = 0; i < 4; ++i)
      if (bias->sizes_strides[i] == 1)
        a->bs[i] = 0;
  }
  a->lse = NULL;
  a->scale = (float)scale;
  a->causal = causal != 0;
  a->nqb = (a->s_len + QB - 1) / QB;
  return query->sizes_strides[0];
}

/* Binds the [B, H, S] logsumexp of the _lse kernels. */
static inline void attn_args_bind_lse(attn_args *a, kiln_memref *lse) {
  a->lse = (float *)lse->aligned + lse->offset;
  load_strides(lse, 3, a->lses);
}

/* A bias of rank < 4 broadcasts from the right ([S, T] over batch and heads):
 * its view as rank 4 with leading size-1 dims, built in words (at least
 * KILN_BIAS4_WORDS of them), or bias itself when it is rank 4. */
enum { KILN_BIAS4_WORDS = sizeof(kiln_memref) / sizeof(int64_t) + 8 };
static kiln_memref *bias_as_rank4(kiln_memref *bias, int64_t rank, int64_t *words) {
  if (rank >= 4)
    return bias;
  kiln_memref *bias4 = (kiln_memref *)(void *)words;
  bias4->allocated = bias->allocated;
  bias4->aligned = bias->aligned;
  bias4->offset = bias->offset;
  int64_t lead = 4 - rank;
  for (int64_t i = 0; i < 4; ++i) {
    bool given = i >= lead;
    bias4->sizes_strides[i] = given ? bias->sizes_strides[i - lead] : 1;
    bias4->sizes_strides[4 + i] = given ? bias->sizes_strides[rank + i - lead] : 0;
  }
  return bias4;
}

#endif /* KILN_ATTENTION_TILES_H */
