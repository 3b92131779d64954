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

namespace kiln {

struct FrontendOptions {
  /// The model's name: the C symbol prefix and the `kiln.model` attribute.
  std::string modelName;
  /// The module to compile; empty means the one with `export fn`s (the last
  /// such module if several have them).
  std::string topModule;
};

/// Parses the main buffer of `sourceMgr` and prints its AST to `os`.
/// Returns false (after reporting) on a syntax error.
bool dumpAST(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os);

/// Parses, checks and emits the main buffer of `sourceMgr` as a module in the
/// kiln dialect (see docs/abi.md for the module's conventions). Returns null
/// after reporting every error found.
mlir::OwningOpRef<mlir::ModuleOp> emitKiln(llvm::SourceMgr &sourceMgr,
                                           mlir::MLIRContext &context,
                                           const FrontendOptions &options);

} // namespace kiln

#endif // KILN_FRONTEND_FRONTEND_H
