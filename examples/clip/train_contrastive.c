/* train_contrastive: trains both towers of the CLIP of examples/clip contrastively with
 * the `contrastive` train entry of examples/clip/contrastive.kiln, as
 * scripts/references/clip_contrastive_train.py does it in PyTorch.
 *
 *   train_contrastive INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * INIT holds the pre-trained towers and logit_scale (data/clip.safetensors), which the
 * model loads as they are (and saves back, as loaded, as OUT_DIR/initial.safetensors).
 * The pairs: the 16 images DATA_DIR/encode_image.images.f32, each captioned with the
 * prompt of its class (DATA_DIR/heldout.labels.i64 into DATA_DIR/classify.tokens.i64),
 * in batches of 8 (step k reads pairs (8 k + j) mod 16); 50 steps of AdamW at lr 1e-4,
 * gradients clipped to norm 1, on CLIP's symmetric InfoNCE loss, every tensor training
 * but the attention key biases of both towers (whose gradient is zero). The first step
 * runs in halves (_grads, then _apply), the rest in one call. Reports the zero-shot
 * accuracy on the 16 images before and after, saves the weights as
 * OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the reference in DATA_DIR (train_contrastive.*): every
 * loss (1e-3 relative); step 1's gradients, parameter by parameter, within 1e-4 in
 * relative L2 norm where the reference holds them whole (the tensors of fewer than 4096
 * values), their L2 norm within 1e-4 relative for the others; the reference's trained
 * tensors (those of fewer than 4096 values, logit_scale among them) within 1e-3 relative
 * L2; every frozen tensor bit-identical to INIT and every trained one changed.
 * Exit status: 0 ok, 1 error or mismatch, 2 usage.
 */
#include "contrastive.h"

#include "../common/fixture.h"
#include "../common/train_check.h"
#include "weights_file.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_IMAGES 16
#define BATCH 8
#define CLASSES 9
#define CONTEXT ((size_t)CONTRASTIVE_CONTRASTIVE_TOKENS_DIM1)
#define VOCAB_SIZE 64
#define IMAGE_NUMEL ((size_t)3 * 32 * 32)
#define STEPS 50
#define LR 1e-4f
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_TOL 1e-3

_Static_assert(CONTRASTIVE_NUM_PARAMS == 79, "clip.kiln's 79 tensors");


/* The worst relative errors, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0, worst_norm_error = 0.0,
              worst_weight_error = 0.0;

static int trains(const char *name) {
  static const char kKeyBias[] = ".attn.k_proj.bias";
  size_t n = strlen(name), k = sizeof kKeyBias - 1;
  return !(n > k && strcmp(name + n - k, kKeyBias) == 0);
}

/* Step 1's gradients, the trained parameters of `order` one after another, against the
 * reference: whole tensors where it holds them, else their norm. */
static int check_grads(const weights *order, const float *grads, const weights *reference) {
  size_t offset = 0, whole = 0, norms = 0;
  for (size_t p = 0; p < order->count; ++p) {
    const tensor *t = &order->t[p];
    if (!trains(t->name))
      continue;
    const tensor *r = find(reference, t->name);
    if (offset + t->numel > CONTRASTIVE_CONTRASTIVE_NUM_GRADS || !r ||
        (r->numel != t->numel && r->numel != 1)) {
      fprintf(stderr, "check: no reference gradient for %s\n", t->name);
      return 0;
    }
    if (r->numel == t->numel) {
      if (!tc_check_l2(grads + offset, r->data, t->numel, GRAD_TOL, &worst_grad_error,
                       "step 1 gradient of %s", t->name))
        return 0;
      ++whole;
    } else {
      double norm = 0.0;
      for (size_t i = 0; i < t->numel; ++i)
        norm += (double)grads[offset + i] * grads[offset + i];
      if (!tc_check_loss(sqrt(norm), r->data[0], GRAD_TOL, &worst_norm_error,
                         "step 1 gradient norm of %s", t->name))
        return 0;
      ++norms;
    }
    offset += t->numel;
  }
  if (offset != CONTRASTIVE_CONTRASTIVE_NUM_GRADS || whole + norms != reference->count) {
    fprintf(stderr, "check: the trained parameters hold %zu values, contrastive.h says %d\n",
            offset, CONTRASTIVE_CONTRASTIVE_NUM_GRADS);
    return 0;
  }
  printf("check: step 1 gradients of %zu parameters match, and the norms of %zu more\n", whole,
         norms);
  return 1;
}

/* Zero-shot accuracy on the 16 images against the 9 class prompts. */
static int evaluate(contrastive_model *model, const char *when, const float *images,
                    const int64_t *labels, const int64_t *prompts, float *probs) {
  int status = contrastive_classify(model, NUM_IMAGES, CLASSES, images, prompts, probs);
  if (status != CONTRASTIVE_OK) {
    fprintf(stderr, "error: classify %s (status %d): %s\n", when, status,
            contrastive_last_error(model));
    return 0;
  }
  int right = 0;
  for (size_t i = 0; i < NUM_IMAGES; ++i)
    right += sampling_argmax(probs + i * CLASSES, CLASSES) == labels[i];
  printf("%s: zero-shot %d/%d right\n", when, right, NUM_IMAGES);
  return 1;
}

/* The saved weights against the initial ones and the reference's trained tensors. */
static int check_weights(const weights *saved, const weights *init, const weights *reference) {
  size_t frozen = 0, compared = 0;
  for (size_t p = 0; p < init->count; ++p) {
    const tensor *start = &init->t[p];
    const tensor *after = find(saved, start->name);
    if (!after || after->numel != start->numel) {
      fprintf(stderr, "check: %s missing from the trained weights\n", start->name);
      return 0;
    }
    int same = memcmp(after->data, start->data, start->numel * sizeof(float)) == 0;
    if (!trains(start->name) ? !same : same) {
      fprintf(stderr, "check: %s %s\n", start->name,
              same ? "trains but did not change" : "is frozen but changed");
      return 0;
    }
    frozen += !trains(start->name);
  }
  for (size_t p = 0; p < reference->count; ++p) {
    const tensor *expected = &reference->t[p];
    const tensor *after = find(saved, expected->name);
    if (!after || after->numel != expected->numel || !trains(expected->name)) {
      fprintf(stderr, "check: %s of the reference is not a trained tensor\n", expected->name);
      return 0;
    }
    if (!tc_check_l2(after->data, expected->data, expected->numel, FINAL_TOL,
                     &worst_weight_error, "%s after training", expected->name))
      return 0;
    ++compared;
  }
  const tensor *scale = find(saved, "logit_scale");
  printf("check: %zu frozen tensors are bit-identical to the initial weights and %zu trained "
         "ones match the reference (logit_scale %.4f)\n",
         frozen, compared, scale ? scale->data[0] : NAN);
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, contrastive)

static int save(contrastive_model *model, const char *dir, const char *name, weights *w) {
  size_t size = 0;
  const unsigned char *file = save_and_read(model, dir, name, &size);
  return parse_file(file, size, dir, name, w);
}

static weights init_w, initial_w, trained_w, grads_ref_w, trained_ref_w;

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init_path = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  contrastive_model *model = NULL;
  const float *images = fx_read_f32(data, "encode_image.images.f32", NUM_IMAGES * IMAGE_NUMEL);
  const int64_t *labels = fx_read_i64(data, "heldout.labels.i64", NUM_IMAGES);
  const int64_t *prompts = fx_read_i64(data, "classify.tokens.i64", CLASSES * CONTEXT);
  int64_t *captions = fx_alloc(NUM_IMAGES * CONTEXT, sizeof *captions);
  float *bx = fx_alloc((size_t)BATCH * IMAGE_NUMEL, sizeof *bx);
  int64_t *bt = fx_alloc((size_t)BATCH * CONTEXT, sizeof *bt);
  float *grads = fx_alloc(CONTRASTIVE_CONTRASTIVE_NUM_GRADS, sizeof *grads);
  float *probs = fx_alloc(NUM_IMAGES * CLASSES, sizeof *probs);
  if (!images || !labels || !prompts || !captions || !bx || !bt || !grads || !probs)
    goto done;
  if (!fx_check_ids("heldout.labels", labels, NUM_IMAGES, CLASSES) ||
      !fx_check_ids("classify.tokens", prompts, CLASSES * CONTEXT, VOCAB_SIZE))
    goto done;
  for (size_t i = 0; i < NUM_IMAGES; ++i) /* image i's caption: its class's prompt */
    memcpy(captions + i * CONTEXT, prompts + (size_t)labels[i] * CONTEXT,
           CONTEXT * sizeof *captions);

  const float *ref_losses = NULL;
  if (check) {
    ref_losses = fx_read_f32(data, "train_contrastive.losses.f32", STEPS);
    if (!ref_losses || !read_weights(data, "train_contrastive.grads.safetensors", &grads_ref_w) ||
        !read_weights(data, "train_contrastive.trained.safetensors", &trained_ref_w))
      goto done;
  }

  size_t init_size = 0;
  const unsigned char *init_file = tc_read_path(init_path, &init_size);
  if (!init_file || !parse_weights(init_file, init_size, init_path, &init_w))
    goto done;
  if (contrastive_create(init_path, NULL, &model) != CONTRASTIVE_OK) {
    fprintf(stderr, "error: create: %s\n", contrastive_last_error(NULL));
    model = NULL;
    goto done;
  }
  /* The weights as loaded, in the model's order (that of the gradient buffer). */
  if (!save(model, out, "initial.safetensors", &initial_w))
    goto done;
  if (initial_w.count != CONTRASTIVE_NUM_PARAMS || init_w.count != CONTRASTIVE_NUM_PARAMS) {
    fprintf(stderr, "error: %zu tensors saved, %zu in %s, contrastive.h has %d\n",
            initial_w.count, init_w.count, init_path, CONTRASTIVE_NUM_PARAMS);
    goto done;
  }
  for (size_t p = 0; p < initial_w.count; ++p) {
    const tensor *a = &initial_w.t[p], *b = find(&init_w, a->name);
    if (!b || b->numel != a->numel || memcmp(a->data, b->data, a->numel * sizeof(float)) != 0) {
      fprintf(stderr, "error: %s as loaded differs from %s\n", a->name, init_path);
      goto done;
    }
  }
  if (!evaluate(model, "before training", images, labels, prompts, probs))
    goto done;

  int losses_checked = 0;
  for (int s = 0; s < STEPS; ++s) {
    size_t first = (size_t)BATCH * (size_t)s;
    tc_gather_rows(bx, images, IMAGE_NUMEL * sizeof *bx, NUM_IMAGES, first, BATCH);
    tc_gather_rows(bt, captions, CONTEXT * sizeof *bt, NUM_IMAGES, first, BATCH);
    float loss = 0.0f;
    int status = s == 0 ? contrastive_contrastive_grads(model, BATCH, bx, bt, &loss, grads)
                        : contrastive_contrastive(model, LR, BATCH, bx, bt, &loss);
    if (status == CONTRASTIVE_OK && s == 0)
      status = contrastive_contrastive_apply(model, LR, grads);
    if (status != CONTRASTIVE_OK) {
      fprintf(stderr, "error: contrastive step %d failed (status %d): %s\n", s + 1, status,
              contrastive_last_error(model));
      goto done;
    }
    if (s == 0)
      printf("contrastive step  1: loss %.4f (contrastive_contrastive_grads + _apply)\n", loss);
    else if ((s + 1) % 10 == 0)
      printf("contrastive step %2d: loss %.4f\n", s + 1, loss);
    tc_log_loss("contrastive", s + 1, loss, check ? &ref_losses[s] : NULL);
    if (check) {
      ++losses_checked;
      if (!tc_check_loss(loss, ref_losses[s], LOSS_TOL, &worst_loss_error, "contrastive step %d",
                         s + 1))
        goto done;
      if (s == 0 && !check_grads(&initial_w, grads, &grads_ref_w))
        goto done;
    }
  }
  if (!save(model, out, "trained.safetensors", &trained_w) ||
      !evaluate(model, "after training", images, labels, prompts, probs))
    goto done;
  if (check) {
    if (!check_weights(&trained_w, &init_w, &trained_ref_w))
      goto done;
    printf("check: %d losses (worst relative error %.2g), step 1 gradients (worst relative L2 "
           "error %.2g, gradient norms %.2g) and trained weights (worst relative L2 error "
           "%.2g) match the reference\n",
           losses_checked, worst_loss_error, worst_grad_error, worst_norm_error,
           worst_weight_error);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  contrastive_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
