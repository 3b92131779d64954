#include "losses.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  losses_model *m;
  check_status("create", losses_create(argv[1], NULL, &m), losses_last_error(NULL));
  float *x = F32("divergence.x.f32", B * 10), *t = F32("divergence.t.f32", B * 10);
  float kl0, kl1;
  check_status("divergence", losses_divergence(m, B, x, t, &kl0, &kl1), losses_last_error(m));
  check_f32("divergence.out0.f32", &kl0, 1);
  check_f32("divergence.out1.f32", &kl1, 1);

  float *sx = F32("similarity.x.f32", B * 10), *sy = F32("similarity.y.f32", B * 10);
  float *z = F32("similarity.z.f32", B * 6), *w = F32("similarity.w.f32", 4 * 6);
  float o0[B * 10], o1[B * 10], o2[B], o3[B * 4];
  check_status("similarity", losses_similarity(m, B, sx, sy, z, w, o0, o1, o2, o3),
               losses_last_error(m));
  check_f32("similarity.out0.f32", o0, B * 10);
  check_f32("similarity.out1.f32", o1, B * 10);
  check_f32("similarity.out2.f32", o2, B);
  check_f32("similarity.out3.f32", o3, B * 4);
  losses_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
