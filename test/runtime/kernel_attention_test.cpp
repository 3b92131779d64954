// kiln_rt_attention_f32 / _masked_f32 / _bias_f32 against a plain
// double-precision softmax(scale q k^T + bias + masks) v: odd sizes that cross
// and split the kernel's blocks, causal with S == T and S != T, key-padding
// masks (with fully hidden rows, which must be NaN), additive biases of every
// broadcast shape (-inf entries hide keys), non-dense strides, and 1 or 2
// threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

struct Shape {
  int64_t B, H, S, T, D, E;
};

// Logical element [b][h][i][j] of a rank-4 tensor through element strides.
struct View {
  const float *data;
  int64_t s[4];
  float at(int64_t b, int64_t h, int64_t i, int64_t j) const {
    return data[b * s[0] + h * s[1] + i * s[2] + j * s[3]];
  }
};

// [B][H][S][E] in double; rows with every key hidden are NaN. bias: a view of
// [B, H, S, T] (stride 0 along broadcast dims), added to the scaled scores.
std::vector<double> reference(const Shape &sh, View q, View k, View v, const uint8_t *mask,
                              double scale, bool causal, const View *bias = nullptr) {
  std::vector<double> out(sh.B * sh.H * sh.S * sh.E);
  std::vector<double> p(sh.T);
  for (int64_t b = 0; b < sh.B; ++b)
    for (int64_t h = 0; h < sh.H; ++h)
      for (int64_t s = 0; s < sh.S; ++s) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t t = 0; t < sh.T; ++t) {
          bool hidden = (causal && t > s) || (mask && !mask[b * sh.T + t]);
          double dot = 0;
          for (int64_t d = 0; d < sh.D; ++d)
            dot += double(q.at(b, h, s, d)) * double(k.at(b, h, t, d));
          double bv = bias ? double(bias->at(b, h, s, t)) : 0.0;
          p[t] = hidden ? -std::numeric_limits<double>::infinity() : dot * scale + bv;
          mx = std::max(mx, p[t]);
        }
        double *o = &out[((b * sh.H + h) * sh.S + s) * sh.E];
        if (mx == -std::numeric_limits<double>::infinity()) {
          for (int64_t e = 0; e < sh.E; ++e)
            o[e] = std::nan("");
          continue;
        }
        double sum = 0;
        for (int64_t t = 0; t < sh.T; ++t)
          sum += p[t] = std::exp(p[t] - mx);
        for (int64_t e = 0; e < sh.E; ++e) {
          double acc = 0;
          for (int64_t t = 0; t < sh.T; ++t)
            acc += p[t] * double(v.at(b, h, t, e));
          o[e] = acc / sum;
        }
      }
  return out;
}

std::vector<float> randoms(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return kiln_test::uniformFloats(size_t(n), seed, lo, hi);
}

// Checks out (through its view) against ref: NaN exactly where ref is NaN,
// elsewhere max |err| <= 2e-5 max |ref| (plus a tiny absolute floor).
void expect_close(const Shape &sh, View out, const std::vector<double> &ref) {
  double max_ref = 0, max_err = 0;
  int64_t nan_mismatch = 0;
  for (int64_t b = 0; b < sh.B; ++b)
    for (int64_t h = 0; h < sh.H; ++h)
      for (int64_t s = 0; s < sh.S; ++s)
        for (int64_t e = 0; e < sh.E; ++e) {
          double r = ref[((b * sh.H + h) * sh.S + s) * sh.E + e];
          double got = out.at(b, h, s, e);
          if (std::isnan(r) || std::isnan(got)) {
            nan_mismatch += std::isnan(r) != std::isnan(got);
            continue;
          }
          max_ref = std::max(max_ref, std::fabs(r));
          max_err = std::max(max_err, std::fabs(got - r));
        }
  EXPECT_EQ(nan_mismatch, 0);
  EXPECT_LE(max_err, 2e-5 * max_ref + 1e-7) << "max |ref| " << max_ref;
}

// The dense kernels' output on random q/k/v (q and k in [-range, range]),
// with an optional mask; run_bias uses the same q/k/v.
std::vector<float> run_plain(const Shape &sh, bool causal, const std::vector<uint8_t> *mask,
                             double scale = -1, float range = 1.0f) {
  if (scale < 0)
    scale = 1.0 / std::sqrt(double(sh.D));
  auto q = randoms(sh.B * sh.H * sh.S * sh.D, 1, -range, range);
  auto k = randoms(sh.B * sh.H * sh.T * sh.D, 2, -range, range);
  auto v = randoms(sh.B * sh.H * sh.T * sh.E, 3);
  std::vector<float> out(sh.B * sh.H * sh.S * sh.E, 12345.0f);
  Desc dq(q.data(), {sh.B, sh.H, sh.S, sh.D}), dk(k.data(), {sh.B, sh.H, sh.T, sh.D});
  Desc dv(v.data(), {sh.B, sh.H, sh.T, sh.E}), dout(out.data(), {sh.B, sh.H, sh.S, sh.E});
  if (mask) {
    Desc dm(const_cast<uint8_t *>(mask->data()), {sh.B, sh.T});
    kiln_rt_attention_masked_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 2, dm.get(), 4, dout.get(),
                                 scale, causal, 0);
  } else {
    kiln_rt_attention_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 4, dout.get(), scale, causal, 0);
  }
  return out;
}

// Dense q/k/v/out, optional mask; runs the kernel and compares with the
// reference.
void check_dense(const Shape &sh, bool causal, const std::vector<uint8_t> *mask = nullptr,
                 int32_t threads = 1, double scale = -1, float range = 1.0f) {
  ThreadCount tc(threads);
  if (scale < 0)
    scale = 1.0 / std::sqrt(double(sh.D));
  std::vector<float> out = run_plain(sh, causal, mask, scale, range);
  // The same inputs as run_plain's, for the reference.
  auto q = randoms(sh.B * sh.H * sh.S * sh.D, 1, -range, range);
  auto k = randoms(sh.B * sh.H * sh.T * sh.D, 2, -range, range);
  auto v = randoms(sh.B * sh.H * sh.T * sh.E, 3);
  View vq{q.data(), {sh.H * sh.S * sh.D, sh.S * sh.D, sh.D, 1}};
  View vk{k.data(), {sh.H * sh.T * sh.D, sh.T * sh.D, sh.D, 1}};
  View vv{v.data(), {sh.H * sh.T * sh.E, sh.T * sh.E, sh.E, 1}};
  View vo{out.data(), {sh.H * sh.S * sh.E, sh.S * sh.E, sh.E, 1}};
  auto ref = reference(sh, vq, vk, vv, mask ? mask->data() : nullptr, scale, causal);
  expect_close(sh, vo, ref);
}

TEST(Attention, SmallOddSizes) {
  check_dense({2, 3, 5, 7, 8, 20}, false);
  check_dense({1, 2, 17, 3, 1, 1}, false);
  check_dense({1, 1, 1, 1, 5, 3}, false);
}

TEST(Attention, SmallOddSizesTwoThreads) { check_dense({2, 3, 5, 7, 8, 20}, false, nullptr, 2); }

TEST(Attention, CausalCrossesBlocks) {
  check_dense({1, 2, 130, 130, 20, 80}, true);
  check_dense({2, 1, 130, 130, 64, 64}, true, nullptr, 2);
}

TEST(Attention, CausalSGreaterOrLessThanT) {
  check_dense({1, 2, 70, 130, 16, 24}, true); // S < T: later keys never seen
  check_dense({1, 2, 130, 70, 80, 24}, true); // S > T: late rows see every key
  check_dense({2, 2, 70, 130, 16, 24}, true, nullptr, 2);
}

TEST(Attention, LongSequence) {
  check_dense({1, 2, 257, 257, 64, 64}, false);
  check_dense({1, 2, 257, 257, 64, 64}, true, nullptr, 2);
}

TEST(Attention, QFormerCrossAttention) { check_dense({4, 3, 32, 257, 64, 64}, false, nullptr, 2); }

TEST(Attention, LargeScoresStayFinite) {
  // Scores up to ~600: exp only ever sees s - max <= 0.
  check_dense({1, 2, 40, 150, 64, 16}, false, nullptr, 1, 1.0, 3.0f);
  check_dense({1, 2, 40, 150, 64, 16}, true, nullptr, 1, 1.0, 3.0f);
}

std::vector<uint8_t> key_padding(int64_t B, int64_t T, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> mask(B * T);
  for (auto &m : mask)
    m = gen() % 3 != 0;
  return mask;
}

TEST(Attention, KeyPaddingMask) {
  Shape sh{3, 2, 70, 130, 20, 24};
  auto mask = key_padding(sh.B, sh.T, 7);
  for (int64_t t = 0; t < sh.T; ++t)
    mask[1 * sh.T + t] = 0; // batch 1: every key hidden, all rows NaN
  for (int64_t t = 0; t < 64; ++t)
    mask[2 * sh.T + t] = 0; // batch 2: a whole first key block hidden
  check_dense(sh, false, &mask);
  check_dense(sh, false, &mask, 2);
}

TEST(Attention, KeyPaddingMaskAndCausal) {
  Shape sh{2, 2, 130, 130, 16, 16};
  auto mask = key_padding(sh.B, sh.T, 9);
  // Batch 1 hides keys 0..69: rows s < 70 see nothing (NaN), rows after do;
  // the NaN guard must not leak into them.
  for (int64_t t = 0; t < 70; ++t)
    mask[1 * sh.T + t] = 0;
  check_dense(sh, true, &mask);
  check_dense(sh, true, &mask, 2);
}

TEST(Attention, FullyMaskedBatchIsNaN) {
  Shape sh{2, 1, 3, 4, 8, 8};
  std::vector<uint8_t> mask = {1, 0, 1, 0, 0, 0, 0, 0};
  auto q = randoms(sh.B * sh.H * sh.S * sh.D, 1), k = randoms(sh.B * sh.H * sh.T * sh.D, 2);
  auto v = randoms(sh.B * sh.H * sh.T * sh.E, 3);
  std::vector<float> out(sh.B * sh.H * sh.S * sh.E, 0.0f);
  Desc dq(q.data(), {2, 1, 3, 8}), dk(k.data(), {2, 1, 4, 8}), dv(v.data(), {2, 1, 4, 8});
  Desc dout(out.data(), {2, 1, 3, 8}), dm(mask.data(), {2, 4});
  kiln_rt_attention_masked_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 2, dm.get(), 4, dout.get(),
                               0.5, 0, 0);
  for (int64_t i = 0; i < 24; ++i)
    EXPECT_FALSE(std::isnan(out[i])) << i;
  for (int64_t i = 24; i < 48; ++i)
    EXPECT_TRUE(std::isnan(out[i])) << i;
}

// q, k, v and out as views of [B, S, H, D]-ordered data (heads interleaved,
// as a projection's output reshaped without a copy): inner stride 1, the
// other strides non-dense.
void check_bshd(const Shape &sh, bool causal, int32_t threads) {
  ThreadCount tc(threads);
  auto q = randoms(sh.B * sh.S * sh.H * sh.D, 4), k = randoms(sh.B * sh.T * sh.H * sh.D, 5);
  auto v = randoms(sh.B * sh.T * sh.H * sh.E, 6);
  std::vector<float> out(sh.B * sh.S * sh.H * sh.E, 12345.0f);
  Desc dq(q.data(), {sh.B, sh.H, sh.S, sh.D}), dk(k.data(), {sh.B, sh.H, sh.T, sh.D});
  Desc dv(v.data(), {sh.B, sh.H, sh.T, sh.E}), dout(out.data(), {sh.B, sh.H, sh.S, sh.E});
  View vq{q.data(), {sh.S * sh.H * sh.D, sh.D, sh.H * sh.D, 1}};
  View vk{k.data(), {sh.T * sh.H * sh.D, sh.D, sh.H * sh.D, 1}};
  View vv{v.data(), {sh.T * sh.H * sh.E, sh.E, sh.H * sh.E, 1}};
  View vo{out.data(), {sh.S * sh.H * sh.E, sh.E, sh.H * sh.E, 1}};
  for (auto [d, view] : {std::pair{&dq, vq}, {&dk, vk}, {&dv, vv}, {&dout, vo}})
    std::copy(view.s, view.s + 4, d->strides());
  double scale = 0.3;
  kiln_rt_attention_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 4, dout.get(), scale, causal, 0);
  expect_close(sh, vo, reference(sh, vq, vk, vv, nullptr, scale, causal));
}

TEST(Attention, HeadsInterleavedViews) {
  check_bshd({2, 3, 70, 90, 24, 40}, false, 1);
  check_bshd({2, 3, 70, 90, 24, 40}, true, 2);
}

// Every tensor with innermost stride != 1: each is the transpose of dense
// data (q as [B, H, D, S] memory, out as [B, H, E, S], ...) and the mask
// strided over a [T, B] byte array, plus a nonzero offset.
TEST(Attention, TransposedInnerStrides) {
  ThreadCount tc(2);
  Shape sh{2, 2, 37, 75, 12, 18};
  int64_t pad = 5;
  auto qbuf = randoms(pad + sh.B * sh.H * sh.D * sh.S, 7);
  auto k = randoms(sh.B * sh.H * sh.D * sh.T, 8), v = randoms(sh.B * sh.H * sh.E * sh.T, 9);
  std::vector<float> out(sh.B * sh.H * sh.E * sh.S, 12345.0f);
  auto mask_bt = key_padding(sh.B, sh.T, 3);
  std::vector<uint8_t> mask_tb(sh.T * sh.B);
  for (int64_t b = 0; b < sh.B; ++b)
    for (int64_t t = 0; t < sh.T; ++t)
      mask_tb[t * sh.B + b] = mask_bt[b * sh.T + t];
  View vq{qbuf.data() + pad, {sh.H * sh.D * sh.S, sh.D * sh.S, 1, sh.S}};
  View vk{k.data(), {sh.H * sh.D * sh.T, sh.D * sh.T, 1, sh.T}};
  View vv{v.data(), {sh.H * sh.E * sh.T, sh.E * sh.T, 1, sh.T}};
  View vo{out.data(), {sh.H * sh.E * sh.S, sh.E * sh.S, 1, sh.S}};
  Desc dq(qbuf.data(), {sh.B, sh.H, sh.S, sh.D}), dk(k.data(), {sh.B, sh.H, sh.T, sh.D});
  Desc dv(v.data(), {sh.B, sh.H, sh.T, sh.E}), dout(out.data(), {sh.B, sh.H, sh.S, sh.E});
  Desc dm(mask_tb.data(), {sh.B, sh.T});
  dq.get()->offset = pad;
  for (auto [d, view] : {std::pair{&dq, vq}, {&dk, vk}, {&dv, vv}, {&dout, vo}})
    std::copy(view.s, view.s + 4, d->strides());
  dm.strides()[0] = 1;
  dm.strides()[1] = sh.B;
  for (bool causal : {false, true}) {
    std::fill(out.begin(), out.end(), 12345.0f);
    kiln_rt_attention_masked_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 2, dm.get(), 4, dout.get(),
                                 0.4, causal, 0);
    expect_close(sh, vo, reference(sh, vq, vk, vv, mask_bt.data(), 0.4, causal));
  }
}

TEST(Attention, ThreadCountsAgree) {
  Shape sh{1, 1, 300, 200, 64, 64};
  auto q = randoms(sh.S * sh.D, 1), k = randoms(sh.T * sh.D, 2), v = randoms(sh.T * sh.E, 3);
  std::vector<float> one(sh.S * sh.E), two(sh.S * sh.E);
  Desc dq(q.data(), {1, 1, sh.S, sh.D}), dk(k.data(), {1, 1, sh.T, sh.D});
  Desc dv(v.data(), {1, 1, sh.T, sh.E});
  for (auto [threads, out] : {std::pair{1, &one}, {2, &two}}) {
    ThreadCount tc(threads);
    Desc dout(out->data(), {1, 1, sh.S, sh.E});
    kiln_rt_attention_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 4, dout.get(), 0.125, 1, 0);
  }
  EXPECT_EQ(one, two); // each query block is computed the same way on any thread
}

// --- kiln_rt_attention_bias_f32 ---

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// An additive bias: data, its logical sizes (each the scores' [B, H, S, T]
// size or 1) and element strides (dense row-major unless given) and offset.
struct Bias {
  std::vector<float> data;
  std::vector<int64_t> sizes, strides;
  int64_t offset = 0;

  Bias(std::vector<int64_t> sz, std::vector<int64_t> st = {}, int64_t off = 0)
      : sizes(std::move(sz)), strides(std::move(st)), offset(off) {
    if (strides.empty()) {
      strides.assign(4, 1);
      for (int i = 2; i >= 0; --i)
        strides[i] = strides[i + 1] * sizes[i + 1];
    }
    int64_t span = 1;
    for (int i = 0; i < 4; ++i)
      span += (sizes[i] - 1) * strides[i];
    data.assign(offset + span, 777.0f); // never read: only offset + the view's elements are set
  }
  float &at(int64_t b, int64_t h, int64_t s, int64_t t) {
    return data[offset + b * strides[0] + h * strides[1] + s * strides[2] + t * strides[3]];
  }
  // Fills every logical element with f(b, h, s, t).
  template <class F> void fill(F f) {
    for (int64_t b = 0; b < sizes[0]; ++b)
      for (int64_t h = 0; h < sizes[1]; ++h)
        for (int64_t s = 0; s < sizes[2]; ++s)
          for (int64_t t = 0; t < sizes[3]; ++t)
            at(b, h, s, t) = f(b, h, s, t);
  }
  // The reference's view of it as [B, H, S, T]: stride 0 along size-1 dims.
  View view() const {
    View v{data.data() + offset, {}};
    for (int i = 0; i < 4; ++i)
      v.s[i] = sizes[i] == 1 ? 0 : strides[i];
    return v;
  }
};

// Runs kiln_rt_attention_bias_f32 on dense random q/k/v (the seeds of
// check_dense) and returns out [B, H, S, E]; compares it with the reference
// unless told not to.
std::vector<float> run_bias(const Shape &sh, Bias &bias, bool causal, int32_t threads,
                            double scale = -1, bool check = true) {
  ThreadCount tc(threads);
  if (scale < 0)
    scale = 1.0 / std::sqrt(double(sh.D));
  auto q = randoms(sh.B * sh.H * sh.S * sh.D, 1), k = randoms(sh.B * sh.H * sh.T * sh.D, 2);
  auto v = randoms(sh.B * sh.H * sh.T * sh.E, 3);
  std::vector<float> out(sh.B * sh.H * sh.S * sh.E, 12345.0f);
  Desc dq(q.data(), {sh.B, sh.H, sh.S, sh.D}), dk(k.data(), {sh.B, sh.H, sh.T, sh.D});
  Desc dv(v.data(), {sh.B, sh.H, sh.T, sh.E}), dout(out.data(), {sh.B, sh.H, sh.S, sh.E});
  Desc db(bias.data.data(), bias.sizes, bias.strides, bias.offset);
  kiln_rt_attention_bias_f32(4, dq.get(), 4, dk.get(), 4, dv.get(), 4, db.get(), 4, dout.get(),
                             scale, causal, 0);
  if (check) {
    View vq{q.data(), {sh.H * sh.S * sh.D, sh.S * sh.D, sh.D, 1}};
    View vk{k.data(), {sh.H * sh.T * sh.D, sh.T * sh.D, sh.D, 1}};
    View vv{v.data(), {sh.H * sh.T * sh.E, sh.T * sh.E, sh.E, 1}};
    View vo{out.data(), {sh.H * sh.S * sh.E, sh.S * sh.E, sh.E, 1}};
    View vb = bias.view();
    expect_close(sh, vo, reference(sh, vq, vk, vv, nullptr, scale, causal, &vb));
  }
  return out;
}

// Equal element by element, NaN matching NaN.
void expect_same(const std::vector<float> &a, const std::vector<float> &b) {
  ASSERT_EQ(a.size(), b.size());
  int64_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff += !(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])));
  EXPECT_EQ(diff, 0);
}

// A [1, 1, S, T] 0 / -inf bias hiding t > s is the causal mask: the result
// equals the causal kernel's (hidden keys contribute exactly 0 and leave the
// running max and sum as they were) and the reference.
TEST(AttentionBias, CausalMaskAsBias) {
  for (Shape sh : {Shape{2, 2, 130, 130, 20, 24}, Shape{1, 2, 70, 130, 16, 24},
                   Shape{1, 2, 130, 70, 16, 24}}) {
    Bias bias({1, 1, sh.S, sh.T});
    bias.fill([](int64_t, int64_t, int64_t s, int64_t t) { return t > s ? kNegInf : 0.0f; });
    auto out = run_bias(sh, bias, false, 1);
    expect_same(out, run_plain(sh, true, nullptr));
  }
}

// A [B, 1, 1, T] key-padding bias (-inf = padded) equals the masked kernel;
// batch 1 pads every key (all its rows NaN), batch 2 a whole key block.
TEST(AttentionBias, KeyPaddingBias) {
  Shape sh{3, 2, 70, 130, 20, 24};
  auto mask = key_padding(sh.B, sh.T, 7);
  for (int64_t t = 0; t < sh.T; ++t)
    mask[1 * sh.T + t] = 0;
  for (int64_t t = 0; t < 64; ++t)
    mask[2 * sh.T + t] = 0;
  Bias bias({sh.B, 1, 1, sh.T});
  bias.fill(
      [&](int64_t b, int64_t, int64_t, int64_t t) { return mask[b * sh.T + t] ? 0.0f : kNegInf; });
  for (bool causal : {false, true})
    for (int32_t threads : {1, 2}) {
      auto out = run_bias(sh, bias, causal, threads);
      expect_same(out, run_plain(sh, causal, &mask));
      for (int64_t i = 0; i < sh.H * sh.S * sh.E; ++i)
        ASSERT_TRUE(std::isnan(out[1 * sh.H * sh.S * sh.E + i])) << i;
    }
}

// Full [B, H, S, T] random finite biases, over shapes that cross and split
// blocks, including the Q-Former's 32 queries x 257 keys.
TEST(AttentionBias, FullRandomBias) {
  for (Shape sh : {Shape{2, 3, 130, 130, 20, 24}, Shape{2, 3, 32, 257, 64, 64},
                   Shape{1, 2, 5, 7, 8, 20}, Shape{1, 1, 200, 90, 16, 16}}) {
    Bias bias({sh.B, sh.H, sh.S, sh.T});
    auto r = randoms(sh.B * sh.H * sh.S * sh.T, 11, -3.0f, 3.0f);
    bias.fill([&, i = int64_t(0)](int64_t, int64_t, int64_t, int64_t) mutable { return r[i++]; });
    run_bias(sh, bias, false, 1);
    run_bias(sh, bias, false, 2);
  }
}

// Bias and causal together, with -inf entries: some rows' only visible keys
// (under causal) are biased away, so they are NaN; the rest are not.
TEST(AttentionBias, BiasAndCausal) {
  for (Shape sh : {Shape{2, 2, 130, 130, 20, 24}, Shape{1, 2, 70, 130, 16, 24},
                   Shape{1, 2, 130, 70, 16, 24}}) {
    Bias bias({1, sh.H, sh.S, sh.T});
    auto r = randoms(sh.H * sh.S * sh.T, 13, -2.0f, 2.0f);
    bias.fill([&, i = int64_t(0)](int64_t, int64_t h, int64_t s, int64_t t) mutable {
      float x = r[i++];
      // head 1: key t <= 9 hidden for rows s < 10, i.e. everything causal lets them see
      if (h == 1 && s < 10 && t < 10)
        return kNegInf;
      return x > 1.5f ? kNegInf : x;
    });
    auto out = run_bias(sh, bias, true, 1);
    for (int64_t s = 0; s < sh.S; ++s)
      EXPECT_EQ(std::isnan(out[((0 * sh.H + 1) * sh.S + s) * sh.E]), s < 10) << s;
    expect_same(out, run_bias(sh, bias, true, 2, -1, false));
  }
}

// ALiBi-style linear biases -slope_h |s - t| with slopes up to 16 (biases
// down to ~-4000, far past exp's underflow), per head [1, H, S, T], and the
// original query-independent form -slope_h (T - 1 - t) as [1, H, 1, T].
TEST(AttentionBias, AlibiLargeMagnitudes) {
  Shape sh{2, 6, 130, 257, 32, 16};
  auto slope = [](int64_t h) { return std::ldexp(1.0f, int(h) - 2); }; // 1/4 .. 8
  Bias rel({1, sh.H, sh.S, sh.T});
  rel.fill([&](int64_t, int64_t h, int64_t s, int64_t t) {
    return -2 * slope(h) * float(std::abs(s - t));
  });
  run_bias(sh, rel, false, 1);
  run_bias(sh, rel, true, 2);
  Bias abs_pos({1, sh.H, 1, sh.T});
  abs_pos.fill(
      [&](int64_t, int64_t h, int64_t, int64_t t) { return -slope(h) * float(sh.T - 1 - t); });
  run_bias(sh, abs_pos, false, 1);
  run_bias(sh, abs_pos, true, 2);
}

// Other broadcast shapes: [1, 1, 1, T], [B, H, 1, T], [1, 1, S, 1] and
// [B, 1, S, T].
TEST(AttentionBias, BroadcastShapes) {
  Shape sh{2, 3, 70, 130, 16, 8};
  auto r = randoms(sh.B * sh.H * sh.S * sh.T, 17, -2.0f, 2.0f);
  for (std::vector<int64_t> sizes : {std::vector<int64_t>{1, 1, 1, sh.T},
                                     {sh.B, sh.H, 1, sh.T},
                                     {1, 1, sh.S, 1},
                                     {sh.B, 1, sh.S, sh.T}}) {
    Bias bias(sizes);
    bias.fill([&, i = int64_t(0)](int64_t, int64_t, int64_t, int64_t) mutable { return r[i++]; });
    run_bias(sh, bias, false, 1);
    run_bias(sh, bias, true, 2);
  }
}

// Non-dense bias views with an offset: [B, H, S, T] over [B, H, T, S] memory
// (query stride 1: contiguous loads, partial last chunk), over [T, S, H, B]
// memory (query stride H B), and a [1, H, S, T] view whose query stride is 0
// without being broadcast (an expanded [1, H, 1, T]).
TEST(AttentionBias, StridedBiasViews) {
  Shape sh{2, 2, 70, 130, 16, 8};
  int64_t B = sh.B, H = sh.H, S = sh.S, T = sh.T;
  auto r = randoms(B * H * S * T, 19, -2.0f, 2.0f);
  auto val = [&](int64_t b, int64_t h, int64_t s, int64_t t) {
    float x = r[((b * H + h) * S + s) * T + t];
    return x > 1.7f ? kNegInf : x;
  };
  Bias bhts({B, H, S, T}, {H * T * S, T * S, 1, S}, 3);
  bhts.fill(val);
  Bias tshb({B, H, S, T}, {1, B, H * B, S * H * B}, 5);
  tshb.fill(val);
  for (Bias *bias : {&bhts, &tshb})
    for (bool causal : {false, true}) {
      auto out = run_bias(sh, *bias, causal, 1);
      expect_same(out, run_bias(sh, *bias, causal, 2, -1, false));
    }
  Bias expanded({1, H, S, T}, {H * T, T, 0, 1}, 2);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t t = 0; t < T; ++t)
      expanded.at(0, h, 0, t) = r[h * T + t];
  run_bias(sh, expanded, false, 2);
}

// 1 and 2 threads give bit-identical results with a bias.
TEST(AttentionBias, ThreadCountsAgree) {
  Shape sh{1, 2, 300, 200, 64, 64};
  Bias bias({1, sh.H, sh.S, sh.T});
  auto r = randoms(sh.H * sh.S * sh.T, 23, -2.0f, 2.0f);
  bias.fill([&, i = int64_t(0)](int64_t, int64_t, int64_t, int64_t) mutable { return r[i++]; });
  for (bool causal : {false, true}) {
    auto one = run_bias(sh, bias, causal, 1, 0.125, false);
    auto two = run_bias(sh, bias, causal, 2, 0.125, false);
    EXPECT_EQ(one, two);
    // and the bias mattered: without it the result differs
    EXPECT_NE(one, run_plain(sh, causal, nullptr, 0.125));
  }
}

// --- the layout bits: [B, S, H, D] operands read and written in place ---

// x [B, H, S, D] (dense) as [B, S, H, D] (dense).
std::vector<float> toBshd(const std::vector<float> &x, int64_t b, int64_t h, int64_t s,
                          int64_t d) {
  std::vector<float> y(x.size());
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < h; ++j)
      for (int64_t t = 0; t < s; ++t)
        for (int64_t e = 0; e < d; ++e)
          y[((i * s + t) * h + j) * d + e] = x[((i * h + j) * s + t) * d + e];
  return y;
}

TEST(AttentionLayout, BshdOperandsGiveTheSameResultsForwardAndBackward) {
  const int64_t B = 2, H = 3, S = 70, T = 80, D = 8, E = 5;
  std::vector<float> q = kiln_test::uniformFloats(B * H * S * D, 11),
                     k = kiln_test::uniformFloats(B * H * T * D, 12),
                     v = kiln_test::uniformFloats(B * H * T * E, 13),
                     dout = kiln_test::uniformFloats(B * H * S * E, 14);
  auto run = [&](bool bshd, std::vector<float> &out, std::vector<float> &dq,
                 std::vector<float> &dk, std::vector<float> &dv) {
    auto dims = [&](int64_t s, int64_t d) {
      return bshd ? std::vector<int64_t>{B, s, H, d} : std::vector<int64_t>{B, H, s, d};
    };
    auto lay = [&](const std::vector<float> &x, int64_t s, int64_t d) {
      return bshd ? toBshd(x, B, H, s, d) : x;
    };
    std::vector<float> ql = lay(q, S, D), kl = lay(k, T, D), vl = lay(v, T, E),
                       gl = lay(dout, S, E);
    out.assign(B * H * S * E, 0.0f);
    dq.assign(q.size(), 0.0f);
    dk.assign(k.size(), 0.0f);
    dv.assign(v.size(), 0.0f);
    Desc qd(ql.data(), dims(S, D)), kd(kl.data(), dims(T, D)), vd(vl.data(), dims(T, E)),
        od(out.data(), dims(S, E)), gd(gl.data(), dims(S, E)), dqd(dq.data(), dims(S, D)),
        dkd(dk.data(), dims(T, D)), dvd(dv.data(), dims(T, E));
    int64_t layout = bshd ? 0xff : 0;
    kiln_rt_attention_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), 0.3, 1, layout);
    kiln_rt_attention_grad_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), 4, gd.get(),
                               4, dqd.get(), 4, dkd.get(), 4, dvd.get(), 0.3, 1, layout);
  };
  std::vector<float> out, dq, dk, dv, outT, dqT, dkT, dvT;
  run(false, out, dq, dk, dv);
  run(true, outT, dqT, dkT, dvT);
  EXPECT_EQ(outT, toBshd(out, B, H, S, E));
  EXPECT_EQ(dqT, toBshd(dq, B, H, S, D));
  EXPECT_EQ(dkT, toBshd(dk, B, H, T, D));
  EXPECT_EQ(dvT, toBshd(dv, B, H, T, E));
}

// --- the _lse kernels: the forward saves each query's logsumexp for the backward ---

// Runs a forward and a backward (plain, masked or biased, causal), either the
// _lse pair or the recomputing pair; lse is what the forward saved.
struct Pass {
  std::vector<float> out, lse, dq, dk, dv;
};
enum class Variant { Plain, Masked, Bias };
Pass runPair(Variant variant, bool withLse, int32_t threads) {
  const int64_t B = 2, H = 3, S = 70, T = 80, D = 8, E = 5;
  const double scale = 0.3;
  ThreadCount tc(threads);
  std::vector<float> q = kiln_test::uniformFloats(B * H * S * D, 21),
                     k = kiln_test::uniformFloats(B * H * T * D, 22),
                     v = kiln_test::uniformFloats(B * H * T * E, 23),
                     dout = kiln_test::uniformFloats(B * H * S * E, 24),
                     bias = kiln_test::uniformFloats(S * T, 25);
  std::vector<uint8_t> mask = key_padding(B, T, 26);
  Pass p;
  p.out.assign(B * H * S * E, 0.0f);
  p.lse.assign(B * H * S, 0.0f);
  p.dq.assign(q.size(), 0.0f);
  p.dk.assign(k.size(), 0.0f);
  p.dv.assign(v.size(), 0.0f);
  Desc qd(q.data(), {B, H, S, D}), kd(k.data(), {B, H, T, D}), vd(v.data(), {B, H, T, E}),
      od(p.out.data(), {B, H, S, E}), gd(dout.data(), {B, H, S, E}), ld(p.lse.data(), {B, H, S}),
      dqd(p.dq.data(), {B, H, S, D}), dkd(p.dk.data(), {B, H, T, D}),
      dvd(p.dv.data(), {B, H, T, E}), md(mask.data(), {B, T}), bd(bias.data(), {S, T});
  switch (variant) {
  case Variant::Plain:
    if (withLse) {
      kiln_rt_attention_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), 3, ld.get(),
                                scale, 1, 0);
      kiln_rt_attention_grad_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), 4,
                                     gd.get(), 3, ld.get(), 4, dqd.get(), 4, dkd.get(), 4,
                                     dvd.get(), scale, 1, 0);
    } else {
      kiln_rt_attention_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), scale, 1, 0);
      kiln_rt_attention_grad_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 4, od.get(), 4, gd.get(),
                                 4, dqd.get(), 4, dkd.get(), 4, dvd.get(), scale, 1, 0);
    }
    break;
  case Variant::Masked:
    if (withLse) {
      kiln_rt_attention_masked_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, md.get(), 4,
                                       od.get(), 3, ld.get(), scale, 1, 0);
      kiln_rt_attention_grad_masked_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, md.get(), 4,
                                            od.get(), 4, gd.get(), 3, ld.get(), 4, dqd.get(), 4,
                                            dkd.get(), 4, dvd.get(), scale, 1, 0);
    } else {
      kiln_rt_attention_masked_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, md.get(), 4,
                                   od.get(), scale, 1, 0);
      kiln_rt_attention_grad_masked_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, md.get(), 4,
                                        od.get(), 4, gd.get(), 4, dqd.get(), 4, dkd.get(), 4,
                                        dvd.get(), scale, 1, 0);
    }
    break;
  case Variant::Bias:
    if (withLse) {
      kiln_rt_attention_bias_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, bd.get(), 4,
                                     od.get(), 3, ld.get(), scale, 1, 0);
      kiln_rt_attention_grad_bias_lse_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, bd.get(), 4,
                                          od.get(), 4, gd.get(), 3, ld.get(), 4, dqd.get(), 4,
                                          dkd.get(), 4, dvd.get(), scale, 1, 0);
    } else {
      kiln_rt_attention_bias_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, bd.get(), 4, od.get(),
                                 scale, 1, 0);
      kiln_rt_attention_grad_bias_f32(4, qd.get(), 4, kd.get(), 4, vd.get(), 2, bd.get(), 4,
                                      od.get(), 4, gd.get(), 4, dqd.get(), 4, dkd.get(), 4,
                                      dvd.get(), scale, 1, 0);
    }
    break;
  }
  // The saved lse against a double logsumexp of the same scores.
  if (withLse)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < S; ++i) {
          std::vector<double> scores;
          for (int64_t t = 0; t <= std::min(i, T - 1); ++t) {
            if (variant == Variant::Masked && !mask[b * T + t])
              continue;
            double x = 0;
            for (int64_t d = 0; d < D; ++d)
              x += double(q[((b * H + h) * S + i) * D + d]) * k[((b * H + h) * T + t) * D + d];
            x *= scale;
            if (variant == Variant::Bias)
              x += bias[i * T + t];
            scores.push_back(x);
          }
          double expected = -std::numeric_limits<double>::infinity();
          if (!scores.empty()) {
            double m = *std::max_element(scores.begin(), scores.end()), sum = 0;
            for (double x : scores)
              sum += std::exp(x - m);
            expected = m + std::log(sum);
          }
          float got = p.lse[(b * H + h) * S + i];
          if (std::isinf(expected))
            EXPECT_TRUE(std::isinf(got) && got < 0) << "lse[" << b << ", " << h << ", " << i << "]";
          else
            EXPECT_NEAR(expected, got, 1e-5 * std::max(1.0, std::abs(expected)))
                << "lse[" << b << ", " << h << ", " << i << "]";
        }
  return p;
}

// The backward from the saved lse computes exactly what it computed from its
// own recomputed one, in every variant and at 1 and 2 threads.
TEST(AttentionLse, SavedLogsumexpGivesTheRecomputedGradientsBitForBit) {
  for (Variant variant : {Variant::Plain, Variant::Masked, Variant::Bias})
    for (int32_t threads : {1, 2}) {
      SCOPED_TRACE("variant " + std::to_string(int(variant)) + ", threads " +
                   std::to_string(threads));
      Pass saved = runPair(variant, true, threads), recomputed = runPair(variant, false, threads);
      expect_same(saved.out, recomputed.out);
      expect_same(saved.dq, recomputed.dq);
      expect_same(saved.dk, recomputed.dk);
      expect_same(saved.dv, recomputed.dv);
    }
}

} // namespace
