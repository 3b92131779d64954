/* Makes the oneDNN primitives of a model's static-shape kernel calls at
 * create time (the manifest's "prepare" list), so that the first call of an
 * entry does not pay ~0.4 ms per primitive. Each listed call is replayed
 * through the kernel itself in prepare-only mode (dnnl_cache.h), with dense
 * descriptors and no data: the cache key is built by the same code as at
 * call time, so the call finds the primitive. */
#include "prepare.h"

#include <stdlib.h>
#include <string.h>

#include "dnnl_cache.h"
#include "kernels.h"
#include "memref.h"
#include "parallel.h"

#define MAX_OPERANDS 5

/* Descriptor storage for one operand of rank <= KILN_DNNL_MAX_RANK. */
typedef struct operand_storage {
  int64_t words[(sizeof(kiln_memref) / sizeof(int64_t)) + 2 * KILN_DNNL_MAX_RANK];
} operand_storage;


static void replay(const kiln_prepared_kernel *k, kiln_memref **d) {
  const char *name = k->kernel;
  int64_t r[MAX_OPERANDS];
  for (int32_t i = 0; i < k->num_operands; ++i)
    r[i] = k->operands[i].rank;
  /* The first integer scalar: matmul flags, a softmax axis or a stride. */
  int64_t s0 = k->num_scalars > 0 ? (int64_t)k->scalars[0] : 0;
  if (strcmp(name, "kiln_rt_dnnl_matmul_f32") == 0 && k->num_operands == 3)
    kiln_rt_dnnl_matmul_f32(r[0], d[0], r[1], d[1], r[2], d[2], s0);
  else if (strcmp(name, "kiln_rt_dnnl_matmul_bias_f32") == 0 && k->num_operands == 4)
    kiln_rt_dnnl_matmul_bias_f32(r[0], d[0], r[1], d[1], r[2], d[2], r[3], d[3], s0);
  else if (strcmp(name, "kiln_rt_dnnl_matmul_residual_f32") == 0 && k->num_operands == 4)
    kiln_rt_dnnl_matmul_residual_f32(r[0], d[0], r[1], d[1], r[2], d[2], r[3], d[3], s0);
  else if (strcmp(name, "kiln_rt_dnnl_matmul_bias_residual_f32") == 0 && k->num_operands == 5)
    kiln_rt_dnnl_matmul_bias_residual_f32(r[0], d[0], r[1], d[1], r[2], d[2], r[3], d[3], r[4],
                                          d[4], s0);
  else if (strcmp(name, "kiln_rt_dnnl_softmax_f32") == 0 && k->num_operands == 2)
    kiln_rt_dnnl_softmax_f32(r[0], d[0], r[1], d[1], s0);
  else if (strcmp(name, "kiln_rt_dnnl_conv2d_f32") == 0 && k->num_operands == 4 &&
           k->num_scalars == 2)
    kiln_rt_dnnl_conv2d_f32(r[0], d[0], r[1], d[1], r[2], d[2], r[3], d[3], s0,
                            (int64_t)k->scalars[1]);
  else if (strcmp(name, "kiln_rt_dnnl_layer_norm_f32") == 0 && k->num_operands == 4 &&
           k->num_scalars > 0)
    kiln_rt_dnnl_layer_norm_f32(r[0], d[0], r[1], d[1], r[2], d[2], r[3], d[3], k->scalars[0]);
  /* Anything else is left to its first call. */
}

void kiln_prepare_kernels(const kiln_manifest *m, int32_t threads) {
  int32_t previous_threads = kiln_set_thread_count(threads);
  kiln_dnnl_set_prepare_only(true);
  for (int32_t i = 0; i < m->num_prepared; ++i) {
    const kiln_prepared_kernel *k = &m->prepared[i];
    if (k->num_operands > MAX_OPERANDS)
      continue;
    operand_storage storage[MAX_OPERANDS];
    kiln_memref *d[MAX_OPERANDS];
    bool fits = true;
    for (int32_t j = 0; j < k->num_operands; ++j) {
      d[j] = (kiln_memref *)(void *)&storage[j];
      fits = fits && k->operands[j].rank <= KILN_DNNL_MAX_RANK &&
             kiln_memref_init(d[j], NULL, k->operands[j].rank, k->operands[j].dims);
    }
    if (fits)
      replay(k, d);
  }
  kiln_dnnl_set_prepare_only(false);
  kiln_set_thread_count(previous_threads);
}
