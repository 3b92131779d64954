/* Links two Kiln models compiled by kiln_add_model and runs the first:
 * the digits MLP (its weights compiled in) predicting a blank image, and the
 * decoder's header (its symbols link). */
#include <stdio.h>

#include "llama.h"
#include "mlp.h"

int main(void) {
  mlp_model *model = NULL;
  if (mlp_create(NULL, NULL, &model) != MLP_OK)
    return fprintf(stderr, "create: %s\n", mlp_last_error(NULL)), 1;
  float x[MLP_PREDICT_X_DIM1] = {0}, probs[MLP_PREDICT_OUT_DIM1];
  int status = mlp_predict(model, 1, x, probs);
  float total = 0.0f;
  for (int i = 0; i < MLP_PREDICT_OUT_DIM1; ++i)
    total += probs[i];
  printf("predict: status %d, probabilities summing to %.4f\n", status, total);
  mlp_destroy(model);
  /* The second library's API is there too. */
  printf("decoder: %s\n", llama_last_error(NULL) ? "linked" : "missing");
  return status;
}
