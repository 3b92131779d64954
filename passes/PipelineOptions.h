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

struct PipelineOptions {
  /// Where matmuls go (kiln-select-kernels).
  Backend backend = Backend::Auto;
  /// Fusion passes and the fused native kernels (attention, softmax-CE); off
  /// gives the op-by-op lowering that bench/ compares against.
  bool fusion = true;
  /// Which outlined method functions are inlined: "always", "never" or
  /// "auto" (by size, kiln-inline).
  std::string inlining = "auto";
};

} // namespace kiln

#endif // KILN_PASSES_PIPELINEOPTIONS_H
