// kiln_rt_train_step with a stand-in compiled entry: the gradients go where
// the gradient space allows in the step's arena (a dead activation's bytes,
// or past the arena's own), the update reads them there, and a step whose
// model arena is busy (a concurrent call) gets an arena of its own.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "kiln/runtime.h"
#include "test_model.h"

using namespace kiln::test;

namespace {

// fc1.weight [4, 3] and fc1.bias [4] trained by plain SGD. The step's arena
// is 256 bytes, an activation in use until position 1; the weight's gradient
// is first written at 1 (so past the arena), the bias's at 2 (so over the
// activation, dead by then).
const std::string kTrainManifest = mlpManifest(R"json({
    "name": "hold",
    "inputs": [], "outputs": [],
    "arena": [ {"coeff": 4096, "symbols": []} ]
  }, {
    "name": "step",
    "symbols": ["B"],
    "inputs":  [ {"name": "x", "dtype": "f32", "shape": ["B", 3]} ],
    "outputs": [ {"name": "loss", "dtype": "f32", "shape": []},
                 {"name": "grad.fc1.weight", "dtype": "f32", "shape": [4, 3]},
                 {"name": "grad.fc1.bias", "dtype": "f32", "shape": [4]} ],
    "arena": [ {"coeff": 256, "symbols": []} ],
    "train": {"optimizer": "sgd", "settings": {}, "params": [0, 1],
              "grad_space": {"births": [1, 2],
                             "busy": [{"offset": [], "size": [{"coeff": 256, "symbols": []}],
                                       "last": 1}]}}
  } )json");

struct StepSeen {
  const char *arena = nullptr;
  int64_t arena_bytes = 0;
  const char *grad_weight = nullptr, *grad_bias = nullptr;
  std::vector<float> weight, bias; // the weights the step saw
};
StepSeen stepSeen;

// descriptors: arena, fc1.weight, fc1.bias, x, loss, grad.fc1.weight, grad.fc1.bias.
void stepEntry(void **d) {
  Desc arena = readDesc(d[0], 1), w = readDesc(d[1], 2), b = readDesc(d[2], 1);
  stepSeen.arena = static_cast<const char *>(arena.aligned);
  stepSeen.arena_bytes = arena.sizes[0];
  const float *wv = static_cast<const float *>(w.aligned), *bv = static_cast<const float *>(b.aligned);
  stepSeen.weight.assign(wv, wv + 12);
  stepSeen.bias.assign(bv, bv + 4);
  // The forward's activation fills the arena; then the gradients are written.
  std::memset(arena.aligned, 0x7f, 256);
  *static_cast<float *>(readDesc(d[4], 0).aligned) = 1.5f;
  auto *gw = static_cast<float *>(readDesc(d[5], 2).aligned);
  auto *gb = static_cast<float *>(readDesc(d[6], 1).aligned);
  stepSeen.grad_weight = reinterpret_cast<const char *>(gw);
  stepSeen.grad_bias = reinterpret_cast<const char *>(gb);
  for (int i = 0; i < 12; ++i)
    gw[i] = 1.0f;
  for (int i = 0; i < 4; ++i)
    gb[i] = 2.0f;
}

std::promise<void> holdEntered, stepDone;
void holdEntry(void **) {
  holdEntered.set_value();
  stepDone.get_future().wait();
}

class TrainStep : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = dir_.write("mlp.safetensors", buildSafetensors(modelTensors()));
    const kiln_entry_fn entries[2] = {holdEntry, stepEntry};
    ASSERT_EQ(kiln_rt_create(kTrainManifest.data(), kTrainManifest.size(), entries, 2,
                             path_.c_str(), nullptr, &model_),
              KILN_OK)
        << kiln_rt_last_error(nullptr);
  }
  void TearDown() override { kiln_rt_destroy(model_); }
  int32_t step(float lr) {
    const int64_t batch = 2;
    float x[6] = {};
    const void *inputs[] = {x};
    float loss = 0.0f;
    int32_t status = kiln_rt_train_step(model_, 1, &batch, inputs, lr, &loss);
    EXPECT_TRUE(status != KILN_OK || loss == 1.5f);
    return status;
  }

  TempDir dir_;
  std::string path_;
  kiln_model *model_ = nullptr;
};

TEST_F(TrainStep, GradientsGoWhereTheirSpaceAllowsAndTheUpdateReadsThem) {
  ASSERT_EQ(step(0.5f), KILN_OK) << kiln_rt_last_error(model_);
  // The bias's gradient takes the activation's bytes; the weight's goes past.
  EXPECT_EQ(stepSeen.grad_bias, stepSeen.arena);
  EXPECT_EQ(stepSeen.grad_weight, stepSeen.arena + 256);
  EXPECT_EQ(stepSeen.arena_bytes, 256);
  size_t bytes = 0;
  const int64_t batch = 2;
  ASSERT_EQ(kiln_rt_train_memory(model_, 1, &batch, &bytes), KILN_OK);
  EXPECT_EQ(bytes, 256u + 64u); // 48 bytes of weight gradient, aligned
  // The next step sees w - 0.5 * 1 and b - 0.5 * 2 (modelTensors: w[i] = i,
  // b[i] = 100 + i).
  ASSERT_EQ(step(0.5f), KILN_OK);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(stepSeen.weight[i], float(i) - 0.5f) << i;
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(stepSeen.bias[i], 100.0f + float(i) - 1.0f) << i;
}

TEST_F(TrainStep, BusyModelArenaGivesTheStepItsOwn) {
  ASSERT_EQ(step(0.0f), KILN_OK);
  const char *modelArena = stepSeen.arena;
  // Another call holds the model's arena while the step runs.
  auto hold = std::async(std::launch::async, [this] {
    return kiln_rt_invoke(model_, 0, nullptr, nullptr, nullptr);
  });
  holdEntered.get_future().wait();
  EXPECT_EQ(step(0.25f), KILN_OK) << kiln_rt_last_error(model_);
  EXPECT_NE(stepSeen.arena, modelArena);
  EXPECT_EQ(stepSeen.grad_bias, stepSeen.arena);
  stepDone.set_value();
  EXPECT_EQ(hold.get(), KILN_OK);
  ASSERT_EQ(step(0.0f), KILN_OK);
  EXPECT_EQ(stepSeen.bias[0], 100.0f - 0.5f); // the update of the step in its own arena
}

} // namespace
