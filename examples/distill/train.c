/* distill_train: distills the teacher of examples/distill into its student with the
 * Kiln-compiled train entry `fit` (examples/distill/distill.kiln), as
 * scripts/references/distill_train.py does it in PyTorch.
 *
 *   distill_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * Trains the student (Adam, lr 1e-2, teacher.* frozen) on the distillation loss
 * (T = 4, alpha = 0.7) for 60 steps of 16 rows from rows 0..127 of DATA_DIR/train.x.f32
 * (labels DATA_DIR/train.y.i64, the teacher's predicted classes), the first step in
 * halves (distill_fit_grads, then distill_fit_apply), the rest through distill_fit, and
 * reports how many of the held-out rows 128..159 the student classifies as the teacher
 * does. Saves the weights before and after training as OUT_DIR/initial.safetensors and
 * OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: step 1's gradients
 * (each parameter within 1e-4 of the reference in relative L2 norm), every step's loss
 * (1e-3 relative), the final held-out student logits (1e-3 relative, 1e-5 absolute) and
 * weights (1e-3 in relative L2 norm, DATA_DIR/train.trained.safetensors), and checks that
 * the saved teacher tensors are bit-identical to those of INIT.safetensors. Exit status:
 * 0 ok, 1 error or mismatch, 2 usage.
 */
#include "distill.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 160
#define NUM_TRAIN 128
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define BATCH 16
#define STEPS 60
#define LR 1e-2f
#define FEATURES ((size_t)DISTILL_FIT_X_DIM1)
#define CLASSES ((size_t)DISTILL_STUDENT_LOGITS_OUT_DIM1)
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

/* Every parameter, in the model's order (distill.h); the student's are the trained
 * ones, in the gradient buffer's order (distill.h, `fit`). */
static const struct {
  const char *name;
  size_t numel;
  int frozen;
} kParams[] = {{"teacher.fc1.weight", 64 * 32, 1}, {"teacher.fc1.bias", 64, 1},
               {"teacher.fc2.weight", 10 * 64, 1}, {"teacher.fc2.bias", 10, 1},
               {"student.fc1.weight", 16 * 32, 0}, {"student.fc1.bias", 16, 0},
               {"student.fc2.weight", 10 * 16, 0}, {"student.fc2.bias", 10, 0}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])

/* Batch `step`: rows (BATCH * step + j) mod NUM_TRAIN, as the reference. */
static void gather_batch(const float *x, const int64_t *y, int step, float *bx, int64_t *by) {
  size_t first = (size_t)BATCH * (size_t)step;
  tc_gather_rows(bx, x, FEATURES * sizeof *x, NUM_TRAIN, first, BATCH);
  tc_gather_rows(by, y, sizeof *y, NUM_TRAIN, first, BATCH);
}

/* The worst relative errors, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0;

/* Step 1 in halves: the gradients (checked), then the update. */
static int first_step(distill_model *model, const float *x, const int64_t *y,
                      const float *expected_grads, const float *expected_loss, int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  float *grads = fx_alloc(DISTILL_FIT_NUM_GRADS, sizeof *grads);
  if (!bx || !by || !grads)
    return 0;
  gather_batch(x, y, 0, bx, by);
  float loss = 0.0f;
  if (distill_fit_grads(model, BATCH, bx, by, &loss, grads) != DISTILL_OK ||
      distill_fit_apply(model, LR, grads) != DISTILL_OK) {
    fprintf(stderr, "error: step 1: %s\n", distill_last_error(model));
    return 0;
  }
  printf("fit step  1: loss %.4f (distill_fit_grads + distill_fit_apply)\n", loss);
  tc_log_loss("fit", 1, loss, check ? &expected_loss[0] : NULL);
  if (!check)
    return 1;
  if (!tc_check_loss(loss, expected_loss[0], LOSS_TOL, &worst_loss_error, "fit step 1"))
    return 0;
  size_t offset = 0, trained = 0;
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (kParams[p].frozen)
      continue;
    if (!tc_check_l2(grads + offset, expected_grads + offset, kParams[p].numel, GRAD_TOL,
                     &worst_grad_error, "step 1 gradient of %s", kParams[p].name))
      return 0;
    offset += kParams[p].numel;
    ++trained;
  }
  if (offset != DISTILL_FIT_NUM_GRADS) {
    fprintf(stderr, "check: %zu gradient values, distill.h has %d\n", offset,
            DISTILL_FIT_NUM_GRADS);
    return 0;
  }
  printf("check: step 1 gradients of %zu parameters match (worst relative L2 error %.2g)\n",
         trained, worst_grad_error);
  return 1;
}

/* Steps 2..STEPS through distill_fit, comparing each loss with `expected`. */
static int train(distill_model *model, const float *x, const int64_t *y, const float *expected,
                 int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  if (!bx || !by)
    return 0;
  for (int s = 1; s < STEPS; ++s) {
    gather_batch(x, y, s, bx, by);
    float loss = 0.0f;
    int status = distill_fit(model, LR, BATCH, bx, by, &loss);
    if (status != DISTILL_OK) {
      fprintf(stderr, "error: fit step %d failed (status %d): %s\n", s + 1, status,
              distill_last_error(model));
      return 0;
    }
    if ((s + 1) % 10 == 0)
      printf("fit step %2d: loss %.4f\n", s + 1, loss);
    tc_log_loss("fit", s + 1, loss, check ? &expected[s] : NULL);
    if (check &&
        !tc_check_loss(loss, expected[s], LOSS_TOL, &worst_loss_error, "fit step %d", s + 1))
      return 0;
  }
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, distill)

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init_path = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  distill_model *model = NULL;
  const float *x = fx_read_f32(data, "train.x.f32", NUM_ROWS * FEATURES);
  const int64_t *y = fx_read_i64(data, "train.y.i64", NUM_ROWS);
  const float *grads = check ? fx_read_f32(data, "train.grads.f32", DISTILL_FIT_NUM_GRADS) : NULL;
  const float *losses = check ? fx_read_f32(data, "train.losses.f32", STEPS) : NULL;
  const float *final_logits =
      check ? fx_read_f32(data, "train.final_logits.f32", NUM_HELD_OUT * CLASSES) : NULL;
  size_t reference_size = 0, init_size = 0;
  const unsigned char *reference =
      check ? fx_keep(fx_read_whole(data, "train.trained.safetensors", &reference_size)) : NULL;
  const unsigned char *init = check ? tc_read_path(init_path, &init_size) : NULL;
  float *logits = fx_alloc(NUM_HELD_OUT * CLASSES, sizeof *logits);
  if (!x || !y || !logits || (check && (!grads || !losses || !final_logits || !reference || !init)))
    goto done;
  if (!fx_check_ids("train.y", y, NUM_ROWS, (int64_t)CLASSES))
    goto done;
  if (distill_create(init_path, NULL, &model) != DISTILL_OK) {
    fprintf(stderr, "error: create: %s\n", distill_last_error(NULL));
    model = NULL;
    goto done;
  }

  size_t initial_size = 0, trained_size = 0;
  const unsigned char *initial = save_and_read(model, out, "initial.safetensors", &initial_size);
  if (!initial || !first_step(model, x, y, grads, losses, check) ||
      !train(model, x, y, losses, check))
    goto done;
  const unsigned char *trained = save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained)
    goto done;

  FX_CALL("distill_student_logits",
          distill_student_logits(model, NUM_HELD_OUT, x + NUM_TRAIN * FEATURES, logits),
          distill_last_error(model));
  int agree = 0;
  for (size_t i = 0; i < NUM_HELD_OUT; ++i)
    agree += sampling_argmax(logits + i * CLASSES, (int64_t)CLASSES) == y[NUM_TRAIN + i];
  printf("held-out agreement with the teacher: %d of %d\n", agree, NUM_HELD_OUT);

  if (check) {
    double worst_logit = 0.0, worst_weight = 0.0;
    if (!tc_check_close("held-out logit", logits, final_logits, NUM_HELD_OUT * CLASSES,
                        FINAL_REL_TOL, FINAL_ABS_TOL, &worst_logit))
      goto done;
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const char *name = kParams[p].name;
      size_t n = kParams[p].numel;
      const float *start = tc_tensor_in(init, init_size, name, n);
      const float *before = tc_tensor_in(initial, initial_size, name, n);
      const float *after = tc_tensor_in(trained, trained_size, name, n);
      const float *expected = tc_tensor_in(reference, reference_size, name, n);
      if (!start || !before || !after || !expected) {
        fprintf(stderr, "check: %s missing from a weights file or of the wrong size\n", name);
        goto done;
      }
      if (memcmp(before, start, n * sizeof *start) != 0) {
        fprintf(stderr, "check: %s as loaded differs from %s\n", name, init_path);
        goto done;
      }
      int same = memcmp(after, start, n * sizeof *start) == 0;
      if (kParams[p].frozen && !same) {
        fprintf(stderr, "check: frozen %s changed during training\n", name);
        goto done;
      }
      if (!kParams[p].frozen && same) {
        fprintf(stderr, "check: trained %s did not change\n", name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near zero can
       * move by a few steps' worth: compare whole tensors. */
      if (!tc_check_l2(after, expected, n, FINAL_REL_TOL, &worst_weight, "trained %s", name))
        goto done;
    }
    printf("check: %d losses (worst relative error %.2g), held-out logits (worst absolute "
           "error %.2g) and trained weights (worst relative L2 error %.2g) match the "
           "reference; the teacher stayed frozen\n",
           STEPS, worst_loss_error, worst_logit, worst_weight);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  distill_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
