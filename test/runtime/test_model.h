// A small model shared by the create/invoke tests: its manifest (shaped like
// docs/abi.md's), a matching weights file, and helpers to read the memref
// descriptors a kiln_entry_fn receives.
#ifndef KILN_TEST_RUNTIME_TEST_MODEL_H
#define KILN_TEST_RUNTIME_TEST_MODEL_H

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "safetensors_writer.h"

namespace kiln::test {

// A manifest of model "mlp" whose parameters are fc1.weight [4, 3] and
// fc1.bias [4] (modelTensors), with `entries`: the entries array's contents.
inline std::string mlpManifest(const std::string &entries) {
  return R"json({
  "model": "mlp",
  "params": [
    {"name": "fc1.weight", "dtype": "f32", "shape": [4, 3]},
    {"name": "fc1.bias", "dtype": "f32", "shape": [4]}
  ],
  "entries": [ )json" +
         entries + " ]\n}";
}

// Entry 0, "predict": out[B, 4] = x[B, 3] @ fc1.weight[4, 3]^T + fc1.bias[4].
// Entry 1, "stats": two symbols, an i64 rank-3 input and a rank-0 output.
inline const std::string kManifest = mlpManifest(R"json({
    "name": "predict",
    "symbols": ["B"],
    "inputs":  [ {"name": "x",   "dtype": "f32", "shape": ["B", 3]} ],
    "outputs": [ {"name": "out", "dtype": "f32", "shape": ["B", 4]} ],
    "arena": [ {"coeff": 4096, "symbols": []}, {"coeff": 1536, "symbols": ["B"]} ]
  }, {
    "name": "stats",
    "symbols": ["N", "M"],
    "inputs":  [ {"name": "v", "dtype": "i64", "shape": ["N", "M", 2]} ],
    "outputs": [ {"name": "total", "dtype": "f32", "shape": []} ],
    "arena": [ {"coeff": 8, "symbols": ["N", "M"]}, {"coeff": 3, "symbols": ["M", "M"]} ]
  } )json");

// The same parameters with one train entry (SGD with momentum, so the step
// keeps optimizer state): loss and the two gradients.
inline const std::string kSgdMomentumManifest = mlpManifest(R"json({
    "name": "step",
    "symbols": ["B"],
    "inputs":  [ {"name": "x", "dtype": "f32", "shape": ["B", 3]} ],
    "outputs": [ {"name": "loss", "dtype": "f32", "shape": []},
                 {"name": "grad.fc1.weight", "dtype": "f32", "shape": [4, 3]},
                 {"name": "grad.fc1.bias", "dtype": "f32", "shape": [4]} ],
    "arena": [ {"coeff": 256, "symbols": ["B"]} ],
    "train": {"optimizer": "sgd", "settings": {"momentum": 0.9}, "params": [0, 1]}
  } )json");

// fc1.weight[j][k] = j * 3 + k, fc1.bias[j] = 100 + j.
inline std::vector<StTensor> modelTensors() {
  return {f32Tensor("fc1.weight", {4, 3}, 0.0f), f32Tensor("fc1.bias", {4}, 100.0f)};
}

// A view of one ranked memref descriptor.
struct Desc {
  void *allocated;
  void *aligned;
  int64_t offset;
  std::vector<int64_t> sizes, strides;
};

inline Desc readDesc(const void *descriptor, int rank) {
  const char *p = static_cast<const char *>(descriptor);
  Desc d;
  std::memcpy(&d.allocated, p, sizeof(void *));
  std::memcpy(&d.aligned, p + sizeof(void *), sizeof(void *));
  std::memcpy(&d.offset, p + 2 * sizeof(void *), sizeof(int64_t));
  const char *sizes = p + 2 * sizeof(void *) + sizeof(int64_t);
  for (int i = 0; i < rank; ++i) {
    int64_t size, stride;
    std::memcpy(&size, sizes + i * sizeof(int64_t), sizeof size);
    std::memcpy(&stride, sizes + (rank + i) * sizeof(int64_t), sizeof stride);
    d.sizes.push_back(size);
    d.strides.push_back(stride);
  }
  return d;
}

} // namespace kiln::test

#endif
