/* distill_train: distills the teacher of examples/distill into its student with the
 * Kiln-compiled train entry `fit` (examples/distill/distill.kiln), as
 * scripts/references/distill_train.py does it in PyTorch.
 *
 *   distill_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * Trains the student (Adam, lr 1e-2, teacher.* frozen) on the distillation loss
 * (T = 4, alpha = 0.7) for 60 steps of 16 rows from rows 0..127 of DATA_DIR/train.x.f32
 * (labels DATA_DIR/train.y.i64, the teacher's predicted classes), the first step in
 * halves (distill_fit_grads, then distill_fit_apply), the rest through distill_fit, and
 * reports how many of the held-out rows 128..159 the student classifies as the teacher
 * does. Saves the weights before and after training as OUT_DIR/initial.safetensors and
 * OUT_DIR/trained.safetensors.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: step 1's gradients
 * (each parameter within 1e-4 of the reference in relative L2 norm), every step's loss
 * (1e-3 relative), the final held-out student logits (1e-3 relative, 1e-5 absolute) and
 * weights (1e-3 in relative L2 norm, DATA_DIR/train.trained.safetensors), and checks that
 * the saved teacher tensors are bit-identical to those of INIT.safetensors. Exit status:
 * 0 ok, 1 error or mismatch, 2 usage.
 */
#include "distill.h"

#include "../common/fixture.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 160
#define NUM_TRAIN 128
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define BATCH 16
#define STEPS 60
#define LR 1e-2f
#define FEATURES ((size_t)DISTILL_FIT_X_DIM1)
#define CLASSES ((size_t)DISTILL_STUDENT_LOGITS_OUT_DIM1)
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

/* Every parameter, in the model's order (distill.h); the student's are the trained
 * ones, in the gradient buffer's order (distill.h, `fit`). */
static const struct {
  const char *name;
  size_t numel;
  int frozen;
} kParams[] = {{"teacher.fc1.weight", 64 * 32, 1}, {"teacher.fc1.bias", 64, 1},
               {"teacher.fc2.weight", 10 * 64, 1}, {"teacher.fc2.bias", 10, 1},
               {"student.fc1.weight", 16 * 32, 0}, {"student.fc1.bias", 16, 0},
               {"student.fc2.weight", 10 * 16, 0}, {"student.fc2.bias", 10, 0}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])

/* Batch `step`: rows (BATCH * step + j) mod NUM_TRAIN, as the reference. */
static void gather_batch(const float *x, const int64_t *y, int step, float *bx, int64_t *by) {
  for (int j = 0; j < BATCH; ++j) {
    size_t row = ((size_t)BATCH * (size_t)step + (size_t)j) % NUM_TRAIN;
    memcpy(bx + (size_t)j * FEATURES, x + row * FEATURES, FEATURES * sizeof *x);
    by[j] = y[row];
  }
}

static int close_to(double got, double expected, double rel, double abs_tol) {
  return fabs(got - expected) <= rel * fabs(expected) + abs_tol; /* false for NaN */
}

/* ||got - expected|| / ||expected||, in double. */
static double relative_l2(const float *got, const float *expected, size_t n) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff += ((double)got[i] - expected[i]) * ((double)got[i] - expected[i]);
    norm += (double)expected[i] * expected[i];
  }
  return sqrt(diff) / sqrt(norm);
}

/* The data of the f32 tensor `name`, of `numel` values, in a .safetensors file (read
 * whole into *file), found through its header's "data_offsets"; NULL if absent or of
 * another size. Enough for the files this example writes and reads, not a general
 * parser. */
static const float *tensor_in(const unsigned char *file, size_t size, const char *name,
                              size_t numel) {
  uint64_t header_len = 0;
  if (size < 8)
    return NULL;
  for (int i = 7; i >= 0; --i)
    header_len = header_len << 8 | file[i];
  if (header_len > size - 8)
    return NULL;
  char key[64];
  snprintf(key, sizeof key, "\"%s\"", name);
  char *header = fx_alloc(header_len + 1, 1);
  if (!header)
    return NULL;
  memcpy(header, file + 8, header_len);
  header[header_len] = '\0';
  const char *at = strstr(header, key);
  const char *offsets = at ? strstr(at, "\"data_offsets\"") : NULL;
  unsigned long long begin = 0, end = 0;
  if (!offsets ||
      sscanf(strchr(offsets, '[') ? strchr(offsets, '[') : "", "[%llu ,%llu", &begin, &end) != 2 ||
      end > size - 8 - header_len || begin > end || end - begin != numel * sizeof(float))
    return NULL;
  return (const float *)(const void *)(file + 8 + header_len + begin);
}

/* Reads the file at `path` whole (kept for fx_free_all). */
static unsigned char *read_path(const char *path, size_t *size) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return fx_keep(fx_read_whole(".", path, size));
  size_t dir_len = (size_t)(slash - path);
  char *dir = fx_alloc(dir_len + 2, 1);
  if (!dir)
    return NULL;
  memcpy(dir, path, dir_len ? dir_len : 1); /* "/x" lies in "/" */
  return fx_keep(fx_read_whole(dir, slash + 1, size));
}

/* The worst relative errors, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0;

/* Step 1 in halves: the gradients (checked), then the update. */
static int first_step(distill_model *model, const float *x, const int64_t *y,
                      const float *expected_grads, const float *expected_loss, int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  float *grads = fx_alloc(DISTILL_FIT_NUM_GRADS, sizeof *grads);
  if (!bx || !by || !grads)
    return 0;
  gather_batch(x, y, 0, bx, by);
  float loss = 0.0f;
  if (distill_fit_grads(model, BATCH, bx, by, &loss, grads) != DISTILL_OK ||
      distill_fit_apply(model, LR, grads) != DISTILL_OK) {
    fprintf(stderr, "error: step 1: %s\n", distill_last_error(model));
    return 0;
  }
  printf("fit step  1: loss %.4f (distill_fit_grads + distill_fit_apply)\n", loss);
  if (!check)
    return 1;
  worst_loss_error = fabs(loss - expected_loss[0]) / fabs(expected_loss[0]);
  if (!close_to(loss, expected_loss[0], LOSS_TOL, 0.0)) {
    fprintf(stderr, "check: fit step 1: loss %.7g, reference %.7g\n", loss, expected_loss[0]);
    return 0;
  }
  size_t offset = 0, trained = 0;
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (kParams[p].frozen)
      continue;
    double rel = relative_l2(grads + offset, expected_grads + offset, kParams[p].numel);
    if (rel > worst_grad_error || rel != rel)
      worst_grad_error = rel;
    if (!(rel <= GRAD_TOL)) {
      fprintf(stderr, "check: step 1 gradient of %s: relative L2 error %.3g\n", kParams[p].name,
              rel);
      return 0;
    }
    offset += kParams[p].numel;
    ++trained;
  }
  if (offset != DISTILL_FIT_NUM_GRADS) {
    fprintf(stderr, "check: %zu gradient values, distill.h has %d\n", offset,
            DISTILL_FIT_NUM_GRADS);
    return 0;
  }
  printf("check: step 1 gradients of %zu parameters match (worst relative L2 error %.2g)\n",
         trained, worst_grad_error);
  return 1;
}

/* Steps 2..STEPS through distill_fit, comparing each loss with `expected`. */
static int train(distill_model *model, const float *x, const int64_t *y, const float *expected,
                 int check) {
  float *bx = fx_alloc((size_t)BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(BATCH, sizeof *by);
  if (!bx || !by)
    return 0;
  for (int s = 1; s < STEPS; ++s) {
    gather_batch(x, y, s, bx, by);
    float loss = 0.0f;
    int status = distill_fit(model, LR, BATCH, bx, by, &loss);
    if (status != DISTILL_OK) {
      fprintf(stderr, "error: fit step %d failed (status %d): %s\n", s + 1, status,
              distill_last_error(model));
      return 0;
    }
    if ((s + 1) % 10 == 0)
      printf("fit step %2d: loss %.4f\n", s + 1, loss);
    if (check && fabs(loss - expected[s]) / fabs(expected[s]) > worst_loss_error)
      worst_loss_error = fabs(loss - expected[s]) / fabs(expected[s]);
    if (check && !close_to(loss, expected[s], LOSS_TOL, 0.0)) {
      fprintf(stderr, "check: fit step %d: loss %.7g, reference %.7g\n", s + 1, loss, expected[s]);
      return 0;
    }
  }
  return 1;
}

static unsigned char *save_and_read(distill_model *model, const char *dir, const char *name,
                                    size_t *size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (distill_save_weights(model, path) != DISTILL_OK) {
    fprintf(stderr, "error: saving %s: %s\n", path, distill_last_error(model));
    return NULL;
  }
  return fx_keep(fx_read_whole(dir, name, size));
}

int main(int argc, char **argv) {
  int check = argc == 5 && strcmp(argv[4], "--check") == 0;
  if (argc != 4 && !check) {
    fprintf(stderr, "usage: %s INIT.safetensors DATA_DIR OUT_DIR [--check]\n", argv[0]);
    return 2;
  }
  const char *init_path = argv[1], *data = argv[2], *out = argv[3];
  int ok = 0;
  distill_model *model = NULL;
  const float *x = fx_read_f32(data, "train.x.f32", NUM_ROWS * FEATURES);
  const int64_t *y = fx_read_i64(data, "train.y.i64", NUM_ROWS);
  const float *grads = check ? fx_read_f32(data, "train.grads.f32", DISTILL_FIT_NUM_GRADS) : NULL;
  const float *losses = check ? fx_read_f32(data, "train.losses.f32", STEPS) : NULL;
  const float *final_logits =
      check ? fx_read_f32(data, "train.final_logits.f32", NUM_HELD_OUT * CLASSES) : NULL;
  size_t reference_size = 0, init_size = 0;
  const unsigned char *reference =
      check ? fx_keep(fx_read_whole(data, "train.trained.safetensors", &reference_size)) : NULL;
  const unsigned char *init = check ? read_path(init_path, &init_size) : NULL;
  float *logits = fx_alloc(NUM_HELD_OUT * CLASSES, sizeof *logits);
  if (!x || !y || !logits || (check && (!grads || !losses || !final_logits || !reference || !init)))
    goto done;
  if (!fx_check_ids("train.y", y, NUM_ROWS, (int64_t)CLASSES))
    goto done;
  if (distill_create(init_path, NULL, &model) != DISTILL_OK) {
    fprintf(stderr, "error: create: %s\n", distill_last_error(NULL));
    model = NULL;
    goto done;
  }

  size_t initial_size = 0, trained_size = 0;
  const unsigned char *initial = save_and_read(model, out, "initial.safetensors", &initial_size);
  if (!initial || !first_step(model, x, y, grads, losses, check) ||
      !train(model, x, y, losses, check))
    goto done;
  const unsigned char *trained = save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained)
    goto done;

  FX_CALL("distill_student_logits",
          distill_student_logits(model, NUM_HELD_OUT, x + NUM_TRAIN * FEATURES, logits),
          distill_last_error(model));
  int agree = 0;
  for (size_t i = 0; i < NUM_HELD_OUT; ++i) {
    size_t best = 0;
    for (size_t c = 1; c < CLASSES; ++c)
      if (logits[i * CLASSES + c] > logits[i * CLASSES + best])
        best = c;
    agree += (int64_t)best == y[NUM_TRAIN + i];
  }
  printf("held-out agreement with the teacher: %d of %d\n", agree, NUM_HELD_OUT);

  if (check) {
    double worst_logit = 0.0, worst_weight = 0.0;
    for (size_t i = 0; i < NUM_HELD_OUT * CLASSES; ++i) {
      double diff = fabs((double)logits[i] - final_logits[i]);
      if (diff > worst_logit)
        worst_logit = diff;
      if (!close_to(logits[i], final_logits[i], FINAL_REL_TOL, FINAL_ABS_TOL)) {
        fprintf(stderr, "check: held-out logit [%zu]: %.7g, reference %.7g\n", i, logits[i],
                final_logits[i]);
        goto done;
      }
    }
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const char *name = kParams[p].name;
      size_t n = kParams[p].numel;
      const float *start = tensor_in(init, init_size, name, n);
      const float *before = tensor_in(initial, initial_size, name, n);
      const float *after = tensor_in(trained, trained_size, name, n);
      const float *expected = tensor_in(reference, reference_size, name, n);
      if (!start || !before || !after || !expected) {
        fprintf(stderr, "check: %s missing from a weights file or of the wrong size\n", name);
        goto done;
      }
      if (memcmp(before, start, n * sizeof *start) != 0) {
        fprintf(stderr, "check: %s as loaded differs from %s\n", name, init_path);
        goto done;
      }
      int same = memcmp(after, start, n * sizeof *start) == 0;
      if (kParams[p].frozen && !same) {
        fprintf(stderr, "check: frozen %s changed during training\n", name);
        goto done;
      }
      if (!kParams[p].frozen && same) {
        fprintf(stderr, "check: trained %s did not change\n", name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near zero can
       * move by a few steps' worth: compare whole tensors. */
      double rel = relative_l2(after, expected, n);
      if (rel > worst_weight || rel != rel)
        worst_weight = rel;
      if (!(rel <= FINAL_REL_TOL)) {
        fprintf(stderr, "check: trained %s: relative L2 error %.3g\n", name, rel);
        goto done;
      }
    }
    printf("check: %d losses (worst relative error %.2g), held-out logits (worst absolute "
           "error %.2g) and trained weights (worst relative L2 error %.2g) match the "
           "reference; the teacher stayed frozen\n",
           STEPS, worst_loss_error, worst_logit, worst_weight);
  }
  ok = 1;
done:
  distill_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}
