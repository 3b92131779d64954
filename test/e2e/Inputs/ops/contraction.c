#include "contraction.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  contraction_model *m;
  check_status("create", contraction_create(argv[1], NULL, &m), contraction_last_error(NULL));

  float *x = F32("matmuls.x.f32", B * 24), *w = F32("matmuls.w.f32", 40);
  float *a = F32("matmuls.a.f32", B * 48), *b = F32("matmuls.b.f32", B * 64);
  float xw[B * 15], ab[B * 24];
  check_status("matmuls", contraction_matmuls(m, B, x, w, a, b, xw, ab),
               contraction_last_error(m));
  check_f32("matmuls.out0.f32", xw, B * 15);
  check_f32("matmuls.out1.f32", ab, B * 24);

  float *q = F32("attend.q.f32", B * 80), *k = F32("attend.k.f32", B * 96);
  float *v = F32("attend.v.f32", B * 96);
  float plain[B * 80], causal[B * 80];
  check_status("attend", contraction_attend(m, B, q, k, v, plain, causal),
               contraction_last_error(m));
  check_f32("attend.out0.f32", plain, B * 80);
  check_f32("attend.out1.f32", causal, B * 80);

  float *img = F32("patches.x.f32", B * 192), *kw = F32("patches.w.f32", 192);
  float *kb = F32("patches.b.f32", 4);
  float out[B * 16];
  check_status("patches", contraction_patches(m, B, img, kw, kb, out), contraction_last_error(m));
  check_f32("patches.out.f32", out, B * 16);

  contraction_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
