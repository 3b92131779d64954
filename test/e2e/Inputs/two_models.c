/* Links libmlp.a and libtiny.a into one program and uses both: each library
 * carries its own copy of the runtime, internalized, so nothing clashes. */
#include "mlp.h"
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const float kWeight[2][3] = {{0.5f, -1.0f, 2.0f}, {1.5f, 0.25f, -0.75f}};
static const float kBias[2] = {0.125f, -2.0f};

/* Writes the tiny model's weights as a .safetensors file. */
static int write_tiny_weights(const char *path) {
  const char header[] = "{\"weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                        "\"bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
  size_t padded = (sizeof header - 1 + 7) / 8 * 8;
  unsigned char length[8] = {0};
  for (int i = 0; i < 8; ++i)
    length[i] = (unsigned char)((unsigned long long)padded >> (8 * i));
  FILE *f = fopen(path, "wb");
  if (!f)
    return 1;
  fwrite(length, 1, 8, f);
  fwrite(header, 1, sizeof header - 1, f);
  for (size_t i = sizeof header - 1; i < padded; ++i)
    fputc(' ', f);
  fwrite(kWeight, sizeof(float), 6, f);
  fwrite(kBias, sizeof(float), 2, f);
  return fclose(f) != 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: two_models MLP_WEIGHTS TINY_WEIGHTS_OUT\n");
    return 2;
  }
  mlp_model *mlp = NULL;
  if (mlp_create(argv[1], NULL, &mlp) != MLP_OK) {
    fprintf(stderr, "mlp: %s\n", mlp_last_error(NULL));
    return 1;
  }
  float image[MLP_PREDICT_X_DIM1] = {0};
  float probs[MLP_PREDICT_OUT_DIM1];
  if (mlp_predict(mlp, 1, image, probs) != MLP_OK) {
    fprintf(stderr, "mlp: %s\n", mlp_last_error(mlp));
    return 1;
  }
  double total = 0;
  for (int i = 0; i < MLP_PREDICT_OUT_DIM1; ++i)
    total += probs[i];
  printf("mlp: probabilities sum to %.4f\n", total);

  if (write_tiny_weights(argv[2]) != 0) {
    fprintf(stderr, "cannot write %s\n", argv[2]);
    return 1;
  }
  tiny_model *tiny = NULL;
  if (tiny_create(argv[2], NULL, &tiny) != TINY_OK) {
    fprintf(stderr, "tiny: %s\n", tiny_last_error(NULL));
    return 1;
  }
  const float x[2][3] = {{1, 2, 3}, {-1, 0.5f, 4}};
  float y[2][2];
  if (tiny_predict(tiny, 2, &x[0][0], &y[0][0]) != TINY_OK) {
    fprintf(stderr, "tiny: %s\n", tiny_last_error(tiny));
    return 1;
  }
  for (int b = 0; b < 2; ++b)
    for (int o = 0; o < 2; ++o) {
      double expected = kBias[o];
      for (int i = 0; i < 3; ++i)
        expected += (double)x[b][i] * kWeight[o][i];
      if (fabs(y[b][o] - expected) > 1e-5 * fabs(expected) + 1e-6) {
        fprintf(stderr, "tiny: y[%d][%d] = %g, expected %g\n", b, o, y[b][o], expected);
        return 1;
      }
    }
  printf("tiny: y = [[%g, %g], [%g, %g]]\n", y[0][0], y[0][1], y[1][0], y[1][1]);
  mlp_destroy(mlp);
  tiny_destroy(tiny);
  return 0;
}
