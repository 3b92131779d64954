/* CLIP image-encoder timing for bench/models.sh: encode_image at each batch
 * size, the median of repeated calls after a warm-up.
 *
 *   clip_timing WEIGHTS "B1 B2 ..." THREADS
 *
 * Prints `encode_image B=<b> ms <t>`. The model is examples/clip-vit-b32
 * compiled as `clip_vit_b32`.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clip_vit_b32.h"
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPS 7
#define IMAGE ((size_t)3 * CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_DIM2 * CLIP_VIT_B32_ENCODE_IMAGE_IMAGE_DIM3)

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s WEIGHTS \"B1 B2 ...\" THREADS\n", argv[0]);
    return 2;
  }
  clip_vit_b32_options options = {atoi(argv[3])};
  clip_vit_b32_model *model = NULL;
  if (clip_vit_b32_create(argv[1], &options, &model) != CLIP_VIT_B32_OK) {
    fprintf(stderr, "error: %s\n", clip_vit_b32_last_error(NULL));
    return 1;
  }
  for (char *p = strtok(argv[2], " "); p; p = strtok(NULL, " ")) {
    int64_t batch = atoll(p);
    float *images = malloc(batch * IMAGE * sizeof *images);
    float *features = malloc(batch * CLIP_VIT_B32_ENCODE_IMAGE_OUT_DIM1 * sizeof *features);
    for (size_t i = 0; i < batch * IMAGE; ++i)
      images[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    double samples[REPS];
    for (int rep = -1; rep < REPS; ++rep) {
      double start = now_ms();
      if (clip_vit_b32_encode_image(model, batch, images, features) != CLIP_VIT_B32_OK) {
        fprintf(stderr, "error: %s\n", clip_vit_b32_last_error(model));
        return 1;
      }
      if (rep >= 0)
        samples[rep] = now_ms() - start;
    }
    printf("encode_image B=%lld ms %.3f\n", (long long)batch, median(samples, REPS));
    free(images);
    free(features);
  }
  clip_vit_b32_destroy(model);
  return 0;
}
