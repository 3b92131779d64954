// kiln_rt_dnnl_softmax_f32 and kiln_rt_dnnl_layer_norm_f32 against double
// references: several ranks and axes, rows not a multiple of the vector
// width, a strided output, 1 and 2 threads; oneDNN must serve every call.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

std::vector<float> randoms(size_t n, uint32_t seed, float scale) {
  return kiln_test::uniformFloats(n, seed, -scale, scale);
}

// Softmax of a dense [outer, len, inner] view along the middle dim.
void checkSoftmax(std::vector<int64_t> shape, int64_t axis, int threads) {
  ThreadCount tc(threads);
  int64_t outer = 1, inner = 1, len = shape[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  auto x = randoms(outer * len * inner, 11, 20.0f);
  std::vector<float> out(x.size(), -1.0f);
  Desc dx(x.data(), shape), dout(out.data(), shape);
  long before = kiln_rt_dnnl_fallbacks();
  kiln_rt_dnnl_softmax_f32(dx.rank(), dx.get(), dout.rank(), dout.get(), axis);
  EXPECT_EQ(kiln_rt_dnnl_fallbacks(), before) << "oneDNN declined the softmax";
  double maxErr = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double max = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; ++k)
        max = std::max(max, double(x[(o * len + k) * inner + i]));
      for (int64_t k = 0; k < len; ++k)
        sum += std::exp(x[(o * len + k) * inner + i] - max);
      for (int64_t k = 0; k < len; ++k) {
        double expected = std::exp(x[(o * len + k) * inner + i] - max) / sum;
        maxErr = std::max(maxErr, std::abs(expected - out[(o * len + k) * inner + i]));
      }
    }
  EXPECT_LT(maxErr, 1e-6);
}

TEST(DnnlNorm, SoftmaxLastAxis) {
  checkSoftmax({7, 33}, 1, 1);
  checkSoftmax({2, 3, 5, 257}, 3, 2);
}

TEST(DnnlNorm, SoftmaxInnerAxis) {
  checkSoftmax({4, 19, 6}, 1, 1);
  checkSoftmax({9, 5}, 0, 2);
}

void checkLayerNorm(int64_t rows, int64_t len, bool stridedOut, int threads) {
  ThreadCount tc(threads);
  auto x = randoms(rows * len, 21, 3.0f), w = randoms(len, 22, 1.0f), b = randoms(len, 23, 1.0f);
  for (int64_t r = 0; r < rows; ++r)
    x[r * len] += 100.0f; // a large mean must not cost precision
  // With a strided output oneDNN cannot take it (one descriptor for both):
  // the fallback must still be right.
  int64_t outStride = stridedOut ? len + 3 : len;
  std::vector<float> out(rows * outStride, -1.0f);
  Desc dx(x.data(), {rows, len}), dw(w.data(), {len}), db(b.data(), {len});
  Desc dout(out.data(), {rows, len}, {outStride, 1});
  long before = kiln_rt_dnnl_fallbacks();
  kiln_rt_dnnl_layer_norm_f32(2, dx.get(), 1, dw.get(), 1, db.get(), 2, dout.get(), 1e-5);
  EXPECT_EQ(kiln_rt_dnnl_fallbacks() - before, stridedOut ? 1 : 0);
  double maxErr = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t k = 0; k < len; ++k)
      mean += x[r * len + k];
    mean /= double(len);
    for (int64_t k = 0; k < len; ++k)
      var += (x[r * len + k] - mean) * (x[r * len + k] - mean);
    double inv = 1 / std::sqrt(var / double(len) + 1e-5);
    for (int64_t k = 0; k < len; ++k) {
      double expected = (x[r * len + k] - mean) * inv * w[k] + b[k];
      maxErr = std::max(maxErr, std::abs(expected - out[r * outStride + k]));
    }
  }
  EXPECT_LT(maxErr, 2e-4);
}

TEST(DnnlNorm, LayerNorm) {
  checkLayerNorm(5, 64, false, 1);
  checkLayerNorm(37, 100, false, 2);
}

TEST(DnnlNorm, LayerNormStridedOutputFallsBack) { checkLayerNorm(4, 48, true, 1); }

} // namespace
