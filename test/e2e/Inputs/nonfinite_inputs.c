/* nonfinite_inputs: NaN and infinity in an input propagate as IEEE arithmetic
 * and PyTorch have them, stay in their own rows, and every call returns OK
 * (inference entries do not check their inputs' values; docs/abi.md).
 *
 *   nonfinite_inputs WEIGHTS [--expect-finite]
 *
 * With examples/mlp (relu(fc1) -> sigmoid(fc2) -> fc3, then softmax or the
 * mean cross-entropy), on a batch of 4 rows of pixels in 0..16:
 *   row 0 and row 3: finite;
 *   row 1: NaN in feature NAN_FEATURE: NaN * w is NaN in all 128 units of fc1,
 *          relu(NaN) is NaN (torch.relu propagates it), and so on: PyTorch
 *          gives a row of 10 NaN;
 *   row 2: +inf in feature INF_FEATURE: fc1's units are +inf or -inf by the
 *          sign of their weight on it (these weights have no zero), relu keeps
 *          the +inf ones (55 to 73 of 128 for any single feature of
 *          mlp.safetensors), and each of fc2's 64 units then adds +inf and -inf
 *          terms (weights of both signs): inf - inf is NaN, sigmoid(NaN) is NaN,
 *          and fc3 and softmax make the whole row NaN. PyTorch gives 10 NaN.
 * Prints, per row, how many outputs are NaN, infinite and finite; for the
 * finite rows whether they equal, bit for bit, the same row in the same batch
 * with rows 1 and 2 made finite (the non-finite rows reach no other row) and
 * the row computed alone (batch 1); then mlp_loss on rows {0, 1} and {2, 3}
 * (labels 0..3): NaN with status OK, as F.cross_entropy gives.
 * --expect-finite claims rows 1 and 2 give finite outputs (to see the check
 * fail). Exit status: 0 when every check held, 1 otherwise, 2 on bad usage. */
#include "mlp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { B = 4, NAN_ROW = 1, INF_ROW = 2, NAN_FEATURE = 10, INF_FEATURE = 20 };
#define F ((size_t)MLP_PREDICT_X_DIM1)   /* 64 features */
#define C ((size_t)MLP_PREDICT_OUT_DIM1) /* 10 classes */

static int failures = 0;

static void fail(const char *what) {
  printf("  FAILED: %s\n", what);
  ++failures;
}

static int predict(mlp_model *m, int64_t rows, const float *x, float *out) {
  memset(out, 0xa5, (size_t)rows * C * sizeof(float)); /* poison */
  int status = mlp_predict(m, rows, x, out);
  if (status != MLP_OK) {
    printf("  FAILED: predict on %lld rows: status %d: %s\n", (long long)rows, status,
           mlp_last_error(m));
    ++failures;
  }
  return status;
}

/* Counts one row's outputs by class; prints them; returns the NaN count. */
static size_t classify_row(int row, const char *what, const float *out) {
  size_t nan = 0, inf = 0, finite = 0;
  for (size_t c = 0; c < C; ++c) {
    nan += isnan(out[c]) != 0;
    inf += isinf(out[c]) != 0;
    finite += isfinite(out[c]) != 0;
  }
  printf("row %d (%s): %zu NaN, %zu infinite, %zu finite\n", row, what, nan, inf, finite);
  return nan;
}

static float loss_of(mlp_model *m, const float *x, const int64_t *y, const char *what) {
  float loss = 0.0f;
  int status = mlp_loss(m, 2, x, y, &loss);
  printf("loss on %s: status %d, %s\n", what, status,
         isnan(loss) ? "NaN" : isinf(loss) ? "infinite" : "finite");
  if (status != MLP_OK)
    fail(mlp_last_error(m));
  return loss;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--expect-finite") != 0)) {
    fprintf(stderr, "usage: %s WEIGHTS [--expect-finite]\n", argv[0]);
    return 2;
  }
  int expect_finite = argc == 3;

  mlp_model *m = NULL;
  if (mlp_create(argv[1], NULL, &m) != MLP_OK) {
    fprintf(stderr, "error: %s\n", mlp_last_error(NULL));
    return 1;
  }

  /* The finite batch, then the same with a NaN in row 1 and +inf in row 2. */
  float finite_x[B * F], x[B * F];
  for (size_t i = 0; i < B * F; ++i)
    finite_x[i] = (float)((i * 7 + i / F * 3) % 17);
  memcpy(x, finite_x, sizeof x);
  x[NAN_ROW * F + NAN_FEATURE] = NAN;
  x[INF_ROW * F + INF_FEATURE] = INFINITY;

  float out[B * C], finite_out[B * C], alone[C];
  int status = predict(m, B, x, out);
  printf("predict on 4 rows, NaN in row %d, +inf in row %d: status %d\n", NAN_ROW, INF_ROW,
         status);
  if (status != MLP_OK || predict(m, B, finite_x, finite_out) != MLP_OK)
    return 1;

  for (int r = 0; r < B; ++r) {
    const float *row = out + (size_t)r * C;
    if (r == NAN_ROW || r == INF_ROW) {
      char what[64];
      snprintf(what, sizeof what, "%s in feature %d", r == NAN_ROW ? "NaN" : "+inf",
               r == NAN_ROW ? NAN_FEATURE : INF_FEATURE);
      size_t nan = classify_row(r, what, row);
      if (expect_finite ? nan != 0 : nan != C)
        fail(expect_finite ? "expected finite outputs" : "expected every output NaN, as PyTorch");
      continue;
    }
    classify_row(r, "finite", row);
    int same_batch = memcmp(row, finite_out + (size_t)r * C, C * sizeof(float)) == 0;
    if (predict(m, 1, x + (size_t)r * F, alone) != MLP_OK)
      return 1;
    int same_alone = memcmp(row, alone, C * sizeof(float)) == 0;
    printf("row %d: %s the finite batch's row, %s the row alone, bit for bit\n", r,
           same_batch ? "equal to" : "DIFFERS from", same_alone ? "equal to" : "DIFFERS from");
    if (!same_batch || !same_alone) {
      for (size_t c = 0; c < C; ++c)
        printf("  [%zu] %.9g, in the finite batch %.9g, alone %.9g\n", c, (double)row[c],
               (double)finite_out[(size_t)r * C + c], (double)alone[c]);
      fail("a finite row changed");
    }
  }

  /* The loss over a row with NaN, and over a row with +inf: NaN, status OK. */
  const int64_t y01[2] = {0, 1}, y23[2] = {2, 3};
  float nan_loss = loss_of(m, x, y01, "rows 0 and 1 (NaN)");
  float inf_loss = loss_of(m, x + 2 * F, y23, "rows 2 (+inf) and 3");
  if (expect_finite ? !isfinite(nan_loss) || !isfinite(inf_loss)
                    : !isnan(nan_loss) || !isnan(inf_loss))
    fail(expect_finite ? "expected finite losses" : "expected NaN losses, as PyTorch");
  float finite_loss = loss_of(m, finite_x, y01, "rows 0 and 1 made finite");
  if (!isfinite(finite_loss))
    fail("expected a finite loss");

  mlp_destroy(m);
  printf("%d failures\n", failures);
  return failures != 0;
}
