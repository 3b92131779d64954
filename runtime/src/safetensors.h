/* Reading .safetensors files: an 8-byte little-endian header length, a JSON
 * header {name: {"dtype", "shape", "data_offsets"}, "__metadata__": ...},
 * then the data section. The file is mapped read-only and fully validated. */
#ifndef KILN_SAFETENSORS_H
#define KILN_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted header; the reference implementation uses the same cap. */
#define KILN_ST_MAX_HEADER ((uint64_t)100 << 20)

typedef struct kiln_st_tensor {
  char *name; /* NUL-terminated, no embedded NULs */
  kiln_dtype dtype;
  int32_t rank;
  int64_t *shape;
  uint64_t begin, end;       /* data_offsets, relative to the data section */
  const unsigned char *data; /* begin's address inside the file's bytes */
} kiln_st_tensor;

typedef struct kiln_st_file {
  void *map; /* the mapping or copy (NULL for kiln_st_parse); owned */
  size_t map_size;
  bool copied; /* map is a kiln_large_alloc copy, not a mapping */
  kiln_st_tensor *tensors; /* in header order, __metadata__ left out */
  size_t count;
  kiln_st_tensor **by_name; /* the tensors sorted by name, for kiln_st_find */
  uint64_t data_offset;     /* where the data section starts: 8 + the header's length */
} kiln_st_file;

/* Opens, maps and validates path. Returns KILN_OK, KILN_ERROR_IO,
 * KILN_ERROR_FORMAT or KILN_ERROR_OUT_OF_MEMORY with a message in err (NULL:
 * this thread's slot). On failure *out is empty and nothing is left open. */
int32_t kiln_st_open(const char *path, kiln_st_file *out, kiln_error_slot *err);

/* The same, reading the file into anonymous memory (large_alloc.h) instead
 * of mapping it: for weights a train step rewrites, where each first write
 * to a page of a private file mapping would fault and copy it. */
int32_t kiln_st_open_copy(const char *path, kiln_st_file *out, kiln_error_slot *err);

/* The same for a file's bytes already in memory (weights compiled into a
 * library): with copy, read into anonymous memory as kiln_st_open_copy does
 * (bytes may then go away); without, parsed in place (kiln_st_parse). */
int32_t kiln_st_open_memory(const unsigned char *bytes, size_t size, bool copy, const char *path,
                            kiln_st_file *out, kiln_error_slot *err);

/* Validates the file contents bytes[0..size) (which must outlive *out); path
 * is only used in messages. Same statuses as kiln_st_open, minus IO. */
int32_t kiln_st_parse(const unsigned char *bytes, size_t size, const char *path,
                      kiln_st_file *out, kiln_error_slot *err);

/* The tensor called name, or NULL. */
const kiln_st_tensor *kiln_st_find(const kiln_st_file *f, const char *name);

/* Unmaps and frees; the file becomes empty. Safe on an empty file. */
void kiln_st_close(kiln_st_file *f);

#ifdef __cplusplus
}
#endif

#endif /* KILN_SAFETENSORS_H */
