/* memrefCopy: the strided copy MLIR's finalize-memref-to-llvm calls for a
 * memref.copy it cannot lower to one memcpy. Same contract as MLIR's
 * CRunnerUtils: both memrefs have the source's shape, offsets and strides are
 * in elements, and any rank (including 0) is allowed. */
#include <stdint.h>
#include <string.h>

#include "kiln/runtime.h"
#include "memref.h"

/* Copies the sub-array starting at dimension dim. Recursion depth is the rank. */
static void copy_dim(int64_t elem_size, int64_t rank, int64_t dim, const int64_t *sizes,
                     const int64_t *src_strides, const int64_t *dst_strides,
                     const char *src, char *dst) {
  int64_t n = sizes[dim];
  int64_t src_step = src_strides[dim] * elem_size;
  int64_t dst_step = dst_strides[dim] * elem_size;
  if (dim + 1 < rank) {
    for (int64_t i = 0; i < n; ++i)
      copy_dim(elem_size, rank, dim + 1, sizes, src_strides, dst_strides,
               src + i * src_step, dst + i * dst_step);
    return;
  }
  if (src_step == elem_size && dst_step == elem_size) {
    memcpy(dst, src, (size_t)(n * elem_size)); /* a contiguous innermost row */
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    memcpy(dst + i * dst_step, src + i * src_step, (size_t)elem_size);
}

void memrefCopy(int64_t elemSize, void *src, void *dst) {
  const kiln_unranked_memref *s = src;
  const kiln_unranked_memref *d = dst;
  const kiln_memref *sd = s->descriptor;
  const kiln_memref *dd = d->descriptor;
  int64_t rank = s->rank;
  const int64_t *sizes = sd->sizes_strides;
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return; /* nothing to copy */
  const char *src_data = (const char *)sd->aligned + sd->offset * elemSize;
  char *dst_data = (char *)dd->aligned + dd->offset * elemSize;
  if (rank == 0) {
    memcpy(dst_data, src_data, (size_t)elemSize);
    return;
  }
  copy_dim(elemSize, rank, 0, sizes, sd->sizes_strides + rank, dd->sizes_strides + rank,
           src_data, dst_data);
}
