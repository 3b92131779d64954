/* Where a train step puts its gradients (docs/abi.md, "Training"): in the
 * step's arena, each in bytes that are dead by the time the gradient is first
 * written, so that the gradients of the last layers take the space of the
 * activations their backward has freed. */
#ifndef KILN_GRAD_LAYOUT_H
#define KILN_GRAD_LAYOUT_H

#include <stdint.h>

#include "manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A placement at one binding of the entry's symbolic dims. */
typedef struct kiln_grad_layout {
  int64_t arena_bytes; /* the entry's own arena */
  int64_t total_bytes; /* with the gradients: >= arena_bytes */
  int64_t *offsets;    /* each gradient's byte offset in the arena, 64-aligned */
} kiln_grad_layout;

/* Places the gradients of train entry e at these (checked) dims into
 * layout->offsets (num_params of them, caller-allocated), first fit, largest
 * first: each goes to the lowest offset that no span still busy at its birth
 * and no gradient placed before it covers. KILN_ERROR_INVALID_ARGUMENT when a
 * size overflows, KILN_ERROR_OUT_OF_MEMORY; a message in err. */
int32_t kiln_grad_layout_plan(const kiln_manifest *m, const kiln_entry_spec *e,
                              const int64_t *dims, kiln_grad_layout *layout,
                              kiln_error_slot *err);

#ifdef __cplusplus
}
#endif

#endif /* KILN_GRAD_LAYOUT_H */
