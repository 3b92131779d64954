/* distill_demo: the Kiln-compiled knowledge-distillation pair (examples/distill).
 *
 *   distill_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs student_logits and teacher_logits on DATA_DIR/<entry>.x.f32 ([B, 32]) and loss on
 * DATA_DIR/loss.x.f32 and DATA_DIR/loss.y.i64 ([B] labels in [0, 10)); prints each
 * sample's student and teacher predictions, and the loss. With --check, compares every
 * output with DATA_DIR/<entry>.out.f32 (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a
 * mismatch. Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "distill.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define FEATURES 32
#define CLASSES 10

static size_t argmax(const float *row) {
  size_t best = 0;
  for (size_t c = 1; c < CLASSES; ++c)
    if (row[c] > row[best])
      best = c;
  return best;
}

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  distill_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, distill_last_error(model))

  /* Inputs; each entry's batch comes from its x file's size. */
  size_t bs, bt, bl;
  float *xs = fx_read_rows(dir, "student_logits.x.f32", FEATURES * sizeof(float), &bs);
  float *xt = fx_read_rows(dir, "teacher_logits.x.f32", FEATURES * sizeof(float), &bt);
  float *xl = fx_read_rows(dir, "loss.x.f32", FEATURES * sizeof(float), &bl);
  if (!xs || !xt || !xl)
    goto done;
  int64_t *y = fx_read_i64(dir, "loss.y.i64", bl);
  if (!y || !fx_check_ids("loss.y", y, bl, CLASSES))
    goto done;
  float *student = fx_alloc(bs * CLASSES, sizeof(float));
  float *teacher = fx_alloc(bt * CLASSES, sizeof(float));
  if (!student || !teacher)
    goto done;
  float loss = 0.0f;

  if (distill_create(args.weights_path, NULL, &model) != DISTILL_OK) {
    fprintf(stderr, "error: %s\n", distill_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("distill_student_logits", distill_student_logits(model, (int64_t)bs, xs, student));
  CALL("distill_teacher_logits", distill_teacher_logits(model, (int64_t)bt, xt, teacher));
  CALL("distill_loss", distill_loss(model, (int64_t)bl, xl, y, &loss));

  printf("student_logits: %zu samples, predicted classes:", bs);
  for (size_t i = 0; i < bs; ++i)
    printf(" %zu", argmax(student + i * CLASSES));
  printf("\nteacher_logits: %zu samples, predicted classes:", bt);
  for (size_t i = 0; i < bt; ++i)
    printf(" %zu", argmax(teacher + i * CLASSES));
  printf("\nloss: %.6f (%zu samples, T = 4, alpha = 0.7)\n", (double)loss, bl);

  if (args.check) {
    float *ref_s = fx_read_f32(dir, "student_logits.out.f32", bs * CLASSES);
    float *ref_t = fx_read_f32(dir, "teacher_logits.out.f32", bt * CLASSES);
    float *ref_loss = fx_read_f32(dir, "loss.out.f32", 1);
    if (!ref_s || !ref_t || !ref_loss)
      goto done;
    int ok = fx_compare_f32("student_logits", student, ref_s, bs * CLASSES);
    ok &= fx_compare_f32("teacher_logits", teacher, ref_t, bt * CLASSES);
    ok &= fx_compare_f32("loss", &loss, ref_loss, 1);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  distill_destroy(model);
  fx_free_all();
  return rc;
}
