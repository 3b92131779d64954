//===- FusionUtils.h - Matchers the fusion passes share ---------*- C++ -*-===//
#ifndef KILN_PASSES_FUSIONUTILS_H
#define KILN_PASSES_FUSIONUTILS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace kiln {

/// The value of a splat float constant of rank 0 (or all dims 1), if it is one.
inline std::optional<double> splatScalar(mlir::Value value) {
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(value.getType());
  if (!type || llvm::any_of(type.getShape(), [](int64_t d) { return d != 1; }))
    return std::nullopt;
  mlir::DenseFPElementsAttr attr;
  if (!mlir::matchPattern(value, mlir::m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<llvm::APFloat>().convertToDouble();
}

/// `value`'s defining op, if it is an `Op` whose result has no other use.
template <typename Op> Op soleUseProducer(mlir::Value value) {
  if (!value.hasOneUse())
    return {};
  return value.getDefiningOp<Op>();
}

} // namespace kiln

#endif // KILN_PASSES_FUSIONUTILS_H
