/* kiln_rt_native_bf16_matmul*_f32: Kiln's own matmuls and linear layers with
 * bf16 products and f32 sums, for kilnc --precision=bf16. f32 operands and
 * results, and the f32 kernels' flags and epilogue (native_gemm.h). a and b
 * are rounded to bf16 (to nearest, ties to even) as they are packed, so the
 * model's weights stay f32: a training step updates them in place and the
 * next call packs the new values. The weights of a model without train
 * entries are converted and packed once, by create or on their first call
 * (packed_weights.h).
 *
 * Packing cuts k into pairs and puts each pair of bf16 values in one 32-bit
 * lane: b's strips as [k/2][nr] lanes, a's tiles as [mr][k/2] (a row's
 * pairs contiguous, the rows a fixed distance apart). With AVX512-BF16,
 * vcvtne2ps2bf16 rounds 32 floats at once, and one vdpbf16ps adds to 16 f32
 * sums the products of a row's pair with 16 columns' pairs: 32
 * multiply-adds, twice an f32 FMA's. Without it, the rounding is integer
 * arithmetic and the same products are computed with f32 FMAs on the bf16
 * values widened (exactly), so every target gets bf16's numbers.
 *
 * A block packs its strips (up to NC columns, kc of k at a time: 64 KB on
 * the stack of the thread that runs it, the kernel allocates nothing), then
 * for each tile of mr rows packs a's tile once and runs it against every
 * strip. */
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "native_gemm.h"

typedef uint32_t kiln_v16u __attribute__((ext_vector_type(16)));

/* At most KC_MAX of k packed at a time; a's tiles keep a row every A_ROW
 * lanes, a constant so that the micro-kernel reaches each row by a fixed
 * offset from one pointer. */
enum { KC_MAX = 256, A_ROW = KC_MAX / 2 };

/* Vectors of equal size convert bit for bit (clang's vector casts). */
static inline kiln_v16u bits_of(kiln_v16 x) { return (kiln_v16u)x; }
static inline kiln_v16 floats_of(kiln_v16u x) { return (kiln_v16)x; }

static inline kiln_v16u load_lanes(const uint32_t *p) {
  kiln_v16u v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void store_lanes(uint32_t *p, kiln_v16u v) { memcpy(p, &v, sizeof v); }

/* The first min(n, 16) lanes of v to p. */
static inline void store_lanes_partial(uint32_t *p, kiln_v16u v, int64_t n) {
  if (n >= KILN_VL) {
    store_lanes(p, v);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    p[i] = v[i];
}

//===----------------------------------------------------------------------===//
// bf16
//===----------------------------------------------------------------------===//

/* The bf16 nearest x (ties to even) in the low 16 bits of each lane; a NaN
 * stays a (quiet) NaN. */
static inline kiln_v16u bf16_of(kiln_v16 x) {
  kiln_v16u u = bits_of(x);
  kiln_v16u rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return (u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded;
}

static inline uint32_t bf16_of_scalar(float x) { return bf16_of(kiln_v16_splat(x))[0]; }

/* 32 floats (lo, then hi) as 32 bf16 in that order, in 16 lanes. Two
 * versions, passed down to the packing functions: with integer arithmetic,
 * or with AVX512-BF16's one instruction (which also flushes denormals to
 * zero, as vdpbf16ps does with its inputs). */
typedef kiln_v16u (*to_bf16_fn)(kiln_v16 lo, kiln_v16 hi);

KILN_ALWAYS_INLINE kiln_v16u to_bf16_rounded(kiln_v16 lo, kiln_v16 hi) {
  kiln_v16u first = bf16_of(lo), second = bf16_of(hi);
  kiln_v16u even = __builtin_shufflevector(first, second, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                           24, 26, 28, 30);
  kiln_v16u odd = __builtin_shufflevector(first, second, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23,
                                          25, 27, 29, 31);
  return even | (odd << 16);
}

#if defined(__x86_64__)
/* The functions using AVX512-BF16. Their callers test kiln_target_has_bf16_dot
 * first: a constant false in a model for another target, which drops them. */
#define KILN_BF16_DOT_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

KILN_BF16_DOT_TARGET KILN_ALWAYS_INLINE kiln_v16u to_bf16_avx512(kiln_v16 lo, kiln_v16 hi) {
  return (kiln_v16u)_mm512_cvtne2ps_pbh((__m512)hi, (__m512)lo);
}
#else
#define KILN_BF16_DOT_TARGET
#define to_bf16_avx512 to_bf16_rounded
#endif

/* Lanes holding the pairs (even[i], odd[i]): the even element low. */
KILN_ALWAYS_INLINE kiln_v16u pairs_of(to_bf16_fn to_bf16, kiln_v16 even, kiln_v16 odd) {
  typedef uint16_t v32h __attribute__((ext_vector_type(32)));
  v32h halves = (v32h)to_bf16(even, odd);
  return (kiln_v16u)__builtin_shufflevector(halves, halves, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                            21, 6, 22, 7, 23, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28,
                                            13, 29, 14, 30, 15, 31);
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

static inline int64_t lanes_of(int64_t n) { return n < 0 ? 0 : n > KILN_VL ? KILN_VL : n; }

/* Rows 2p and 2p + 1 of src (k) as pairs, its first xs columns (x) in the
 * lanes; zero past kc. */
KILN_ALWAYS_INLINE kiln_v16u pairs_along_x(to_bf16_fn to_bf16, const float *src, int64_t src_k,
                                           int64_t kc, int64_t xs, int64_t p) {
  kiln_v16 even = kiln_gemm_load_row(src + 2 * p * src_k, 1, xs);
  kiln_v16 odd =
      2 * p + 1 < kc ? kiln_gemm_load_row(src + (2 * p + 1) * src_k, 1, xs) : kiln_v16_splat(0.0f);
  return pairs_of(to_bf16, even, odd);
}

/* row[2p, 2p + 32) as 16 pairs; zero past kc. */
KILN_ALWAYS_INLINE kiln_v16u pairs_along_k(to_bf16_fn to_bf16, const float *row, int64_t kc,
                                           int64_t p) {
  return to_bf16(kiln_gemm_load_row(row + 2 * p, 1, lanes_of(kc - 2 * p)),
                 kiln_gemm_load_row(row + 2 * p + KILN_VL, 1, lanes_of(kc - 2 * p - KILN_VL)));
}

/* dst[p * p_step + x * x_step] for p < ceil(kc / 2), x < 16: the pair of
 * elements (2p, x) and (2p + 1, x) of src, whose element (k, x) is at
 * src[k * src_k + x * src_x]; zero where x >= xs or k >= kc. Vectorized where
 * src is contiguous in x or in k and dst in x or in p: b's strips ([p][x],
 * b transposed or not) and a's tiles ([x][p], a transposed or not), the
 * combinations that cross over by 16 x 16 transposes. */
KILN_ALWAYS_INLINE void pack_pairs(to_bf16_fn to_bf16, const float *src, int64_t src_k,
                                   int64_t src_x, int64_t kc, int64_t xs, uint32_t *dst,
                                   int64_t p_step, int64_t x_step) {
  const int64_t pairs = (kc + 1) / 2;
  xs = lanes_of(xs);
  if (src_x == 1 && x_step == 1) {
    for (int64_t p = 0; p < pairs; ++p)
      store_lanes(dst + p * p_step, pairs_along_x(to_bf16, src, src_k, kc, xs, p));
  } else if (src_k == 1 && p_step == 1) {
    for (int64_t x = 0; x < xs; ++x)
      for (int64_t p = 0; p < pairs; p += KILN_VL)
        store_lanes_partial(dst + x * x_step + p, pairs_along_k(to_bf16, src + x * src_x, kc, p),
                            pairs - p);
  } else if (src_k == 1 && x_step == 1) {
    for (int64_t p = 0; p < pairs; p += KILN_VL) {
      kiln_v16 rows[KILN_VL];
      for (int x = 0; x < KILN_VL; ++x)
        rows[x] = x < xs ? floats_of(pairs_along_k(to_bf16, src + x * src_x, kc, p))
                         : kiln_v16_splat(0.0f);
      kiln_gemm_transpose16(rows);
      for (int64_t t = 0; t < KILN_VL && p + t < pairs; ++t)
        store_lanes(dst + (p + t) * p_step, bits_of(rows[t]));
    }
  } else if (src_x == 1 && p_step == 1) {
    for (int64_t p = 0; p < pairs; p += KILN_VL) {
      kiln_v16 rows[KILN_VL];
      for (int64_t t = 0; t < KILN_VL; ++t)
        rows[t] = p + t < pairs ? floats_of(pairs_along_x(to_bf16, src, src_k, kc, xs, p + t))
                                : kiln_v16_splat(0.0f);
      kiln_gemm_transpose16(rows);
      for (int64_t x = 0; x < xs; ++x)
        store_lanes_partial(dst + x * x_step + p, bits_of(rows[x]), pairs - p);
    }
  } else {
    for (int64_t p = 0; p < pairs; ++p)
      for (int64_t x = 0; x < KILN_VL; ++x) {
        const float *e = src + 2 * p * src_k + x * src_x;
        uint32_t even = x < xs ? bf16_of_scalar(e[0]) : 0;
        uint32_t odd = x < xs && 2 * p + 1 < kc ? bf16_of_scalar(e[src_k]) : 0;
        dst[p * p_step + x * x_step] = even | (odd << 16);
      }
  }
}

/* The strip of b's columns [n0, n0 + nr), rows [k0, k0 + kc), as [kc/2][nr]. */
KILN_ALWAYS_INLINE void pack_strip(to_bf16_fn to_bf16, const kiln_gemm *g, int64_t k0, int64_t kc,
                                   int64_t n0, uint32_t *strip) {
  const int64_t nr = g->blocks.nr;
  for (int64_t j = 0; j < nr; j += KILN_VL)
    pack_pairs(to_bf16, g->b + k0 * g->b_k + (n0 + j) * g->b_n, g->b_k, g->b_n, kc, g->n - n0 - j,
               strip + j, nr, 1);
}

//===----------------------------------------------------------------------===//
// Micro-kernel
//===----------------------------------------------------------------------===//

/* acc + the products of a's pair (in every lane) with b's pairs. */
typedef kiln_v16 (*dot_fn)(kiln_v16 acc, kiln_v16u a, kiln_v16u b);

/* With f32 FMAs: a bf16 value is the high half of the f32 it widens to. */
KILN_ALWAYS_INLINE kiln_v16 dot_fma(kiln_v16 acc, kiln_v16u a, kiln_v16u b) {
  acc = kiln_v16_fma(floats_of(a << 16), floats_of(b << 16), acc);
  return kiln_v16_fma(floats_of(a & 0xffff0000u), floats_of(b & 0xffff0000u), acc);
}

#if defined(__x86_64__)
KILN_BF16_DOT_TARGET KILN_ALWAYS_INLINE kiln_v16 dot_avx512(kiln_v16 acc, kiln_v16u a,
                                                            kiln_v16u b) {
  return (kiln_v16)_mm512_dpbf16_ps((__m512)acc, (__m512bh)a, (__m512bh)b);
}
#else
#define dot_avx512 dot_fma
#endif

/* c[m0 + r][n0 + j] for r < mr, j < cols (<= nv 16-float vectors), over k in
 * [k0, k0 + kc): a is the rows' tile [mr][A_ROW], panel the columns' strip
 * [kc/2][nv * 16]. Inlined with constant mr, nv and dot so that the
 * tile lives in registers. */
KILN_ALWAYS_INLINE void tile_generic(int mr, int nv, dot_fn dot, const kiln_gemm *g, int64_t m0,
                                     int64_t n0, int64_t cols, int64_t k0, int64_t kc,
                                     const uint32_t *a, const uint32_t *panel) {
  const int64_t nr = nv * KILN_VL;
  kiln_v16 acc[MR_MAX][NV_MAX];
  kiln_gemm_tile_start(mr, nv, g, m0, n0, cols, k0, acc);
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    kiln_v16u b[NV_MAX];
#pragma clang loop unroll(full)
    for (int v = 0; v < nv; ++v)
      b[v] = load_lanes(panel + p * nr + v * KILN_VL);
#pragma clang loop unroll(full)
    for (int r = 0; r < mr; ++r) {
      kiln_v16u av = (kiln_v16u)(a[r * A_ROW + p]);
#pragma clang loop unroll(full)
      for (int v = 0; v < nv; ++v)
        acc[r][v] = dot(acc[r][v], av, b[v]);
    }
  }
  kiln_gemm_tile_finish(mr, nv, g, m0, n0, cols, k0 + kc, acc);
}

typedef void (*tile_fn)(const kiln_gemm *g, int64_t m0, int64_t n0, int64_t cols, int64_t k0,
                        int64_t kc, const uint32_t *a, const uint32_t *panel);

#define KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, R, V)                                                 \
  ATTRS static void PREFIX##_##R##x##V(const kiln_gemm *g, int64_t m0, int64_t n0, int64_t cols,   \
                                       int64_t k0, int64_t kc, const uint32_t *a,                  \
                                       const uint32_t *panel) {                                    \
    tile_generic(R, V, DOT, g, m0, n0, cols, k0, kc, a, panel);                                    \
  }
#define KILN_DEFINE_TILES_12(PREFIX, ATTRS, DOT, V)                                                \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 1, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 2, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 3, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 4, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 5, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 6, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 7, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 8, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 9, V)                                                       \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 10, V)                                                      \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 11, V)                                                      \
  KILN_DEFINE_TILE(PREFIX, ATTRS, DOT, 12, V)
KILN_DEFINE_TILES_12(dot_tile, KILN_BF16_DOT_TARGET, dot_avx512, 2)
KILN_DEFINE_TILES_12(fma_tile, , dot_fma, 2)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 1, 1)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 2, 1)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 3, 1)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 4, 1)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 5, 1)
KILN_DEFINE_TILE(fma_tile, , dot_fma, 6, 1)
#undef KILN_DEFINE_TILES_12
#undef KILN_DEFINE_TILE

/* The tile functions by rows (1 to the shape's mr). */
static const tile_fn kDotTiles[MR_MAX] = {
    dot_tile_1x2, dot_tile_2x2, dot_tile_3x2, dot_tile_4x2,  dot_tile_5x2,  dot_tile_6x2,
    dot_tile_7x2, dot_tile_8x2, dot_tile_9x2, dot_tile_10x2, dot_tile_11x2, dot_tile_12x2};
static const tile_fn kWideFmaTiles[MR_MAX] = {
    fma_tile_1x2, fma_tile_2x2, fma_tile_3x2, fma_tile_4x2,  fma_tile_5x2,  fma_tile_6x2,
    fma_tile_7x2, fma_tile_8x2, fma_tile_9x2, fma_tile_10x2, fma_tile_11x2, fma_tile_12x2};
static const tile_fn kNarrowFmaTiles[6] = {fma_tile_1x1, fma_tile_2x1, fma_tile_3x1,
                                           fma_tile_4x1, fma_tile_5x1, fma_tile_6x1};

//===----------------------------------------------------------------------===//
// Blocks
//===----------------------------------------------------------------------===//

/* Rows [m0, m1) by columns [n0, n1) of g (at most NC), all of k, packing
 * with to_bf16 and computing with tiles[rows - 1]. */
KILN_ALWAYS_INLINE void run_block(to_bf16_fn to_bf16, const tile_fn *tiles, const kiln_gemm *g,
                                  int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  _Alignas(64) uint32_t strips[KC_MAX / 2 * NC];
  _Alignas(64) uint32_t a_tile[MR_MAX * A_ROW];
  const kiln_gemm_blocking *bl = &g->blocks;
  int64_t k0 = 0;
  do {
    int64_t kc = g->k - k0 < bl->kc ? g->k - k0 : bl->kc, pairs = (kc + 1) / 2;
    /* Strip s starts at lane (s - n0) * pairs: pairs x nr lanes each. */
    for (int64_t s = n0; s < n1 && !g->b_packed; s += bl->nr)
      pack_strip(to_bf16, g, k0, kc, s, strips + (s - n0) * pairs);
    for (int64_t m = m0; m < m1; m += bl->mr) {
      int rows = m1 - m < bl->mr ? (int)(m1 - m) : bl->mr;
      pack_pairs(to_bf16, g->a + m * g->a_m + k0 * g->a_k, g->a_k, g->a_m, kc, rows, a_tile, 1,
                 A_ROW);
      tile_fn tile = tiles[rows - 1];
      for (int64_t s = n0; s < n1; s += bl->nr) {
        /* k0 is even: kc is a multiple of 32. */
        const uint32_t *panel =
            g->b_packed ? kiln_gemm_packed_panel(g, s, k0) : strips + (s - n0) * pairs;
        tile(g, m, s, n1 - s < bl->nr ? n1 - s : bl->nr, k0, kc, a_tile, panel);
      }
    }
    k0 += kc;
  } while (k0 < g->k);
}

/* The strip of columns [n0, n0 + nr) over all of k, for a weight packed once,
 * converted as the tiles that read it would. */
KILN_BF16_DOT_TARGET static void pack_whole_strip_dot(const kiln_gemm *g, int64_t n0, void *dst) {
  pack_strip(to_bf16_avx512, g, 0, g->k, n0, dst);
}
static void pack_whole_strip_rounded(const kiln_gemm *g, int64_t n0, void *dst) {
  pack_strip(to_bf16_rounded, g, 0, g->k, n0, dst);
}
static const kiln_gemm_packing kDotPacking = {KILN_GEMM_LAYOUT_BF16_PAIRS, 2, pack_whole_strip_dot};
static const kiln_gemm_packing kRoundedPacking = {KILN_GEMM_LAYOUT_BF16_PAIRS, 2,
                                                  pack_whole_strip_rounded};

/* With AVX512-BF16: its conversion and vdpbf16ps tiles. */
KILN_BF16_DOT_TARGET static void run_block_dot(const kiln_gemm *g, int64_t m0, int64_t m1,
                                               int64_t n0, int64_t n1) {
  run_block(to_bf16_avx512, kDotTiles, g, m0, m1, n0, n1);
}

/* Without: integer rounding and f32 FMAs, tiles shaped by the target's lanes. */
static void run_block_fma(const kiln_gemm *g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  run_block(to_bf16_rounded, kiln_gemm_tile_vectors() == 2 ? kWideFmaTiles : kNarrowFmaTiles, g, m0,
            m1, n0, n1);
}

static void run_bf16(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  /* Tested on the target's constants, so that the other path is dropped. */
  bool dot = kiln_target_has_bf16_dot() && kiln_gemm_tile_vectors() == 2;
  /* Strips of bf16; kc a multiple of the 32 k a packing step takes. */
  kiln_gemm_blocking blocks = kiln_gemm_cache_blocking(sizeof(uint16_t), KC_MAX, 2 * KILN_VL);
  kiln_native_gemm_run(p, d, blocks, dot ? run_block_dot : run_block_fma,
                       dot ? &kDotPacking : &kRoundedPacking);
}

KILN_DEFINE_MATMUL_KERNELS(native_bf16, run_bf16)
