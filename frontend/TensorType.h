//===- TensorType.h - Kiln-level tensor types with symbolic dims -*- C++ -*-===//
//
// The type checker works on these rather than on MLIR types because a dim is
// either a static size or a *named* symbol (`B`): two `?` in MLIR are
// unrelated, but two `B`s in one function are the same size, and messages
// must say `f32[B, 64]`, not `tensor<?x64xf32>`.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_TENSORTYPE_H
#define KILN_FRONTEND_TENSORTYPE_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
class ArrayAttr;
class MLIRContext;
class RankedTensorType;
} // namespace mlir

namespace kiln {

/// `boolean` is Kiln's `bool` (MLIR's i1).
enum class ElementType { f32, bf16, f16, i64, i32, boolean };

llvm::StringRef getElementTypeName(ElementType type);
std::optional<ElementType> parseElementTypeName(llvm::StringRef name);
inline bool isFloat(ElementType type) {
  return type == ElementType::f32 || type == ElementType::bf16 || type == ElementType::f16;
}

/// One dim: a static size, or a symbol bound per call (a batch `B`). Symbol
/// names point into the source buffer, which outlives every type.
struct Dim {
  int64_t size = 0;
  llvm::StringRef symbol; // non-empty: symbolic

  static Dim getStatic(int64_t size) { return Dim{size, {}}; }
  static Dim getSymbol(llvm::StringRef name) { return Dim{0, name}; }
  bool isSymbolic() const { return !symbol.empty(); }
  bool isStatic(int64_t value) const { return !isSymbolic() && size == value; }
  bool operator==(const Dim &other) const {
    return isSymbolic() ? symbol == other.symbol : !other.isSymbolic() && size == other.size;
  }
  bool operator!=(const Dim &other) const { return !(*this == other); }
};

/// A tensor type; rank 0 is a scalar.
struct TensorType {
  ElementType element = ElementType::f32;
  llvm::SmallVector<Dim, 4> dims;

  static TensorType getScalar(ElementType element) { return {element, {}}; }
  int64_t getRank() const { return dims.size(); }
  bool operator==(const TensorType &other) const {
    return element == other.element && dims == other.dims;
  }
  bool operator!=(const TensorType &other) const { return !(*this == other); }

  /// `f32[B, 64]`, or `f32` for a scalar.
  std::string str() const;
  /// `tensor<?x64xf32>`: symbolic dims become dynamic.
  mlir::RankedTensorType toMLIR(mlir::MLIRContext *context) const;
  /// The `kiln.dims` attribute: `["B", 64]`.
  mlir::ArrayAttr getDimsAttr(mlir::MLIRContext *context) const;
};

/// NumPy broadcasting with symbolic dims, strictly: two dims are compatible
/// when equal (same size, or the same symbol) or when one is the static size
/// 1. A symbol against a different size is rejected even though it could be
/// 1 at run time: the checker must hold for every binding of the symbols.
/// On failure returns std::nullopt and sets `badDim` to the result dim index
/// (counted from the front of the broadcast result) where they disagree.
std::optional<TensorType> broadcast(const TensorType &lhs, const TensorType &rhs, unsigned &badDim);

/// Normalizes an axis (negative counts from the back) against `rank`.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

} // namespace kiln

#endif // KILN_FRONTEND_TENSORTYPE_H
