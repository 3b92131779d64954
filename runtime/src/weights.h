/* Binding a model's parameters to the tensors of its weights file. */
#ifndef KILN_WEIGHTS_H
#define KILN_WEIGHTS_H

#include <stdint.h>

#include "error.h"
#include "manifest.h"
#include "safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_weights {
  kiln_st_file file;
  int32_t num_params;
  /* Per manifest parameter: the data the kernels read, aligned to the element
   * size; either inside the mapping or a copy in copies[i]. */
  const void **data;
  void **copies; /* malloc'd copies of misaligned tensors; NULL when in place */
} kiln_weights;

/* Maps path and checks it holds exactly the manifest's parameters, with the
 * manifest's dtypes and shapes. Returns KILN_OK, KILN_ERROR_IO,
 * KILN_ERROR_FORMAT, KILN_ERROR_WEIGHTS_MISMATCH or KILN_ERROR_OUT_OF_MEMORY
 * with a message in err (NULL: this thread's slot). On failure *out is empty. */
int32_t kiln_weights_load(const kiln_manifest *m, const char *path, kiln_weights *out,
                          kiln_error_slot *err);

/* The same for a weights file's bytes[0..size) in memory (compiled into the
 * library, which outlives the model), named label in messages. A model that
 * trains gets its own copy; otherwise the parameters point into bytes. */
int32_t kiln_weights_load_memory(const kiln_manifest *m, const unsigned char *bytes, size_t size,
                                 const char *label, kiln_weights *out, kiln_error_slot *err);

/* The same for a file already opened or parsed (safetensors.h), whose
 * ownership passes to *out (and is released on failure); path names it in
 * messages. */
int32_t kiln_weights_bind(const kiln_manifest *m, kiln_st_file *file, const char *path,
                          kiln_weights *out, kiln_error_slot *err);

/* Frees the copies and unmaps the file; *w becomes empty. */
void kiln_weights_free(kiln_weights *w);

/* The bytes of parameter p of a parsed manifest (which checked that they
 * fit). */
size_t kiln_weights_param_bytes(const kiln_tensor_spec *p);

#ifdef __cplusplus
}
#endif

#endif /* KILN_WEIGHTS_H */
