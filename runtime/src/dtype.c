/* Element types: sizes, spellings and type formatting for messages. */
#include "dtype.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *manifest;    /* docs/abi.md spelling */
  const char *safetensors; /* the safetensors header's spelling */
  int64_t size;
} kDtypes[KILN_DTYPE_COUNT] = {
#define KILN_DTYPE_ENTRY(e, manifest, safetensors, bytes, c_type)                                  \
  [KILN_DTYPE_##e] = {manifest, safetensors, bytes},
    KILN_DTYPES(KILN_DTYPE_ENTRY)
#undef KILN_DTYPE_ENTRY
};

int64_t kiln_dtype_size(kiln_dtype dtype) {
  return (unsigned)dtype < KILN_DTYPE_COUNT ? kDtypes[dtype].size : 0;
}

const char *kiln_dtype_name(kiln_dtype dtype) {
  return (unsigned)dtype < KILN_DTYPE_COUNT ? kDtypes[dtype].manifest : "?";
}

const char *kiln_dtype_safetensors_name(kiln_dtype dtype) {
  return (unsigned)dtype < KILN_DTYPE_COUNT ? kDtypes[dtype].safetensors : "?";
}

static bool lookup(const char *s, size_t len, bool manifest, kiln_dtype *out) {
  for (int i = 0; i < KILN_DTYPE_COUNT; ++i) {
    const char *name = manifest ? kDtypes[i].manifest : kDtypes[i].safetensors;
    if (strlen(name) == len && memcmp(name, s, len) == 0) {
      *out = (kiln_dtype)i;
      return true;
    }
  }
  return false;
}

bool kiln_dtype_from_manifest(const char *s, size_t len, kiln_dtype *out) {
  return lookup(s, len, true, out);
}

bool kiln_dtype_from_safetensors(const char *s, size_t len, kiln_dtype *out) {
  return lookup(s, len, false, out);
}

void kiln_format_type(char *buf, size_t cap, kiln_dtype dtype, int32_t rank,
                      const int64_t *dims) {
  if (cap == 0)
    return;
  size_t used = 0;
  /* snprintf returns the untruncated length; clamp so we stop at the end. */
#define KILN_APPEND(...)                                                     \
  do {                                                                       \
    if (used < cap) {                                                        \
      int n = snprintf(buf + used, cap - used, __VA_ARGS__);                 \
      used = n < 0 ? cap : used + (size_t)n;                                 \
    }                                                                        \
  } while (0)
  KILN_APPEND("%s[", kiln_dtype_name(dtype));
  for (int32_t i = 0; i < rank; ++i)
    KILN_APPEND("%s%lld", i ? ", " : "", (long long)dims[i]);
  KILN_APPEND("]");
#undef KILN_APPEND
}
