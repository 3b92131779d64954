#include "indexing.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  indexing_model *m;
  check_status("create", indexing_create(argv[1], NULL, &m), indexing_last_error(NULL));
  float *x = F32("picks.x.f32", B * 7);
  int64_t *ids = I64("picks.ids.i64", B * 3);
  int64_t o0[B], o1[7], o2[7], o3[B];
  float o4[B * 3 * 5];
  check_status("picks", indexing_picks(m, B, x, ids, o0, o1, o2, o3, o4), indexing_last_error(m));
  check_i64("picks.out0.i64", o0, B);
  check_i64("picks.out1.i64", o1, 7);
  check_i64("picks.out2.i64", o2, 7);
  check_i64("picks.out3.i64", o3, B);
  check_f32("picks.out4.f32", o4, B * 3 * 5);

  float f0[B * 7], f1[B * 7], f3[B * 7];
  int64_t f2[B * 3];
  check_status("fills", indexing_fills(m, B, x, ids, f0, f1, f2, f3), indexing_last_error(m));
  check_f32("fills.out0.f32", f0, B * 7);
  check_f32("fills.out1.f32", f1, B * 7);
  check_i64("fills.out2.i64", f2, B * 3);
  check_f32("fills.out3.f32", f3, B * 7);
  indexing_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
