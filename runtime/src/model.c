/* Model lifetime: create, destroy and last_error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "gpu.h"
#include "large_alloc.h"
#include "memref.h"
#include "model.h"
#include "packed_weights.h"
#include "parallel.h"
#include "prepare.h"
#include "train.h"
#include "warm_up.h"

/* The kernels only read parameters; the descriptor type is not const. */
static void *unconst(const void *p) { return (void *)(uintptr_t)p; }

/* Each parameter's descriptor, over data[i]: the mapped weights, or their
 * copies on the GPU. */
static int32_t build_param_descriptors(kiln_model *m, const void *const *data) {
  int32_t n = m->manifest.num_params;
  if (n == 0)
    return KILN_OK;
  size_t bytes = 0;
  for (int32_t i = 0; i < n; ++i)
    bytes += kiln_memref_size(m->manifest.params[i].rank);
  m->param_block = kiln_malloc(bytes);
  m->param_descriptors = kiln_malloc((size_t)n * sizeof *m->param_descriptors);
  if (!m->param_block || !m->param_descriptors)
    return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory building parameter descriptors");
  unsigned char *next = m->param_block;
  for (int32_t i = 0; i < n; ++i) {
    const kiln_tensor_spec *p = &m->manifest.params[i];
    kiln_memref *d = (kiln_memref *)(void *)next;
    /* Cannot overflow: kiln_manifest_parse checked the parameter sizes. */
    kiln_memref_init(d, unconst(data[i]), p->rank, p->dims);
    m->param_descriptors[i] = d;
    next += kiln_memref_size(p->rank);
  }
  return KILN_OK;
}

/* The weights of a model that never updates them (no train entries) are
 * packed once for the native matmul kernels, on their first call. Best effort:
 * a range left unregistered is packed per call. */
static void register_constant_weights(kiln_model *m) {
  for (int32_t i = 0; i < m->manifest.num_entries; ++i)
    if (m->manifest.entries[i].train)
      return;
  for (int32_t i = 0; i < m->manifest.num_params && i < m->weights.num_params; ++i)
    if (!kiln_packed_weights_add(m, m->weights.data[i],
                                 kiln_weights_param_bytes(&m->manifest.params[i])))
      return;
}

/* A model compiled for a GPU: the driver opened, the program loaded and the
 * weights copied there once; the parameters' descriptors point at them. */
static int32_t open_gpu(kiln_model *m, const kiln_gpu_program *program) {
  int32_t status = kiln_gpu_open(program, &m->gpu);
  int32_t n = m->manifest.num_params;
  if (status != KILN_OK || n == 0)
    return status != KILN_OK ? status : build_param_descriptors(m, NULL);
  size_t *bytes = kiln_malloc((size_t)n * sizeof *bytes);
  void **device = kiln_malloc((size_t)n * sizeof *device);
  if (!bytes || !device)
    status = kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory creating the model");
  for (int32_t i = 0; status == KILN_OK && i < n; ++i)
    bytes[i] = kiln_weights_param_bytes(&m->manifest.params[i]);
  if (status == KILN_OK)
    status = kiln_gpu_upload(m->gpu, n, (const void *const *)m->weights.data, bytes, device);
  if (status == KILN_OK)
    status = build_param_descriptors(m, (const void *const *)device);
  kiln_free(bytes);
  kiln_free(device);
  return status;
}

static void free_model(kiln_model *m) {
  kiln_gpu_close(m->gpu);
  kiln_packed_weights_release(m);
  kiln_train_states_free(m);
  kiln_weights_free(&m->weights);
  kiln_manifest_free(&m->manifest);
  kiln_free(m->entries);
  kiln_free(m->param_descriptors);
  kiln_free(m->param_block);
  kiln_large_free(m->arena, m->arena_capacity);
  kiln_free(m);
}

int32_t kiln_rt_create(const char *manifest_json, size_t manifest_len,
                       const kiln_entry_fn *entries, int32_t num_entries,
                       const char *weights_path, const void *options, kiln_model **out) {
  return kiln_rt_create_embedded(manifest_json, manifest_len, entries, num_entries, weights_path,
                                 NULL, 0, NULL, options, out);
}

/* The weights: the file at path, else the library's own. */
static int32_t load_weights(kiln_model *m, const char *path, const void *embedded,
                            size_t embedded_size) {
  if (path)
    return kiln_weights_load(&m->manifest, path, &m->weights, NULL);
  char label[96];
  snprintf(label, sizeof label, "compiled into model %.64s", m->manifest.model);
  return kiln_weights_load_memory(&m->manifest, embedded, embedded_size, label, &m->weights, NULL);
}

int32_t kiln_rt_create_embedded(const char *manifest_json, size_t manifest_len,
                                const kiln_entry_fn *entries, int32_t num_entries,
                                const char *weights_path, const void *embedded,
                                size_t embedded_size, const kiln_gpu_program *gpu,
                                const void *options, kiln_model **out) {
  if (!out)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "create: the model pointer is NULL");
  *out = NULL;
  if (num_entries < 0 || (!entries && num_entries > 0))
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT,
                       "create: the entry table is NULL or has a negative size");
  const kiln_options *opts = options;
  if (opts && opts->num_threads < 0)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT,
                       "create: num_threads must be >= 0 (0: the runtime's choice), got %d",
                       (int)opts->num_threads);
  if (!weights_path && !embedded)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT,
                       "no weights file given (the library has no weights compiled in: "
                       "kilnc --embed-weights puts them there)");
  if (!manifest_json)
    return kiln_errorf(NULL, KILN_ERROR_INTERNAL,
                       "internal error: no model manifest (a compiler bug)");

  kiln_model *m = kiln_calloc(1, sizeof *m);
  if (!m)
    return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory creating the model");
  atomic_flag_clear(&m->arena_busy);
  kiln_error_slot_init(&m->error);
  /* 0: one thread per CPU this process may run on; more than that is capped
   * there, since the pinned workers would only take turns on the same CPUs. */
  int32_t cpus = kiln_available_cpus();
  m->num_threads = opts && opts->num_threads > 0 && opts->num_threads < cpus ? opts->num_threads
                                                                             : cpus;

  int32_t status = kiln_manifest_parse(manifest_json, manifest_len, &m->manifest, NULL);
  if (status == KILN_OK && m->manifest.num_entries != num_entries)
    status = kiln_errorf(NULL, KILN_ERROR_INTERNAL,
                         "internal error: the manifest of model '%s' lists %d entries but "
                         "the library passed %d (a compiler bug)",
                         m->manifest.model, (int)m->manifest.num_entries, (int)num_entries);
  for (int32_t i = 0; status == KILN_OK && i < num_entries; ++i)
    if (!entries[i])
      status = kiln_errorf(NULL, KILN_ERROR_INTERNAL,
                           "internal error: entry '%s' of model '%s' has no code "
                           "(a compiler bug)",
                           m->manifest.entries[i].name, m->manifest.model);
  if (status == KILN_OK && num_entries > 0) {
    m->entries = kiln_malloc((size_t)num_entries * sizeof *m->entries);
    if (m->entries)
      memcpy(m->entries, entries, (size_t)num_entries * sizeof *m->entries);
    else
      status = kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory creating the model");
  }
  if (status == KILN_OK)
    status = load_weights(m, weights_path, embedded, embedded_size);
  if (status == KILN_OK && gpu) {
    status = open_gpu(m, gpu);
  } else if (status == KILN_OK) {
    status = build_param_descriptors(m, (const void *const *)m->weights.data);
    if (status == KILN_OK)
      status = kiln_train_states_create(m);
  }
  if (status == KILN_OK && !gpu) {
    register_constant_weights(m);
    kiln_prepare_kernels(&m->manifest, m->weights.data, m->num_threads);
    kiln_warm_up(m);
  }
  if (status != KILN_OK) {
    free_model(m);
    return status;
  }
  *out = m;
  return KILN_OK;
}

void kiln_rt_destroy(kiln_model *model) {
  if (model)
    free_model(model);
}

const char *kiln_rt_last_error(const kiln_model *model) {
  return kiln_error_text(model ? &model->error : NULL);
}
