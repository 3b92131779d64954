/* Overflow-checked int64 arithmetic: every size the runtime computes from a
 * shape, a file header or a caller's dims goes through these. */
#ifndef KILN_CHECKED_H
#define KILN_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* *r = a * b; false when it overflows. */
static inline bool kiln_mul_i64(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_mul_overflow(a, b, r);
}

/* *r = a + b; false when it overflows. */
static inline bool kiln_add_i64(int64_t a, int64_t b, int64_t *r) {
  return !__builtin_add_overflow(a, b, r);
}

#endif /* KILN_CHECKED_H */
