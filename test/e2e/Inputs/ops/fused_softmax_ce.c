/* Fused vs unfused softmax cross-entropy on [64, 1000] logits: each entry
 * against numpy, and the fused entries against the unfused one. */
#include "fused_softmax_ce.h"
#include "check.h"

enum { B = 64, C = 1000 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  fused_softmax_ce_model *m;
  check_status("create", fused_softmax_ce_create(argv[1], NULL, &m),
               fused_softmax_ce_last_error(NULL));
  float *x = F32("loss.x.f32", B * C);
  int64_t *y = I64("loss.y.i64", B);
  float builtin, chain, unfused;
  float *log_p = malloc(sizeof(float) * B * C);
  check_status("builtin", fused_softmax_ce_builtin(m, B, x, y, &builtin),
               fused_softmax_ce_last_error(m));
  check_status("chain", fused_softmax_ce_chain(m, B, x, y, &chain), fused_softmax_ce_last_error(m));
  check_status("unfused", fused_softmax_ce_unfused(m, B, x, y, &unfused, log_p),
               fused_softmax_ce_last_error(m));
  check_f32("loss.out0.f32", &builtin, 1);
  check_f32("loss.out0.f32", &chain, 1);
  check_f32("loss.out0.f32", &unfused, 1);
  const float fused[2] = {builtin, chain};
  for (int i = 0; i < 2; ++i)
    if (!(fabsf(fused[i] - unfused) <= 1e-5f * fabsf(unfused))) {
      fprintf(stderr, "fused %.9g vs unfused %.9g\n", fused[i], unfused);
      ++failures;
    }
  printf("fused vs unfused: %.3g relative\n",
         fabs((double)builtin - unfused) / fabs((double)unfused));
  free(log_p);
  fused_softmax_ce_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
