//===- Frontend.h - Kiln source to the kiln dialect -------------*- C++ -*-===//
//
// The frontend's whole interface: parse a .kiln buffer, check it, and either
// print its AST or emit a module in the kiln dialect. Diagnostics go to the
// SourceMgr's handler, clang-style (file:line:col, the line, a caret).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_FRONTEND_H
#define KILN_FRONTEND_FRONTEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"
#include <string>
#include <vector>

namespace kiln {

struct FrontendOptions {
  /// The model's name: the C symbol prefix and the `kiln.model` attribute.
  std::string modelName;
  /// The module to compile; empty means the one with `export fn`s (the last
  /// such module of the main file if several have them).
  std::string topModule;
  /// Where `import "x.kiln"` looks after the importing file's folder, in
  /// order: `kilnc -I` folders, then the standard library's.
  std::vector<std::string> importPaths;
  /// Values for the compiled module's constructor arguments (`kilnc -D
  /// depth=2`), name and text, replacing their defaults.
  std::vector<std::pair<std::string, std::string>> settings;
};

/// The standard library folders that exist: `<bin>/../share/kiln/stdlib`
/// next to the installed `executablePath`, then the source tree's stdlib/
/// (compiled in, for a kilnc run from its build tree).
std::vector<std::string> getDefaultStdlibDirs(llvm::StringRef executablePath);

/// Parses the main buffer of `sourceMgr` and prints its AST to `os`.
/// Returns false (after reporting) on a syntax error.
bool dumpAST(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os);

/// Parses, checks and emits the main buffer of `sourceMgr` as a module in the
/// kiln dialect (see docs/abi.md for the module's conventions). Returns null
/// after reporting every error found.
mlir::OwningOpRef<mlir::ModuleOp> emitKiln(llvm::SourceMgr &sourceMgr, mlir::MLIRContext &context,
                                           const FrontendOptions &options);

} // namespace kiln

#endif // KILN_FRONTEND_FRONTEND_H
