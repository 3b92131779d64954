/* llava_demo: the Kiln-compiled LLaVA-style model (examples/llava): image patches
 * projected into a LLaMA-style decoder, generating through its key/value cache.
 *
 *   llava_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Reads B images DATA_DIR/prefill.images.f32 ([B, 3, 32, 32]) and their prompts
 * DATA_DIR/prefill.tokens.i64 ([B, 8], ids in [0, 128)); llava_cache_prefill runs the
 * 16 image tokens and the prompt, then generation is greedy: the first token from the
 * last position's logits, each next one from llava_cache_decode_step. Then samples from
 * the same inputs (temperature 0.8, top-k 20, seed 7). With --check, compares the
 * prefill logits and cache (llava_prefill), every decode step's logits and the greedy
 * tokens with the PyTorch reference, which generates without a cache
 * (|a - b| <= 1e-4 |b| + 1e-6; tokens exactly). Exit status: 0 ok, 1 error or
 * mismatch, 2 bad usage.
 */
#include "llava.h"

#include "../common/fixture.h"
#include "../common/sampling.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define IMAGE_NUMEL ((size_t)3 * 32 * 32)
#define PROMPT LLAVA_PREFILL_TOKENS_DIM1
#define SEQ LLAVA_PREFILL_OUT0_DIM1 /* 16 image tokens + the prompt */
#define VOCAB LLAVA_DECODE_STEP_OUT0_DIM1
#define NEW_TOKENS 8
#define MAX_SEQ 64

/* Prefill, then NEW_TOKENS - 1 decode steps; tokens[b * NEW_TOKENS + i] is row b's
 * i-th new token, step_logits (may be NULL) each step's logits; temperature 0 is greedy. */
static int generate(llava_model *model, llava_cache *cache, size_t batch, const float *images,
                    const int64_t *prompt, float *prompt_logits, float *step_logits,
                    double temperature, uint64_t seed, int64_t *tokens) {
  uint64_t state = seed;
  float *logits = fx_alloc(batch * VOCAB, sizeof(float));
  int64_t *next = fx_alloc(batch, sizeof(int64_t));
  if (!logits || !next)
    return 0;
  llava_cache_reset(cache);
  FX_CALL("llava_cache_prefill", llava_cache_prefill(model, cache, images, prompt, prompt_logits),
          llava_last_error(model));
  for (int step = 0; step < NEW_TOKENS; ++step) {
    for (size_t b = 0; b < batch; ++b) {
      const float *row = step == 0 ? prompt_logits + (b * SEQ + SEQ - 1) * VOCAB
                                   : logits + b * VOCAB;
      next[b] = temperature > 0 ? sampling_top_k(row, VOCAB, temperature, 20, &state)
                                : sampling_argmax(row, VOCAB);
      tokens[b * NEW_TOKENS + step] = next[b];
    }
    if (step + 1 == NEW_TOKENS)
      break;
    FX_CALL("llava_cache_decode_step", llava_cache_decode_step(model, cache, next, logits),
            llava_last_error(model));
    if (step_logits)
      memcpy(step_logits + (size_t)step * batch * VOCAB, logits, batch * VOCAB * sizeof(float));
  }
  return 1;
done:
  return 0;
}

static void print_rows(const char *what, const int64_t *prompt, const int64_t *tokens,
                       size_t batch) {
  for (size_t b = 0; b < batch; ++b) {
    printf("%s row %zu: [", what, b);
    for (size_t i = 0; i < PROMPT; ++i)
      printf("%s%lld", i ? " " : "", (long long)prompt[b * PROMPT + i]);
    printf("] ->");
    for (size_t i = 0; i < NEW_TOKENS; ++i)
      printf(" %lld", (long long)tokens[b * NEW_TOKENS + i]);
    printf("\n");
  }
}

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  llava_model *model = NULL;
  llava_cache *cache = NULL;

  /* Inputs; the batch comes from the image file's size. */
  size_t batch;
  float *images = fx_read_rows(dir, "prefill.images.f32", IMAGE_NUMEL * sizeof(float), &batch);
  if (!images)
    goto done;
  int64_t *prompt = fx_read_i64(dir, "prefill.tokens.i64", batch * PROMPT);
  size_t position = LLAVA_DECODE_STEP_OUT1_NUMEL(batch, 1);
  float *prompt_logits = fx_alloc(batch * SEQ * VOCAB, sizeof(float));
  float *scratch = fx_alloc(batch * SEQ * VOCAB, sizeof(float));
  float *step_logits = fx_alloc((NEW_TOKENS - 1) * batch * VOCAB, sizeof(float));
  float *prompt_cache = fx_alloc(SEQ * position, sizeof(float));
  int64_t *greedy = fx_alloc(batch * NEW_TOKENS, sizeof(int64_t));
  int64_t *sampled = fx_alloc(batch * NEW_TOKENS, sizeof(int64_t));
  if (!prompt || !prompt_logits || !scratch || !step_logits || !prompt_cache || !greedy ||
      !sampled || !fx_check_ids("prefill.tokens", prompt, batch * PROMPT, VOCAB))
    goto done;

  FX_CALL("llava_create", llava_create(args.weights_path, NULL, &model), llava_last_error(NULL));
  FX_CALL("llava_cache_create", llava_cache_create(model, (int64_t)batch, MAX_SEQ, &cache),
          llava_last_error(model));
  if (!generate(model, cache, batch, images, prompt, prompt_logits, step_logits, 0.0, 0, greedy))
    goto done;
  print_rows("greedy", prompt, greedy, batch);
  printf("cache: %lld of %d positions\n", (long long)llava_cache_length(cache), MAX_SEQ);
  if (!generate(model, cache, batch, images, prompt, scratch, NULL, 0.8, 7, sampled))
    goto done;
  print_rows("sampled (T=0.8, top-k 20, seed 7)", prompt, sampled, batch);

  if (args.check) {
    FX_CALL("llava_prefill", llava_prefill(model, (int64_t)batch, images, prompt, scratch, prompt_cache),
            llava_last_error(model));
    float *ref_logits = fx_read_f32(dir, "prefill.out0.f32", batch * SEQ * VOCAB);
    float *ref_cache = fx_read_f32(dir, "prefill.out1.f32", SEQ * position);
    float *ref_steps = fx_read_f32(dir, "decode_step.out0.f32", (NEW_TOKENS - 1) * batch * VOCAB);
    int64_t *ref_tokens = fx_read_i64(dir, "generate.out.i64", batch * NEW_TOKENS);
    if (!ref_logits || !ref_cache || !ref_steps || !ref_tokens)
      goto done;
    int same = fx_compare_f32("prefill logits", prompt_logits, ref_logits, batch * SEQ * VOCAB);
    same &= fx_compare_f32("prefill cache", prompt_cache, ref_cache, SEQ * position);
    same &= fx_compare_f32("decode_step logits", step_logits, ref_steps,
                           (NEW_TOKENS - 1) * batch * VOCAB);
    same &= fx_compare_i64("greedy tokens", greedy, ref_tokens, batch * NEW_TOKENS);
    if (!same)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  llava_cache_destroy(cache);
  llava_destroy(model);
  fx_free_all();
  return rc;
}
