/* weights_file.h: the f32 tensors of a .safetensors file, read whole, for the
 * CLIP training drivers (train.c, train_contrastive.c), which check every
 * tensor of the files they save (frozen ones bit-identical, trained ones
 * against the reference). Header-only, after fixture.h and train_check.h. */
#ifndef KILN_EXAMPLES_CLIP_WEIGHTS_FILE_H
#define KILN_EXAMPLES_CLIP_WEIGHTS_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The f32 tensors of a .safetensors file read whole, in the header's order. Enough for
 * the files these drivers read and write (compact JSON headers, as PyTorch's references
 * and Kiln's save_weights write them), not a general parser. */
#define MAX_TENSORS 96
typedef struct {
  char name[64];
  const float *data;
  size_t numel;
} tensor;
typedef struct {
  size_t count;
  tensor t[MAX_TENSORS];
} weights;

static int parse_weights(const unsigned char *file, size_t size, const char *what, weights *w) {
  static const char kEntry[] = "\":{\"dtype\":\"";
  uint64_t header_len = tc_header_len(file, size);
  char *header = header_len != UINT64_MAX ? fx_alloc(header_len + 1, 1) : NULL;
  w->count = 0;
  if (!header) {
    fprintf(stderr, "error: %s is not a .safetensors file\n", what);
    return 0;
  }
  memcpy(header, file + 8, header_len);
  const size_t data_size = size - 8 - header_len;
  const unsigned char *data = file + 8 + header_len;
  for (const char *at = strstr(header, kEntry); at; at = strstr(at + 1, kEntry)) {
    const char *name = at;
    while (name > header && name[-1] != '"')
      --name;
    unsigned long long begin = 0, end = 0;
    const char *offsets = strstr(at, "\"data_offsets\":[");
    tensor *t = &w->t[w->count];
    if (name == header || (size_t)(at - name) >= sizeof t->name || w->count == MAX_TENSORS ||
        strncmp(at + sizeof kEntry - 1, "F32\"", 4) != 0 || !offsets ||
        sscanf(offsets + 16, "%llu,%llu", &begin, &end) != 2 || begin > end ||
        end > data_size || (end - begin) % sizeof(float) != 0 || begin % sizeof(float) != 0) {
      fprintf(stderr, "error: %s: cannot read the tensor entry at byte %zu of its header\n", what,
              (size_t)(at - header));
      return 0;
    }
    memcpy(t->name, name, (size_t)(at - name));
    t->name[at - name] = '\0';
    t->data = (const float *)(const void *)(data + begin);
    t->numel = (size_t)(end - begin) / sizeof(float);
    ++w->count;
  }
  return 1;
}

static const tensor *find(const weights *w, const char *name) {
  for (size_t i = 0; i < w->count; ++i)
    if (strcmp(w->t[i].name, name) == 0)
      return &w->t[i];
  return NULL;
}

/* Parses `file`, DIR/NAME read whole (NULL when that failed), into *w. */
static int parse_file(const unsigned char *file, size_t size, const char *dir, const char *name,
                      weights *w) {
  char what[4096];
  snprintf(what, sizeof what, "%s/%s", dir, name);
  return file && parse_weights(file, size, what, w);
}

/* Reads DIR/NAME whole and parses it into *w (the bytes are kept for fx_free_all). */
static int read_weights(const char *dir, const char *name, weights *w) {
  size_t size = 0;
  const unsigned char *file = fx_keep(fx_read_whole(dir, name, &size));
  return parse_file(file, size, dir, name, w);
}

#endif /* KILN_EXAMPLES_CLIP_WEIGHTS_FILE_H */
