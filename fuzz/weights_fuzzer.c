/* libFuzzer target: one input as a model's weights file, through the create
 * path (kiln_rt_create: safetensors header JSON, dtypes, shapes, offsets,
 * the no-holes/no-overlap rule, alignment, binding to the manifest's
 * parameters), from an in-memory file (kiln_fuzz_create).
 *
 * Failures: a crash or sanitizer report; a create that fails without a
 * message; a create that succeeds with parameters whose bytes differ from the
 * input's (the runtime must hand the kernels exactly the file's tensors). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"
#include "kiln/runtime.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln_model *model = NULL;
  int32_t status = kiln_fuzz_create(data, size, &model);
  if (status < 0)
    return 0; /* no in-memory file here: nothing to test */
  if (status != KILN_OK) {
    const char *message = kiln_rt_last_error(NULL);
    if (model || !message || !*message)
      kiln_fuzz_fail("create failed without a message or left a model behind");
  } else {
    /* Each parameter's bytes are the file's bytes at its data_offsets, after
     * the 8-byte length and the header. */
    if (size < 8)
      kiln_fuzz_fail("a file shorter than its header length was accepted");
    uint64_t header_len = 0;
    for (int i = 0; i < 8; ++i)
      header_len |= (uint64_t)data[i] << (8 * i);
    if (header_len > size - 8)
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
  return 0;
}
