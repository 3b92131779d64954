//===- LinalgBuilders.cpp - Small builders for linalg on tensors ----------===//
#include "passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;

namespace kiln {

Value buildEmpty(OpBuilder &b, Location loc, RankedTensorType type, ValueRange sources) {
  SmallVector<Value> dynamicSizes;
  int64_t rank = type.getRank();
  for (int64_t d = 0; d < rank; ++d) {
    if (!type.isDynamicDim(d))
      continue;
    Value size;
    for (Value source : sources) {
      auto sourceType = cast<RankedTensorType>(source.getType());
      int64_t sd = d - (rank - sourceType.getRank());
      if (sd >= 0 && sourceType.isDynamicDim(sd)) {
        size = tensor::DimOp::create(b, loc, source, sd);
        break;
      }
    }
    assert(size && "no source carries this dynamic dim");
    dynamicSizes.push_back(size);
  }
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamicSizes);
}

Value buildFilled(OpBuilder &b, Location loc, RankedTensorType type, ValueRange sources,
                  TypedAttr value) {
  Value empty = buildEmpty(b, loc, type, sources);
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType, ValueRange inputs,
                       BodyBuilder body) {
  int64_t rank = resultType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t j = 0; j < type.getRank(); ++j) {
      int64_t d = rank - type.getRank() + j;
      bool broadcast = type.getDimSize(j) == 1 && resultType.getDimSize(d) != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(d, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = buildEmpty(b, loc, resultType, inputs);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(b, loc, resultType, inputs, init, maps, iterators,
                                           [&](OpBuilder &nb, Location nloc, ValueRange args) {
                                             Value result = body(nb, nloc, args.drop_back());
                                             linalg::YieldOp::create(nb, nloc, result);
                                           });
  return generic.getResult(0);
}

/// Reassociation that re-inserts the reduced (now size-1) dims of a rank-`rank`
/// shape: each unit dim joins the group of the kept dim before it (or after
/// it, when it leads).
static SmallVector<ReassociationIndices> unitDimReassociation(int64_t rank,
                                                              ArrayRef<int64_t> axes) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (int64_t d = 0; d < rank; ++d) {
    pending.push_back(d);
    if (llvm::is_contained(axes, d))
      continue;
    groups.push_back(pending);
    pending.clear();
  }
  if (!pending.empty() && !groups.empty())
    llvm::append_range(groups.back(), pending);
  return groups;
}

Value buildReduction(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<int64_t> axes,
                     bool keepDims, TypedAttr init, BodyBuilder combine) {
  auto inputType = cast<RankedTensorType>(inputs.front().getType());
  int64_t rank = inputType.getRank();
  MLIRContext *ctx = b.getContext();

  // Reduced dims are dropped from the linalg result (the vectorizer wants
  // projected-permutation output maps) and re-inserted below for keepDims.
  SmallVector<int64_t> resultShape;
  SmallVector<AffineExpr> resultExprs;
  SmallVector<utils::IteratorType> iterators;
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (reduced)
      continue;
    resultShape.push_back(inputType.getDimSize(d));
    resultExprs.push_back(getAffineDimExpr(d, ctx));
    if (inputType.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, inputs.front(), d));
  }
  auto resultType = RankedTensorType::get(resultShape, init.getType());
  Value empty = tensor::EmptyOp::create(b, loc, resultShape, init.getType(), dynamicSizes);
  Value scalar = arith::ConstantOp::create(b, loc, init);
  Value filled = linalg::FillOp::create(b, loc, scalar, empty).getResult(0);

  SmallVector<AffineMap> maps(inputs.size(), b.getMultiDimIdentityMap(rank));
  maps.push_back(AffineMap::get(rank, 0, resultExprs, ctx));
  Value reduced =
      linalg::GenericOp::create(b, loc, resultType, inputs, filled, maps, iterators,
                                [&](OpBuilder &nb, Location nloc, ValueRange args) {
                                  linalg::YieldOp::create(nb, nloc, combine(nb, nloc, args));
                                })
          .getResult(0);
  if (!keepDims)
    return reduced;

  SmallVector<int64_t> keptShape;
  for (int64_t d = 0; d < rank; ++d)
    keptShape.push_back(llvm::is_contained(axes, d) ? 1 : inputType.getDimSize(d));
  auto keptType = RankedTensorType::get(keptShape, init.getType());
  return tensor::ExpandShapeOp::create(b, loc, keptType, reduced, unitDimReassociation(rank, axes));
}

Value buildDimProduct(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> axes) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t staticProduct = 1;
  Value product;
  for (int64_t axis : axes) {
    if (!type.isDynamicDim(axis)) {
      staticProduct *= type.getDimSize(axis);
      continue;
    }
    Value dim = tensor::DimOp::create(b, loc, value, axis);
    product = product ? arith::MulIOp::create(b, loc, product, dim).getResult() : dim;
  }
  Value constant = arith::ConstantIndexOp::create(b, loc, staticProduct);
  return product ? arith::MulIOp::create(b, loc, product, constant).getResult() : constant;
}

} // namespace kiln
