// kiln_rt_dnnl_conv2d_f32 against a double reference: patch embeddings
// (stride = kernel), overlapping windows, unequal strides, one input channel,
// 1 and 2 threads; oneDNN must serve every call.
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

struct ConvShape {
  int64_t B, C, H, W, O, KH, KW, SH, SW;
};

std::vector<float> randoms(size_t n, uint32_t seed) { return kiln_test::uniformFloats(n, seed); }

void check(const ConvShape &s, int threads) {
  ThreadCount tc(threads);
  int64_t OH = (s.H - s.KH) / s.SH + 1, OW = (s.W - s.KW) / s.SW + 1;
  auto x = randoms(s.B * s.C * s.H * s.W, 1), w = randoms(s.O * s.C * s.KH * s.KW, 2);
  auto b = randoms(s.O, 3);
  std::vector<float> out(s.B * s.O * OH * OW, 777.0f);
  Desc dx(x.data(), {s.B, s.C, s.H, s.W}), dw(w.data(), {s.O, s.C, s.KH, s.KW});
  Desc db(b.data(), {s.O}), dout(out.data(), {s.B, s.O, OH, OW});
  long before = kiln_rt_dnnl_fallbacks();
  kiln_rt_dnnl_conv2d_f32(4, dx.get(), 4, dw.get(), 1, db.get(), 4, dout.get(), s.SH, s.SW);
  EXPECT_EQ(kiln_rt_dnnl_fallbacks(), before) << "oneDNN declined the convolution";
  double maxErr = 0;
  for (int64_t n = 0; n < s.B; ++n)
    for (int64_t o = 0; o < s.O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double sum = b[o];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t u = 0; u < s.KH; ++u)
              for (int64_t v = 0; v < s.KW; ++v)
                sum += double(x[((n * s.C + c) * s.H + i * s.SH + u) * s.W + j * s.SW + v]) *
                       w[((o * s.C + c) * s.KH + u) * s.KW + v];
          maxErr = std::max(maxErr, std::abs(sum - out[((n * s.O + o) * OH + i) * OW + j]));
        }
  EXPECT_LT(maxErr, 1e-4);
}

TEST(DnnlConv, PatchEmbedding) {
  check({2, 3, 32, 32, 64, 8, 8, 8, 8}, 1);
  check({3, 3, 32, 32, 48, 4, 4, 4, 4}, 2);
}

TEST(DnnlConv, OverlappingAndUnequalStrides) {
  check({2, 5, 11, 13, 7, 3, 3, 1, 1}, 1);
  check({1, 2, 17, 9, 6, 5, 2, 2, 3}, 2);
  check({4, 1, 6, 6, 3, 6, 6, 1, 1}, 1);
}

} // namespace
