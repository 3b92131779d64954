/* clip_demo: zero-shot classification with the Kiln-compiled CLIP (examples/clip).
 *
 *   clip_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs encode_image on DATA_DIR/encode_image.images.f32 ([B, 3, 32, 32]), encode_text on
 * DATA_DIR/encode_text.tokens.i64 ([N, 16]) and classify on the held-out images
 * DATA_DIR/classify.images.f32 against the prompts DATA_DIR/classify.tokens.i64. Prints,
 * for each image, its true class (DATA_DIR/heldout.labels.i64, an index into the prompts),
 * the predicted prompt and its probability, then the zero-shot accuracy. Prompts are
 * decoded with DATA_DIR/vocab.txt (line i is token i). With --check, compares every
 * output with DATA_DIR/<entry>.out.f32 (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a
 * mismatch. Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "clip.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define IMAGE_NUMEL ((size_t)3 * 32 * 32)
#define CONTEXT 16
#define EMBED_DIM 32
#define VOCAB_SIZE 64
#define EOT 63
#define MAX_WORD 32

/* The tokenizer's vocabulary: 64 lines, line i is the spelling of token i. */
static char vocab[VOCAB_SIZE][MAX_WORD];

static int load_vocab(const char *dir) {
  size_t size;
  char *text = fx_read_whole(dir, "vocab.txt", &size);
  if (!text)
    return 0;
  size_t line = 0, col = 0;
  int ok = 1;
  for (size_t i = 0; i < size && ok; ++i) {
    if (text[i] == '\n') {
      if (line < VOCAB_SIZE)
        vocab[line][col] = '\0';
      ++line;
      col = 0;
    } else if (line >= VOCAB_SIZE || col + 1 >= MAX_WORD) {
      ok = 0;
    } else {
      vocab[line][col++] = text[i];
    }
  }
  free(text);
  if (!ok || line != VOCAB_SIZE || col != 0) {
    fprintf(stderr,
            "error: %s/vocab.txt: expected %d newline-terminated words of fewer than "
            "%d characters\n",
            dir, VOCAB_SIZE, MAX_WORD);
    return 0;
  }
  return 1;
}

/* The words of a token row, up to the end-of-text token, space-separated. `first_word`
 * skips that many leading words (2 of "a photo of a red circle" from 4 gives "red circle"). */
static void decode(const int64_t *row, size_t first_word, char *out, size_t cap) {
  size_t len = 0, word = 0;
  out[0] = '\0';
  for (size_t i = 0; i < CONTEXT && row[i] != EOT; ++i) {
    if (row[i] == 0 || word++ < first_word)
      continue;
    int n = snprintf(out + len, cap - len, "%s%s", len ? " " : "", vocab[row[i]]);
    if (n < 0 || (size_t)n >= cap - len)
      break;
    len += (size_t)n;
  }
}

/* The number of words before the end-of-text token. */
static size_t num_words(const int64_t *row) {
  size_t n = 0;
  while (n < CONTEXT && row[n] != EOT && row[n] != 0)
    ++n;
  return n;
}

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  clip_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, clip_last_error(model))

  /* Inputs: the symbolic dims B (images) and N (prompts) come from the file sizes. */
  size_t b_enc, n_enc, b, n;
  float *enc_images =
      fx_read_rows(dir, "encode_image.images.f32", IMAGE_NUMEL * sizeof(float), &b_enc);
  int64_t *enc_tokens =
      fx_read_rows(dir, "encode_text.tokens.i64", CONTEXT * sizeof(int64_t), &n_enc);
  float *images = fx_read_rows(dir, "classify.images.f32", IMAGE_NUMEL * sizeof(float), &b);
  int64_t *tokens = fx_read_rows(dir, "classify.tokens.i64", CONTEXT * sizeof(int64_t), &n);
  if (!enc_images || !enc_tokens || !images || !tokens)
    goto done;
  int64_t *labels = fx_read_i64(dir, "heldout.labels.i64", b);
  if (!labels || !load_vocab(dir))
    goto done;
  if (!fx_check_ids("encode_text.tokens", enc_tokens, n_enc * CONTEXT, VOCAB_SIZE) ||
      !fx_check_ids("classify.tokens", tokens, n * CONTEXT, VOCAB_SIZE) ||
      !fx_check_ids("heldout.labels", labels, b, (int64_t)n))
    goto done;

  float *image_emb = fx_alloc(b_enc * EMBED_DIM, sizeof(float));
  float *text_emb = fx_alloc(n_enc * EMBED_DIM, sizeof(float));
  float *probs = fx_alloc(b * n, sizeof(float));
  if (!image_emb || !text_emb || !probs)
    goto done;

  /* The model. */
  if (clip_create(args.weights_path, NULL, &model) != CLIP_OK) {
    fprintf(stderr, "error: %s\n", clip_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("clip_encode_image", clip_encode_image(model, (int64_t)b_enc, enc_images, image_emb));
  CALL("clip_encode_text", clip_encode_text(model, (int64_t)n_enc, enc_tokens, text_emb));
  CALL("clip_classify", clip_classify(model, (int64_t)b, (int64_t)n, images, tokens, probs));

  /* Report. */
  printf("encode_image: %zu images -> %zu x %d embeddings\n", b_enc, b_enc, EMBED_DIM);
  printf("encode_text: %zu prompts -> %zu x %d embeddings\n", n_enc, n_enc, EMBED_DIM);
  size_t correct = 0;
  for (size_t i = 0; i < b; ++i) {
    const float *p = probs + i * n;
    size_t best = 0;
    for (size_t k = 1; k < n; ++k)
      if (p[k] > p[best])
        best = k;
    const int64_t *truth = tokens + (size_t)labels[i] * CONTEXT;
    const int64_t *guess = tokens + best * CONTEXT;
    char true_name[256], guess_text[256];
    size_t words = num_words(truth);
    decode(truth, words >= 2 ? words - 2 : 0, true_name, sizeof true_name); /* "red circle" */
    decode(guess, 0, guess_text, sizeof guess_text);
    int ok = (int64_t)best == labels[i];
    correct += (size_t)ok;
    printf("image %2zu: %-16s -> \"%s\" (p=%.3f)%s\n", i, true_name, guess_text, (double)p[best],
           ok ? "" : "  WRONG");
  }
  printf("zero-shot accuracy: %zu/%zu = %.1f%%\n", correct, b, 100.0 * (double)correct / (double)b);

  if (args.check) {
    float *ref_image = fx_read_f32(dir, "encode_image.out.f32", b_enc * EMBED_DIM);
    float *ref_text = fx_read_f32(dir, "encode_text.out.f32", n_enc * EMBED_DIM);
    float *ref_probs = fx_read_f32(dir, "classify.out.f32", b * n);
    if (!ref_image || !ref_text || !ref_probs)
      goto done;
    int ok = fx_compare_f32("encode_image", image_emb, ref_image, b_enc * EMBED_DIM);
    ok &= fx_compare_f32("encode_text", text_emb, ref_text, n_enc * EMBED_DIM);
    ok &= fx_compare_f32("classify", probs, ref_probs, b * n);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  clip_destroy(model);
  fx_free_all();
  return rc;
}
