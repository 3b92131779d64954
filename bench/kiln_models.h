// The Kiln side of the bench: every entry of the kilnc-generated libraries
// (bench/workloads/*.kiln and examples/clip/clip.kiln), for one build variant.
// kiln_models.cpp is compiled once per variant (bench/CMakeLists.txt), each
// against libraries compiled with its own kilnc flags and symbol suffix:
//   Unfused  kiln-unfused  --fusion=false --backend=native  NAME_unfused_...
//   Native   kiln-native   --backend=native                 NAME_native_...
//   OneDNN   kiln-onednn   --backend=onednn                 NAME_onednn_...
//   Auto     kiln-auto     (defaults: fusion, auto)         NAME_auto_...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bench {

struct KilnModels {
  bool available = false;
  std::string variant, error;
  std::string compiler; // the kilnc and flags that built this variant
  // softmax_ce.kiln
  std::function<int(const float *logits, const int64_t *targets, float *loss)> ceForward;
  std::function<int(const float *logits, const int64_t *targets, float *loss, float *grad)> ceFwdBwd;
  // attention.kiln: q, k, v -> out
  using AttnFn = std::function<int(const float *, const float *, const float *, float *)>;
  AttnFn self256, causal256, self1024, causal1024, crossQformer;
  // projector.kiln
  std::function<int(const float *x, const float *w1, const float *b1, const float *w2,
                    const float *b2, float *out)>
      projMlp;
  std::function<int(const float *x, const float *w1, const float *w2, float *out)> projBare;
  // examples/clip/clip.kiln
  std::function<int(int64_t B, const float *images, float *out)> clipEncodeImage;
  std::vector<std::shared_ptr<void>> handles; // destroys the models
};

// threads goes to NAME_options.num_threads; noWeights is an empty .safetensors
// file for the models without parameters.
// A variant that was not built (KILN_BENCH_VARIANTS) returns available = false.
KilnModels makeKilnUnfused(int threads, const char *clipWeights, const char *noWeights);
KilnModels makeKilnNative(int threads, const char *clipWeights, const char *noWeights);
KilnModels makeKilnOneDNN(int threads, const char *clipWeights, const char *noWeights);
KilnModels makeKilnAuto(int threads, const char *clipWeights, const char *noWeights);

} // namespace bench
