/* sampling.h: choosing the next token from a row of logits, for the
 * generation examples (examples/llama, examples/llava). Header-only.
 *
 * Greedy is the argmax; sampling draws from softmax(logits / temperature)
 * restricted to the top_k largest logits, with a seeded splitmix64
 * generator, so a seed gives the same tokens on every platform. */
#ifndef KILN_EXAMPLES_SAMPLING_H
#define KILN_EXAMPLES_SAMPLING_H

#include <math.h>
#include <stdint.h>

#define SAMPLING_MAX_TOP_K 64

/* splitmix64: the next value of a tiny seeded generator. */
static inline uint64_t sampling_next(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* The first index of the largest value. */
static inline int64_t sampling_argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best])
      best = i;
  return best;
}

/* Draws from softmax(row / temperature) over the top_k largest logits (ties
 * broken by the lower index); top_k is at most SAMPLING_MAX_TOP_K. */
static inline int64_t sampling_top_k(const float *row, int64_t n, double temperature, int top_k,
                                     uint64_t *state) {
  int64_t ids[SAMPLING_MAX_TOP_K];
  double weights[SAMPLING_MAX_TOP_K];
  if (top_k > SAMPLING_MAX_TOP_K)
    top_k = SAMPLING_MAX_TOP_K;
  int count = 0;
  for (int64_t i = 0; i < n; ++i) {
    /* Insertion into the sorted list of the largest so far. */
    int at = count < top_k ? count++ : top_k;
    while (at > 0 && row[i] > row[ids[at - 1]]) {
      if (at < top_k)
        ids[at] = ids[at - 1];
      --at;
    }
    if (at < top_k)
      ids[at] = i;
  }
  double total = 0;
  for (int j = 0; j < count; ++j)
    total += weights[j] = exp((row[ids[j]] - row[ids[0]]) / temperature);
  double u = (double)(sampling_next(state) >> 11) * 0x1.0p-53 * total;
  for (int j = 0; j < count; ++j) {
    if (u < weights[j])
      return ids[j];
    u -= weights[j];
  }
  return ids[count - 1];
}

#endif /* KILN_EXAMPLES_SAMPLING_H */
