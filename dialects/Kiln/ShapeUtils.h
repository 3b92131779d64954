//===- ShapeUtils.h - Shape arithmetic shared by verifiers and sema -*- C++ -*-===//
//
// Static shapes use mlir::ShapedType::kDynamic for dims only known at call
// time (symbolic dims such as a batch `B`).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_SHAPEUTILS_H
#define KILN_DIALECTS_KILN_SHAPEUTILS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
class Type;
}

namespace kiln {

/// NumPy broadcasting of two shapes, aligned at the trailing dim. A dynamic
/// dim against a static dim > 1 takes the static size (a symbolic dim must
/// equal it at run time); a dynamic dim against 1 or another dynamic dim stays
/// dynamic. Returns std::nullopt when two static dims > 1 differ.
std::optional<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> lhs,
                                                          llvm::ArrayRef<int64_t> rhs);

/// True if every dim pair is equal or one side is dynamic.
bool shapesCompatible(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// Formats a shape as `[?, 64]`.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Formats a tensor type the way the Kiln language writes it: `f32[?, 64]`.
std::string formatTensorType(mlir::Type type);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_SHAPEUTILS_H
