/* Optimizer update rules, element by element as PyTorch's single-tensor
 * implementations compute them in float32 (scalars such as the bias
 * corrections in double), so that a step here and in PyTorch agree to
 * rounding. */
#include "optimizer.h"

#include <math.h>

#include "parallel.h"

/* Elements per parallel range: enough work to amortize a fork. */
#define KILN_OPTIMIZER_GRAIN 16384

int32_t kiln_optimizer_num_moments(const kiln_train_spec *spec) {
  if (spec->optimizer == KILN_OPTIMIZER_SGD)
    return spec->momentum != 0.0 ? 1 : 0;
  return 2;
}

typedef struct update_ctx {
  const kiln_train_spec *spec;
  const kiln_optimizer_slice *slice;
  int64_t step;
  float lr, grad_scale;
} update_ctx;

/* torch.optim.SGD: d = g + wd p; buf = d on the first step, else
 * momentum buf + (1 - dampening) d; d = nesterov ? d + momentum buf : buf;
 * p -= lr d. */
static void sgd_range(void *opaque, int64_t begin, int64_t end) {
  const update_ctx *c = opaque;
  const kiln_train_spec *s = c->spec;
  const kiln_optimizer_slice *x = c->slice;
  float wd = (float)s->weight_decay, momentum = (float)s->momentum;
  float keep = (float)(1.0 - s->dampening);
  int first = c->step == 1, nesterov = s->nesterov != 0.0;
  for (int64_t i = begin; i < end; ++i) {
    float d = x->grad[i] * c->grad_scale;
    if (wd != 0.0f)
      d += wd * x->param[i];
    if (momentum != 0.0f) {
      float buf = first ? d : momentum * x->m[i] + keep * d;
      x->m[i] = buf;
      d = nesterov ? d + momentum * buf : buf;
    }
    x->param[i] -= c->lr * d;
  }
}

/* torch.optim.Adam (L2 weight decay into the gradient) and AdamW (decoupled:
 * p *= 1 - lr wd first): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
static void adam_range(void *opaque, int64_t begin, int64_t end) {
  const update_ctx *c = opaque;
  const kiln_train_spec *s = c->spec;
  const kiln_optimizer_slice *x = c->slice;
  int decoupled = s->optimizer == KILN_OPTIMIZER_ADAMW;
  float wd = (float)s->weight_decay, decay = (float)(1.0 - (double)c->lr * s->weight_decay);
  float b1 = (float)s->beta1, b2 = (float)s->beta2, eps = (float)s->eps;
  double correction1 = 1.0 - pow(s->beta1, (double)c->step);
  double correction2 = 1.0 - pow(s->beta2, (double)c->step);
  float step_size = (float)((double)c->lr / correction1);
  float root2 = (float)sqrt(correction2);
  for (int64_t i = begin; i < end; ++i) {
    float g = x->grad[i] * c->grad_scale;
    float p = x->param[i];
    if (decoupled)
      p *= decay;
    else if (wd != 0.0f)
      g += wd * p;
    float m = x->m[i] + (g - x->m[i]) * (1.0f - b1); /* torch's lerp */
    float v = b2 * x->v[i] + (1.0f - b2) * g * g;
    x->m[i] = m;
    x->v[i] = v;
    x->param[i] = p - step_size * (m / (sqrtf(v) / root2 + eps));
  }
}

void kiln_optimizer_update(const kiln_train_spec *spec, int64_t step, float lr, float grad_scale,
                           const kiln_optimizer_slice *slice) {
  update_ctx c = {spec, slice, step, lr, grad_scale};
  kiln_parallel_for(slice->numel, KILN_OPTIMIZER_GRAIN,
                    spec->optimizer == KILN_OPTIMIZER_SGD ? sgd_range : adam_range, &c);
}

double kiln_sum_squares(const float *values, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += (double)values[i] * values[i];
  return sum;
}
