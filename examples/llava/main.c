/* llava_demo: the Kiln-compiled LLaVA-style model (examples/llava): image patches
 * projected into a small causal decoder.
 *
 *   llava_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs logits and generate on DATA_DIR/<entry>.images.f32 ([B, 3, 32, 32]) and
 * DATA_DIR/<entry>.tokens.i64 ([B, 8] prompt ids in [0, 128)); prints each row's prompt,
 * the argmax of the last position's logits and the 4 greedily generated token ids. With
 * --check, compares the logits with DATA_DIR/logits.out.f32 (|a - b| <= 1e-4 |b| + 1e-6)
 * and the generated ids with DATA_DIR/generate.out.i64 (exactly) and exits 1 on a
 * mismatch. Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "llava.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define IMAGE_NUMEL ((size_t)3 * 32 * 32)
#define PROMPT 8
#define SEQ 24 /* 16 image tokens + 8 prompt tokens */
#define VOCAB 128
#define NEW_TOKENS 4

static void print_ids(const int64_t *ids, size_t n) {
  for (size_t i = 0; i < n; ++i)
    printf("%s%lld", i ? " " : "", (long long)ids[i]);
}

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  llava_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, llava_last_error(model))

  /* Inputs; the batch B comes from the image files' sizes. */
  size_t b_logits, b_gen;
  float *logits_images =
      fx_read_rows(dir, "logits.images.f32", IMAGE_NUMEL * sizeof(float), &b_logits);
  float *gen_images = fx_read_rows(dir, "generate.images.f32", IMAGE_NUMEL * sizeof(float), &b_gen);
  if (!logits_images || !gen_images)
    goto done;
  int64_t *logits_tokens = fx_read_i64(dir, "logits.tokens.i64", b_logits * PROMPT);
  int64_t *gen_tokens = fx_read_i64(dir, "generate.tokens.i64", b_gen * PROMPT);
  if (!logits_tokens || !gen_tokens ||
      !fx_check_ids("logits.tokens", logits_tokens, b_logits * PROMPT, VOCAB) ||
      !fx_check_ids("generate.tokens", gen_tokens, b_gen * PROMPT, VOCAB))
    goto done;
  float *logits = fx_alloc(b_logits * SEQ * VOCAB, sizeof(float));
  int64_t *generated = fx_alloc(b_gen * NEW_TOKENS, sizeof(int64_t));
  if (!logits || !generated)
    goto done;

  /* The model. */
  if (llava_create(args.weights_path, NULL, &model) != LLAVA_OK) {
    fprintf(stderr, "error: %s\n", llava_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("llava_logits",
       llava_logits(model, (int64_t)b_logits, logits_images, logits_tokens, logits));
  CALL("llava_generate", llava_generate(model, (int64_t)b_gen, gen_images, gen_tokens, generated));

  /* Report. */
  for (size_t i = 0; i < b_logits; ++i) {
    const float *last = logits + (i * SEQ + SEQ - 1) * VOCAB;
    size_t best = 0;
    for (size_t v = 1; v < VOCAB; ++v)
      if (last[v] > last[best])
        best = v;
    printf("logits row %zu: prompt [", i);
    print_ids(logits_tokens + i * PROMPT, PROMPT);
    printf("], last position argmax %zu (logit %.4f)\n", best, (double)last[best]);
  }
  for (size_t i = 0; i < b_gen; ++i) {
    printf("generate row %zu: [", i);
    print_ids(gen_tokens + i * PROMPT, PROMPT);
    printf("] -> [");
    print_ids(generated + i * NEW_TOKENS, NEW_TOKENS);
    printf("]\n");
  }

  if (args.check) {
    float *ref_logits = fx_read_f32(dir, "logits.out.f32", b_logits * SEQ * VOCAB);
    int64_t *ref_generated = fx_read_i64(dir, "generate.out.i64", b_gen * NEW_TOKENS);
    if (!ref_logits || !ref_generated)
      goto done;
    int ok = fx_compare_f32("logits", logits, ref_logits, b_logits * SEQ * VOCAB);
    ok &= fx_compare_i64("generate", generated, ref_generated, b_gen * NEW_TOKENS);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  llava_destroy(model);
  fx_free_all();
  return rc;
}
