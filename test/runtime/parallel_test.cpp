// kiln_parallel_for: every index visited exactly once, ranges aligned to the
// grain, and the thread count honoured.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "parallel.h"

extern "C" int omp_get_thread_num(void);

namespace {

struct Visit {
  std::vector<std::atomic<int>> hits;
  std::mutex mutex;
  std::set<int> threads;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  explicit Visit(int64_t n) : hits(n) {}
};

void visit(void *ctx, int64_t begin, int64_t end) {
  auto *v = static_cast<Visit *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    v->hits[i]++;
  std::lock_guard<std::mutex> lock(v->mutex);
  v->threads.insert(omp_get_thread_num());
  v->ranges.emplace_back(begin, end);
}

using kiln_test::ThreadCount;

TEST(Parallel, EveryIndexOnceWithGrainAlignedRanges) {
  ThreadCount threads(3);
  for (int64_t n : {1, 7, 64, 1000, 1001}) {
    Visit v(n);
    kiln_parallel_for(n, 8, visit, &v);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(v.hits[i].load(), 1) << "n=" << n << " i=" << i;
    for (auto [begin, end] : v.ranges) {
      EXPECT_EQ(begin % 8, 0) << "n=" << n;
      EXPECT_TRUE(end == n || end % 8 == 0) << "n=" << n;
    }
    EXPECT_LE(v.ranges.size(), 3u);
  }
}

TEST(Parallel, UsesTheRequestedThreads) {
  ThreadCount threads(2);
  Visit v(1000);
  kiln_parallel_for(1000, 1, visit, &v);
  EXPECT_EQ(v.threads.size(), 2u);
}

TEST(Parallel, OneThreadRunsInline) {
  ThreadCount threads(1);
  Visit v(100);
  kiln_parallel_for(100, 1, visit, &v);
  ASSERT_EQ(v.ranges.size(), 1u);
  EXPECT_EQ(v.ranges[0], std::make_pair(int64_t{0}, int64_t{100}));
}

TEST(Parallel, ThreadCountIsPerThreadAndClamped) {
  EXPECT_EQ(kiln_thread_count(), 1);
  int32_t previous = kiln_set_thread_count(-5);
  EXPECT_EQ(kiln_thread_count(), 1);
  kiln_set_thread_count(previous);
  EXPECT_GE(kiln_available_cpus(), 1);
}

// Run by the ctest Runtime.Parallel.OpenMpBinding with OMP_PROC_BIND=close
// OMP_PLACES=threads and KILN_EXPECT_CPUS set to the shell's `nproc`:
// libgomp has pinned this (initial) thread to one CPU, yet the model must
// still see, and use, every CPU the user gave OpenMP.
TEST(ParallelEnv, AvailableCpusUnderOpenMpBinding) {
  const char *expected = std::getenv("KILN_EXPECT_CPUS");
  if (!expected)
    GTEST_SKIP() << "run through the ctest Runtime.Parallel.OpenMpBinding";
  EXPECT_EQ(kiln_available_cpus(), std::atoi(expected));
}

} // namespace
