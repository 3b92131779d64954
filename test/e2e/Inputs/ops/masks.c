#include "masks.h"
#include "check.h"

enum { B = 2 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  masks_model *m;
  check_status("create", masks_create(argv[1], NULL, &m), masks_last_error(NULL));
  uint8_t *c = BOOL("choose.c.bool", B * 37);
  float *a = F32("choose.a.f32", B * 37), *b = F32("choose.b.f32", 37);
  float chosen[B * 37];
  check_status("choose", masks_choose(m, B, c, a, b, chosen), masks_last_error(m));
  check_f32("choose.out.f32", chosen, B * 37);

  float *q = F32("attend.q.f32", B * 2 * 5 * 8), *k = F32("attend.k.f32", B * 2 * 20 * 8);
  float *v = F32("attend.v.f32", B * 2 * 20 * 8);
  uint8_t *mask = BOOL("attend.mask.bool", B * 20);
  float out[B * 2 * 5 * 8];
  check_status("attend", masks_attend(m, B, q, k, v, mask, out), masks_last_error(m));
  check_f32("attend.out.f32", out, B * 2 * 5 * 8);
  masks_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}
