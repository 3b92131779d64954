// Where a train step puts its gradients (grad_layout.h): in bytes of the
// arena that are dead by the time each is first written, past the arena's
// own bytes otherwise; never over each other.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "grad_layout.h"
#include "kiln/runtime.h"
#include "error.h"
#include "manifest.h"

namespace {

// Three parameters: w1 f32[16, 16] and w2 f32[256] (1024 bytes each), w3
// f32[4] (16 bytes, 64 with alignment). The entry's arena is 128 B bytes: an
// activation at [0, 64 B) last read at position 7 and a temporary at
// [64 B, 128 B) last read at 8. w1's gradient is first written at 7, w2's at
// 8, w3's at 10.
std::string manifest(bool withGradSpace, const std::string &offsets = "") {
  std::string space =
      R"(, "grad_space": {"births": [7, 8, 10], "busy": [
          {"offset": [], "size": [{"coeff": 64, "symbols": ["B"]}], "last": 7},
          {"offset": [{"coeff": 64, "symbols": ["B"]}],
           "size": [{"coeff": 64, "symbols": ["B"]}], "last": 8}])" +
      offsets + "}";
  return R"({"model": "m",
    "params": [{"name": "w1", "dtype": "f32", "shape": [16, 16]},
               {"name": "w2", "dtype": "f32", "shape": [256]},
               {"name": "w3", "dtype": "f32", "shape": [4]}],
    "entries": [{"name": "step", "symbols": ["B"],
      "inputs": [{"name": "x", "dtype": "f32", "shape": ["B", 16]}],
      "outputs": [{"name": "loss", "dtype": "f32", "shape": []},
                  {"name": "grad.w1", "dtype": "f32", "shape": [16, 16]},
                  {"name": "grad.w2", "dtype": "f32", "shape": [256]},
                  {"name": "grad.w3", "dtype": "f32", "shape": [4]}],
      "arena": [{"coeff": 128, "symbols": ["B"]}],
      "train": {"optimizer": "sgd", "settings": {}, "params": [0, 1, 2])" +
         (withGradSpace ? space : "") + "}}]}";
}

class GradLayout : public ::testing::Test {
protected:
  void parse(bool withGradSpace, const std::string &offsets = "") {
    std::string json = manifest(withGradSpace, offsets);
    ASSERT_EQ(kiln_manifest_parse(json.data(), json.size(), &manifest_, nullptr), KILN_OK)
        << kiln_error_text(nullptr);
  }
  kiln_grad_layout plan(int64_t b) {
    kiln_grad_layout layout{0, 0, offsets_.data()};
    EXPECT_EQ(kiln_grad_layout_plan(&manifest_, &manifest_.entries[0], &b, &layout, nullptr),
              KILN_OK);
    return layout;
  }
  void TearDown() override { kiln_manifest_free(&manifest_); }

  kiln_manifest manifest_{};
  std::vector<int64_t> offsets_ = std::vector<int64_t>(3, -1);
};

TEST_F(GradLayout, GradientsTakeBytesDeadByTheirBirth) {
  parse(true);
  // B = 16: the arena is 2048 bytes. w1 (born at 7, both spans busy) goes
  // past them; w2 (born at 8) into the activation's bytes, dead after 7; w3
  // (born at 10, nothing busy) next to it.
  kiln_grad_layout layout = plan(16);
  EXPECT_EQ(layout.arena_bytes, 2048);
  EXPECT_EQ(offsets_[0], 2048);
  EXPECT_EQ(offsets_[1], 0);
  EXPECT_EQ(offsets_[2], 1024);
  EXPECT_EQ(layout.total_bytes, 3072); // not 2048 + 1024 + 1024 + 64
  // B = 64: the activation's 4096 bytes hold w2 and w3; w1 still goes past.
  layout = plan(64);
  EXPECT_EQ(layout.arena_bytes, 8192);
  EXPECT_EQ(offsets_[0], 8192);
  EXPECT_EQ(offsets_[1], 0);
  EXPECT_EQ(offsets_[2], 1024);
  EXPECT_EQ(layout.total_bytes, 9216);
}

TEST_F(GradLayout, NoGradientOverlapsAnotherOrABusySpan) {
  parse(true);
  const kiln_train_spec *train = manifest_.entries[0].train;
  const int64_t bytes[3] = {1024, 1024, 64};
  for (int64_t b = 1; b <= 100; ++b) {
    kiln_grad_layout layout = plan(b);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(offsets_[i] % 64, 0);
      EXPECT_LE(offsets_[i] + bytes[i], layout.total_bytes);
      for (int j = 0; j < i; ++j)
        EXPECT_TRUE(offsets_[i] + bytes[i] <= offsets_[j] || offsets_[j] + bytes[j] <= offsets_[i])
            << "B " << b << ": gradients " << i << " and " << j << " overlap";
      // Span k covers [64 B k, 64 B (k + 1)).
      for (int k = 0; k < 2; ++k)
        if (train->busy[k].last >= train->grad_births[i])
          EXPECT_TRUE(offsets_[i] + bytes[i] <= 64 * b * k || 64 * b * (k + 1) <= offsets_[i])
              << "B " << b << ": gradient " << i << " over busy span " << k;
    }
  }
}

TEST_F(GradLayout, WithoutAGradientSpaceEverythingGoesPastTheArena) {
  parse(false);
  kiln_grad_layout layout = plan(16);
  EXPECT_EQ(offsets_[0], 2048);
  EXPECT_EQ(offsets_[1], 3072);
  EXPECT_EQ(offsets_[2], 4096);
  EXPECT_EQ(layout.total_bytes, 4160);
}

TEST_F(GradLayout, OverflowingDimsAreAnError) {
  parse(true);
  int64_t b = INT64_MAX / 64;
  kiln_grad_layout layout{0, 0, offsets_.data()};
  EXPECT_EQ(kiln_grad_layout_plan(&manifest_, &manifest_.entries[0], &b, &layout, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_error_text(nullptr)).find("would overflow"),
            std::string::npos);
}

TEST_F(GradLayout, OffsetsPlannedWithTheArenaAreUsedAsTheyAre) {
  // An entry planned with its gradients (all sizes static) gives their
  // places; the arena ends past the last if it is not already beyond.
  parse(true, R"(, "offsets": [0, 1024, 4096])");
  kiln_grad_layout layout = plan(16);
  EXPECT_EQ(offsets_[0], 0);
  EXPECT_EQ(offsets_[1], 1024);
  EXPECT_EQ(offsets_[2], 4096);
  EXPECT_EQ(layout.arena_bytes, 2048);
  EXPECT_EQ(layout.total_bytes, 4160);
}

} // namespace
