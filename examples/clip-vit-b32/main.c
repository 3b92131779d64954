/* clip_vit_b32_demo: OpenAI's CLIP ViT-B/32 compiled by Kiln (examples/clip-vit-b32).
 *
 *   clip_vit_b32_demo WEIGHTS.safetensors DATA_DIR [--check] [--l2-tolerance=X]
 *
 * Runs encode_image on DATA_DIR/b1.image.f32 and DATA_DIR/b8.image.f32 ([B, 3, R, R],
 * CLIP-normalised), encode_text on the token rows DATA_DIR/text.i64 ([N, C]) and classify
 * on each image batch against those texts, then prints, for every image, the text it
 * matches best and its probability. Every size comes from the generated header
 * (clip_vit_b32.h), so one driver serves the full ViT-B/32 (R 224, C 77, E 512) and the
 * tiny variant compiled with `kilnc -D ...`; the batch sizes come from the files' sizes and
 * the vocabulary size (for checking the token ids) from the weights file. With --check,
 * compares every output with DATA_DIR/<output>.f32 (|a - b| <= 1e-4 |b| + 1e-6, or with
 * --l2-tolerance=X each output within X in relative L2 norm), and each image's best text
 * with the reference's; exits 1 on a mismatch. Exit status: 0 ok, 1 error or mismatch, 2
 * bad usage.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "clip_vit_b32.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The sizes the model was compiled for. */
#define CHANNELS CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_DIM1
#define RESOLUTION CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_DIM2
#define IMAGE_NUMEL CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_NUMEL(1)
#define EMBED_DIM CLIP_VIT_B32_ENCODE_IMAGE_OUT_DIM1
#define CONTEXT CLIP_VIT_B32_ENCODE_TEXT_TEXT_DIM1

_Static_assert(CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_DIM3 == RESOLUTION, "square images");
_Static_assert(CLIP_VIT_B32_ENCODE_TEXT_OUT_DIM1 == EMBED_DIM, "one embedding width");
_Static_assert(CLIP_VIT_B32_CLASSIFY_IMAGE_DIM2 == RESOLUTION &&
                   CLIP_VIT_B32_CLASSIFY_TEXT_DIM1 == CONTEXT,
               "classify takes encode_image's and encode_text's inputs");

#define NUM_BATCHES 2
static const char *const batch_names[NUM_BATCHES] = {"b1", "b8"};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* The vocabulary size: dim 0 of `token_embedding.weight` in the header of the safetensors
 * file at `path` (the generated header has no macro for it; clip_vit_b32_create has
 * checked the shape against the model). 0, with a message, on failure. */
static int64_t read_vocab_size(const char *path) {
  static const char key[] = "\"token_embedding.weight\"";
  int64_t vocab = 0;
  char *header = NULL;
  FILE *f = fopen(path, "rb");
  unsigned char len_bytes[8];
  if (!f || fread(len_bytes, 1, 8, f) != 8)
    goto done;
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i)
    len = len << 8 | len_bytes[i];
  if (len == 0 || len > (100u << 20))
    goto done;
  header = malloc((size_t)len + 1);
  if (!header || fread(header, 1, (size_t)len, f) != (size_t)len)
    goto done;
  header[len] = '\0';
  const char *entry = strstr(header, key);
  const char *end = entry ? strchr(entry, '}') : NULL;
  const char *shape = entry ? strstr(entry, "\"shape\"") : NULL;
  const char *open = shape && shape < end ? strchr(shape, '[') : NULL;
  if (open && open < end) {
    char *after;
    long long n = strtoll(open + 1, &after, 10);
    if (after != open + 1 && n > 0)
      vocab = (int64_t)n;
  }
done:
  if (f)
    fclose(f);
  free(header);
  if (vocab == 0)
    fprintf(stderr, "error: %s: cannot read the shape of token_embedding.weight\n", path);
  return vocab;
}

/* The position of the end-of-text token of a row: its largest id (the first one). */
static size_t eot_position(const int64_t *row) {
  size_t best = 0;
  for (size_t i = 1; i < CONTEXT; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

/* Compares one output with DATA_DIR/<name>.f32 and prints its worst relative error; the
 * overall worst is kept for fx_report_check. Returns 0 on a mismatch or a read error. */
static int check_output(const char *dir, const char *name, const float *got, size_t n) {
  char file[64];
  snprintf(file, sizeof file, "%s.f32", name);
  float *expected = fx_read_f32(dir, file, n);
  if (!expected)
    return 0;
  double worst_so_far = fx_worst_rel_err;
  fx_worst_rel_err = 0.0;
  int ok = fx_compare_f32(name, got, expected, n);
  if (ok)
    printf("check: %-16s %5zu values, max rel err %.3g\n", name, n, fx_worst_rel_err);
  if (worst_so_far > fx_worst_rel_err)
    fx_worst_rel_err = worst_so_far;
  return ok;
}

/* Zero-shot classification's answer: the text each image matches best in `got` ([images,
 * texts]) must be the one it matches best in DATA_DIR/<name>.f32. Returns 0 otherwise. */
static int check_top1(const char *dir, const char *name, const float *got, size_t images,
                      size_t texts) {
  char file[80];
  snprintf(file, sizeof file, "%s.f32", name);
  float *expected = fx_read_f32(dir, file, images * texts);
  if (!expected)
    return 0;
  for (size_t i = 0; i < images; ++i) {
    size_t best = 0, best_expected = 0;
    for (size_t t = 1; t < texts; ++t) {
      best = got[i * texts + t] > got[i * texts + best] ? t : best;
      best_expected =
          expected[i * texts + t] > expected[i * texts + best_expected] ? t : best_expected;
    }
    if (best != best_expected) {
      fprintf(stderr, "check: %s: image %zu matches text %zu best, the reference text %zu\n", name,
              i, best, best_expected);
      return 0;
    }
  }
  printf("check: %-16s top-1 of %zu images as the reference's\n", name, images);
  return 1;
}

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  clip_vit_b32_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, clip_vit_b32_last_error(model))

  /* Inputs: the batch sizes B and the number of texts N come from the file sizes. */
  size_t batch[NUM_BATCHES], n;
  float *images[NUM_BATCHES], *features[NUM_BATCHES], *probs[NUM_BATCHES];
  for (int i = 0; i < NUM_BATCHES; ++i) {
    char file[64];
    snprintf(file, sizeof file, "%s.image.f32", batch_names[i]);
    images[i] = fx_read_rows(dir, file, IMAGE_NUMEL * sizeof(float), &batch[i]);
    if (!images[i])
      goto done;
  }
  int64_t *text = fx_read_rows(dir, "text.i64", CONTEXT * sizeof(int64_t), &n);
  if (!text)
    goto done;
  float *text_features = fx_alloc(n * EMBED_DIM, sizeof(float));
  if (!text_features)
    goto done;
  for (int i = 0; i < NUM_BATCHES; ++i) {
    features[i] = fx_alloc(batch[i] * EMBED_DIM, sizeof(float));
    probs[i] = fx_alloc(batch[i] * n, sizeof(float));
    if (!features[i] || !probs[i])
      goto done;
  }

  /* The model. */
  double t0 = now_ms();
  if (clip_vit_b32_create(args.weights_path, NULL, &model) != CLIP_VIT_B32_OK) {
    fprintf(stderr, "error: %s\n", clip_vit_b32_last_error(NULL));
    model = NULL;
    goto done;
  }
  printf("model: %d parameter tensors, %dx%d images, %d-token texts, %d-dim features "
         "(loaded in %.0f ms)\n",
         CLIP_VIT_B32_NUM_PARAMS, RESOLUTION, RESOLUTION, CONTEXT, EMBED_DIM, now_ms() - t0);
  int64_t vocab = read_vocab_size(args.weights_path);
  if (!vocab || !fx_check_ids("text", text, n * CONTEXT, vocab))
    goto done;

  /* The entries. */
  for (int i = 0; i < NUM_BATCHES; ++i) {
    t0 = now_ms();
    CALL("clip_vit_b32_encode_image",
         clip_vit_b32_encode_image(model, (int64_t)batch[i], images[i], features[i]));
    printf("encode_image: %zu image%s -> %zu x %d features in %.1f ms\n", batch[i],
           batch[i] == 1 ? "" : "s", batch[i], EMBED_DIM, now_ms() - t0);
  }
  t0 = now_ms();
  CALL("clip_vit_b32_encode_text",
       clip_vit_b32_encode_text(model, (int64_t)n, text, text_features));
  printf("encode_text: %zu texts -> %zu x %d features in %.1f ms\n", n, n, EMBED_DIM,
         now_ms() - t0);
  for (int i = 0; i < NUM_BATCHES; ++i) {
    t0 = now_ms();
    CALL("clip_vit_b32_classify", clip_vit_b32_classify(model, (int64_t)batch[i], (int64_t)n,
                                                        images[i], text, probs[i]));
    printf("classify: %zu image%s x %zu texts in %.1f ms\n", batch[i], batch[i] == 1 ? "" : "s",
           n, now_ms() - t0);
  }

  /* Report: the best text of every image of the largest batch. */
  const int last = NUM_BATCHES - 1;
  for (size_t b = 0; b < batch[last]; ++b) {
    const float *p = probs[last] + b * n;
    size_t best = 0;
    for (size_t k = 1; k < n; ++k)
      if (p[k] > p[best])
        best = k;
    printf("%s image %zu: best text %zu (end of text at %zu), p = %.4f\n", batch_names[last], b,
           best, eot_position(text + best * CONTEXT), (double)p[best]);
  }

  if (args.check) {
    int ok = 1;
    char name[64];
    for (int i = 0; i < NUM_BATCHES; ++i) {
      snprintf(name, sizeof name, "%s.encode_image", batch_names[i]);
      ok &= check_output(dir, name, features[i], batch[i] * EMBED_DIM);
    }
    ok &= check_output(dir, "encode_text", text_features, n * EMBED_DIM);
    for (int i = 0; i < NUM_BATCHES; ++i) {
      snprintf(name, sizeof name, "%s.classify", batch_names[i]);
      ok &= check_output(dir, name, probs[i], batch[i] * n);
      ok &= check_top1(dir, name, probs[i], batch[i], n);
    }
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  clip_vit_b32_destroy(model);
  fx_free_all();
  return rc;
}
