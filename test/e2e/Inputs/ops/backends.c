/* backends.test: runs every entry of backends.kiln, compiled with one
 * --backend, on synthetic inputs (synth.h; seeds and shapes as in
 * scripts/gen_op_fixtures.py) and compares the results with the numpy
 * fixtures. Built once per library: -DMODEL=<the -name given to kilnc>.
 *
 * Two passes: B = 3 (the fixtures' batch), then B = 1 into fresh output
 * buffers, checked against the first batch of the fixtures (the inputs of
 * B = 1 are a prefix of those of B = 3). The second pass makes the oneDNN
 * kernel build primitives for new shapes and reuse cached ones with other
 * buffers. */
#include "synth.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(CAT(MODEL, _), f)
#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(MODEL.h)

enum { FIXTURE_B = 3 };

static API(model) * m;
static int pass;

static void call(const char *what, int status) {
  check_status(what, status, API(last_error)(m));
}

/* The first n of the fixture's n_fixture floats against got. */
static void check_out(const char *name, const float *got, size_t n, size_t n_fixture) {
  float *expected = F32(name, n_fixture);
  char label[256];
  snprintf(label, sizeof label, "B=%d %s", pass == 0 ? FIXTURE_B : 1, name);
  compare_f32(label, got, expected, n);
  free(expected);
}

static float *out(size_t n) { return synth(0, n, 1.0f); /* fresh, not zeroed */ }

static void run(int64_t nb) {
  size_t B = (size_t)nb;
  float *x, *w, *b, *r, *y, *y1;

  x = synth(1, 64 * 128, 0.5f), w = synth(2, 64 * 128, 0.5f), b = synth(3, 64, 0.5f);
  y = out(64 * 64);
  call("linear_gelu", API(linear_gelu)(m, x, w, b, y));
  check_out("linear_gelu.out.f32", y, 64 * 64, 64 * 64);
  free(x), free(w), free(b), free(y);

  x = synth(4, 64 * 128, 0.5f), w = synth(5, 128 * 128, 0.5f), b = synth(6, 128, 0.5f);
  r = synth(7, 64 * 128, 1.0f), y = out(64 * 128);
  call("linear_relu_residual", API(linear_relu_residual)(m, x, w, b, r, y));
  check_out("linear_relu_residual.out.f32", y, 64 * 128, 64 * 128);
  free(x), free(w), free(b), free(r), free(y);

  x = synth(8, B * 128, 1.0f), w = synth(9, 12 * 16, 1.0f), b = synth(10, 12, 1.0f);
  y = out(B * 96);
  call("linear_sigmoid", API(linear_sigmoid)(m, nb, x, w, b, y));
  check_out("linear_sigmoid.out.f32", y, B * 96, FIXTURE_B * 96);
  free(x), free(w), free(b), free(y);

  x = synth(11, B * 128, 1.0f), w = synth(12, 16 * 16, 0.5f), r = synth(13, B * 128, 1.0f);
  y = out(B * 128);
  call("linear_gelu_tanh_residual", API(linear_gelu_tanh_residual)(m, nb, x, w, r, y));
  check_out("linear_gelu_tanh_residual.out.f32", y, B * 128, FIXTURE_B * 128);
  free(x), free(w), free(r), free(y);

  x = synth(14, B * 128, 1.0f), w = synth(15, 12 * 16, 1.0f), b = synth(16, 12, 1.0f);
  y = out(B * 96), y1 = out(B * 96);
  call("two_uses", API(two_uses)(m, nb, x, w, b, y, y1));
  check_out("two_uses.out0.f32", y, B * 96, FIXTURE_B * 96);
  check_out("two_uses.out1.f32", y1, B * 96, FIXTURE_B * 96);
  free(x), free(w), free(b), free(y), free(y1);

  x = synth(17, 24 * 40, 1.0f), w = synth(18, 40 * 16, 1.0f), y = out(24 * 16);
  call("plain", API(plain)(m, x, w, y));
  check_out("plain.out.f32", y, 24 * 16, 24 * 16);
  free(x), free(w), free(y);

  x = synth(19, B * 32 * 64, 0.5f), w = synth(20, 64 * 48, 0.5f), y = out(B * 32 * 48);
  call("batched", API(batched)(m, nb, x, w, y));
  check_out("batched.out.f32", y, B * 32 * 48, FIXTURE_B * 32 * 48);
  free(x), free(w), free(y);

  x = synth(21, B * 2 * 16 * 8, 1.0f), w = synth(22, B * 2 * 24 * 8, 1.0f);
  y = out(B * 2 * 16 * 24);
  call("scores", API(scores)(m, nb, x, w, y));
  check_out("scores.out.f32", y, B * 2 * 16 * 24, FIXTURE_B * 2 * 16 * 24);
  free(x), free(w), free(y);

  x = synth(23, 128 * 64, 0.5f), w = synth(24, 128 * 96, 0.5f), y = out(64 * 96);
  call("left_transposed", API(left_transposed)(m, x, w, y));
  check_out("left_transposed.out.f32", y, 64 * 96, 64 * 96);
  free(x), free(w), free(y);

  x = synth(25, 24 * 40, 1.0f), w = synth(26, B * 40 * 16, 1.0f), y = out(B * 24 * 16);
  call("broadcast_left", API(broadcast_left)(m, nb, x, w, y));
  check_out("broadcast_left.out.f32", y, B * 24 * 16, FIXTURE_B * 24 * 16);
  free(x), free(w), free(y);

  x = synth(27, 64 * 128, 0.5f), w = synth(28, 64 * 128, 0.5f), y = out(64 * 64);
  call("linear_silu", API(linear_silu)(m, x, w, y));
  check_out("linear_silu.out.f32", y, 64 * 64, 64 * 64);
  free(x), free(w), free(y);

  x = synth(29, 64 * 128, 0.5f), w = synth(30, 64 * 128, 0.5f), b = synth(31, 64, 0.5f);
  r = synth(32, 64 * 64, 1.0f), y = out(64 * 64);
  call("linear_quick_gelu_residual", API(linear_quick_gelu_residual)(m, x, w, b, r, y));
  check_out("linear_quick_gelu_residual.out.f32", y, 64 * 64, 64 * 64);
  free(x), free(w), free(b), free(r), free(y);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s EMPTY_SAFETENSORS FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[2];
  check_status("create", API(create)(argv[1], NULL, &m), API(last_error)(NULL));
  /* What oneDNN ran before this line, create ran (backends.test counts). */
  printf("%s: created\n", STR(MODEL));
  fflush(stdout);
  for (pass = 0; pass < 2; ++pass)
    run(pass == 0 ? FIXTURE_B : 1);
  API(destroy)(m);
  printf("%s: %d mismatches\n", STR(MODEL), failures);
  return failures != 0;
}
