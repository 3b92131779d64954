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

#endif /* KILN_VEC_H */
