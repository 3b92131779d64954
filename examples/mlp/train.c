/* mlp_train: trains the Kiln-compiled digits MLP (examples/mlp/mlp.kiln) with
 * its train entries, as scripts/references/mlp_train.py trains it in PyTorch.
 *
 *   mlp_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * Pre-trains every layer with `fit` (SGD, momentum 0.9, lr 0.3) for 100 steps
 * of 32 digits from rows 0..239 of DATA_DIR/test_x.f32, the first step in
 * halves (mlp_fit_grads, then mlp_fit_apply), then fine-tunes with `finetune`
 * (AdamW, fc1 frozen, gradients clipped to norm 1, lr 3e-3) for 50 steps, and
 * reports the accuracy on rows 240..299. Saves the weights before and after
 * fine-tuning as OUT_DIR/pretrained.safetensors and OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: step 1's
 * gradients (each parameter within 1e-4 of the reference in relative L2
 * norm), every step's loss (1e-3 relative), the final held-out probabilities
 * (1e-3 relative, 1e-5 absolute) and weights (1e-3 in relative L2 norm), and
 * checks that fine-tuning left fc1 bit-identical. Exit status: 0 ok, 1 error or mismatch, 2 usage.
 */
#include "mlp.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 300
#define NUM_TRAIN 240
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define BATCH 32
#define FIT_STEPS 100
#define FIT_LR 0.3f
#define FINETUNE_STEPS 50
#define FINETUNE_LR 3e-3f
#define FEATURES ((size_t)MLP_PREDICT_X_DIM1)
#define CLASSES ((size_t)MLP_PREDICT_OUT_DIM1)
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

/* The parameters in the gradient buffer's order (mlp.h, `fit`). */
static const struct {
  const char *name;
  size_t numel;
} kParams[] = {{"fc1.weight", 128 * 64}, {"fc1.bias", 128},       {"fc2.weight", 64 * 128},
               {"fc2.bias", 64},         {"fc3.weight", 10 * 64}, {"fc3.bias", 10}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])

/* Batch `step`: rows (BATCH * step + j) mod NUM_TRAIN, as the reference. */
static void gather_batch(const float *x, const int64_t *y, int step, float *bx, int64_t *by) {
  size_t first = (size_t)BATCH * (size_t)step;
  tc_gather_rows(bx, x, FEATURES * sizeof *x, NUM_TRAIN, first, BATCH);
  tc_gather_rows(by, y, sizeof *y, NUM_TRAIN, first, BATCH);
}

/* The worst relative error of a step's loss, for the summary. */
static double worst_loss_error = 0.0;

/* Runs `steps` steps of a train entry, comparing each loss with `expected`. */
typedef int (*step_fn)(mlp_model *, float, int64_t, const float *, const int64_t *, float *);
static int train(mlp_model *model, step_fn step, const char *name, int first_step, int steps,
                 float lr, const float *x, const int64_t *y, const float *expected, int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  if (!bx || !by)
    return 0;
  for (int s = first_step; s < steps; ++s) {
    gather_batch(x, y, s, bx, by);
    float loss = 0.0f;
    int status = step(model, lr, BATCH, bx, by, &loss);
    if (status != MLP_OK) {
      fprintf(stderr, "error: %s step %d failed (status %d): %s\n", name, s + 1, status,
              mlp_last_error(model));
      return 0;
    }
    if (s == first_step || (s + 1) % 10 == 0)
      printf("%s step %3d: loss %.4f\n", name, s + 1, loss);
    tc_log_loss(name, s + 1, loss, check ? &expected[s] : NULL);
    if (check &&
        !tc_check_loss(loss, expected[s], LOSS_TOL, &worst_loss_error, "%s step %d", name, s + 1))
      return 0;
  }
  return 1;
}

/* Step 1 of `fit` in halves: the gradients (checked), then the update. */
static int first_step(mlp_model *model, const float *x, const int64_t *y,
                      const float *expected_grads, const float *expected_losses, int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  float *grads = fx_alloc(MLP_FIT_NUM_GRADS, sizeof *grads);
  if (!bx || !by || !grads)
    return 0;
  gather_batch(x, y, 0, bx, by);
  float loss = 0.0f;
  if (mlp_fit_grads(model, BATCH, bx, by, &loss, grads) != MLP_OK ||
      mlp_fit_apply(model, FIT_LR, grads) != MLP_OK) {
    fprintf(stderr, "error: step 1: %s\n", mlp_last_error(model));
    return 0;
  }
  printf("fit step   1: loss %.4f (mlp_fit_grads + mlp_fit_apply)\n", loss);
  tc_log_loss("fit", 1, loss, check ? &expected_losses[0] : NULL);
  if (!check)
    return 1;
  if (!tc_check_loss(loss, expected_losses[0], LOSS_TOL, &worst_loss_error, "fit step 1"))
    return 0;
  size_t offset = 0;
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (!tc_check_l2(grads + offset, expected_grads + offset, kParams[p].numel, GRAD_TOL, NULL,
                     "step 1 gradient of %s", kParams[p].name))
      return 0;
    offset += kParams[p].numel;
  }
  printf("check: step 1 gradients of %zu parameters match\n", NUM_PARAMS);
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, mlp)

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  mlp_model *model = NULL;
  const float *x = fx_read_f32(data, "test_x.f32", NUM_ROWS * FEATURES);
  const int64_t *y = fx_read_i64(data, "test_y.i64", NUM_ROWS);
  const float *grads = check ? fx_read_f32(data, "train.grads.f32", MLP_FIT_NUM_GRADS) : NULL;
  const float *fit_losses = check ? fx_read_f32(data, "train.fit_losses.f32", FIT_STEPS) : NULL;
  const float *finetune_losses =
      check ? fx_read_f32(data, "train.finetune_losses.f32", FINETUNE_STEPS) : NULL;
  const float *final_probs =
      check ? fx_read_f32(data, "train.final_probs.f32", NUM_HELD_OUT * CLASSES) : NULL;
  size_t reference_size = 0;
  const unsigned char *reference =
      check ? fx_keep(fx_read_whole(data, "trained.safetensors", &reference_size)) : NULL;
  float *probs = fx_alloc(NUM_HELD_OUT * CLASSES, sizeof *probs);
  if (!x || !y || !probs ||
      (check && (!grads || !fit_losses || !finetune_losses || !final_probs || !reference)))
    goto done;
  if (mlp_create(init, NULL, &model) != MLP_OK) {
    fprintf(stderr, "error: create: %s\n", mlp_last_error(NULL));
    goto done;
  }

  if (!first_step(model, x, y, grads, fit_losses, check) ||
      !train(model, mlp_fit, "fit", 1, FIT_STEPS, FIT_LR, x, y, fit_losses, check))
    goto done;
  size_t pretrained_size = 0, trained_size = 0;
  const unsigned char *pretrained =
      save_and_read(model, out, "pretrained.safetensors", &pretrained_size);
  if (!pretrained || !train(model, mlp_finetune, "finetune", 0, FINETUNE_STEPS, FINETUNE_LR, x, y,
                            finetune_losses, check))
    goto done;
  const unsigned char *trained = save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained)
    goto done;

  FX_CALL("predict", mlp_predict(model, NUM_HELD_OUT, x + NUM_TRAIN * FEATURES, probs),
          mlp_last_error(model));
  int correct = 0;
  for (size_t i = 0; i < NUM_HELD_OUT; ++i)
    correct += sampling_argmax(probs + i * CLASSES, (int64_t)CLASSES) == y[NUM_TRAIN + i];
  printf("held-out accuracy: %d of %d\n", correct, NUM_HELD_OUT);

  if (check) {
    if (!tc_check_close("held-out probability", probs, final_probs, NUM_HELD_OUT * CLASSES,
                        FINAL_REL_TOL, FINAL_ABS_TOL, NULL))
      goto done;
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const float *before =
          tc_tensor_in(pretrained, pretrained_size, kParams[p].name, kParams[p].numel);
      const float *after = tc_tensor_in(trained, trained_size, kParams[p].name, kParams[p].numel);
      const float *expected =
          tc_tensor_in(reference, reference_size, kParams[p].name, kParams[p].numel);
      if (!before || !after || !expected) {
        fprintf(stderr, "check: %s missing from a saved file\n", kParams[p].name);
        goto done;
      }
      int frozen = strncmp(kParams[p].name, "fc1.", 4) == 0;
      if (frozen && memcmp(before, after, kParams[p].numel * sizeof *after) != 0) {
        fprintf(stderr, "check: frozen %s changed during fine-tuning\n", kParams[p].name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near
       * zero can move by a few steps' worth: compare whole tensors. */
      if (!tc_check_l2(after, expected, kParams[p].numel, FINAL_REL_TOL, NULL, "trained %s",
                       kParams[p].name))
        goto done;
    }
    printf("check: %d losses (worst relative error %.2g), held-out probabilities and trained "
           "weights match the reference; fc1 stayed frozen\n",
           FIT_STEPS + FINETUNE_STEPS, worst_loss_error);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  mlp_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
