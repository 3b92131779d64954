/* The steps of kiln_rt_invoke, for a caller that holds the arena across
 * more than the call: a train step keeps its gradients there until the
 * optimizer has read them (train.c). C only. */
#ifndef KILN_INVOKE_H
#define KILN_INVOKE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Checks the model, the entry index and the symbolic dims (each >= 1); a
 * status and a message otherwise. */
int32_t kiln_check_dims(kiln_model *m, int32_t entry_index, const int64_t *dims);

/* kiln_check_dims, and the input pointers. */
int32_t kiln_check_call(kiln_model *m, int32_t entry_index, const int64_t *dims,
                        const void *const *inputs);

/* The values of the class-index inputs (a cross_entropy's targets): each in
 * [0, classes), as PyTorch requires. Reads the inputs, so it comes after
 * every pointer and size check of the call. */
int32_t kiln_check_classes(kiln_model *m, int32_t entry_index, const int64_t *dims,
                           const void *const *inputs);

/* The size of entry e's arena with these (checked) dims. */
int32_t kiln_arena_bytes(kiln_model *m, const kiln_entry_spec *e, const int64_t *dims,
                         int64_t *bytes);

/* Takes the model's arena when it is free (growing it if needed), else a
 * fresh one for this call; *shared says which. NULL when allocation fails. */
void *kiln_acquire_arena(kiln_model *m, int64_t bytes, bool *shared);
void kiln_release_arena(kiln_model *m, void *arena, bool shared);

/* Runs a checked call with an arena of at least arena_bytes bytes and
 * non-NULL outputs. */
int32_t kiln_invoke_in(kiln_model *m, int32_t entry_index, const int64_t *dims,
                       const void *const *inputs, void *const *outputs, void *arena,
                       int64_t arena_bytes);

#endif /* KILN_INVOKE_H */
