/* kiln_rt_cache_*: the key/value cache behind NAME_cache_* (runtime.h). The
 * cache is position-major, [max_seq, rest], so its first T positions are one
 * dense `past` tensor and a step's `present` is written right after them by
 * the entry itself: nothing is copied between calls. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "checked.h"
#include "model.h"

/* "kilncach": tells a live cache from a destroyed one or a stray pointer. */
#define KILN_CACHE_MAGIC UINT64_C(0x6b696c6e63616368)

struct kiln_cache {
  uint64_t magic;
  const kiln_model *model;
  int32_t prefill, decode;
  int32_t batch_symbol; /* index of the batch among decode_step's symbols */
  int64_t batch, capacity, length;
  int64_t position_elems; /* floats of one position, the batch bound */
  int64_t *positions;     /* batch copies of the next position */
  float *data;            /* capacity * position_elems */
};

/* The symbol index of dim d, or -1 if d is static. */
static int32_t symbol_of(int64_t d) { return d < 0 ? KILN_DIM_SYMBOL_INDEX(d) : -1; }

/* The batch: the one symbolic dim of a cache tensor after its positions. */
static int32_t batch_symbol_of(const kiln_tensor_spec *t) {
  for (int32_t i = 1; i < t->rank; ++i)
    if (t->dims[i] < 0)
      return symbol_of(t->dims[i]);
  return -1;
}

/* Checks model and cache belong together; a message on the model if not. */
static int32_t check_pair(kiln_model *m, const kiln_cache *c, const char *what) {
  if (!m)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "%s: the model is NULL", what);
  if (!c || c->magic != KILN_CACHE_MAGIC)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "%s: the cache is NULL or was destroyed", what);
  if (c->model != m)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "%s: the cache belongs to another model handle", what);
  return KILN_OK;
}

int32_t kiln_rt_cache_create(kiln_model *m, int32_t prefill, int32_t decode, int64_t batch,
                             int64_t max_seq, kiln_cache **out) {
  if (out)
    *out = NULL;
  if (!m)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "cache_create: the model is NULL");
  if (!out)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_create: the cache pointer is NULL");
  if (batch < 1 || max_seq < 1)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_create: batch and max_seq must be >= 1, got %lld and %lld",
                       (long long)batch, (long long)max_seq);
  if (prefill < 0 || prefill >= m->manifest.num_entries || decode < 0 ||
      decode >= m->manifest.num_entries)
    return kiln_errorf(&m->error, KILN_ERROR_INTERNAL, "cache_create: bad entry indices");
  /* The compiler checked the pair's shapes (codegen/ModelInterface.cpp):
   * decode_step takes (tokens, positions, past[T, rest]). */
  const kiln_entry_spec *e = &m->manifest.entries[decode];
  if (e->num_inputs != 3 || e->num_outputs != 2 || e->num_symbols != 2)
    return kiln_errorf(&m->error, KILN_ERROR_INTERNAL, "cache_create: unexpected decode_step");
  const kiln_tensor_spec *past = &e->inputs[2];
  int32_t batch_symbol = batch_symbol_of(past);
  int64_t elems = 1;
  bool ok = batch_symbol >= 0;
  for (int32_t i = 1; ok && i < past->rank; ++i)
    ok = kiln_mul_i64(elems, past->dims[i] >= 0 ? past->dims[i] : batch, &elems);
  int64_t bytes = 0;
  ok = ok && kiln_mul_i64(elems, max_seq, &bytes) && kiln_mul_i64(bytes, 4, &bytes) &&
       (uint64_t)bytes <= SIZE_MAX - 64;
  if (!ok)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_create: a cache of %lld positions for a batch of %lld would be "
                       "larger than 2^63 bytes",
                       (long long)max_seq, (long long)batch);
  kiln_cache *c = kiln_calloc(1, sizeof *c);
  if (c) {
    c->positions = kiln_malloc((size_t)batch * sizeof *c->positions);
    c->data = kiln_aligned_alloc(64, ((size_t)bytes + 63) / 64 * 64);
  }
  if (!c || !c->positions || !c->data) {
    if (c) {
      kiln_free(c->positions);
      kiln_free(c->data);
    }
    kiln_free(c);
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY,
                       "cache_create: out of memory for %lld bytes of cache",
                       (long long)bytes);
  }
  c->magic = KILN_CACHE_MAGIC;
  c->model = m;
  c->prefill = prefill;
  c->decode = decode;
  c->batch_symbol = batch_symbol;
  c->batch = batch;
  c->capacity = max_seq;
  c->position_elems = elems;
  *out = c;
  return KILN_OK;
}

void kiln_rt_cache_destroy(kiln_cache *c) {
  if (!c || c->magic != KILN_CACHE_MAGIC)
    return;
  c->magic = 0;
  kiln_free(c->positions);
  kiln_free(c->data);
  kiln_free(c);
}

void kiln_rt_cache_reset(kiln_cache *c) {
  if (c && c->magic == KILN_CACHE_MAGIC)
    c->length = 0;
}

int64_t kiln_rt_cache_length(const kiln_cache *c) {
  return c && c->magic == KILN_CACHE_MAGIC ? c->length : -1;
}

int32_t kiln_rt_cache_prefill(kiln_model *m, kiln_cache *c, const int64_t *dims,
                              const void *const *inputs, void *const *outputs) {
  int32_t status = check_pair(m, c, "cache_prefill");
  if (status != KILN_OK)
    return status;
  if (c->length != 0)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_prefill: the cache already holds %lld positions; prefill starts "
                       "a sequence at position 0 (reset the cache first)",
                       (long long)c->length);
  const kiln_entry_spec *e = &m->manifest.entries[c->prefill];
  const kiln_tensor_spec *present = &e->outputs[e->num_outputs - 1];
  int32_t batch_symbol = batch_symbol_of(present);
  /* The batch is the cache's; the other symbols are the caller's. */
  int64_t bound[16];
  if (e->num_symbols > 16 || e->num_outputs > 16 || batch_symbol < 0)
    return kiln_errorf(&m->error, KILN_ERROR_INTERNAL, "cache_prefill: unexpected entry shape");
  for (int32_t k = 0, next = 0; k < e->num_symbols; ++k) {
    if (k == batch_symbol) {
      bound[k] = c->batch;
      continue;
    }
    if (!dims)
      return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                         "cache_prefill: the dims array is NULL");
    bound[k] = dims[next++];
  }
  int64_t filled = present->dims[0] >= 0 ? present->dims[0]
                                         : bound[symbol_of(present->dims[0])];
  if (filled > c->capacity)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_prefill: a prompt of %lld positions does not fit the cache's "
                       "max_seq of %lld",
                       (long long)filled, (long long)c->capacity);
  void *all_outputs[16];
  for (int32_t i = 0; i + 1 < e->num_outputs; ++i)
    all_outputs[i] = outputs ? outputs[i] : NULL;
  all_outputs[e->num_outputs - 1] = c->data;
  status = kiln_rt_invoke(m, c->prefill, bound, inputs, all_outputs);
  if (status == KILN_OK)
    c->length = filled;
  return status;
}

int32_t kiln_rt_cache_decode_step(kiln_model *m, kiln_cache *c, const int64_t *tokens,
                                  float *logits) {
  int32_t status = check_pair(m, c, "cache_decode_step");
  if (status != KILN_OK)
    return status;
  if (c->length == 0)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_decode_step: the cache is empty; run prefill first");
  if (c->length >= c->capacity)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "cache_decode_step: the cache is full: position %lld is past its max_seq "
                       "of %lld",
                       (long long)c->length, (long long)c->capacity);
  for (int64_t b = 0; b < c->batch; ++b)
    c->positions[b] = c->length;
  int64_t bound[2];
  bound[c->batch_symbol] = c->batch;
  bound[1 - c->batch_symbol] = c->length;
  const void *inputs[3] = {tokens, c->positions, c->data};
  void *outputs[2] = {logits, c->data + c->length * c->position_elems};
  status = kiln_rt_invoke(m, c->decode, bound, inputs, outputs);
  if (status == KILN_OK)
    ++c->length;
  return status;
}
