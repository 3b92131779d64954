/* fused-kernels.test: runs every entry of fused_kernels.kiln on synthetic
 * inputs (synth.h; seeds and shapes as in scripts/gen_op_fixtures.py) with
 * two models, created with num_threads = 1 and 2, compares each result with
 * the numpy fixtures and the two models' results with each other. Built once
 * per library: -DMODEL=<the -name given to kilnc>. */
#include "synth.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(CAT(MODEL, _), f)
#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(MODEL.h)

enum {
  B = 2,
  SELF = B * 2 * 80 * 16,   /* q, k, v and outputs of self_attend, chain, masked */
  CROSS_Q = B * 2 * 32 * 16,
  CROSS_K = B * 2 * 257 * 16,
  CROSS_V = B * 2 * 257 * 24,
  CROSS_OUT = B * 2 * 32 * 24,
  N = 20, C = 1000,         /* loss_grad */
  NS = 5, CS = 10,          /* loss_grad_small */
  NUM_OUTPUTS = 11,
};

typedef struct output {
  const char *fixture;
  size_t n;
} output;

static const output outputs[NUM_OUTPUTS] = {
    {"self_attend.out0.f32", SELF},     {"self_attend.out1.f32", SELF},
    {"self_attend.out0.f32", SELF}, /* chain: the same attention spelled out */
    {"masked.out0.f32", SELF},          {"masked.out1.f32", SELF},
    {"cross.out0.f32", CROSS_OUT},      {"cross.out1.f32", CROSS_OUT},
    {"loss_grad.out0.f32", 1},          {"loss_grad.out1.f32", N * C},
    {"loss_grad_small.out0.f32", 1},    {"loss_grad_small.out1.f32", NS * CS},
};

/* Runs every entry on a model created with `threads` threads; returns the
 * NUM_OUTPUTS results in `outputs` order. */
static float **run(const char *weights, int32_t threads) {
  API(options) options = {.num_threads = threads};
  API(model) * m;
  check_status("create", API(create)(weights, &options, &m), API(last_error)(NULL));
  float **r = malloc(NUM_OUTPUTS * sizeof *r);
  for (int i = 0; i < NUM_OUTPUTS; ++i)
    r[i] = synth(99, outputs[i].n, 1.0f); /* not zeroed: every value must be written */

  float *q = synth(31, SELF, 1.0f), *k = synth(32, SELF, 1.0f), *v = synth(33, SELF, 1.0f);
  check_status("self_attend", API(self_attend)(m, B, q, k, v, r[0], r[1]), API(last_error)(m));
  check_status("chain", API(chain)(m, B, q, k, v, r[2]), API(last_error)(m));
  uint8_t *mask = BOOL("masked.mask.bool", B * 80);
  check_status("masked", API(masked)(m, B, q, k, v, mask, r[3], r[4]), API(last_error)(m));
  free(q), free(k), free(v), free(mask);

  q = synth(34, CROSS_Q, 1.0f), k = synth(35, CROSS_K, 1.0f), v = synth(36, CROSS_V, 1.0f);
  check_status("cross", API(cross)(m, B, q, k, v, r[5], r[6]), API(last_error)(m));
  free(q), free(k), free(v);

  /* Row 0 shifted up by 100 and row 1 down by 100, as the generator does. */
  float *x = synth(37, N * C, 4.0f);
  for (int c = 0; c < C; ++c)
    x[c] += 100.0f, x[C + c] -= 100.0f;
  int64_t *t = I64("loss_grad.t.i64", N);
  check_status("loss_grad", API(loss_grad)(m, N, x, t, r[7], r[8]), API(last_error)(m));
  free(x), free(t);

  x = synth(38, NS * CS, 4.0f);
  for (int c = 0; c < CS; ++c)
    x[c] += 100.0f, x[CS + c] -= 100.0f;
  t = I64("loss_grad_small.t.i64", NS);
  check_status("loss_grad_small", API(loss_grad_small)(m, NS, x, t, r[9], r[10]),
               API(last_error)(m));
  free(x), free(t);

  API(destroy)(m);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s EMPTY_SAFETENSORS FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[2];
  float **one = run(argv[1], 1), **two = run(argv[1], 2);
  char label[256];
  for (int i = 0; i < NUM_OUTPUTS; ++i) {
    const char *entry = i == 2 ? "chain" : outputs[i].fixture;
    float *expected = F32(outputs[i].fixture, outputs[i].n);
    snprintf(label, sizeof label, "1 thread: %s", entry);
    compare_f32(label, one[i], expected, outputs[i].n);
    snprintf(label, sizeof label, "2 threads: %s", entry);
    compare_f32(label, two[i], expected, outputs[i].n);
    snprintf(label, sizeof label, "2 threads vs 1: %s", entry);
    compare_f32(label, two[i], one[i], outputs[i].n);
    free(expected);
  }
  for (int i = 0; i < NUM_OUTPUTS; ++i)
    free(one[i]), free(two[i]);
  free(one), free(two);
  printf("%s: %d mismatches\n", STR(MODEL), failures);
  return failures != 0;
}
