// kiln_rt_invoke with fake entries: descriptor layout, symbolic-dim binding,
// argument checks and the arena.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "kiln/runtime.h"
#include "parallel.h"
#include "test_model.h"

using namespace kiln::test;

namespace {

// What the fake entries saw on their last call (tests run one at a time; the
// concurrency test uses its own entries).
struct Seen {
  int calls = 0;
  int32_t threads = 0; // kiln_thread_count() during the call
  std::vector<Desc> descs;
  std::vector<void *> raw; // descriptors[i] themselves
};
Seen seen;

// predict: arena, fc1.weight[4,3], fc1.bias[4], x[B,3], out[B,4].
void predictEntry(void **descriptors) {
  ++seen.calls;
  seen.threads = kiln_thread_count();
  const int ranks[] = {1, 2, 1, 2, 2};
  seen.descs.clear();
  seen.raw.assign(descriptors, descriptors + 5);
  for (int i = 0; i < 5; ++i)
    seen.descs.push_back(readDesc(descriptors[i], ranks[i]));
  const Desc &w = seen.descs[1], &b = seen.descs[2], &x = seen.descs[3], &out = seen.descs[4];
  auto at = [](const Desc &d, int64_t i, int64_t j) {
    return static_cast<float *>(d.aligned)[d.offset + i * d.strides[0] + j * d.strides[1]];
  };
  // The kernel writes the arena end to end to prove it is as large as promised.
  std::memset(seen.descs[0].aligned, 0xAB, static_cast<size_t>(seen.descs[0].sizes[0]));
  for (int64_t r = 0; r < x.sizes[0]; ++r)
    for (int64_t j = 0; j < 4; ++j) {
      float acc = static_cast<const float *>(b.aligned)[j * b.strides[0]];
      for (int64_t k = 0; k < 3; ++k)
        acc += at(x, r, k) * at(w, j, k);
      static_cast<float *>(out.aligned)[r * out.strides[0] + j * out.strides[1]] = acc;
    }
}

// stats: arena, 2 params, v[N,M,2] (i64), total[] (f32): total = sum(v).
void statsEntry(void **descriptors) {
  ++seen.calls;
  const int ranks[] = {1, 2, 1, 3, 0};
  seen.descs.clear();
  seen.raw.assign(descriptors, descriptors + 5);
  for (int i = 0; i < 5; ++i)
    seen.descs.push_back(readDesc(descriptors[i], ranks[i]));
  const Desc &v = seen.descs[3];
  int64_t sum = 0;
  for (int64_t i = 0; i < v.sizes[0] * v.sizes[1] * v.sizes[2]; ++i)
    sum += static_cast<const int64_t *>(v.aligned)[i];
  *static_cast<float *>(seen.descs[4].aligned) = static_cast<float>(sum);
}

const kiln_entry_fn kEntries[2] = {predictEntry, statsEntry};

class Invoke : public ::testing::Test {
protected:
  void SetUp() override {
    seen = Seen{};
    std::string path = dir_.write("mlp.safetensors", buildSafetensors(modelTensors()));
    ASSERT_EQ(kiln_rt_create(kManifest.data(), kManifest.size(), kEntries, 2, path.c_str(),
                             nullptr, &model_),
              KILN_OK)
        << kiln_rt_last_error(nullptr);
  }
  void TearDown() override { kiln_rt_destroy(model_); }

  int32_t predict(int64_t batch, const float *x, float *out) {
    const void *inputs[] = {x};
    void *outputs[] = {out};
    return kiln_rt_invoke(model_, 0, &batch, inputs, outputs);
  }
  std::string error() const { return kiln_rt_last_error(model_); }

  TempDir dir_;
  kiln_model *model_ = nullptr;
};

TEST_F(Invoke, DescriptorLayoutAndResult) {
  const int64_t batch = 2;
  std::vector<float> x = {1, 0, 0, 0, 1, 2};
  std::vector<float> out(batch * 4, -1.0f);
  ASSERT_EQ(predict(batch, x.data(), out.data()), KILN_OK) << error();
  ASSERT_EQ(seen.calls, 1);

  const Desc &arena = seen.descs[0];
  EXPECT_EQ(arena.allocated, arena.aligned);
  EXPECT_EQ(arena.offset, 0);
  EXPECT_EQ(arena.sizes[0], 4096 + 1536 * batch);
  EXPECT_EQ(arena.strides[0], 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(arena.aligned) % 64, 0u);

  const Desc &w = seen.descs[1];
  EXPECT_EQ(w.sizes, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(w.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(w.allocated, w.aligned);
  EXPECT_EQ(w.offset, 0);
  EXPECT_EQ(seen.descs[2].sizes, (std::vector<int64_t>{4}));
  EXPECT_EQ(seen.descs[2].strides, (std::vector<int64_t>{1}));

  const Desc &xd = seen.descs[3], &od = seen.descs[4];
  EXPECT_EQ(xd.aligned, x.data());
  EXPECT_EQ(xd.allocated, x.data());
  EXPECT_EQ(xd.offset, 0);
  EXPECT_EQ(xd.sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(xd.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(od.aligned, out.data());
  EXPECT_EQ(od.sizes, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(od.strides, (std::vector<int64_t>{4, 1}));

  // out[r][j] = bias[j] + sum_k x[r][k] * w[j][k], w[j][k] = 3j + k, bias[j] = 100 + j.
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 4; ++j) {
      float expected = 100.0f + j;
      for (int k = 0; k < 3; ++k)
        expected += x[r * 3 + k] * static_cast<float>(3 * j + k);
      EXPECT_EQ(out[r * 4 + j], expected) << r << "," << j;
    }
}

TEST_F(Invoke, SeveralSymbolsAndRankZero) {
  const int64_t dims[] = {2, 3}; // N, M
  std::vector<int64_t> v(2 * 3 * 2);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<int64_t>(i);
  float total = 0;
  const void *inputs[] = {v.data()};
  void *outputs[] = {&total};
  ASSERT_EQ(kiln_rt_invoke(model_, 1, dims, inputs, outputs), KILN_OK) << error();
  EXPECT_EQ(total, 66.0f);
  EXPECT_EQ(seen.descs[0].sizes[0], 8 * 2 * 3 + 3 * 3 * 3); // 8*N*M + 3*M*M
  EXPECT_EQ(seen.descs[3].sizes, (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(seen.descs[3].strides, (std::vector<int64_t>{6, 2, 1}));
  EXPECT_EQ(seen.descs[4].aligned, &total);
  EXPECT_EQ(seen.descs[4].offset, 0);
  // Descriptors of one call are distinct, and parameters come in manifest order.
  EXPECT_NE(seen.raw[1], seen.raw[2]);
  EXPECT_EQ(seen.descs[1].sizes, (std::vector<int64_t>{4, 3}));
}

TEST_F(Invoke, SymbolicDimBelowOneIsRejected) {
  float x[3] = {}, out[4] = {};
  for (int64_t bad : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    EXPECT_EQ(predict(bad, x, out), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(error(), "symbolic dim 'B' of entry 'predict' must be >= 1, got " +
                           std::to_string(bad));
  }
  const int64_t dims[] = {1, 0};
  int64_t v[2] = {};
  const void *inputs[] = {v};
  void *outputs[] = {out};
  EXPECT_EQ(kiln_rt_invoke(model_, 1, dims, inputs, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(error(), "symbolic dim 'M' of entry 'stats' must be >= 1, got 0");
  EXPECT_EQ(seen.calls, 0);
}

TEST_F(Invoke, NullArguments) {
  float x[3] = {}, out[4] = {};
  const void *inputs[] = {x};
  void *outputs[] = {out};
  const int64_t batch = 1;
  EXPECT_EQ(kiln_rt_invoke(nullptr, 0, &batch, inputs, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_rt_last_error(nullptr)).find("model is NULL"), std::string::npos);

  EXPECT_EQ(predict(1, nullptr, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(error(), "input 'x' of entry 'predict' is NULL");
  EXPECT_EQ(predict(1, x, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(error(), "output 'out' of entry 'predict' is NULL");
  EXPECT_EQ(kiln_rt_invoke(model_, 0, nullptr, inputs, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("dims"), std::string::npos) << error();
  EXPECT_EQ(kiln_rt_invoke(model_, 0, &batch, nullptr, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("input"), std::string::npos) << error();
  EXPECT_EQ(kiln_rt_invoke(model_, 0, &batch, inputs, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("output"), std::string::npos) << error();
  EXPECT_EQ(seen.calls, 0);
}

TEST_F(Invoke, EntryIndexOutOfRange) {
  const int64_t batch = 1;
  for (int32_t index : {-1, 2, INT32_MAX}) {
    EXPECT_EQ(kiln_rt_invoke(model_, index, &batch, nullptr, nullptr),
              KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(error(), "entry index " + std::to_string(index) +
                           " is out of range: model 'mlp' has 2 entries");
  }
}

TEST_F(Invoke, OverflowingSizesAreRejected) {
  float x[3] = {}, out[4] = {};
  // x is B*3 floats: 4 * 3 * B overflows int64 long before the arena does.
  EXPECT_EQ(predict(INT64_MAX / 4, x, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("input 'x' of entry 'predict'"), std::string::npos) << error();
  // The arena's 3*M*M term overflows while v[N, M, 2] (i64) still fits.
  const int64_t dims[] = {1, int64_t{1} << 31};
  int64_t v[2] = {};
  const void *inputs[] = {v};
  void *outputs[] = {out};
  EXPECT_EQ(kiln_rt_invoke(model_, 1, dims, inputs, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("arena of entry 'stats'"), std::string::npos) << error();
  EXPECT_EQ(seen.calls, 0);
}

TEST_F(Invoke, ArenaIsReusedAndGrows) {
  std::vector<float> x(3 * 8), out(4 * 8);
  ASSERT_EQ(predict(4, x.data(), out.data()), KILN_OK);
  void *first = seen.descs[0].aligned;
  ASSERT_EQ(predict(2, x.data(), out.data()), KILN_OK); // smaller: same arena
  EXPECT_EQ(seen.descs[0].aligned, first);
  EXPECT_EQ(seen.descs[0].sizes[0], 4096 + 1536 * 2);
  ASSERT_EQ(predict(8, x.data(), out.data()), KILN_OK); // larger: grown
  EXPECT_EQ(seen.descs[0].sizes[0], 4096 + 1536 * 8);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(seen.descs[0].aligned) % 64, 0u);
  void *grown = seen.descs[0].aligned;
  ASSERT_EQ(predict(1, x.data(), out.data()), KILN_OK);
  EXPECT_EQ(seen.descs[0].aligned, grown);
}

TEST_F(Invoke, SuccessKeepsTheLastError) {
  float x[3] = {}, out[4] = {};
  EXPECT_EQ(predict(0, x, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error(), "");
  ASSERT_EQ(predict(1, x, out), KILN_OK);
  // A later success leaves the last failure's message in place (like errno).
  EXPECT_NE(error(), "");
}

// Two threads in one model at once: the second finds the arena busy and gets
// its own, which must not alias the first's.
std::promise<void> firstEntered, secondDone;
std::atomic<void *> firstArena{nullptr}, secondArena{nullptr};

void blockingEntry(void **descriptors) {
  void *arena = readDesc(descriptors[0], 1).aligned;
  void *none = nullptr;
  if (firstArena.compare_exchange_strong(none, arena)) { // the first caller
    firstEntered.set_value();
    secondDone.get_future().wait();
  } else {
    secondArena = arena;
  }
}

TEST(InvokeConcurrency, BusyArenaIsNotShared) {
  TempDir dir;
  std::string path = dir.write("mlp.safetensors", buildSafetensors(modelTensors()));
  const kiln_entry_fn entries[2] = {blockingEntry, blockingEntry};
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_rt_create(kManifest.data(), kManifest.size(), entries, 2, path.c_str(),
                           nullptr, &model),
            KILN_OK);
  float x[3] = {}, out[4] = {}, x2[3] = {}, out2[4] = {};
  auto call = [model](float *in, float *o) {
    const int64_t batch = 1;
    const void *inputs[] = {in};
    void *outputs[] = {o};
    return kiln_rt_invoke(model, 0, &batch, inputs, outputs);
  };
  auto first = std::async(std::launch::async, call, x, out);
  firstEntered.get_future().wait();
  EXPECT_EQ(call(x2, out2), KILN_OK);
  secondDone.set_value();
  EXPECT_EQ(first.get(), KILN_OK);
  ASSERT_NE(firstArena.load(), nullptr);
  ASSERT_NE(secondArena.load(), nullptr);
  EXPECT_NE(firstArena.load(), secondArena.load());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(secondArena.load()) % 64, 0u);
  kiln_rt_destroy(model);
}

} // namespace

// A thread count above the CPUs available is capped there (pinned workers
// beyond them would only take turns); 1 stays 1, 0 means all of them.
TEST_F(Invoke, ThreadCountIsCappedAtTheAvailableCpus) {
  std::string path = dir_.write("threads.safetensors", buildSafetensors(modelTensors()));
  std::vector<float> x(3, 1.0f), out(4);
  const int32_t cpus = kiln_available_cpus();
  for (auto [asked, expected] : {std::pair{1000000, cpus}, {0, cpus}, {1, 1}}) {
    kiln_rt_destroy(model_);
    kiln_options options{asked};
    ASSERT_EQ(kiln_rt_create(kManifest.data(), kManifest.size(), kEntries, 2, path.c_str(),
                             &options, &model_),
              KILN_OK)
        << kiln_rt_last_error(nullptr);
    ASSERT_EQ(predict(1, x.data(), out.data()), KILN_OK) << error();
    EXPECT_EQ(seen.threads, expected) << "num_threads = " << asked;
  }
}

// Device pointers are for models compiled for a GPU; a host model refuses
// them before touching anything.
TEST_F(Invoke, OnDeviceNeedsAGpuModel) {
  float x[3] = {}, out[4] = {};
  const void *inputs[] = {x};
  void *outputs[] = {out};
  const int64_t batch = 1;
  EXPECT_EQ(kiln_rt_invoke_on_device(model_, 0, &batch, inputs, outputs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(error().find("takes device pointers only in a library compiled for a GPU"),
            std::string::npos)
      << error();
  EXPECT_EQ(seen.calls, 0);
}
