/* Misuse of the generated key/value cache API (llama_cache_*): each call
 * returns an error status with a message naming the limit, and the cache
 * stays usable afterwards. */
#include "llama.h"

#include "expect_status.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  llama_model *model = NULL, *other = NULL;
  if (llama_create(argv[1], NULL, &model) != LLAMA_OK ||
      llama_create(argv[1], NULL, &other) != LLAMA_OK) {
    printf("create failed: %s\n", llama_last_error(NULL));
    return 1;
  }
  enum { B = 2, S = 7, V = LLAMA_DECODE_STEP_OUT0_DIM1 };
  int64_t prompt[B * S], tokens[B] = {1, 2};
  for (int i = 0; i < B * S; ++i)
    prompt[i] = i % V;
  static float logits[B * S * V];
  llama_cache *cache = NULL, *small = NULL;

  expect("cache_create on a NULL model", llama_cache_create(NULL, B, 8, &cache),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(NULL));
  expect("cache_create with batch 0", llama_cache_create(model, 0, 8, &cache),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("cache_create with a huge max_seq", llama_cache_create(model, B, INT64_MAX / 2, &cache),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("cache_create", llama_cache_create(model, B, S + 1, &cache), LLAMA_OK, "");
  expect("cache_create with max_seq 4", llama_cache_create(model, B, 4, &small), LLAMA_OK, "");

  expect("decode_step before prefill", llama_cache_decode_step(model, cache, tokens, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("a prompt longer than the cache", llama_cache_prefill(model, small, S, prompt, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  printf("its length: %lld\n", (long long)llama_cache_length(small));
  expect("a cache of another model handle", llama_cache_prefill(other, cache, S, prompt, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(other));
  expect("a NULL cache", llama_cache_decode_step(model, NULL, tokens, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("a NULL logits buffer", llama_cache_prefill(model, cache, S, prompt, NULL),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("prefill", llama_cache_prefill(model, cache, S, prompt, logits), LLAMA_OK, "");
  expect("prefill again", llama_cache_prefill(model, cache, S, prompt, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  expect("decode_step to the last position", llama_cache_decode_step(model, cache, tokens, logits),
         LLAMA_OK, "");
  printf("its length: %lld\n", (long long)llama_cache_length(cache));
  expect("decode_step past max_seq", llama_cache_decode_step(model, cache, tokens, logits),
         LLAMA_ERROR_INVALID_ARGUMENT, llama_last_error(model));
  printf("its length: %lld\n", (long long)llama_cache_length(cache));
  llama_cache_reset(cache);
  expect("prefill after reset", llama_cache_prefill(model, cache, S, prompt, logits), LLAMA_OK, "");
  llama_cache_destroy(cache);
  llama_cache_destroy(small);
  llama_cache_destroy(NULL);
  printf("length of NULL: %lld\n", (long long)llama_cache_length(NULL));
  llama_destroy(other);
  llama_destroy(model);
  printf("%d unexpected statuses\n", failures);
  return failures != 0;
}
