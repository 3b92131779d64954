// kiln_rt_create / destroy / last_error, and how weights are bound to the
// manifest's parameters (in place when aligned, copied when not).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dnnl_cache.h"
#include "error.h"
#include "kiln/runtime.h"
#include "manifest.h"
#include "packed_weights.h"
#include "test_model.h"
#include "weights.h"

using namespace kiln::test;

namespace {

void noopEntry(void **) {}
const kiln_entry_fn kEntries[2] = {noopEntry, noopEntry};
const kiln_entry_fn kTrainEntries[1] = {noopEntry};

class Create : public ::testing::Test {
protected:
  // Creates a model from the test manifest and a file holding tensors.
  int32_t create(const std::vector<StTensor> &tensors, unsigned dataStartMod = 0) {
    path_ = dir_.write("model.safetensors", buildSafetensors(tensors, dataStartMod));
    return createFrom(path_.c_str());
  }
  int32_t createFrom(const char *path, const std::string &manifest = kManifest,
                     const kiln_entry_fn *entries = kEntries, int32_t numEntries = 2,
                     const kiln_options *options = nullptr) {
    kiln_rt_destroy(model_);
    model_ = reinterpret_cast<kiln_model *>(uintptr_t{0xdeadbeef}); // must be overwritten
    int32_t status = kiln_rt_create(manifest.data(), manifest.size(), entries, numEntries, path,
                                    options, &model_);
    message_ = kiln_rt_last_error(nullptr);
    if (status != KILN_OK) {
      EXPECT_EQ(model_, nullptr);
    }
    return status;
  }
  void expectMessage(const std::vector<std::string> &fragments) {
    for (const std::string &f : fragments)
      EXPECT_NE(message_.find(f), std::string::npos) << "'" << f << "' not in: " << message_;
  }
  void TearDown() override { kiln_rt_destroy(model_); }

  TempDir dir_;
  std::string path_, message_;
  kiln_model *model_ = nullptr;
};

TEST_F(Create, ValidModel) {
  ASSERT_EQ(create(modelTensors()), KILN_OK) << message_;
  ASSERT_NE(model_, nullptr);
  EXPECT_STREQ(kiln_rt_last_error(model_), "");
  kiln_options options{2};
  ASSERT_EQ(createFrom(path_.c_str(), kManifest, kEntries, 2, &options), KILN_OK) << message_;
  // Tensor order in the file does not matter.
  std::vector<StTensor> reversed = modelTensors();
  std::swap(reversed[0], reversed[1]);
  EXPECT_EQ(create(reversed), KILN_OK) << message_;
}

TEST_F(Create, MissingTensor) {
  EXPECT_EQ(create({f32Tensor("fc1.weight", {4, 3})}), KILN_ERROR_WEIGHTS_MISMATCH);
  expectMessage({"parameter 'fc1.bias' (f32[4]) is missing from weights file", path_});
}

TEST_F(Create, ExtraTensor) {
  std::vector<StTensor> tensors = modelTensors();
  tensors.push_back(f32Tensor("foo", {3}));
  EXPECT_EQ(create(tensors), KILN_ERROR_WEIGHTS_MISMATCH);
  expectMessage({"unexpected tensor 'foo' (f32[3]) in weights file", path_, "model 'mlp'"});
}

TEST_F(Create, WrongShape) {
  std::vector<StTensor> tensors = modelTensors();
  tensors[0] = f32Tensor("fc1.weight", {4, 2});
  EXPECT_EQ(create(tensors), KILN_ERROR_WEIGHTS_MISMATCH);
  expectMessage({"parameter 'fc1.weight': expected f32[4, 3], the weights file", path_,
                 "has f32[4, 2]"});
  tensors[0] = f32Tensor("fc1.weight", {12});
  EXPECT_EQ(create(tensors), KILN_ERROR_WEIGHTS_MISMATCH);
  expectMessage({"'fc1.weight'", "f32[4, 3]", "f32[12]"});
}

TEST_F(Create, WrongDtype) {
  std::vector<StTensor> tensors = modelTensors();
  tensors[1] = {"fc1.bias", "I32", {4}, std::string(16, '\0')};
  EXPECT_EQ(create(tensors), KILN_ERROR_WEIGHTS_MISMATCH);
  expectMessage({"parameter 'fc1.bias': expected f32[4]", "has i32[4]"});
}

TEST_F(Create, FormatAndIoErrors) {
  path_ = dir_.write("bad.safetensors", "garbage");
  EXPECT_EQ(createFrom(path_.c_str()), KILN_ERROR_FORMAT);
  expectMessage({"truncated", path_});
  std::string missing = (dir_.path() / "nope.safetensors").string();
  EXPECT_EQ(createFrom(missing.c_str()), KILN_ERROR_IO);
  expectMessage({"cannot open weights file '" + missing + "'", std::strerror(ENOENT)});
}

TEST_F(Create, NullArguments) {
  path_ = dir_.write("model.safetensors", buildSafetensors(modelTensors()));
  EXPECT_EQ(createFrom(nullptr), KILN_ERROR_INVALID_ARGUMENT);
  expectMessage({"no weights file given"});
  EXPECT_EQ(createFrom(path_.c_str(), kManifest, nullptr, 2), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_rt_create(kManifest.data(), kManifest.size(), kEntries, 2, path_.c_str(),
                           nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_rt_last_error(nullptr)).find("NULL"), std::string::npos);
  kiln_options negative{-1};
  EXPECT_EQ(createFrom(path_.c_str(), kManifest, kEntries, 2, &negative),
            KILN_ERROR_INVALID_ARGUMENT);
  expectMessage({"num_threads"});
  kiln_rt_destroy(nullptr); // a no-op
}

TEST_F(Create, MalformedManifestIsInternal) {
  path_ = dir_.write("model.safetensors", buildSafetensors(modelTensors()));
  auto replaced = [](std::string from, std::string to) {
    std::string m = kManifest;
    size_t at = m.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return m.replace(at, from.size(), to);
  };
  const std::string broken[] = {
      "{",
      "[]",
      replaced("\"model\": \"mlp\",", ""),
      replaced("\"dtype\": \"f32\", \"shape\": [4, 3]", "\"dtype\": \"f17\", \"shape\": [4, 3]"),
      replaced("[4, 3]", "[4, \"B\"]"),   // a parameter with a symbolic dim
      replaced("[4, 3]", "[4, -3]"),
      replaced("[\"B\", 3]", "[\"C\", 3]"), // not a symbol of the entry
      replaced("\"symbols\": [\"B\"]", "\"symbols\": [\"B\", \"B\"]"),
      replaced("{\"coeff\": 4096", "{\"coeff\": -1"),
      replaced("\"coeff\": 1536, \"symbols\": [\"B\"]", "\"coeff\": 1536, \"symbols\": [\"Q\"]"),
      replaced("\"name\": \"fc1.bias\"", "\"name\": \"fc1.weight\""),
      replaced("\"name\": \"stats\"", "\"name\": \"predict\""),
      replaced("\"name\": \"x\",", ""),
      // Class indices only on an integer input, a count >= 1.
      replaced("\"shape\": [\"B\", 3]}", "\"shape\": [\"B\", 3], \"classes\": 10}"),
      replaced("\"shape\": [\"N\", \"M\", 2]}", "\"shape\": [\"N\", \"M\", 2], \"classes\": 0}"),
  };
  for (const std::string &manifest : broken) {
    EXPECT_EQ(createFrom(path_.c_str(), manifest), KILN_ERROR_INTERNAL) << manifest;
    expectMessage({"manifest"});
  }
  EXPECT_EQ(createFrom(path_.c_str(), kManifest, kEntries, 1), KILN_ERROR_INTERNAL);
  expectMessage({"2 entries", "passed 1"});
  const kiln_entry_fn withNull[2] = {noopEntry, nullptr};
  EXPECT_EQ(createFrom(path_.c_str(), kManifest, withNull, 2), KILN_ERROR_INTERNAL);
  expectMessage({"'stats'"});
}

// The manifest's "prepare" list: create makes the oneDNN primitive of each
// listed static call (kernels it does not know are left to their first call),
// and a second model with the same call reuses the cached primitive.
TEST_F(Create, PreparesListedOneDnnKernels) {
  path_ = dir_.write("model.safetensors", buildSafetensors(modelTensors()));
  std::string manifest = kManifest;
  manifest.replace(manifest.rfind('}'), 1, R"json(, "prepare": [
    {"kernel": "kiln_rt_dnnl_matmul_bias_f32", "scalars": [34], "operands": [
      {"name": "0", "dtype": "f32", "shape": [61, 128]},
      {"name": "1", "dtype": "f32", "shape": [96, 128]},
      {"name": "2", "dtype": "f32", "shape": [96]},
      {"name": "3", "dtype": "f32", "shape": [61, 96]} ]},
    {"kernel": "kiln_rt_some_future_kernel", "operands": []} ]})json");
  int32_t before = kiln_dnnl_cache_size();
  ASSERT_EQ(createFrom(path_.c_str(), manifest), KILN_OK) << message_;
  EXPECT_EQ(kiln_dnnl_cache_size(), before + 1);
  ASSERT_EQ(createFrom(path_.c_str(), manifest), KILN_OK) << message_;
  EXPECT_EQ(kiln_dnnl_cache_size(), before + 1);

  std::string bad = manifest;
  bad.replace(bad.find("[34]"), 4, "[\"x\"]");
  EXPECT_EQ(createFrom(path_.c_str(), bad), KILN_ERROR_INTERNAL);
  expectMessage({"scalar 0 of prepared kernel 'kiln_rt_dnnl_matmul_bias_f32'"});
}

// A packing kernel's call whose b is a parameter: create packs that weight
// before any call (once, whichever calls list it), for a model without train
// entries only; a binding to a parameter of another shape is refused.
TEST_F(Create, PacksListedWeights) {
  path_ = dir_.write("model.safetensors", buildSafetensors(modelTensors()));
  // Two calls on fc1.weight [4, 3] as a transposed b: with and without a bias.
  auto withPrepare = [](const std::string &manifest, const std::string &param) {
    auto call = [&](const std::string &kernel, const std::string &bias) {
      return R"json({"kernel": "kiln_rt_)json" + kernel + R"json(", "scalars": [2], "operands": [
        {"name": "0", "dtype": "f32", "shape": [1, 3]},
        {"name": "1", "dtype": "f32", "shape": [4, 3]},)json" +
             bias + R"json(
        {"name": "3", "dtype": "f32", "shape": [1, 4]} ],
       "weight": {"operand": 1, "param": )json" +
             param + "}}";
    };
    std::string prepared = manifest;
    prepared.replace(prepared.rfind('}'), 1,
                     ", \"prepare\": [" + call("native_bf16_matmul_f32", "") + ", " +
                         call("native_bf16_matmul_bias_f32",
                              R"json({"name": "2", "dtype": "f32", "shape": [4]},)json") +
                         "]}");
    return prepared;
  };
  ASSERT_EQ(createFrom(path_.c_str(), withPrepare(kManifest, "0")), KILN_OK) << message_;
  EXPECT_EQ(kiln_packed_weights_count(model_), 1);
  kiln_rt_destroy(model_);
  EXPECT_EQ(kiln_packed_weights_count(model_), 0);
  model_ = nullptr;

  ASSERT_EQ(createFrom(path_.c_str(), withPrepare(kSgdMomentumManifest, "0"), kTrainEntries, 1),
            KILN_OK)
      << message_;
  EXPECT_EQ(kiln_packed_weights_count(model_), 0);

  EXPECT_EQ(createFrom(path_.c_str(), withPrepare(kManifest, "1")), KILN_ERROR_INTERNAL);
  expectMessage({"operand 1 of prepared kernel 'kiln_rt_native_bf16_matmul_f32' is not shaped "
                 "as parameter 'fc1.bias'"});
  EXPECT_EQ(createFrom(path_.c_str(), withPrepare(kManifest, "2")), KILN_ERROR_INTERNAL);
  expectMessage({"names no operand or parameter"});
}

TEST_F(Create, ThreadLocalErrorSlot) {
  path_ = dir_.write("model.safetensors", buildSafetensors(modelTensors()));
  EXPECT_EQ(createFrom(nullptr), KILN_ERROR_INVALID_ARGUMENT);
  std::string other;
  std::thread([&] { other = kiln_rt_last_error(nullptr); }).join();
  EXPECT_EQ(other, ""); // another thread has seen no failure
  EXPECT_EQ(std::string(kiln_rt_last_error(nullptr)).rfind("no weights file given", 0), 0u);
}

// Loads the test model's weights with the data section starting at the
// given file offset modulo 8 and returns the binding.
class Weights : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(kiln_manifest_parse(kManifest.data(), kManifest.size(), &manifest_, nullptr),
              KILN_OK)
        << kiln_error_text(nullptr);
  }
  void TearDown() override {
    kiln_weights_free(&weights_);
    kiln_manifest_free(&manifest_);
  }
  void load(unsigned dataStartMod) {
    kiln_weights_free(&weights_);
    std::string path = dir_.write("w.safetensors", buildSafetensors(modelTensors(), dataStartMod));
    ASSERT_EQ(kiln_weights_load(&manifest_, path.c_str(), &weights_, nullptr), KILN_OK)
        << kiln_error_text(nullptr);
  }
  bool inMapping(const void *p) const {
    auto *base = static_cast<const unsigned char *>(weights_.file.map);
    auto *q = static_cast<const unsigned char *>(p);
    return q >= base && q < base + weights_.file.map_size;
  }
  void expectValues() {
    float w[12], b[4];
    std::memcpy(w, weights_.data[0], sizeof w);
    std::memcpy(b, weights_.data[1], sizeof b);
    for (int i = 0; i < 12; ++i)
      EXPECT_EQ(w[i], static_cast<float>(i));
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(b[i], 100.0f + static_cast<float>(i));
  }

  TempDir dir_;
  kiln_manifest manifest_{};
  kiln_weights weights_{};
};

TEST_F(Weights, AlignedTensorsAreUsedInPlace) {
  load(0);
  ASSERT_EQ(weights_.num_params, 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(inMapping(weights_.data[i])) << i;
    EXPECT_EQ(weights_.copies[i], nullptr) << i;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(weights_.data[i]) % 4, 0u);
  }
  expectValues();
}

TEST_F(Weights, MisalignedTensorsAreCopied) {
  for (unsigned mod : {1u, 2u, 3u, 5u}) {
    load(mod);
    for (int i = 0; i < 2; ++i) {
      EXPECT_FALSE(inMapping(weights_.data[i])) << i;
      EXPECT_EQ(weights_.data[i], weights_.copies[i]) << i;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(weights_.data[i]) % 64, 0u);
    }
    expectValues();
  }
  load(4); // 4-byte aligned is enough for f32
  EXPECT_TRUE(inMapping(weights_.data[0]));
  EXPECT_EQ(weights_.copies[0], nullptr);
  expectValues();
}

// Weights compiled into a library: an inference model reads them where they
// lie; a model that trains gets its own copy, since the library's read-only
// data cannot be written.
TEST_F(Weights, EmbeddedBytesAreUsedInPlaceUnlessTheModelTrains) {
  std::string bytes = buildSafetensors(modelTensors());
  auto *begin = reinterpret_cast<const unsigned char *>(bytes.data());
  ASSERT_EQ(
      kiln_weights_load_memory(&manifest_, begin, bytes.size(), "embedded", &weights_, nullptr),
      KILN_OK)
      << kiln_error_text(nullptr);
  EXPECT_EQ(weights_.file.map, nullptr); // not owned: nothing to free
  for (int i = 0; i < 2; ++i) {
    auto *p = static_cast<const unsigned char *>(weights_.data[i]);
    EXPECT_TRUE(p >= begin && p < begin + bytes.size()) << i;
  }
  expectValues();

  kiln_manifest trains{};
  ASSERT_EQ(kiln_manifest_parse(kSgdMomentumManifest.data(), kSgdMomentumManifest.size(), &trains,
                                nullptr),
            KILN_OK);
  kiln_weights copy{};
  ASSERT_EQ(kiln_weights_load_memory(&trains, begin, bytes.size(), "embedded", &copy, nullptr),
            KILN_OK)
      << kiln_error_text(nullptr);
  EXPECT_TRUE(copy.file.copied);
  for (int i = 0; i < 2; ++i) {
    auto *p = static_cast<const unsigned char *>(copy.data[i]);
    EXPECT_FALSE(p >= begin && p < begin + bytes.size()) << i;
  }
  EXPECT_EQ(std::memcmp(copy.data[0], weights_.data[0], 12 * sizeof(float)), 0);
  kiln_weights_free(&copy);
  kiln_manifest_free(&trains);
}

TEST_F(Weights, EmbeddedBytesAreCheckedLikeAFile) {
  std::string bytes = buildSafetensors(modelTensors());
  auto *begin = reinterpret_cast<const unsigned char *>(bytes.data());
  EXPECT_EQ(
      kiln_weights_load_memory(&manifest_, begin, 12, "compiled into model m", &weights_, nullptr),
      KILN_ERROR_FORMAT);
  EXPECT_NE(std::string(kiln_error_text(nullptr)).find("'compiled into model m' is truncated"),
            std::string::npos)
      << kiln_error_text(nullptr);
}

TEST_F(Create, EmbeddedWeightsUnlessAPathIsGiven) {
  std::string bytes = buildSafetensors(modelTensors());
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_rt_create_embedded(kManifest.data(), kManifest.size(), kEntries, 2, nullptr,
                                    bytes.data(), bytes.size(), nullptr, nullptr, &model),
            KILN_OK)
      << kiln_rt_last_error(nullptr);
  kiln_rt_destroy(model);

  // A path wins over the embedded bytes: here a file that does not exist.
  std::string missing = (dir_.path() / "missing.safetensors").string();
  EXPECT_EQ(kiln_rt_create_embedded(kManifest.data(), kManifest.size(), kEntries, 2,
                                    missing.c_str(), bytes.data(), bytes.size(), nullptr, nullptr,
                                    &model),
            KILN_ERROR_IO);
  EXPECT_EQ(model, nullptr);
}

// A model compiled for a GPU, created where the CUDA driver is missing or is
// not one: NO_DEVICE and a message that says what to do, nothing kept.
TEST_F(Create, GpuModelWithoutADriverSaysNoDevice) {
  std::string bytes = buildSafetensors(modelTensors());
  static const char kPtx[] = ".version 8.0\n.target sm_80\n.address_size 64\n";
  const char *images[] = {kPtx};
  const int32_t kernelImages[] = {0};
  const char *kernelNames[] = {"main_kernel"};
  kiln_gpu_program program{1, images, 1, kernelImages, kernelNames};
  struct Case {
    const char *driver;
    const char *message;
  };
  for (Case c : {Case{"/nonexistent/libcuda.so.1", "the CUDA driver cannot be loaded"},
                 Case{"libm.so.6", "lacks cuInit"}}) {
    ASSERT_EQ(setenv("KILN_CUDA_DRIVER", c.driver, 1), 0);
    kiln_model *model = reinterpret_cast<kiln_model *>(1);
    EXPECT_EQ(kiln_rt_create_embedded(kManifest.data(), kManifest.size(), kEntries, 2, nullptr,
                                      bytes.data(), bytes.size(), &program, nullptr, &model),
              KILN_ERROR_NO_DEVICE)
        << c.driver;
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(kiln_rt_last_error(nullptr)).find(c.message), std::string::npos)
        << kiln_rt_last_error(nullptr);
  }
  unsetenv("KILN_CUDA_DRIVER");
}

} // namespace
