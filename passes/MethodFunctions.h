//===- MethodFunctions.h - What the passes ask of method functions -*- C++ -*-===//
//
// The frontend emits module methods as private functions whose arguments
// name their symbolic dims (`kiln.dims = ["B", 17, 64]`) and calls them per
// layer. Inlining, caller-provided results and arena planning all walk that
// call graph callees first and read a symbol's size from the argument dim
// that names it; they share these helpers.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_METHODFUNCTIONS_H
#define KILN_PASSES_METHODFUNCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {

/// An argument's dim: where a symbol's size can be read.
struct ArgDim {
  unsigned arg;
  unsigned dim;
};

/// Every argument dim from `firstArg` on whose `kiln.dims` entry is `symbol`,
/// in argument order.
llvm::SmallVector<ArgDim, 2> argDimsNamed(mlir::func::FuncOp func, llvm::StringRef symbol,
                                          unsigned firstArg = 0);

/// The module's functions in post-order of the call graph: callees before
/// their callers. The frontend's call graph is acyclic (Sema rejects
/// recursion); a cycle in hand-written IR is cut where it closes.
llvm::SmallVector<mlir::func::FuncOp> calleesFirst(mlir::ModuleOp module,
                                                   mlir::SymbolTable &symbols);

} // namespace kiln

#endif // KILN_PASSES_METHODFUNCTIONS_H
