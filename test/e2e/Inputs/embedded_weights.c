/* The digits MLP compiled with its trained weights inside the library
 * (kilnc --weights=mlp.safetensors --embed-weights):
 *
 *   embedded_weights MLP.safetensors INIT.safetensors DATA_DIR
 *
 * - mlp_create(NULL) uses the embedded weights: the held-out probabilities
 *   match the numpy reference (DATA_DIR/expected_probs.f32), and are
 *   bit-identical to those of a model loaded from MLP.safetensors by path;
 * - a path given wins over the embedded weights (INIT.safetensors, random
 *   weights, gives other probabilities);
 * - training a model created from the embedded weights works on its own copy:
 *   its losses are bit-identical to those of a model loaded from the file, and
 *   a second model created from the library afterwards is untouched.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "mlp.h"

#define ROWS 300
#define FEATURES ((size_t)MLP_PREDICT_X_DIM1)
#define CLASSES ((size_t)MLP_PREDICT_OUT_DIM1)
#define BATCH 32
#define STEPS 5

static mlp_model *create(const char *path) {
  mlp_model *model = NULL;
  int status = mlp_create(path, NULL, &model);
  printf("create from %s: status %d%s%s\n", path ? "a path" : "the library", status,
         status ? ": " : "", status ? mlp_last_error(NULL) : "");
  return model;
}

static int predict(mlp_model *model, const float *x, float *probs) {
  int status = mlp_predict(model, ROWS, x, probs);
  if (status)
    printf("predict: status %d: %s\n", status, mlp_last_error(model));
  return status;
}

/* STEPS steps of `fit` on rows 0..BATCH-1; the losses into losses[]. */
static int train(mlp_model *model, const float *x, const int64_t *y, float *losses) {
  for (int step = 0; step < STEPS; ++step) {
    int status = mlp_fit(model, 0.3f, BATCH, x, y, &losses[step]);
    if (status) {
      printf("fit: status %d: %s\n", status, mlp_last_error(model));
      return status;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MLP.safetensors INIT.safetensors DATA_DIR\n", argv[0]);
    return 2;
  }
  const char *trained_path = argv[1], *init_path = argv[2], *data_dir = argv[3];
  int failures = 0;
  mlp_model *embedded = NULL, *by_path = NULL, *other = NULL, *second = NULL;
  float *x = fx_read_f32(data_dir, "test_x.f32", ROWS * FEATURES);
  int64_t *y = fx_read_i64(data_dir, "test_y.i64", ROWS);
  float *expected = fx_read_f32(data_dir, "expected_probs.f32", ROWS * CLASSES);
  float *probs = fx_alloc(ROWS * CLASSES, sizeof(float));
  float *probs_by_path = fx_alloc(ROWS * CLASSES, sizeof(float));
  if (!x || !y || !expected || !probs || !probs_by_path)
    return 1;

  /* The embedded weights against numpy, and against the same file by path. */
  if (!(embedded = create(NULL)) || predict(embedded, x, probs))
    return 1;
  size_t mismatches = 0;
  for (size_t i = 0; i < ROWS * CLASSES; ++i)
    mismatches += !(fabsf(probs[i] - expected[i]) <= 1e-5f * fabsf(expected[i]) + 1e-7f);
  printf("embedded weights: %zu of %zu probabilities differ from the reference\n", mismatches,
         ROWS * CLASSES);
  failures += mismatches != 0;
  if (!(by_path = create(trained_path)) || predict(by_path, x, probs_by_path))
    return 1;
  int same = memcmp(probs, probs_by_path, ROWS * CLASSES * sizeof(float)) == 0;
  printf("the same file by path: %s\n", same ? "bit-identical" : "DIFFERENT");
  failures += !same;
  if (!(other = create(init_path)) || predict(other, x, probs_by_path))
    return 1;
  int differ = memcmp(probs, probs_by_path, ROWS * CLASSES * sizeof(float)) != 0;
  printf("another file by path: %s\n", differ ? "other probabilities" : "SAME (path ignored)");
  failures += !differ;

  /* Training works on a copy of the library's read-only weights. */
  float losses[STEPS], losses_by_path[STEPS];
  if (train(embedded, x, y, losses) || train(by_path, x, y, losses_by_path))
    return 1;
  printf("training the embedded weights: loss %.4f -> %.4f\n", losses[0], losses[STEPS - 1]);
  same = memcmp(losses, losses_by_path, sizeof losses) == 0;
  printf("losses of the model loaded by path: %s\n", same ? "bit-identical" : "DIFFERENT");
  failures += !same || !(losses[STEPS - 1] < losses[0]);
  if (!(second = create(NULL)) || predict(second, x, probs_by_path))
    return 1;
  same = memcmp(probs, probs_by_path, ROWS * CLASSES * sizeof(float)) == 0;
  printf("a second model from the library after training: %s\n", same ? "untouched" : "CHANGED");
  failures += !same;

  mlp_destroy(embedded);
  mlp_destroy(by_path);
  mlp_destroy(other);
  mlp_destroy(second);
  fx_free_all();
  printf("%d failures\n", failures);
  return failures != 0;
}
