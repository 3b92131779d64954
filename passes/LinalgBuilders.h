//===- LinalgBuilders.h - Small builders for linalg on tensors --*- C++ -*-===//
//
// The kiln-to-linalg patterns are written in terms of three shapes of
// computation: elementwise maps with NumPy broadcasting, reductions over some
// axes, and "init" tensors for results. These helpers build them so that each
// pattern says only what is particular to its op.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_LINALGBUILDERS_H
#define KILN_PASSES_LINALGBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace kiln {

using BodyBuilder =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A `tensor.empty` of `type`, taking each dynamic dim from the first of
/// `sources` (aligned at the trailing dim) that has that dim dynamic.
mlir::Value buildEmpty(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
                       mlir::ValueRange sources);

/// `buildEmpty` filled with `value`.
mlir::Value buildFilled(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType type,
                        mlir::ValueRange sources, mlir::TypedAttr value);

/// An elementwise linalg.generic producing `resultType`. Inputs broadcast
/// NumPy-style: aligned at the trailing dim, a static 1 against a larger dim
/// repeats. `body` gets one scalar per input.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::RankedTensorType resultType, mlir::ValueRange inputs,
                             BodyBuilder body);

/// Reduces `inputs` (all of the same shape) over `axes` into one result
/// starting from `init`. `combine` gets the input scalars then the
/// accumulator and returns the new accumulator. Reduced dims become size 1
/// when `keepDims`, else they are dropped.
mlir::Value buildReduction(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                           llvm::ArrayRef<int64_t> axes, bool keepDims, mlir::TypedAttr init,
                           BodyBuilder combine);

/// The product of `value`'s dims listed in `axes`, as an `index`.
mlir::Value buildDimProduct(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                            llvm::ArrayRef<int64_t> axes);

} // namespace kiln

#endif // KILN_PASSES_LINALGBUILDERS_H
