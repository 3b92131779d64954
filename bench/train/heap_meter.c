/* LD_PRELOAD heap meter for bench/train.sh: counts the bytes live on the C heap
 * (malloc_usable_size of every block) and the most live since the last reset,
 * so a step's true peak, transients included, can be read on both sides. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static _Atomic long long live_bytes, peak_bytes;

static void *counted(void *block) {
  if (block) {
    long long now = atomic_fetch_add(&live_bytes, (long long)malloc_usable_size(block)) +
                    (long long)malloc_usable_size(block);
    long long peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
  }
  return block;
}
static void uncount(void *block) {
  if (block)
    atomic_fetch_sub(&live_bytes, (long long)malloc_usable_size(block));
}

void *malloc(size_t n) { return counted(__libc_malloc(n)); }
void *calloc(size_t n, size_t m) { return counted(__libc_calloc(n, m)); }
void free(void *p) {
  uncount(p);
  __libc_free(p);
}
void *realloc(void *p, size_t n) {
  uncount(p); /* counted again below, at its new size */
  void *q = __libc_realloc(p, n);
  if (!q && n) {
    counted(p);
    return NULL;
  }
  return counted(q);
}
void *memalign(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
int posix_memalign(void **out, size_t a, size_t n) {
  if (a < sizeof(void *) || (a & (a - 1)))
    return EINVAL;
  void *p = counted(__libc_memalign(a, n));
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}

/* Starts a measure: the peak from here on, above what is live now. */
long long heap_meter_reset(void) {
  long long now = atomic_load(&live_bytes);
  atomic_store(&peak_bytes, now);
  return now;
}
long long heap_meter_live(void) { return atomic_load(&live_bytes); }
long long heap_meter_peak(void) { return atomic_load(&peak_bytes); }
