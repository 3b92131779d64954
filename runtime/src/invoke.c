/* kiln_rt_invoke: check the caller's arguments, bind the symbolic dims, size
 * and obtain the arena, build the memref descriptors and run the entry. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "checked.h"
#include "gpu.h"
#include "invoke.h"
#include "large_alloc.h"
#include "memref.h"
#include "model.h"
#include "parallel.h"

/* Descriptor scratch up to this size lives on the stack; beyond, malloc. */
#define KILN_STACK_SCRATCH 4096

static void *unconst(const void *p) { return (void *)(uintptr_t)p; }

/* Resolves t's dims with the bound symbols into sizes (when not NULL) and
 * checks that the tensor's byte size and strides fit in int64. */
static int32_t bind_sizes(kiln_model *m, const kiln_entry_spec *e, const kiln_tensor_spec *t,
                          const char *role, const int64_t *dims, int64_t *sizes) {
  int64_t bytes = kiln_dtype_size(t->dtype);
  bool overflow = false;
  for (int32_t i = 0; i < t->rank; ++i) {
    int64_t d = t->dims[i];
    int64_t size = d >= 0 ? d : dims[KILN_DIM_SYMBOL_INDEX(d)];
    if (sizes)
      sizes[i] = size;
    /* Zero dims make numel 0 but not the strides: multiply them all. */
    overflow |= !kiln_mul_i64(bytes, size ? size : 1, &bytes);
  }
  if (overflow)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "%s '%s' of entry '%s' would be larger than 2^63 bytes with these "
                       "symbolic dims",
                       role, t->name, e->name);
  return KILN_OK;
}

int32_t kiln_arena_bytes(kiln_model *m, const kiln_entry_spec *e, const int64_t *dims,
                         int64_t *bytes) {
  if (!kiln_polynomial_eval(&e->arena, dims, bytes) ||
      (uint64_t)*bytes > SIZE_MAX - KILN_ARENA_ALIGN)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the arena of entry '%s' would overflow with these symbolic dims",
                       e->name);
  return KILN_OK;
}

void *kiln_acquire_arena(kiln_model *m, int64_t bytes, bool *shared) {
  /* At least one line, so the kernels always get a valid, aligned pointer. */
  size_t need = ((size_t)bytes + KILN_ARENA_ALIGN - 1) / KILN_ARENA_ALIGN * KILN_ARENA_ALIGN;
  if (need == 0)
    need = KILN_ARENA_ALIGN;
  if (!atomic_flag_test_and_set_explicit(&m->arena_busy, memory_order_acquire)) {
    if (m->arena_capacity < need) {
      kiln_large_free(m->arena, m->arena_capacity);
      m->arena = kiln_large_alloc(need);
      m->arena_capacity = m->arena ? need : 0;
    }
    if (m->arena) {
      *shared = true;
      return m->arena;
    }
    atomic_flag_clear_explicit(&m->arena_busy, memory_order_release);
  }
  *shared = false;
  return kiln_aligned_alloc(KILN_ARENA_ALIGN, need);
}

void kiln_release_arena(kiln_model *m, void *arena, bool shared) {
  if (shared)
    atomic_flag_clear_explicit(&m->arena_busy, memory_order_release);
  else
    kiln_free(arena);
}

/* Checks the pointers in a list of inputs or outputs, and their sizes. */
static int32_t check_tensors(kiln_model *m, const kiln_entry_spec *e, const char *role,
                             int32_t count, const kiln_tensor_spec *specs,
                             const void *const *ptrs, const int64_t *dims) {
  if (count > 0 && !ptrs)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the %s array is NULL but entry '%s' has %d %ss", role, e->name,
                       (int)count, role);
  for (int32_t i = 0; i < count; ++i) {
    if (!ptrs[i])
      return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                         "%s '%s' of entry '%s' is NULL", role, specs[i].name, e->name);
    int32_t status = bind_sizes(m, e, &specs[i], role, dims, NULL);
    if (status != KILN_OK)
      return status;
  }
  return KILN_OK;
}

/* Appends one descriptor per tensor at *next and its address to *ptrs. */
static int32_t build_tensors(kiln_model *m, const kiln_entry_spec *e, const char *role,
                             int32_t count, const kiln_tensor_spec *specs,
                             const void *const *data, const int64_t *dims,
                             unsigned char **next, void ***ptrs) {
  for (int32_t i = 0; i < count; ++i) {
    kiln_memref *d = (kiln_memref *)(void *)*next;
    /* Sizes are bound straight into the descriptor, then strides derived. */
    int32_t status = bind_sizes(m, e, &specs[i], role, dims, d->sizes_strides);
    if (status != KILN_OK)
      return status;
    kiln_memref_init(d, unconst(data[i]), specs[i].rank, d->sizes_strides);
    *(*ptrs)++ = d;
    *next += kiln_memref_size(specs[i].rank);
  }
  return KILN_OK;
}

int32_t kiln_check_dims(kiln_model *m, int32_t entry_index, const int64_t *dims) {
  if (!m)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "the model is NULL");
  if (entry_index < 0 || entry_index >= m->manifest.num_entries)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "entry index %d is out of range: model '%s' has %d entries",
                       (int)entry_index, m->manifest.model, (int)m->manifest.num_entries);
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  if (e->num_symbols > 0 && !dims)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the dims array is NULL but entry '%s' has %d symbolic dims",
                       e->name, (int)e->num_symbols);
  for (int32_t k = 0; k < e->num_symbols; ++k)
    if (dims[k] < 1)
      return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                         "symbolic dim '%s' of entry '%s' must be >= 1, got %lld",
                         e->symbols[k], e->name, (long long)dims[k]);
  return KILN_OK;
}

/* Checks that every value of a class-index input (a cross_entropy's
 * targets) lies in [0, classes), as PyTorch's cross_entropy requires. */
static int32_t check_classes(kiln_model *m, const kiln_entry_spec *e, const kiln_tensor_spec *t,
                             const void *data, const int64_t *dims) {
  int64_t numel = 1;
  for (int32_t d = 0; d < t->rank; ++d)
    numel *= t->dims[d] >= 0 ? t->dims[d] : dims[KILN_DIM_SYMBOL_INDEX(t->dims[d])];
  for (int64_t i = 0; i < numel; ++i) {
    int64_t value = t->dtype == KILN_DTYPE_I64 ? ((const int64_t *)data)[i]
                                               : ((const int32_t *)data)[i];
    if (value < 0 || value >= t->classes)
      return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                         "input '%s' of entry '%s' holds the class index %lld at element %lld, "
                         "outside [0, %lld)",
                         t->name, e->name, (long long)value, (long long)i,
                         (long long)t->classes);
  }
  return KILN_OK;
}

int32_t kiln_check_call(kiln_model *m, int32_t entry_index, const int64_t *dims,
                        const void *const *inputs) {
  int32_t status = kiln_check_dims(m, entry_index, dims);
  if (status != KILN_OK)
    return status;
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  return check_tensors(m, e, "input", e->num_inputs, e->inputs, inputs, dims);
}

int32_t kiln_check_classes(kiln_model *m, int32_t entry_index, const int64_t *dims,
                           const void *const *inputs) {
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  int32_t status = KILN_OK;
  for (int32_t i = 0; status == KILN_OK && i < e->num_inputs; ++i)
    if (e->inputs[i].classes > 0)
      status = check_classes(m, e, &e->inputs[i], inputs[i], dims);
  return status;
}

int32_t kiln_invoke_in(kiln_model *m, int32_t entry_index, const int64_t *dims,
                       const void *const *inputs, void *const *outputs, void *arena,
                       int64_t arena_bytes) {
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  /* Scratch: the pointer array, then the arena, input and output descriptors
   * (parameter descriptors are prebuilt). Ranks and counts come from the
   * manifest, so these sums are small. */
  int32_t num_params = m->manifest.num_params;
  size_t num_ptrs = 1 + (size_t)num_params + (size_t)e->num_inputs + (size_t)e->num_outputs;
  size_t scratch_bytes = num_ptrs * sizeof(void *);
  scratch_bytes = (scratch_bytes + 7) / 8 * 8; /* descriptors are 8-byte aligned */
  scratch_bytes += kiln_memref_size(1);
  for (int32_t i = 0; i < e->num_inputs; ++i)
    scratch_bytes += kiln_memref_size(e->inputs[i].rank);
  for (int32_t i = 0; i < e->num_outputs; ++i)
    scratch_bytes += kiln_memref_size(e->outputs[i].rank);
  _Alignas(16) unsigned char stack_scratch[KILN_STACK_SCRATCH];
  unsigned char *scratch = stack_scratch;
  if (scratch_bytes > sizeof stack_scratch && !(scratch = kiln_malloc(scratch_bytes)))
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory calling entry '%s'", e->name);

  void **descriptors = (void **)(void *)scratch;
  void **ptrs = descriptors + 1 + num_params;
  unsigned char *arena_desc = scratch + (num_ptrs * sizeof(void *) + 7) / 8 * 8;
  unsigned char *next = arena_desc + kiln_memref_size(1);
  int32_t status =
      build_tensors(m, e, "input", e->num_inputs, e->inputs, inputs, dims, &next, &ptrs);
  if (status == KILN_OK)
    status = build_tensors(m, e, "output", e->num_outputs, e->outputs,
                           (const void *const *)outputs, dims, &next, &ptrs);
  if (status == KILN_OK) {
    kiln_memref_init((kiln_memref *)(void *)arena_desc, arena, 1, &arena_bytes);
    descriptors[0] = arena_desc;
    if (num_params > 0)
      memcpy(descriptors + 1, m->param_descriptors, (size_t)num_params * sizeof(void *));
    /* The kernels (parallel.h) read the count from this thread. */
    int32_t previous_threads = kiln_set_thread_count(m->num_threads);
    m->entries[entry_index](descriptors);
    kiln_set_thread_count(previous_threads);
  }
  if (scratch != stack_scratch)
    kiln_free(scratch);
  return status;
}

/* kiln_rt_invoke, and with on_device its variant for tensors in a GPU's
 * memory, whose values the host cannot check. */
static int32_t invoke(kiln_model *model, int32_t entry_index, const int64_t *dims,
                      const void *const *inputs, void *const *outputs, bool on_device) {
  int32_t status = kiln_check_call(model, entry_index, dims, inputs);
  if (status != KILN_OK)
    return status;
  kiln_model *m = model;
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  if (on_device && !m->gpu)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "entry '%s' of model '%s' takes device pointers only in a library "
                       "compiled for a GPU (kilnc --target=cuda)",
                       e->name, m->manifest.model);
  status = check_tensors(m, e, "output", e->num_outputs, e->outputs,
                         (const void *const *)outputs, dims);
  int64_t arena_bytes = 0;
  if (status == KILN_OK)
    status = kiln_arena_bytes(m, e, dims, &arena_bytes);
  /* Only then the inputs' values: every pointer and size is known good. */
  if (status == KILN_OK && !on_device)
    status = kiln_check_classes(m, entry_index, dims, inputs);
  if (status != KILN_OK)
    return status;
  if (m->gpu)
    return kiln_gpu_invoke(m, entry_index, dims, inputs, outputs, arena_bytes, on_device);
  bool shared = false;
  void *arena = kiln_acquire_arena(m, arena_bytes, &shared);
  if (!arena)
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory allocating the %lld-byte arena of entry '%s'",
                       (long long)arena_bytes, e->name);
  status = kiln_invoke_in(m, entry_index, dims, inputs, outputs, arena, arena_bytes);
  kiln_release_arena(m, arena, shared);
  return status;
}

int32_t kiln_rt_invoke(kiln_model *model, int32_t entry_index, const int64_t *dims,
                       const void *const *inputs, void *const *outputs) {
  return invoke(model, entry_index, dims, inputs, outputs, /*on_device=*/false);
}

int32_t kiln_rt_invoke_on_device(kiln_model *model, int32_t entry_index, const int64_t *dims,
                                 const void *const *inputs, void *const *outputs) {
  return invoke(model, entry_index, dims, inputs, outputs, /*on_device=*/true);
}
