/* The model object behind kiln_model; shared by model.c (create, destroy,
 * last_error) and invoke.c. C only. */
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include <stdatomic.h>
#include <stddef.h>

#include "error.h"
#include "kiln/abi.h" /* KILN_ARENA_ALIGN: the arena's alignment and size granularity */
#include "kiln/runtime.h"
#include "manifest.h"
#include "weights.h"

struct kiln_model {
  kiln_manifest manifest;
  kiln_entry_fn *entries; /* a copy; manifest.num_entries of them */
  int32_t num_threads;    /* kiln_options' count, or the CPUs available; >= 1 */
  kiln_weights weights;
  /* A model compiled for a GPU runs there (gpu.h); NULL on the host. */
  struct kiln_gpu *gpu;

  /* Parameter descriptors never change, so they are built once; the kernels
   * only read them, which lets concurrent calls share them. */
  void **param_descriptors; /* manifest.num_params pointers into param_block */
  void *param_block;

  /* The arena kept for reuse. A call that finds it busy (another thread is
   * using it) allocates its own instead of waiting. */
  atomic_flag arena_busy;
  void *arena;
  size_t arena_capacity;

  /* Per entry: a train entry's optimizer state and gradient buffer (train.c),
   * NULL for other entries. */
  struct kiln_train_state **train_states;

  kiln_error_slot error;
};

#endif /* KILN_MODEL_H */
