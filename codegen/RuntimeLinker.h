//===- RuntimeLinker.h - Link the runtime into a model ----------*- C++ -*-===//
#ifndef KILN_CODEGEN_RUNTIMELINKER_H
#define KILN_CODEGEN_RUNTIMELINKER_H

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

namespace kiln {

/// Links the runtime's bitcode (embedded in kilnc at build time) into
/// `module`, then gives every definition internal linkage except
/// `publicNames`. The library's object then exports only the model-prefixed
/// API, so several generated libraries link into one program without clashes.
/// `f32Lanes`, the target's vector width in floats, becomes what the
/// runtime's `kiln_target_f32_lanes()` answers (runtime/src/target.h), so that
/// its kernels take the shape that suits the target once optimized. A non-empty
/// `bitcodePath` links that file instead of the embedded runtime (a sanitizer
/// build's, docs/reliability.md).
llvm::Error linkRuntimeAndInternalize(llvm::Module &module, llvm::ArrayRef<std::string> publicNames,
                                      int64_t f32Lanes, llvm::StringRef bitcodePath = {});

} // namespace kiln

#endif // KILN_CODEGEN_RUNTIMELINKER_H
