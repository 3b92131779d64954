// Tests of the row scatter-add kernel (runtime/src/kernel_scatter_add.c)
// against a plain loop: duplicate and out-of-range ids, rank 1 and 2, a
// strided source, and results identical for one and two threads. The kernel
// adds in place: out holds init when it is called.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernel_test_util.h"
#include "kernels.h"
#include "parallel.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

// result = init; result[ids[e]] += src[e] (rows of width d), ids outside [0, n) skipped.
std::vector<float> reference(const std::vector<float> &init, const std::vector<int64_t> &ids,
                             const std::vector<float> &src, int64_t n, int64_t d) {
  std::vector<float> out = init;
  for (size_t e = 0; e < ids.size(); ++e)
    if (ids[e] >= 0 && ids[e] < n)
      for (int64_t j = 0; j < d; ++j)
        out[ids[e] * d + j] += src[e * d + j];
  return out;
}

std::vector<float> run(std::vector<float> init, std::vector<int64_t> ids, std::vector<float> src,
                       int64_t n, int64_t d, int32_t threads) {
  ThreadCount scope(threads);
  std::vector<float> out = init;
  int64_t e = static_cast<int64_t>(ids.size());
  Desc idsD(ids.data(), {e}), srcD(src.data(), {e, d}), outD(out.data(), {n, d});
  kiln_rt_scatter_add_rows_f32(1, idsD.get(), 2, srcD.get(), 2, outD.get());
  return out;
}

TEST(ScatterAdd, DuplicatesAccumulateAndOutOfRangeIdsAreSkipped) {
  int64_t n = 5, d = 3;
  std::vector<float> init = kiln_test::uniformFloats(n * d, 1);
  std::vector<int64_t> ids = {2, 0, 2, -1, 5, 4, 2};
  std::vector<float> src = kiln_test::uniformFloats(ids.size() * d, 2);
  EXPECT_EQ(run(init, ids, src, n, d, 1), reference(init, ids, src, n, d));
}

TEST(ScatterAdd, SameBitsOnOneAndTwoThreads) {
  // An embedding gradient: 3000 rows of 96, 4096 token ids with repeats.
  int64_t n = 3000, d = 96, e = 4096;
  std::vector<float> init(n * d, 0.0f);
  std::vector<int64_t> ids(e);
  for (int64_t i = 0; i < e; ++i)
    ids[i] = (i * 7919) % 1500 * 2; // every id twice or more, half the rows untouched
  std::vector<float> src = kiln_test::uniformFloats(e * d, 3);
  std::vector<float> one = run(init, ids, src, n, d, 1);
  EXPECT_EQ(one, reference(init, ids, src, n, d));
  EXPECT_EQ(run(init, ids, src, n, d, 2), one);
}

TEST(ScatterAdd, RankOneAndStridedSource) {
  std::vector<float> out = {1, 2, 3, 4};
  std::vector<int64_t> ids = {3, 3, 0};
  std::vector<float> src = {10, 20, 30};
  Desc idsD(ids.data(), {3}), srcD(src.data(), {3}), outD(out.data(), {4});
  kiln_rt_scatter_add_rows_f32(1, idsD.get(), 1, srcD.get(), 1, outD.get());
  EXPECT_EQ(out, (std::vector<float>{31, 2, 3, 34}));

  // src as the transpose of a [2, 3] buffer: rows of 2 at element stride 3.
  std::vector<float> buffer = {1, 2, 3, 4, 5, 6};
  std::vector<float> out2(2 * 2, 0.0f);
  std::vector<int64_t> ids2 = {1, 0, 1};
  Desc ids2D(ids2.data(), {3}), srcT(buffer.data(), {3, 2}, {1, 3}), out2D(out2.data(), {2, 2});
  kiln_rt_scatter_add_rows_f32(1, ids2D.get(), 2, srcT.get(), 2, out2D.get());
  // src rows: (1, 4), (2, 5), (3, 6); row 1 gets the first and last.
  EXPECT_EQ(out2, (std::vector<float>{2, 5, 4, 10}));
}

} // namespace
