//===- FusionUtils.h - Matchers the fusion passes share ---------*- C++ -*-===//
#ifndef KILN_PASSES_FUSIONUTILS_H
#define KILN_PASSES_FUSIONUTILS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Value.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

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

/// Whether `a` and `b` compute the same value: the same SSA value, or the
/// same result of equal side-effect-free ops on operands that are (looking
/// `depth` ops up). Autodiff computes cheap forward values again for the
/// backward; a fusion pairing a loss with its gradient must see a twin as the
/// value itself.
inline bool sameComputation(mlir::Value a, mlir::Value b, unsigned depth = 4) {
  if (a == b)
    return true;
  auto ra = llvm::dyn_cast<mlir::OpResult>(a), rb = llvm::dyn_cast<mlir::OpResult>(b);
  if (!ra || !rb || depth == 0 || ra.getResultNumber() != rb.getResultNumber())
    return false;
  mlir::Operation *x = ra.getOwner(), *y = rb.getOwner();
  if (!mlir::isPure(x) || x->getNumRegions() != 0)
    return false;
  return mlir::OperationEquivalence::isEquivalentTo(
      x, y,
      [&](mlir::Value l, mlir::Value r) {
        return mlir::success(sameComputation(l, r, depth - 1));
      },
      /*markEquivalent=*/nullptr, mlir::OperationEquivalence::IgnoreLocations);
}

} // namespace kiln

#endif // KILN_PASSES_FUSIONUTILS_H
