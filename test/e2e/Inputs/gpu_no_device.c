/* A model compiled for a GPU, created where the CUDA driver cannot be loaded
 * (KILN_CUDA_DRIVER names a missing file): MLP_ERROR_NO_DEVICE, a message,
 * no handle; and the model's other statuses stay what they are. */
#include <stdio.h>
#include <stdlib.h>

#include "expect_status.h"
#include "mlp.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s weights.safetensors\n", argv[0]);
    return 2;
  }
  mlp_model *model = (mlp_model *)&failures; /* create must clear it */
  expect("create without a driver", mlp_create(argv[1], NULL, &model), MLP_ERROR_NO_DEVICE,
         mlp_last_error(NULL));
  if (model != NULL) {
    printf("  FAILED: create left a handle\n");
    ++failures;
  }
  /* The weights are read, and checked, before the GPU is looked for. */
  expect("create with a missing weights file", mlp_create("/nonexistent.safetensors", NULL, &model),
         MLP_ERROR_IO, mlp_last_error(NULL));
  mlp_destroy(NULL);
  return failures == 0 ? 0 : 1;
}
