#include "layout.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  layout_model *m;
  check_status("create", layout_create(argv[1], NULL, &m), layout_last_error(NULL));
  float *x = F32("shapes.x.f32", B * 32), *y = F32("shapes.y.f32", B * 16);
  float o0[B * 32], o1[B * 32], o2[B * 48], o3[B * 16], o4[B * 8], o5[B * 32];
  check_status("shapes", layout_shapes(m, B, x, y, o0, o1, o2, o3, o4, o5), layout_last_error(m));
  check_f32("shapes.out0.f32", o0, B * 32);
  check_f32("shapes.out1.f32", o1, B * 32);
  check_f32("shapes.out2.f32", o2, B * 48);
  check_f32("shapes.out3.f32", o3, B * 16);
  check_f32("shapes.out4.f32", o4, B * 8);
  check_f32("shapes.out5.f32", o5, B * 32);
  layout_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
