//===- EmbeddedWeights.h - A weights file checked and compiled in -*- C++ -*-===//
#ifndef KILN_CODEGEN_EMBEDDEDWEIGHTS_H
#define KILN_CODEGEN_EMBEDDEDWEIGHTS_H

#include "codegen/ModelInterface.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"
#include <string>

namespace kiln {

/// Checks the weights file a model is compiled with (kilnc --weights) against
/// its parameters with the runtime's own loader, so a file the compiler
/// accepts is one NAME_create accepts. Returns where its data section starts.
llvm::Expected<uint64_t> checkWeightsFile(const ModelInterface &model, llvm::StringRef path);

/// The symbol under which a library embeds its weights file.
std::string embeddedWeightsSymbol(llvm::StringRef modelName);

/// An ELF object that defines `symbol` as the weights file `bytes`, read-only,
/// placed so that the file's data section (from `dataOffset`, after the
/// 8-byte length and the JSON header) starts on a 64-byte boundary: tensors
/// the file aligns are read in place by the kernels. On x86-64 the bytes go to
/// the large-data section (.lrodata), which the linker puts after all
/// small-code-model sections, so weights of any size link. No IR ever holds
/// them.
llvm::Error emitWeightsObject(const llvm::TargetMachine &machine, llvm::StringRef symbol,
                              llvm::StringRef bytes, uint64_t dataOffset,
                              llvm::SmallVectorImpl<char> &object);

} // namespace kiln

#endif // KILN_CODEGEN_EMBEDDEDWEIGHTS_H
