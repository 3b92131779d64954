// Tests of the distillation KL kernel (runtime/src/kernel_softmax_kl.c)
// against a double-precision reference of kl_div(log_softmax(s / T),
// softmax(t / T), batchmean): widths around the vector length, the
// distillation example's width and a vocabulary's, temperatures, extreme and
// non-finite values, identical inputs, strided views and one or two threads.
// Then kiln_rt_distillation_f32 (Distill*): its soft term the KL kernel's
// result bit for bit, its hard term against a double cross-entropy reference;
// and kiln_rt_softmax_kl_div_grad_f32 (SoftmaxKlGrad*): the same loss bit for
// bit, the gradient softmax(s / T) - softmax(t / T) against doubles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels.h"
#include "parallel.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

// The rows one after another, as one [N, C] matrix.
std::vector<float> concatRows(const std::vector<std::vector<float>> &rows) {
  std::vector<float> all;
  for (const std::vector<float> &row : rows)
    all.insert(all.end(), row.begin(), row.end());
  return all;
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kInfF = std::numeric_limits<float>::infinity();

// A [n, c] matrix at x[i * rs + j * cs].
struct View {
  const float *x;
  int64_t rs, cs;
  float at(int64_t i, int64_t j) const { return x[i * rs + j * cs]; }
};

// The row's logsumexp of v / T as max + log_sum, kept apart so that x - max
// is exact even where lse itself rounds (|x| ~ 1e38); max -inf for a row of
// all -inf.
struct Lse {
  double max, log_sum;
};

Lse lse(const View &v, int64_t i, int64_t c, double temp) {
  double m = -kInf;
  for (int64_t j = 0; j < c; ++j)
    m = std::max(m, v.at(i, j) / temp);
  if (m == -kInf)
    return {m, 0.0};
  double sum = 0.0;
  for (int64_t j = 0; j < c; ++j)
    sum += std::exp(v.at(i, j) / temp - m);
  return {m, std::log(sum)};
}

// sum_n sum_c p (log p - log q) / n, a term 0 where p == 0 (kiln.kl_div).
double reference(const View &s, const View &t, int64_t n, int64_t c, double temp) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    Lse ls = lse(s, i, c, temp), lt = lse(t, i, c, temp);
    for (int64_t j = 0; j < c; ++j) {
      double log_p = (t.at(i, j) / temp - lt.max) - lt.log_sum;
      double log_q = (s.at(i, j) / temp - ls.max) - ls.log_sum;
      double p = std::exp(log_p);
      total += p == 0.0 ? 0.0 : p * (log_p - log_q);
    }
  }
  return total / static_cast<double>(n);
}

float run(const float *s, std::vector<int64_t> s_strides, int64_t s_off, const float *t,
          std::vector<int64_t> t_strides, int64_t t_off, int64_t n, int64_t c, double temp) {
  float loss = -1.0f;
  Desc ds(const_cast<float *>(s), {n, c}, s_strides, s_off);
  Desc dt(const_cast<float *>(t), {n, c}, t_strides, t_off);
  Desc dl(&loss, {});
  kiln_rt_softmax_kl_div_f32(ds.rank(), ds.get(), dt.rank(), dt.get(), dl.rank(), dl.get(), temp);
  return loss;
}

float runDense(const std::vector<float> &s, const std::vector<float> &t, int64_t n, int64_t c,
               double temp) {
  return run(s.data(), {}, 0, t.data(), {}, 0, n, c, temp);
}

void expectClose(double expected, double actual, const std::string &what) {
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

// Dense problem at one and two threads: close to the reference, and the same
// bits at both thread counts.
void check(const std::vector<float> &s, const std::vector<float> &t, int64_t n, int64_t c,
           double temp) {
  double ref = reference({s.data(), c, 1}, {t.data(), c, 1}, n, c, temp);
  float one, two;
  {
    ThreadCount tc(1);
    one = runDense(s, t, n, c, temp);
  }
  {
    ThreadCount tc(2);
    two = runDense(s, t, n, c, temp);
  }
  expectClose(ref, one, "KL, 1 thread");
  if (std::isnan(one))
    EXPECT_TRUE(std::isnan(two));
  else
    EXPECT_EQ(one, two) << "1 and 2 threads differ";
}

std::vector<float> randomLogits(int64_t count, float lo, float hi, uint32_t seed) {
  return kiln_test::uniformFloats(size_t(count), seed, lo, hi);
}

std::string trace(int64_t n, int64_t c, double temp) {
  return "N " + std::to_string(n) + ", C " + std::to_string(c) + ", T " + std::to_string(temp);
}

TEST(SoftmaxKl, MatchesReferenceAcrossWidths) {
  // Around the vector length (16) and the 4-vector step (64); 10 is the
  // distillation example's class count.
  for (int64_t c : {1, 2, 10, 15, 16, 17, 31, 63, 64, 65, 100, 127, 1000}) {
    for (double temp : {1.0, 4.0, 0.5}) {
      int64_t n = 7;
      SCOPED_TRACE(trace(n, c, temp));
      uint32_t seed = static_cast<uint32_t>(c);
      check(randomLogits(n * c, -6.0f, 6.0f, seed), randomLogits(n * c, -6.0f, 6.0f, seed + 100), n,
            c, temp);
    }
  }
}

TEST(SoftmaxKl, VocabularyWidthRows) {
  int64_t n = 3, c = 32000;
  for (double temp : {1.0, 4.0, 0.5}) {
    SCOPED_TRACE(trace(n, c, temp));
    check(randomLogits(n * c, -15.0f, 15.0f, 11), randomLogits(n * c, -15.0f, 15.0f, 12), n, c,
          temp);
  }
  // A student close to the teacher: a small KL, which the sums' rounding
  // must not swamp.
  std::vector<float> t = randomLogits(n * c, -15.0f, 15.0f, 13);
  std::vector<float> s = randomLogits(n * c, -0.1f, 0.1f, 14);
  for (int64_t k = 0; k < n * c; ++k)
    s[k] += t[k];
  check(s, t, n, c, 2.0);
}

TEST(SoftmaxKl, ManyRowsSplitAcrossThreads) {
  // 16384 / 10 = 1638 rows a range: only N > 1638 uses a second thread. Row
  // KLs are summed in row order whatever the split.
  check(randomLogits(3001 * 10, -4.0f, 4.0f, 21), randomLogits(3001 * 10, -4.0f, 4.0f, 22), 3001,
        10, 4.0);
  check(randomLogits(50 * 1000, -4.0f, 4.0f, 23), randomLogits(50 * 1000, -4.0f, 4.0f, 24), 50,
        1000, 1.0);
}

TEST(SoftmaxKl, ExtremeValues) {
  const int64_t c = 100;
  std::vector<std::vector<float>> student, teacher;
  std::vector<float> s(c), t(c);
  // +-80 alternating, the student's opposite to the teacher's.
  for (int64_t j = 0; j < c; ++j) {
    t[j] = j % 2 ? 80.0f : -80.0f;
    s[j] = -t[j];
  }
  student.push_back(s), teacher.push_back(t);
  // A confident teacher (one class at 80, in the tail after the 4-vector
  // steps) against a uniform student.
  for (int64_t j = 0; j < c; ++j)
    t[j] = j == 97 ? 80.0f : -80.0f;
  student.push_back(std::vector<float>(c, 3.0f)), teacher.push_back(t);
  // The reverse: a uniform teacher, a confident student.
  student.push_back(t), teacher.push_back(std::vector<float>(c, -2.0f));
  // Ascending teacher, descending student: both maxima keep rising / stay.
  for (int64_t j = 0; j < c; ++j) {
    t[j] = -50.0f + static_cast<float>(j);
    s[j] = 60.0f - 0.5f * static_cast<float>(j);
  }
  student.push_back(s), teacher.push_back(t);
  // Large magnitudes, where exp(x) itself would overflow.
  for (int64_t j = 0; j < c; ++j) {
    t[j] = 1e4f + static_cast<float>(j % 5);
    s[j] = -1e4f + static_cast<float>(j % 7);
  }
  student.push_back(s), teacher.push_back(t);
  // A teacher far below its max in most classes, where the student is huge:
  // exp(b - mt) (b - a) must be ~0 there, not 2^-126 * 1e30.
  for (int64_t j = 0; j < c; ++j) {
    t[j] = j == 5 ? 1.0f : -1e30f;
    s[j] = j == 5 ? 0.0f : 1e30f;
  }
  student.push_back(s), teacher.push_back(t);

  int64_t n = static_cast<int64_t>(student.size());
  std::vector<float> sx = concatRows(student), tx = concatRows(teacher);
  for (double temp : {1.0, 4.0, 0.5}) {
    SCOPED_TRACE("T " + std::to_string(temp));
    // Row by row (the mean hides a single row's error), then all rows.
    for (int64_t i = 0; i < n; ++i) {
      SCOPED_TRACE("row " + std::to_string(i));
      if (i == n - 1) {
        // 1e30 / T against -1e30 / T: a term of p * 2e30 / T with p =
        // exp(-1e30): 0 in the reference; in float too.
        std::vector<float> s1(student[i]), t1(teacher[i]);
        float kl = runDense(s1, t1, 1, c, temp);
        EXPECT_TRUE(std::isfinite(kl)) << kl;
      }
      check(student[i], teacher[i], 1, c, temp);
    }
    check(sx, tx, n, c, temp);
  }
}

TEST(SoftmaxKl, IdenticalInputsGiveZero) {
  for (int64_t c : {1, 10, 17, 1000, 32000}) {
    for (double temp : {1.0, 4.0, 0.5}) {
      int64_t n = 3;
      SCOPED_TRACE(trace(n, c, temp));
      std::vector<float> x = randomLogits(n * c, -80.0f, 80.0f, static_cast<uint32_t>(c + 1));
      for (int32_t threads : {1, 2}) {
        ThreadCount tc(threads);
        float kl = runDense(x, x, n, c, temp);
        EXPECT_LT(std::fabs(kl), 1e-6f) << kl;
      }
    }
  }
  // A shift leaves the softmax as it was: KL ~ 0 although b - a = 5 / T.
  int64_t n = 4, c = 1000;
  std::vector<float> t = randomLogits(n * c, -8.0f, 8.0f, 5);
  std::vector<float> s(t);
  for (float &x : s)
    x += 5.0f;
  double ref = reference({s.data(), c, 1}, {t.data(), c, 1}, n, c, 2.0);
  EXPECT_LT(std::fabs(ref), 1e-6);
  EXPECT_NEAR(ref, runDense(s, t, n, c, 2.0), 1e-5);
}

TEST(SoftmaxKl, NonFiniteLogits) {
  const int64_t c = 37;
  std::vector<float> base_s = randomLogits(c, -3.0f, 3.0f, 31);
  std::vector<float> base_t = randomLogits(c, -3.0f, 3.0f, 32);
  auto kl = [&](std::vector<float> s, std::vector<float> t) { return runDense(s, t, 1, c, 2.0); };
  // Masked teacher classes (-inf, probability 0) contribute nothing, whatever
  // the student has there, -inf included.
  std::vector<float> s = base_s, t = base_t;
  for (int64_t j = 0; j < c; j += 3)
    t[j] = -kInfF;
  s[3] = -kInfF;
  expectClose(reference({s.data(), c, 1}, {t.data(), c, 1}, 1, c, 2.0), kl(s, t), "masked");
  EXPECT_TRUE(std::isfinite(kl(s, t)));
  // The same mask in both (a vocabulary mask): still finite.
  for (int64_t j = 0; j < c; j += 3)
    s[j] = -kInfF;
  expectClose(reference({s.data(), c, 1}, {t.data(), c, 1}, 1, c, 2.0), kl(s, t), "same mask");
  // A student -inf where the teacher has probability: +inf.
  s = base_s, t = base_t;
  s[20] = -kInfF;
  EXPECT_EQ(kInfF, kl(s, t));
  // NaN or +inf anywhere: NaN.
  for (bool in_student : {false, true}) {
    for (float bad : {std::nanf(""), kInfF}) {
      for (int64_t at : {int64_t{0}, int64_t{36}}) {
        s = base_s, t = base_t;
        (in_student ? s : t)[at] = bad;
        float r = kl(s, t);
        EXPECT_TRUE(std::isnan(r))
            << (in_student ? "student" : "teacher") << "[" << at << "] = " << bad << ": " << r;
      }
    }
  }
  // A teacher or a student of all -inf: its softmax is undefined.
  s = base_s, t = std::vector<float>(c, -kInfF);
  EXPECT_TRUE(std::isnan(kl(s, t)));
  s = std::vector<float>(c, -kInfF), t = base_t;
  EXPECT_TRUE(std::isnan(kl(s, t)));
  // Every element -FLT_MAX: finite, the running max's initial value (T = 1
  // keeps it finite).
  s = std::vector<float>(c, -std::numeric_limits<float>::max());
  t = base_t;
  float r = runDense(s, t, 1, c, 1.0);
  expectClose(reference({s.data(), c, 1}, {t.data(), c, 1}, 1, c, 1.0), r, "-FLT_MAX student");
}

TEST(SoftmaxKl, NoRowsOrNoColumns) {
  std::vector<float> x(1);
  EXPECT_TRUE(std::isnan(runDense(x, x, 0, 5, 1.0)));
  // Rows of no classes: sums of no terms, 0.
  EXPECT_EQ(0.0f, runDense(x, x, 3, 0, 1.0));
}

// Strided views: a student with inner stride 2 at an offset, a teacher read
// through a transposed ([C, N] stored) view; then the reverse layout.
TEST(SoftmaxKl, StridedViews) {
  for (int64_t c : {10, 17, 100}) {
    const int64_t n = 5, srs = 2 * c + 3, soff = 2;
    std::vector<float> sbuf = randomLogits(soff + n * srs, -5.0f, 5.0f, 41);
    std::vector<float> tbuf = randomLogits(c * n + 1, -5.0f, 5.0f, 42);
    View sv{sbuf.data() + soff, srs, 2}, tv{tbuf.data() + 1, 1, n};
    std::vector<float> s(n * c), t(n * c);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < c; ++j) {
        s[i * c + j] = sv.at(i, j);
        t[i * c + j] = tv.at(i, j);
      }
    for (double temp : {1.0, 3.0}) {
      SCOPED_TRACE(trace(n, c, temp));
      double ref = reference(sv, tv, n, c, temp);
      float dense = runDense(s, t, n, c, temp);
      expectClose(ref, dense, "dense");
      for (int32_t threads : {1, 2}) {
        ThreadCount tc(threads);
        expectClose(ref, run(sbuf.data(), {srs, 2}, soff, tbuf.data(), {1, n}, 1, n, c, temp),
                    "strided student, transposed teacher");
        // Dense rows at a row stride other than C.
        std::vector<float> spad(n * (c + 5)), tpad(n * (c + 5));
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < c; ++j) {
            spad[i * (c + 5) + j] = s[i * c + j];
            tpad[i * (c + 5) + j] = t[i * c + j];
          }
        expectClose(ref, run(spad.data(), {c + 5, 1}, 0, tpad.data(), {c + 5, 1}, 0, n, c, temp),
                    "padded rows");
        // Dense student, strided teacher: one strided operand takes the slow
        // path.
        double ref2 = reference({s.data(), c, 1}, sv, n, c, temp);
        expectClose(ref2, run(s.data(), {}, 0, sbuf.data(), {srs, 2}, soff, n, c, temp),
                    "dense student, strided teacher");
      }
    }
  }
}

// ---- kiln_rt_distillation_f32 ----

struct Distill {
  float soft, hard;
};

Distill runDistill(const float *s, std::vector<int64_t> s_strides, int64_t s_off, const float *t,
                   std::vector<int64_t> t_strides, int64_t t_off, const int64_t *y,
                   std::vector<int64_t> y_strides, int64_t n, int64_t c, double temp) {
  Distill r{-1.0f, -1.0f};
  Desc ds(const_cast<float *>(s), {n, c}, s_strides, s_off);
  Desc dt(const_cast<float *>(t), {n, c}, t_strides, t_off);
  Desc dy(const_cast<int64_t *>(y), {n}, y_strides);
  Desc dsoft(&r.soft, {}), dhard(&r.hard, {});
  kiln_rt_distillation_f32(ds.rank(), ds.get(), dt.rank(), dt.get(), dy.rank(), dy.get(),
                           dsoft.rank(), dsoft.get(), dhard.rank(), dhard.get(), temp);
  return r;
}

Distill runDistillDense(const std::vector<float> &s, const std::vector<float> &t,
                        const std::vector<int64_t> &y, int64_t n, int64_t c, double temp) {
  return runDistill(s.data(), {}, 0, t.data(), {}, 0, y.data(), {}, n, c, temp);
}

// mean_n cross_entropy(s[n, :], y[n]) at temperature 1, as PyTorch's
// log_softmax gives it: NaN for a target outside [0, c), a row holding NaN or
// +inf or of all -inf; +inf for a -inf at the target; a -inf elsewhere
// contributes nothing.
double ceReference(const View &s, const int64_t *y, int64_t ys, int64_t n, int64_t c) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t target = y[i * ys];
    if (target < 0 || target >= c)
      return std::nan("");
    double m = -kInf;
    for (int64_t j = 0; j < c; ++j) {
      double x = s.at(i, j);
      if (std::isnan(x) || x == kInf)
        return std::nan("");
      m = std::max(m, x);
    }
    if (m == -kInf)
      return std::nan("");
    double sum = 0.0;
    for (int64_t j = 0; j < c; ++j)
      sum += std::exp(s.at(i, j) - m);
    total += (m - s.at(i, target)) + std::log(sum);
  }
  return total / static_cast<double>(n);
}

bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<int64_t> randomTargets(int64_t n, int64_t c, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int64_t> dist(0, c - 1);
  std::vector<int64_t> y(n);
  for (int64_t &v : y)
    v = dist(gen);
  return y;
}

// Dense problem at one and two threads: soft the KL kernel's bits, hard close
// to the reference, both the same bits at both thread counts.
void checkDistill(const std::vector<float> &s, const std::vector<float> &t,
                  const std::vector<int64_t> &y, int64_t n, int64_t c, double temp) {
  double ref = ceReference({s.data(), c, 1}, y.data(), 1, n, c);
  Distill one, two;
  float kl;
  {
    ThreadCount tc(1);
    one = runDistillDense(s, t, y, n, c, temp);
    kl = runDense(s, t, n, c, temp);
  }
  {
    ThreadCount tc(2);
    two = runDistillDense(s, t, y, n, c, temp);
  }
  EXPECT_TRUE(sameBits(kl, one.soft)) << "soft " << one.soft << ", KL kernel " << kl;
  expectClose(ref, one.hard, "hard, 1 thread");
  EXPECT_TRUE(sameBits(one.soft, two.soft)) << one.soft << " vs " << two.soft;
  EXPECT_TRUE(sameBits(one.hard, two.hard)) << one.hard << " vs " << two.hard;
}

TEST(Distill, MatchesReferenceAcrossWidths) {
  for (int64_t c : {1, 10, 16, 17, 63, 64, 65, 1000, 32000}) {
    for (double temp : {1.0, 4.0, 0.5}) {
      int64_t n = c >= 32000 ? 3 : 7;
      SCOPED_TRACE(trace(n, c, temp));
      uint32_t seed = static_cast<uint32_t>(c) + 500;
      checkDistill(randomLogits(n * c, -15.0f, 15.0f, seed),
                   randomLogits(n * c, -15.0f, 15.0f, seed + 1), randomTargets(n, c, seed + 2), n,
                   c, temp);
    }
  }
}

// The student's maximum rising through a row (ascending logits), late
// (at the last element, in the tail) and falling (descending): the per-lane
// running maxima and their rescaling.
TEST(Distill, RisingAndLateMaxima) {
  for (int64_t c : {17, 100, 1000}) {
    std::vector<float> s(3 * c), t = randomLogits(3 * c, -3.0f, 3.0f, 61);
    for (int64_t j = 0; j < c; ++j) {
      s[j] = -40.0f + 0.25f * static_cast<float>(j);
      s[c + j] = j == c - 1 ? 30.0f : -static_cast<float>(j % 13);
      s[2 * c + j] = 50.0f - 0.5f * static_cast<float>(j);
    }
    std::vector<int64_t> y = {c / 2, c - 1, 0};
    for (double temp : {1.0, 4.0, 0.5}) {
      SCOPED_TRACE(trace(3, c, temp));
      for (int64_t i = 0; i < 3; ++i) {
        SCOPED_TRACE("row " + std::to_string(i));
        std::vector<float> s1(s.begin() + i * c, s.begin() + (i + 1) * c);
        std::vector<float> t1(t.begin() + i * c, t.begin() + (i + 1) * c);
        checkDistill(s1, t1, {y[i]}, 1, c, temp);
      }
      checkDistill(s, t, y, 3, c, temp);
    }
  }
}

TEST(Distill, ExtremeRows) {
  const int64_t c = 100;
  std::vector<std::vector<float>> student, teacher;
  std::vector<int64_t> target;
  std::vector<float> s(c), t(c);
  // +-80 alternating, the target at -80 and at +80.
  for (int64_t j = 0; j < c; ++j) {
    s[j] = j % 2 ? 80.0f : -80.0f;
    t[j] = -s[j];
  }
  student.push_back(s), teacher.push_back(t), target.push_back(4);
  student.push_back(s), teacher.push_back(t), target.push_back(7);
  // Logits of 1e4 (exp would overflow; 1e4 / T rounds in float): the loss
  // must keep its digits, at the max and below it.
  for (int64_t j = 0; j < c; ++j) {
    s[j] = 1e4f + static_cast<float>(j % 5);
    t[j] = -1e4f + static_cast<float>(j % 7);
  }
  student.push_back(s), teacher.push_back(t), target.push_back(4);
  student.push_back(s), teacher.push_back(t), target.push_back(50);
  for (int64_t j = 0; j < c; ++j)
    s[j] = -1e4f - 0.125f * static_cast<float>(j);
  student.push_back(s), teacher.push_back(t), target.push_back(0);
  // A confident student: one class at 80 in the tail after the 4-vector
  // steps; the target there (loss ~0) and elsewhere (loss ~160).
  for (int64_t j = 0; j < c; ++j)
    s[j] = j == 97 ? 80.0f : -80.0f;
  student.push_back(s), teacher.push_back(std::vector<float>(c, 1.0f)), target.push_back(97);
  student.push_back(s), teacher.push_back(std::vector<float>(c, 1.0f)), target.push_back(3);
  // -inf off the target: contributes nothing (and makes the KL +inf, which
  // must leave the hard term alone).
  std::vector<float> base = randomLogits(c, -5.0f, 5.0f, 71);
  s = base;
  for (int64_t j = 1; j < c; j += 3)
    s[j] = -kInfF;
  student.push_back(s), teacher.push_back(base), target.push_back(0);

  int64_t n = static_cast<int64_t>(student.size());
  std::vector<float> sx = concatRows(student), tx = concatRows(teacher);
  for (double temp : {1.0, 4.0, 0.5}) {
    SCOPED_TRACE("T " + std::to_string(temp));
    for (int64_t i = 0; i < n; ++i) {
      SCOPED_TRACE("row " + std::to_string(i));
      checkDistill(student[i], teacher[i], {target[i]}, 1, c, temp);
    }
    checkDistill(sx, tx, target, n, c, temp);
  }
  // The -inf row's hard term is finite, its KL +inf.
  Distill r = runDistillDense(student.back(), teacher.back(), {0}, 1, c, 2.0);
  EXPECT_EQ(kInfF, r.soft);
  EXPECT_TRUE(std::isfinite(r.hard)) << r.hard;
}

TEST(Distill, NonFiniteLogits) {
  const int64_t c = 37;
  std::vector<float> base_s = randomLogits(c, -3.0f, 3.0f, 81);
  std::vector<float> base_t = randomLogits(c, -3.0f, 3.0f, 82);
  auto run1 = [&](const std::vector<float> &s, const std::vector<float> &t, int64_t y) {
    return runDistillDense(s, t, {y}, 1, c, 2.0);
  };
  // -inf at the target: +inf (whatever else is -inf).
  std::vector<float> s = base_s;
  s[20] = -kInfF;
  EXPECT_EQ(kInfF, run1(s, base_t, 20).hard);
  s[3] = -kInfF;
  EXPECT_EQ(kInfF, run1(s, base_t, 20).hard);
  // ... elsewhere: the reference's finite loss.
  expectClose(ceReference({s.data(), c, 1}, std::vector<int64_t>{5}.data(), 1, 1, c),
              run1(s, base_t, 5).hard, "-inf off the target");
  EXPECT_TRUE(std::isfinite(run1(s, base_t, 5).hard));
  // NaN or +inf in the student, at or off the target: NaN.
  for (float bad : {std::nanf(""), kInfF}) {
    for (int64_t at : {int64_t{0}, int64_t{36}}) {
      s = base_s;
      s[at] = bad;
      for (int64_t y : {int64_t{0}, int64_t{36}, int64_t{10}}) {
        float h = run1(s, base_t, y).hard;
        EXPECT_TRUE(std::isnan(h)) << "s[" << at << "] = " << bad << ", y " << y << ": " << h;
      }
    }
  }
  // An all -inf student row: NaN.
  EXPECT_TRUE(std::isnan(run1(std::vector<float>(c, -kInfF), base_t, 2).hard));
  // A NaN teacher makes soft NaN and leaves hard alone.
  std::vector<float> t = base_t;
  t[9] = std::nanf("");
  Distill r = run1(base_s, t, 9);
  EXPECT_TRUE(std::isnan(r.soft));
  expectClose(ceReference({base_s.data(), c, 1}, std::vector<int64_t>{9}.data(), 1, 1, c), r.hard,
              "NaN teacher");
  // Every student element -FLT_MAX: the running max's initial value, finite.
  s = std::vector<float>(c, -std::numeric_limits<float>::max());
  r = runDistillDense(s, base_t, {3}, 1, c, 1.0);
  EXPECT_NEAR(std::log(static_cast<double>(c)), r.hard, 1e-5);
}

TEST(Distill, OutOfRangeTargetsMakeHardNaN) {
  for (int64_t c : {1, 10, 100}) {
    int64_t n = 4;
    std::vector<float> s = randomLogits(n * c, -4.0f, 4.0f, 91);
    std::vector<float> t = randomLogits(n * c, -4.0f, 4.0f, 92);
    float kl = runDense(s, t, n, c, 2.0);
    for (int64_t bad : {int64_t{-1}, c, int64_t{1} << 40}) {
      SCOPED_TRACE("C " + std::to_string(c) + ", target " + std::to_string(bad));
      std::vector<int64_t> y(n, 0);
      y[2] = bad;
      for (int32_t threads : {1, 2}) {
        ThreadCount tc(threads);
        Distill r = runDistillDense(s, t, y, n, c, 2.0);
        EXPECT_TRUE(std::isnan(r.hard)) << r.hard;
        EXPECT_TRUE(std::isfinite(r.soft));
        EXPECT_TRUE(sameBits(kl, r.soft)) << r.soft << " vs " << kl;
      }
    }
    // In range at both ends: finite.
    std::vector<int64_t> y(n, 0);
    y[1] = c - 1;
    checkDistill(s, t, y, n, c, 2.0);
  }
  // No columns: no target is in range.
  std::vector<float> x(1);
  Distill r = runDistillDense(x, x, {0, 0}, 2, 0, 1.0);
  EXPECT_TRUE(std::isnan(r.hard));
  EXPECT_EQ(0.0f, r.soft);
}

TEST(Distill, ManyRowsSplitAcrossThreads) {
  // 16384 / 10 = 1638 rows a range: a second thread takes part.
  int64_t n = 3001, c = 10;
  checkDistill(randomLogits(n * c, -6.0f, 6.0f, 101), randomLogits(n * c, -6.0f, 6.0f, 102),
               randomTargets(n, c, 103), n, c, 3.0);
  n = 40, c = 1000;
  checkDistill(randomLogits(n * c, -6.0f, 6.0f, 104), randomLogits(n * c, -6.0f, 6.0f, 105),
               randomTargets(n, c, 106), n, c, 1.0);
}

TEST(Distill, NoRows) {
  std::vector<float> x(1);
  std::vector<int64_t> y(1);
  Distill r = runDistillDense(x, x, y, 0, 5, 1.0);
  EXPECT_TRUE(std::isnan(r.soft));
  EXPECT_TRUE(std::isnan(r.hard));
}

// A student with inner stride 2 at an offset, a teacher through a transposed
// view, targets at stride 3; then dense students with a strided teacher.
TEST(Distill, StridedViews) {
  for (int64_t c : {10, 17, 100}) {
    const int64_t n = 5, srs = 2 * c + 3, soff = 2;
    std::vector<float> sbuf = randomLogits(soff + n * srs, -5.0f, 5.0f, 111);
    std::vector<float> tbuf = randomLogits(c * n + 1, -5.0f, 5.0f, 112);
    std::vector<int64_t> ybuf = randomTargets(3 * n, c, 113);
    View sv{sbuf.data() + soff, srs, 2}, tv{tbuf.data() + 1, 1, n};
    std::vector<float> s(n * c), t(n * c);
    std::vector<int64_t> y(n);
    for (int64_t i = 0; i < n; ++i) {
      y[i] = ybuf[3 * i];
      for (int64_t j = 0; j < c; ++j) {
        s[i * c + j] = sv.at(i, j);
        t[i * c + j] = tv.at(i, j);
      }
    }
    for (double temp : {1.0, 3.0}) {
      SCOPED_TRACE(trace(n, c, temp));
      double ref = ceReference(sv, ybuf.data(), 3, n, c);
      float kl = run(sbuf.data(), {srs, 2}, soff, tbuf.data(), {1, n}, 1, n, c, temp);
      Distill dense = runDistillDense(s, t, y, n, c, temp);
      expectClose(ref, dense.hard, "dense");
      for (int32_t threads : {1, 2}) {
        ThreadCount tc(threads);
        Distill r = runDistill(sbuf.data(), {srs, 2}, soff, tbuf.data(), {1, n}, 1, ybuf.data(),
                               {3}, n, c, temp);
        expectClose(ref, r.hard, "strided student, transposed teacher");
        EXPECT_TRUE(sameBits(kl, r.soft)) << r.soft << " vs " << kl;
        // Dense student, strided teacher.
        r = runDistill(s.data(), {}, 0, sbuf.data(), {srs, 2}, soff, y.data(), {}, n, c, temp);
        expectClose(ref, r.hard, "dense student, strided teacher");
        EXPECT_TRUE(sameBits(run(s.data(), {}, 0, sbuf.data(), {srs, 2}, soff, n, c, temp), r.soft));
      }
    }
  }
}

// softmax(s / T) - softmax(t / T) of every row, in double.
std::vector<double> gradReference(const View &s, const View &t, int64_t n, int64_t c,
                                  double temp) {
  std::vector<double> grad(size_t(n * c));
  for (int64_t i = 0; i < n; ++i) {
    Lse ls = lse(s, i, c, temp), lt = lse(t, i, c, temp);
    for (int64_t j = 0; j < c; ++j)
      grad[i * c + j] = std::exp(s.at(i, j) / temp - ls.max - ls.log_sum) -
                        std::exp(t.at(i, j) / temp - lt.max - lt.log_sum);
  }
  return grad;
}

// The grad kernel on dense inputs, writing a gradient with row stride
// `grad_stride` (>= c) and returning the loss.
float runGrad(const std::vector<float> &s, const std::vector<float> &t, int64_t n, int64_t c,
              double temp, std::vector<float> &grad, int64_t grad_stride) {
  float loss = -1.0f;
  grad.assign(size_t(n * grad_stride), -7.0f);
  Desc ds(const_cast<float *>(s.data()), {n, c}), dt(const_cast<float *>(t.data()), {n, c});
  Desc dl(&loss, {}), dg(grad.data(), {n, c}, {grad_stride, 1});
  kiln_rt_softmax_kl_div_grad_f32(ds.rank(), ds.get(), dt.rank(), dt.get(), dl.rank(), dl.get(),
                                  dg.rank(), dg.get(), temp);
  return loss;
}

TEST(SoftmaxKlGrad, LossAndGradientAcrossWidthsAndThreads) {
  for (int64_t c : {1, 10, 16, 33, 100, 1000}) {
    for (double temp : {1.0, 4.0}) {
      SCOPED_TRACE(trace(37, c, temp));
      const int64_t n = 37;
      std::vector<float> s = randomLogits(n * c, -6.0f, 6.0f, uint32_t(c)),
                         t = randomLogits(n * c, -6.0f, 6.0f, uint32_t(c + 1000));
      std::vector<double> want = gradReference({s.data(), c, 1}, {t.data(), c, 1}, n, c, temp);
      // A gradient with padded rows: the padding stays as it was.
      std::vector<float> one, two;
      float loss_one, loss_two;
      {
        ThreadCount tc(1);
        loss_one = runGrad(s, t, n, c, temp, one, c + 3);
      }
      {
        ThreadCount tc(2);
        loss_two = runGrad(s, t, n, c, temp, two, c + 3);
      }
      EXPECT_TRUE(sameBits(loss_one, runDense(s, t, n, c, temp))) << "loss differs from the KL's";
      EXPECT_TRUE(sameBits(loss_one, loss_two));
      EXPECT_EQ(one, two) << "1 and 2 threads differ";
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < c; ++j)
          ASSERT_NEAR(want[i * c + j], one[i * (c + 3) + j], 2e-6) << "row " << i << ", col " << j;
        for (int64_t j = c; j < c + 3; ++j)
          ASSERT_EQ(one[i * (c + 3) + j], -7.0f) << "padding written, row " << i;
      }
    }
  }
}

TEST(SoftmaxKlGrad, MinusInfTeacherLogitsHaveNoProbability) {
  // A teacher that rules classes out: their gradient is the student's
  // probability alone, and the rows stay finite.
  const int64_t n = 2, c = 20;
  std::vector<float> s = randomLogits(n * c, -3.0f, 3.0f, 5), t = randomLogits(n * c, -3.0f, 3.0f, 6);
  for (int64_t j = 0; j < c; j += 3)
    t[j] = -kInfF;
  std::vector<double> want = gradReference({s.data(), c, 1}, {t.data(), c, 1}, n, c, 2.0);
  std::vector<float> grad;
  runGrad(s, t, n, c, 2.0, grad, c);
  for (int64_t k = 0; k < n * c; ++k) {
    ASSERT_TRUE(std::isfinite(grad[k])) << k;
    ASSERT_NEAR(want[k], grad[k], 2e-6) << k;
  }
}

} // namespace
