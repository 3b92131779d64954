/* mlp_demo: runs the Kiln-compiled digits MLP (examples/mlp/mlp.kiln) on the test set.
 *
 *   mlp_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Reads DATA_DIR/test_x.f32 (N x 64 f32) and DATA_DIR/test_y.i64 (N int64), runs
 * mlp_predict and mlp_loss on the whole batch, prints the first predictions, the
 * accuracy and the loss. With --check it also compares every probability and the
 * loss with DATA_DIR/expected_probs.f32 and DATA_DIR/expected_loss.f32
 * (|got - expected| <= 1e-5 * |expected| + 1e-7) and exits 1 on the first mismatch.
 * All data files are raw little-endian. Exit status: 0 ok, 1 error/mismatch, 2 usage.
 */
#include "mlp.h"

#include "../common/fixture.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_FEATURES ((size_t)MLP_PREDICT_X_DIM1)   /* 64 */
#define NUM_CLASSES ((size_t)MLP_PREDICT_OUT_DIM1)  /* 10 */
#define NUM_SHOWN 10
#define REL_TOL 1e-5
#define ABS_TOL 1e-7

/* Checks that a file holds exactly `expected` bytes. */
static int check_size(const char *name, size_t size, size_t expected, const char *what) {
  if (size == expected) return 1;
  fprintf(stderr, "error: %s has %zu bytes, expected %zu (%s)\n", name, size, expected, what);
  return 0;
}

static int close_enough(float got, float expected) {
  double diff = fabs((double)got - (double)expected);
  return diff <= REL_TOL * fabs((double)expected) + ABS_TOL; /* false for NaN */
}

static double rel_err(float got, float expected) {
  double diff = fabs((double)got - (double)expected);
  return expected != 0.0f ? diff / fabs((double)expected) : diff;
}

static int usage(const char *argv0) {
  fprintf(stderr, "usage: %s WEIGHTS.safetensors DATA_DIR [--check]\n", argv0);
  return 2;
}

int main(int argc, char **argv) {
  const char *weights_path = NULL, *data_dir = NULL;
  int check = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--check") == 0) {
      check = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "error: unknown option %s\n", argv[i]);
      return usage(argv[0]);
    } else if (!weights_path) {
      weights_path = argv[i];
    } else if (!data_dir) {
      data_dir = argv[i];
    } else {
      return usage(argv[0]);
    }
  }
  if (!weights_path || !data_dir) return usage(argv[0]);

  {
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first != 1) {
      fprintf(stderr, "error: the data files are little-endian; this host is not\n");
      return 1;
    }
  }

  int rc = 1;
  float *x = NULL, *probs = NULL, *expected_probs = NULL, *expected_loss = NULL;
  int64_t *y = NULL;
  mlp_model *model = NULL;
  size_t size, n = 0, correct = 0;
  int status;
  float loss = 0.0f;

  /* Test data. */
  x = fx_read_whole(data_dir, "test_x.f32", &size);
  if (!x) goto done;
  if (size == 0 || size % (NUM_FEATURES * sizeof(float)) != 0) {
    fprintf(stderr, "error: test_x.f32 has %zu bytes, expected a positive multiple of %zu "
            "(N x %zu f32)\n", size, NUM_FEATURES * sizeof(float), NUM_FEATURES);
    goto done;
  }
  n = size / (NUM_FEATURES * sizeof(float));

  y = fx_read_whole(data_dir, "test_y.i64", &size);
  if (!y || !check_size("test_y.i64", size, n * sizeof(int64_t), "N int64 labels")) goto done;
  for (size_t i = 0; i < n; ++i) {
    if (y[i] < 0 || y[i] >= (int64_t)NUM_CLASSES) {
      fprintf(stderr, "error: test_y.i64: label %lld of sample %zu is not in [0, %zu)\n",
              (long long)y[i], i, NUM_CLASSES);
      goto done;
    }
  }

  if (check) {
    expected_probs = fx_read_whole(data_dir, "expected_probs.f32", &size);
    if (!expected_probs ||
        !check_size("expected_probs.f32", size, n * NUM_CLASSES * sizeof(float),
                    "N x 10 f32"))
      goto done;
    expected_loss = fx_read_whole(data_dir, "expected_loss.f32", &size);
    if (!expected_loss || !check_size("expected_loss.f32", size, sizeof(float), "1 f32"))
      goto done;
  }

  probs = malloc(n * NUM_CLASSES * sizeof(float));
  if (!probs) {
    fprintf(stderr, "error: out of memory\n");
    goto done;
  }

  /* The model. */
  if (mlp_create(weights_path, NULL, &model) != MLP_OK) {
    fprintf(stderr, "error: %s\n", mlp_last_error(NULL));
    model = NULL;
    goto done;
  }

  status = mlp_predict(model, (int64_t)n, x, probs);
  if (status != MLP_OK) {
    fprintf(stderr, "error: mlp_predict failed (status %d): %s\n", status,
            mlp_last_error(model));
    goto done;
  }
  status = mlp_loss(model, (int64_t)n, x, y, &loss);
  if (status != MLP_OK) {
    fprintf(stderr, "error: mlp_loss failed (status %d): %s\n", status, mlp_last_error(model));
    goto done;
  }

  /* Report. */
  for (size_t i = 0; i < n; ++i) {
    const float *p = probs + i * NUM_CLASSES;
    size_t best = 0;
    for (size_t c = 1; c < NUM_CLASSES; ++c)
      if (p[c] > p[best]) best = c;
    if ((int64_t)best == y[i]) ++correct;
    if (i < NUM_SHOWN)
      printf("sample %zu: predicted %zu (p=%.4f), label %lld\n", i, best, (double)p[best],
             (long long)y[i]);
  }
  printf("accuracy: %zu/%zu = %.1f%%\n", correct, n, 100.0 * (double)correct / (double)n);
  printf("loss: %.6f\n", (double)loss);

  if (check) {
    double max_rel = 0.0;
    for (size_t i = 0; i < n * NUM_CLASSES; ++i) {
      if (!close_enough(probs[i], expected_probs[i])) {
        fprintf(stderr, "check: mismatch at probs[%zu] (sample %zu, class %zu): got %.9g, expected %.9g\n",
               i, i / NUM_CLASSES, i % NUM_CLASSES, (double)probs[i], (double)expected_probs[i]);
        goto done;
      }
      double e = rel_err(probs[i], expected_probs[i]);
      if (e > max_rel) max_rel = e;
    }
    if (!close_enough(loss, expected_loss[0])) {
      fprintf(stderr, "check: mismatch in loss: got %.9g, expected %.9g\n", (double)loss,
             (double)expected_loss[0]);
      goto done;
    }
    double e = rel_err(loss, expected_loss[0]);
    if (e > max_rel) max_rel = e;
    printf("check: %zu probabilities and the loss match the reference (max rel err %.3g)\n",
           n * NUM_CLASSES, max_rel);
  }
  rc = 0;

done:
  mlp_destroy(model);
  free(x);
  free(y);
  free(probs);
  free(expected_probs);
  free(expected_loss);
  return rc;
}
