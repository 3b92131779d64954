#include "elementwise.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  elementwise_model *m;
  check_status("create", elementwise_create(argv[1], NULL, &m), elementwise_last_error(NULL));

  float out[5][B * 20];
  float *x = F32("unary.x.f32", B * 20);
  check_status("unary", elementwise_unary(m, B, x, out[0], out[1], out[2], out[3], out[4]),
               elementwise_last_error(m));
  const char *names[] = {"unary.out0.f32", "unary.out1.f32", "unary.out2.f32", "unary.out3.f32",
                         "unary.out4.f32"};
  for (int i = 0; i < 5; ++i)
    check_f32(names[i], out[i], B * 20);

  float *angles = F32("trig.x.f32", B * 20);
  check_status("trig", elementwise_trig(m, B, angles, out[0], out[1]), elementwise_last_error(m));
  check_f32("trig.out0.f32", out[0], B * 20);
  check_f32("trig.out1.f32", out[1], B * 20);

  float *y = F32("power.y.f32", 20);
  check_status("power", elementwise_power(m, B, x, y, out[0]), elementwise_last_error(m));
  check_f32("power.out.f32", out[0], B * 20);

  int64_t ints[B * 20];
  check_status("casts", elementwise_casts(m, B, x, ints, out[0]), elementwise_last_error(m));
  check_i64("casts.out0.i64", ints, B * 20);
  check_f32("casts.out1.f32", out[0], B * 20);

  float *nx = F32("norm.x.f32", B * 16), *nw = F32("norm.w.f32", 16), *nb = F32("norm.b.f32", 16);
  check_status("norm", elementwise_norm(m, B, nx, nw, nb, out[0]), elementwise_last_error(m));
  check_f32("norm.out.f32", out[0], B * 16);

  float *table = F32("lookup.table.f32", 10 * 8);
  int64_t *ids = I64("lookup.ids.i64", B * 3);
  float rows[B * 3 * 8];
  check_status("lookup", elementwise_lookup(m, B, table, ids, rows), elementwise_last_error(m));
  check_f32("lookup.out.f32", rows, B * 3 * 8);

  elementwise_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
