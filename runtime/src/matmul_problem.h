/* A matmul kernel's problem as both matmul kernels read it (oneDNN's,
 * kernel_dnnl_matmul.c, and Kiln's own, kernel_native_matmul.c):
 * c = act(a @ b + bias) + residual over the operands' logical dims, transposes
 * undone and batch dims broadcast, and the plain loop that defines the result. */
#ifndef KILN_MATMUL_PROBLEM_H
#define KILN_MATMUL_PROBLEM_H

#include <stdbool.h>
#include <stdint.h>

#include "dnnl_cache.h"
#include "kernels.h"

/* The ranks a matmul kernel takes (kiln-select-kernels sends ranks 2 to 4). */
#define KILN_MATMUL_MAX_RANK 4

/* One operand: logical dims (transposes undone) and element strides. */
typedef kiln_dnnl_tensor kiln_matmul_operand;

/* A matmul problem, also oneDNN's primitive cache key: zeroed, then filled. */
typedef struct kiln_matmul_problem {
  kiln_matmul_operand a, b, c, bias, residual;
  bool has_bias, has_residual;
  int32_t activation;
  int32_t threads;
} kiln_matmul_problem;

/* The address of element 0 of each operand, in problem order. */
typedef struct kiln_matmul_data {
  float *a, *b, *c, *bias, *residual;
} kiln_matmul_data;

/* Reads a kernel's operands (bias and residual may be NULL) and its flags
 * (kiln/abi.h), for the calling thread's thread count. The result has equal
 * ranks and, when b has no batch (a linear layer), a's and c's batch dims
 * folded into their rows where their strides allow: [B, S, K] -> [B S, K]. */
void kiln_matmul_problem_of(kiln_matmul_problem *p, kiln_matmul_data *d, const kiln_memref *a,
                            int64_t a_rank, const kiln_memref *b, int64_t b_rank,
                            const kiln_memref *bias, int64_t bias_rank, const kiln_memref *residual,
                            int64_t residual_rank, kiln_memref *c, int64_t c_rank, int64_t flags);

/* Computes a problem: oneDNN's matmul or Kiln's own. */
typedef void (*kiln_matmul_fn)(const kiln_matmul_problem *p, const kiln_matmul_data *d);

/* Reads a kernel's operands (kiln_matmul_problem_of) and has `run` compute them. */
void kiln_matmul_call(kiln_matmul_fn run, const kiln_memref *a, int64_t a_rank,
                      const kiln_memref *b, int64_t b_rank, const kiln_memref *bias,
                      int64_t bias_rank, const kiln_memref *residual, int64_t residual_rank,
                      kiln_memref *c, int64_t c_rank, int64_t flags);

/* Defines a library's four kernels, kiln_rt_<library>_matmul{,_bias}{,_residual}_f32
 * (kernels.h), over its kiln_matmul_fn. */
#define KILN_DEFINE_MATMUL_KERNELS(library, run)                                                   \
  void kiln_rt_##library##_matmul_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(c),  \
                                      int64_t flags) {                                             \
    kiln_matmul_call(run, a, a_rank, b, b_rank, NULL, 0, NULL, 0, c, c_rank, flags);               \
  }                                                                                                \
  void kiln_rt_##library##_matmul_bias_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),                 \
                                           KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(c),              \
                                           int64_t flags) {                                        \
    kiln_matmul_call(run, a, a_rank, b, b_rank, bias, bias_rank, NULL, 0, c, c_rank, flags);       \
  }                                                                                                \
  void kiln_rt_##library##_matmul_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),             \
                                               KILN_MEMREF_ARG(residual), KILN_MEMREF_ARG(c),      \
                                               int64_t flags) {                                    \
    kiln_matmul_call(run, a, a_rank, b, b_rank, NULL, 0, residual, residual_rank, c, c_rank,       \
                     flags);                                                                       \
  }                                                                                                \
  void kiln_rt_##library##_matmul_bias_residual_f32(                                               \
      KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(residual),    \
      KILN_MEMREF_ARG(c), int64_t flags) {                                                         \
    kiln_matmul_call(run, a, a_rank, b, b_rank, bias, bias_rank, residual, residual_rank, c,       \
                     c_rank, flags);                                                               \
  }

/* The offset of element idx (an index of o's rank) in o, its size-1 dims
 * broadcast. */
int64_t kiln_matmul_element(const kiln_matmul_operand *o, const int64_t *idx);

/* act(x) for a KILN_ACTIVATION_* code, in libm's precision. */
float kiln_matmul_activate(int32_t activation, float x);

/* The result by the definition: one element at a time, sums in double. */
void kiln_matmul_reference(const kiln_matmul_problem *p, const kiln_matmul_data *d);

#endif /* KILN_MATMUL_PROBLEM_H */
