/* Drives a GPU build of the MLP through a fake CUDA driver
 * (fake_cuda_driver.c), which checks every driver call the library makes:
 * create, two calls of each entry at two batch sizes (the second grows the
 * device buffer), bad arguments, destroy. */
#include <stdio.h>
#include <stdlib.h>

#include "expect_status.h"
#include "mlp.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s weights.safetensors\n", argv[0]);
    return 2;
  }
  mlp_model *model = NULL;
  expect("create", mlp_create(argv[1], NULL, &model), MLP_OK, mlp_last_error(NULL));
  if (!model)
    return 1;
  static float x[64 * 64], probs[64 * 10];
  static int64_t y[64];
  for (int i = 0; i < 64 * 64; ++i)
    x[i] = (float)(i % 17) / 17.0f;
  for (int i = 0; i < 64; ++i)
    y[i] = i % 10;
  float loss = 0;
  for (int64_t batch = 3; batch <= 64; batch += 61) {
    expect("predict", mlp_predict(model, batch, x, probs), MLP_OK, mlp_last_error(model));
    expect("loss", mlp_loss(model, batch, x, y, &loss), MLP_OK, mlp_last_error(model));
  }
  /* Checked before the GPU is used, as on the host. */
  expect("predict with a NULL input", mlp_predict(model, 3, NULL, probs),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  y[0] = 10;
  expect("loss with a label out of range", mlp_loss(model, 3, x, y, &loss),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  mlp_destroy(model);
  fflush(stdout);
  return failures == 0 ? 0 : 1;
}
