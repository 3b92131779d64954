/* MLIR ranked memref descriptors, as the generated entries receive them:
 * { void *allocated; void *aligned; int64_t offset; int64_t sizes[rank];
 *   int64_t strides[rank]; } (docs/abi.md). */
#ifndef KILN_MEMREF_H
#define KILN_MEMREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_strides[]; /* sizes[rank], then strides[rank] */
} kiln_memref;

/* Bytes of a descriptor of this rank; a multiple of 8, so descriptors can be
 * packed back to back in an 8-byte-aligned buffer. */
static inline size_t kiln_memref_size(int32_t rank) {
  return sizeof(kiln_memref) + 2 * (size_t)rank * sizeof(int64_t);
}

/* Fills d for dense row-major data of the given sizes (offset 0). False when
 * a stride overflows int64. */
static inline bool kiln_memref_init(kiln_memref *d, void *data, int32_t rank,
                                    const int64_t *sizes) {
  int64_t stride = 1;
  d->allocated = data;
  d->aligned = data;
  d->offset = 0;
  for (int32_t i = rank - 1; i >= 0; --i) {
    d->sizes_strides[i] = sizes[i];
    d->sizes_strides[rank + i] = stride;
    if (__builtin_mul_overflow(stride, sizes[i], &stride))
      return false;
  }
  return true;
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_MEMREF_H */
