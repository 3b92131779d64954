// Tests of the softmax + cross-entropy kernels (runtime/src/kernel_softmax_ce.c)
// against a double-precision reference: loss, lse and grad, for widths around
// the vector length, extreme values, out-of-range targets, strided views and
// one or two threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels.h"
#include "parallel.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

constexpr double kInf = std::numeric_limits<double>::infinity();

// logits [n, c] at x[i * rs + j * cs]; targets at t[i * ts].
struct View {
  const float *x;
  int64_t n, c, rs, cs;
  const int64_t *t;
  int64_t ts;
  float at(int64_t i, int64_t j) const { return x[i * rs + j * cs]; }
  int64_t target(int64_t i) const { return t[i * ts]; }
};

struct Reference {
  double loss;
  std::vector<double> lse;
  std::vector<double> grad; // [n, c] dense
};

Reference reference(const View &v) {
  Reference r{0.0, std::vector<double>(v.n), std::vector<double>(v.n * v.c)};
  for (int64_t i = 0; i < v.n; ++i) {
    double m = -kInf;
    for (int64_t j = 0; j < v.c; ++j)
      m = std::max(m, static_cast<double>(v.at(i, j)));
    double sum = 0.0;
    for (int64_t j = 0; j < v.c; ++j)
      sum += std::exp(v.at(i, j) - m);
    // x - m apart from log(sum): exact even where lse itself rounds (|x| ~ 1e38).
    double log_sum = std::log(sum);
    r.lse[i] = m + log_sum;
    int64_t t = v.target(i);
    for (int64_t j = 0; j < v.c; ++j)
      r.grad[i * v.c + j] = std::exp(v.at(i, j) - m - log_sum) - (j == t ? 1.0 : 0.0);
    r.loss += t >= 0 && t < v.c ? (m - v.at(i, t)) + log_sum : std::nan("");
  }
  r.loss /= static_cast<double>(v.n);
  return r;
}

void expectClose(double expected, double actual, const char *what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << " = " << actual << ", expected NaN";
    return;
  }
  EXPECT_NEAR(expected, actual, 1e-5 * std::max(1.0, std::fabs(expected))) << what;
}

// What the three entry points return for one problem.
struct Result {
  float loss = 0, loss_lse = 0, loss_grad = 0;
  std::vector<float> lse;
  std::vector<float> grad;
};

// Runs all three kernels on dense row-major logits and targets.
Result run(const std::vector<float> &logits, const std::vector<int64_t> &targets, int64_t n,
           int64_t c) {
  Result r;
  r.lse.assign(n, -1.0f);
  r.grad = logits; // _grad works in place
  Desc x(const_cast<float *>(logits.data()), {n, c});
  Desc t(const_cast<int64_t *>(targets.data()), {n});
  Desc loss(&r.loss, {}), loss_lse(&r.loss_lse, {}), loss_grad(&r.loss_grad, {});
  Desc lse(r.lse.data(), {n}), grad(r.grad.data(), {n, c});
  kiln_rt_softmax_ce_f32(x.rank(), x.get(), t.rank(), t.get(), loss.rank(), loss.get());
  kiln_rt_softmax_ce_lse_f32(x.rank(), x.get(), t.rank(), t.get(), loss_lse.rank(), loss_lse.get(),
                             lse.rank(), lse.get());
  kiln_rt_softmax_ce_grad_f32(t.rank(), t.get(), loss_grad.rank(), loss_grad.get(), grad.rank(),
                              grad.get());
  return r;
}

void expectMatches(const Reference &ref, const Result &r, int64_t n, int64_t c) {
  expectClose(ref.loss, r.loss, "loss");
  expectClose(ref.loss, r.loss_lse, "loss (_lse)");
  expectClose(ref.loss, r.loss_grad, "loss (_grad)");
  for (int64_t i = 0; i < n; ++i)
    expectClose(ref.lse[i], r.lse[i], ("lse[" + std::to_string(i) + "]").c_str());
  int failures = 0;
  for (int64_t k = 0; k < n * c && failures < 10; ++k) {
    bool ok = std::isnan(ref.grad[k]) ? std::isnan(r.grad[k])
                                      : std::fabs(ref.grad[k] - r.grad[k]) <= 1e-6;
    if (!ok) {
      ++failures;
      ADD_FAILURE() << "grad[" << k / c << ", " << k % c << "] = " << r.grad[k] << ", expected "
                    << ref.grad[k];
    }
  }
}

// Dense problem: runs the kernels and compares with the reference.
void check(const std::vector<float> &logits, const std::vector<int64_t> &targets, int64_t n,
           int64_t c) {
  Reference ref = reference({logits.data(), n, c, c, 1, targets.data(), 1});
  expectMatches(ref, run(logits, targets, n, c), n, c);
}

std::vector<float> randomLogits(int64_t count, float lo, float hi, uint32_t seed) {
  return kiln_test::uniformFloats(size_t(count), seed, lo, hi);
}

std::vector<int64_t> randomTargets(int64_t n, int64_t c, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(0, c - 1);
  std::vector<int64_t> t(n);
  for (int64_t &x : t)
    x = dist(gen);
  return t;
}

TEST(SoftmaxCe, MatchesReferenceAcrossWidths) {
  // Around the vector length (16) and the 4-vector step (64), and wider.
  for (int32_t threads : {1, 2}) {
    ThreadCount tc(threads);
    for (int64_t c : {1, 2, 15, 16, 17, 31, 48, 63, 64, 65, 127, 1000}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + ", C " + std::to_string(c));
      int64_t n = 7;
      check(randomLogits(n * c, -5.0f, 5.0f, static_cast<uint32_t>(c)), randomTargets(n, c, 3), n,
            c);
    }
  }
}

TEST(SoftmaxCe, VocabularyWidthRows) {
  for (int32_t threads : {1, 2}) {
    ThreadCount tc(threads);
    SCOPED_TRACE("threads " + std::to_string(threads));
    int64_t n = 3, c = 32000;
    check(randomLogits(n * c, -20.0f, 20.0f, 11), randomTargets(n, c, 12), n, c);
  }
}

TEST(SoftmaxCe, ManyNarrowRowsSplitAcrossThreads) {
  // 16384 / 16 = 1024 rows a range: only N > 1024 uses a second thread.
  int64_t n = 3001, c = 16;
  std::vector<float> x = randomLogits(n * c, -8.0f, 8.0f, 21);
  std::vector<int64_t> t = randomTargets(n, c, 22);
  Result one, two;
  {
    ThreadCount tc(1);
    one = run(x, t, n, c);
  }
  {
    ThreadCount tc(2);
    two = run(x, t, n, c);
  }
  Reference ref = reference({x.data(), n, c, c, 1, t.data(), 1});
  expectMatches(ref, two, n, c);
  // Row losses are summed in row order whatever the split.
  EXPECT_EQ(one.loss, two.loss);
  EXPECT_EQ(one.lse, two.lse);
  EXPECT_EQ(one.grad, two.grad);
}

TEST(SoftmaxCe, ExtremeValues) {
  const int64_t c = 100;
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> rows;
  std::vector<float> row(c);
  // Huge and tiny values side by side.
  for (int64_t j = 0; j < c; ++j)
    row[j] = j % 2 ? 80.0f : -80.0f;
  rows.push_back(row);
  // One large value among -1e30s, in the tail after the 4-vector steps.
  for (int64_t j = 0; j < c; ++j)
    row[j] = j == 97 ? 3.0f : -1e30f;
  rows.push_back(row);
  // All equal: uniform softmax.
  rows.push_back(std::vector<float>(c, 42.5f));
  // Ascending: the running max rises on every step.
  for (int64_t j = 0; j < c; ++j)
    row[j] = -50.0f + static_cast<float>(j);
  rows.push_back(row);
  // Descending from a large first element.
  for (int64_t j = 0; j < c; ++j)
    row[j] = 60.0f - 0.5f * static_cast<float>(j);
  rows.push_back(row);
  // -inf entries (masked logits) among finite ones.
  for (int64_t j = 0; j < c; ++j)
    row[j] = j % 3 ? ninf : static_cast<float>(j % 7) - 3.0f;
  rows.push_back(row);
  // Every element -FLT_MAX: a finite row at the running max's initial value.
  rows.push_back(std::vector<float>(c, -std::numeric_limits<float>::max()));
  // Large magnitudes where exp(x) itself would overflow.
  for (int64_t j = 0; j < c; ++j)
    row[j] = 1e4f + static_cast<float>(j % 5);
  rows.push_back(row);

  int64_t n = static_cast<int64_t>(rows.size());
  std::vector<float> x;
  for (const auto &r : rows)
    x.insert(x.end(), r.begin(), r.end());
  std::vector<int64_t> t = {0, 97, 5, 99, 0, 3, 7, 4};
  for (int32_t threads : {1, 2}) {
    ThreadCount tc(threads);
    SCOPED_TRACE("threads " + std::to_string(threads));
    check(x, t, n, c);
  }
}

TEST(SoftmaxCe, OutOfRangeTargetsGiveNaNLossAndPlainSoftmax) {
  int64_t n = 4, c = 37;
  std::vector<float> x = randomLogits(n * c, -3.0f, 3.0f, 31);
  std::vector<int64_t> t = {5, c, -1, 0};
  Result r = run(x, t, n, c);
  EXPECT_TRUE(std::isnan(r.loss));
  EXPECT_TRUE(std::isnan(r.loss_lse));
  EXPECT_TRUE(std::isnan(r.loss_grad));
  // The reference's grad for rows 1 and 2 is the softmax alone.
  check(x, t, n, c);
  double row_sum = 0;
  for (int64_t j = 0; j < c; ++j)
    row_sum += r.grad[1 * c + j];
  EXPECT_NEAR(1.0, row_sum, 1e-5);

  // Only target == C out of range, in the last row: its grad row has no -1
  // (and nothing past the end is written).
  t = {5, 0, 1, c};
  r = run(x, t, n, c);
  EXPECT_TRUE(std::isnan(r.loss));
  EXPECT_TRUE(std::isnan(r.loss_grad));
  check(x, t, n, c);

  // A target far outside [0, C) is not dereferenced.
  t = {0, INT64_MAX, INT64_MIN, 1};
  r = run(x, t, n, c);
  EXPECT_TRUE(std::isnan(r.loss));
}

TEST(SoftmaxCe, AllNegInfNaNAndInfRows) {
  int64_t n = 5, c = 70;
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = randomLogits(n * c, -2.0f, 2.0f, 41);
  for (int64_t j = 0; j < c; ++j)
    x[1 * c + j] = -inf;
  x[2 * c + 13] = std::nanf(""); // in the 4-vector steps
  x[3 * c + 68] = std::nanf(""); // in the tail
  x[4 * c + 40] = inf;
  std::vector<int64_t> t = {1, 2, 3, 4, 5};
  Result r = run(x, t, n, c);
  // Row 0 is ordinary; row 1's logsumexp is -inf; the others' NaN.
  Reference ref = reference({x.data(), 1, c, c, 1, t.data(), 1});
  expectClose(ref.lse[0], r.lse[0], "lse[0]");
  EXPECT_EQ(-inf, r.lse[1]);
  for (int64_t i = 2; i < n; ++i)
    EXPECT_TRUE(std::isnan(r.lse[i])) << "lse[" << i << "] = " << r.lse[i];
  EXPECT_TRUE(std::isnan(r.loss));
  for (int64_t j = 0; j < c; ++j) {
    EXPECT_NEAR(ref.grad[j], r.grad[j], 1e-6);
    for (int64_t i = 1; i < n; ++i)
      EXPECT_TRUE(std::isnan(r.grad[i * c + j])) << "grad[" << i << ", " << j << "]";
  }
}

TEST(SoftmaxCe, NoRows) {
  std::vector<float> x(1);
  std::vector<int64_t> t(1);
  float loss = 0;
  Desc dx(x.data(), {0, 5}), dt(t.data(), {0}), dl(&loss, {});
  kiln_rt_softmax_ce_f32(dx.rank(), dx.get(), dt.rank(), dt.get(), dl.rank(), dl.get());
  EXPECT_TRUE(std::isnan(loss));
}

// Strided views: logits with inner stride 2 (the scalar fallback), a grad with
// inner stride 2, and strided targets and lse, all at nonzero offsets.
TEST(SoftmaxCe, StridedViews) {
  const int64_t n = 5, c = 45, xrs = 2 * c + 7, xoff = 3;
  std::vector<float> xbuf = randomLogits(xoff + n * xrs, -6.0f, 6.0f, 51);
  const int64_t tbuf[] = {-7, 4, -7, 44, -7, 0, -7, 16, -7, 17};
  View v{xbuf.data() + xoff, n, c, xrs, 2, tbuf + 1, 2};
  Reference ref = reference(v);

  for (int32_t threads : {1, 2}) {
    ThreadCount tc(threads);
    SCOPED_TRACE("threads " + std::to_string(threads));
    for (bool dense_logits : {false, true}) {
      SCOPED_TRACE(dense_logits ? "dense logits, strided grad" : "strided logits");
      // The same logits either strided in xbuf or copied dense.
      std::vector<float> dense(n * c);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
          dense[i * c + j] = v.at(i, j);
      Desc dx =
          dense_logits ? Desc(dense.data(), {n, c}) : Desc(xbuf.data(), {n, c}, {xrs, 2}, xoff);
      Desc dt(const_cast<int64_t *>(tbuf), {n}, {2}, 1);
      const int64_t lse_stride = 3, lse_off = 2;
      std::vector<float> lse(lse_off + n * lse_stride, -1.0f);
      Desc dlse(lse.data(), {n}, {lse_stride}, lse_off);
      // grad dense when logits are strided, else inner stride 2.
      const int64_t gcs = dense_logits ? 2 : 1, grs = c * gcs + 1, goff = 1;
      // _grad works in place: the logits copied into grad's layout.
      std::vector<float> grad(goff + n * grs, -1.0f);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
          grad[goff + i * grs + j * gcs] = v.at(i, j);
      Desc dg(grad.data(), {n, c}, {grs, gcs}, goff);
      float loss_lse = 0, loss_grad = 0;
      Desc dl1(&loss_lse, {}), dl2(&loss_grad, {});
      kiln_rt_softmax_ce_lse_f32(dx.rank(), dx.get(), dt.rank(), dt.get(), dl1.rank(), dl1.get(),
                                 dlse.rank(), dlse.get());
      kiln_rt_softmax_ce_grad_f32(dt.rank(), dt.get(), dl2.rank(), dl2.get(), dg.rank(), dg.get());
      expectClose(ref.loss, loss_lse, "loss (_lse)");
      expectClose(ref.loss, loss_grad, "loss (_grad)");
      for (int64_t i = 0; i < n; ++i) {
        expectClose(ref.lse[i], lse[lse_off + i * lse_stride], "lse");
        for (int64_t j = 0; j < c; ++j)
          EXPECT_NEAR(ref.grad[i * c + j], grad[goff + i * grs + j * gcs], 1e-6)
              << "grad[" << i << ", " << j << "]";
      }
      // Elements between the strided ones are untouched.
      for (int64_t k = 0; k < static_cast<int64_t>(lse.size()); ++k)
        if (k < lse_off || (k - lse_off) % lse_stride)
          EXPECT_EQ(-1.0f, lse[k]) << "lse buffer[" << k << "]";
      for (int64_t k = 0; k < static_cast<int64_t>(grad.size()); ++k) {
        int64_t rel = k - goff;
        bool written = rel >= 0 && rel % grs < c * gcs && (rel % grs) % gcs == 0;
        if (!written)
          EXPECT_EQ(-1.0f, grad[k]) << "grad buffer[" << k << "]";
      }
    }
  }
}

} // namespace
