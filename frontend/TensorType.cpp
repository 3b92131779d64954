//===- TensorType.cpp - Kiln-level tensor types ---------------------------===//
#include "frontend/TensorType.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

llvm::StringRef kiln::getElementTypeName(ElementType type) {
  switch (type) {
  case ElementType::f32:
    return "f32";
  case ElementType::bf16:
    return "bf16";
  case ElementType::f16:
    return "f16";
  case ElementType::i64:
    return "i64";
  case ElementType::i32:
    return "i32";
  case ElementType::boolean:
    return "bool";
  }
  llvm_unreachable("unknown element type");
}

std::optional<ElementType> kiln::parseElementTypeName(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<ElementType>>(name)
      .Case("f32", ElementType::f32)
      .Case("bf16", ElementType::bf16)
      .Case("f16", ElementType::f16)
      .Case("i64", ElementType::i64)
      .Case("i32", ElementType::i32)
      .Case("bool", ElementType::boolean)
      .Default(std::nullopt);
}

std::string TensorType::str() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << getElementTypeName(element);
  if (dims.empty())
    return text;
  os << '[';
  llvm::interleaveComma(dims, os, [&](const Dim &dim) {
    if (dim.isSymbolic())
      os << dim.symbol;
    else
      os << dim.size;
  });
  os << ']';
  return text;
}

static mlir::Type toMLIRElement(ElementType type, mlir::MLIRContext *context) {
  switch (type) {
  case ElementType::f32:
    return mlir::Float32Type::get(context);
  case ElementType::bf16:
    return mlir::BFloat16Type::get(context);
  case ElementType::f16:
    return mlir::Float16Type::get(context);
  case ElementType::i64:
    return mlir::IntegerType::get(context, 64);
  case ElementType::i32:
    return mlir::IntegerType::get(context, 32);
  case ElementType::boolean:
    return mlir::IntegerType::get(context, 1);
  }
  llvm_unreachable("unknown element type");
}

mlir::RankedTensorType TensorType::toMLIR(mlir::MLIRContext *context) const {
  llvm::SmallVector<int64_t, 4> shape;
  for (const Dim &dim : dims)
    shape.push_back(dim.isSymbolic() ? mlir::ShapedType::kDynamic : dim.size);
  return mlir::RankedTensorType::get(shape, toMLIRElement(element, context));
}

mlir::ArrayAttr TensorType::getDimsAttr(mlir::MLIRContext *context) const {
  mlir::Builder builder(context);
  llvm::SmallVector<mlir::Attribute, 4> attrs;
  for (const Dim &dim : dims)
    attrs.push_back(dim.isSymbolic() ? mlir::Attribute(builder.getStringAttr(dim.symbol))
                                     : mlir::Attribute(builder.getI64IntegerAttr(dim.size)));
  return builder.getArrayAttr(attrs);
}

std::optional<TensorType> kiln::broadcast(const TensorType &lhs, const TensorType &rhs,
                                          unsigned &badDim) {
  size_t rank = std::max(lhs.dims.size(), rhs.dims.size());
  TensorType result{lhs.element, {}};
  result.dims.resize(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Aligned at the trailing dim; a missing leading dim acts as 1.
    Dim a = i < lhs.dims.size() ? lhs.dims[lhs.dims.size() - 1 - i] : Dim::getStatic(1);
    Dim b = i < rhs.dims.size() ? rhs.dims[rhs.dims.size() - 1 - i] : Dim::getStatic(1);
    Dim &out = result.dims[rank - 1 - i];
    if (a == b || b.isStatic(1)) {
      out = a;
    } else if (a.isStatic(1)) {
      out = b;
    } else {
      badDim = rank - 1 - i;
      return std::nullopt;
    }
  }
  return result;
}

std::optional<int64_t> kiln::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}
