//===- Sema.h - Name resolution and structural checks -----------*- C++ -*-===//
//
// Everything that can be checked without knowing constructor arguments:
// names (unknown, duplicate, wrong kind), argument counts and keywords,
// compile-time-ness of dims and constructor arguments, module containment
// and call cycles (calls are inlined, so neither may recur). Results are
// written into the AST's `resolved*` fields. Shape checking needs concrete
// constructor arguments and happens during MLIR generation.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_SEMA_H
#define KILN_FRONTEND_SEMA_H

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

namespace kiln {

/// Resolves and checks the whole file. Returns false after reporting every
/// error found.
bool resolveNames(FileAST &file, Diagnostics &diags);

/// Reports modules that contain themselves and recursive calls: instances
/// are instantiated and calls inlined, so either would never finish. Part of
/// resolveNames (Cycles.cpp); cuts cyclic instances from the AST.
void checkCycles(FileAST &file, Diagnostics &diags);

/// The module to compile: `requested` if non-empty, else the last module with
/// an `export fn`. Reports and returns null if there is none, or if it takes
/// constructor arguments (nothing could supply them).
const ModuleDecl *selectTopModule(const FileAST &file, llvm::StringRef requested,
                                  Diagnostics &diags);

} // namespace kiln

#endif // KILN_FRONTEND_SEMA_H
