/* oneDNN for the runtime's kernels: one CPU engine, a process-wide cache of
 * primitives, and execution on the calling thread's OpenMP team.
 *
 * oneDNN 2.6 is fast only with shapes fixed when a primitive is created, so
 * each distinct problem (shapes, strides, attributes, thread count) gets its
 * primitive once; later calls only bind the caller's buffers (no copies) and
 * execute. Problems are keyed by the bytes of a plain struct describing them,
 * which callers zero before filling so that padding compares equal. */
#ifndef KILN_DNNL_CACHE_H
#define KILN_DNNL_CACHE_H

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/abi.h"
#include "memref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A strided f32 tensor as oneDNN sees it. */
typedef struct kiln_dnnl_tensor {
  int32_t rank;
  int64_t dims[KILN_KERNEL_MAX_RANK];
  int64_t strides[KILN_KERNEL_MAX_RANK];
} kiln_dnnl_tensor;

/* The view of a memref descriptor of this rank (<= KILN_KERNEL_MAX_RANK), and
 * the address of its element 0 in *data. Zeroes unused dims, so that keys
 * built from views compare bytewise. */
kiln_dnnl_tensor kiln_dnnl_tensor_of(const kiln_memref *m, int64_t rank, float **data);

/* A primitive for an op descriptor (dnnl_*_desc_t) and attributes (NULL:
 * defaults); NULL when oneDNN declines. */
dnnl_primitive_t kiln_dnnl_make_primitive(const void *op_desc, const_dnnl_primitive_attr_t attr,
                                          dnnl_engine_t engine);

/* Makes the primitive for a problem key; NULL when oneDNN declines. */
typedef dnnl_primitive_t (*kiln_dnnl_create_fn)(const void *key, dnnl_engine_t engine);

/* A memory descriptor for t (f32); false when oneDNN rejects it. */
bool kiln_dnnl_describe(dnnl_memory_desc_t *md, const kiln_dnnl_tensor *t);

/* One execution argument: the oneDNN argument index, the tensor and its data. */
typedef struct kiln_dnnl_arg {
  int index;
  const kiln_dnnl_tensor *tensor;
  void *data;
} kiln_dnnl_arg;

/* Runs the problem `key` (made by `create`, cached) on args (at most 8) with
 * `threads` OpenMP threads, the workers pinned (parallel.h); the caller's
 * OpenMP setting is restored. False when oneDNN cannot serve it: the kernel
 * then computes the result its own way. In prepare-only mode (prepare.h) it
 * only makes the primitive and reports true (there is nothing to compute). */
bool kiln_dnnl_run(kiln_dnnl_create_fn create, const void *key, size_t key_size,
                   const kiln_dnnl_arg *args, int count, int32_t threads);

/* How many primitives the cache holds (for tests). */
int32_t kiln_dnnl_cache_size(void);

/* Counts a call that oneDNN could not serve (kiln_rt_dnnl_fallbacks). */
void kiln_dnnl_count_fallback(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_DNNL_CACHE_H */
