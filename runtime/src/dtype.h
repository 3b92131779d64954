/* Element types, their sizes and spellings (manifest and safetensors), and
 * the "f32[64, 128]" formatting used in error messages. */
#ifndef KILN_DTYPE_H
#define KILN_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* KILN_DTYPE_F32, ... in kiln/abi.h's KILN_DTYPES order. */
typedef enum kiln_dtype {
#define KILN_DTYPE_ENUMERATOR(e, manifest, safetensors, bytes, c_type) KILN_DTYPE_##e,
  KILN_DTYPES(KILN_DTYPE_ENUMERATOR)
#undef KILN_DTYPE_ENUMERATOR
      KILN_DTYPE_COUNT
} kiln_dtype;

/* Bytes per element (bool is one byte). */
int64_t kiln_dtype_size(kiln_dtype dtype);

/* The manifest spelling, e.g. "f32"; also used in messages. */
const char *kiln_dtype_name(kiln_dtype dtype);

/* The safetensors spelling, e.g. "F32". */
const char *kiln_dtype_safetensors_name(kiln_dtype dtype);

/* Looks up a manifest spelling ("f32") or a safetensors one ("F32");
 * len bytes, no NUL needed. False when unknown. */
bool kiln_dtype_from_manifest(const char *s, size_t len, kiln_dtype *out);
bool kiln_dtype_from_safetensors(const char *s, size_t len, kiln_dtype *out);

/* Writes "f32[64, 128]" (or "f32[]" for a scalar) into buf, truncating to cap. */
void kiln_format_type(char *buf, size_t cap, kiln_dtype dtype, int32_t rank,
                      const int64_t *dims);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DTYPE_H */
