/* Every heap allocation of the runtime goes through these, so that a test
 * can make any one of them fail and check that the failure becomes a status
 * and leaks nothing (docs/reliability.md, fault injection).
 *
 * In the runtime that generated libraries link they are libc's functions,
 * inlined. The static library the unit tests use is built with
 * KILN_FAULT_INJECTION, where they count and can fail on request. */
#ifndef KILN_ALLOC_H
#define KILN_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef KILN_FAULT_INJECTION

void *kiln_malloc(size_t size);
void *kiln_calloc(size_t count, size_t size);
void *kiln_realloc(void *p, size_t size);
void *kiln_aligned_alloc(size_t alignment, size_t size);
void kiln_free(void *p);

/* For allocators outside libc (large_alloc.c's mmap): true when this
 * allocation must fail; otherwise counts it live. */
bool kiln_fault_allocate(void);
/* Counts one such allocation released. */
void kiln_fault_release(void);

/* The test hooks. The n-th allocation from now (0: the next) fails; after
 * it every one succeeds, or with `sticky` every one fails too (a fallback
 * allocation then fails as well). n < 0: none fails. */
void kiln_fault_fail_nth(int64_t n, bool sticky);
/* Whether the requested failure happened. */
bool kiln_fault_triggered(void);
/* Allocations made and not yet released, over the whole process. */
int64_t kiln_fault_live(void);

#else

static inline void *kiln_malloc(size_t size) { return malloc(size); }
static inline void *kiln_calloc(size_t count, size_t size) { return calloc(count, size); }
static inline void *kiln_realloc(void *p, size_t size) { return realloc(p, size); }
static inline void *kiln_aligned_alloc(size_t alignment, size_t size) {
  return aligned_alloc(alignment, size);
}
static inline void kiln_free(void *p) { free(p); }
static inline bool kiln_fault_allocate(void) { return false; }
static inline void kiln_fault_release(void) {}

#endif

#ifdef __cplusplus
}
#endif

#endif /* KILN_ALLOC_H */
