/* Safetensors: map the file read-only and validate every byte we will trust.
 * Nothing here reads outside [0, size): the header length is checked against
 * the file size before the header is parsed, and every tensor's offsets
 * against the data section before its data pointer is formed. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* open, fstat, mmap with -std=c11 */
#endif

#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "checked.h"
#include "large_alloc.h"
#include "json.h"
#include "kiln/runtime.h"

/* Checks one header entry and fills t (whose name is already set). */
static int32_t parse_tensor(const kiln_json *v, const char *path, uint64_t data_size,
                            kiln_st_tensor *t, kiln_error_slot *err) {
  const char *name = t->name;
  if (v->kind != KILN_JSON_OBJECT)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' is not described by a JSON object",
                       name, path);

  const kiln_json *dtype = kiln_json_get(v, "dtype");
  if (!dtype || dtype->kind != KILN_JSON_STRING)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has no \"dtype\" string", name, path);
  if (!kiln_dtype_from_safetensors(dtype->u.string.chars, dtype->u.string.len, &t->dtype))
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has unsupported dtype \"%.32s\" "
                       "(supported: F32 F64 F16 BF16 I64 I32 I8 U8 BOOL)",
                       name, path, dtype->u.string.chars);

  const kiln_json *shape = kiln_json_get(v, "shape");
  if (!shape || shape->kind != KILN_JSON_ARRAY || shape->u.array.count > INT32_MAX)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has no \"shape\" array", name, path);
  t->rank = (int32_t)shape->u.array.count;
  if (t->rank > 0 && !(t->shape = kiln_calloc((size_t)t->rank, sizeof *t->shape)))
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory while reading weights file '%s'", path);
  int64_t bytes = kiln_dtype_size(t->dtype); /* numel * element size */
  bool overflow = false;
  for (int32_t i = 0; i < t->rank; ++i) {
    const kiln_json *d = &shape->u.array.items[i];
    if (d->kind != KILN_JSON_INT || d->u.integer < 0)
      return kiln_errorf(err, KILN_ERROR_FORMAT,
                         "tensor '%s' in weights file '%s' has a shape that is not an array "
                         "of non-negative integers",
                         name, path);
    t->shape[i] = d->u.integer;
    overflow |= !kiln_mul_i64(bytes, d->u.integer, &bytes);
  }
  /* Checked after the loop: a later 0 dim does not excuse an overflow, since
   * row-major strides would still overflow. */
  if (overflow)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has a shape whose size overflows",
                       name, path);

  const kiln_json *offsets = kiln_json_get(v, "data_offsets");
  if (!offsets || offsets->kind != KILN_JSON_ARRAY || offsets->u.array.count != 2 ||
      offsets->u.array.items[0].kind != KILN_JSON_INT ||
      offsets->u.array.items[1].kind != KILN_JSON_INT ||
      offsets->u.array.items[0].u.integer < 0 || offsets->u.array.items[1].u.integer < 0)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has no \"data_offsets\" pair of "
                       "non-negative integers",
                       name, path);
  t->begin = (uint64_t)offsets->u.array.items[0].u.integer;
  t->end = (uint64_t)offsets->u.array.items[1].u.integer;
  if (t->begin > t->end)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has data_offsets [%llu, %llu] "
                       "that end before they begin",
                       name, path, (unsigned long long)t->begin, (unsigned long long)t->end);
  if (t->end > data_size)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "weights file '%s' is truncated or has bad offsets: tensor '%s' "
                       "spans data bytes [%llu, %llu) but the data section has %llu bytes",
                       path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)data_size);
  if (t->end - t->begin != (uint64_t)bytes) {
    char type[256];
    kiln_format_type(type, sizeof type, t->dtype, t->rank, t->shape);
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "tensor '%s' in weights file '%s' has %llu bytes of data "
                       "(data_offsets [%llu, %llu]) but %s needs %lld",
                       name, path, (unsigned long long)(t->end - t->begin),
                       (unsigned long long)t->begin, (unsigned long long)t->end, type,
                       (long long)bytes);
  }
  return KILN_OK;
}

static int compare_by_name(const void *a, const void *b) {
  return strcmp((*(kiln_st_tensor *const *)a)->name, (*(kiln_st_tensor *const *)b)->name);
}

static int compare_by_offsets(const void *a, const void *b) {
  const kiln_st_tensor *x = *(kiln_st_tensor *const *)a, *y = *(kiln_st_tensor *const *)b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return (x->end > y->end) - (x->end < y->end);
}

/* The format requires the data section to be fully indexed: the tensors'
 * byte ranges, in offset order, start at 0, touch without overlapping and end
 * at the end of the file. */
static int32_t check_coverage(const kiln_st_file *f, const char *path, uint64_t data_size,
                              kiln_error_slot *err) {
  kiln_st_tensor **order = f->count ? kiln_malloc(f->count * sizeof *order) : NULL;
  if (f->count && !order)
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory while reading weights file '%s'", path);
  for (size_t i = 0; i < f->count; ++i)
    order[i] = &f->tensors[i];
  if (order) /* qsort's array may not be NULL, even empty */
    qsort(order, f->count, sizeof *order, compare_by_offsets);
  int32_t status = KILN_OK;
  uint64_t covered = 0;
  const kiln_st_tensor *previous = NULL;
  for (size_t i = 0; status == KILN_OK && i < f->count; ++i) {
    const kiln_st_tensor *t = order[i];
    if (t->begin < covered)
      status = kiln_errorf(err, KILN_ERROR_FORMAT,
                           "weights file '%s' has overlapping tensors: '%s' [%llu, %llu) and "
                           "'%s' [%llu, %llu)",
                           path, previous->name, (unsigned long long)previous->begin,
                           (unsigned long long)previous->end, t->name,
                           (unsigned long long)t->begin, (unsigned long long)t->end);
    else if (t->begin > covered)
      status = kiln_errorf(err, KILN_ERROR_FORMAT,
                           "weights file '%s' has %llu bytes that no tensor indexes, [%llu, "
                           "%llu) before tensor '%s' (the data must be fully indexed)",
                           path, (unsigned long long)(t->begin - covered),
                           (unsigned long long)covered, (unsigned long long)t->begin, t->name);
    covered = t->end;
    previous = t;
  }
  if (status == KILN_OK && covered < data_size && previous)
    status = kiln_errorf(err, KILN_ERROR_FORMAT,
                         "weights file '%s' has %llu bytes after its last tensor '%s' (the "
                         "data must be fully indexed)",
                         path, (unsigned long long)(data_size - covered), previous->name);
  else if (status == KILN_OK && covered < data_size)
    status = kiln_errorf(err, KILN_ERROR_FORMAT,
                         "weights file '%s' has %llu bytes of data but no tensor (the data "
                         "must be fully indexed)",
                         path, (unsigned long long)data_size);
  kiln_free(order);
  return status;
}

int32_t kiln_st_parse(const unsigned char *bytes, size_t size, const char *path,
                      kiln_st_file *out, kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  if (size < 8)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "weights file '%s' is truncated: it has %zu bytes, fewer than the "
                       "8-byte header length",
                       path, size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = header_len << 8 | bytes[i];
  if (header_len > KILN_ST_MAX_HEADER)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "weights file '%s' is not a safetensors file: its header length "
                       "field says %llu bytes (at most %llu allowed)",
                       path, (unsigned long long)header_len,
                       (unsigned long long)KILN_ST_MAX_HEADER);
  if (header_len > size - 8)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "weights file '%s' is truncated: header says %llu bytes but the file "
                       "has only %zu bytes after the 8-byte length",
                       path, (unsigned long long)header_len, size - 8);

  kiln_json header;
  kiln_json_error jerr;
  kiln_json_status js = kiln_json_parse((const char *)bytes + 8, (size_t)header_len,
                                        &header, &jerr);
  if (js == KILN_JSON_OUT_OF_MEMORY)
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory while reading the header of weights file '%s'", path);
  if (js != KILN_JSON_OK)
    return kiln_errorf(err, KILN_ERROR_FORMAT,
                       "weights file '%s' has an invalid JSON header: %s at byte %zu of the "
                       "header",
                       path, jerr.message, jerr.offset);

  int32_t status = KILN_OK;
  const unsigned char *data = bytes + 8 + header_len;
  uint64_t data_size = size - 8 - header_len;
  size_t members = header.kind == KILN_JSON_OBJECT ? header.u.object.count : 0;
  if (header.kind != KILN_JSON_OBJECT) {
    status = kiln_errorf(err, KILN_ERROR_FORMAT,
                         "weights file '%s' has a JSON header that is not an object", path);
  } else if (members > 0 && (!(out->tensors = kiln_calloc(members, sizeof *out->tensors)) ||
                             !(out->by_name = kiln_malloc(members * sizeof *out->by_name)))) {
    status = kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                         "out of memory while reading weights file '%s'", path);
  }
  for (size_t i = 0; status == KILN_OK && i < members; ++i) {
    kiln_json_member *m = &header.u.object.members[i];
    if (kiln_json_equals(m->key, m->key_len, "__metadata__"))
      continue; /* free-form; not ours to judge */
    if (strlen(m->key) != m->key_len) {
      status = kiln_errorf(err, KILN_ERROR_FORMAT,
                           "weights file '%s' has a tensor name containing a NUL byte", path);
      break;
    }
    kiln_st_tensor *t = &out->tensors[out->count++];
    t->name = m->key; /* taken over from the JSON tree below */
    m->key = NULL;
    out->by_name[out->count - 1] = t;
    status = parse_tensor(&m->value, path, data_size, t, err);
    if (status == KILN_OK)
      t->data = data + t->begin; /* in bounds: begin <= end <= data_size */
  }
  /* Keys moved into tensors were set to NULL above, so this frees the rest. */
  kiln_json_free(&header);
  if (status == KILN_OK)
    status = check_coverage(out, path, data_size, err);
  if (status != KILN_OK) {
    kiln_st_close(out);
    return status;
  }
  if (out->count > 1)
    qsort(out->by_name, out->count, sizeof *out->by_name, compare_by_name);
  out->data_offset = 8 + header_len;
  return KILN_OK;
}

const kiln_st_tensor *kiln_st_find(const kiln_st_file *f, const char *name) {
  size_t lo = 0, hi = f->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(f->by_name[mid]->name, name);
    if (c == 0)
      return f->by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* The whole of fd's size bytes read into a fresh kiln_large_alloc buffer, or NULL with errno
 * set. */
static void *read_copy(int fd, size_t size) {
  unsigned char *buf = kiln_large_alloc(size);
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  for (size_t done = 0; done < size;) {
    ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO; /* the file shrank under us */
      kiln_large_free(buf, size);
      errno = e;
      return NULL;
    }
    done += (size_t)n;
  }
  return buf;
}

/* Parses bytes[0..size) that *out then owns: a private mapping, or with
 * copied a kiln_large_alloc copy. On failure they are released. */
static int32_t parse_owned(void *bytes, size_t size, bool copied, const char *path,
                           kiln_st_file *out, kiln_error_slot *err) {
  int32_t status = kiln_st_parse(bytes, size, path, out, err);
  if (status != KILN_OK) {
    if (copied)
      kiln_large_free(bytes, size);
    else
      munmap(bytes, size);
    return status;
  }
  out->map = bytes;
  out->map_size = size;
  out->copied = copied;
  return KILN_OK;
}

static int32_t open_file(const char *path, bool copy, kiln_st_file *out, kiln_error_slot *err) {
  memset(out, 0, sizeof *out);
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return kiln_errorf(err, KILN_ERROR_IO, "cannot open weights file '%s': %s", path,
                       strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return kiln_errorf(err, KILN_ERROR_IO, "cannot stat weights file '%s': %s", path,
                       strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return kiln_errorf(err, KILN_ERROR_IO, "weights file '%s' is not a regular file", path);
  }
  if ((uint64_t)st.st_size > SIZE_MAX) {
    close(fd);
    return kiln_errorf(err, KILN_ERROR_IO, "weights file '%s' is too large to map", path);
  }
  size_t size = (size_t)st.st_size;
  void *map = NULL;
  if (size >= 8 && copy) { /* smaller files are reported by kiln_st_parse */
    map = read_copy(fd, size);
    if (!map) {
      int e = errno;
      close(fd);
      return kiln_errorf(err, e == ENOMEM ? KILN_ERROR_OUT_OF_MEMORY : KILN_ERROR_IO,
                         "cannot read weights file '%s': %s", path, strerror(e));
    }
  } else if (size >= 8) { /* mmap rejects size 0 */
    /* Writable and private: weights updated in place change the process's
     * pages, copied on write, never the file. */
    map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int e = errno;
      close(fd);
      return kiln_errorf(err, KILN_ERROR_IO, "cannot map weights file '%s': %s", path,
                         strerror(e));
    }
  }
  close(fd); /* the mapping keeps the file alive */
  if (!map) { /* under 8 bytes kiln_st_parse reports the truncation without reading */
    static const unsigned char unmapped[8];
    return kiln_st_parse(unmapped, size, path, out, err);
  }
  return parse_owned(map, size, copy, path, out, err);
}

int32_t kiln_st_open(const char *path, kiln_st_file *out, kiln_error_slot *err) {
  return open_file(path, false, out, err);
}

int32_t kiln_st_open_copy(const char *path, kiln_st_file *out, kiln_error_slot *err) {
  return open_file(path, true, out, err);
}

int32_t kiln_st_open_memory(const unsigned char *bytes, size_t size, bool copy, const char *path,
                            kiln_st_file *out, kiln_error_slot *err) {
  if (!copy || size < 8) /* kiln_st_parse reports short files without reading */
    return kiln_st_parse(bytes, size, path, out, err);
  unsigned char *buf = kiln_large_alloc(size);
  if (!buf) {
    memset(out, 0, sizeof *out);
    return kiln_errorf(err, KILN_ERROR_OUT_OF_MEMORY,
                       "out of memory copying weights '%s' (%zu bytes)", path, size);
  }
  memcpy(buf, bytes, size);
  return parse_owned(buf, size, true, path, out, err);
}

void kiln_st_close(kiln_st_file *f) {
  for (size_t i = 0; f->tensors && i < f->count; ++i) {
    kiln_free(f->tensors[i].name);
    kiln_free(f->tensors[i].shape);
  }
  kiln_free(f->tensors);
  kiln_free(f->by_name);
  if (f->map && f->copied)
    kiln_large_free(f->map, f->map_size);
  else if (f->map)
    munmap(f->map, f->map_size);
  memset(f, 0, sizeof *f);
}
