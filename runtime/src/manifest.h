/* The model manifest the compiler embeds (docs/abi.md, "The manifest"),
 * parsed into plain structs at create time. */
#ifndef KILN_MANIFEST_H
#define KILN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dim in a tensor spec: >= 0 is static; < 0 is symbol k of the entry,
 * encoded as -1 - k. Parameters only have static dims. */
#define KILN_DIM_SYMBOL(k) (-1 - (int64_t)(k))
#define KILN_DIM_SYMBOL_INDEX(d) ((int32_t)(-1 - (d)))

typedef struct kiln_tensor_spec {
  char *name;
  kiln_dtype dtype;
  int32_t rank;
  int64_t *dims;   /* rank entries */
  int64_t classes; /* > 0: an integer input of class indices, each in [0, classes) */
} kiln_tensor_spec;

/* coeff * product of the entry's symbols at these indices. */
typedef struct kiln_arena_term {
  int64_t coeff;
  int32_t num_symbols;
  int32_t *symbols;
} kiln_arena_term;

/* A byte count in an entry's symbols: the sum of its terms. */
typedef struct kiln_polynomial {
  int32_t num_terms;
  kiln_arena_term *terms;
} kiln_polynomial;

/* Its value with the entry's symbols bound to dims; false if it overflows
 * int64. */
bool kiln_polynomial_eval(const kiln_polynomial *p, const int64_t *dims, int64_t *out);

/* Arena bytes [offset, offset + size) in use until position `last` of the
 * entry's body. */
typedef struct kiln_arena_span {
  kiln_polynomial offset, size;
  int64_t last;
} kiln_arena_span;

typedef enum kiln_optimizer_kind {
  KILN_OPTIMIZER_SGD,
  KILN_OPTIMIZER_ADAM,
  KILN_OPTIMIZER_ADAMW
} kiln_optimizer_kind;

/* A train entry's optimizer and trained parameters (docs/abi.md,
 * "Training"). The entry's outputs are the loss, then one gradient per
 * parameter in `params` order. Settings keep PyTorch's meaning. */
typedef struct kiln_train_spec {
  kiln_optimizer_kind optimizer;
  double momentum, dampening, nesterov, weight_decay; /* sgd */
  double beta1, beta2, eps;                           /* adam, adamw (and weight_decay) */
  double clip_grad_norm;                              /* 0: no clipping */
  int32_t num_params;
  int32_t *params;   /* manifest parameter indices */
  int64_t num_grads; /* their total element count */
  /* Where a step may put the gradients in its arena (grad_layout.h):
   * gradient i is first written at position grad_births[i] and may take
   * bytes no span of `busy` with last >= that position covers. NULL births:
   * nothing known, the gradients go after the arena's own bytes. */
  int64_t *grad_births;
  int32_t num_busy;
  kiln_arena_span *busy;
  /* Or, for an entry planned with its gradients, each one's byte offset in
   * the arena (num_params); NULL otherwise. */
  int64_t *grad_offsets;
} kiln_train_spec;

typedef struct kiln_entry_spec {
  char *name;
  int32_t num_symbols;
  char **symbols;
  int32_t num_inputs;
  kiln_tensor_spec *inputs;
  int32_t num_outputs;
  kiln_tensor_spec *outputs;
  kiln_polynomial arena; /* the arena's size */
  kiln_train_spec *train; /* NULL unless a train entry */
} kiln_entry_spec;

/* A library kernel call that create prepares ahead of the first call: the
 * callee, its operands' shapes (dense, f32) and its scalars, as the generated
 * code passes them. A oneDNN kernel's primitive is made; a packing kernel
 * (kiln/kernels.def) packs the parameter its weight operand is. */
typedef struct kiln_prepared_kernel {
  char *kernel;
  int32_t num_operands;
  kiln_tensor_spec *operands;
  int32_t num_scalars;
  double *scalars;
  int32_t weight_operand, weight_param; /* -1: no operand is a parameter */
} kiln_prepared_kernel;

typedef struct kiln_manifest {
  char *model;
  int32_t num_params;
  kiln_tensor_spec *params;
  int32_t num_entries;
  kiln_entry_spec *entries;
  int32_t num_prepared;
  kiln_prepared_kernel *prepared;
} kiln_manifest;

/* Parses and validates json[0..len). Returns KILN_OK, KILN_ERROR_INTERNAL (a
 * malformed manifest is a compiler bug) or KILN_ERROR_OUT_OF_MEMORY, with a
 * message in err (NULL: this thread's slot). On failure *out is empty. */
int32_t kiln_manifest_parse(const char *json, size_t len, kiln_manifest *out,
                            kiln_error_slot *err);

/* Frees what the manifest owns and empties it. */
void kiln_manifest_free(kiln_manifest *m);

#ifdef __cplusplus
}
#endif

#endif /* KILN_MANIFEST_H */
