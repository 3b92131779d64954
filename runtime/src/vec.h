/* 16 x f32 vectors for the runtime's native kernels, in clang's vector
 * extensions. The runtime bitcode is compiled for a generic x86-64; the
 * compiler re-targets it to the host's features (codegen/ObjectEmitter.cpp),
 * where a kiln_v16 becomes one zmm register with AVX-512 and is split into
 * narrower registers without it. Loads and stores are unaligned. */
#ifndef KILN_VEC_H
#define KILN_VEC_H

#include <stdint.h>
#include <string.h>

#define KILN_VL 16

typedef float kiln_v16 __attribute__((ext_vector_type(16)));
typedef int32_t kiln_v16i __attribute__((ext_vector_type(16)));

static inline kiln_v16 kiln_v16_load(const float *p) {
  kiln_v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void kiln_v16_store(float *p, kiln_v16 v) { memcpy(p, &v, sizeof v); }

static inline kiln_v16 kiln_v16_splat(float x) { return (kiln_v16)(x); }

/* Loads p[0, n) (n < 16) with the remaining lanes set to fill. */
static inline kiln_v16 kiln_v16_load_partial(const float *p, int64_t n, float fill) {
  kiln_v16 v = kiln_v16_splat(fill);
  for (int64_t i = 0; i < n; ++i)
    v[i] = p[i];
  return v;
}

static inline void kiln_v16_store_partial(float *p, kiln_v16 v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = v[i];
}

static inline kiln_v16 kiln_v16_max(kiln_v16 a, kiln_v16 b) {
  return __builtin_elementwise_max(a, b);
}

static inline kiln_v16 kiln_v16_fma(kiln_v16 a, kiln_v16 b, kiln_v16 c) {
  return __builtin_elementwise_fma(a, b, c);
}

static inline float kiln_v16_reduce_max(kiln_v16 v) { return __builtin_reduce_max(v); }

static inline float kiln_v16_reduce_add(kiln_v16 v) {
  /* Pairwise halving: 4 shuffles and adds instead of 15 serial adds. */
  typedef float v8 __attribute__((ext_vector_type(8)));
  typedef float v4 __attribute__((ext_vector_type(4)));
  v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

/* exp(x) to ~1 ulp over the f32 range: x = n ln2 + r with |r| <= ln2/2, a
 * degree-6 polynomial for exp(r) and 2^n built in the exponent bits. Below
 * -87.3 the result flushes to 0 (what softmax wants for -inf), above 88.7
 * it saturates at 2^128 = inf. */
static inline kiln_v16 kiln_v16_exp(kiln_v16 x) {
  const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  x = __builtin_elementwise_min(x, kiln_v16_splat(88.7228394f));
  x = __builtin_elementwise_max(x, kiln_v16_splat(-87.3365479f));
  kiln_v16 n = __builtin_elementwise_roundeven(x * 1.44269504088896341f);
  kiln_v16 r = kiln_v16_fma(n, kiln_v16_splat(-ln2_hi), x);
  r = kiln_v16_fma(n, kiln_v16_splat(-ln2_lo), r);
  kiln_v16 p = kiln_v16_splat(1.9875691500e-4f);
  p = kiln_v16_fma(p, r, kiln_v16_splat(1.3981999507e-3f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(8.3334519073e-3f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(4.1665795894e-2f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(1.6666665459e-1f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(5.0000001201e-1f));
  p = kiln_v16_fma(p, r * r, r + 1.0f);
  /* 2^n split in two factors so that n = 128 (x near 88.7) does not overflow
   * the exponent field before the multiply. */
  kiln_v16i ni = __builtin_convertvector(n, kiln_v16i);
  kiln_v16i half = ni >> 1;
  kiln_v16 s1 = __builtin_bit_cast(kiln_v16, (half + 127) << 23);
  kiln_v16 s2 = __builtin_bit_cast(kiln_v16, (ni - half + 127) << 23);
  return p * s1 * s2;
}

/* exp(x) for the x <= 0 that softmax-style kernels need (x - running max).
 * Those kernels are bound by their exps more than by DRAM (softmax-CE's grad
 * on [2048, 32000]: 24 ms with kiln_v16_exp, 19.5 with this), so this trims
 * kiln_v16_exp: no upper clamp, n and 2^n from the magic-number rounding, a
 * degree-5 minimax polynomial (3 ulp; exp(0) is exactly 1). Below -87.3 the
 * result is 2^-126, negligible next to a sum >= 1. NaN stays NaN, so NaN
 * inputs reach the results. */
static inline kiln_v16 kiln_v16_exp_nonpositive(kiln_v16 x) {
  const kiln_v16 lo = kiln_v16_splat(-87.3365479f);
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  x = x < lo ? lo : x;             /* keeps NaN, unlike max(x, lo) */
  kiln_v16 t = kiln_v16_fma(x, kiln_v16_splat(1.44269504088896341f), kiln_v16_splat(magic));
  kiln_v16 n = t - magic;
  kiln_v16 r = kiln_v16_fma(n, kiln_v16_splat(-0.693359375f), x);
  r = kiln_v16_fma(n, kiln_v16_splat(2.12194440e-4f), r);
  kiln_v16 p = kiln_v16_splat(8.297654800e-3f);
  p = kiln_v16_fma(p, r, kiln_v16_splat(4.191538319e-2f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(1.666757464e-1f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(4.999889433e-1f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(9.999997020e-1f));
  p = kiln_v16_fma(p, r, kiln_v16_splat(1.0f));
  /* t's low mantissa bits hold n (>= -126); shifted into the exponent field
   * they give 2^n. */
  kiln_v16i e = (__builtin_bit_cast(kiln_v16i, t) + 127) << 23;
  return p * __builtin_bit_cast(kiln_v16, e);
}

/* max as a select: one instruction, where kiln_v16_max's NaN-ignoring maxnum
 * needs three on x86. */
static inline kiln_v16 kiln_v16_select_max(kiln_v16 a, kiln_v16 b) { return a > b ? a : b; }

/* p[0], p[stride], ... p[(n - 1) stride] (n <= 16), the other lanes fill. */
static inline kiln_v16 kiln_v16_load_strided(const float *p, int64_t stride, int64_t n,
                                             float fill) {
  if (stride == 1 && n == KILN_VL)
    return kiln_v16_load(p);
  kiln_v16 v = kiln_v16_splat(fill);
  for (int64_t k = 0; k < n; ++k)
    v[k] = p[k * stride];
  return v;
}

static inline void kiln_v16_store_strided(float *p, int64_t stride, kiln_v16 v, int64_t n) {
  for (int64_t k = 0; k < n; ++k)
    p[k * stride] = v[k];
}

#endif /* KILN_VEC_H */
