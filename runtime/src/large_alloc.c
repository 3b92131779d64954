/* kiln_large_alloc: see large_alloc.h. */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include "large_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "alloc.h"

enum { kHugePage = 2 << 20, kSmallAlign = 64 };

void *kiln_large_alloc(size_t bytes) {
  if (bytes < kHugePage) {
    size_t rounded = (bytes + kSmallAlign - 1) / kSmallAlign * kSmallAlign;
    void *p = kiln_aligned_alloc(kSmallAlign, rounded ? rounded : kSmallAlign);
    if (p)
      memset(p, 0, rounded);
    return p;
  }
  if (kiln_fault_allocate())
    return NULL;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    kiln_fault_release();
    return NULL;
  }
  (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: without THP it is only slower */
  return p;
}

void kiln_large_free(void *p, size_t bytes) {
  if (!p)
    return;
  if (bytes < kHugePage)
    kiln_free(p);
  else if (munmap(p, bytes) == 0)
    kiln_fault_release();
}
