/* attention-bias.test: the spelled-out attention with a 0 / -inf causal bias
 * must equal the builtin causal attention (S = T = 70, two query blocks of
 * the kernel, the second partial); a finite random bias [S, T] with S = 33,
 * T = 90 must equal the same library built op by op (argv[2] names the
 * unfused outputs file, written by the unfused build's run and read by the
 * fused one). Prints the largest difference; exit 1 on a mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include MODEL_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(MODEL, CAT(_, name))

static float *filled(size_t n, unsigned seed, float scale) {
  float *p = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = ((float)(seed >> 8) / 16777216.0f * 2.0f - 1.0f) * scale;
  }
  return p;
}

static int compare(const char *what, const float *got, const float *want, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= 1e-5 + 1e-4 * fabs(want[i]))) {
      printf("%s: MISMATCH at %zu: %g vs %g\n", what, i, got[i], want[i]);
      return 1;
    }
    worst = d > worst ? d : worst;
  }
  printf("%s: ok, max |diff| %.2e\n", what, worst);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  FN(model) *m;
  FN(options) options = {2};
  if (FN(create)(argv[1], &options, &m) != 0) {
    fprintf(stderr, "%s\n", FN(last_error)(NULL));
    return 1;
  }
  int failed = 0;
  /* Causal as a bias. */
  {
    const int64_t S = 70;
    float *q = filled(2 * 3 * S * 16, 1, 1.0f), *k = filled(2 * 3 * S * 16, 2, 1.0f);
    float *v = filled(2 * 3 * S * 24, 3, 1.0f), *bias = malloc(S * S * sizeof(float));
    float *a = malloc(2 * 3 * S * 24 * sizeof(float)), *b = malloc(2 * 3 * S * 24 * sizeof(float));
    for (int64_t s = 0; s < S; ++s)
      for (int64_t t = 0; t < S; ++t)
        bias[s * S + t] = t > s ? -INFINITY : 0.0f;
    if (FN(spelled)(m, S, S, q, k, v, bias, a) != 0 || FN(causal)(m, S, q, k, v, b) != 0)
      return 1;
    failed |= compare("causal bias == causal", a, b, 2 * 3 * S * 24);
    free(q), free(k), free(v), free(bias), free(a), free(b);
  }
  /* A finite bias, compared across builds through a file. */
  {
    const int64_t S = 33, T = 90;
    float *q = filled(2 * 3 * S * 16, 4, 1.0f), *k = filled(2 * 3 * T * 16, 5, 1.0f);
    float *v = filled(2 * 3 * T * 24, 6, 1.0f), *bias = filled(S * T, 7, 4.0f);
    size_t n = 2 * 3 * S * 24;
    float *out = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    if (FN(spelled)(m, S, T, q, k, v, bias, out) != 0)
      return 1;
    FILE *f = fopen(argv[2], argv[3][0] == 'w' ? "wb" : "rb");
    if (!f)
      return 1;
    if (argv[3][0] == 'w') {
      fwrite(out, sizeof(float), n, f);
      printf("finite bias: written\n");
    } else {
      if (fread(want, sizeof(float), n, f) != n)
        return 1;
      failed |= compare("finite bias fused == unfused", out, want, n);
    }
    fclose(f);
    free(q), free(k), free(v), free(bias), free(out), free(want);
  }
  FN(destroy)(m);
  return failed;
}
