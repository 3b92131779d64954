// Weights packed once (packed_weights.h): Kiln's bf16 matmul kernel, given a
// b that lies inside a registered weight range, converts and packs it whole
// on the first call and reads that copy afterwards. The results must be bit
// for bit those of the same call packing per block, at every edge of the
// layout (k over several k blocks and odd, so that the last pair is half
// padding; n past the last strip; b transposed or not; a b shared by a batch)
// and on each tile shape; a b only partly inside a range, different in each
// batch, or multiplied by the f32 kernel is not packed; racing first calls
// leave one pack; release frees them all.
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels.h"
#include "packed_weights.h"
#include "target.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

enum { kTransposeB = 2, kActivationShift = 4, kGeluErf = 2 };

using Kernel = decltype(&kiln_rt_native_matmul_bias_f32);

struct Shape {
  std::vector<int64_t> a, b; // a and b as stored (b [n, k] when transposed)
  int flags;
};

// c = act(a b + bias) for a shape, b read from `b`.
std::vector<float> run(Kernel kernel, const Shape &s, std::vector<float> &b, int threads) {
  ThreadCount tc(threads);
  int64_t k = s.a.back(), n = s.flags & kTransposeB ? s.b[s.b.size() - 2] : s.b.back();
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < s.a.size(); ++i)
    rows *= s.a[i];
  auto a = kiln_test::uniformFloats(rows * k, 1), bias = kiln_test::uniformFloats(n, 3);
  std::vector<int64_t> cShape(s.a.begin(), s.a.end() - 1);
  cShape.push_back(n);
  std::vector<float> c(rows * n, 777.0f);
  Desc da(a.data(), s.a), db(b.data(), s.b), dbias(bias.data(), {n}), dc(c.data(), cShape);
  kernel(da.rank(), da.get(), db.rank(), db.get(), 1, dbias.get(), dc.rank(), dc.get(), s.flags);
  return c;
}

std::vector<float> weightsOf(const Shape &s) {
  int64_t count = 1;
  for (int64_t d : s.b)
    count *= d;
  return kiln_test::uniformFloats(count, 2);
}

const Shape kShapes[] = {
    {{50, 768}, {3072, 768}, kTransposeB | (kGeluErf << kActivationShift)}, // a ViT MLP layer
    {{7, 33}, {33, 70}, 0},              // odd k, n past the last strip
    {{30, 700}, {40, 700}, kTransposeB}, // k over several k blocks
    {{4, 50, 64}, {64, 200}, 0},         // one b for the batch
    {{3, 1}, {1, 17}, kTransposeB},      // k of one
};

void checkPackedMatchesPerCall(Kernel kernel) {
  int owner = 0;
  for (const Shape &s : kShapes) {
    SCOPED_TRACE(testing::Message() << "k " << s.a.back() << ", flags " << s.flags);
    std::vector<float> b = weightsOf(s);
    std::vector<float> perCall = run(kernel, s, b, 1);
    ASSERT_TRUE(kiln_packed_weights_add(&owner, b.data(), b.size() * sizeof(float)));
    for (int threads : {1, 2, 1}) {
      std::vector<float> packed = run(kernel, s, b, threads);
      EXPECT_EQ(std::memcmp(packed.data(), perCall.data(), packed.size() * sizeof(float)), 0)
          << threads << " threads";
      EXPECT_EQ(kiln_packed_weights_count(&owner), 1);
    }
    kiln_packed_weights_release(&owner);
    EXPECT_EQ(kiln_packed_weights_count(&owner), 0);
  }
}

TEST(PackedWeights, Bf16MatchesPackingPerCall) {
  int32_t lanes = kiln_target_f32_lanes();
  for (int32_t target : {16, 8, 4}) {
    SCOPED_TRACE(testing::Message() << target << " lanes");
    kiln_target_set_f32_lanes(target);
    checkPackedMatchesPerCall(kiln_rt_native_bf16_matmul_bias_f32);
  }
  kiln_target_set_f32_lanes(lanes);
  if (__builtin_cpu_supports("avx512bf16")) {
    SCOPED_TRACE("AVX512-BF16");
    kiln_target_set_bf16_dot(true);
    checkPackedMatchesPerCall(kiln_rt_native_bf16_matmul_bias_f32);
    kiln_target_set_bf16_dot(false);
  }
}

// The same matrix packed for another tile width is another pack, not the
// first one read with the wrong layout.
TEST(PackedWeights, TileWidthIsPartOfThePack) {
  int owner = 0;
  const Shape &s = kShapes[1];
  std::vector<float> b = weightsOf(s);
  int32_t lanes = kiln_target_f32_lanes();
  const int32_t targets[2] = {16, 8};
  std::vector<float> perCall[2];
  for (int i = 0; i < 2; ++i) {
    kiln_target_set_f32_lanes(targets[i]);
    perCall[i] = run(kiln_rt_native_bf16_matmul_bias_f32, s, b, 1);
  }
  ASSERT_TRUE(kiln_packed_weights_add(&owner, b.data(), b.size() * sizeof(float)));
  for (int i = 0; i < 2; ++i) {
    kiln_target_set_f32_lanes(targets[i]);
    EXPECT_EQ(run(kiln_rt_native_bf16_matmul_bias_f32, s, b, 1), perCall[i])
        << targets[i] << " lanes";
    EXPECT_EQ(kiln_packed_weights_count(&owner), i + 1);
  }
  kiln_target_set_f32_lanes(lanes);
  kiln_packed_weights_release(&owner);
}

TEST(PackedWeights, OnlyWhatLiesInsideOneRangeIsPacked) {
  int owner = 0;
  const Shape &s = kShapes[1];
  std::vector<float> b = weightsOf(s);
  // The range stops one element short of b's last.
  ASSERT_TRUE(kiln_packed_weights_add(&owner, b.data(), (b.size() - 1) * sizeof(float)));
  run(kiln_rt_native_bf16_matmul_bias_f32, s, b, 1);
  EXPECT_EQ(kiln_packed_weights_count(&owner), 0);
  kiln_packed_weights_release(&owner);

  // A b of its own in each batch ([4, 64, 20]) is packed per call.
  std::vector<float> batched = kiln_test::uniformFloats(4 * 64 * 20, 5);
  ASSERT_TRUE(kiln_packed_weights_add(&owner, batched.data(), batched.size() * sizeof(float)));
  run(kiln_rt_native_bf16_matmul_bias_f32, {{4, 9, 64}, {4, 64, 20}, 0}, batched, 1);
  EXPECT_EQ(kiln_packed_weights_count(&owner), 0);
  kiln_packed_weights_release(&owner);

  // The f32 kernel packs per call (a packed copy was no faster to read).
  ASSERT_TRUE(kiln_packed_weights_add(&owner, b.data(), b.size() * sizeof(float)));
  run(kiln_rt_native_matmul_bias_f32, s, b, 1);
  EXPECT_EQ(kiln_packed_weights_count(&owner), 0);
  kiln_packed_weights_release(&owner);
}

// First calls racing on one weight: every result right, one pack kept.
TEST(PackedWeights, RacingFirstCallsKeepOnePack) {
  int owner = 0;
  const Shape &s = kShapes[2];
  std::vector<float> b = weightsOf(s);
  std::vector<float> perCall = run(kiln_rt_native_bf16_matmul_bias_f32, s, b, 1);
  ASSERT_TRUE(kiln_packed_weights_add(&owner, b.data(), b.size() * sizeof(float)));
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (auto &result : results)
    threads.emplace_back([&] { result = run(kiln_rt_native_bf16_matmul_bias_f32, s, b, 1); });
  for (std::thread &t : threads)
    t.join();
  for (const auto &result : results)
    EXPECT_EQ(result, perCall);
  EXPECT_EQ(kiln_packed_weights_count(&owner), 1);
  kiln_packed_weights_release(&owner);
}

} // namespace
