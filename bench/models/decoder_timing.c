/* Decoder timing for bench/models.sh: prefill of a prompt, and one decode
 * step after T cached positions, through the plain entries (the cache API
 * runs the same entries; here the past is filled with random values, as a
 * step's cost does not depend on them).
 *
 *   decoder_timing WEIGHTS PROMPT_LEN "T1 T2 ..." THREADS
 *
 * Prints `prefill S=<n> ms <t>` and one `decode T=<len> ms <t>` per length:
 * medians of repeated calls, batch 1. The model is compiled as `decoder`
 * (kilnc --name decoder).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "decoder.h"
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB DECODER_DECODE_STEP_OUT0_DIM1
#define REPS 9

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s WEIGHTS PROMPT_LEN \"T1 T2 ...\" THREADS\n", argv[0]);
    return 2;
  }
  int64_t prompt_len = atoll(argv[2]);
  decoder_options options = {atoi(argv[4])};
  decoder_model *model = NULL;
  if (decoder_create(argv[1], &options, &model) != DECODER_OK) {
    fprintf(stderr, "error: %s\n", decoder_last_error(NULL));
    return 1;
  }
  size_t position = DECODER_DECODE_STEP_PAST_NUMEL(1, 1);
  int64_t *prompt = malloc(prompt_len * sizeof *prompt);
  float *logits = malloc(prompt_len * VOCAB * sizeof *logits);
  float *present = malloc(prompt_len * position * sizeof *present);
  for (int64_t i = 0; i < prompt_len; ++i)
    prompt[i] = (i * 7919 + 13) % VOCAB;
  double samples[REPS];
  for (int rep = -1; rep < REPS; ++rep) { /* one warm-up call */
    double start = now_ms();
    if (decoder_prefill(model, 1, prompt_len, prompt, logits, present) != DECODER_OK) {
      fprintf(stderr, "error: %s\n", decoder_last_error(model));
      return 1;
    }
    if (rep >= 0)
      samples[rep] = now_ms() - start;
  }
  printf("prefill S=%lld ms %.3f\n", (long long)prompt_len, median(samples, REPS));

  for (char *p = strtok(argv[3], " "); p; p = strtok(NULL, " ")) {
    int64_t length = atoll(p), token = 42, at = length;
    float *past = malloc((size_t)length * position * sizeof *past);
    float step_present[DECODER_DECODE_STEP_PAST_NUMEL(1, 1)];
    for (size_t i = 0; i < (size_t)length * position; ++i)
      past[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int rep = -1; rep < REPS; ++rep) {
      double start = now_ms();
      if (decoder_decode_step(model, 1, length, &token, &at, past, logits, step_present) !=
          DECODER_OK) {
        fprintf(stderr, "error: %s\n", decoder_last_error(model));
        return 1;
      }
      if (rep >= 0)
        samples[rep] = now_ms() - start;
    }
    printf("decode T=%lld ms %.3f\n", (long long)length, median(samples, REPS));
    free(past);
  }
  decoder_destroy(model);
  return 0;
}
