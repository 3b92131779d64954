/* libFuzzer target: one input as a model's weights file, through the create
 * path (kiln_rt_create: safetensors header JSON, dtypes, shapes, offsets,
 * the no-holes/no-overlap rule, alignment, binding to the manifest's
 * parameters). The file is an in-memory file (memfd) so the mapping code
 * runs as for a real one.
 *
 * Failures: a crash or sanitizer report; a create that fails without a
 * message; a create that succeeds with parameters whose bytes differ from the
 * input's (the runtime must hand the kernels exactly the file's tensors). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_model.h"
#include "kiln/runtime.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("weights.safetensors", 0);
  if (fd < 0)
    return 0; /* no memfd here: nothing to test */
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

  kiln_model *model = NULL;
  kiln_options options = {.num_threads = 1};
  int32_t status = kiln_rt_create(kiln_fuzz_manifest, strlen(kiln_fuzz_manifest),
                                  kiln_fuzz_entries, KILN_FUZZ_NUM_ENTRIES, path, &options,
                                  &model);
  if (status != KILN_OK) {
    const char *message = kiln_rt_last_error(NULL);
    if (model || !message || !*message)
      kiln_fuzz_fail("create failed without a message or left a model behind");
  } else {
    /* Each parameter's bytes are the file's bytes at its data_offsets, after
     * the 8-byte length and the header. */
    uint64_t header_len = 0;
    for (int i = 0; i < 8; ++i)
      header_len |= (uint64_t)data[i] << (8 * i);
    if (size < 8 || header_len > size - 8)
      kiln_fuzz_fail("a file shorter than its header was accepted");
    const unsigned char *section = data + 8 + header_len;
    const kiln_weights *w = &model->weights;
    for (int32_t i = 0; i < w->num_params; ++i) {
      const kiln_st_tensor *t = kiln_st_find(&w->file, model->manifest.params[i].name);
      if (!t || t->begin > t->end || t->end > size - 8 - header_len)
        kiln_fuzz_fail("a bound parameter lies outside the file");
      if (memcmp(w->data[i], section + t->begin, (size_t)(t->end - t->begin)) != 0)
        kiln_fuzz_fail("a parameter's bytes differ from the file's");
      if ((uintptr_t)w->data[i] % (uintptr_t)kiln_dtype_size(t->dtype) != 0)
        kiln_fuzz_fail("a parameter is not aligned to its element size");
    }
    kiln_rt_destroy(model);
  }
  close(fd);
  return 0;
}
