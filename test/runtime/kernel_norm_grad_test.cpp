// Tests of layer norm's and RMS norm's gradient kernels
// (runtime/src/kernel_norm_grad.c) against a double-precision reference:
// several blocks of rows, a width that is not a multiple of the vector length,
// dense and strided rows, and the same bits for one and two threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernel_test_util.h"
#include "kernels.h"
#include "parallel.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

struct Grads {
  std::vector<float> dx, dw, db;
};

enum class Norm { Layer, Rms };

// Rows of width n at x[r * n + j], dout likewise. RMS norm: no mean, no bias;
// its xhat = x / sqrt(mean(x^2) + eps) and dx = rstd (g w - xhat mean(g w xhat)).
Grads reference(Norm norm, const std::vector<float> &x, const std::vector<float> &w,
                const std::vector<float> &g, int64_t rows, int64_t n, double eps) {
  Grads out{std::vector<float>(rows * n), std::vector<float>(n), std::vector<float>(n)};
  std::vector<double> dw(n, 0.0), db(n, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; norm == Norm::Layer && j < n; ++j)
      mean += x[r * n + j];
    mean /= n;
    for (int64_t j = 0; j < n; ++j)
      var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
    double rstd = 1.0 / std::sqrt(var / n + eps), mg = 0, mgx = 0;
    for (int64_t j = 0; j < n; ++j) {
      double xhat = (x[r * n + j] - mean) * rstd, gw = double(g[r * n + j]) * w[j];
      if (norm == Norm::Layer)
        mg += gw / n;
      mgx += gw * xhat / n;
      dw[j] += g[r * n + j] * xhat;
      db[j] += g[r * n + j];
    }
    for (int64_t j = 0; j < n; ++j) {
      double xhat = (x[r * n + j] - mean) * rstd;
      out.dx[r * n + j] = float(rstd * (double(g[r * n + j]) * w[j] - mg - xhat * mgx));
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    out.dw[j] = float(dw[j]);
    out.db[j] = float(db[j]);
  }
  return out;
}

void expectClose(const std::vector<float> &got, const std::vector<float> &want, const char *what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 2e-4 * std::max(1.0f, std::fabs(want[i]))) << what << " " << i;
}

// x and dout [5, 37, n] dense (185 rows, 6 blocks), or as the transposed view of
// an [n, 185] buffer when strided.
Grads run(Norm norm, const std::vector<float> &x, const std::vector<float> &w,
          const std::vector<float> &g, int64_t n, bool strided, int32_t threads) {
  ThreadCount scope(threads);
  const int64_t rows = 185;
  std::vector<float> xs = x, gs = g;
  std::vector<int64_t> strides;
  if (strided) { // element (r, j) at j * rows + r
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        xs[j * rows + r] = x[r * n + j];
        gs[j * rows + r] = g[r * n + j];
      }
    strides = {37, 1, rows};
  }
  Grads out{std::vector<float>(rows * n), std::vector<float>(n), std::vector<float>(n)};
  std::vector<float> dxs(rows * n);
  Desc xd(xs.data(), {5, 37, n}, strides), gd(gs.data(), {5, 37, n}, strides),
      wd(const_cast<float *>(w.data()), {n}), dxd(dxs.data(), {5, 37, n}, strides),
      dwd(out.dw.data(), {n}), dbd(out.db.data(), {n});
  if (norm == Norm::Layer)
    kiln_rt_layer_norm_grad_f32(3, xd.get(), 1, wd.get(), 3, gd.get(), 3, dxd.get(), 1, dwd.get(),
                                1, dbd.get(), 1e-5);
  else
    kiln_rt_rms_norm_grad_f32(3, xd.get(), 1, wd.get(), 3, gd.get(), 3, dxd.get(), 1, dwd.get(),
                              1e-5);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j)
      out.dx[r * n + j] = strided ? dxs[j * rows + r] : dxs[r * n + j];
  return out;
}

void expectMatchesTheReference(Norm norm) {
  for (int64_t n : {40, 64}) {
    std::vector<float> x = kiln_test::uniformFloats(185 * n, 1, -2.0f, 3.0f),
                       g = kiln_test::uniformFloats(185 * n, 2),
                       w = kiln_test::uniformFloats(n, 3, 0.5f, 1.5f);
    Grads want = reference(norm, x, w, g, 185, n, 1e-5);
    for (bool strided : {false, true}) {
      SCOPED_TRACE(testing::Message() << "n " << n << (strided ? " strided" : " dense"));
      Grads one = run(norm, x, w, g, n, strided, 1);
      expectClose(one.dx, want.dx, "dx");
      expectClose(one.dw, want.dw, "dweight");
      if (norm == Norm::Layer)
        expectClose(one.db, want.db, "dbias");
      Grads two = run(norm, x, w, g, n, strided, 2);
      EXPECT_EQ(two.dx, one.dx);
      EXPECT_EQ(two.dw, one.dw);
      EXPECT_EQ(two.db, one.db);
    }
  }
}

TEST(LayerNormGrad, MatchesTheReferenceDenseAndStrided) { expectMatchesTheReference(Norm::Layer); }

TEST(RmsNormGrad, MatchesTheReferenceDenseAndStrided) { expectMatchesTheReference(Norm::Rms); }

} // namespace
