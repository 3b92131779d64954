/* Misuse of the generated C API: every call returns an error status with a
 * message, and nothing crashes. */
#include "mlp.h"

#include "expect_status.h"

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  mlp_model *model = NULL;
  expect("create without a path", mlp_create(NULL, NULL, &model), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(NULL));
  expect("create without an out pointer", mlp_create(argv[1], NULL, NULL),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(NULL));
  mlp_options bad_options = {-3};
  expect("create with -3 threads", mlp_create(argv[1], &bad_options, &model),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(NULL));
  mlp_destroy(NULL);

  float x[2 * MLP_PREDICT_X_DIM1] = {0};
  float probs[2 * MLP_PREDICT_OUT_DIM1];
  expect("predict on a NULL model", mlp_predict(NULL, 2, x, probs), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(NULL));

  if (mlp_create(argv[1], NULL, &model) != MLP_OK) {
    printf("create failed: %s\n", mlp_last_error(NULL));
    return 1;
  }
  expect("predict with B = 0", mlp_predict(model, 0, x, probs), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("predict with B = -1", mlp_predict(model, -1, x, probs), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("predict with a NULL input", mlp_predict(model, 2, NULL, probs),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  expect("predict with a NULL output", mlp_predict(model, 2, x, NULL),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  expect("predict with a huge B", mlp_predict(model, (int64_t)1 << 62, x, probs),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  /* Class indices outside [0, 10) are refused, as PyTorch's cross_entropy
   * refuses them, by the loss and by a train step (weights untouched). */
  int64_t y[2] = {3, MLP_LOSS_Y_CLASSES};
  float loss = 0.0f;
  expect("loss with a target of 10", mlp_loss(model, 2, x, y, &loss), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  y[0] = -1;
  expect("fit with a target of -1", mlp_fit(model, 0.1f, 2, x, y, &loss),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  y[0] = 0;
  y[1] = MLP_LOSS_Y_CLASSES - 1;
  expect("loss", mlp_loss(model, 2, x, y, &loss), MLP_OK, mlp_last_error(model));
  /* The model still works after all of that. */
  expect("predict", mlp_predict(model, 2, x, probs), MLP_OK, mlp_last_error(model));
  mlp_destroy(model);
  printf("%d unexpected statuses\n", failures);
  return failures != 0;
}
