// memrefCopy: MLIR's generic strided copy between ranked memrefs.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kiln/runtime.h"

namespace {

// A ranked descriptor as MLIR lays it out for a fixed rank.
template <int Rank> struct Memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};
template <> struct Memref<0> {
  void *allocated;
  void *aligned;
  int64_t offset;
};

template <int Rank> kiln_unranked_memref unranked(Memref<Rank> &m) { return {Rank, &m}; }

TEST(MemrefCopy, Strided2D) {
  // src: a 3x2 window of a 4x6 int32 matrix, every other column from column 1,
  // rows 1..3: element (i, j) at 6 + 1 + i*6 + j*2.
  std::vector<int32_t> big(24);
  for (int i = 0; i < 24; ++i)
    big[i] = i;
  Memref<2> src{big.data(), big.data(), 7, {3, 2}, {6, 2}};
  // dst 1: dense 3x2.
  std::vector<int32_t> dense(6, -1);
  Memref<2> dst{dense.data(), dense.data(), 0, {3, 2}, {2, 1}};
  kiln_unranked_memref s = unranked(src), d = unranked(dst);
  memrefCopy(sizeof(int32_t), &s, &d);
  EXPECT_EQ(dense, (std::vector<int32_t>{7, 9, 13, 15, 19, 21}));

  // dst 2: transposed (column-major) with an offset, into a padded buffer.
  std::vector<int32_t> padded(10, -1);
  Memref<2> dstT{padded.data(), padded.data(), 2, {3, 2}, {1, 4}};
  kiln_unranked_memref dT = unranked(dstT);
  memrefCopy(sizeof(int32_t), &s, &dT);
  EXPECT_EQ(padded, (std::vector<int32_t>{-1, -1, 7, 13, 19, -1, 9, 15, 21, -1}));
}

TEST(MemrefCopy, ContiguousRowsAndRank3) {
  // 2x2x3 doubles; the innermost rows are contiguous in both.
  std::vector<double> src(12), dst(24, 0.0);
  for (int i = 0; i < 12; ++i)
    src[i] = i + 0.5;
  Memref<3> s{src.data(), src.data(), 0, {2, 2, 3}, {6, 3, 1}};
  Memref<3> d{dst.data(), dst.data(), 1, {2, 2, 3}, {12, 4, 1}}; // padded rows and planes
  kiln_unranked_memref us = unranked(s), ud = unranked(d);
  memrefCopy(sizeof(double), &us, &ud);
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c)
        EXPECT_EQ(dst[1 + a * 12 + b * 4 + c], src[a * 6 + b * 3 + c]);
  EXPECT_EQ(dst[0], 0.0);
  EXPECT_EQ(dst[4], 0.0);
}

TEST(MemrefCopy, RankZero) {
  int64_t src[3] = {1, 2, 3}, dst[3] = {0, 0, 0};
  Memref<0> s{src, src, 2};
  Memref<0> d{dst, dst, 1};
  kiln_unranked_memref us = unranked(s), ud = unranked(d);
  memrefCopy(sizeof(int64_t), &us, &ud);
  EXPECT_EQ(dst[0], 0);
  EXPECT_EQ(dst[1], 3);
  EXPECT_EQ(dst[2], 0);
}

TEST(MemrefCopy, EmptyShapeCopiesNothing) {
  float src[1] = {1}, dst[1] = {0};
  Memref<2> s{src, src, 0, {0, 5}, {5, 1}};
  Memref<2> d{dst, dst, 0, {0, 5}, {5, 1}};
  kiln_unranked_memref us = unranked(s), ud = unranked(d);
  memrefCopy(sizeof(float), &us, &ud);
  EXPECT_EQ(dst[0], 0.0f);
}

} // namespace
