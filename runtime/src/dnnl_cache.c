/* The oneDNN engine, primitive cache and execution (dnnl_cache.h). */
#include "dnnl_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kernels.h"
#include "parallel.h"
#include "prepare.h"

int omp_get_max_threads(void);
void omp_set_num_threads(int n);

/* Entries are never evicted below the cap; past it a problem still runs,
 * with a primitive made and destroyed for the call. */
#define CACHE_CAP 512

typedef struct cached_primitive {
  kiln_dnnl_create_fn create;
  void *key;
  size_t key_size;
  dnnl_primitive_t primitive;
} cached_primitive;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_primitive cache[CACHE_CAP];
static int32_t cache_size;
static dnnl_engine_t engine;

static dnnl_engine_t engine_locked(void) {
  if (!engine && dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
    engine = NULL;
  return engine;
}

/* The cached primitive for (create, key), made on first use. When the cache
 * is full the primitive is made for this call only and *owned is set: the
 * caller destroys it. NULL when oneDNN cannot make one. */
static dnnl_primitive_t find_primitive(kiln_dnnl_create_fn create, const void *key, size_t key_size,
                                       bool *owned) {
  *owned = false;
  pthread_mutex_lock(&cache_lock);
  dnnl_primitive_t primitive = NULL;
  if (engine_locked()) {
    for (int32_t i = 0; i < cache_size && !primitive; ++i)
      if (cache[i].create == create && cache[i].key_size == key_size &&
          memcmp(cache[i].key, key, key_size) == 0)
        primitive = cache[i].primitive;
    if (!primitive && (primitive = create(key, engine))) {
      void *copy = cache_size < CACHE_CAP ? kiln_malloc(key_size) : NULL;
      if (copy) {
        memcpy(copy, key, key_size);
        cache[cache_size++] = (cached_primitive){create, copy, key_size, primitive};
      } else {
        *owned = true;
      }
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return primitive;
}

int32_t kiln_dnnl_cache_size(void) {
  pthread_mutex_lock(&cache_lock);
  int32_t size = cache_size;
  pthread_mutex_unlock(&cache_lock);
  return size;
}

kiln_dnnl_tensor kiln_dnnl_tensor_of(const kiln_memref *m, int64_t rank, float **data) {
  kiln_dnnl_tensor t;
  memset(&t, 0, sizeof t);
  t.rank = (int32_t)rank;
  for (int64_t i = 0; i < rank; ++i) {
    t.dims[i] = m->sizes_strides[i];
    t.strides[i] = m->sizes_strides[rank + i];
  }
  *data = (float *)m->aligned + m->offset;
  return t;
}

dnnl_primitive_t kiln_dnnl_make_primitive(const void *op_desc, const_dnnl_primitive_attr_t attr,
                                          dnnl_engine_t engine) {
  /* A user-managed scratchpad: with oneDNN's own, a primitive may only run
   * on the thread that made it, one call at a time, and the cache shares
   * primitives between every thread and model handle. */
  dnnl_primitive_attr_t own = NULL;
  dnnl_status_t status = attr ? dnnl_primitive_attr_clone(&own, attr)
                              : dnnl_primitive_attr_create(&own);
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t primitive = NULL;
  if (status == dnnl_success &&
      dnnl_primitive_attr_set_scratchpad_mode(own, dnnl_scratchpad_mode_user) == dnnl_success &&
      dnnl_primitive_desc_create(&pd, op_desc, own, engine, NULL) == dnnl_success &&
      dnnl_primitive_create(&primitive, pd) != dnnl_success)
    primitive = NULL;
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  if (own)
    dnnl_primitive_attr_destroy(own);
  return primitive;
}

bool kiln_dnnl_describe(dnnl_memory_desc_t *md, const kiln_dnnl_tensor *t) {
  dnnl_dims_t dims, strides;
  for (int32_t i = 0; i < t->rank; ++i) {
    dims[i] = t->dims[i];
    /* oneDNN rejects a zero stride; a size-1 dim's stride is irrelevant. */
    strides[i] = t->dims[i] == 1 && t->strides[i] == 0 ? 1 : t->strides[i];
  }
  return dnnl_memory_desc_init_by_strides(md, t->rank, dims, dnnl_f32, strides) == dnnl_success;
}

/* Each thread's scratchpad for the primitives it executes, grown to the
 * largest asked for and freed when the thread ends. */
typedef struct scratchpad {
  void *data;
  size_t size;
} scratchpad;

static pthread_key_t scratchpad_key;
static pthread_once_t scratchpad_once = PTHREAD_ONCE_INIT;

static void free_scratchpad(void *p) {
  scratchpad *s = p;
  kiln_free(s->data);
  kiln_free(s);
}

static void make_scratchpad_key(void) { pthread_key_create(&scratchpad_key, free_scratchpad); }

/* This thread's scratchpad of at least size bytes; NULL when out of memory. */
static void *thread_scratchpad(size_t size) {
  pthread_once(&scratchpad_once, make_scratchpad_key);
  scratchpad *s = pthread_getspecific(scratchpad_key);
  if (!s) {
    if (!(s = kiln_calloc(1, sizeof *s)) || pthread_setspecific(scratchpad_key, s) != 0) {
      kiln_free(s);
      return NULL;
    }
  }
  if (s->size < size) {
    size_t rounded = (size + 4095) / 4096 * 4096;
    void *grown = kiln_aligned_alloc(64, rounded);
    if (!grown)
      return NULL;
    kiln_free(s->data);
    s->data = grown;
    s->size = rounded;
  }
  return s->data;
}

#define MAX_ARGS 8

/* Binds args to primitive (no copies), with this thread's scratchpad, and
 * executes it. */
static bool execute(dnnl_primitive_t primitive, const kiln_dnnl_arg *args, int count,
                    int32_t threads) {
  /* Set under cache_lock when this thread found or made the primitive. */
  dnnl_engine_t e = engine;
  if (count > MAX_ARGS)
    return false;
  dnnl_exec_arg_t exec_args[MAX_ARGS + 1];
  dnnl_memory_t memories[MAX_ARGS + 1] = {NULL};
  bool ok = true;
  for (int i = 0; i < count && ok; ++i) {
    dnnl_memory_desc_t md;
    ok = kiln_dnnl_describe(&md, args[i].tensor) &&
         dnnl_memory_create(&memories[i], &md, e, args[i].data) == dnnl_success;
    exec_args[i] = (dnnl_exec_arg_t){args[i].index, memories[i]};
  }
  const_dnnl_primitive_desc_t pd = NULL;
  const dnnl_memory_desc_t *scratch_md = NULL;
  int num_args = count;
  ok = ok && dnnl_primitive_get_primitive_desc(primitive, &pd) == dnnl_success &&
       (scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
  size_t scratch_size = ok ? dnnl_memory_desc_get_size(scratch_md) : 0;
  if (scratch_size > 0) {
    void *scratch = thread_scratchpad(scratch_size);
    ok = scratch && dnnl_memory_create(&memories[count], scratch_md, e, scratch) == dnnl_success;
    exec_args[num_args++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, memories[count]};
  }
  dnnl_stream_t stream = NULL;
  ok = ok && dnnl_stream_create(&stream, e, dnnl_stream_default_flags) == dnnl_success;
  if (ok) {
    /* oneDNN sizes its parallel regions by this thread's OpenMP setting. */
    int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    kiln_bind_threads(threads);
    ok = dnnl_primitive_execute(primitive, stream, num_args, exec_args) == dnnl_success &&
         dnnl_stream_wait(stream) == dnnl_success;
    omp_set_num_threads(previous);
  }
  if (stream)
    dnnl_stream_destroy(stream);
  for (int i = 0; i <= count; ++i)
    if (memories[i])
      dnnl_memory_destroy(memories[i]);
  return ok;
}

static atomic_long fallbacks;

void kiln_dnnl_count_fallback(void) { atomic_fetch_add(&fallbacks, 1); }

long kiln_rt_dnnl_fallbacks(void) { return atomic_load(&fallbacks); }

bool kiln_dnnl_run(kiln_dnnl_create_fn create, const void *key, size_t key_size,
                   const kiln_dnnl_arg *args, int count, int32_t threads) {
  bool owned;
  dnnl_primitive_t primitive = find_primitive(create, key, key_size, &owned);
  bool done = kiln_prepare_only() || (primitive && execute(primitive, args, count, threads));
  if (owned)
    dnnl_primitive_destroy(primitive);
  return done;
}
