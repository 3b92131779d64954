/* Writing .safetensors files atomically: the data goes to a temporary file
 * beside the target, is synced, and is renamed over it, so a failure never
 * leaves a partial file or harms a previous one. */
#ifndef KILN_SAFETENSORS_WRITE_H
#define KILN_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One tensor to write: dense, row-major. */
typedef struct kiln_st_out_tensor {
  const char *name;
  kiln_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  const void *data;
} kiln_st_out_tensor;

/* Writes the tensors in order, with {"__metadata__": {"format": "pt"}}, each
 * 8-byte aligned in the file. Returns KILN_OK, KILN_ERROR_IO (naming path and
 * the reason) or KILN_ERROR_OUT_OF_MEMORY; messages start with `what`. */
int32_t kiln_st_write(const char *path, const kiln_st_out_tensor *tensors, size_t count,
                      const char *what, kiln_error_slot *err);

#ifdef __cplusplus
}
#endif

#endif /* KILN_SAFETENSORS_WRITE_H */
