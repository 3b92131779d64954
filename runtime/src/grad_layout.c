/* First-fit placement of a train step's gradients in its arena. */
#include "grad_layout.h"

#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"
#include "checked.h"
#include "model.h"

typedef struct interval {
  int64_t begin, end; /* bytes [begin, end) */
} interval;

static int compare_intervals(const void *a, const void *b) {
  const interval *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* The gradient order of placement: largest first, then in entry order. */
typedef struct grad_order {
  int64_t bytes;
  int32_t index;
} grad_order;

static int compare_grads(const void *a, const void *b) {
  const grad_order *x = a, *y = b;
  if (x->bytes != y->bytes)
    return (x->bytes < y->bytes) - (x->bytes > y->bytes);
  return (x->index > y->index) - (x->index < y->index);
}

/* bytes rounded up to the arena's alignment; false when that overflows. */
static bool align_up(int64_t bytes, int64_t *out) {
  if (!kiln_add_i64(bytes, KILN_ARENA_ALIGN - 1, out))
    return false;
  *out -= *out % KILN_ARENA_ALIGN;
  return true;
}

int32_t kiln_grad_layout_plan(const kiln_manifest *m, const kiln_entry_spec *e,
                              const int64_t *dims, kiln_grad_layout *layout,
                              kiln_error_slot *err) {
  const kiln_train_spec *t = e->train;
  int32_t num_busy = t->grad_births ? t->num_busy : 0;
  interval *busy = kiln_malloc(((size_t)num_busy + 1) * sizeof *busy);
  interval *taken = kiln_malloc(((size_t)num_busy + (size_t)t->num_params + 1) * sizeof *taken);
  grad_order *order = kiln_malloc(((size_t)t->num_params + 1) * sizeof *order);
  int32_t status = KILN_OK;
  if (!busy || !taken || !order) {
    status = kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY, "out of memory placing the gradients of '%s'",
                         e->name);
    goto done;
  }
  bool ok = kiln_polynomial_eval(&e->arena, dims, &layout->arena_bytes);
  for (int32_t i = 0; ok && i < num_busy; ++i) {
    int64_t size = 0;
    ok = kiln_polynomial_eval(&t->busy[i].offset, dims, &busy[i].begin) &&
         kiln_polynomial_eval(&t->busy[i].size, dims, &size) &&
         kiln_add_i64(busy[i].begin, size, &busy[i].end);
  }
  for (int32_t i = 0; ok && i < t->num_params; ++i) {
    const kiln_tensor_spec *p = &m->params[t->params[i]];
    int64_t bytes = 4; /* f32; parameter sizes were checked at parse */
    for (int32_t d = 0; d < p->rank; ++d)
      bytes *= p->dims[d];
    order[i] = (grad_order){bytes, i};
    ok = align_up(bytes, &order[i].bytes);
  }
  if (!ok) {
    status = kiln_errorf(err, KILN_ERROR_INVALID_ARGUMENT,
                         "the arena of entry '%s' would overflow with these symbolic dims",
                         e->name);
    goto done;
  }
  if (t->grad_offsets) {
    /* Planned with the arena's own buffers (all of static size): in place,
     * each within the arena's bytes, which the parse does not check. */
    int64_t total = layout->arena_bytes;
    for (int32_t i = 0; i < t->num_params; ++i) {
      int64_t end = 0;
      layout->offsets[i] = t->grad_offsets[i];
      if (!kiln_add_i64(t->grad_offsets[i], order[i].bytes, &end))
        end = INT64_MAX;
      total = end > total ? end : total;
    }
    layout->total_bytes = total;
    goto done;
  }
  qsort(order, (size_t)t->num_params, sizeof *order, compare_grads);

  /* Without a gradient space from the compiler, the arena's own bytes are
   * all taken. */
  int64_t floor = t->grad_births ? 0 : layout->arena_bytes;
  int64_t total = layout->arena_bytes;
  for (int32_t k = 0; ok && k < t->num_params; ++k) {
    int32_t g = order[k].index;
    size_t count = 0;
    for (int32_t i = 0; i < num_busy; ++i)
      if (t->busy[i].last >= t->grad_births[g])
        taken[count++] = busy[i];
    for (int32_t j = 0; j < k; ++j) {
      int32_t placed = order[j].index;
      taken[count++] = (interval){layout->offsets[placed], layout->offsets[placed] + order[j].bytes};
    }
    qsort(taken, count, sizeof *taken, compare_intervals);
    int64_t offset = floor, end = 0;
    for (size_t i = 0; ok; ++i) {
      ok = kiln_add_i64(offset, order[k].bytes, &end);
      if (i == count || end <= taken[i].begin)
        break;
      if (taken[i].end > offset)
        offset = taken[i].end;
    }
    layout->offsets[g] = offset;
    if (end > total)
      total = end;
  }
  if (!ok || (uint64_t)total > SIZE_MAX - KILN_ARENA_ALIGN)
    status = kiln_errorf(err, KILN_ERROR_INVALID_ARGUMENT,
                         "the arena of entry '%s' would overflow with these symbolic dims",
                         e->name);
  layout->total_bytes = total;
done:
  kiln_free(busy);
  kiln_free(taken);
  kiln_free(order);
  return status;
}
