//===- PipelineOptions.h - What kilnc's pipeline may choose -----*- C++ -*-===//
//
// Kept apart from Passes.h so that the driver can hold the options without
// MLIR's dialect headers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PIPELINEOPTIONS_H
#define KILN_PASSES_PIPELINEOPTIONS_H

#include <string>

namespace kiln {

/// Where matmuls and linear layers run (kiln-select-kernels): Kiln's
/// vectorized code, oneDNN primitives, or per op by size.
enum class Backend { Native, OneDnn, Auto };

/// The spellings of Backend on command lines and pass options, for
/// llvm::cl::values: `cl::values(KILN_BACKEND_VALUES)`.
#define KILN_BACKEND_VALUES                                                                        \
  clEnumValN(::kiln::Backend::Native, "native", "Kiln's vectorized code"),                         \
      clEnumValN(::kiln::Backend::OneDnn, "onednn", "oneDNN primitives"),                          \
      clEnumValN(::kiln::Backend::Auto, "auto", "per op, by size (the default)")

/// What matmuls and linear layers multiply in (kiln-select-kernels): f32, or
/// bf16 with f32 sums (operands rounded as the kernel packs them; inputs,
/// outputs, weights and every other op stay f32).
enum class Precision { F32, BF16 };

#define KILN_PRECISION_VALUES                                                                      \
  clEnumValN(::kiln::Precision::F32, "f32", "f32 throughout (the default)"),                       \
      clEnumValN(::kiln::Precision::BF16, "bf16",                                                  \
                 "matmuls and linear layers multiply bf16, sum in f32")

struct PipelineOptions {
  /// Where matmuls go (kiln-select-kernels).
  Backend backend = Backend::Auto;
  /// What they multiply in (kiln-select-kernels).
  Precision precision = Precision::F32;
  /// Fusion passes and the fused native kernels (attention, softmax-CE); off
  /// gives the op-by-op lowering that bench/ compares against.
  bool fusion = true;
  /// Which outlined method functions are inlined: "always", "never" or
  /// "auto" (by size, kiln-inline).
  std::string inlining = "auto";
  /// The NVIDIA GPU the code is for (kilnc --target=cuda:sm_90), or empty
  /// for the host CPU.
  std::string gpuChip;
  /// The CUDA toolkit whose libdevice GPU kernels link (expf, erff, ...).
  std::string cudaPath = "/usr/local/cuda";

  /// A test aid (kilnc --gpu-loops-on-host): the GPU target's graph and
  /// loops (kiln-gpu-prepare, kiln-gpu-tile-loops), run on the host, so that
  /// those passes are checked against the models' references without a GPU.
  bool gpuLoopsOnHost = false;

  bool targetsGpu() const { return !gpuChip.empty() || gpuLoopsOnHost; }
};

} // namespace kiln

#endif // KILN_PASSES_PIPELINEOPTIONS_H
