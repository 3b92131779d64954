//===- LibraryWriter.h - libNAME.a, NAME.h and NAME.pc on disk --*- C++ -*-===//
#ifndef KILN_CODEGEN_LIBRARYWRITER_H
#define KILN_CODEGEN_LIBRARYWRITER_H

#include "codegen/ModelInterface.h"
#include "llvm/Support/Error.h"

namespace kiln {

/// Writes `outputDir`/libNAME.a (NAME.o = `object`, and NAME_weights.o =
/// `weightsObject` unless empty), `outputDir`/NAME.h, `outputDir`/NAME.pc (for
/// pkg-config) and with `cppHeader` `outputDir`/NAME.hpp, creating the
/// directory if needed.
llvm::Error writeLibrary(const ModelInterface &model, llvm::StringRef sourceName,
                         llvm::ArrayRef<char> object, llvm::ArrayRef<char> weightsObject,
                         llvm::StringRef outputDir, bool cppHeader = false);

} // namespace kiln

#endif // KILN_CODEGEN_LIBRARYWRITER_H
