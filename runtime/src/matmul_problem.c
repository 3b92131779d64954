/* The matmul kernels' shared problem: see matmul_problem.h. */
#include "matmul_problem.h"

#include <string.h>

#include "kiln/abi.h"
#include "parallel.h"

static void swap_last_two(kiln_matmul_operand *o) {
  int32_t r = o->rank;
  int64_t d = o->dims[r - 1], s = o->strides[r - 1];
  o->dims[r - 1] = o->dims[r - 2];
  o->strides[r - 1] = o->strides[r - 2];
  o->dims[r - 2] = d;
  o->strides[r - 2] = s;
}

/* Pads o with leading size-1 dims up to rank. */
static void pad_rank(kiln_matmul_operand *o, int32_t rank) {
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
static bool fold_rows(kiln_matmul_operand *o) {
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
 * when the right kiln_matmul_operand has no batch (the common linear layer). */
static void normalize(kiln_matmul_problem *p) {
  bool b_unbatched = true;
  for (int32_t i = 0; i + 2 < p->b.rank; ++i)
    b_unbatched &= p->b.dims[i] == 1;
  if (p->a.rank > 2 && b_unbatched && (!p->has_residual || p->residual.rank == p->c.rank)) {
    kiln_matmul_operand a = p->a, c = p->c, residual = p->residual;
    if (fold_rows(&a) && fold_rows(&c) && (!p->has_residual || fold_rows(&residual))) {
      p->a = a;
      p->c = c;
      p->residual = residual;
      kiln_matmul_operand b = p->b;
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
    kiln_matmul_operand bias = p->bias;
    pad_rank(&bias, rank);
    p->bias = bias;
  }
}

int64_t kiln_matmul_element(const kiln_matmul_operand *o, const int64_t *idx) {
  int64_t offset = 0;
  for (int32_t i = 0; i < o->rank; ++i)
    offset += (o->dims[i] == 1 ? 0 : idx[i]) * o->strides[i];
  return offset;
}

float kiln_matmul_activate(int32_t activation, float x) {
  switch (activation) {
  case KILN_ACTIVATION_RELU:
    return x > 0 ? x : 0;
  case KILN_ACTIVATION_GELU_ERF:
    return 0.5f * x * (1.0f + __builtin_erff(x * 0.70710678f));
  case KILN_ACTIVATION_GELU_TANH:
    return 0.5f * x * (1.0f + __builtin_tanhf(0.79788456f * (x + 0.044715f * x * x * x)));
  case KILN_ACTIVATION_SIGMOID:
    return 1.0f / (1.0f + __builtin_expf(-x));
  case KILN_ACTIVATION_SILU:
    return x / (1.0f + __builtin_expf(-x));
  case KILN_ACTIVATION_QUICK_GELU:
    return x / (1.0f + __builtin_expf(-KILN_QUICK_GELU_SCALE * x));
  default:
    return x;
  }
}

void kiln_matmul_reference(const kiln_matmul_problem *p, const kiln_matmul_data *d) {
  int32_t r = p->c.rank;
  int64_t total = 1;
  for (int32_t i = 0; i < r; ++i)
    total *= p->c.dims[i];
  int64_t depth = p->a.dims[r - 1];
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t idx[KILN_MATMUL_MAX_RANK], rest = flat;
    for (int32_t i = r - 1; i >= 0; --i) {
      idx[i] = rest % p->c.dims[i];
      rest /= p->c.dims[i];
    }
    int64_t m = idx[r - 2], n = idx[r - 1];
    double sum = 0;
    for (int64_t k = 0; k < depth; ++k) {
      idx[r - 2] = m;
      idx[r - 1] = k;
      float x = d->a[kiln_matmul_element(&p->a, idx)];
      idx[r - 2] = k;
      idx[r - 1] = n;
      sum += (double)x * d->b[kiln_matmul_element(&p->b, idx)];
    }
    idx[r - 2] = m;
    idx[r - 1] = n;
    float y = (float)sum;
    if (p->has_bias)
      y += d->bias[kiln_matmul_element(&p->bias, idx)];
    y = kiln_matmul_activate(p->activation, y);
    if (p->has_residual)
      y += d->residual[kiln_matmul_element(&p->residual, idx)];
    d->c[kiln_matmul_element(&p->c, idx)] = y;
  }
}

void kiln_matmul_problem_of(kiln_matmul_problem *p, kiln_matmul_data *d, const kiln_memref *a,
                            int64_t a_rank, const kiln_memref *b, int64_t b_rank,
                            const kiln_memref *bias, int64_t bias_rank, const kiln_memref *residual,
                            int64_t residual_rank, kiln_memref *c, int64_t c_rank, int64_t flags) {
  memset(p, 0, sizeof *p);
  *d = (kiln_matmul_data){NULL, NULL, NULL, NULL, NULL};
  p->a = kiln_dnnl_tensor_of(a, a_rank, &d->a);
  p->b = kiln_dnnl_tensor_of(b, b_rank, &d->b);
  p->c = kiln_dnnl_tensor_of(c, c_rank, &d->c);
  if (flags & KILN_MATMUL_TRANSPOSE_A)
    swap_last_two(&p->a);
  if (flags & KILN_MATMUL_TRANSPOSE_B)
    swap_last_two(&p->b);
  p->has_bias = bias != NULL;
  if (bias)
    p->bias = kiln_dnnl_tensor_of(bias, bias_rank, &d->bias);
  p->has_residual = residual != NULL;
  if (residual)
    p->residual = kiln_dnnl_tensor_of(residual, residual_rank, &d->residual);
  p->activation = (int32_t)((flags >> KILN_MATMUL_ACTIVATION_SHIFT) & KILN_MATMUL_ACTIVATION_MASK);
  p->threads = kiln_thread_count();
  normalize(p);
}

void kiln_matmul_call(kiln_matmul_fn run, const kiln_memref *a, int64_t a_rank,
                      const kiln_memref *b, int64_t b_rank, const kiln_memref *bias,
                      int64_t bias_rank, const kiln_memref *residual, int64_t residual_rank,
                      kiln_memref *c, int64_t c_rank, int64_t flags) {
  kiln_matmul_problem p;
  kiln_matmul_data d;
  kiln_matmul_problem_of(&p, &d, a, a_rank, b, b_rank, bias, bias_rank, residual, residual_rank, c,
                         c_rank, flags);
  run(&p, &d);
}
