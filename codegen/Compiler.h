//===- Compiler.h - From the kiln dialect to a static library ---*- C++ -*-===//
#ifndef KILN_CODEGEN_COMPILER_H
#define KILN_CODEGEN_COMPILER_H

#include "codegen/ModelInterface.h"
#include "codegen/ObjectEmitter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "passes/PipelineOptions.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

/// Where kilnc stops; each stage's output can be printed (`--emit=`).
enum class Stage {
  AST,        // the parsed syntax tree (kilnc prints it; compile() starts later)
  Kiln,       // the kiln dialect, as the frontend emitted it
  Fused,      // kiln with fusion patterns applied (kiln.softmax_cross_entropy, ...)
  Linalg,     // linalg on tensors, elementwise ops fused
  Vector,     // tiled and vectorized
  Bufferized, // memrefs, buffers planned into the arena
  Gpu,        // --target=cuda: loops mapped to blocks and threads, kernels outlined
  Nvvm,       // --target=cuda: kernels in the NVVM dialect
  Ptx,        // --target=cuda: each kernel module's PTX
  LLVMMLIR,   // the LLVM dialect
  LLVM,       // LLVM IR with the C API and the runtime, optimized (O3)
  Asm,        // host assembly
  Obj,        // one object file
  Header,     // the generated NAME.h
  CppHeader,  // the generated NAME.hpp (C++20, over NAME.h)
  Lib,        // libNAME.a, NAME.h, NAME.pc (and NAME.hpp) in an output directory
};

struct CompileOptions {
  Stage stop = Stage::Lib;
  TargetOptions target;
  PipelineOptions pipeline;
  /// Shown in the generated header's banner.
  std::string sourceName;
  /// Where each stage and pass is timed (kilnc --time-passes); a disabled
  /// timer times nothing.
  mlir::TimingScope *timing = nullptr;
  /// Print each stage's name on stderr as it starts (kilnc -v).
  bool verbose = false;
  /// Also write NAME.hpp beside NAME.h (kilnc --cpp-header).
  bool cppHeader = false;
  /// A weights file to check against the model's parameters (kilnc
  /// --weights), and to compile into the library with `embedWeights`.
  std::string weightsPath;
  bool embedWeights = false;
  /// The runtime bitcode to link instead of the embedded one (kilnc
  /// --runtime-bitcode): a sanitizer build's, for testing.
  std::string runtimeBitcode;
};

/// Compiles a verified kiln-dialect module up to `options.stop` and writes
/// that stage's output: text to `os` for every stage but Lib, whose files go
/// to `outputDir`. Errors are reported through MLIR diagnostics.
mlir::LogicalResult compile(mlir::ModuleOp module, const CompileOptions &options,
                            llvm::raw_ostream &os, llvm::StringRef outputDir);

} // namespace kiln

#endif // KILN_CODEGEN_COMPILER_H
