/* kiln_rt_train_*: a train entry's compiled function computes the loss and
 * the gradients (its outputs); the runtime owns the optimizer state and
 * applies the update to the weights in place. A step keeps its gradients in
 * its arena (grad_layout.h); NAME_<train>_grads writes them to the caller's
 * flat buffer. */
#include "train.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "grad_layout.h"
#include "invoke.h"
#include "large_alloc.h"
#include "model.h"
#include "optimizer.h"
#include "parallel.h"
#include "safetensors.h"
#include "safetensors_write.h"

struct kiln_train_state {
  atomic_flag busy;  /* a step or an apply is updating the weights */
  int64_t step;      /* updates applied so far */
  float *moments[2]; /* optimizer moments, num_grads floats each (or NULL) */
  /* Scratch of one update, used under `busy`: the outputs of a step's call
   * (the loss, then the gradients), and the gradients the update reads. */
  void **outputs;
  const float **grads;
  /* The step's gradient placement, for the dims in layout_dims. */
  kiln_grad_layout layout;
  int64_t *layout_dims;
  bool layout_valid;
};

static int64_t param_numel(const kiln_model *m, int32_t index) {
  const kiln_tensor_spec *p = &m->manifest.params[index];
  int64_t numel = 1;
  for (int32_t d = 0; d < p->rank; ++d)
    numel *= p->dims[d];
  return numel;
}

static void free_state(kiln_train_state *s, const kiln_train_spec *spec) {
  if (!s)
    return;
  size_t bytes = (size_t)spec->num_grads * sizeof(float);
  kiln_large_free(s->moments[0], bytes);
  kiln_large_free(s->moments[1], bytes);
  kiln_free(s->outputs);
  kiln_free(s->grads);
  kiln_free(s->layout.offsets);
  kiln_free(s->layout_dims);
  kiln_free(s);
}

int32_t kiln_train_states_create(kiln_model *m) {
  int32_t n = m->manifest.num_entries;
  m->train_states = kiln_calloc((size_t)n, sizeof *m->train_states);
  if (!m->train_states && n > 0)
    return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory creating the model");
  for (int32_t i = 0; i < n; ++i) {
    const kiln_entry_spec *e = &m->manifest.entries[i];
    const kiln_train_spec *spec = e->train;
    if (!spec)
      continue;
    kiln_train_state *s = kiln_calloc(1, sizeof *s);
    m->train_states[i] = s;
    size_t bytes = (size_t)spec->num_grads * sizeof(float);
    bool ok = s && (s->outputs = kiln_calloc((size_t)spec->num_params + 1, sizeof(void *))) &&
              (s->grads = kiln_calloc((size_t)spec->num_params, sizeof(float *))) &&
              (s->layout.offsets = kiln_calloc((size_t)spec->num_params, sizeof(int64_t))) &&
              (s->layout_dims = kiln_calloc((size_t)e->num_symbols + 1, sizeof(int64_t)));
    for (int32_t k = 0; ok && k < kiln_optimizer_num_moments(spec); ++k)
      ok = (s->moments[k] = kiln_large_alloc(bytes)) != NULL;
    if (!ok)
      return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY,
                         "out of memory allocating the optimizer state of '%s' (%lld values)",
                         e->name, (long long)spec->num_grads);
    atomic_flag_clear(&s->busy);
  }
  return KILN_OK;
}

void kiln_train_states_free(kiln_model *m) {
  for (int32_t i = 0; m->train_states && i < m->manifest.num_entries; ++i)
    free_state(m->train_states[i], m->manifest.entries[i].train);
  kiln_free(m->train_states);
  m->train_states = NULL;
}

/* The train entry at entry_index, or NULL after reporting why not. */
static const kiln_entry_spec *train_entry(kiln_model *m, int32_t entry_index) {
  if (!m) {
    kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "the model is NULL");
    return NULL;
  }
  if (entry_index < 0 || entry_index >= m->manifest.num_entries ||
      !m->manifest.entries[entry_index].train) {
    kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                "entry index %d is not a train entry of model '%s'", (int)entry_index,
                m->manifest.model);
    return NULL;
  }
  return &m->manifest.entries[entry_index];
}

/* A float for a message: NaN prints as "NaN" whatever its sign bit. */
typedef struct number_text {
  char text[32];
} number_text;
static number_text describe(float x) {
  number_text t;
  if (isnan(x))
    strcpy(t.text, "NaN");
  else
    snprintf(t.text, sizeof t.text, "%g", (double)x);
  return t;
}

static int32_t check_lr(kiln_model *m, const kiln_entry_spec *e, float lr) {
  if (!isfinite(lr) || lr < 0.0f)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the learning rate of '%s' must be a finite number >= 0, got %s", e->name,
                       describe(lr).text);
  return KILN_OK;
}

int32_t kiln_rt_train_grads(kiln_model *model, int32_t entry_index, const int64_t *dims,
                            const void *const *inputs, float *loss, float *grads) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!loss || !grads)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT, "the %s pointer of '%s' is NULL",
                       loss ? "grads" : "loss", e->name);
  /* The gradients are slices of the flat buffer, in the entry's order; the
   * pointer array lives on the stack unless the entry trains many tensors. */
  void *stack_outputs[64];
  void **outputs = e->num_outputs <= 64 ? stack_outputs
                                        : kiln_malloc((size_t)e->num_outputs * sizeof *outputs);
  if (!outputs)
    return kiln_errorf(&model->error, KILN_ERROR_OUT_OF_MEMORY, "out of memory calling entry '%s'",
                       e->name);
  outputs[0] = loss;
  int64_t offset = 0;
  for (int32_t i = 0; i < e->train->num_params; ++i) {
    outputs[1 + i] = grads + offset;
    offset += param_numel(model, e->train->params[i]);
  }
  int32_t status = kiln_rt_invoke(model, entry_index, dims, inputs, (void *const *)outputs);
  if (outputs != stack_outputs)
    kiln_free(outputs);
  return status;
}

/* The update from grads[i], the gradient of the entry's parameter i; the
 * caller holds the state's busy flag. */
static int32_t apply(kiln_model *m, int32_t entry_index, const kiln_entry_spec *e, float lr,
                     const float *const *grads) {
  const kiln_train_spec *spec = e->train;
  kiln_train_state *s = m->train_states[entry_index];
  double sum_squares = 0.0;
  for (int32_t i = 0; i < spec->num_params; ++i)
    sum_squares += kiln_sum_squares(grads[i], param_numel(m, spec->params[i]));
  double norm = sqrt(sum_squares);
  if (!isfinite(norm))
    return kiln_errorf(&m->error, KILN_ERROR_NOT_FINITE,
                       "the gradients of '%s' are not finite; the weights were not changed",
                       e->name);
  /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when
   * that is below 1. */
  float scale = 1.0f;
  if (spec->clip_grad_norm > 0.0) {
    double coefficient = spec->clip_grad_norm / (norm + 1e-6);
    if (coefficient < 1.0)
      scale = (float)coefficient;
  }
  ++s->step;
  int32_t previous_threads = kiln_set_thread_count(m->num_threads);
  int64_t offset = 0;
  for (int32_t i = 0; i < spec->num_params; ++i) {
    int32_t index = spec->params[i];
    int64_t numel = param_numel(m, index);
    kiln_optimizer_slice slice = {(float *)(uintptr_t)m->weights.data[index], grads[i],
                                  s->moments[0] ? s->moments[0] + offset : NULL,
                                  s->moments[1] ? s->moments[1] + offset : NULL, numel};
    kiln_optimizer_update(spec, s->step, lr, scale, &slice);
    offset += numel;
  }
  kiln_set_thread_count(previous_threads);
  return KILN_OK;
}

/* Takes the train state of an entry for one update, or reports it busy. */
static kiln_train_state *acquire(kiln_model *m, int32_t entry_index, const kiln_entry_spec *e) {
  kiln_train_state *s = m->train_states[entry_index];
  if (atomic_flag_test_and_set_explicit(&s->busy, memory_order_acquire)) {
    kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT,
                "another call is already training '%s' on this model", e->name);
    return NULL;
  }
  return s;
}

static void release(kiln_train_state *s) {
  atomic_flag_clear_explicit(&s->busy, memory_order_release);
}

int32_t kiln_rt_train_apply(kiln_model *model, int32_t entry_index, float lr, const float *grads) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  int32_t status = check_lr(model, e, lr);
  if (status != KILN_OK)
    return status;
  if (!grads)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the grads pointer of '%s' is NULL", e->name);
  kiln_train_state *s = acquire(model, entry_index, e);
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  int64_t offset = 0;
  for (int32_t i = 0; i < e->train->num_params; ++i) {
    s->grads[i] = grads + offset;
    offset += param_numel(model, e->train->params[i]);
  }
  status = apply(model, entry_index, e, lr, s->grads);
  release(s);
  return status;
}

/* The step's gradient placement at dims, computed again only when the dims
 * change. */
static int32_t plan_layout(kiln_model *m, const kiln_entry_spec *e, kiln_train_state *s,
                           const int64_t *dims) {
  size_t dims_bytes = (size_t)e->num_symbols * sizeof *dims;
  if (s->layout_valid && (dims_bytes == 0 || memcmp(s->layout_dims, dims, dims_bytes) == 0))
    return KILN_OK;
  s->layout_valid = false;
  int32_t status = kiln_grad_layout_plan(&m->manifest, e, dims, &s->layout, &m->error);
  if (status == KILN_OK) {
    if (dims_bytes > 0)
      memcpy(s->layout_dims, dims, dims_bytes);
    s->layout_valid = true;
  }
  return status;
}

int32_t kiln_rt_train_memory(kiln_model *model, int32_t entry_index, const int64_t *dims,
                             size_t *bytes) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!bytes)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the bytes pointer of '%s' is NULL", e->name);
  int32_t status = kiln_check_dims(model, entry_index, dims);
  if (status != KILN_OK)
    return status;
  kiln_train_state *s = acquire(model, entry_index, e);
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  status = plan_layout(model, e, s, dims);
  if (status == KILN_OK)
    *bytes = (size_t)s->layout.total_bytes;
  release(s);
  return status;
}

/* Forward and backward into the arena, then the update from the gradients
 * there; the caller holds the state's busy flag. */
static int32_t step(kiln_model *m, int32_t entry_index, const kiln_entry_spec *e,
                    kiln_train_state *s, const int64_t *dims, const void *const *inputs, float lr,
                    float *loss) {
  int32_t status = plan_layout(m, e, s, dims);
  if (status != KILN_OK)
    return status;
  bool shared = false;
  unsigned char *arena = kiln_acquire_arena(m, s->layout.total_bytes, &shared);
  if (!arena)
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory allocating the %lld-byte arena of entry '%s'",
                       (long long)s->layout.total_bytes, e->name);
  s->outputs[0] = loss;
  for (int32_t i = 0; i < e->train->num_params; ++i) {
    float *grad = (float *)(void *)(arena + s->layout.offsets[i]);
    s->outputs[1 + i] = grad;
    s->grads[i] = grad;
  }
  status = kiln_invoke_in(m, entry_index, dims, inputs, s->outputs, arena,
                          s->layout.arena_bytes);
  if (status == KILN_OK && !isfinite(*loss))
    status = kiln_errorf(&m->error, KILN_ERROR_NOT_FINITE,
                         "the loss of '%s' is %s; the weights were not changed", e->name,
                         describe(*loss).text);
  if (status == KILN_OK)
    status = apply(m, entry_index, e, lr, s->grads);
  kiln_release_arena(m, arena, shared);
  return status;
}

int32_t kiln_rt_train_step(kiln_model *model, int32_t entry_index, const int64_t *dims,
                           const void *const *inputs, float lr, float *loss) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  int32_t status = check_lr(model, e, lr);
  if (status != KILN_OK)
    return status;
  if (!loss)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT,
                       "the loss pointer of '%s' is NULL", e->name);
  status = kiln_check_call(model, entry_index, dims, inputs);
  if (status == KILN_OK)
    status = kiln_check_classes(model, entry_index, dims, inputs);
  if (status != KILN_OK)
    return status;
  kiln_train_state *s = acquire(model, entry_index, e);
  if (!s)
    return KILN_ERROR_INVALID_ARGUMENT;
  status = step(model, entry_index, e, s, dims, inputs, lr, loss);
  release(s);
  return status;
}

/* The optimizer state file (docs/abi.md, "Training"): a .safetensors with
 * "kiln.state_of" (i8 text "<model>/<entry>/<optimizer>", so a state never
 * loads into another model or entry), "step" (i64 [1]) and one tensor per
 * moment and trained parameter, named as PyTorch's optimizers name their
 * state: "momentum_buffer.<path>" (SGD), "exp_avg.<path>" and
 * "exp_avg_sq.<path>" (Adam, AdamW). */
static const char *const kMomentNames[3][2] = {
    {"momentum_buffer", NULL}, {"exp_avg", "exp_avg_sq"}, {"exp_avg", "exp_avg_sq"}};

static void state_identity(const kiln_model *m, const kiln_entry_spec *e, char *buf, size_t cap) {
  static const char *const optimizers[] = {"sgd", "adam", "adamw"};
  snprintf(buf, cap, "%s/%s/%s", m->manifest.model, e->name, optimizers[e->train->optimizer]);
}

static char *moment_name(const char *moment, const char *param) {
  size_t n = strlen(moment) + 1 + strlen(param) + 1;
  char *name = kiln_malloc(n);
  if (name)
    snprintf(name, n, "%s.%s", moment, param);
  return name;
}

int32_t kiln_rt_train_save_state(kiln_model *model, int32_t entry_index, const char *path) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!path || !*path)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT,
                       "save_state of '%s': no path given", e->name);
  const kiln_train_spec *spec = e->train;
  int32_t moments = kiln_optimizer_num_moments(spec);
  size_t count = 2 + (size_t)moments * (size_t)spec->num_params;
  kiln_st_out_tensor *tensors = kiln_calloc(count, sizeof *tensors);
  char **names = kiln_calloc(count, sizeof *names);
  kiln_train_state *s = acquire(model, entry_index, e);
  int32_t status = KILN_OK;
  if (!s)
    status = KILN_ERROR_INVALID_ARGUMENT;
  else if (!tensors || !names)
    status = kiln_errorf(&model->error, KILN_ERROR_OUT_OF_MEMORY, "save_state: out of memory");
  char identity[512];
  int64_t identity_len = 0, one = 1;
  if (status == KILN_OK) {
    state_identity(model, e, identity, sizeof identity);
    identity_len = (int64_t)strlen(identity);
    tensors[0] = (kiln_st_out_tensor){"kiln.state_of", KILN_DTYPE_I8, 1, &identity_len, identity};
    tensors[1] = (kiln_st_out_tensor){"step", KILN_DTYPE_I64, 1, &one, &s->step};
    size_t next = 2;
    for (int32_t k = 0; k < moments && status == KILN_OK; ++k) {
      int64_t offset = 0;
      for (int32_t i = 0; i < spec->num_params && status == KILN_OK; ++i) {
        const kiln_tensor_spec *p = &model->manifest.params[spec->params[i]];
        names[next] = moment_name(kMomentNames[spec->optimizer][k], p->name);
        if (!names[next]) {
          status = kiln_errorf(&model->error, KILN_ERROR_OUT_OF_MEMORY, "save_state: out of memory");
          break;
        }
        tensors[next] = (kiln_st_out_tensor){names[next], KILN_DTYPE_F32, p->rank, p->dims,
                                             s->moments[k] + offset};
        ++next;
        offset += param_numel(model, spec->params[i]);
      }
    }
  }
  if (status == KILN_OK)
    status = kiln_st_write(path, tensors, count, "save_state", &model->error);
  if (s)
    release(s);
  for (size_t i = 0; names && i < count; ++i)
    kiln_free(names[i]);
  kiln_free(names);
  kiln_free(tensors);
  return status;
}

/* Checks that tensor `name` of f exists with dtype, rank and dims. */
static const kiln_st_tensor *expect_tensor(kiln_model *m, const kiln_st_file *f,
                                           const char *path, const char *name, kiln_dtype dtype,
                                           int32_t rank, const int64_t *dims) {
  const kiln_st_tensor *t = kiln_st_find(f, name);
  bool ok = t && t->dtype == dtype && t->rank == rank;
  for (int32_t d = 0; ok && d < rank; ++d)
    ok = t->shape[d] == dims[d];
  if (!ok) {
    char expected[160];
    kiln_format_type(expected, sizeof expected, dtype, rank, dims);
    kiln_errorf(&m->error, KILN_ERROR_WEIGHTS_MISMATCH,
                "load_state: optimizer state '%s' has %s '%s', expected %s", path,
                t ? "a mismatched" : "no", name, expected);
    return NULL;
  }
  return t;
}

int32_t kiln_rt_train_load_state(kiln_model *model, int32_t entry_index, const char *path) {
  const kiln_entry_spec *e = train_entry(model, entry_index);
  if (!e)
    return KILN_ERROR_INVALID_ARGUMENT;
  if (!path || !*path)
    return kiln_errorf(&model->error, KILN_ERROR_INVALID_ARGUMENT,
                       "load_state of '%s': no path given", e->name);
  const kiln_train_spec *spec = e->train;
  int32_t moments = kiln_optimizer_num_moments(spec);
  kiln_st_file f;
  int32_t status = kiln_st_open(path, &f, &model->error);
  if (status != KILN_OK)
    return status;
  kiln_train_state *s = acquire(model, entry_index, e);
  if (!s) {
    kiln_st_close(&f);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  /* Everything is checked before anything is copied: a refused file leaves
   * the state as it was. */
  char identity[512];
  state_identity(model, e, identity, sizeof identity);
  const kiln_st_tensor *of = kiln_st_find(&f, "kiln.state_of");
  size_t expected_count = 2 + (size_t)moments * (size_t)spec->num_params;
  if (!of || of->dtype != KILN_DTYPE_I8 || of->rank != 1) {
    status = kiln_errorf(&model->error, KILN_ERROR_WEIGHTS_MISMATCH,
                         "load_state: '%s' is not an optimizer state saved by Kiln", path);
  } else if ((size_t)(of->end - of->begin) != strlen(identity) ||
             memcmp(of->data, identity, strlen(identity)) != 0) {
    int len = (int)(of->end - of->begin < 200 ? of->end - of->begin : 200);
    status = kiln_errorf(&model->error, KILN_ERROR_WEIGHTS_MISMATCH,
                         "load_state: '%s' is the optimizer state of '%.*s', not of '%s'", path,
                         len, (const char *)of->data, identity);
  } else if (f.count != expected_count) {
    status = kiln_errorf(&model->error, KILN_ERROR_WEIGHTS_MISMATCH,
                         "load_state: optimizer state '%s' has %zu tensors, expected %zu", path,
                         f.count, expected_count);
  }
  int64_t one = 1;
  const kiln_st_tensor *step =
      status == KILN_OK ? expect_tensor(model, &f, path, "step", KILN_DTYPE_I64, 1, &one) : NULL;
  int64_t step_value = 0;
  if (step)
    memcpy(&step_value, step->data, sizeof step_value);
  if (status == KILN_OK && !step)
    status = KILN_ERROR_WEIGHTS_MISMATCH;
  else if (status == KILN_OK && step_value < 0)
    status = kiln_errorf(&model->error, KILN_ERROR_WEIGHTS_MISMATCH,
                         "load_state: optimizer state '%s' has a negative step", path);
  for (int32_t pass = 0; pass < 2 && status == KILN_OK; ++pass) {
    /* Pass 0 checks every moment tensor, pass 1 copies them. */
    for (int32_t k = 0; k < moments && status == KILN_OK; ++k) {
      int64_t offset = 0;
      for (int32_t i = 0; i < spec->num_params && status == KILN_OK; ++i) {
        const kiln_tensor_spec *p = &model->manifest.params[spec->params[i]];
        char *name = moment_name(kMomentNames[spec->optimizer][k], p->name);
        const kiln_st_tensor *t =
            name ? expect_tensor(model, &f, path, name, KILN_DTYPE_F32, p->rank, p->dims) : NULL;
        if (!name)
          status = kiln_errorf(&model->error, KILN_ERROR_OUT_OF_MEMORY, "load_state: out of memory");
        else if (!t)
          status = KILN_ERROR_WEIGHTS_MISMATCH;
        else if (pass == 1)
          memcpy(s->moments[k] + offset, t->data, (size_t)(t->end - t->begin));
        kiln_free(name);
        offset += (int64_t)((t ? t->end - t->begin : 0) / sizeof(float));
      }
    }
  }
  if (status == KILN_OK)
    s->step = step_value;
  release(s);
  kiln_st_close(&f);
  return status;
}
