/* kiln_rt_dnnl_softmax_f32 and kiln_rt_dnnl_layer_norm_f32: softmax and
 * layer normalization on oneDNN (forward inference), through the primitive
 * cache of dnnl_cache.h, with plain-loop fallbacks of the same semantics for
 * a problem oneDNN declines. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "dnnl_cache.h"
#include "kernels.h"
#include "parallel.h"

/* The cache keys: zeroed, then filled. */
typedef struct softmax_problem {
  kiln_dnnl_tensor x, out;
  int32_t axis, threads;
} softmax_problem;

typedef struct layer_norm_problem {
  kiln_dnnl_tensor x, out, scale, shift;
  float eps;
  int32_t threads;
} layer_norm_problem;

static dnnl_primitive_t create_softmax(const void *key, dnnl_engine_t engine) {
  const softmax_problem *p = key;
  dnnl_memory_desc_t x, out;
  dnnl_softmax_v2_desc_t desc;
  if (!kiln_dnnl_describe(&x, &p->x) || !kiln_dnnl_describe(&out, &p->out) ||
      dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference, dnnl_softmax_accurate, &x,
                                        &out, p->axis) != dnnl_success)
    return NULL;
  return kiln_dnnl_make_primitive(&desc, NULL, engine);
}

static dnnl_primitive_t create_layer_norm(const void *key, dnnl_engine_t engine) {
  const layer_norm_problem *p = key;
  dnnl_memory_desc_t x;
  dnnl_layer_normalization_desc_t desc;
  /* oneDNN takes one descriptor for source and destination: out must have
   * x's strides (checked by the caller). */
  if (!kiln_dnnl_describe(&x, &p->x) ||
      dnnl_layer_normalization_forward_desc_init(&desc, dnnl_forward_inference, &x, NULL, p->eps,
                                                 dnnl_use_scale | dnnl_use_shift) != dnnl_success)
    return NULL;
  return kiln_dnnl_make_primitive(&desc, NULL, engine);
}

/* Offset of the element with flat row-major index `flat` in t, skipping one
 * dim (skip < 0: none). */
static int64_t offset_of(const kiln_dnnl_tensor *t, int64_t flat, int32_t skip) {
  int64_t offset = 0;
  for (int32_t i = t->rank - 1; i >= 0; --i) {
    if (i == skip)
      continue;
    offset += flat % t->dims[i] * t->strides[i];
    flat /= t->dims[i];
  }
  return offset;
}

static int64_t count_except(const kiln_dnnl_tensor *t, int32_t skip) {
  int64_t n = 1;
  for (int32_t i = 0; i < t->rank; ++i)
    if (i != skip)
      n *= t->dims[i];
  return n;
}

static void softmax_fallback(const softmax_problem *p, const float *x, float *out) {
  kiln_dnnl_count_fallback();
  int32_t axis = p->axis;
  int64_t len = p->x.dims[axis], xs = p->x.strides[axis], os = p->out.strides[axis];
  for (int64_t line = 0, lines = count_except(&p->x, axis); line < lines; ++line) {
    const float *xl = x + offset_of(&p->x, line, axis);
    float *ol = out + offset_of(&p->out, line, axis);
    float max = -INFINITY;
    for (int64_t k = 0; k < len; ++k)
      max = xl[k * xs] > max ? xl[k * xs] : max;
    double sum = 0;
    for (int64_t k = 0; k < len; ++k)
      sum += exp((double)xl[k * xs] - max);
    for (int64_t k = 0; k < len; ++k)
      ol[k * os] = (float)(exp((double)xl[k * xs] - max) / sum);
  }
}

void kiln_rt_dnnl_softmax_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(out), int64_t axis) {
  softmax_problem p;
  memset(&p, 0, sizeof p);
  float *xd, *od;
  p.x = kiln_dnnl_tensor_of(x, x_rank, &xd);
  p.out = kiln_dnnl_tensor_of(out, out_rank, &od);
  p.axis = (int32_t)axis;
  p.threads = kiln_thread_count();
  kiln_dnnl_arg args[2] = {{DNNL_ARG_SRC, &p.x, xd}, {DNNL_ARG_DST, &p.out, od}};
  /* prepare.c only replays ranks oneDNN takes, so the fallback never runs on
   * its data-less descriptors. */
  if (x_rank > KILN_KERNEL_MAX_RANK ||
      !kiln_dnnl_run(create_softmax, &p, sizeof p, args, 2, p.threads))
    softmax_fallback(&p, xd, od);
}

static void layer_norm_fallback(const layer_norm_problem *p, const float *x, const float *scale,
                                const float *shift, float *out) {
  kiln_dnnl_count_fallback();
  int32_t last = p->x.rank - 1;
  int64_t len = p->x.dims[last], xs = p->x.strides[last], os = p->out.strides[last];
  for (int64_t row = 0, rows = count_except(&p->x, last); row < rows; ++row) {
    const float *xr = x + offset_of(&p->x, row, last);
    float *orow = out + offset_of(&p->out, row, last);
    double mean = 0, var = 0;
    for (int64_t k = 0; k < len; ++k)
      mean += xr[k * xs];
    mean /= (double)len;
    for (int64_t k = 0; k < len; ++k)
      var += (xr[k * xs] - mean) * (xr[k * xs] - mean);
    double inv = 1.0 / sqrt(var / (double)len + p->eps);
    for (int64_t k = 0; k < len; ++k)
      orow[k * os] = (float)((xr[k * xs] - mean) * inv * scale[k * p->scale.strides[0]] +
                             shift[k * p->shift.strides[0]]);
  }
}

void kiln_rt_dnnl_layer_norm_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight), KILN_MEMREF_ARG(bias),
                                 KILN_MEMREF_ARG(out), double eps) {
  layer_norm_problem p;
  memset(&p, 0, sizeof p);
  float *xd, *wd, *bd, *od;
  p.x = kiln_dnnl_tensor_of(x, x_rank, &xd);
  p.scale = kiln_dnnl_tensor_of(weight, weight_rank, &wd);
  p.shift = kiln_dnnl_tensor_of(bias, bias_rank, &bd);
  p.out = kiln_dnnl_tensor_of(out, out_rank, &od);
  p.eps = (float)eps;
  p.threads = kiln_thread_count();
  bool same_layout = memcmp(&p.x, &p.out, sizeof p.x) == 0;
  kiln_dnnl_arg args[4] = {{DNNL_ARG_SRC, &p.x, xd},
                           {DNNL_ARG_DST, &p.out, od},
                           {DNNL_ARG_SCALE, &p.scale, wd},
                           {DNNL_ARG_SHIFT, &p.shift, bd}};
  /* prepare.c replays dense x and out of one shape, so same_layout holds
   * there and the fallback never runs on its data-less descriptors. */
  if (!same_layout || x_rank > KILN_KERNEL_MAX_RANK ||
      !kiln_dnnl_run(create_layer_norm, &p, sizeof p, args, 4, p.threads))
    layer_norm_fallback(&p, xd, wd, bd, od);
}
