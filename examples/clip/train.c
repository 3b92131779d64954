/* clip_train: fine-tunes the CLIP of examples/clip for image classification with the
 * train entries of examples/clip/probe.kiln, as scripts/references/clip_train.py does
 * it in PyTorch: a linear probe on the frozen image tower, then a fine-tune of the image
 * tower and the probe at a lower learning rate ("LP-FT").
 *
 *   clip_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * INIT holds the pre-trained towers and logit_scale (the example's weights,
 * data/clip.safetensors). The driver adds the fresh probe of
 * DATA_DIR/train.probe_init.f32 (probe.weight [9, 32], then probe.bias [9]) and writes
 * the two together as OUT_DIR/init.safetensors, the initial weights of probe.kiln's
 * model, which it loads (and saves back, as loaded, as OUT_DIR/initial.safetensors). It
 * then trains on the 16 images DATA_DIR/encode_image.images.f32 (classes
 * DATA_DIR/heldout.labels.i64, class prompts DATA_DIR/classify.tokens.i64) in batches
 * of 8 (step k reads images (8 k + j) mod 16):
 *
 *   linear_probe  50 steps, AdamW, lr 5e-2: only probe.* trains
 *   finetune      50 steps, AdamW, lr 1e-4, gradients clipped to norm 1: the image
 *                 tower and the probe train; text.*, logit_scale and the image
 *                 tower's key biases (whose gradient is zero) stay frozen
 *
 * the first step of each in halves (_grads, then _apply), the rest in one call, and
 * reports the probe's and the zero-shot accuracy on the 16 images before and after each
 * stage. Saves the weights after each as OUT_DIR/probed.safetensors and
 * OUT_DIR/finetuned.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR (train.*): each
 * stage's step-1 gradients (each parameter within 1e-4 of the reference in relative L2
 * norm), every loss (1e-3 relative), the probe's logits on the 16 images after each
 * stage and the zero-shot probabilities after finetune (1e-3 relative, 1e-5 absolute),
 * and the trained tensors of the reference files (1e-3 in relative L2 norm per tensor:
 * the probe after linear_probe, the tensors of fewer than 4096 values after finetune);
 * it checks that every frozen tensor of the saved weights is bit-identical to
 * OUT_DIR/init.safetensors and every trained one changed. Exit status: 0 ok, 1 error or
 * mismatch, 2 usage.
 */
#include "probe.h"

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
#define CLASSES ((size_t)PROBE_PREDICT_OUT_DIM1)
#define CONTEXT ((size_t)PROBE_FINETUNE_TOKENS_DIM1)
#define VOCAB_SIZE 64
#define IMAGE_NUMEL ((size_t)3 * 32 * 32)
#define PROBE_VALUES (CLASSES * 32 + CLASSES) /* probe.weight [9, 32], probe.bias [9] */
#define PROBE_STEPS 50
#define PROBE_LR 5e-2f
#define FINETUNE_STEPS 50
#define FINETUNE_LR 1e-4f
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

_Static_assert(PROBE_FINETUNE_TOKENS_DIM0 == PROBE_PREDICT_OUT_DIM1, "one prompt per class");
_Static_assert(PROBE_LINEAR_PROBE_NUM_GRADS == 9 * 33, "linear_probe trains the probe");


/* Writes OUT_DIR/init.safetensors: the tensors of the CLIP weights file `clip_path`, then
 * probe.weight and probe.bias from `probe` (the CLIP header with two more entries, the
 * CLIP data with the probe's after it). */
static int write_init(const char *clip_path, const float *probe, const char *out_dir) {
  size_t size = 0;
  unsigned char *clip = tc_read_path(clip_path, &size);
  if (!clip)
    return 0;
  uint64_t header_len = tc_header_len(clip, size);
  const char *header = (const char *)clip + 8;
  size_t close = header_len == UINT64_MAX ? 0 : (size_t)header_len;
  while (close > 0 && header[close - 1] != '}')
    --close;
  if (close < 2 || memchr(header, '{', close) != header) {
    fprintf(stderr, "error: %s is not a .safetensors file\n", clip_path);
    return 0;
  }
  size_t data_size = size - 8 - (size_t)header_len;
  size_t w_bytes = CLASSES * 32 * sizeof(float), b_bytes = CLASSES * sizeof(float);
  char entries[256];
  int n = snprintf(entries, sizeof entries,
                   ",\"probe.weight\":{\"dtype\":\"F32\",\"shape\":[%zu,32],\"data_offsets\":[%zu,"
                   "%zu]},\"probe.bias\":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,"
                   "%zu]}}",
                   CLASSES, data_size, data_size + w_bytes, CLASSES, data_size + w_bytes,
                   data_size + w_bytes + b_bytes);
  size_t new_len = close - 1 + (size_t)n;
  size_t padded = (new_len + 7) / 8 * 8;
  unsigned char length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  char path[4096];
  snprintf(path, sizeof path, "%s/init.safetensors", out_dir);
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(length, 1, 8, f) == 8 && fwrite(header, 1, close - 1, f) == close - 1 &&
           fwrite(entries, 1, (size_t)n, f) == (size_t)n &&
           fwrite("        ", 1, padded - new_len, f) == padded - new_len &&
           fwrite(clip + 8 + header_len, 1, data_size, f) == data_size &&
           fwrite(probe, sizeof(float), PROBE_VALUES, f) == PROBE_VALUES;
  if (f && fclose(f) != 0)
    ok = 0;
  if (!ok)
    fprintf(stderr, "error: cannot write %s\n", path);
  return ok;
}

/* --------------------------------------------------------------------- training */

/* The worst relative errors, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0, worst_output_error = 0.0,
              worst_weight_error = 0.0;
static int losses_checked = 0;

/* Batch `step`: images (BATCH * step + j) mod NUM_IMAGES, as the reference. */
static void gather_batch(const float *images, const int64_t *labels, int step, float *bx,
                         int64_t *by) {
  size_t first = (size_t)BATCH * (size_t)step;
  tc_gather_rows(bx, images, IMAGE_NUMEL * sizeof *bx, NUM_IMAGES, first, BATCH);
  tc_gather_rows(by, labels, sizeof *by, NUM_IMAGES, first, BATCH);
}

static int check_loss(const char *entry, int step, float loss, const float *expected) {
  ++losses_checked;
  return tc_check_loss(loss, expected[step], LOSS_TOL, &worst_loss_error, "%s step %d", entry,
                       step + 1);
}

/* Step 1's gradients against the reference, parameter by parameter: the trained
 * parameters of `model_order` (those `trains` accepts), one after another. */
static int check_grads(const char *entry, const weights *model_order, int (*trains)(const char *),
                       const float *grads, const float *expected, size_t num_grads) {
  size_t offset = 0, count = 0;
  for (size_t p = 0; p < model_order->count; ++p) {
    const tensor *t = &model_order->t[p];
    if (!trains(t->name))
      continue;
    if (offset + t->numel > num_grads)
      break;
    if (!tc_check_l2(grads + offset, expected + offset, t->numel, GRAD_TOL, &worst_grad_error,
                     "%s step 1 gradient of %s", entry, t->name))
      return 0;
    offset += t->numel;
    ++count;
  }
  if (offset != num_grads) {
    fprintf(stderr, "check: %s: the trained parameters hold %zu values, probe.h says %zu\n", entry,
            offset, num_grads);
    return 0;
  }
  printf("check: %s step 1 gradients of %zu parameters match\n", entry, count);
  return 1;
}

static int is_probe(const char *name) { return strncmp(name, "probe.", 6) == 0; }
static int finetune_trains(const char *name) {
  static const char kKeyBias[] = ".attn.k_proj.bias";
  size_t n = strlen(name), k = sizeof kKeyBias - 1;
  int key_bias = strncmp(name, "visual.layers.", 14) == 0 && n > k &&
                 strcmp(name + n - k, kKeyBias) == 0;
  return strncmp(name, "text.", 5) != 0 && strcmp(name, "logit_scale") != 0 && !key_bias;
}

/* The data both stages use. */
typedef struct {
  const float *images;
  const int64_t *labels, *tokens;
  float *bx;
  int64_t *by;
} dataset;

static int run_linear_probe(probe_model *model, const dataset *d, const weights *order,
                            const float *expected_grads, const float *expected_losses) {
  float *grads = fx_alloc(PROBE_LINEAR_PROBE_NUM_GRADS, sizeof *grads);
  if (!grads)
    return 0;
  for (int s = 0; s < PROBE_STEPS; ++s) {
    gather_batch(d->images, d->labels, s, d->bx, d->by);
    float loss = 0.0f;
    int status = s == 0 ? probe_linear_probe_grads(model, BATCH, d->bx, d->by, &loss, grads)
                        : probe_linear_probe(model, PROBE_LR, BATCH, d->bx, d->by, &loss);
    if (status == PROBE_OK && s == 0)
      status = probe_linear_probe_apply(model, PROBE_LR, grads);
    if (status != PROBE_OK) {
      fprintf(stderr, "error: linear_probe step %d failed (status %d): %s\n", s + 1, status,
              probe_last_error(model));
      return 0;
    }
    if (s == 0)
      printf("linear_probe step  1: loss %.4f (probe_linear_probe_grads + _apply)\n", loss);
    else if ((s + 1) % 10 == 0)
      printf("linear_probe step %2d: loss %.4f\n", s + 1, loss);
    tc_log_loss("linear_probe", s + 1, loss, expected_losses ? &expected_losses[s] : NULL);
    if (expected_losses && !check_loss("linear_probe", s, loss, expected_losses))
      return 0;
    if (s == 0 && expected_grads &&
        !check_grads("linear_probe", order, is_probe, grads, expected_grads,
                     PROBE_LINEAR_PROBE_NUM_GRADS))
      return 0;
  }
  return 1;
}

static int run_finetune(probe_model *model, const dataset *d, const weights *order,
                        const float *expected_grads, const float *expected_losses) {
  float *grads = fx_alloc(PROBE_FINETUNE_NUM_GRADS, sizeof *grads);
  if (!grads)
    return 0;
  for (int s = 0; s < FINETUNE_STEPS; ++s) {
    gather_batch(d->images, d->labels, s, d->bx, d->by);
    float loss = 0.0f;
    int status = s == 0 ? probe_finetune_grads(model, BATCH, d->bx, d->by, d->tokens, &loss, grads)
                        : probe_finetune(model, FINETUNE_LR, BATCH, d->bx, d->by, d->tokens, &loss);
    if (status == PROBE_OK && s == 0)
      status = probe_finetune_apply(model, FINETUNE_LR, grads);
    if (status != PROBE_OK) {
      fprintf(stderr, "error: finetune step %d failed (status %d): %s\n", s + 1, status,
              probe_last_error(model));
      return 0;
    }
    if (s == 0)
      printf("finetune step  1: loss %.4f (probe_finetune_grads + _apply)\n", loss);
    else if ((s + 1) % 10 == 0)
      printf("finetune step %2d: loss %.4f\n", s + 1, loss);
    tc_log_loss("finetune", s + 1, loss, expected_losses ? &expected_losses[s] : NULL);
    if (expected_losses && !check_loss("finetune", s, loss, expected_losses))
      return 0;
    if (s == 0 && expected_grads &&
        !check_grads("finetune", order, finetune_trains, grads, expected_grads,
                     PROBE_FINETUNE_NUM_GRADS))
      return 0;
  }
  return 1;
}

/* ---------------------------------------------------------------------- reports */

static int correct(const float *scores, const int64_t *labels) {
  int n = 0;
  for (size_t i = 0; i < NUM_IMAGES; ++i)
    n += sampling_argmax(scores + i * CLASSES, (int64_t)CLASSES) == labels[i];
  return n;
}

/* The probe's logits and the zero-shot probabilities on all images, the accuracies. */
static int evaluate(probe_model *model, const char *when, const dataset *d, float *logits,
                    float *probs) {
  int status = probe_predict(model, NUM_IMAGES, d->images, logits);
  if (status == PROBE_OK)
    status = probe_classify(model, NUM_IMAGES, (int64_t)CLASSES, d->images, d->tokens, probs);
  if (status != PROBE_OK) {
    fprintf(stderr, "error: evaluating %s (status %d): %s\n", when, status,
            probe_last_error(model));
    return 0;
  }
  printf("%s: probe %d/%d right, zero-shot %d/%d right\n", when, correct(logits, d->labels),
         NUM_IMAGES, correct(probs, d->labels), NUM_IMAGES);
  return 1;
}

/* Outputs within FINAL_REL_TOL relative, FINAL_ABS_TOL absolute; the summary's worst
 * relative error leaves out the values within the absolute tolerance (probabilities near
 * 0). */
static int check_outputs(const char *what, const float *got, const float *expected, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    double diff = fabs((double)got[i] - expected[i]);
    double rel = diff / fmax(fabs(expected[i]), 1e-30);
    if (rel > worst_output_error && diff > FINAL_ABS_TOL)
      worst_output_error = rel;
    if (!tc_close_to(got[i], expected[i], FINAL_REL_TOL, FINAL_ABS_TOL)) {
      fprintf(stderr, "check: %s [%zu]: %.7g, reference %.7g\n", what, i, got[i], expected[i]);
      return 0;
    }
  }
  return 1;
}

/* The saved weights `saved` against the initial ones: the tensors `trains` rejects
 * bit-identical, the others changed, and those in `reference` within FINAL_REL_TOL. */
static int check_weights(const char *stage, const weights *saved, const weights *init,
                         int (*trains)(const char *), const weights *reference) {
  size_t frozen = 0, compared = 0;
  for (size_t p = 0; p < init->count; ++p) {
    const tensor *start = &init->t[p];
    const tensor *after = find(saved, start->name);
    if (!after || after->numel != start->numel) {
      fprintf(stderr, "check: %s missing from the weights saved after %s\n", start->name, stage);
      return 0;
    }
    int same = memcmp(after->data, start->data, start->numel * sizeof(float)) == 0;
    if (!trains(start->name)) {
      if (!same) {
        fprintf(stderr, "check: frozen %s changed during %s\n", start->name, stage);
        return 0;
      }
      ++frozen;
      continue;
    }
    if (same) {
      fprintf(stderr, "check: trained %s did not change during %s\n", start->name, stage);
      return 0;
    }
  }
  for (size_t p = 0; p < reference->count; ++p) {
    const tensor *expected = &reference->t[p];
    const tensor *after = find(saved, expected->name);
    if (!after || after->numel != expected->numel || !trains(expected->name)) {
      fprintf(stderr, "check: %s of the reference is not a tensor %s trains\n", expected->name,
              stage);
      return 0;
    }
    /* Adam normalizes each update, so a weight whose gradients hover near zero can
     * move by a few steps' worth: compare whole tensors. */
    if (!tc_check_l2(after->data, expected->data, expected->numel, FINAL_REL_TOL,
                     &worst_weight_error, "%s after %s", expected->name, stage))
      return 0;
    ++compared;
  }
  printf("check: after %s, %zu frozen tensors are bit-identical to the initial weights and "
         "%zu trained ones match the reference\n",
         stage, frozen, compared);
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, probe)

/* Saves the weights as DIR/NAME and parses the file into *w. */
static int save(probe_model *model, const char *dir, const char *name, weights *w) {
  size_t size = 0;
  const unsigned char *file = save_and_read(model, dir, name, &size);
  return parse_file(file, size, dir, name, w);
}

/* Six tables of up to 96 tensors each: static, not on the stack. */
static weights init_w, initial_w, probed_w, finetuned_w, probe_ref_w, finetune_ref_w;

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *clip_path = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  probe_model *model = NULL;
  dataset d;
  d.images = fx_read_f32(data, "encode_image.images.f32", NUM_IMAGES * IMAGE_NUMEL);
  d.labels = fx_read_i64(data, "heldout.labels.i64", NUM_IMAGES);
  d.tokens = fx_read_i64(data, "classify.tokens.i64", CLASSES * CONTEXT);
  d.bx = fx_alloc((size_t)BATCH * IMAGE_NUMEL, sizeof *d.bx);
  d.by = fx_alloc(BATCH, sizeof *d.by);
  const float *probe_init = fx_read_f32(data, "train.probe_init.f32", PROBE_VALUES);
  float *logits = fx_alloc(NUM_IMAGES * CLASSES, sizeof *logits);
  float *probs = fx_alloc(NUM_IMAGES * CLASSES, sizeof *probs);
  if (!d.images || !d.labels || !d.tokens || !d.bx || !d.by || !probe_init || !logits || !probs)
    goto done;
  if (!fx_check_ids("heldout.labels", d.labels, NUM_IMAGES, (int64_t)CLASSES) ||
      !fx_check_ids("classify.tokens", d.tokens, CLASSES * CONTEXT, VOCAB_SIZE))
    goto done;

  /* The reference, for --check. */
  const float *probe_grads = NULL, *probe_losses = NULL, *probe_logits = NULL;
  const float *finetune_grads = NULL, *finetune_losses = NULL, *finetune_logits = NULL,
              *finetune_classify = NULL;
  if (check) {
    probe_grads = fx_read_f32(data, "train.probe_grads.f32", PROBE_LINEAR_PROBE_NUM_GRADS);
    probe_losses = fx_read_f32(data, "train.probe_losses.f32", PROBE_STEPS);
    probe_logits = fx_read_f32(data, "train.probe_logits.f32", NUM_IMAGES * CLASSES);
    finetune_grads = fx_read_f32(data, "train.finetune_grads.f32", PROBE_FINETUNE_NUM_GRADS);
    finetune_losses = fx_read_f32(data, "train.finetune_losses.f32", FINETUNE_STEPS);
    finetune_logits = fx_read_f32(data, "train.finetune_logits.f32", NUM_IMAGES * CLASSES);
    finetune_classify = fx_read_f32(data, "train.finetune_classify.f32", NUM_IMAGES * CLASSES);
    if (!probe_grads || !probe_losses || !probe_logits || !finetune_grads || !finetune_losses ||
        !finetune_logits || !finetune_classify ||
        !read_weights(data, "train.probe_trained.safetensors", &probe_ref_w) ||
        !read_weights(data, "train.finetune_trained.safetensors", &finetune_ref_w))
      goto done;
  }

  /* The model: the pre-trained CLIP and the fresh probe. */
  char init_path[4096];
  snprintf(init_path, sizeof init_path, "%s/init.safetensors", out);
  if (!write_init(clip_path, probe_init, out) || !read_weights(out, "init.safetensors", &init_w))
    goto done;
  if (probe_create(init_path, NULL, &model) != PROBE_OK) {
    fprintf(stderr, "error: create: %s\n", probe_last_error(NULL));
    model = NULL;
    goto done;
  }
  /* The weights as loaded, in the model's order (that of the gradient buffers). */
  if (!save(model, out, "initial.safetensors", &initial_w))
    goto done;
  if (initial_w.count != PROBE_NUM_PARAMS || init_w.count != PROBE_NUM_PARAMS) {
    fprintf(stderr, "error: %zu tensors saved, %zu in %s, probe.h has %d\n", initial_w.count,
            init_w.count, init_path, PROBE_NUM_PARAMS);
    goto done;
  }
  for (size_t p = 0; p < initial_w.count; ++p) {
    const tensor *a = &initial_w.t[p], *b = find(&init_w, a->name);
    if (!b || b->numel != a->numel || memcmp(a->data, b->data, a->numel * sizeof(float)) != 0) {
      fprintf(stderr, "error: %s as loaded differs from %s\n", a->name, init_path);
      goto done;
    }
  }
  if (!evaluate(model, "before training", &d, logits, probs))
    goto done;

  /* Stage 1: the linear probe. */
  if (!run_linear_probe(model, &d, &initial_w, probe_grads, probe_losses) ||
      !save(model, out, "probed.safetensors", &probed_w) ||
      !evaluate(model, "after linear_probe", &d, logits, probs))
    goto done;
  if (check && (!check_outputs("logits after linear_probe", logits, probe_logits,
                               NUM_IMAGES * CLASSES) ||
                !check_weights("linear_probe", &probed_w, &init_w, is_probe, &probe_ref_w)))
    goto done;

  /* Stage 2: the fine-tune. */
  if (!run_finetune(model, &d, &initial_w, finetune_grads, finetune_losses) ||
      !save(model, out, "finetuned.safetensors", &finetuned_w) ||
      !evaluate(model, "after finetune", &d, logits, probs))
    goto done;
  if (check) {
    if (!check_outputs("logits after finetune", logits, finetune_logits, NUM_IMAGES * CLASSES) ||
        !check_outputs("zero-shot probabilities after finetune", probs, finetune_classify,
                       NUM_IMAGES * CLASSES) ||
        !check_weights("finetune", &finetuned_w, &init_w, finetune_trains, &finetune_ref_w))
      goto done;
    printf("check: %d losses (worst relative error %.2g), step 1 gradients (worst relative L2 "
           "error %.2g), logits and probabilities (worst relative error %.2g) and trained "
           "weights (worst relative L2 error %.2g) match the reference\n",
           losses_checked, worst_loss_error, worst_grad_error, worst_output_error,
           worst_weight_error);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  probe_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
