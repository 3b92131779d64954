/* mlp_save_weights: the saved file loads back into the model (names, dtypes,
 * shapes all match), holds the same bytes per tensor (checked by the caller
 * with a second reader), and gives bit-identical predictions; failures are an
 * IO status with the path, and leave no temporary file behind.
 *
 *   save_weights WEIGHTS OUT_DIR */
#include "mlp.h"

#include "expect_status.h"

#include <stdio.h>
#include <string.h>

enum { B = 4 };

static int predict(const char *weights, float *out) {
  mlp_model *model = NULL;
  float x[B * MLP_PREDICT_X_DIM1];
  for (int i = 0; i < B * MLP_PREDICT_X_DIM1; ++i)
    x[i] = (float)(i % 17) / 17.0f;
  int status = mlp_create(weights, NULL, &model);
  if (status == MLP_OK)
    status = mlp_predict(model, B, x, out);
  mlp_destroy(model);
  return status;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  char saved[4096], again[4096], dir_target[4096];
  snprintf(saved, sizeof saved, "%s/saved.safetensors", argv[2]);
  snprintf(again, sizeof again, "%s/missing-dir/x.safetensors", argv[2]);
  snprintf(dir_target, sizeof dir_target, "%s/a-directory", argv[2]);

  mlp_model *model = NULL;
  if (mlp_create(argv[1], NULL, &model) != MLP_OK) {
    printf("create failed: %s\n", mlp_last_error(NULL));
    return 1;
  }
  expect("save on a NULL model", mlp_save_weights(NULL, saved), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(NULL));
  expect("save to a NULL path", mlp_save_weights(model, NULL), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("save", mlp_save_weights(model, saved), MLP_OK, "");
  expect("save over it", mlp_save_weights(model, saved), MLP_OK, "");
  expect("save into a missing folder", mlp_save_weights(model, again), MLP_ERROR_IO,
         mlp_last_error(model));
  /* rename() cannot replace a non-empty directory: the write succeeds, the
   * last step fails, and the temporary is removed. */
  expect("save over a directory", mlp_save_weights(model, dir_target), MLP_ERROR_IO,
         mlp_last_error(model));
  mlp_destroy(model);

  float before[B * MLP_PREDICT_OUT_DIM1], after[B * MLP_PREDICT_OUT_DIM1];
  expect("predict with the original weights", predict(argv[1], before), MLP_OK, "");
  expect("predict with the saved weights", predict(saved, after), MLP_OK, "");
  printf("predictions %s\n", memcmp(before, after, sizeof before) == 0 ? "identical" : "DIFFER");
  printf("%d unexpected statuses\n", failures);
  return failures != 0;
}
