//===- GpuProgram.h - A model's GPU code, as the library carries it -*- C++ -*-===//
#ifndef KILN_CODEGEN_GPUPROGRAM_H
#define KILN_CODEGEN_GPUPROGRAM_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include <string>
#include <vector>

namespace kiln {

/// A model's GPU code (kilnc --target=cuda): the images the runtime loads at
/// create time, one per kernel module, and the kernels the host launches by
/// number (kiln.gpu_kernels; kiln_rt_gpu_launch's first argument).
struct GpuProgram {
  struct Image {
    std::string name;
    std::string ptx;
    /// A fatbin of the PTX and SASS for some GPUs (addSass), or empty: the
    /// library then carries the PTX alone.
    std::string fatbin;
  };
  struct Kernel {
    unsigned image;
    std::string name;
  };
  std::vector<Image> images;
  std::vector<Kernel> kernels;

  /// Reads the gpu.binary ops and kiln.gpu_kernels of a module after
  /// kiln-gpu-launch-to-runtime, then erases them: what is left is host
  /// code for the LLVM lowering.
  static mlir::FailureOr<GpuProgram> takeFromModule(mlir::ModuleOp module);

  /// Packs each image's PTX (for `ptxChip`) with SASS for `ptxChip` and
  /// sm_90 into a fatbin, so that those GPUs load machine code and others
  /// still JIT the PTX. Uses the toolkit's ptxas and fatbinary; where
  /// either is missing, leaves the images PTX (and says so on `log`).
  llvm::Error addSass(llvm::StringRef toolkit, llvm::StringRef ptxChip, llvm::raw_ostream &log);

  /// Each image's PTX under a `// kiln-gpu-image <name>` line (kilnc
  /// --emit=ptx), which scripts/ptxas-check.sh splits on.
  void print(llvm::raw_ostream &os) const;
};

} // namespace kiln

#endif // KILN_CODEGEN_GPUPROGRAM_H
