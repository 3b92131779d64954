/* contrastive_train: trains the Kiln-compiled CLIP-style model
 * (examples/contrastive/contrastive.kiln) with its train entry `fit`, as
 * scripts/references/contrastive_train.py trains it in PyTorch.
 *
 *   contrastive_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * Trains both encoders and logit_scale (AdamW, weight decay 0.01, gradients
 * clipped to norm 1, lr 1e-2) for 60 steps of 16 (image, caption) pairs from
 * rows 0..383 of DATA_DIR/train.image_features.f32 and train.text_features.f32,
 * the first step in halves (contrastive_fit_grads, then contrastive_fit_apply),
 * and reports, before and after, how many of the 16 held-out images (rows
 * 384..399) score their own caption highest. Saves the weights before and after
 * training as OUT_DIR/initial.safetensors and OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: step 1's
 * gradients (each parameter within 1e-4 of the reference in relative L2 norm),
 * every step's loss (1e-3 relative), the final held-out similarity logits
 * (1e-3 relative, 1e-4 absolute) and loss (1e-3 relative) and the trained
 * weights, logit_scale included (1e-3 in relative L2 norm per tensor). Exit status: 0 ok, 1 error or
 * mismatch, 2 usage.
 */
#include "contrastive.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 400
#define NUM_TRAIN 384
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define BATCH ((size_t)16) /* pairs per step, as the reference */
#define STEPS 60
#define LR 1e-2f
#define IMAGE_FEATURES ((size_t)CONTRASTIVE_FIT_IMAGE_FEATURES_DIM1)
#define TEXT_FEATURES ((size_t)CONTRASTIVE_FIT_TEXT_FEATURES_DIM1)
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
/* The logits are exp(logit_scale) (about 19 after training) times a cosine:
 * their rounding errors scale with that, not with each logit, so a logit near
 * zero gets an absolute tolerance, 5e-6 of the scale. */
#define LOGIT_ABS_TOL 1e-4

/* The parameters in the gradient buffer's order (contrastive.h, `fit`). */
static const struct {
  const char *name;
  size_t numel;
} kParams[] = {{"logit_scale", 1},
               {"image_encoder.weight", 32 * 48},
               {"image_encoder.bias", 32},
               {"text_encoder.weight", 32 * 24},
               {"text_encoder.bias", 32}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])

/* Batch `step`: pairs (BATCH * step + j) mod NUM_TRAIN, as the reference. */
static void gather_batch(const float *image, const float *text, int step, float *bi, float *bt) {
  size_t first = BATCH * (size_t)step;
  tc_gather_rows(bi, image, IMAGE_FEATURES * sizeof *image, NUM_TRAIN, first, BATCH);
  tc_gather_rows(bt, text, TEXT_FEATURES * sizeof *text, NUM_TRAIN, first, BATCH);
}

/* How many of the n images score their own caption highest in logits[n, n]. */
static int retrieved(const float *logits, size_t n) {
  int hits = 0;
  for (size_t i = 0; i < n; ++i)
    hits += sampling_argmax(logits + i * n, (int64_t)n) == (int64_t)i;
  return hits;
}

/* The worst relative error of a step's loss, for the summary. */
static double worst_loss_error = 0.0;

/* Step 1 in halves: the gradients (checked), then the update. */
static int first_step(contrastive_model *model, const float *image, const float *text,
                      const float *expected_grads, const float *expected_losses, int check) {
  float *bi = fx_alloc(BATCH * IMAGE_FEATURES, sizeof *bi);
  float *bt = fx_alloc(BATCH * TEXT_FEATURES, sizeof *bt);
  float *grads = fx_alloc(CONTRASTIVE_FIT_NUM_GRADS, sizeof *grads);
  if (!bi || !bt || !grads)
    return 0;
  gather_batch(image, text, 0, bi, bt);
  float loss = 0.0f;
  if (contrastive_fit_grads(model, (int64_t)BATCH, bi, bt, &loss, grads) != CONTRASTIVE_OK ||
      contrastive_fit_apply(model, LR, grads) != CONTRASTIVE_OK) {
    fprintf(stderr, "error: step 1: %s\n", contrastive_last_error(model));
    return 0;
  }
  printf("step  1: loss %.4f (contrastive_fit_grads + contrastive_fit_apply)\n", loss);
  tc_log_loss("fit", 1, loss, check ? &expected_losses[0] : NULL);
  if (!check)
    return 1;
  if (!tc_check_loss(loss, expected_losses[0], LOSS_TOL, &worst_loss_error, "step 1"))
    return 0;
  size_t offset = 0;
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    double rel = tc_relative_l2(grads + offset, expected_grads + offset, kParams[p].numel);
    if (!(rel <= GRAD_TOL)) {
      fprintf(stderr, "check: step 1 gradient of %s: relative L2 error %.3g\n", kParams[p].name,
              rel);
      return 0;
    }
    printf("check: step 1 gradient of %-20s relative L2 error %.2g\n", kParams[p].name, rel);
    offset += kParams[p].numel;
  }
  printf("check: step 1 gradients of %zu parameters match\n", NUM_PARAMS);
  return 1;
}

/* Steps 2..STEPS through contrastive_fit, each loss compared with the reference. */
static int train(contrastive_model *model, const float *image, const float *text,
                 const float *expected_losses, int check) {
  float *bi = fx_alloc(BATCH * IMAGE_FEATURES, sizeof *bi);
  float *bt = fx_alloc(BATCH * TEXT_FEATURES, sizeof *bt);
  if (!bi || !bt)
    return 0;
  for (int s = 1; s < STEPS; ++s) {
    gather_batch(image, text, s, bi, bt);
    float loss = 0.0f;
    int status = contrastive_fit(model, LR, (int64_t)BATCH, bi, bt, &loss);
    if (status != CONTRASTIVE_OK) {
      fprintf(stderr, "error: step %d failed (status %d): %s\n", s + 1, status,
              contrastive_last_error(model));
      return 0;
    }
    if ((s + 1) % 10 == 0)
      printf("step %2d: loss %.4f\n", s + 1, loss);
    tc_log_loss("fit", s + 1, loss, check ? &expected_losses[s] : NULL);
    if (check &&
        !tc_check_loss(loss, expected_losses[s], LOSS_TOL, &worst_loss_error, "step %d", s + 1))
      return 0;
  }
  return 1;
}

/* Runs similarity and loss on the held-out pairs; prints how many images pick
 * their own caption. */
static int held_out(contrastive_model *model, const char *when, const float *image,
                    const float *text, float *logits, float *loss) {
  const float *hi = image + NUM_TRAIN * IMAGE_FEATURES, *ht = text + NUM_TRAIN * TEXT_FEATURES;
  if (contrastive_similarity(model, NUM_HELD_OUT, hi, ht, logits) != CONTRASTIVE_OK ||
      contrastive_loss(model, NUM_HELD_OUT, hi, ht, loss) != CONTRASTIVE_OK) {
    fprintf(stderr, "error: held-out pairs %s: %s\n", when, contrastive_last_error(model));
    return 0;
  }
  printf("held-out %s: loss %.4f, %d of %d images score their own caption highest\n", when,
         *loss, retrieved(logits, NUM_HELD_OUT), NUM_HELD_OUT);
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, contrastive)

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  contrastive_model *model = NULL;
  const float *image = fx_read_f32(data, "train.image_features.f32", NUM_ROWS * IMAGE_FEATURES);
  const float *text = fx_read_f32(data, "train.text_features.f32", NUM_ROWS * TEXT_FEATURES);
  const float *grads =
      check ? fx_read_f32(data, "train.grads.f32", CONTRASTIVE_FIT_NUM_GRADS) : NULL;
  const float *losses = check ? fx_read_f32(data, "train.losses.f32", STEPS) : NULL;
  const float *final_similarity =
      check ? fx_read_f32(data, "train.final_similarity.f32", NUM_HELD_OUT * NUM_HELD_OUT)
            : NULL;
  const float *final_loss = check ? fx_read_f32(data, "train.final_loss.f32", 1) : NULL;
  size_t reference_size = 0;
  const unsigned char *reference =
      check ? fx_keep(fx_read_whole(data, "train.trained.safetensors", &reference_size)) : NULL;
  float *logits = fx_alloc(NUM_HELD_OUT * NUM_HELD_OUT, sizeof *logits);
  if (!image || !text || !logits ||
      (check && (!grads || !losses || !final_similarity || !final_loss || !reference)))
    goto done;
  if (contrastive_create(init, NULL, &model) != CONTRASTIVE_OK) {
    fprintf(stderr, "error: create: %s\n", contrastive_last_error(NULL));
    goto done;
  }

  size_t initial_size = 0, trained_size = 0;
  const unsigned char *initial = save_and_read(model, out, "initial.safetensors", &initial_size);
  float loss = 0.0f;
  if (!initial || !held_out(model, "before training", image, text, logits, &loss) ||
      !first_step(model, image, text, grads, losses, check) ||
      !train(model, image, text, losses, check))
    goto done;
  const unsigned char *trained = save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained)
    goto done;
  const float *scale_before = tc_tensor_in(initial, initial_size, "logit_scale", 1);
  const float *scale_after = tc_tensor_in(trained, trained_size, "logit_scale", 1);
  if (!scale_before || !scale_after) {
    fprintf(stderr, "error: logit_scale missing from a saved file\n");
    goto done;
  }
  printf("logit_scale: %.4f -> %.4f (temperature 1/%.2f -> 1/%.2f)\n", *scale_before,
         *scale_after, exp(*scale_before), exp(*scale_after));
  if (!held_out(model, "after training", image, text, logits, &loss))
    goto done;

  if (check) {
    double worst_logit_error = 0.0;
    if (!tc_check_close("held-out similarity", logits, final_similarity,
                        NUM_HELD_OUT * NUM_HELD_OUT, FINAL_REL_TOL, LOGIT_ABS_TOL,
                        &worst_logit_error))
      goto done;
    double loss_error = fabs(loss - *final_loss) / fabs(*final_loss);
    if (!tc_close_to(loss, *final_loss, FINAL_REL_TOL, 0.0)) {
      fprintf(stderr, "check: held-out loss %.7g, reference %.7g\n", loss, *final_loss);
      goto done;
    }
    double worst_weight_error = 0.0;
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const float *after = tc_tensor_in(trained, trained_size, kParams[p].name, kParams[p].numel);
      const float *expected =
          tc_tensor_in(reference, reference_size, kParams[p].name, kParams[p].numel);
      if (!after || !expected) {
        fprintf(stderr, "check: %s missing from a saved file\n", kParams[p].name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near
       * zero can move by a few steps' worth: compare whole tensors. */
      if (!tc_check_l2(after, expected, kParams[p].numel, FINAL_REL_TOL, &worst_weight_error,
                       "trained %s", kParams[p].name))
        goto done;
    }
    printf("check: %d losses (worst relative error %.2g), the held-out similarities (worst "
           "absolute error %.2g) and loss (relative error %.2g) and the trained weights, "
           "logit_scale included (worst relative L2 error %.2g), match the reference\n",
           STEPS, worst_loss_error, worst_logit_error, loss_error, worst_weight_error);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  contrastive_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
