/* Manifest parsing. Any deviation from docs/abi.md is a compiler bug and is
 * reported as KILN_ERROR_INTERNAL with the byte offset of the culprit. */
#include "manifest.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "checked.h"
#include "json.h"
#include "kiln/runtime.h"

typedef struct ctx {
  kiln_error_slot *err;
  int32_t status; /* KILN_OK until the first failure */
} ctx;

static bool bad(ctx *c, const kiln_json *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool bad(ctx *c, const kiln_json *at, const char *fmt, ...) {
  char what[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof what, fmt, args);
  va_end(args);
  c->status = kiln_errorf(c->err, KILN_ERROR_INTERNAL,
                          "internal error: malformed model manifest (a compiler bug): "
                          "%s (at byte %zu)",
                          what, at->offset);
  return false;
}

static bool oom(ctx *c) {
  c->status = kiln_errorf(c->err, KILN_ERROR_OUT_OF_MEMORY,
                          "out of memory while parsing the model manifest");
  return false;
}

/* calloc for count elements, reporting failure; count 0 gives NULL. */
static bool alloc_array(ctx *c, void **out, size_t count, size_t elem) {
  *out = NULL;
  if (count == 0)
    return true;
  *out = kiln_calloc(count, elem);
  return *out ? true : oom(c);
}

/* The member key of obj (what: for messages), which must have kind. */
static const kiln_json *member(ctx *c, const kiln_json *obj, const char *key,
                               kiln_json_kind kind, const char *what) {
  const kiln_json *v = kiln_json_get(obj, key);
  static const char *const kinds[] = {"null",   "a boolean", "an integer", "a number",
                                      "a string", "an array", "an object"};
  if (!v)
    bad(c, obj, "%s has no \"%s\"", what, key);
  else if (v->kind != kind)
    bad(c, v, "\"%s\" of %s is not %s", key, what, kinds[kind]);
  else
    return v;
  return NULL;
}

/* Like member, but an absent key is an empty array (symbols, arena). */
static const kiln_json *optional_array(ctx *c, const kiln_json *obj, const char *key,
                                       const char *what) {
  static const kiln_json empty = {.kind = KILN_JSON_ARRAY};
  return kiln_json_get(obj, key) ? member(c, obj, key, KILN_JSON_ARRAY, what) : &empty;
}

/* Copies a non-empty string without embedded NULs. */
static bool copy_name(ctx *c, const kiln_json *v, char **out, const char *what) {
  if (v->kind != KILN_JSON_STRING || v->u.string.len == 0 ||
      strlen(v->u.string.chars) != v->u.string.len)
    return bad(c, v, "%s is not a non-empty string", what);
  *out = kiln_malloc(v->u.string.len + 1);
  if (!*out)
    return oom(c);
  memcpy(*out, v->u.string.chars, v->u.string.len + 1);
  return true;
}

static bool check_count(ctx *c, const kiln_json *array, const char *what) {
  if (array->u.array.count > INT32_MAX)
    return bad(c, array, "too many %s", what);
  return true;
}

static int32_t find_symbol(const kiln_entry_spec *e, const kiln_json *v) {
  for (int32_t k = 0; k < e->num_symbols; ++k)
    if (kiln_json_equals(v->u.string.chars, v->u.string.len, e->symbols[k]))
      return k;
  return -1;
}

/* {"name", "dtype", "shape"}. entry is NULL for parameters, whose dims must
 * be static; otherwise a dim may name one of the entry's symbols. */
static bool parse_tensor(ctx *c, const kiln_json *v, const kiln_entry_spec *entry,
                         kiln_tensor_spec *t, const char *what) {
  if (v->kind != KILN_JSON_OBJECT)
    return bad(c, v, "a %s is not an object", what);
  const kiln_json *name = member(c, v, "name", KILN_JSON_STRING, what);
  if (!name || !copy_name(c, name, &t->name, what))
    return false;
  const kiln_json *dtype = member(c, v, "dtype", KILN_JSON_STRING, t->name);
  if (!dtype)
    return false;
  if (!kiln_dtype_from_manifest(dtype->u.string.chars, dtype->u.string.len, &t->dtype))
    return bad(c, dtype, "%s '%s' has unknown dtype \"%.32s\"", what, t->name,
               dtype->u.string.chars);
  const kiln_json *shape = member(c, v, "shape", KILN_JSON_ARRAY, t->name);
  if (!shape || !check_count(c, shape, "dims"))
    return false;
  t->rank = (int32_t)shape->u.array.count;
  if (!alloc_array(c, (void **)&t->dims, shape->u.array.count, sizeof(int64_t)))
    return false;
  for (int32_t i = 0; i < t->rank; ++i) {
    const kiln_json *d = &shape->u.array.items[i];
    if (d->kind == KILN_JSON_INT && d->u.integer >= 0) {
      t->dims[i] = d->u.integer;
    } else if (d->kind == KILN_JSON_STRING && entry) {
      int32_t k = find_symbol(entry, d);
      if (k < 0)
        return bad(c, d, "dim %d of %s '%s' names \"%.64s\", not a symbol of entry '%s'",
                   i, what, t->name, d->u.string.chars, entry->name);
      t->dims[i] = KILN_DIM_SYMBOL(k);
    } else {
      return bad(c, d, "dim %d of %s '%s' is not %s", i, what, t->name,
                 entry ? "a non-negative integer or a symbol" : "a non-negative integer");
    }
  }
  const kiln_json *classes = kiln_json_get(v, "classes");
  if (classes) {
    if (!entry || classes->kind != KILN_JSON_INT || classes->u.integer < 1 ||
        (t->dtype != KILN_DTYPE_I64 && t->dtype != KILN_DTYPE_I32))
      return bad(c, classes, "\"classes\" of %s '%s' is not a count of an integer input", what,
                 t->name);
    t->classes = classes->u.integer;
  }
  if (!entry) {
    /* Parameter descriptors are built once at create time: their strides and
     * byte size must be representable. */
    int64_t stride = kiln_dtype_size(t->dtype);
    for (int32_t i = t->rank - 1; i >= 0; --i)
      if (!kiln_mul_i64(stride, t->dims[i] ? t->dims[i] : 1, &stride))
        return bad(c, v, "parameter '%s' is too large", t->name);
  }
  return true;
}

static bool parse_tensors(ctx *c, const kiln_json *obj, const char *key,
                          const kiln_entry_spec *entry, int32_t *count,
                          kiln_tensor_spec **out, const char *what) {
  const kiln_json *list = member(c, obj, key, KILN_JSON_ARRAY, entry ? entry->name : "manifest");
  if (!list || !check_count(c, list, key))
    return false;
  if (!alloc_array(c, (void **)out, list->u.array.count, sizeof **out))
    return false;
  *count = (int32_t)list->u.array.count;
  for (int32_t i = 0; i < *count; ++i) {
    if (!parse_tensor(c, &list->u.array.items[i], entry, &(*out)[i], what))
      return false;
    for (int32_t j = 0; j < i; ++j)
      if (strcmp((*out)[j].name, (*out)[i].name) == 0)
        return bad(c, &list->u.array.items[i], "duplicate %s name '%s'", what, (*out)[i].name);
  }
  return true;
}

/* [{"coeff": n >= 0, "symbols": [symbols of entry e]}] into *p. */
static bool parse_polynomial(ctx *c, const kiln_json *list, const kiln_entry_spec *e,
                             kiln_polynomial *p, const char *what) {
  if (list->kind != KILN_JSON_ARRAY)
    return bad(c, list, "%s of entry '%s' is not an array", what, e->name);
  if (!check_count(c, list, what))
    return false;
  if (!alloc_array(c, (void **)&p->terms, list->u.array.count, sizeof *p->terms))
    return false;
  p->num_terms = (int32_t)list->u.array.count;
  for (int32_t i = 0; i < p->num_terms; ++i) {
    const kiln_json *term = &list->u.array.items[i];
    kiln_arena_term *t = &p->terms[i];
    if (term->kind != KILN_JSON_OBJECT)
      return bad(c, term, "term %d of %s of entry '%s' is not an object", i, what, e->name);
    const kiln_json *coeff = member(c, term, "coeff", KILN_JSON_INT, "an arena term");
    if (!coeff)
      return false;
    if (coeff->u.integer < 0)
      return bad(c, coeff, "a coeff of %s of entry '%s' is negative", what, e->name);
    t->coeff = coeff->u.integer;
    const kiln_json *syms = optional_array(c, term, "symbols", "an arena term");
    if (!syms || !check_count(c, syms, "arena symbols"))
      return false;
    if (!alloc_array(c, (void **)&t->symbols, syms->u.array.count, sizeof *t->symbols))
      return false;
    t->num_symbols = (int32_t)syms->u.array.count;
    for (int32_t j = 0; j < t->num_symbols; ++j) {
      const kiln_json *s = &syms->u.array.items[j];
      int32_t k = s->kind == KILN_JSON_STRING ? find_symbol(e, s) : -1;
      if (k < 0)
        return bad(c, s, "term %d of %s of entry '%s' uses something that is not one "
                         "of its symbols", i, what, e->name);
      t->symbols[j] = k; /* a repeated symbol multiplies in twice (B*B) */
    }
  }
  return true;
}

bool kiln_polynomial_eval(const kiln_polynomial *p, const int64_t *dims, int64_t *out) {
  int64_t total = 0;
  for (int32_t i = 0; i < p->num_terms; ++i) {
    int64_t term = p->terms[i].coeff;
    for (int32_t j = 0; j < p->terms[i].num_symbols; ++j)
      if (!kiln_mul_i64(term, dims[p->terms[i].symbols[j]], &term))
        return false;
    if (!kiln_add_i64(total, term, &total))
      return false;
  }
  *out = total;
  return true;
}

static void free_polynomial(kiln_polynomial *p) {
  for (int32_t k = 0; p->terms && k < p->num_terms; ++k)
    kiln_free(p->terms[k].symbols);
  kiln_free(p->terms);
}

static bool parse_arena(ctx *c, const kiln_json *obj, kiln_entry_spec *e) {
  const kiln_json *arena = optional_array(c, obj, "arena", e->name);
  return arena && parse_polynomial(c, arena, e, &e->arena, "the arena");
}

static bool parse_entry(ctx *c, const kiln_json *v, kiln_entry_spec *e) {
  if (v->kind != KILN_JSON_OBJECT)
    return bad(c, v, "an entry is not an object");
  const kiln_json *name = member(c, v, "name", KILN_JSON_STRING, "an entry");
  if (!name || !copy_name(c, name, &e->name, "an entry name"))
    return false;
  const kiln_json *syms = optional_array(c, v, "symbols", e->name);
  if (!syms || !check_count(c, syms, "symbols"))
    return false;
  if (!alloc_array(c, (void **)&e->symbols, syms->u.array.count, sizeof *e->symbols))
    return false;
  for (size_t k = 0; k < syms->u.array.count; ++k) {
    const kiln_json *s = &syms->u.array.items[k];
    if (!copy_name(c, s, &e->symbols[k], "a symbol"))
      return false;
    e->num_symbols = (int32_t)k + 1; /* so far; also what kiln_manifest_free frees */
    if (find_symbol(e, s) != (int32_t)k)
      return bad(c, s, "duplicate symbol '%s' in entry '%s'", e->symbols[k], e->name);
  }
  return parse_tensors(c, v, "inputs", e, &e->num_inputs, &e->inputs, "input") &&
         parse_tensors(c, v, "outputs", e, &e->num_outputs, &e->outputs, "output") &&
         parse_arena(c, v, e);
}

/* A number member of obj, or `fallback` when absent. */
static bool number_or(ctx *c, const kiln_json *obj, const char *key, double fallback,
                      double *out) {
  const kiln_json *v = kiln_json_get(obj, key);
  if (!v)
    *out = fallback;
  else if (v->kind == KILN_JSON_INT)
    *out = (double)v->u.integer;
  else if (v->kind == KILN_JSON_NUMBER)
    *out = v->u.number;
  else
    return bad(c, v, "\"%s\" is not a number", key);
  return true;
}

/* "grad_space": {"births": [one position per trained parameter], "busy":
 * [{"offset": terms, "size": terms, "last": position}], and optionally
 * "offsets": [one byte offset per trained parameter]}. */
static bool parse_grad_space(ctx *c, const kiln_json *v, kiln_entry_spec *e) {
  kiln_train_spec *t = e->train;
  if (v->kind != KILN_JSON_OBJECT)
    return bad(c, v, "the gradient space of '%s' is not an object", e->name);
  const kiln_json *births = member(c, v, "births", KILN_JSON_ARRAY, "a gradient space");
  const kiln_json *busy = member(c, v, "busy", KILN_JSON_ARRAY, "a gradient space");
  if (!births || !busy || !check_count(c, busy, "busy spans"))
    return false;
  if (births->u.array.count != (size_t)t->num_params)
    return bad(c, births, "the gradient space of '%s' has %zu births for %d parameters", e->name,
               births->u.array.count, (int)t->num_params);
  if (!alloc_array(c, (void **)&t->grad_births, births->u.array.count, sizeof *t->grad_births) ||
      !alloc_array(c, (void **)&t->busy, busy->u.array.count, sizeof *t->busy))
    return false;
  for (int32_t i = 0; i < t->num_params; ++i) {
    const kiln_json *b = &births->u.array.items[i];
    if (b->kind != KILN_JSON_INT || b->u.integer < 0)
      return bad(c, b, "a birth of '%s' is not a position", e->name);
    t->grad_births[i] = b->u.integer;
  }
  const kiln_json *offsets = kiln_json_get(v, "offsets");
  if (offsets) {
    if (offsets->kind != KILN_JSON_ARRAY || offsets->u.array.count != (size_t)t->num_params)
      return bad(c, offsets, "the gradient offsets of '%s' are not one per parameter", e->name);
    if (!alloc_array(c, (void **)&t->grad_offsets, offsets->u.array.count,
                     sizeof *t->grad_offsets))
      return false;
    for (int32_t i = 0; i < t->num_params; ++i) {
      const kiln_json *o = &offsets->u.array.items[i];
      if (o->kind != KILN_JSON_INT || o->u.integer < 0 || o->u.integer % 64 != 0)
        return bad(c, o, "a gradient offset of '%s' is not an aligned byte offset", e->name);
      t->grad_offsets[i] = o->u.integer;
    }
  }
  t->num_busy = (int32_t)busy->u.array.count;
  for (int32_t i = 0; i < t->num_busy; ++i) {
    const kiln_json *span = &busy->u.array.items[i];
    if (span->kind != KILN_JSON_OBJECT)
      return bad(c, span, "a busy span of '%s' is not an object", e->name);
    const kiln_json *offset = member(c, span, "offset", KILN_JSON_ARRAY, "a busy span");
    const kiln_json *size = member(c, span, "size", KILN_JSON_ARRAY, "a busy span");
    const kiln_json *last = member(c, span, "last", KILN_JSON_INT, "a busy span");
    if (!offset || !size || !last ||
        !parse_polynomial(c, offset, e, &t->busy[i].offset, "a busy span's offset") ||
        !parse_polynomial(c, size, e, &t->busy[i].size, "a busy span's size"))
      return false;
    t->busy[i].last = last->u.integer;
  }
  return true;
}

/* "train": {"optimizer": "sgd" | "adam" | "adamw", "settings": {...},
 * "clip_grad_norm": number, "params": [parameter indices]}; the entry's
 * outputs must be the f32 loss then each parameter's gradient. */
static bool parse_train(ctx *c, const kiln_json *v, const kiln_manifest *m, kiln_entry_spec *e) {
  const kiln_json *opt = member(c, v, "optimizer", KILN_JSON_STRING, "a train spec");
  const kiln_json *settings = member(c, v, "settings", KILN_JSON_OBJECT, "a train spec");
  const kiln_json *params = member(c, v, "params", KILN_JSON_ARRAY, "a train spec");
  if (!opt || !settings || !params || !check_count(c, params, "trained parameters"))
    return false;
  e->train = kiln_calloc(1, sizeof *e->train);
  if (!e->train)
    return oom(c);
  kiln_train_spec *t = e->train;
  const char *name = opt->u.string.chars;
  if (strcmp(name, "sgd") == 0)
    t->optimizer = KILN_OPTIMIZER_SGD;
  else if (strcmp(name, "adam") == 0)
    t->optimizer = KILN_OPTIMIZER_ADAM;
  else if (strcmp(name, "adamw") == 0)
    t->optimizer = KILN_OPTIMIZER_ADAMW;
  else
    return bad(c, opt, "unknown optimizer '%s'", name);
  if (!number_or(c, settings, "momentum", 0.0, &t->momentum) ||
      !number_or(c, settings, "dampening", 0.0, &t->dampening) ||
      !number_or(c, settings, "nesterov", 0.0, &t->nesterov) ||
      !number_or(c, settings, "weight_decay", 0.0, &t->weight_decay) ||
      !number_or(c, settings, "beta1", 0.9, &t->beta1) ||
      !number_or(c, settings, "beta2", 0.999, &t->beta2) ||
      !number_or(c, settings, "eps", 1e-8, &t->eps) ||
      !number_or(c, v, "clip_grad_norm", 0.0, &t->clip_grad_norm))
    return false;
  size_t count = params->u.array.count;
  if (count == 0 || (size_t)e->num_outputs != count + 1)
    return bad(c, params, "train entry '%s' has %zu parameters but %d outputs", e->name, count,
               (int)e->num_outputs);
  if (!alloc_array(c, (void **)&t->params, count, sizeof *t->params))
    return false;
  t->num_params = (int32_t)count;
  const kiln_json *space = kiln_json_get(v, "grad_space");
  if (space && !parse_grad_space(c, space, e))
    return false;
  for (size_t i = 0; i < count; ++i) {
    const kiln_json *p = &params->u.array.items[i];
    if (p->kind != KILN_JSON_INT || p->u.integer < 0 || p->u.integer >= m->num_params)
      return bad(c, p, "trained parameter %zu of '%s' is not a parameter index", i, e->name);
    const kiln_tensor_spec *param = &m->params[p->u.integer];
    const kiln_tensor_spec *grad = &e->outputs[i + 1];
    if (param->dtype != KILN_DTYPE_F32 || grad->dtype != KILN_DTYPE_F32 ||
        grad->rank != param->rank ||
        (param->rank > 0 && memcmp(grad->dims, param->dims, param->rank * sizeof *grad->dims)))
      return bad(c, p, "gradient '%s' of '%s' does not match its parameter", grad->name, e->name);
    t->params[i] = (int32_t)p->u.integer;
    int64_t numel = 1;
    for (int32_t d = 0; d < param->rank; ++d)
      numel *= param->dims[d]; /* parameter sizes were checked at parse */
    t->num_grads += numel;
  }
  return true;
}

/* "weight": {"operand": index, "param": index}, operand j of k parameter p:
 * of its shape, since create binds the parameter's data to it. */
static bool parse_weight(ctx *c, const kiln_json *v, const kiln_manifest *m,
                         kiln_prepared_kernel *k) {
  if (v->kind != KILN_JSON_OBJECT)
    return bad(c, v, "\"weight\" of prepared kernel '%s' is not an object", k->kernel);
  const kiln_json *operand = member(c, v, "operand", KILN_JSON_INT, "a prepared kernel's weight");
  const kiln_json *param = operand ? member(c, v, "param", KILN_JSON_INT, "its weight") : NULL;
  if (!param)
    return false;
  int64_t j = operand->u.integer, p = param->u.integer;
  if (j < 0 || j >= k->num_operands || p < 0 || p >= m->num_params)
    return bad(c, v, "the weight of prepared kernel '%s' names no operand or parameter", k->kernel);
  const kiln_tensor_spec *x = &k->operands[j], *w = &m->params[p];
  bool same = x->rank == w->rank && w->dtype == KILN_DTYPE_F32;
  for (int32_t d = 0; same && d < x->rank; ++d)
    same = x->dims[d] == w->dims[d];
  if (!same)
    return bad(c, v, "operand %d of prepared kernel '%s' is not shaped as parameter '%s'", (int)j,
               k->kernel, w->name);
  k->weight_operand = (int32_t)j;
  k->weight_param = (int32_t)p;
  return true;
}

/* "prepare": [{"kernel": name, "operands": [static tensors], "scalars": [numbers],
 * optionally "weight"}] */
static bool parse_prepared(ctx *c, const kiln_json *v, const kiln_manifest *m,
                           kiln_prepared_kernel *k) {
  k->weight_operand = k->weight_param = -1;
  if (v->kind != KILN_JSON_OBJECT)
    return bad(c, v, "a prepared kernel is not an object");
  const kiln_json *kernel = member(c, v, "kernel", KILN_JSON_STRING, "a prepared kernel");
  if (!kernel || !copy_name(c, kernel, &k->kernel, "a kernel name") ||
      !parse_tensors(c, v, "operands", NULL, &k->num_operands, &k->operands, "operand"))
    return false;
  const kiln_json *scalars = optional_array(c, v, "scalars", k->kernel);
  if (!scalars || !check_count(c, scalars, "scalars") ||
      !alloc_array(c, (void **)&k->scalars, scalars->u.array.count, sizeof *k->scalars))
    return false;
  k->num_scalars = (int32_t)scalars->u.array.count;
  for (int32_t i = 0; i < k->num_scalars; ++i) {
    const kiln_json *x = &scalars->u.array.items[i];
    if (x->kind == KILN_JSON_INT)
      k->scalars[i] = (double)x->u.integer;
    else if (x->kind == KILN_JSON_NUMBER)
      k->scalars[i] = x->u.number;
    else
      return bad(c, x, "scalar %d of prepared kernel '%s' is not a number", i, k->kernel);
  }
  const kiln_json *weight = kiln_json_get(v, "weight");
  return !weight || parse_weight(c, weight, m, k);
}

int32_t kiln_manifest_parse(const char *json, size_t len, kiln_manifest *out,
                            kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  ctx c = {err, KILN_OK};
  kiln_json root;
  kiln_json_error jerr;
  kiln_json_status js = kiln_json_parse(json, len, &root, &jerr);
  if (js == KILN_JSON_OUT_OF_MEMORY) {
    oom(&c);
    return c.status;
  }
  if (js != KILN_JSON_OK)
    return kiln_errorf(err, KILN_ERROR_INTERNAL,
                       "internal error: the model manifest is not valid JSON "
                       "(a compiler bug): %s at byte %zu",
                       jerr.message, jerr.offset);

  const kiln_json *model = NULL, *entries = NULL;
  bool ok = root.kind == KILN_JSON_OBJECT ? true : bad(&c, &root, "it is not an object");
  ok = ok && (model = member(&c, &root, "model", KILN_JSON_STRING, "the manifest")) &&
       copy_name(&c, model, &out->model, "the model name");
  ok = ok && parse_tensors(&c, &root, "params", NULL, &out->num_params, &out->params,
                           "parameter");
  ok = ok && (entries = member(&c, &root, "entries", KILN_JSON_ARRAY, "the manifest")) &&
       check_count(&c, entries, "entries") &&
       alloc_array(&c, (void **)&out->entries, entries->u.array.count, sizeof *out->entries);
  if (ok) {
    out->num_entries = (int32_t)entries->u.array.count;
    for (int32_t i = 0; ok && i < out->num_entries; ++i) {
      const kiln_json *entry = &entries->u.array.items[i];
      ok = parse_entry(&c, entry, &out->entries[i]);
      const kiln_json *train = ok ? kiln_json_get(entry, "train") : NULL;
      if (train)
        ok = train->kind == KILN_JSON_OBJECT
                 ? parse_train(&c, train, out, &out->entries[i])
                 : bad(&c, train, "\"train\" of '%s' is not an object", out->entries[i].name);
      for (int32_t j = 0; ok && j < i; ++j)
        if (strcmp(out->entries[j].name, out->entries[i].name) == 0)
          ok = bad(&c, &entries->u.array.items[i], "duplicate entry name '%s'",
                   out->entries[i].name);
    }
  }
  const kiln_json *prepared = NULL;
  ok = ok && (prepared = optional_array(&c, &root, "prepare", "the manifest")) &&
       check_count(&c, prepared, "prepared kernels") &&
       alloc_array(&c, (void **)&out->prepared, prepared->u.array.count, sizeof *out->prepared);
  if (ok) {
    out->num_prepared = (int32_t)prepared->u.array.count;
    for (int32_t i = 0; ok && i < out->num_prepared; ++i)
      ok = parse_prepared(&c, &prepared->u.array.items[i], out, &out->prepared[i]);
  }
  kiln_json_free(&root);
  if (!ok)
    kiln_manifest_free(out);
  return ok ? KILN_OK : c.status;
}

static void free_tensors(kiln_tensor_spec *t, int32_t count) {
  for (int32_t i = 0; t && i < count; ++i) {
    kiln_free(t[i].name);
    kiln_free(t[i].dims);
  }
  kiln_free(t);
}

void kiln_manifest_free(kiln_manifest *m) {
  kiln_free(m->model);
  free_tensors(m->params, m->num_params);
  for (int32_t i = 0; m->entries && i < m->num_entries; ++i) {
    kiln_entry_spec *e = &m->entries[i];
    kiln_free(e->name);
    for (int32_t k = 0; k < e->num_symbols; ++k)
      kiln_free(e->symbols[k]);
    kiln_free(e->symbols);
    free_tensors(e->inputs, e->num_inputs);
    free_tensors(e->outputs, e->num_outputs);
    free_polynomial(&e->arena);
    if (e->train) {
      kiln_free(e->train->params);
      kiln_free(e->train->grad_births);
      kiln_free(e->train->grad_offsets);
      for (int32_t k = 0; e->train->busy && k < e->train->num_busy; ++k) {
        free_polynomial(&e->train->busy[k].offset);
        free_polynomial(&e->train->busy[k].size);
      }
      kiln_free(e->train->busy);
    }
    kiln_free(e->train);
  }
  kiln_free(m->entries);
  for (int32_t i = 0; m->prepared && i < m->num_prepared; ++i) {
    kiln_free(m->prepared[i].kernel);
    free_tensors(m->prepared[i].operands, m->prepared[i].num_operands);
    kiln_free(m->prepared[i].scalars);
  }
  kiln_free(m->prepared);
  memset(m, 0, sizeof *m);
}
