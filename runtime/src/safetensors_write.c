/* kiln_st_write: a .safetensors file written atomically (a temporary file
 * beside the target, fsync, rename). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fsync with -std=c11 */
#include "safetensors_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "kiln/runtime.h"

/* A growing text buffer for the JSON header; `failed` once out of memory. */
typedef struct text {
  char *data;
  size_t len, cap;
  bool failed;
} text;

static void append(text *t, const char *fmt, ...) {
  if (t->failed)
    return;
  for (;;) {
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, args);
    va_end(args);
    if (n < 0) {
      t->failed = true;
      return;
    }
    if (t->data && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
    char *grown = kiln_realloc(t->data, cap);
    if (!grown) {
      t->failed = true;
      return;
    }
    t->data = grown;
    t->cap = cap;
  }
}

/* A JSON string; names are Kiln paths, but any byte is written validly. */
static void append_string(text *t, const char *s) {
  append(t, "\"");
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      append(t, "\\%c", c);
    else if (c < 0x20)
      append(t, "\\u%04x", c);
    else
      append(t, "%c", c);
  }
  append(t, "\"");
}

/* A tensor's size in bytes (its writer checked the sizes). */
static uint64_t tensor_bytes(const kiln_st_out_tensor *t) {
  uint64_t bytes = (uint64_t)kiln_dtype_size(t->dtype);
  for (int32_t d = 0; d < t->rank; ++d)
    bytes *= (uint64_t)t->dims[d];
  return bytes;
}

/* The header: {"__metadata__": {"format": "pt"}, name: {dtype, shape,
 * data_offsets}, ...}, padded with spaces so the data starts 8-aligned. */
static bool build_header(const kiln_st_out_tensor *tensors, size_t count, text *t) {
  uint64_t offset = 0;
  append(t, "{\"__metadata__\":{\"format\":\"pt\"}");
  for (size_t i = 0; i < count; ++i) {
    const kiln_st_out_tensor *p = &tensors[i];
    uint64_t bytes = tensor_bytes(p);
    append(t, ",");
    append_string(t, p->name);
    append(t, ":{\"dtype\":\"%s\",\"shape\":[", kiln_dtype_safetensors_name(p->dtype));
    for (int32_t d = 0; d < p->rank; ++d)
      append(t, "%s%lld", d ? "," : "", (long long)p->dims[d]);
    append(t, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
           (unsigned long long)(offset + bytes));
    offset += bytes;
  }
  append(t, "}");
  while (!t->failed && (8 + t->len) % 8 != 0)
    append(t, " ");
  return !t->failed;
}

static bool write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t written = write(fd, p, n);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += written;
    n -= (size_t)written;
  }
  return true;
}

int32_t kiln_st_write(const char *path, const kiln_st_out_tensor *tensors, size_t count,
                      const char *what, kiln_error_slot *err) {
  text header = {0};
  if (!build_header(tensors, count, &header)) {
    kiln_free(header.data);
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY, "%s: out of memory for the header", what);
  }
  size_t path_len = strlen(path);
  char *temp = kiln_malloc(path_len + sizeof ".tmp-XXXXXX");
  if (!temp) {
    kiln_free(header.data);
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  }
  memcpy(temp, path, path_len);
  memcpy(temp + path_len, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  int fd = mkstemp(temp);
  if (fd < 0) {
    int error = errno;
    kiln_free(header.data);
    kiln_free(temp);
    return kiln_errorf(err, KILN_ERROR_IO, "%s: cannot create a file beside '%s': %s", what, path,
                       strerror(error));
  }
  /* 8 bytes of little-endian header length, the header, the tensors. */
  unsigned char length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
  bool ok = write_all(fd, length, sizeof length) && write_all(fd, header.data, header.len);
  for (size_t i = 0; ok && i < count; ++i)
    ok = write_all(fd, tensors[i].data, (size_t)tensor_bytes(&tensors[i]));
  int error = ok ? 0 : errno;
  if (ok && fsync(fd) != 0) {
    ok = false;
    error = errno;
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && rename(temp, path) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok)
    unlink(temp);
  kiln_free(header.data);
  kiln_free(temp);
  if (!ok)
    return kiln_errorf(err, KILN_ERROR_IO, "%s: cannot write '%s': %s", what, path,
                       strerror(error));
  return KILN_OK;
}
