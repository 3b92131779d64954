/* Gradients of every differentiable builtin against PyTorch autograd (grads.test).
 *
 *   grads WEIGHTS.safetensors FIXTURE_DIR
 *
 * Runs grads_d_<case>_grads of each case of grads.kiln on the inputs
 * FIXTURE_DIR/<case>.<arg>.<dtype> and compares the loss and every gradient
 * value with <case>.loss.f32 and <case>.grads.f32 (float64 torch autograd,
 * scripts/references/grads.py): a value matches when
 * |got - ref| <= 1e-4 * max(1, |ref|). Prints `<case>: ok` or the mismatch
 * (how many values are off, and the worst one), then `N mismatches` (cases
 * with a wrong value or a failed call); exits 1 if there is any. */
#include "grads.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *fixture_dir;
static grads_model *model;
static int mismatches;

/* The inputs of the running case, freed by check(). */
static void *case_inputs[8];
static int num_inputs;

/* Reads `<fixture_dir>/<case_name>.<what>` of exactly `bytes` bytes; exits on error. */
static void *load(const char *case_name, const char *what, size_t bytes) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.%s", fixture_dir, case_name, what);
  FILE *f = fopen(path, "rb");
  void *data = malloc(bytes ? bytes : 1);
  if (!f || !data || fread(data, 1, bytes, f) != bytes || fgetc(f) != EOF) {
    fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, path);
    exit(2);
  }
  fclose(f);
  return data;
}

static void *input(const char *case_name, const char *what, size_t bytes) {
  if (num_inputs == (int)(sizeof case_inputs / sizeof *case_inputs)) {
    fprintf(stderr, "%s: too many inputs\n", case_name);
    exit(2);
  }
  return case_inputs[num_inputs++] = load(case_name, what, bytes);
}

/* Compares got[0, n) with the f32 fixture; returns the number of values off and
 * sets *worst_index to the one furthest outside the tolerance. */
static size_t compare(const float *got, const float *ref, size_t n, size_t *worst_index) {
  size_t bad = 0;
  double worst = -1;
  for (size_t i = 0; i < n; ++i) {
    double r = ref[i], g = got[i];
    double tol = 1e-4 * (fabs(r) > 1 ? fabs(r) : 1);
    double ratio = fabs(g - r) / tol;
    if (!(ratio <= 1)) { /* NaN counts as off */
      ++bad;
      if (isnan(ratio) || ratio > worst) {
        worst = isnan(ratio) ? INFINITY : ratio;
        *worst_index = i;
      }
    }
  }
  return bad;
}

static void check(const char *name, int status, float loss, const float *grads, size_t n) {
  if (status != GRADS_OK) {
    printf("%s: error %d: %s\n", name, status, grads_last_error(model));
    ++mismatches;
  } else {
    float *ref_loss = load(name, "loss.f32", sizeof(float));
    float *ref = load(name, "grads.f32", n * sizeof(float));
    size_t at = 0, bad_loss = compare(&loss, ref_loss, 1, &at);
    size_t bad = compare(grads, ref, n, &at);
    if (bad_loss == 0 && bad == 0) {
      printf("%s: ok\n", name);
    } else {
      ++mismatches;
      printf("%s: mismatch:", name);
      if (bad_loss)
        printf(" loss got %.9g, expected %.9g%s", loss, ref_loss[0], bad ? ";" : "");
      if (bad)
        printf(" %zu of %zu grads off, worst grads[%zu] got %.9g, expected %.9g", bad, n, at,
               grads[at], ref[at]);
      printf("\n");
    }
    free(ref_loss);
    free(ref);
  }
  while (num_inputs > 0)
    free(case_inputs[--num_inputs]);
}

/* The inputs of case `c` (upper case `C`), sized by the header's macros. */
#define F32_IN(c, C, arg, ARG)                                                                     \
  ((const float *)input(#c, #arg ".f32", GRADS_D_##C##_##ARG##_NUMEL * sizeof(float)))
#define I64_IN(c, C, arg, ARG)                                                                     \
  ((const int64_t *)input(#c, #arg ".i64", GRADS_D_##C##_##ARG##_NUMEL * sizeof(int64_t)))
#define BOOL_IN(c, C, arg, ARG)                                                                    \
  ((const uint8_t *)input(#c, #arg ".bool", GRADS_D_##C##_##ARG##_NUMEL))

/* Runs grads_d_<c>_grads(model, args..., &loss, grads) and checks it. */
#define RUN(c, C, ...)                                                                             \
  do {                                                                                             \
    float loss_ = NAN;                                                                             \
    float *grads_ = malloc(GRADS_D_##C##_NUM_GRADS * sizeof(float));                               \
    for (size_t i_ = 0; i_ < GRADS_D_##C##_NUM_GRADS; ++i_)                                        \
      grads_[i_] = NAN;                                                                            \
    int status_ = grads_d_##c##_grads(model, __VA_ARGS__, &loss_, grads_);                         \
    check(#c, status_, loss_, grads_, GRADS_D_##C##_NUM_GRADS);                                    \
    ++cases;                                                                                       \
    free(grads_);                                                                                  \
  } while (0)

/* The common signatures: loss(w: f32[...]) and loss(s: f32). */
#define W(c, C) RUN(c, C, F32_IN(c, C, w, W))
#define S(c, C) RUN(c, C, F32_IN(c, C, s, S))

static int cases = 0;

enum { SYM_B = 3, SYM_S = 2 }; /* B and S of the sym_* cases' inputs in the fixtures */

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s WEIGHTS.safetensors FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  fixture_dir = argv[2];
  if (grads_create(argv[1], NULL, &model) != GRADS_OK) {
    fprintf(stderr, "create failed: %s\n", grads_last_error(NULL));
    return 1;
  }

  /* arithmetic */
  W(add, ADD);
  W(add_bcast, ADD_BCAST);
  W(add_scalar, ADD_SCALAR);
  W(sub, SUB);
  W(sub_bcast, SUB_BCAST);
  W(sub_scalar, SUB_SCALAR);
  W(mul, MUL);
  W(mul_bcast, MUL_BCAST);
  W(mul_self, MUL_SELF);
  W(mul_scalar, MUL_SCALAR);
  W(div, DIV);
  W(div_bcast, DIV_BCAST);
  W(div_bcast_left, DIV_BCAST_LEFT);
  W(div_scalar, DIV_SCALAR);
  W(rdiv_scalar, RDIV_SCALAR);
  W(neg, NEG);
  W(maximum, MAXIMUM);
  W(maximum_bcast, MAXIMUM_BCAST);
  W(minimum, MINIMUM);
  W(minimum_scalar, MINIMUM_SCALAR);
  W(pow, POW);
  W(pow_bcast, POW_BCAST);
  W(pow_scalar, POW_SCALAR);

  /* unary */
  W(relu, RELU);
  W(sigmoid, SIGMOID);
  W(tanh, TANH);
  W(exp, EXP);
  W(log, LOG);
  W(sqrt, SQRT);
  W(rsqrt, RSQRT);
  W(abs, ABS);
  W(sin, SIN);
  W(cos, COS);
  W(gelu, GELU);
  W(gelu_tanh, GELU_TANH);
  W(clamp, CLAMP);
  W(clamp_min, CLAMP_MIN);
  RUN(where, WHERE, BOOL_IN(where, WHERE, cond, COND), F32_IN(where, WHERE, w, W));
  RUN(where_bcast, WHERE_BCAST, BOOL_IN(where_bcast, WHERE_BCAST, cond, COND),
      F32_IN(where_bcast, WHERE_BCAST, w, W));

  /* normalizations */
  W(softmax, SOFTMAX);
  W(softmax_axis0, SOFTMAX_AXIS0);
  W(log_softmax, LOG_SOFTMAX);
  W(log_softmax_axis0, LOG_SOFTMAX_AXIS0);
  W(layer_norm, LAYER_NORM);
  W(layer_norm_3d, LAYER_NORM_3D);
  W(l2_normalize, L2_NORMALIZE);
  W(l2_normalize_axis, L2_NORMALIZE_AXIS);

  /* contractions */
  W(matmul, MATMUL);
  W(matmul_nt, MATMUL_NT);
  W(matmul_bcast, MATMUL_BCAST);
  W(bmm, BMM);

  /* layout */
  W(transpose, TRANSPOSE);
  W(transpose_3d, TRANSPOSE_3D);
  W(permute, PERMUTE);
  W(reshape, RESHAPE);
  W(reshape_split, RESHAPE_SPLIT);
  W(slice, SLICE);
  W(slice_sub, SLICE_SUB);
  W(select, SELECT);
  W(select_sub, SELECT_SUB);
  W(select_last_axis, SELECT_LAST_AXIS);
  W(concat, CONCAT);
  W(concat_repeat, CONCAT_REPEAT);

  /* reductions */
  W(sum_axis, SUM_AXIS);
  W(sum_keepdim, SUM_KEEPDIM);
  S(sum_all, SUM_ALL);
  W(mean_axis, MEAN_AXIS);
  W(mean_keepdim, MEAN_KEEPDIM);
  S(mean_all, MEAN_ALL);
  W(max_axis, MAX_AXIS);
  W(max_keepdim, MAX_KEEPDIM);
  S(max_all, MAX_ALL);

  /* indexing */
  RUN(embedding, EMBEDDING, I64_IN(embedding, EMBEDDING, ids, IDS),
      F32_IN(embedding, EMBEDDING, w, W));
  RUN(index_select, INDEX_SELECT, I64_IN(index_select, INDEX_SELECT, idx, IDX),
      F32_IN(index_select, INDEX_SELECT, w, W));
  RUN(index_select_rows, INDEX_SELECT_ROWS, I64_IN(index_select_rows, INDEX_SELECT_ROWS, idx, IDX),
      F32_IN(index_select_rows, INDEX_SELECT_ROWS, w, W));
  RUN(scatter_add, SCATTER_ADD, I64_IN(scatter_add, SCATTER_ADD, idx, IDX),
      F32_IN(scatter_add, SCATTER_ADD, w, W));
  RUN(segment_sum, SEGMENT_SUM, I64_IN(segment_sum, SEGMENT_SUM, idx, IDX),
      F32_IN(segment_sum, SEGMENT_SUM, w, W));

  /* losses */
  RUN(cross_entropy, CROSS_ENTROPY, I64_IN(cross_entropy, CROSS_ENTROPY, y, Y),
      F32_IN(cross_entropy, CROSS_ENTROPY, s, S));
  S(kl_div, KL_DIV);
  RUN(kl_div_target, KL_DIV_TARGET, F32_IN(kl_div_target, KL_DIV_TARGET, target, TARGET));

  /* the rest */
  W(fills, FILLS);
  {
    /* Inputs with the symbolic dim B = SYM_B: sized here, not by the header. */
    const float *x = input("sym_matmul", "x.f32", SYM_B * 6 * sizeof(float));
    const float *w = input("sym_matmul", "w.f32", SYM_B * 5 * sizeof(float));
    RUN(sym_matmul, SYM_MATMUL, (int64_t)SYM_B, x, w);
  }
  {
    const float *x = input("sym_mean", "x.f32", SYM_B * 6 * sizeof(float));
    RUN(sym_mean, SYM_MEAN, (int64_t)SYM_B, x, F32_IN(sym_mean, SYM_MEAN, w, W));
  }
  {
    const float *x = input("sym_softmax", "x.f32", SYM_B * 6 * sizeof(float));
    const float *w = input("sym_softmax", "w.f32", SYM_B * 5 * sizeof(float));
    RUN(sym_softmax, SYM_SOFTMAX, (int64_t)SYM_B, x, w);
  }
  W(rms_norm, RMS_NORM);
  RUN(mlp_ce, MLP_CE, I64_IN(mlp_ce, MLP_CE, y, Y), F32_IN(mlp_ce, MLP_CE, s, S));
  RUN(nll_one_hot, NLL_ONE_HOT, I64_IN(nll_one_hot, NLL_ONE_HOT, y, Y));
  W(attention_ops, ATTENTION_OPS);
  W(attention, ATTENTION);
  W(attention_causal, ATTENTION_CAUSAL);
  RUN(attention_mask_bias, ATTENTION_MASK_BIAS,
      BOOL_IN(attention_mask_bias, ATTENTION_MASK_BIAS, mask, MASK),
      F32_IN(attention_mask_bias, ATTENTION_MASK_BIAS, w, W));
  RUN(attention_masked, ATTENTION_MASKED, BOOL_IN(attention_masked, ATTENTION_MASKED, mask, MASK),
      F32_IN(attention_masked, ATTENTION_MASKED, w, W));
  W(attention_bias, ATTENTION_BIAS);
  W(attention_blocks, ATTENTION_BLOCKS);
  W(attention_blocks_causal, ATTENTION_BLOCKS_CAUSAL);
  W(attention_blocks_bias, ATTENTION_BLOCKS_BIAS);
  W(cosine_similarity, COSINE_SIMILARITY);
  W(cosine_similarity_axis0, COSINE_SIMILARITY_AXIS0);
  W(conv2d_patches, CONV2D_PATCHES);
  {
    const float *x = input("sym_cross_entropy", "x.f32", SYM_B * 6 * sizeof(float));
    RUN(sym_cross_entropy, SYM_CROSS_ENTROPY, (int64_t)SYM_B, x);
  }
  {
    const float *x = input("sym_linear3", "x.f32", SYM_B * SYM_S * 6 * sizeof(float));
    const float *w = input("sym_linear3", "w.f32", SYM_B * SYM_S * 5 * sizeof(float));
    RUN(sym_linear3, SYM_LINEAR3, (int64_t)SYM_B, (int64_t)SYM_S, x, w);
  }
  {
    const float *x = input("sym_cross_entropy3", "x.f32", SYM_B * SYM_S * 6 * sizeof(float));
    const int64_t *y = input("sym_cross_entropy3", "y.i64", SYM_B * SYM_S * sizeof(int64_t));
    RUN(sym_cross_entropy3, SYM_CROSS_ENTROPY3, (int64_t)SYM_B, (int64_t)SYM_S, x, y);
  }
  {
    const int64_t *ids = input("sym_embedding", "ids.i64", SYM_B * SYM_S * sizeof(int64_t));
    const float *w = input("sym_embedding", "w.f32", SYM_B * SYM_S * 6 * sizeof(float));
    RUN(sym_embedding, SYM_EMBEDDING, (int64_t)SYM_B, (int64_t)SYM_S, ids, w);
  }
  W(rms_norm_op, RMS_NORM_OP);
  W(rms_norm_op_3d, RMS_NORM_OP_3D);

  grads_destroy(model);
  printf("%d cases, %d mismatches\n", cases, mismatches);
  return mismatches != 0;
}
