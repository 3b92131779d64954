/* The registry of packed weights: see packed_weights.h. A model holds a few
 * hundred packs at most (one per weight matrix), so the lists are scanned
 * rather than hashed: well under a microsecond against a kernel call. */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t with -std=c11 */
#include "packed_weights.h"

#include <pthread.h>

#include "alloc.h"
#include "large_alloc.h"

typedef struct weight_range {
  const void *owner;
  uintptr_t begin, end;
} weight_range;

typedef struct pack {
  const void *owner;
  kiln_packed_key key;
  void *data;
  size_t bytes;
} pack;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static weight_range *ranges;
static pack *packs;
static int64_t num_ranges, num_packs, ranges_capacity, packs_capacity;

/* Room for one more element of `size` bytes in *array. */
static bool reserve(void **array, int64_t *capacity, int64_t count, size_t size) {
  if (count < *capacity)
    return true;
  int64_t grown = *capacity > 0 ? 2 * *capacity : 16;
  void *p = kiln_realloc(*array, (size_t)grown * size);
  if (!p)
    return false;
  *array = p;
  *capacity = grown;
  return true;
}

static bool same_key(const kiln_packed_key *x, const kiln_packed_key *y) {
  return x->b == y->b && x->layout == y->layout && x->nr == y->nr && x->k == y->k && x->n == y->n &&
         x->b_k == y->b_k && x->b_n == y->b_n;
}

static void *find_pack(const kiln_packed_key *key) {
  for (int64_t i = 0; i < num_packs; ++i)
    if (same_key(&packs[i].key, key))
      return packs[i].data;
  return NULL;
}

/* The owner of a range holding [lo, hi), or NULL. */
static const void *owner_of(uintptr_t lo, uintptr_t hi) {
  for (int64_t i = 0; i < num_ranges; ++i)
    if (ranges[i].begin <= lo && hi <= ranges[i].end)
      return ranges[i].owner;
  return NULL;
}

bool kiln_packed_weights_add(const void *owner, const void *begin, size_t bytes) {
  pthread_rwlock_wrlock(&lock);
  bool ok = reserve((void **)&ranges, &ranges_capacity, num_ranges, sizeof *ranges);
  if (ok)
    ranges[num_ranges++] = (weight_range){owner, (uintptr_t)begin, (uintptr_t)begin + bytes};
  pthread_rwlock_unlock(&lock);
  return ok;
}

void kiln_packed_weights_release(const void *owner) {
  pthread_rwlock_wrlock(&lock);
  int64_t kept = 0;
  for (int64_t i = 0; i < num_ranges; ++i)
    if (ranges[i].owner != owner)
      ranges[kept++] = ranges[i];
  num_ranges = kept;
  kept = 0;
  for (int64_t i = 0; i < num_packs; ++i) {
    if (packs[i].owner == owner)
      kiln_large_free(packs[i].data, packs[i].bytes);
    else
      packs[kept++] = packs[i];
  }
  num_packs = kept;
  /* Nothing kept once the last model is gone. */
  if (num_ranges == 0) {
    kiln_free(ranges);
    ranges = NULL;
    ranges_capacity = 0;
  }
  if (num_packs == 0) {
    kiln_free(packs);
    packs = NULL;
    packs_capacity = 0;
  }
  pthread_rwlock_unlock(&lock);
}

const void *kiln_packed_weights_get(const kiln_packed_key *key, size_t bytes, kiln_pack_fn pack_b,
                                    const void *ctx) {
  if (key->k <= 0 || key->n <= 0 || key->b_k < 0 || key->b_n < 0)
    return NULL;
  /* b's extent: both strides are non-negative, so its last element is the
   * farthest. */
  uintptr_t lo = (uintptr_t)key->b;
  uintptr_t hi =
      lo + (uintptr_t)((key->k - 1) * key->b_k + (key->n - 1) * key->b_n + 1) * sizeof(float);
  pthread_rwlock_rdlock(&lock);
  const void *found = find_pack(key);
  const void *owner = found ? NULL : owner_of(lo, hi);
  pthread_rwlock_unlock(&lock);
  if (found || !owner)
    return found;

  /* Packed outside the lock, which calls on other matrices keep taking. */
  void *data = kiln_large_alloc(bytes);
  if (!data)
    return NULL;
  pack_b(ctx, data);
  pthread_rwlock_wrlock(&lock);
  found = find_pack(key); /* a call racing this one packed it first */
  if (!found && reserve((void **)&packs, &packs_capacity, num_packs, sizeof *packs)) {
    packs[num_packs++] = (pack){owner, *key, data, bytes};
    found = data;
    data = NULL;
  }
  pthread_rwlock_unlock(&lock);
  kiln_large_free(data, bytes);
  return found;
}

int64_t kiln_packed_weights_count(const void *owner) {
  pthread_rwlock_rdlock(&lock);
  int64_t count = 0;
  for (int64_t i = 0; i < num_packs; ++i)
    count += packs[i].owner == owner;
  pthread_rwlock_unlock(&lock);
  return count;
}
