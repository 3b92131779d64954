//===- Import.h - Loading a file and the files it imports -------*- C++ -*-===//
//
// `import "nn.kiln"` brings another file's modules into the program. The
// loader parses the main buffer, then each import depth-first, adding every
// file to the SourceMgr (with the import as its include location, so that
// diagnostics in it name the file and the chain of imports). A file is
// loaded once however often it is imported; an import cycle is an error.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_IMPORT_H
#define KILN_FRONTEND_IMPORT_H

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

#include <string>
#include <vector>

namespace kiln {

/// Parses the main buffer of the diagnostics' SourceMgr and everything it
/// imports, searching each import relative to the importing file, then in
/// `searchPaths` in order. Returns one FileAST holding every module
/// (imported files first, `numMainModules` set), or null after reporting.
std::unique_ptr<FileAST> loadProgram(llvm::ArrayRef<std::string> searchPaths, Diagnostics &diags);

} // namespace kiln

#endif // KILN_FRONTEND_IMPORT_H
