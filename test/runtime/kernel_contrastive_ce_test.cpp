// Tests of the contrastive cross-entropy kernel (runtime/src/
// kernel_contrastive_ce.c) against a double-precision reference of
// cross_entropy(logits, t) and cross_entropy(logits^T, t): sizes around the
// vector length and the row block, targets arange(N) and permutations,
// extreme and non-finite values, out-of-range targets, strided and transposed
// views, and one or two threads. Then the gradient kernel (ContrastiveCeGrad*):
// the same losses bit for bit, both gradients against doubles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels.h"
#include "parallel.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kInfF = std::numeric_limits<float>::infinity();

// logits [n, n] at x[i * rs + j * cs].
struct View {
  const float *x;
  int64_t n, rs, cs;
  float at(int64_t i, int64_t j) const { return x[i * rs + j * cs]; }
};

struct Losses {
  double row, col;
};

// lse(line) - line[t] as (max - line[t]) + log(sum): exact even where lse
// itself rounds (|x| ~ 1e38); lse -inf for a line of all -inf (then NaN).
template <typename At> double lineLoss(int64_t n, At at, int64_t t) {
  double m = -kInf;
  for (int64_t j = 0; j < n; ++j)
    m = std::max(m, static_cast<double>(at(j)));
  if (m == -kInf)
    return -kInf - at(t);
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j)
    sum += std::exp(at(j) - m);
  return (m - at(t)) + std::log(sum);
}

Losses reference(const View &v, const std::vector<int64_t> &t) {
  Losses r{0.0, 0.0};
  for (int64_t k = 0; k < v.n; ++k) {
    if (t[k] < 0 || t[k] >= v.n)
      return {std::nan(""), std::nan("")};
  }
  for (int64_t k = 0; k < v.n; ++k) {
    r.row += lineLoss(
        v.n, [&](int64_t j) { return v.at(k, j); }, t[k]);
    r.col += lineLoss(
        v.n, [&](int64_t i) { return v.at(i, k); }, t[k]);
  }
  r.row /= static_cast<double>(v.n);
  r.col /= static_cast<double>(v.n);
  return r;
}

struct Result {
  float row = -1.0f, col = -1.0f;
};

Result run(const float *x, int64_t n, std::vector<int64_t> strides, int64_t offset,
           const int64_t *t, int64_t ts = 1, int64_t toff = 0) {
  Result r;
  Desc dx(const_cast<float *>(x), {n, n}, strides, offset);
  Desc dt(const_cast<int64_t *>(t), {n}, {ts}, toff);
  Desc dr(&r.row, {}), dc(&r.col, {});
  kiln_rt_contrastive_ce_f32(dx.rank(), dx.get(), dt.rank(), dt.get(), dr.rank(), dr.get(),
                             dc.rank(), dc.get());
  return r;
}

void expectClose(double expected, double actual, const char *what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << " = " << actual << ", expected NaN";
    return;
  }
  if (std::isinf(expected)) {
    EXPECT_EQ(expected, actual) << what;
    return;
  }
  EXPECT_NEAR(expected, actual, 1e-5 * std::max(1.0, std::fabs(expected))) << what;
}

void expectSame(const Result &a, const Result &b) {
  // The same bits (NaN matching NaN).
  EXPECT_TRUE(a.row == b.row || (std::isnan(a.row) && std::isnan(b.row)))
      << a.row << " vs " << b.row;
  EXPECT_TRUE(a.col == b.col || (std::isnan(a.col) && std::isnan(b.col)))
      << a.col << " vs " << b.col;
}

// Dense problem at one and two threads: close to the reference, and the same
// bits at both thread counts.
void check(const std::vector<float> &x, const std::vector<int64_t> &t, int64_t n) {
  Losses ref = reference({x.data(), n, n, 1}, t);
  Result one, two;
  {
    ThreadCount tc(1);
    one = run(x.data(), n, {}, 0, t.data());
  }
  {
    ThreadCount tc(2);
    two = run(x.data(), n, {}, 0, t.data());
  }
  expectClose(ref.row, one.row, "row loss");
  expectClose(ref.col, one.col, "col loss");
  expectSame(one, two);
}

std::vector<float> randomLogits(int64_t count, float lo, float hi, uint32_t seed) {
  return kiln_test::uniformFloats(size_t(count), seed, lo, hi);
}

std::vector<int64_t> arange(int64_t n) {
  std::vector<int64_t> t(n);
  std::iota(t.begin(), t.end(), 0);
  return t;
}

std::vector<int64_t> permutation(int64_t n, uint32_t seed) {
  std::vector<int64_t> t = arange(n);
  std::mt19937 gen(seed);
  std::shuffle(t.begin(), t.end(), gen);
  return t;
}

// CLIP-like logits: scale * cosine similarities, the diagonal the largest.
std::vector<float> clipLogits(int64_t n, uint32_t seed) {
  std::vector<float> x = randomLogits(n * n, -0.3f, 0.3f, seed);
  for (int64_t i = 0; i < n; ++i)
    x[i * n + i] += 0.6f;
  for (float &v : x)
    v *= 100.0f;
  return x;
}

TEST(ContrastiveCe, MatchesReferenceAcrossSizes) {
  // Around the vector length (16), the row block (4) and the chunk (64 rows;
  // 513 = 9 chunks, the last of one row).
  for (int64_t n : {1, 2, 3, 5, 15, 16, 17, 63, 64, 65, 100, 513}) {
    SCOPED_TRACE("N " + std::to_string(n));
    uint32_t seed = static_cast<uint32_t>(n);
    {
      SCOPED_TRACE("random, arange");
      check(randomLogits(n * n, -5.0f, 5.0f, seed), arange(n), n);
    }
    {
      SCOPED_TRACE("random, permutation");
      check(randomLogits(n * n, -5.0f, 5.0f, seed + 1), permutation(n, seed), n);
    }
    {
      SCOPED_TRACE("CLIP-like, arange");
      check(clipLogits(n, seed + 2), arange(n), n);
    }
    {
      SCOPED_TRACE("random, repeated targets");
      std::vector<int64_t> t(n);
      for (int64_t k = 0; k < n; ++k)
        t[k] = (k * 7) % std::max<int64_t>(1, n / 3);
      check(randomLogits(n * n, -5.0f, 5.0f, seed + 3), t, n);
    }
  }
}

TEST(ContrastiveCe, RowAndColumnLossesDiffer) {
  // An asymmetric matrix: the two losses differ, so a kernel swapping them
  // (or computing one twice) fails.
  const int64_t n = 33;
  std::vector<float> x = randomLogits(n * n, -1.0f, 1.0f, 7);
  for (int64_t j = 0; j < n; ++j)
    x[3 * n + j] += 10.0f; // row 3 large: column lses dominated by it
  Losses ref = reference({x.data(), n, n, 1}, arange(n));
  ASSERT_GT(std::fabs(ref.row - ref.col), 1.0);
  check(x, arange(n), n);
}

TEST(ContrastiveCe, ManyRowsSplitAcrossThreads) {
  for (int64_t n : {513, 1000}) {
    SCOPED_TRACE("N " + std::to_string(n));
    std::vector<float> x = randomLogits(n * n, -20.0f, 20.0f, 17);
    std::vector<int64_t> t = permutation(n, 18);
    check(x, t, n);
    // Three threads too: the chunks, not the threads, fix the rounding.
    Result one, three;
    {
      ThreadCount tc(1);
      one = run(x.data(), n, {}, 0, t.data());
    }
    {
      ThreadCount tc(3);
      three = run(x.data(), n, {}, 0, t.data());
    }
    expectSame(one, three);
  }
}

TEST(ContrastiveCe, ExtremeValues) {
  const int64_t n = 37;
  std::vector<std::vector<float>> cases;
  std::vector<float> x(n * n);
  // +-80 checkerboard.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = (i + j) % 2 ? 80.0f : -80.0f;
  cases.push_back(x);
  // Rows rising: every row raises every column's max.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = -50.0f + 3.0f * static_cast<float>(i) + 0.1f * static_cast<float>(j);
  cases.push_back(x);
  // Rows falling from large values.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = 60.0f - 2.0f * static_cast<float>(i) - static_cast<float>(j % 5);
  cases.push_back(x);
  // One large value per line among -1e30s (a permutation matrix).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = j == (i * 5) % n ? 3.0f : -1e30f;
  cases.push_back(x);
  // Magnitudes where exp(x) itself would overflow.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = 1e4f + static_cast<float>((i * 3 + j) % 7);
  cases.push_back(x);
  // -inf entries (masked pairs) off the diagonal.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      x[i * n + j] = i != j && (i + 2 * j) % 3 == 0 ? -kInfF : static_cast<float>((i * j) % 7) - 3;
  cases.push_back(x);
  // Every element -FLT_MAX: finite, the running maxima's initial value.
  cases.push_back(std::vector<float>(n * n, -std::numeric_limits<float>::max()));
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE("case " + std::to_string(k));
    check(cases[k], arange(n), n);
    check(cases[k], permutation(n, static_cast<uint32_t>(k)), n);
  }
}

TEST(ContrastiveCe, NonFiniteLogits) {
  const int64_t n = 21;
  std::vector<float> base = randomLogits(n * n, -3.0f, 3.0f, 29);
  std::vector<int64_t> t = arange(n);
  // NaN or +inf anywhere poisons its row and its column, so both losses.
  for (float bad : {std::nanf(""), kInfF}) {
    for (int64_t at : {int64_t{0}, 7 * n + 19, n * n - 1}) {
      std::vector<float> x = base;
      x[at] = bad;
      SCOPED_TRACE("x[" + std::to_string(at) + "] = " + std::to_string(bad));
      Result r = run(x.data(), n, {}, 0, t.data());
      EXPECT_TRUE(std::isnan(r.row)) << r.row;
      EXPECT_TRUE(std::isnan(r.col)) << r.col;
    }
  }
  // A row of all -inf: its own loss is NaN (lse -inf - -inf); in column k
  // its target pair is -inf under a finite lse, so the column loss is +inf.
  std::vector<float> x = base;
  for (int64_t j = 0; j < n; ++j)
    x[4 * n + j] = -kInfF;
  Losses ref = reference({x.data(), n, n, 1}, t);
  ASSERT_TRUE(std::isnan(ref.row));
  ASSERT_EQ(kInf, ref.col);
  check(x, t, n);
  // The same pointed elsewhere: column 4's target is row 5 (finite), but
  // the -inf row is still a row of its own.
  std::vector<int64_t> t2 = t;
  std::swap(t2[4], t2[5]);
  check(x, t2, n);
  // A column of all -inf: the column loss NaN, the row loss +inf.
  x = base;
  for (int64_t i = 0; i < n; ++i)
    x[i * n + 9] = -kInfF;
  check(x, t, n);
}

TEST(ContrastiveCe, OutOfRangeTargetsMakeBothLossesNaN) {
  const int64_t n = 19;
  std::vector<float> x = randomLogits(n * n, -3.0f, 3.0f, 37);
  // In range: both finite.
  std::vector<int64_t> t = permutation(n, 38);
  Result ok = run(x.data(), n, {}, 0, t.data());
  EXPECT_TRUE(std::isfinite(ok.row));
  EXPECT_TRUE(std::isfinite(ok.col));
  // t_k is both row k's target and column k's: one bad entry, both NaN; far
  // outside values are never dereferenced.
  for (int64_t bad : {n, int64_t{-1}, INT64_MAX, INT64_MIN}) {
    for (int64_t k : {int64_t{0}, int64_t{10}, n - 1}) {
      std::vector<int64_t> tb = t;
      tb[k] = bad;
      SCOPED_TRACE("t[" + std::to_string(k) + "] = " + std::to_string(bad));
      Result r = run(x.data(), n, {}, 0, tb.data());
      EXPECT_TRUE(std::isnan(r.row)) << r.row;
      EXPECT_TRUE(std::isnan(r.col)) << r.col;
    }
  }
}

TEST(ContrastiveCe, NoRows) {
  std::vector<float> x(1);
  std::vector<int64_t> t(1);
  Result r = run(x.data(), 0, {}, 0, t.data());
  EXPECT_TRUE(std::isnan(r.row));
  EXPECT_TRUE(std::isnan(r.col));
}

// Strided views at nonzero offsets: inner stride 2 (the gather path), a
// transposed view (swapped into the dense path), a transposed view of a
// strided buffer (both strides > 1), and strided targets.
TEST(ContrastiveCe, StridedViews) {
  for (int64_t n : {5, 17, 70}) {
    SCOPED_TRACE("N " + std::to_string(n));
    const int64_t ld = 2 * n + 3, off = 5;
    std::vector<float> buf = randomLogits(off + n * ld, -6.0f, 6.0f, 43);
    std::vector<int64_t> t = permutation(n, 44);
    std::vector<int64_t> tbuf(2 * n + 1, -9);
    for (int64_t k = 0; k < n; ++k)
      tbuf[1 + 2 * k] = t[k];
    struct Layout {
      const char *name;
      int64_t rs, cs;
    };
    for (Layout l : {Layout{"inner stride 2", ld, 2}, Layout{"transposed", 1, ld},
                     Layout{"transposed, strided", 2, ld}, Layout{"padded rows", ld, 1}}) {
      SCOPED_TRACE(l.name);
      View v{buf.data() + off, n, l.rs, l.cs};
      Losses ref = reference(v, t);
      for (int32_t threads : {1, 2}) {
        ThreadCount tc(threads);
        Result r = run(buf.data(), n, {l.rs, l.cs}, off, tbuf.data(), 2, 1);
        expectClose(ref.row, r.row, "row loss");
        expectClose(ref.col, r.col, "col loss");
      }
    }
  }
}

// softmax over rows and over columns of v, less the one-hots, in double.
void gradReference(const View &v, const std::vector<int64_t> &t, std::vector<double> &rows,
                   std::vector<double> &cols) {
  const int64_t n = v.n;
  rows.assign(size_t(n * n), 0.0);
  cols.assign(size_t(n * n), 0.0);
  for (int64_t k = 0; k < n; ++k) {
    double rm = -kInf, cm = -kInf, rz = 0.0, cz = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      rm = std::max(rm, double(v.at(k, j)));
      cm = std::max(cm, double(v.at(j, k)));
    }
    for (int64_t j = 0; j < n; ++j) {
      rz += std::exp(v.at(k, j) - rm);
      cz += std::exp(v.at(j, k) - cm);
    }
    for (int64_t j = 0; j < n; ++j) {
      rows[k * n + j] = std::exp(v.at(k, j) - rm) / rz - (j == t[k] ? 1.0 : 0.0);
      cols[j * n + k] = std::exp(v.at(j, k) - cm) / cz - (j == t[k] ? 1.0 : 0.0);
    }
  }
}

struct GradResult {
  Result losses;
  std::vector<float> rows, cols;
};

GradResult runGrad(const std::vector<float> &x, int64_t n, const std::vector<int64_t> &t) {
  GradResult r{{}, std::vector<float>(size_t(n * n)), std::vector<float>(size_t(n * n))};
  Desc dx(const_cast<float *>(x.data()), {n, n}), dt(const_cast<int64_t *>(t.data()), {n});
  Desc dr(&r.losses.row, {}), dc(&r.losses.col, {});
  Desc drg(r.rows.data(), {n, n}), dcg(r.cols.data(), {n, n});
  kiln_rt_contrastive_ce_grad_f32(dx.rank(), dx.get(), dt.rank(), dt.get(), dr.rank(), dr.get(),
                                  dc.rank(), dc.get(), drg.rank(), drg.get(), dcg.rank(),
                                  dcg.get());
  return r;
}

TEST(ContrastiveCeGrad, LossesAndGradientsAcrossSizesAndThreads) {
  for (int64_t n : {1, 7, 16, 33, 100, 257}) {
    for (bool permuted : {false, true}) {
      SCOPED_TRACE(testing::Message() << "N " << n << (permuted ? ", permuted" : ", arange"));
      std::vector<float> x = randomLogits(n * n, -8.0f, 8.0f, uint32_t(n));
      std::vector<int64_t> t = permuted ? permutation(n, uint32_t(n)) : arange(n);
      std::vector<double> rows, cols;
      gradReference({x.data(), n, n, 1}, t, rows, cols);
      GradResult one, two;
      {
        ThreadCount tc(1);
        one = runGrad(x, n, t);
      }
      {
        ThreadCount tc(2);
        two = runGrad(x, n, t);
      }
      expectSame(one.losses, run(x.data(), n, {}, 0, t.data())); // the loss kernel's bits
      expectSame(one.losses, two.losses);
      EXPECT_EQ(one.rows, two.rows);
      EXPECT_EQ(one.cols, two.cols);
      for (int64_t k = 0; k < n * n; ++k) {
        ASSERT_NEAR(rows[k], one.rows[k], 2e-6) << "row gradient " << k;
        ASSERT_NEAR(cols[k], one.cols[k], 2e-6) << "column gradient " << k;
      }
    }
  }
}

TEST(ContrastiveCeGrad, OutOfRangeTargetIsNaNEverywhere) {
  const int64_t n = 5;
  std::vector<float> x = randomLogits(n * n, -1.0f, 1.0f, 3);
  std::vector<int64_t> t = {0, 1, 5, 3, 4};
  GradResult r = runGrad(x, n, t);
  EXPECT_TRUE(std::isnan(r.losses.row) && std::isnan(r.losses.col));
  for (int64_t k = 0; k < n * n; ++k)
    ASSERT_TRUE(std::isnan(r.rows[k]) && std::isnan(r.cols[k])) << k;
}

TEST(ContrastiveCeGrad, TheSumKernelIsTheScaledSum) {
  for (int64_t n : {7, 100}) {
    std::vector<float> x = randomLogits(n * n, -5.0f, 5.0f, uint32_t(n + 7));
    std::vector<int64_t> t = permutation(n, uint32_t(n));
    GradResult both = runGrad(x, n, t);
    float a = 0.25f, b = -1.5f;
    Result losses;
    std::vector<float> sum(size_t(n * n));
    Desc dx(x.data(), {n, n}), dt(t.data(), {n}), da(&a, {}), db(&b, {});
    Desc dr(&losses.row, {}), dc(&losses.col, {}), dg(sum.data(), {n, n});
    kiln_rt_contrastive_ce_grad_sum_f32(dx.rank(), dx.get(), dt.rank(), dt.get(), da.rank(),
                                        da.get(), db.rank(), db.get(), dr.rank(), dr.get(),
                                        dc.rank(), dc.get(), dg.rank(), dg.get());
    expectSame(losses, both.losses);
    for (int64_t k = 0; k < n * n; ++k)
      ASSERT_NEAR(sum[k], a * both.rows[k] + b * both.cols[k], 1e-6) << "N " << n << ", " << k;
  }
}

} // namespace
