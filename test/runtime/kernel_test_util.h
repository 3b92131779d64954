// Shared by the kernel tests: memref descriptors over test-owned data and a
// scoped kernel thread count.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "memref.h"
#include "parallel.h"

namespace kiln_test {

// A ranked memref descriptor over caller-owned data, in storage it owns.
class Desc {
public:
  // Dense row-major, or the given element strides and offset.
  Desc(void *data, std::vector<int64_t> sizes, std::vector<int64_t> strides = {},
       int64_t offset = 0)
      : rank_(static_cast<int64_t>(sizes.size())),
        storage_(kiln_memref_size(static_cast<int32_t>(sizes.size())) / sizeof(int64_t)) {
    EXPECT_TRUE(kiln_memref_init(get(), data, static_cast<int32_t>(rank_), sizes.data()));
    for (size_t i = 0; i < strides.size(); ++i)
      this->strides()[i] = strides[i];
    get()->offset = offset;
  }
  kiln_memref *get() { return reinterpret_cast<kiln_memref *>(storage_.data()); }
  int64_t rank() const { return rank_; }
  int64_t *strides() { return get()->sizes_strides + rank_; }

private:
  int64_t rank_;
  std::vector<int64_t> storage_;
};

// Sets the calling thread's kernel thread count for a scope.
class ThreadCount {
public:
  explicit ThreadCount(int32_t n) : previous_(kiln_set_thread_count(n)) {}
  ~ThreadCount() { kiln_set_thread_count(previous_); }

private:
  int32_t previous_;
};

// n uniform floats in [lo, hi) from a fixed seed.
inline std::vector<float> uniformFloats(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

} // namespace kiln_test
