/* Resuming training of examples/mlp/mlp.kiln from saved weights and a saved
 * optimizer state gives exactly the steps an uninterrupted run takes; a
 * state of another entry, a damaged or missing file, or an unwritable path
 * are refused with a status and a message.
 *
 *   train_resume INIT.safetensors DATA_DIR OUT_DIR */
#include "mlp.h"

#include "expect_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B 16
#define STEPS 5

static float x[B * 64];
static int64_t y[B];

/* STEPS steps of `fit` at lr 0.1, their losses in losses[]. */
static int run(mlp_model *model, float *losses) {
  for (int s = 0; s < STEPS; ++s)
    if (mlp_fit(model, 0.1f, B, x, y, &losses[s]) != MLP_OK) {
      printf("fit failed: %s\n", mlp_last_error(model));
      return 0;
    }
  return 1;
}

static mlp_model *create(const char *weights) {
  mlp_model *model = NULL;
  if (mlp_create(weights, NULL, &model) != MLP_OK)
    printf("create failed: %s\n", mlp_last_error(NULL));
  return model;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s INIT.safetensors DATA_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  char path[4096], weights[4096], state[4096], other[4096];
  snprintf(path, sizeof path, "%s/test_x.f32", argv[2]);
  FILE *f = fopen(path, "rb");
  if (!f || fread(x, sizeof x, 1, f) != 1)
    return fprintf(stderr, "cannot read %s\n", path), 1;
  fclose(f);
  snprintf(path, sizeof path, "%s/test_y.i64", argv[2]);
  f = fopen(path, "rb");
  if (!f || fread(y, sizeof y, 1, f) != 1)
    return fprintf(stderr, "cannot read %s\n", path), 1;
  fclose(f);
  snprintf(weights, sizeof weights, "%s/halfway.safetensors", argv[3]);
  snprintf(state, sizeof state, "%s/halfway.fit-state.safetensors", argv[3]);
  snprintf(other, sizeof other, "%s/finetune-state.safetensors", argv[3]);

  /* One run of 2 * STEPS steps, saving weights and state halfway. */
  float first[STEPS], straight[STEPS], resumed[STEPS], fresh[STEPS];
  mlp_model *a = create(argv[1]);
  if (!a || !run(a, first))
    return 1;
  expect("save weights", mlp_save_weights(a, weights), MLP_OK, "");
  expect("save state", mlp_fit_save_state(a, state), MLP_OK, "");
  if (!run(a, straight))
    return 1;

  /* Resumed from both files, then without the optimizer state. */
  mlp_model *b = create(weights), *c = create(weights);
  if (!b || !c)
    return 1;
  expect("load state", mlp_fit_load_state(b, state), MLP_OK, "");
  if (!run(b, resumed) || !run(c, fresh))
    return 1;
  int same = memcmp(straight, resumed, sizeof straight) == 0;
  printf("resumed run: %s\n", same ? "bit-identical losses" : "DIFFERENT losses");
  printf("run without the state: %s\n",
         memcmp(straight, fresh, sizeof fresh) != 0 ? "different losses (momentum lost)"
                                                    : "UNEXPECTEDLY identical");
  failures += !same;

  /* What is refused. */
  expect("save finetune state", mlp_finetune_save_state(b, other), MLP_OK, "");
  expect("load another entry's state", mlp_fit_load_state(b, other), MLP_ERROR_WEIGHTS_MISMATCH,
         mlp_last_error(b));
  expect("load weights as a state", mlp_fit_load_state(b, weights), MLP_ERROR_WEIGHTS_MISMATCH,
         mlp_last_error(b));
  snprintf(path, sizeof path, "%s/missing.safetensors", argv[3]);
  expect("load a missing file", mlp_fit_load_state(b, path), MLP_ERROR_IO, mlp_last_error(b));
  snprintf(path, sizeof path, "%s/no-such-dir/state.safetensors", argv[3]);
  expect("save into a missing folder", mlp_fit_save_state(b, path), MLP_ERROR_IO,
         mlp_last_error(b));
  expect("save to NULL", mlp_fit_save_state(b, NULL), MLP_ERROR_INVALID_ARGUMENT,
         mlp_last_error(b));

  /* A refused load left b's state alone: it still steps like a. */
  float again_a[STEPS], again_b[STEPS];
  if (!run(a, again_a) || !run(b, again_b))
    return 1;
  printf("after the refused loads: %s\n",
         memcmp(again_a, again_b, sizeof again_a) == 0 ? "still bit-identical" : "DIFFERENT");
  failures += memcmp(again_a, again_b, sizeof again_a) != 0;

  mlp_destroy(a);
  mlp_destroy(b);
  mlp_destroy(c);
  printf("%d unexpected statuses\n", failures);
  return failures != 0;
}
