/* llava_train: LLaVA's alignment stage for the Kiln-compiled model of examples/llava:
 * only the projector trains, with the train entry `align` (llava.kiln), the vision
 * tower and the language model frozen, as scripts/references/llava_train.py does it
 * in PyTorch.
 *
 *   llava_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * Starts from INIT (the example's weights, data/llava.safetensors) with its projector
 * replaced by the fresh one of DATA_DIR/train.projector.safetensors (written as
 * OUT_DIR/init.safetensors, which the model loads). Trains it (AdamW without weight
 * decay, gradients clipped to norm 1) on the masked next-token loss `caption_loss` for
 * 60 steps of 4 (image, text) rows from rows 0..7 of DATA_DIR/train.images.f32,
 * train.tokens.i64, train.targets.i64 and train.mask.f32 (step k reads rows
 * (4 k + j) mod 8) at a cosine learning rate, float32(2e-2 (1 + cos(pi k / 60)) / 2)
 * at step k = 0, 1, ...; the first step in halves (llava_align_grads, then
 * llava_align_apply), the rest through llava_align. Reports, before and after, the
 * loss on the held-out rows 8..11 and how many of their caption tokens the model
 * predicts (teacher-forced: the argmax of prefill's logits at each position the mask
 * counts). Saves the weights as loaded and after training as
 * OUT_DIR/initial.safetensors and OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: step 1's gradients
 * (each parameter within 1e-4 of the reference in relative L2 norm), every step's loss
 * (1e-3 relative), the held-out loss before and after training (1e-3 relative), the
 * held-out text positions' logits after training (1e-3 relative, 1e-5 absolute) and the
 * trained projector (1e-3 in relative L2 norm per tensor,
 * DATA_DIR/train.trained.safetensors), and checks that every other tensor of the
 * trained weights is bit-identical to that of INIT. Exit status: 0 ok, 1 error or
 * mismatch, 2 usage.
 */
#include "llava.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 12
#define NUM_TRAIN 8
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define BATCH 4
#define STEPS 60
#define LR 2e-2 /* the peak of the cosine schedule */
#define PI 3.14159265358979323846
#define IMAGE_NUMEL LLAVA_ALIGN_IMAGES_NUMEL(1)
#define TEXT ((size_t)LLAVA_ALIGN_TOKENS_DIM1)
#define SEQ ((size_t)LLAVA_PREFILL_OUT0_DIM1) /* the image tokens, then the text */
#define IMAGE_TOKENS (SEQ - TEXT)
#define VOCAB ((size_t)LLAVA_PREFILL_OUT0_DIM2)
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

_Static_assert(LLAVA_PREFILL_TOKENS_DIM1 == LLAVA_ALIGN_TOKENS_DIM1,
               "prefill and caption_loss take texts of one length");

/* Every parameter, in the model's order (llava.h); the projector's are the trained
 * ones, in the gradient buffer's order (llava.h, `align`). */
#define PROJECTOR "multi_modal_projector."
#define LM "language_model.model."
#define LAYER(n)                                                                                   \
  {LM "layers." #n ".self_attn.q_proj.weight", 96 * 96},                                         \
      {LM "layers." #n ".self_attn.k_proj.weight", 48 * 96},                                     \
      {LM "layers." #n ".self_attn.v_proj.weight", 48 * 96},                                     \
      {LM "layers." #n ".self_attn.o_proj.weight", 96 * 96},                                     \
      {LM "layers." #n ".mlp.gate_proj.weight", 192 * 96},                                       \
      {LM "layers." #n ".mlp.up_proj.weight", 192 * 96},                                         \
      {LM "layers." #n ".mlp.down_proj.weight", 96 * 192},                                       \
      {LM "layers." #n ".input_layernorm.weight", 96},                                           \
      {LM "layers." #n ".post_attention_layernorm.weight", 96}
static const struct {
  const char *name;
  size_t numel;
} kParams[] = {{"vision.class_embedding", 64},
               {"vision.positional_embedding", 17 * 64},
               {"vision.patch_embed.proj.weight", 64 * 3 * 8 * 8},
               {"vision.patch_embed.proj.bias", 64},
               {"vision.ln_pre.weight", 64},
               {"vision.ln_pre.bias", 64},
               {"vision.layers.0.ln1.weight", 64},
               {"vision.layers.0.ln1.bias", 64},
               {"vision.layers.0.attn.q_proj.weight", 64 * 64},
               {"vision.layers.0.attn.q_proj.bias", 64},
               {"vision.layers.0.attn.k_proj.weight", 64 * 64},
               {"vision.layers.0.attn.k_proj.bias", 64},
               {"vision.layers.0.attn.v_proj.weight", 64 * 64},
               {"vision.layers.0.attn.v_proj.bias", 64},
               {"vision.layers.0.attn.out_proj.weight", 64 * 64},
               {"vision.layers.0.attn.out_proj.bias", 64},
               {"vision.layers.0.ln2.weight", 64},
               {"vision.layers.0.ln2.bias", 64},
               {"vision.layers.0.mlp.fc1.weight", 128 * 64},
               {"vision.layers.0.mlp.fc1.bias", 128},
               {"vision.layers.0.mlp.fc2.weight", 64 * 128},
               {"vision.layers.0.mlp.fc2.bias", 64},
               {"vision.ln_post.weight", 64},
               {"vision.ln_post.bias", 64},
               {PROJECTOR "linear_1.weight", 96 * 64},
               {PROJECTOR "linear_1.bias", 96},
               {PROJECTOR "linear_2.weight", 96 * 96},
               {PROJECTOR "linear_2.bias", 96},
               {LM "embed_tokens.weight", 128 * 96},
               LAYER(0),
               LAYER(1),
               {LM "norm.weight", 96},
               {"language_model.lm_head.weight", 128 * 96}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])
_Static_assert(sizeof kParams / sizeof kParams[0] == LLAVA_NUM_PARAMS, "one entry per parameter");

static int trained(size_t p) {
  return strncmp(kParams[p].name, PROJECTOR, strlen(PROJECTOR)) == 0;
}

/* The cosine schedule: the learning rate of step `step` (from 0), as the reference. */
static float lr_at(int step) {
  return (float)(LR * 0.5 * (1.0 + cos(PI * step / STEPS)));
}

/* The training data: rows of images, texts, next-token targets and loss masks. */
typedef struct {
  const float *images;
  const int64_t *tokens, *targets;
  const float *mask;
} rows;

/* Batch `step` into `batch` (buffers of BATCH rows): rows (BATCH * step + j) mod
 * NUM_TRAIN, as the reference. */
static void gather_batch(rows data, int step, float *images, int64_t *tokens, int64_t *targets,
                         float *mask) {
  size_t first = (size_t)BATCH * (size_t)step;
  tc_gather_rows(images, data.images, IMAGE_NUMEL * sizeof *images, NUM_TRAIN, first, BATCH);
  tc_gather_rows(tokens, data.tokens, TEXT * sizeof *tokens, NUM_TRAIN, first, BATCH);
  tc_gather_rows(targets, data.targets, TEXT * sizeof *targets, NUM_TRAIN, first, BATCH);
  tc_gather_rows(mask, data.mask, TEXT * sizeof *mask, NUM_TRAIN, first, BATCH);
}

/* The weights to start from: a copy of INIT (`init`, read whole) whose projector
 * tensors are those of `projector`, written to OUT_DIR/init.safetensors (its path in
 * `path`). Returns the copy (kept for fx_free_all), NULL on failure. */
static unsigned char *fresh_projector(const unsigned char *init, size_t init_size,
                                      const unsigned char *projector, size_t projector_size,
                                      const char *out, char *path, size_t path_size) {
  unsigned char *start = fx_alloc(init_size, 1);
  if (!start)
    return NULL;
  memcpy(start, init, init_size);
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (!trained(p))
      continue;
    const float *from = tc_tensor_in(projector, projector_size, kParams[p].name, kParams[p].numel);
    const float *to = tc_tensor_in(start, init_size, kParams[p].name, kParams[p].numel);
    if (!from || !to) {
      fprintf(stderr, "error: %s missing from a weights file or of the wrong size\n",
              kParams[p].name);
      return NULL;
    }
    memcpy(start + ((const unsigned char *)(const void *)to - start), from,
           kParams[p].numel * sizeof *from);
  }
  snprintf(path, path_size, "%s/init.safetensors", out);
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(start, 1, init_size, f) == init_size;
  if (f && fclose(f) != 0)
    ok = 0;
  if (!ok) {
    fprintf(stderr, "error: cannot write %s\n", path);
    return NULL;
  }
  return start;
}

/* The worst relative errors, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0;

/* Step 1 in halves: the gradients (checked), then the update. */
static int first_step(llava_model *model, rows data, const float *expected_grads,
                      const float *expected_loss, int check) {
  float *images = fx_alloc(BATCH * IMAGE_NUMEL, sizeof *images);
  int64_t *tokens = fx_alloc(BATCH * TEXT, sizeof *tokens);
  int64_t *targets = fx_alloc(BATCH * TEXT, sizeof *targets);
  float *mask = fx_alloc(BATCH * TEXT, sizeof *mask);
  float *grads = fx_alloc(LLAVA_ALIGN_NUM_GRADS, sizeof *grads);
  if (!images || !tokens || !targets || !mask || !grads)
    return 0;
  gather_batch(data, 0, images, tokens, targets, mask);
  float loss = 0.0f;
  if (llava_align_grads(model, BATCH, images, tokens, targets, mask, &loss, grads) != LLAVA_OK ||
      llava_align_apply(model, lr_at(0), grads) != LLAVA_OK) {
    fprintf(stderr, "error: step 1: %s\n", llava_last_error(model));
    return 0;
  }
  printf("align step  1: loss %.4f (llava_align_grads + llava_align_apply)\n", loss);
  tc_log_loss("align", 1, loss, check ? &expected_loss[0] : NULL);
  if (!check)
    return 1;
  if (!tc_check_loss(loss, expected_loss[0], LOSS_TOL, &worst_loss_error, "align step 1"))
    return 0;
  size_t offset = 0, count = 0;
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (!trained(p))
      continue;
    if (!tc_check_l2(grads + offset, expected_grads + offset, kParams[p].numel, GRAD_TOL,
                     &worst_grad_error, "step 1 gradient of %s", kParams[p].name))
      return 0;
    offset += kParams[p].numel;
    ++count;
  }
  if (offset != LLAVA_ALIGN_NUM_GRADS) {
    fprintf(stderr, "check: %zu gradient values, llava.h has %d\n", offset,
            LLAVA_ALIGN_NUM_GRADS);
    return 0;
  }
  printf("check: step 1 gradients of %zu parameters match (worst relative L2 error %.2g)\n",
         count, worst_grad_error);
  return 1;
}

/* Steps 2..STEPS through llava_align, comparing each loss with `expected`. */
static int train(llava_model *model, rows data, const float *expected, int check) {
  float *images = fx_alloc(BATCH * IMAGE_NUMEL, sizeof *images);
  int64_t *tokens = fx_alloc(BATCH * TEXT, sizeof *tokens);
  int64_t *targets = fx_alloc(BATCH * TEXT, sizeof *targets);
  float *mask = fx_alloc(BATCH * TEXT, sizeof *mask);
  if (!images || !tokens || !targets || !mask)
    return 0;
  for (int s = 1; s < STEPS; ++s) {
    gather_batch(data, s, images, tokens, targets, mask);
    float loss = 0.0f;
    int status = llava_align(model, lr_at(s), BATCH, images, tokens, targets, mask, &loss);
    if (status != LLAVA_OK) {
      fprintf(stderr, "error: align step %d failed (status %d): %s\n", s + 1, status,
              llava_last_error(model));
      return 0;
    }
    if ((s + 1) % 10 == 0)
      printf("align step %2d: loss %.4f (lr %.3g)\n", s + 1, loss, lr_at(s));
    tc_log_loss("align", s + 1, loss, check ? &expected[s] : NULL);
    if (check &&
        !tc_check_loss(loss, expected[s], LOSS_TOL, &worst_loss_error, "align step %d", s + 1))
      return 0;
  }
  return 1;
}

/* The held-out rows: caption_loss, prefill's logits of the text positions
 * ([NUM_HELD_OUT, TEXT, VOCAB] into `logits`) and how many of the positions the mask
 * counts have the target as their argmax (teacher-forced). */
static int evaluate(llava_model *model, rows data, const char *when, float *loss, float *logits) {
  size_t first = NUM_TRAIN;
  const float *images = data.images + first * IMAGE_NUMEL;
  const int64_t *tokens = data.tokens + first * TEXT, *targets = data.targets + first * TEXT;
  const float *mask = data.mask + first * TEXT;
  float *all = fx_alloc(NUM_HELD_OUT * SEQ * VOCAB, sizeof *all);
  float *cache = fx_alloc(LLAVA_PREFILL_OUT1_NUMEL(NUM_HELD_OUT), sizeof *cache);
  if (!all || !cache)
    return 0;
  FX_CALL("llava_caption_loss",
          llava_caption_loss(model, NUM_HELD_OUT, images, tokens, targets, mask, loss),
          llava_last_error(model));
  FX_CALL("llava_prefill", llava_prefill(model, NUM_HELD_OUT, images, tokens, all, cache),
          llava_last_error(model));
  int right = 0, counted = 0;
  for (size_t r = 0; r < NUM_HELD_OUT; ++r)
    for (size_t i = 0; i < TEXT; ++i) {
      const float *row = all + (r * SEQ + IMAGE_TOKENS + i) * VOCAB;
      memcpy(logits + (r * TEXT + i) * VOCAB, row, VOCAB * sizeof *row);
      if (mask[r * TEXT + i] == 0.0f)
        continue;
      right += sampling_argmax(row, (int64_t)VOCAB) == targets[r * TEXT + i];
      ++counted;
    }
  printf("held-out %s training: loss %.4f, %d of %d caption tokens predicted\n", when, *loss,
         right, counted);
  return 1;
done:
  return 0;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, llava)

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init_path = argv[1], *dir = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  llava_model *model = NULL;
  rows data = {fx_read_f32(dir, "train.images.f32", NUM_ROWS * IMAGE_NUMEL),
               fx_read_i64(dir, "train.tokens.i64", NUM_ROWS * TEXT),
               fx_read_i64(dir, "train.targets.i64", NUM_ROWS * TEXT),
               fx_read_f32(dir, "train.mask.f32", NUM_ROWS * TEXT)};
  const float *grads = check ? fx_read_f32(dir, "train.grads.f32", LLAVA_ALIGN_NUM_GRADS) : NULL;
  const float *losses = check ? fx_read_f32(dir, "train.losses.f32", STEPS) : NULL;
  const float *heldout_loss = check ? fx_read_f32(dir, "train.heldout_loss.f32", 2) : NULL;
  const float *final_logits =
      check ? fx_read_f32(dir, "train.final_logits.f32", NUM_HELD_OUT * TEXT * VOCAB) : NULL;
  size_t reference_size = 0, init_size = 0, projector_size = 0;
  const unsigned char *reference =
      check ? fx_keep(fx_read_whole(dir, "train.trained.safetensors", &reference_size)) : NULL;
  const unsigned char *init = tc_read_path(init_path, &init_size);
  const unsigned char *projector =
      fx_keep(fx_read_whole(dir, "train.projector.safetensors", &projector_size));
  float *logits = fx_alloc(NUM_HELD_OUT * TEXT * VOCAB, sizeof *logits);
  if (!data.images || !data.tokens || !data.targets || !data.mask || !init || !projector ||
      !logits || (check && (!grads || !losses || !heldout_loss || !final_logits || !reference)))
    goto done;
  if (!fx_check_ids("train.tokens", data.tokens, NUM_ROWS * TEXT, (int64_t)VOCAB) ||
      !fx_check_ids("train.targets", data.targets, NUM_ROWS * TEXT, (int64_t)VOCAB))
    goto done;

  char start_path[4096];
  const unsigned char *start = fresh_projector(init, init_size, projector, projector_size, out,
                                               start_path, sizeof start_path);
  if (!start)
    goto done;
  if (llava_create(start_path, NULL, &model) != LLAVA_OK) {
    fprintf(stderr, "error: create: %s\n", llava_last_error(NULL));
    model = NULL;
    goto done;
  }

  size_t initial_size = 0, trained_size = 0;
  const unsigned char *initial = save_and_read(model, out, "initial.safetensors", &initial_size);
  float before = 0.0f, after = 0.0f;
  if (!initial || !evaluate(model, data, "before", &before, logits) ||
      !first_step(model, data, grads, losses, check) || !train(model, data, losses, check))
    goto done;
  const unsigned char *trained_weights =
      save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained_weights || !evaluate(model, data, "after", &after, logits))
    goto done;

  if (check) {
    if (!tc_check_loss(before, heldout_loss[0], LOSS_TOL, &worst_loss_error,
                       "held-out loss before training 0") ||
        !tc_check_loss(after, heldout_loss[1], LOSS_TOL, &worst_loss_error,
                       "held-out loss after training %d", STEPS))
      goto done;
    double worst_logit = 0.0, worst_weight = 0.0;
    if (!tc_check_close("held-out logit", logits, final_logits, NUM_HELD_OUT * TEXT * VOCAB,
                        FINAL_REL_TOL, FINAL_ABS_TOL, &worst_logit))
      goto done;
    size_t frozen = 0;
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const char *name = kParams[p].name;
      size_t n = kParams[p].numel;
      const float *original = tc_tensor_in(init, init_size, name, n);
      const float *fresh = tc_tensor_in(start, init_size, name, n);
      const float *loaded = tc_tensor_in(initial, initial_size, name, n);
      const float *after_training = tc_tensor_in(trained_weights, trained_size, name, n);
      if (!original || !fresh || !loaded || !after_training) {
        fprintf(stderr, "check: %s missing from a weights file or of the wrong size\n", name);
        goto done;
      }
      if (memcmp(loaded, fresh, n * sizeof *fresh) != 0) {
        fprintf(stderr, "check: %s as loaded differs from %s\n", name, start_path);
        goto done;
      }
      int same = memcmp(after_training, fresh, n * sizeof *fresh) == 0;
      if (!trained(p)) {
        if (!same || memcmp(after_training, original, n * sizeof *original) != 0) {
          fprintf(stderr, "check: frozen %s differs from that of %s\n", name, init_path);
          goto done;
        }
        ++frozen;
        continue;
      }
      if (same) {
        fprintf(stderr, "check: trained %s did not change\n", name);
        goto done;
      }
      const float *expected = tc_tensor_in(reference, reference_size, name, n);
      if (!expected) {
        fprintf(stderr, "check: %s missing from train.trained.safetensors\n", name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near zero can
       * move by a few steps' worth: compare whole tensors. */
      if (!tc_check_l2(after_training, expected, n, FINAL_REL_TOL, &worst_weight, "trained %s",
                       name))
        goto done;
    }
    printf("check: %d losses and the held-out loss before and after (worst relative error "
           "%.2g), the held-out logits (worst absolute error %.2g) and the trained projector "
           "(worst relative L2 error %.2g) match the reference; the other %zu tensors stayed "
           "bit-identical\n",
           STEPS, worst_loss_error, worst_logit, worst_weight, frozen);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  llava_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
