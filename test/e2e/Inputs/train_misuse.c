/* Misuse of the train API of examples/mlp/mlp.kiln: bad learning rates, NULL
 * pointers, a NaN loss and NaN gradients are refused with a status and a
 * message, and a refused step leaves the weights exactly as they were.
 *
 *   train_misuse INIT.safetensors DATA_DIR */
#include "mlp.h"

#include "expect_status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B 4

static float x[B * 64];
static int64_t y[B] = {0, 1, 2, 3};

/* The model's held-out predictions: the weights' fingerprint. */
static void predict(mlp_model *model, float *out) {
  if (mlp_predict(model, B, x, out) != MLP_OK)
    printf("predict failed: %s\n", mlp_last_error(model));
}

static void compare(const char *what, const float *before, const float *after, int same) {
  int equal = memcmp(before, after, sizeof(float) * B * 10) == 0;
  printf("%s: %s\n", what, equal ? "unchanged" : "changed");
  if (equal != same)
    ++failures;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s INIT.safetensors DATA_DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/test_x.f32", argv[2]);
  FILE *f = fopen(path, "rb");
  if (!f || fread(x, sizeof x, 1, f) != 1) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  fclose(f);
  mlp_model *model = NULL;
  if (mlp_create(argv[1], NULL, &model) != MLP_OK) {
    fprintf(stderr, "create: %s\n", mlp_last_error(NULL));
    return 1;
  }
  static float grads[MLP_FIT_NUM_GRADS], before[B * 10], after[B * 10];
  float loss = 0.0f;

  expect("negative learning rate", mlp_fit(model, -0.1f, B, x, y, &loss),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  expect("NaN learning rate", mlp_fit_apply(model, NAN, grads), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("NULL loss", mlp_fit(model, 0.1f, B, x, y, NULL), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("NULL grads", mlp_fit_grads(model, B, x, y, &loss, NULL), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("NULL model", mlp_fit(NULL, 0.1f, B, x, y, &loss), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(NULL));
  size_t bytes = 0;
  expect("memory into NULL", mlp_fit_memory(model, B, NULL), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(model));
  expect("memory with B = 0", mlp_fit_memory(model, 0, &bytes),
         MLP_ERROR_INVALID_ARGUMENT, mlp_last_error(model));
  expect("memory", mlp_fit_memory(model, B, &bytes), MLP_OK, "");
  /* The gradients share the arena's dead bytes where they can: never less
   * than the arena, never more than the arena and every gradient apart. */
  size_t most = MLP_FIT_ARENA_BYTES(B) + MLP_FIT_NUM_GRADS * 4 + 64 * 6;
  printf("step memory within [arena, arena + gradients]: %s\n",
         bytes >= MLP_FIT_ARENA_BYTES(B) && bytes <= most ? "yes" : "no");

  predict(model, before);
  float saved = x[5];
  x[5] = NAN;
  expect("non-finite input", mlp_fit(model, 0.1f, B, x, y, &loss), MLP_ERROR_NOT_FINITE,
         mlp_last_error(model));
  x[5] = saved;
  predict(model, after);
  compare("weights after the refused step", before, after, 1);

  grads[7] = INFINITY;
  expect("non-finite gradients", mlp_fit_apply(model, 0.1f, grads), MLP_ERROR_NOT_FINITE,
         mlp_last_error(model));
  predict(model, after);
  compare("weights after the refused apply", before, after, 1);

  expect("a good step", mlp_fit(model, 0.1f, B, x, y, &loss), MLP_OK, "");
  predict(model, after);
  compare("weights after the good step", before, after, 0);

  mlp_destroy(model);
  printf("%d unexpected statuses\n", failures);
  return failures != 0;
}
