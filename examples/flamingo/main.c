/* flamingo_demo: the Kiln-compiled Flamingo gated cross-attention block (examples/flamingo).
 *
 *   flamingo_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs forward on DATA_DIR/forward.text.f32 ([B, 12, 64]) and DATA_DIR/forward.visual.f32
 * ([B, 10, 64]), and forward_masked on DATA_DIR/forward_masked.{text,visual}.f32 and
 * DATA_DIR/forward_masked.visual_mask.bool ([B, 10], one byte each, 1 = attend); prints a
 * summary of each output ([B, 12, 64]). With --check, compares both with
 * DATA_DIR/<entry>.out.f32 (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a mismatch.
 * Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "flamingo.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define TEXT_NUMEL ((size_t)12 * 64)
#define VISUAL_TOKENS 10
#define VISUAL_NUMEL ((size_t)VISUAL_TOKENS * 64)

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  flamingo_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, flamingo_last_error(model))

  /* Inputs; the batch B comes from the text files' sizes. */
  size_t b, bm;
  float *text = fx_read_rows(dir, "forward.text.f32", TEXT_NUMEL * sizeof(float), &b);
  float *text_m = fx_read_rows(dir, "forward_masked.text.f32", TEXT_NUMEL * sizeof(float), &bm);
  if (!text || !text_m)
    goto done;
  float *visual = fx_read_f32(dir, "forward.visual.f32", b * VISUAL_NUMEL);
  float *visual_m = fx_read_f32(dir, "forward_masked.visual.f32", bm * VISUAL_NUMEL);
  uint8_t *mask = fx_read_bool(dir, "forward_masked.visual_mask.bool", bm * VISUAL_TOKENS);
  float *out = fx_alloc(b * TEXT_NUMEL, sizeof(float));
  float *out_m = fx_alloc(bm * TEXT_NUMEL, sizeof(float));
  if (!visual || !visual_m || !mask || !out || !out_m)
    goto done;
  for (size_t i = 0; i < bm; ++i) {
    size_t attended = 0;
    for (size_t j = 0; j < VISUAL_TOKENS; ++j) {
      if (mask[i * VISUAL_TOKENS + j] > 1) {
        fprintf(stderr, "error: forward_masked.visual_mask.bool: byte %zu is not 0 or 1\n",
                i * VISUAL_TOKENS + j);
        goto done;
      }
      attended += mask[i * VISUAL_TOKENS + j];
    }
    if (attended == 0) { /* every query would attend to nothing: NaN */
      fprintf(stderr, "error: forward_masked.visual_mask.bool: row %zu masks every token\n", i);
      goto done;
    }
  }

  if (flamingo_create(args.weights_path, NULL, &model) != FLAMINGO_OK) {
    fprintf(stderr, "error: %s\n", flamingo_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("flamingo_forward", flamingo_forward(model, (int64_t)b, text, visual, out));
  CALL("flamingo_forward_masked",
       flamingo_forward_masked(model, (int64_t)bm, text_m, visual_m, mask, out_m));

  char shape[64];
  snprintf(shape, sizeof shape, "[%zu, 12, 64]", b);
  fx_print_stats("forward", shape, out, b * TEXT_NUMEL);
  snprintf(shape, sizeof shape, "[%zu, 12, 64]", bm);
  fx_print_stats("forward_masked", shape, out_m, bm * TEXT_NUMEL);

  if (args.check) {
    float *ref = fx_read_f32(dir, "forward.out.f32", b * TEXT_NUMEL);
    float *ref_m = fx_read_f32(dir, "forward_masked.out.f32", bm * TEXT_NUMEL);
    if (!ref || !ref_m)
      goto done;
    int ok = fx_compare_f32("forward", out, ref, b * TEXT_NUMEL);
    ok &= fx_compare_f32("forward_masked", out_m, ref_m, bm * TEXT_NUMEL);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  flamingo_destroy(model);
  fx_free_all();
  return rc;
}
