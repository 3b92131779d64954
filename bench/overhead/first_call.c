/* The first call of a static-shape model against its steady calls (issue 11,
 * item 5; bench/first_call.sh): CLIP ViT-B/32's image tower at one image
 * (first_call.kiln's encode_one), create timed, then the first call, then the
 * best and mean of 20 more.
 *
 *   first_call WEIGHTS.safetensors THREADS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "first_call.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return fprintf(stderr, "usage: %s WEIGHTS THREADS\n", argv[0]), 2;
  first_call_options options = {atoi(argv[2])};
  first_call_model *model = NULL;
  double start = now_ms();
  if (first_call_create(argv[1], &options, &model) != 0)
    return fprintf(stderr, "create: %s\n", first_call_last_error(NULL)), 1;
  double created = now_ms();
  size_t pixels = 3 * 224 * 224;
  float *image = malloc(sizeof(float) * pixels), features[512];
  if (!image)
    return 1;
  for (size_t i = 0; i < pixels; ++i)
    image[i] = (float)((i * 2654435761u) % 1000) / 500 - 1;
  double before = now_ms();
  if (first_call_encode_one(model, image, features) != 0)
    return fprintf(stderr, "call: %s\n", first_call_last_error(model)), 1;
  double first = now_ms() - before, best = 1e30, sum = 0;
  for (int i = 0; i < 20; ++i) {
    double t = now_ms();
    first_call_encode_one(model, image, features);
    t = now_ms() - t;
    sum += t;
    best = t < best ? t : best;
  }
  printf("threads %s: create %.1f ms, first call %.2f ms, steady best %.2f ms (mean %.2f), "
         "first / steady %.2f\n",
         argv[2], created - start, first, best, sum / 20, first / best);
  free(image);
  first_call_destroy(model);
  return 0;
}
