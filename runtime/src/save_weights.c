/* kiln_rt_save_weights: the parameters as a .safetensors file (runtime.h),
 * written atomically (safetensors_write.h). */
#include <stdlib.h>

#include "alloc.h"
#include "model.h"
#include "safetensors_write.h"

int32_t kiln_rt_save_weights(kiln_model *m, const char *path) {
  if (!m)
    return kiln_errorf(NULL, KILN_ERROR_INVALID_ARGUMENT, "save_weights: the model is NULL");
  if (!path || !*path)
    return kiln_errorf(&m->error, KILN_ERROR_INVALID_ARGUMENT, "save_weights: no path given");
  int32_t n = m->manifest.num_params;
  kiln_st_out_tensor *tensors = kiln_calloc(n > 0 ? (size_t)n : 1, sizeof *tensors);
  if (!tensors)
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY, "save_weights: out of memory");
  for (int32_t i = 0; i < n; ++i) {
    const kiln_tensor_spec *p = &m->manifest.params[i];
    tensors[i] = (kiln_st_out_tensor){p->name, p->dtype, p->rank, p->dims, m->weights.data[i]};
  }
  int32_t status = kiln_st_write(path, tensors, (size_t)n, "save_weights", &m->error);
  kiln_free(tensors);
  return status;
}
