/* qformer_demo: the Kiln-compiled BLIP-2 querying transformer (examples/qformer).
 *
 *   qformer_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs forward on DATA_DIR/forward.image_features.f32 ([B, 17, 48]) and prints a summary
 * of the 8 query outputs per image ([B, 8, 64]). With --check, compares them with
 * DATA_DIR/forward.out.f32 (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a mismatch.
 * Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "qformer.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define FEATURES_NUMEL ((size_t)17 * 48)
#define OUT_NUMEL ((size_t)8 * 64)

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  qformer_model *model = NULL;
  int status;

  size_t b;
  float *features =
      fx_read_rows(dir, "forward.image_features.f32", FEATURES_NUMEL * sizeof(float), &b);
  float *out = features ? fx_alloc(b * OUT_NUMEL, sizeof(float)) : NULL;
  if (!out)
    goto done;

  if (qformer_create(args.weights_path, NULL, &model) != QFORMER_OK) {
    fprintf(stderr, "error: %s\n", qformer_last_error(NULL));
    model = NULL;
    goto done;
  }
  status = qformer_forward(model, (int64_t)b, features, out);
  if (status != QFORMER_OK) {
    fprintf(stderr, "error: qformer_forward failed (status %d): %s\n", status,
            qformer_last_error(model));
    goto done;
  }

  char shape[64];
  snprintf(shape, sizeof shape, "[%zu, 8, 64]", b);
  fx_print_stats("forward", shape, out, b * OUT_NUMEL);

  if (args.check) {
    float *ref = fx_read_f32(dir, "forward.out.f32", b * OUT_NUMEL);
    if (!ref || !fx_compare_f32("forward", out, ref, b * OUT_NUMEL))
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  qformer_destroy(model);
  fx_free_all();
  return rc;
}
