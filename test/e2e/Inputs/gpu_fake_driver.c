/* Drives a GPU build of the MLP through a fake CUDA driver
 * (fake_cuda_driver.c), which checks every driver call the library makes:
 * create, two calls of each entry at two batch sizes (the second grows the
 * device buffer), a call on device pointers (allocated through the same
 * driver, as cudaMalloc would), and one given host pointers instead, bad
 * arguments, destroy. */
#include <dlfcn.h>
#include <stdint.h>
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
  /* Tensors in device memory: nothing copied; host pointers there are
   * caught by the (fake) kernel launch. */
  void *driver = dlopen(getenv("KILN_CUDA_DRIVER"), RTLD_NOW);
  int (*mem_alloc)(uintptr_t *, size_t) =
      driver ? (int (*)(uintptr_t *, size_t))dlsym(driver, "cuMemAlloc_v2") : NULL;
  int (*mem_free)(uintptr_t) = driver ? (int (*)(uintptr_t))dlsym(driver, "cuMemFree_v2") : NULL;
  uintptr_t x_device = 0, probs_device = 0;
  if (!mem_alloc || !mem_free || mem_alloc(&x_device, sizeof x) != 0 ||
      mem_alloc(&probs_device, sizeof probs) != 0) {
    printf("  FAILED: no device memory from the driver\n");
    return 1;
  }
  expect("predict on device",
         mlp_predict_on_device(model, 3, (const float *)x_device, (float *)probs_device), MLP_OK,
         mlp_last_error(model));
  expect("predict on device given host pointers", mlp_predict_on_device(model, 3, x, probs),
         MLP_ERROR_INTERNAL, mlp_last_error(model));
  mem_free(x_device);
  mem_free(probs_device);
  dlclose(driver);
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
