/* Counting, failable allocation for the unit tests (alloc.h). */
#include "alloc.h"

#ifdef KILN_FAULT_INJECTION

#include <stdatomic.h>

static atomic_llong countdown = -1; /* allocations before the one that fails */
static atomic_bool sticky_failure, triggered;
static atomic_llong live;

void kiln_fault_fail_nth(int64_t n, bool sticky) {
  atomic_store(&triggered, false);
  atomic_store(&sticky_failure, sticky);
  atomic_store(&countdown, n);
}

bool kiln_fault_triggered(void) { return atomic_load(&triggered); }

int64_t kiln_fault_live(void) { return atomic_load(&live); }

bool kiln_fault_allocate(void) {
  if (atomic_load(&countdown) >= 0 && atomic_fetch_sub(&countdown, 1) == 0) {
    atomic_store(&triggered, true);
    if (atomic_load(&sticky_failure))
      atomic_store(&countdown, 0);
    return true;
  }
  atomic_fetch_add(&live, 1);
  return false;
}

void kiln_fault_release(void) { atomic_fetch_sub(&live, 1); }

/* Each wrapper counts a successful allocation once (kiln_fault_allocate
 * counts it before libc is asked; a NULL from libc takes it back) and its
 * release once. */
static void *counted(void *p) {
  if (!p)
    kiln_fault_release();
  return p;
}

void *kiln_malloc(size_t size) { return kiln_fault_allocate() ? NULL : counted(malloc(size)); }

void *kiln_calloc(size_t count, size_t size) {
  return kiln_fault_allocate() ? NULL : counted(calloc(count, size));
}

void *kiln_aligned_alloc(size_t alignment, size_t size) {
  return kiln_fault_allocate() ? NULL : counted(aligned_alloc(alignment, size));
}

void *kiln_realloc(void *p, size_t size) {
  if (!p)
    return kiln_malloc(size);
  /* A failed realloc keeps p: nothing changes hands. */
  if (kiln_fault_allocate())
    return NULL;
  kiln_fault_release(); /* the block stays one allocation */
  return realloc(p, size);
}

void kiln_free(void *p) {
  if (p) {
    kiln_fault_release();
    free(p);
  }
}

#else
/* An empty translation unit is not ISO C. */
typedef int kiln_alloc_unused;
#endif
