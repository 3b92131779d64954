/* contrastive_demo: the Kiln-compiled CLIP-style symmetric InfoNCE (examples/contrastive).
 *
 *   contrastive_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs similarity and loss on DATA_DIR/<entry>.image_features.f32 ([B, 48]) and
 * DATA_DIR/<entry>.text_features.f32 ([B, 24]); prints, for each image, the text it
 * scores highest (row i pairs with text i) and the loss. With --check, compares both with
 * DATA_DIR/<entry>.out.f32 (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a mismatch.
 * Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "contrastive.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define IMAGE_FEATURES 48
#define TEXT_FEATURES 24

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  contrastive_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, contrastive_last_error(model))

  /* Inputs; each entry's batch B comes from its image file's size. */
  size_t bs, bl;
  float *img_s =
      fx_read_rows(dir, "similarity.image_features.f32", IMAGE_FEATURES * sizeof(float), &bs);
  float *img_l = fx_read_rows(dir, "loss.image_features.f32", IMAGE_FEATURES * sizeof(float), &bl);
  if (!img_s || !img_l)
    goto done;
  float *txt_s = fx_read_f32(dir, "similarity.text_features.f32", bs * TEXT_FEATURES);
  float *txt_l = fx_read_f32(dir, "loss.text_features.f32", bl * TEXT_FEATURES);
  float *logits = fx_alloc(bs * bs, sizeof(float));
  if (!txt_s || !txt_l || !logits)
    goto done;
  float loss = 0.0f;

  if (contrastive_create(args.weights_path, NULL, &model) != CONTRASTIVE_OK) {
    fprintf(stderr, "error: %s\n", contrastive_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("contrastive_similarity", contrastive_similarity(model, (int64_t)bs, img_s, txt_s, logits));
  CALL("contrastive_loss", contrastive_loss(model, (int64_t)bl, img_l, txt_l, &loss));

  printf("similarity: %zu x %zu logits; best text per image:", bs, bs);
  for (size_t i = 0; i < bs; ++i) {
    size_t best = 0;
    for (size_t j = 1; j < bs; ++j)
      if (logits[i * bs + j] > logits[i * bs + best])
        best = j;
    printf(" %zu", best);
  }
  printf("\nloss: %.6f (batch %zu)\n", (double)loss, bl);

  if (args.check) {
    float *ref = fx_read_f32(dir, "similarity.out.f32", bs * bs);
    float *ref_loss = fx_read_f32(dir, "loss.out.f32", 1);
    if (!ref || !ref_loss)
      goto done;
    int ok = fx_compare_f32("similarity", logits, ref, bs * bs);
    ok &= fx_compare_f32("loss", &loss, ref_loss, 1);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  contrastive_destroy(model);
  fx_free_all();
  return rc;
}
