/* Matching the weights file against the manifest's parameters, and making
 * every parameter's data aligned to its element size. */
#include "weights.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kiln/runtime.h"

/* Copies of misaligned tensors get a cache-line alignment, like the arena. */
#define KILN_COPY_ALIGN 64

static bool same_type(const kiln_tensor_spec *p, const kiln_st_tensor *t) {
  if (p->dtype != t->dtype || p->rank != t->rank)
    return false;
  for (int32_t i = 0; i < p->rank; ++i)
    if (p->dims[i] != t->shape[i])
      return false;
  return true;
}

/* Checks names, dtypes and shapes; the first problem wins. */
static int32_t match(const kiln_manifest *m, const char *path, const kiln_weights *w,
                     kiln_error_slot *err) {
  const kiln_st_file *f = &w->file;
  char want[256], have[256];
  bool *used = f->count ? kiln_calloc(f->count, sizeof *used) : NULL;
  if (f->count && !used)
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory while checking weights file '%s'", path);
  int32_t status = KILN_OK;
  for (int32_t i = 0; status == KILN_OK && i < m->num_params; ++i) {
    const kiln_tensor_spec *p = &m->params[i];
    const kiln_st_tensor *t = kiln_st_find(f, p->name);
    kiln_format_type(want, sizeof want, p->dtype, p->rank, p->dims);
    if (!t) {
      status = kiln_errorf(err, KILN_ERROR_WEIGHTS_MISMATCH,
                           "parameter '%s' (%s) is missing from weights file '%s'", p->name,
                           want, path);
    } else if (!same_type(p, t)) {
      kiln_format_type(have, sizeof have, t->dtype, t->rank, t->shape);
      status = kiln_errorf(err, KILN_ERROR_WEIGHTS_MISMATCH,
                           "parameter '%s': expected %s, the weights file '%s' has %s",
                           p->name, want, path, have);
    } else {
      used[t - f->tensors] = true;
    }
  }
  for (size_t i = 0; status == KILN_OK && i < f->count; ++i) {
    if (used[i])
      continue;
    const kiln_st_tensor *t = &f->tensors[i];
    kiln_format_type(have, sizeof have, t->dtype, t->rank, t->shape);
    status = kiln_errorf(err, KILN_ERROR_WEIGHTS_MISMATCH,
                         "unexpected tensor '%s' (%s) in weights file '%s': it is not a "
                         "parameter of model '%s'",
                         t->name, have, path, m->model);
  }
  kiln_free(used);
  return status;
}

/* A model that trains rewrites its weights: they are read into memory it
 * owns rather than used where they lie (a private file mapping would copy each
 * page on its first write; a library's read-only data cannot be written). */
static bool model_trains(const kiln_manifest *m) {
  for (int32_t i = 0; i < m->num_entries; ++i)
    if (m->entries[i].train)
      return true;
  return false;
}

int32_t kiln_weights_load(const kiln_manifest *m, const char *path, kiln_weights *out,
                          kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  kiln_st_file file;
  int32_t status =
      model_trains(m) ? kiln_st_open_copy(path, &file, err) : kiln_st_open(path, &file, err);
  if (status != KILN_OK)
    return status;
  return kiln_weights_bind(m, &file, path, out, err);
}

int32_t kiln_weights_load_memory(const kiln_manifest *m, const unsigned char *bytes, size_t size,
                                 const char *label, kiln_weights *out, kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  kiln_st_file file;
  int32_t status = kiln_st_open_memory(bytes, size, model_trains(m), label, &file, err);
  if (status != KILN_OK)
    return status;
  return kiln_weights_bind(m, &file, label, out, err);
}

int32_t kiln_weights_bind(const kiln_manifest *m, kiln_st_file *file, const char *path,
                          kiln_weights *out, kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  out->file = *file;
  memset(file, 0, sizeof *file);
  int32_t status = match(m, path, out, err);
  if (status != KILN_OK) {
    kiln_weights_free(out);
    return status;
  }

  out->num_params = m->num_params;
  if (m->num_params > 0 &&
      (!(out->data = kiln_calloc((size_t)m->num_params, sizeof *out->data)) ||
       !(out->copies = kiln_calloc((size_t)m->num_params, sizeof *out->copies)))) {
    kiln_weights_free(out);
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory while loading weights file '%s'", path);
  }
  for (int32_t i = 0; i < m->num_params; ++i) {
    const kiln_st_tensor *t = kiln_st_find(&out->file, m->params[i].name);
    size_t bytes = (size_t)(t->end - t->begin);
    out->data[i] = t->data;
    /* The mapping is page-aligned (embedded weights are placed so that their
     * data section is), so only the header length and the offsets decide;
     * writers usually pad to 8 bytes, making every tensor usable in place. */
    if (bytes == 0 || (uintptr_t)t->data % (uintptr_t)kiln_dtype_size(t->dtype) == 0)
      continue;
    size_t rounded = (bytes + KILN_COPY_ALIGN - 1) / KILN_COPY_ALIGN * KILN_COPY_ALIGN;
    void *copy = rounded >= bytes ? kiln_aligned_alloc(KILN_COPY_ALIGN, rounded) : NULL;
    if (!copy) {
      kiln_weights_free(out);
      return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                         "out of memory copying misaligned parameter '%s' (%zu bytes) "
                         "from weights file '%s'",
                         m->params[i].name, bytes, path);
    }
    memcpy(copy, t->data, bytes);
    out->copies[i] = copy;
    out->data[i] = copy;
  }
  return KILN_OK;
}

void kiln_weights_free(kiln_weights *w) {
  for (int32_t i = 0; w->copies && i < w->num_params; ++i)
    kiln_free(w->copies[i]);
  kiln_free(w->copies);
  kiln_free(w->data);
  kiln_st_close(&w->file);
  memset(w, 0, sizeof *w);
}

size_t kiln_weights_param_bytes(const kiln_tensor_spec *p) {
  size_t bytes = (size_t)kiln_dtype_size(p->dtype);
  for (int32_t d = 0; d < p->rank; ++d)
    bytes *= (size_t)p->dims[d];
  return bytes;
}
