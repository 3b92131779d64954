/* The optimizers of train entries: PyTorch's torch.optim.SGD, Adam and AdamW
 * update rules, step for step, over one parameter tensor at a time. */
#ifndef KILN_OPTIMIZER_H
#define KILN_OPTIMIZER_H

#include <stdint.h>

#include "manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One parameter's view of a step: its values, its gradient (scaled by
 * grad_scale, the clipping factor), and its slices of the optimizer's moment
 * buffers (SGD's momentum buffer is `m`; `v` is Adam's second moment). */
typedef struct kiln_optimizer_slice {
  float *param;
  const float *grad;
  float *m, *v;
  int64_t numel;
} kiln_optimizer_slice;

/* Applies step number `step` (1 for the first) of `spec`'s optimizer with
 * learning rate lr to one slice, on the calling thread's team. */
void kiln_optimizer_update(const kiln_train_spec *spec, int64_t step, float lr, float grad_scale,
                           const kiln_optimizer_slice *slice);

/* How many moment buffers (of num_grads floats each) the optimizer keeps. */
int32_t kiln_optimizer_num_moments(const kiln_train_spec *spec);

/* The sum of the squares of n values, in double; NaN or inf when any is. */
double kiln_sum_squares(const float *values, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* KILN_OPTIMIZER_H */
