//===- LibraryWriter.h - libNAME.a and NAME.h on disk -----------*- C++ -*-===//
#ifndef KILN_CODEGEN_LIBRARYWRITER_H
#define KILN_CODEGEN_LIBRARYWRITER_H

#include "codegen/ModelInterface.h"
#include "llvm/Support/Error.h"

namespace kiln {

/// Writes `outputDir`/libNAME.a (one member, NAME.o = `object`) and
/// `outputDir`/NAME.h, creating the directory if needed.
llvm::Error writeLibrary(const ModelInterface &model, llvm::StringRef sourceName,
                         llvm::ArrayRef<char> object, llvm::StringRef outputDir);

} // namespace kiln

#endif // KILN_CODEGEN_LIBRARYWRITER_H
