/* kiln_rt_dnnl_matmul*_f32: matmuls and linear layers on oneDNN, through the
 * primitive cache of dnnl_cache.h. Transposed operands are described by their
 * strides: PyTorch's Linear weight [O, K] is used in place, without a
 * reordered copy, so weights updated in place by a training step are always
 * read fresh.
 *
 * If oneDNN cannot create a primitive (it should not for these shapes), the
 * call falls back to a plain loop with the same semantics rather than fail:
 * kernels have no error channel. */
#include <stdbool.h>

#include "kiln/abi.h"
#include "matmul_problem.h"

static dnnl_alg_kind_t eltwise_kind(int32_t activation) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return dnnl_eltwise_relu;
  case KILN_ACTIVATION_GELU_ERF:
    return dnnl_eltwise_gelu_erf;
  case KILN_ACTIVATION_GELU_TANH:
    return dnnl_eltwise_gelu_tanh;
  case KILN_ACTIVATION_SILU:
  case KILN_ACTIVATION_QUICK_GELU:
    return dnnl_eltwise_swish; /* x sigmoid(alpha x) */
  default:
    return dnnl_eltwise_logistic;
  }
}

/* The eltwise post-op's alpha: swish's scale; relu's negative slope (0);
 * unused by the others. */
static float eltwise_alpha(int32_t activation) {
  switch (activation) {
  case KILN_ACTIVATION_SILU:
    return 1.0f;
  case KILN_ACTIVATION_QUICK_GELU:
    return KILN_QUICK_GELU_SCALE;
  default:
    return 0.0f;
  }
}

static dnnl_primitive_t create_primitive(const void *key, dnnl_engine_t engine) {
  const kiln_matmul_problem *p = key;
  dnnl_memory_desc_t a, b, c, bias, residual;
  if (!kiln_dnnl_describe(&a, &p->a) || !kiln_dnnl_describe(&b, &p->b) ||
      !kiln_dnnl_describe(&c, &p->c) || (p->has_bias && !kiln_dnnl_describe(&bias, &p->bias)) ||
      (p->has_residual && !kiln_dnnl_describe(&residual, &p->residual)))
    return NULL;
  dnnl_matmul_desc_t desc;
  if (dnnl_matmul_desc_init(&desc, &a, &b, p->has_bias ? &bias : NULL, &c) != dnnl_success)
    return NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  dnnl_primitive_t primitive = NULL;
  bool ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
            dnnl_post_ops_create(&post_ops) == dnnl_success;
  if (ok && p->activation != KILN_ACTIVATION_NONE)
    ok = dnnl_post_ops_append_eltwise(post_ops, 1.0f, eltwise_kind(p->activation),
                                      eltwise_alpha(p->activation), 0.0f) == dnnl_success;
  if (ok && p->has_residual)
    ok = dnnl_post_ops_append_binary(post_ops, dnnl_binary_add, &residual) == dnnl_success;
  if (ok)
    ok = dnnl_primitive_attr_set_post_ops(attr, post_ops) == dnnl_success;
  if (ok)
    primitive = kiln_dnnl_make_primitive(&desc, attr, engine);
  if (post_ops)
    dnnl_post_ops_destroy(post_ops);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return primitive;
}

/* Runs p on oneDNN; false when it cannot. */
static bool run(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  kiln_dnnl_arg args[5] = {
      {DNNL_ARG_SRC, &p->a, d->a}, {DNNL_ARG_WEIGHTS, &p->b, d->b}, {DNNL_ARG_DST, &p->c, d->c}};
  int count = 3;
  if (p->has_bias)
    args[count++] = (kiln_dnnl_arg){DNNL_ARG_BIAS, &p->bias, d->bias};
  if (p->has_residual)
    args[count++] = (kiln_dnnl_arg){
        DNNL_ARG_ATTR_MULTIPLE_POST_OP(p->activation != KILN_ACTIVATION_NONE ? 1 : 0) |
            DNNL_ARG_SRC_1,
        &p->residual, d->residual};
  return kiln_dnnl_run(create_primitive, p, sizeof *p, args, count, p->threads);
}

/* oneDNN's matmul, else the plain loop. */
static void run_or_fall_back(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  if (!run(p, d)) {
    kiln_dnnl_count_fallback();
    kiln_matmul_reference(p, d);
  }
}

KILN_DEFINE_MATMUL_KERNELS(dnnl, run_or_fall_back)
