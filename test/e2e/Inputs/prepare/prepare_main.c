/* Creates the prepare model, says so, then calls each entry twice, marking
 * each step on stdout, so that ONEDNN_VERBOSE's create and exec lines can be
 * placed relative to create and the calls (prepare.test). */
#include <stdio.h>
#include <stdlib.h>

#include "prepare.h"

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  float *x = calloc(64 * 128, sizeof(float)), *w = calloc(256 * 128, sizeof(float));
  float *b = calloc(256, sizeof(float)), *out = calloc(64 * 256, sizeof(float));
  for (int i = 0; i < 64 * 128; ++i)
    x[i] = (float)(i % 7) * 0.25f;
  for (int i = 0; i < 256 * 128; ++i)
    w[i] = (float)(i % 5) * 0.125f - 0.25f;
  prepare_model *model;
  prepare_options options = {1};
  if (prepare_create(argv[1], &options, &model) != PREPARE_OK) {
    fprintf(stderr, "%s\n", prepare_last_error(NULL));
    return 1;
  }
  printf("== created\n");
  fflush(stdout);
  for (int call = 0; call < 2; ++call) {
    if (prepare_fixed(model, x, w, b, out) != PREPARE_OK)
      return 1;
    printf("== fixed called\n");
    fflush(stdout);
  }
  for (int call = 0; call < 2; ++call) {
    if (prepare_batched(model, 3, x, w, out) != PREPARE_OK)
      return 1;
    printf("== batched called\n");
    fflush(stdout);
  }
  /* x row 0 = 0, .25, .5, ... ; a spot check that the calls computed. */
  double expected = 0;
  for (int k = 0; k < 128; ++k)
    expected += (double)x[k] * w[k];
  printf("== out[0] %s\n", out[0] > expected - 1e-3 && out[0] < expected + 1e-3 ? "ok" : "WRONG");
  prepare_destroy(model);
  free(x), free(w), free(b), free(out);
  return 0;
}
