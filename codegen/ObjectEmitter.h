//===- ObjectEmitter.h - LLVM IR to optimized machine code ------*- C++ -*-===//
#ifndef KILN_CODEGEN_OBJECTEMITTER_H
#define KILN_CODEGEN_OBJECTEMITTER_H

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"
#include <memory>
#include <string>

namespace kiln {

struct TargetOptions {
  /// "host" (the default) means this machine's CPU and features.
  std::string cpu = "host";
  /// Extra features, e.g. "+avx2,-avx512f"; added after the CPU's.
  std::string features;
};

/// A TargetMachine for x86-64 Linux objects (PIC, so the library links into
/// PIE executables and shared objects). On CPUs with AVX-512 the
/// 256-bit-preference tuning is dropped so vector code uses zmm registers.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &options);

/// The f32 lanes of the widest vector registers the target has: 16 with
/// AVX-512, 8 with AVX (AVX2 CPUs), else SSE's 4.
int64_t vectorWidth(const llvm::TargetMachine &machine);

/// Whether the target has AVX512-BF16 (vdpbf16ps, for the bf16 matmul kernel).
bool hasBf16Dot(const llvm::TargetMachine &machine);

/// Sets the module's triple and data layout from `machine`.
void configureModule(llvm::Module &module, llvm::TargetMachine &machine);

/// Runs LLVM's O3 pipeline.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine);

/// Emits an object file (or assembly) into `out`.
llvm::Error emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine, bool assembly,
                            llvm::SmallVectorImpl<char> &out);

} // namespace kiln

#endif // KILN_CODEGEN_OBJECTEMITTER_H
