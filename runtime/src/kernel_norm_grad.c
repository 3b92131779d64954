/* kiln_rt_layer_norm_grad_f32 and kiln_rt_rms_norm_grad_f32: the gradients
 * of layer normalization and of RMS normalization over the last dim
 * (kiln.layer_norm_grad, kiln.rms_norm_grad), in one pass over each row of the
 * input and the cotangent.
 *
 * A row recomputes its mean (layer norm; 0 for RMS norm) and
 * rstd = 1 / sqrt(mean((x - mean)^2) + eps), then x_hat = (x - mean) rstd,
 * g = dout * weight and
 *   dx = rstd (g - mean(g) - x_hat mean(g x_hat))     (layer norm)
 *   dx = rstd (g - x_hat mean(g x_hat))               (RMS norm)
 * and adds dout x_hat (and dout, layer norm's bias) into the weight's
 * gradient. Those sums over rows are taken per block of kBlockRows rows into
 * a partial vector each, and the partials added in block order: the result
 * does not depend on the thread count. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "alloc.h"
#include "kernels.h"
#include "parallel.h"
#include "vec.h"

enum { kBlockRows = 32, kMaxRank = 6 };

typedef struct ln_args {
  const float *x, *w, *dout;
  float *dx;
  float *partials; /* [blocks][2][D]: dweight, dbias of each block */
  bool centered;   /* layer norm: subtract the mean, a bias */
  int64_t rows, width, rank;
  int64_t sizes[kMaxRank];
  int64_t xs[kMaxRank], gs[kMaxRank], dxs[kMaxRank]; /* element strides */
  int64_t ws; /* the weight's stride */
  float eps;
} ln_args;

/* The element offset of row r (a multi-index over the leading dims). */
static int64_t row_offset(const ln_args *a, const int64_t *strides, int64_t r) {
  int64_t offset = 0;
  for (int64_t d = a->rank - 2; d >= 0; --d) {
    offset += r % a->sizes[d] * strides[d];
    r /= a->sizes[d];
  }
  return offset;
}

/* One row when x, dout, dx and the weight are contiguous: 16 lanes at a time. */
static void ln_grad_row_dense(const float *x, const float *g, const float *w, float *dx,
                              float *dw, float *db, int64_t n, float eps, bool centered) {
  kiln_v16 acc = kiln_v16_splat(0.0f);
  int64_t j = 0;
  float mean = 0.0f;
  if (centered) {
    for (; j + KILN_VL <= n; j += KILN_VL)
      acc += kiln_v16_load(x + j);
    if (j < n)
      acc += kiln_v16_load_partial(x + j, n - j, 0.0f);
    mean = kiln_v16_reduce_add(acc) / (float)n;
  }
  kiln_v16 vmean = kiln_v16_splat(mean);
  acc = kiln_v16_splat(0.0f);
  for (j = 0; j + KILN_VL <= n; j += KILN_VL) {
    kiln_v16 c = kiln_v16_load(x + j) - vmean;
    acc = kiln_v16_fma(c, c, acc);
  }
  if (j < n) {
    kiln_v16 c = kiln_v16_load_partial(x + j, n - j, mean) - vmean;
    acc = kiln_v16_fma(c, c, acc);
  }
  float rstd = 1.0f / sqrtf(kiln_v16_reduce_add(acc) / (float)n + eps);
  kiln_v16 vrstd = kiln_v16_splat(rstd), sg = kiln_v16_splat(0.0f), sgx = sg;
  for (j = 0; j < n; j += KILN_VL) {
    int64_t m = n - j < KILN_VL ? n - j : KILN_VL;
    kiln_v16 xv = m == KILN_VL ? kiln_v16_load(x + j) : kiln_v16_load_partial(x + j, m, mean);
    kiln_v16 gv = m == KILN_VL ? kiln_v16_load(g + j) : kiln_v16_load_partial(g + j, m, 0.0f);
    kiln_v16 wv = m == KILN_VL ? kiln_v16_load(w + j) : kiln_v16_load_partial(w + j, m, 0.0f);
    kiln_v16 xhat = (xv - vmean) * vrstd, gw = gv * wv;
    sg += gw;
    sgx = kiln_v16_fma(gw, xhat, sgx);
    kiln_v16 dwv = m == KILN_VL ? kiln_v16_load(dw + j) : kiln_v16_load_partial(dw + j, m, 0.0f);
    dwv = kiln_v16_fma(gv, xhat, dwv);
    if (m == KILN_VL)
      kiln_v16_store(dw + j, dwv);
    else
      kiln_v16_store_partial(dw + j, dwv, m);
    if (centered) {
      kiln_v16 dbv =
          m == KILN_VL ? kiln_v16_load(db + j) : kiln_v16_load_partial(db + j, m, 0.0f);
      dbv += gv;
      if (m == KILN_VL)
        kiln_v16_store(db + j, dbv);
      else
        kiln_v16_store_partial(db + j, dbv, m);
    }
  }
  kiln_v16 mg = kiln_v16_splat(centered ? kiln_v16_reduce_add(sg) / (float)n : 0.0f);
  kiln_v16 mgx = kiln_v16_splat(kiln_v16_reduce_add(sgx) / (float)n);
  for (j = 0; j < n; j += KILN_VL) {
    int64_t m = n - j < KILN_VL ? n - j : KILN_VL;
    kiln_v16 xv = m == KILN_VL ? kiln_v16_load(x + j) : kiln_v16_load_partial(x + j, m, mean);
    kiln_v16 gv = m == KILN_VL ? kiln_v16_load(g + j) : kiln_v16_load_partial(g + j, m, 0.0f);
    kiln_v16 wv = m == KILN_VL ? kiln_v16_load(w + j) : kiln_v16_load_partial(w + j, m, 0.0f);
    kiln_v16 xhat = (xv - vmean) * vrstd;
    kiln_v16 dxv = vrstd * (gv * wv - mg - xhat * mgx);
    if (m == KILN_VL)
      kiln_v16_store(dx + j, dxv);
    else
      kiln_v16_store_partial(dx + j, dxv, m);
  }
}

static void ln_grad_blocks(void *ctx, int64_t begin, int64_t end) {
  const ln_args *a = ctx;
  int64_t n = a->width, xl = a->xs[a->rank - 1], gl = a->gs[a->rank - 1],
          dl = a->dxs[a->rank - 1];
  for (int64_t block = begin; block < end; ++block) {
    float *dw = a->partials + block * 2 * n, *db = dw + n;
    for (int64_t j = 0; j < n; ++j)
      dw[j] = db[j] = 0.0f;
    int64_t last = (block + 1) * kBlockRows < a->rows ? (block + 1) * kBlockRows : a->rows;
    for (int64_t r = block * kBlockRows; r < last; ++r) {
      const float *x = a->x + row_offset(a, a->xs, r), *g = a->dout + row_offset(a, a->gs, r);
      float *dx = a->dx + row_offset(a, a->dxs, r);
      if (xl == 1 && gl == 1 && dl == 1 && a->ws == 1) {
        ln_grad_row_dense(x, g, a->w, dx, dw, db, n, a->eps, a->centered);
        continue;
      }
      float sum = 0.0f;
      for (int64_t j = 0; a->centered && j < n; ++j)
        sum += x[j * xl];
      float mean = sum / (float)n, var = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        float c = x[j * xl] - mean;
        var += c * c;
      }
      float rstd = 1.0f / sqrtf(var / (float)n + a->eps);
      float sum_g = 0.0f, sum_gx = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        float xhat = (x[j * xl] - mean) * rstd, gj = g[j * gl];
        float gw = gj * a->w[j * a->ws];
        sum_g += gw;
        sum_gx += gw * xhat;
        dw[j] += gj * xhat;
        db[j] += gj;
      }
      float mean_g = a->centered ? sum_g / (float)n : 0.0f, mean_gx = sum_gx / (float)n;
      for (int64_t j = 0; j < n; ++j) {
        float xhat = (x[j * xl] - mean) * rstd;
        dx[j * dl] = rstd * (g[j * gl] * a->w[j * a->ws] - mean_g - xhat * mean_gx);
      }
    }
  }
}

/* The shared driver: dbias NULL for RMS norm. */
static void norm_grad(int64_t x_rank, const kiln_memref *x, const kiln_memref *weight,
                      const kiln_memref *dout, const kiln_memref *dx, const kiln_memref *dweight,
                      const kiln_memref *dbias, double eps) {
  ln_args a;
  a.rank = x_rank;
  a.rows = 1;
  for (int64_t d = 0; d < x_rank; ++d) {
    a.sizes[d] = x->sizes_strides[d];
    a.xs[d] = x->sizes_strides[x_rank + d];
    a.gs[d] = dout->sizes_strides[x_rank + d];
    a.dxs[d] = dx->sizes_strides[x_rank + d];
    if (d + 1 < x_rank)
      a.rows *= a.sizes[d];
  }
  a.width = a.sizes[x_rank - 1];
  a.x = (const float *)x->aligned + x->offset;
  a.w = (const float *)weight->aligned + weight->offset;
  a.ws = weight->sizes_strides[1];
  a.dout = (const float *)dout->aligned + dout->offset;
  a.dx = (float *)dx->aligned + dx->offset;
  a.eps = (float)eps;
  a.centered = dbias != NULL;
  float *dw = (float *)dweight->aligned + dweight->offset;
  float *db = dbias ? (float *)dbias->aligned + dbias->offset : NULL;
  int64_t dws = dweight->sizes_strides[1], dbs = dbias ? dbias->sizes_strides[1] : 0;
  int64_t blocks = (a.rows + kBlockRows - 1) / kBlockRows;
  a.partials = kiln_malloc(sizeof(float) * 2 * (size_t)a.width * (size_t)(blocks > 0 ? blocks : 1));
  if (!a.partials) { /* wrong, but visibly so */
    for (int64_t j = 0; j < a.width; ++j) {
      dw[j * dws] = __builtin_nanf("");
      if (db)
        db[j * dbs] = __builtin_nanf("");
    }
    return;
  }
  kiln_parallel_for(blocks, 1, ln_grad_blocks, &a);
  for (int64_t j = 0; j < a.width; ++j) {
    float w = 0.0f, b = 0.0f;
    for (int64_t block = 0; block < blocks; ++block) {
      w += a.partials[block * 2 * a.width + j];
      b += a.partials[block * 2 * a.width + a.width + j];
    }
    dw[j * dws] = w;
    if (db)
      db[j * dbs] = b;
  }
  kiln_free(a.partials);
}

void kiln_rt_layer_norm_grad_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight),
                                 KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dx),
                                 KILN_MEMREF_ARG(dweight), KILN_MEMREF_ARG(dbias), double eps) {
  (void)weight_rank, (void)dout_rank, (void)dx_rank, (void)dweight_rank, (void)dbias_rank;
  norm_grad(x_rank, x, weight, dout, dx, dweight, dbias, eps);
}

void kiln_rt_rms_norm_grad_f32(KILN_MEMREF_ARG(x), KILN_MEMREF_ARG(weight),
                               KILN_MEMREF_ARG(dout), KILN_MEMREF_ARG(dx),
                               KILN_MEMREF_ARG(dweight), double eps) {
  (void)weight_rank, (void)dout_rank, (void)dx_rank, (void)dweight_rank;
  norm_grad(x_rank, x, weight, dout, dx, dweight, NULL, eps);
}
