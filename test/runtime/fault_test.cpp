// Fault injection (docs/reliability.md): every heap allocation the runtime
// makes while creating a model, running a call or a train step fails in turn
// (alloc.h's hook, compiled into the unit tests' runtime), alone or with every
// allocation after it (so that fallbacks fail too). Each failure must
// either come back as KILN_ERROR_OUT_OF_MEMORY with a message or be absorbed
// by a fallback (a call whose shared arena cannot be had makes its own, and
// succeeds); once the model is destroyed every allocation must have been
// released.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "kiln/runtime.h"
#include "test_model.h"

using namespace kiln::test;

namespace {

void predictEntry(void **d) {
  Desc x = readDesc(d[3], 2), out = readDesc(d[4], 2);
  for (int64_t i = 0; i < x.sizes[0] * 4; ++i)
    static_cast<float *>(out.aligned)[i] = 1.0f;
}
void statsEntry(void **d) { *static_cast<float *>(readDesc(d[4], 0).aligned) = 0.0f; }
const kiln_entry_fn kEntries[2] = {predictEntry, statsEntry};

void stepEntry(void **d) {
  *static_cast<float *>(readDesc(d[4], 0).aligned) = 0.5f;
  for (int i = 0; i < 12; ++i)
    static_cast<float *>(readDesc(d[5], 2).aligned)[i] = 0.25f;
  for (int i = 0; i < 4; ++i)
    static_cast<float *>(readDesc(d[6], 1).aligned)[i] = 0.125f;
}
const kiln_entry_fn kTrainEntries[1] = {stepEntry};

struct Model {
  const std::string &manifest;
  const kiln_entry_fn *entries;
  int32_t numEntries;
};

class Faults : public ::testing::Test {
protected:
  void SetUp() override {
    kiln_fault_fail_nth(-1, false);
    path_ = dir_.write("mlp.safetensors", buildSafetensors(modelTensors()));
  }
  void TearDown() override { kiln_fault_fail_nth(-1, false); }

  kiln_model *create(const Model &m, int32_t *status) {
    kiln_model *model = nullptr;
    *status = kiln_rt_create(m.manifest.data(), m.manifest.size(), m.entries, m.numEntries,
                             path_.c_str(), nullptr, &model);
    return model;
  }

  // Fails allocation 0, 1, 2, ... of `run` (which gets a fresh model, made
  // with no fault, unless it creates one itself) until a run makes no more
  // allocations than that, first alone, then with all that follow it;
  // returns how many faults were injected.
  template <typename Run> int injectEach(const Model &m, bool runCreates, Run run) {
    return injectEach(m, runCreates, run, false) + injectEach(m, runCreates, run, true);
  }
  template <typename Run> int injectEach(const Model &m, bool runCreates, Run run, bool sticky) {
    int injected = 0, reported = 0;
    for (int64_t n = 0;; ++n) {
      int64_t live = kiln_fault_live();
      int32_t status = KILN_OK;
      kiln_model *model = runCreates ? nullptr : create(m, &status);
      EXPECT_EQ(status, KILN_OK) << kiln_rt_last_error(nullptr);
      kiln_fault_fail_nth(n, sticky);
      status = run(&model);
      bool triggered = kiln_fault_triggered();
      kiln_fault_fail_nth(-1, false);
      std::string message = kiln_rt_last_error(model);
      kiln_rt_destroy(model);
      EXPECT_EQ(kiln_fault_live(), live) << "allocation " << n << " failed: leaked";
      if (!triggered) {
        EXPECT_EQ(status, KILN_OK) << message;
        std::printf("%s: %d allocations failed in turn%s, %d reported as out of memory\n",
                    ::testing::UnitTest::GetInstance()->current_test_info()->name(), injected,
                    sticky ? " with all after them" : "", reported);
        return injected;
      }
      ++injected;
      EXPECT_TRUE(status == KILN_OK || status == KILN_ERROR_OUT_OF_MEMORY)
          << "allocation " << n << " failed, the status was " << status << ": " << message;
      if (status != KILN_OK) {
        ++reported;
        EXPECT_NE(message, "") << "allocation " << n;
      }
      if (n > 10000) {
        ADD_FAILURE() << "no end to the allocations";
        return injected;
      }
    }
  }

  TempDir dir_;
  std::string path_;
};

const Model kInference{kManifest, kEntries, 2};
const Model kTraining{kSgdMomentumManifest, kTrainEntries, 1};

TEST_F(Faults, EveryAllocationOfCreate) {
  for (const Model *m : {&kInference, &kTraining}) {
    int injected = injectEach(*m, true, [&](kiln_model **model) {
      int32_t status;
      *model = create(*m, &status);
      EXPECT_EQ(*model == nullptr, status != KILN_OK);
      return status;
    });
    EXPECT_GT(injected, 5) << "create made too few allocations to believe";
  }
}

TEST_F(Faults, EveryAllocationOfACall) {
  int injected = injectEach(kInference, false, [](kiln_model **model) {
    const int64_t batch = 3;
    std::vector<float> x(batch * 3, 1.0f), out(batch * 4);
    const void *inputs[] = {x.data()};
    void *outputs[] = {out.data()};
    return kiln_rt_invoke(*model, 0, &batch, inputs, outputs);
  });
  EXPECT_GE(injected, 1);
}

TEST_F(Faults, EveryAllocationOfATrainStep) {
  int injected = injectEach(kTraining, false, [](kiln_model **model) {
    const int64_t batch = 2;
    std::vector<float> x(batch * 3, 1.0f);
    const void *inputs[] = {x.data()};
    float loss = 0;
    int32_t status = KILN_OK;
    // Two steps: the first makes the optimizer state, the second uses it.
    for (int i = 0; i < 2 && status == KILN_OK; ++i)
      status = kiln_rt_train_step(*model, 0, &batch, inputs, 0.1f, &loss);
    return status;
  });
  EXPECT_GE(injected, 2);
}

std::string readFile(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A save that fails midway (here the file size limit, as a full disk would)
// reports it and leaves the previous file byte for byte, with no temporary
// file beside it: the runtime writes a temporary file and renames it.
TEST_F(Faults, SaveWeightsFailingMidwayKeepsThePreviousFile) {
  int32_t status;
  kiln_model *model = create(kInference, &status);
  ASSERT_EQ(status, KILN_OK) << kiln_rt_last_error(nullptr);
  std::filesystem::path saved = dir_.path() / "saved.safetensors";
  ASSERT_EQ(kiln_rt_save_weights(model, saved.c_str()), KILN_OK) << kiln_rt_last_error(model);
  std::string before = readFile(saved);
  ASSERT_GT(before.size(), 64u);

  rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 64; // bytes: the header alone is longer
  auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  status = kiln_rt_save_weights(model, saved.c_str());
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, oldHandler);

  EXPECT_EQ(status, KILN_ERROR_IO);
  EXPECT_NE(std::string(kiln_rt_last_error(model)), "");
  EXPECT_EQ(readFile(saved), before);
  for (const auto &entry : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << "left behind: " << entry.path();
  kiln_rt_destroy(model);
}

// A process killed while saving (SIGKILL, no cleanup) never leaves a partial
// file at the path: after each kill the file there is the previous save, whole
// (the runtime writes a temporary file, fsyncs it and renames it over). The
// parameter is 16 MB, so a save takes milliseconds and the kills, spread over
// 2-40 ms, land inside writes; a save writing the path in place would leave
// it truncated.
TEST_F(Faults, SaveWeightsKilledMidwayKeepsThePreviousFile) {
  const int64_t elements = int64_t{4} << 20;
  const std::string manifest = R"({"model": "big", "params": [{"name": "w", "dtype": "f32",
      "shape": [)" + std::to_string(elements) +
                               R"(]}], "entries": [], "prepare": []})";
  path_ = dir_.write("big.safetensors", buildSafetensors({f32Tensor("w", {elements}, 1.0f)}));
  kiln_model *model = nullptr;
  ASSERT_EQ(
      kiln_rt_create(manifest.data(), manifest.size(), nullptr, 0, path_.c_str(), nullptr, &model),
      KILN_OK)
      << kiln_rt_last_error(nullptr);
  std::filesystem::path saved = dir_.path() / "saved.safetensors";
  ASSERT_EQ(kiln_rt_save_weights(model, saved.c_str()), KILN_OK) << kiln_rt_last_error(model);
  const std::string whole = readFile(saved);

  for (int kill_after_ms : {2, 5, 9, 14, 20, 27, 33, 40}) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) { // saves until killed; _exit skips the test's handlers
      while (kiln_rt_save_weights(model, saved.c_str()) == KILN_OK) {
      }
      _exit(1);
    }
    usleep(kill_after_ms * 1000);
    kill(child, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the saving process stopped by itself";
    EXPECT_TRUE(readFile(saved) == whole) << "after a kill at " << kill_after_ms << " ms";
  }
  kiln_rt_destroy(model);
}

} // namespace
