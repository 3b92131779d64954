/* llama_demo: text generation with the Kiln-compiled LLaMA-style decoder
 * (examples/llama) through its key/value cache (llama_cache_*).
 *
 *   llama_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Reads the B prompts DATA_DIR/prefill.tokens.i64 ([B, S]), runs
 * llama_cache_prefill, then generates greedily: the first token from the
 * prompt's last logits, each next one from llama_cache_decode_step. Then, from
 * the same prompts, samples with temperature 0.8 and top-k 20 (a seeded
 * generator: the same seed gives the same tokens). With --check, compares the
 * prefill logits, the prompt's cache (llama_prefill), every decode step's
 * logits and the greedy tokens with the PyTorch reference (scripts/references/
 * llama.py, which runs full forwards without a cache). Exit status: 0 ok, 1
 * error or mismatch, 2 bad usage.
 */
#include "llama.h"

#include "../common/fixture.h"
#include "../common/sampling.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define B 2
#define PROMPT 7
#define NEW_TOKENS 8
#define MAX_SEQ 64
#define VOCAB LLAMA_DECODE_STEP_OUT0_DIM1

/* Runs prefill and NEW_TOKENS - 1 decode steps on `cache`; tokens[b][i] is
 * row b's i-th new token. step_logits (may be NULL) receives each step's
 * logits; temperature 0 is greedy. */
static int generate(llama_model *model, llama_cache *cache, const int64_t *prompt,
                    float *prompt_logits, float *step_logits, double temperature,
                    uint64_t seed, int64_t tokens[B][NEW_TOKENS]) {
  int ok = 0;
  uint64_t state = seed;
  float logits[B * VOCAB];
  int64_t next[B];
  llama_cache_reset(cache);
  FX_CALL("llama_cache_prefill",
          llama_cache_prefill(model, cache, PROMPT, prompt, prompt_logits), llama_last_error(model));
  for (int step = 0; step < NEW_TOKENS; ++step) {
    for (int b = 0; b < B; ++b) {
      const float *row = step == 0 ? prompt_logits + ((size_t)b * PROMPT + PROMPT - 1) * VOCAB
                                   : logits + (size_t)b * VOCAB;
      next[b] = temperature > 0 ? sampling_top_k(row, VOCAB, temperature, 20, &state)
                                : sampling_argmax(row, VOCAB);
      tokens[b][step] = next[b];
    }
    if (step + 1 == NEW_TOKENS)
      break;
    FX_CALL("llama_cache_decode_step", llama_cache_decode_step(model, cache, next, logits),
            llama_last_error(model));
    if (step_logits)
      memcpy(step_logits + (size_t)step * B * VOCAB, logits, sizeof logits);
  }
  ok = 1;
done:
  return ok;
}

static void print_tokens(const char *what, int64_t tokens[B][NEW_TOKENS]) {
  for (int b = 0; b < B; ++b) {
    printf("%s row %d:", what, b);
    for (int i = 0; i < NEW_TOKENS; ++i)
      printf(" %lld", (long long)tokens[b][i]);
    printf("\n");
  }
}

int main(int argc, char **argv) {
  fx_args args;
  int status = fx_parse_args(argc, argv, &args);
  if (status != 0)
    return status;
  int ok = 0;
  llama_model *model = NULL;
  llama_cache *cache = NULL;
  const char *dir = args.data_dir;
  size_t position = LLAMA_DECODE_STEP_OUT1_NUMEL(B, 1);

  int64_t *prompt = fx_read_i64(dir, "prefill.tokens.i64", (size_t)B * PROMPT);
  float *prompt_logits = fx_alloc((size_t)B * PROMPT * VOCAB, sizeof(float));
  float *step_logits = fx_alloc((size_t)(NEW_TOKENS - 1) * B * VOCAB, sizeof(float));
  float *prompt_cache = fx_alloc(PROMPT * position, sizeof(float));
  if (!prompt || !prompt_logits || !step_logits || !prompt_cache || !fx_check_ids("prompt", prompt, (size_t)B * PROMPT, VOCAB))
    goto done;
  FX_CALL("llama_create", llama_create(args.weights_path, NULL, &model), llama_last_error(NULL));
  FX_CALL("llama_cache_create", llama_cache_create(model, B, MAX_SEQ, &cache),
          llama_last_error(model));

  int64_t greedy[B][NEW_TOKENS], sampled[B][NEW_TOKENS], again[B][NEW_TOKENS];
  if (!generate(model, cache, prompt, prompt_logits, step_logits, 0.0, 0, greedy))
    goto done;
  print_tokens("greedy", greedy);
  printf("cache: %lld of %d positions\n", (long long)llama_cache_length(cache), MAX_SEQ);
  float *scratch = fx_alloc((size_t)B * PROMPT * VOCAB, sizeof(float));
  if (!scratch || !generate(model, cache, prompt, scratch, NULL, 0.8, 42, sampled) ||
      !generate(model, cache, prompt, scratch, NULL, 0.8, 42, again))
    goto done;
  print_tokens("sampled (T=0.8, top-k 20, seed 42)", sampled);
  if (memcmp(sampled, again, sizeof sampled) != 0) {
    fprintf(stderr, "error: the same seed sampled different tokens\n");
    goto done;
  }

  if (args.check) {
    /* The prompt's cache as the plain entry returns it. */
    FX_CALL("llama_prefill", llama_prefill(model, B, PROMPT, prompt, scratch, prompt_cache),
            llama_last_error(model));
    float *ref_logits = fx_read_f32(dir, "prefill.out0.f32", (size_t)B * PROMPT * VOCAB);
    float *ref_cache = fx_read_f32(dir, "prefill.out1.f32", PROMPT * position);
    float *ref_steps = fx_read_f32(dir, "decode_step.out0.f32", (size_t)(NEW_TOKENS - 1) * B * VOCAB);
    int64_t *ref_tokens = fx_read_i64(dir, "generate.out.i64", (size_t)B * NEW_TOKENS);
    if (!ref_logits || !ref_cache || !ref_steps || !ref_tokens)
      goto done;
    int same = fx_compare_f32("prefill logits", prompt_logits, ref_logits, (size_t)B * PROMPT * VOCAB);
    same &= fx_compare_f32("prefill cache", prompt_cache, ref_cache, PROMPT * position);
    same &= fx_compare_f32("decode_step logits", step_logits, ref_steps, (size_t)(NEW_TOKENS - 1) * B * VOCAB);
    same &= fx_compare_i64("greedy tokens", &greedy[0][0], ref_tokens, (size_t)B * NEW_TOKENS);
    if (!same)
      goto done;
    fx_report_check();
  }
  ok = 1;
done:
  llama_cache_destroy(cache);
  llama_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
