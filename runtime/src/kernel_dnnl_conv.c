/* kiln_rt_dnnl_conv2d_f32: kiln.conv2d (NCHW input, OIHW weight, bias, no
 * padding) as a oneDNN forward convolution, through the primitive cache of
 * dnnl_cache.h, on the caller's plain row-major buffers. Kiln's own lowering
 * of conv2d is a scalar loop nest; this is the path for every f32 conv2d
 * under the onednn and auto backends. A plain-loop fallback of the same
 * semantics runs if oneDNN declines. */
#include <string.h>

#include "dnnl_cache.h"
#include "kernels.h"
#include "parallel.h"

/* The cache key: zeroed, then filled. */
typedef struct conv_problem {
  kiln_dnnl_tensor x, w, bias, out;
  int64_t stride_h, stride_w;
  int32_t threads;
} conv_problem;

static dnnl_primitive_t create_conv(const void *key, dnnl_engine_t engine) {
  const conv_problem *p = key;
  dnnl_memory_desc_t x, w, bias, out;
  dnnl_convolution_desc_t desc;
  dnnl_dims_t strides = {p->stride_h, p->stride_w}, padding = {0, 0};
  if (!kiln_dnnl_describe(&x, &p->x) || !kiln_dnnl_describe(&w, &p->w) ||
      !kiln_dnnl_describe(&bias, &p->bias) || !kiln_dnnl_describe(&out, &p->out) ||
      dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &x,
                                         &w, &bias, &out, strides, padding,
                                         padding) != dnnl_success)
    return NULL;
  return kiln_dnnl_make_primitive(&desc, NULL, engine);
}

static float at4(const kiln_dnnl_tensor *t, const float *data, int64_t a, int64_t b, int64_t c,
                 int64_t d) {
  return data[a * t->strides[0] + b * t->strides[1] + c * t->strides[2] + d * t->strides[3]];
}

static void conv_fallback(const conv_problem *p, const float *x, const float *w, const float *bias,
                          float *out) {
  kiln_dnnl_count_fallback();
  int64_t B = p->out.dims[0], O = p->out.dims[1], OH = p->out.dims[2], OW = p->out.dims[3];
  int64_t C = p->w.dims[1], KH = p->w.dims[2], KW = p->w.dims[3];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double sum = bias[o * p->bias.strides[0]];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t u = 0; u < KH; ++u)
              for (int64_t v = 0; v < KW; ++v)
                sum += (double)at4(&p->x, x, b, c, i * p->stride_h + u, j * p->stride_w + v) *
                       at4(&p->w, w, o, c, u, v);
          out[b * p->out.strides[0] + o * p->out.strides[1] + i * p->out.strides[2] +
              j * p->out.strides[3]] = (float)sum;
        }
}

void kiln_rt_dnnl_conv2d_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight), KILN_MEMREF_ARG(bias),
                             KILN_MEMREF_ARG(out), int64_t stride_h, int64_t stride_w) {
  conv_problem p;
  memset(&p, 0, sizeof p);
  float *xd, *wd, *bd, *od;
  p.x = kiln_dnnl_tensor_of(x, x_rank, &xd);
  p.w = kiln_dnnl_tensor_of(weight, weight_rank, &wd);
  p.bias = kiln_dnnl_tensor_of(bias, bias_rank, &bd);
  p.out = kiln_dnnl_tensor_of(out, out_rank, &od);
  p.stride_h = stride_h;
  p.stride_w = stride_w;
  p.threads = kiln_thread_count();
  kiln_dnnl_arg args[4] = {{DNNL_ARG_SRC, &p.x, xd},
                           {DNNL_ARG_WEIGHTS, &p.w, wd},
                           {DNNL_ARG_BIAS, &p.bias, bd},
                           {DNNL_ARG_DST, &p.out, od}};
  if (!kiln_dnnl_run(create_conv, &p, sizeof p, args, 4, p.threads))
    conv_fallback(&p, xd, wd, bd, od);
}
