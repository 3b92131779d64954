//===- RuntimeLinker.h - Link the runtime into a model ----------*- C++ -*-===//
#ifndef KILN_CODEGEN_RUNTIMELINKER_H
#define KILN_CODEGEN_RUNTIMELINKER_H

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

namespace kiln {

/// What the runtime's kernels are told of the target (runtime/src/target.h):
/// its vector width in floats, and whether it has AVX512-BF16's dot product.
struct RuntimeTarget {
  int64_t f32Lanes;
  bool bf16Dot;
};

/// Links the runtime's bitcode (embedded in kilnc at build time) into
/// `module`, then gives every definition internal linkage except
/// `publicNames`. The library's object then exports only the model-prefixed
/// API, so several generated libraries link into one program without clashes.
/// `target` becomes what the runtime's `kiln_target_*()` functions answer
/// (runtime/src/target.h), so that its kernels take the shape and the
/// instructions that suit the target once optimized. A non-empty
/// `bitcodePath` links that file instead of the embedded runtime (a sanitizer
/// build's, docs/reliability.md).
llvm::Error linkRuntimeAndInternalize(llvm::Module &module, llvm::ArrayRef<std::string> publicNames,
                                      RuntimeTarget target, llvm::StringRef bitcodePath = {});

} // namespace kiln

#endif // KILN_CODEGEN_RUNTIMELINKER_H
