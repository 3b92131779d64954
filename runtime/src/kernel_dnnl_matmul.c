/* kiln_rt_dnnl_matmul*_f32: matmuls and linear layers on oneDNN, through the
 * primitive cache of dnnl_cache.h. Transposed operands are described by their
 * strides: PyTorch's Linear weight [O, K] is used in place, without a
 * reordered copy, so weights updated in place by a training step are always
 * read fresh.
 *
 * If oneDNN cannot create a primitive (it should not for these shapes), the
 * call falls back to a plain loop with the same semantics rather than fail:
 * kernels have no error channel. */
#include <stdbool.h>
#include <string.h>

#include "dnnl_cache.h"
#include "kernels.h"
#include "kiln/abi.h"
#include "parallel.h"

#define MAX_RANK 4

/* One operand: logical dims (transposes undone) and element strides. */
typedef kiln_dnnl_tensor operand;

/* A matmul problem, the cache key: zeroed, then filled. */
typedef struct problem {
  operand a, b, c, bias, residual;
  bool has_bias, has_residual;
  int32_t activation;
  int32_t threads;
} problem;

/* The address of element 0 of each operand, in problem order. */
typedef struct operands_data {
  float *a, *b, *c, *bias, *residual;
} operands_data;

static void swap_last_two(operand *o) {
  int32_t r = o->rank;
  int64_t d = o->dims[r - 1], s = o->strides[r - 1];
  o->dims[r - 1] = o->dims[r - 2];
  o->strides[r - 1] = o->strides[r - 2];
  o->dims[r - 2] = d;
  o->strides[r - 2] = s;
}

/* Pads o with leading size-1 dims up to rank. */
static void pad_rank(operand *o, int32_t rank) {
  int32_t shift = rank - o->rank;
  if (shift <= 0)
    return;
  for (int32_t i = o->rank - 1; i >= 0; --i) {
    o->dims[i + shift] = o->dims[i];
    o->strides[i + shift] = o->strides[i];
  }
  for (int32_t i = 0; i < shift; ++i) {
    o->dims[i] = 1;
    o->strides[i] = o->dims[shift] * o->strides[shift];
  }
  o->rank = rank;
}

/* Folds the batch dims of o into its rows when they are laid out as one
 * sequence of rows ([B, S, K] with dense batch stride -> [B*S, K]). */
static bool fold_rows(operand *o) {
  int32_t r = o->rank;
  int64_t rows = o->dims[r - 2];
  for (int32_t i = r - 3; i >= 0; --i) {
    if (o->dims[i] != 1 && o->strides[i] != o->dims[i + 1] * o->strides[i + 1])
      return false;
    rows *= o->dims[i];
  }
  o->dims[0] = rows;
  o->strides[0] = o->strides[r - 2];
  o->dims[1] = o->dims[r - 1];
  o->strides[1] = o->strides[r - 1];
  o->rank = 2;
  return true;
}

/* Puts the problem in the form oneDNN wants: equal ranks, and a 2-D product
 * when the right operand has no batch (the common linear layer). */
static void normalize(problem *p) {
  bool b_unbatched = true;
  for (int32_t i = 0; i + 2 < p->b.rank; ++i)
    b_unbatched &= p->b.dims[i] == 1;
  if (p->a.rank > 2 && b_unbatched && (!p->has_residual || p->residual.rank == p->c.rank)) {
    operand a = p->a, c = p->c, residual = p->residual;
    if (fold_rows(&a) && fold_rows(&c) && (!p->has_residual || fold_rows(&residual))) {
      p->a = a;
      p->c = c;
      p->residual = residual;
      operand b = p->b;
      b.dims[0] = b.dims[b.rank - 2];
      b.strides[0] = b.strides[b.rank - 2];
      b.dims[1] = b.dims[b.rank - 1];
      b.strides[1] = b.strides[b.rank - 1];
      b.rank = 2;
      p->b = b;
    }
  }
  int32_t rank = p->c.rank;
  pad_rank(&p->a, rank);
  pad_rank(&p->b, rank);
  if (p->has_residual)
    pad_rank(&p->residual, rank);
  if (p->has_bias) {
    /* bias [N] -> [1, ..., 1, N] */
    operand bias = p->bias;
    pad_rank(&bias, rank);
    p->bias = bias;
  }
}

static dnnl_alg_kind_t eltwise_kind(int32_t activation) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return dnnl_eltwise_relu;
  case KILN_ACTIVATION_GELU_ERF:
    return dnnl_eltwise_gelu_erf;
  case KILN_ACTIVATION_GELU_TANH:
    return dnnl_eltwise_gelu_tanh;
  default:
    return dnnl_eltwise_logistic;
  }
}

static dnnl_primitive_t create_primitive(const void *key, dnnl_engine_t engine) {
  const problem *p = key;
  dnnl_memory_desc_t a, b, c, bias, residual;
  if (!kiln_dnnl_describe(&a, &p->a) || !kiln_dnnl_describe(&b, &p->b) ||
      !kiln_dnnl_describe(&c, &p->c) || (p->has_bias && !kiln_dnnl_describe(&bias, &p->bias)) ||
      (p->has_residual && !kiln_dnnl_describe(&residual, &p->residual)))
    return NULL;
  dnnl_matmul_desc_t desc;
  if (dnnl_matmul_desc_init(&desc, &a, &b, p->has_bias ? &bias : NULL, &c) != dnnl_success)
    return NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post_ops = NULL;
  dnnl_primitive_t primitive = NULL;
  bool ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
            dnnl_post_ops_create(&post_ops) == dnnl_success;
  if (ok && p->activation != KILN_ACTIVATION_NONE)
    ok = dnnl_post_ops_append_eltwise(post_ops, 1.0f, eltwise_kind(p->activation), 0.0f, 0.0f) ==
         dnnl_success;
  if (ok && p->has_residual)
    ok = dnnl_post_ops_append_binary(post_ops, dnnl_binary_add, &residual) == dnnl_success;
  if (ok)
    ok = dnnl_primitive_attr_set_post_ops(attr, post_ops) == dnnl_success;
  if (ok)
    primitive = kiln_dnnl_make_primitive(&desc, attr, engine);
  if (post_ops)
    dnnl_post_ops_destroy(post_ops);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return primitive;
}

/* Runs p on oneDNN; false when it cannot. */
static bool run(const problem *p, const operands_data *d) {
  kiln_dnnl_arg args[5] = {
      {DNNL_ARG_SRC, &p->a, d->a}, {DNNL_ARG_WEIGHTS, &p->b, d->b}, {DNNL_ARG_DST, &p->c, d->c}};
  int count = 3;
  if (p->has_bias)
    args[count++] = (kiln_dnnl_arg){DNNL_ARG_BIAS, &p->bias, d->bias};
  if (p->has_residual)
    args[count++] = (kiln_dnnl_arg){
        DNNL_ARG_ATTR_MULTIPLE_POST_OP(p->activation != KILN_ACTIVATION_NONE ? 1 : 0) |
            DNNL_ARG_SRC_1,
        &p->residual, d->residual};
  return kiln_dnnl_run(create_primitive, p, sizeof *p, args, count, p->threads);
}

/* Offset of element idx (rank-r index) in o, with size-1 dims broadcast. */
static int64_t element(const operand *o, const int64_t *idx) {
  int64_t offset = 0;
  for (int32_t i = 0; i < o->rank; ++i)
    offset += (o->dims[i] == 1 ? 0 : idx[i]) * o->strides[i];
  return offset;
}

static float activate(int32_t activation, float x) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return x > 0 ? x : 0;
  case KILN_ACTIVATION_GELU_ERF:
    return 0.5f * x * (1.0f + __builtin_erff(x * 0.70710678f));
  case KILN_ACTIVATION_GELU_TANH:
    return 0.5f * x * (1.0f + __builtin_tanhf(0.79788456f * (x + 0.044715f * x * x * x)));
  case KILN_ACTIVATION_SIGMOID:
    return 1.0f / (1.0f + __builtin_expf(-x));
  default:
    return x;
  }
}

/* The same computation as a plain loop: only when oneDNN fails. */
static void fallback(const problem *p, const operands_data *d) {
  kiln_dnnl_count_fallback();
  int32_t r = p->c.rank;
  int64_t total = 1;
  for (int32_t i = 0; i < r; ++i)
    total *= p->c.dims[i];
  int64_t depth = p->a.dims[r - 1];
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t idx[MAX_RANK], rest = flat;
    for (int32_t i = r - 1; i >= 0; --i) {
      idx[i] = rest % p->c.dims[i];
      rest /= p->c.dims[i];
    }
    int64_t m = idx[r - 2], n = idx[r - 1];
    double sum = 0;
    for (int64_t k = 0; k < depth; ++k) {
      idx[r - 2] = m;
      idx[r - 1] = k;
      float x = d->a[element(&p->a, idx)];
      idx[r - 2] = k;
      idx[r - 1] = n;
      sum += (double)x * d->b[element(&p->b, idx)];
    }
    idx[r - 2] = m;
    idx[r - 1] = n;
    float y = (float)sum;
    if (p->has_bias)
      y += d->bias[element(&p->bias, idx)];
    y = activate(p->activation, y);
    if (p->has_residual)
      y += d->residual[element(&p->residual, idx)];
    d->c[element(&p->c, idx)] = y;
  }
}

static void matmul(const kiln_memref *a, int64_t a_rank, const kiln_memref *b, int64_t b_rank,
                   const kiln_memref *bias, int64_t bias_rank, const kiln_memref *residual,
                   int64_t residual_rank, kiln_memref *c, int64_t c_rank, int64_t flags) {
  problem p;
  memset(&p, 0, sizeof p);
  operands_data d = {NULL, NULL, NULL, NULL, NULL};
  p.a = kiln_dnnl_tensor_of(a, a_rank, &d.a);
  p.b = kiln_dnnl_tensor_of(b, b_rank, &d.b);
  p.c = kiln_dnnl_tensor_of(c, c_rank, &d.c);
  if (flags & KILN_MATMUL_TRANSPOSE_A)
    swap_last_two(&p.a);
  if (flags & KILN_MATMUL_TRANSPOSE_B)
    swap_last_two(&p.b);
  p.has_bias = bias != NULL;
  if (bias)
    p.bias = kiln_dnnl_tensor_of(bias, bias_rank, &d.bias);
  p.has_residual = residual != NULL;
  if (residual)
    p.residual = kiln_dnnl_tensor_of(residual, residual_rank, &d.residual);
  p.activation = (int32_t)((flags >> KILN_MATMUL_ACTIVATION_SHIFT) & KILN_MATMUL_ACTIVATION_MASK);
  p.threads = kiln_thread_count();
  normalize(&p);

  if (!run(&p, &d))
    fallback(&p, &d);
}

void kiln_rt_dnnl_matmul_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(c),
                             int64_t flags) {
  matmul(a, a_rank, b, b_rank, NULL, 0, NULL, 0, c, c_rank, flags);
}

void kiln_rt_dnnl_matmul_bias_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b), KILN_MEMREF_ARG(bias),
                                  KILN_MEMREF_ARG(c), int64_t flags) {
  matmul(a, a_rank, b, b_rank, bias, bias_rank, NULL, 0, c, c_rank, flags);
}

void kiln_rt_dnnl_matmul_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                      KILN_MEMREF_ARG(residual), KILN_MEMREF_ARG(c),
                                      int64_t flags) {
  matmul(a, a_rank, b, b_rank, NULL, 0, residual, residual_rank, c, c_rank, flags);
}

void kiln_rt_dnnl_matmul_bias_residual_f32(KILN_MEMREF_ARG(a), KILN_MEMREF_ARG(b),
                                           KILN_MEMREF_ARG(bias), KILN_MEMREF_ARG(residual),
                                           KILN_MEMREF_ARG(c), int64_t flags) {
  matmul(a, a_rank, b, b_rank, bias, bias_rank, residual, residual_rank, c, c_rank, flags);
}
