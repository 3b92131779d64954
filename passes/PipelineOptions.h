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

struct PipelineOptions {
  /// Where matmuls go: "native", "onednn" or "auto" (kiln-select-kernels).
  std::string backend = "auto";
  /// Fusion passes and the fused native kernels (attention, softmax-CE); off
  /// gives the op-by-op lowering that bench/ compares against.
  bool fusion = true;
  /// Which outlined method functions are inlined: "always", "never" or
  /// "auto" (by size, kiln-inline).
  std::string inlining = "auto";
};

} // namespace kiln

#endif // KILN_PASSES_PIPELINEOPTIONS_H
