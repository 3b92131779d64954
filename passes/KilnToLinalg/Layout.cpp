//===- Layout.cpp - Shape, layout and gather ops to tensor and linalg -----===//
//
// Reshapes, slices and concatenations become tensor ops that bufferize to
// views or copies (no kernels); transposes and row gathers become linalg.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include <limits>

using namespace mlir;

namespace kiln {
namespace {

/// Every dim of `value` as an OpFoldResult (static sizes as attributes).
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

struct LowerDim : OpRewritePattern<DimOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DimOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<tensor::DimOp>(op, op.getInput(), op.getIndex());
    return success();
  }
};

struct LowerTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        dynamicSizes.push_back(
            tensor::DimOp::create(rewriter, loc, op.getInput(), op.getPermutation()[d]));
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType(),
                                          dynamicSizes);
    auto transpose =
        linalg::TransposeOp::create(rewriter, loc, op.getInput(), empty, op.getPermutation());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

/// The result's sizes: static ones as attributes, dynamic ones from the
/// op's operands.
SmallVector<OpFoldResult> reshapeSizes(OpBuilder &b, ReshapeOp op) {
  auto type = cast<RankedTensorType>(op.getType());
  SmallVector<OpFoldResult> sizes;
  auto dynamic = op.getSizes().begin();
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(type.isDynamicDim(d) ? OpFoldResult(*dynamic++)
                                         : b.getIndexAttr(type.getDimSize(d)));
  return sizes;
}

/// A reshape is a collapse_shape or expand_shape when its dims group (that
/// keeps symbolic dims in their own groups), else a collapse to one dim and
/// an expand from it. Both are views of a row-major buffer: no data moves.
struct LowerReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto inputType = cast<RankedTensorType>(input.getType());
    auto type = cast<RankedTensorType>(op.getType());
    if (inputType == type) {
      rewriter.replaceOp(op, input);
      return success();
    }
    if (type.getRank() < inputType.getRank()) {
      if (auto groups = getReassociationIndicesForCollapse(inputType.getShape(), type.getShape())) {
        rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, type, input, *groups);
        return success();
      }
    } else if (type.getRank() > inputType.getRank()) {
      if (auto groups = getReassociationIndicesForCollapse(type.getShape(), inputType.getShape())) {
        rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, type, input, *groups,
                                                           reshapeSizes(rewriter, op));
        return success();
      }
    }
    // Through one flat dim: the strided-metadata lowering handles at most one
    // dynamic size per expanded group.
    if (type.getNumDynamicDims() > 1 || inputType.getRank() == 0 || type.getRank() == 0)
      return rewriter.notifyMatchFailure(op, "reshape that does not group its dims");
    int64_t count = inputType.hasStaticShape() ? inputType.getNumElements() : ShapedType::kDynamic;
    auto flatType = RankedTensorType::get({count}, type.getElementType());
    auto all = [](int64_t rank) {
      return SmallVector<ReassociationIndices>{llvm::to_vector(llvm::seq<int64_t>(0, rank))};
    };
    Value flat = input;
    if (inputType.getRank() != 1)
      flat =
          tensor::CollapseShapeOp::create(rewriter, loc, flatType, input, all(inputType.getRank()));
    Value result = flat;
    if (type.getRank() != 1)
      result = tensor::ExpandShapeOp::create(rewriter, loc, type, flat, all(type.getRank()),
                                             reshapeSizes(rewriter, op));
    else if (flat.getType() != type)
      result = tensor::CastOp::create(rewriter, loc, type, flat);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// slice and select: one extract_slice of `size` elements at `offset`
/// along `axis` (rank-reducing for select).
template <typename KilnOp> struct LowerSlice : OpRewritePattern<KilnOp> {
  using OpRewritePattern<KilnOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
    int64_t axis = op.getAxis(), offset, size;
    if constexpr (std::is_same_v<KilnOp, SliceOp>) {
      offset = op.getStart();
      size = op.getEnd() - op.getStart();
    } else {
      offset = op.getIndex();
      size = 1;
    }
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, input);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    offsets[axis] = rewriter.getIndexAttr(offset);
    sizes[axis] = rewriter.getIndexAttr(size);
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, cast<RankedTensorType>(op.getType()),
                                                        input, offsets, sizes, strides);
    return success();
  }
};

/// Each input copied into its place in one result buffer.
struct LowerConcat : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t axis = op.getAxis(), rank = type.getRank();
    SmallVector<OpFoldResult> resultSizes = sizesOf(rewriter, loc, op.getInputs().front());
    OpFoldResult total = rewriter.getIndexAttr(0);
    SmallVector<OpFoldResult> offsets;
    for (Value input : op.getInputs()) {
      offsets.push_back(total);
      OpFoldResult size = tensor::getMixedSize(rewriter, loc, input, axis);
      auto a = getConstantIntValue(total), s = getConstantIntValue(size);
      total = a && s ? OpFoldResult(rewriter.getIndexAttr(*a + *s))
                     : OpFoldResult(arith::AddIOp::create(
                                        rewriter, loc,
                                        getValueOrCreateConstantIndexOp(rewriter, loc, total),
                                        getValueOrCreateConstantIndexOp(rewriter, loc, size))
                                        .getResult());
    }
    resultSizes[axis] = total;
    Value result = tensor::EmptyOp::create(rewriter, loc, resultSizes, type.getElementType());
    if (result.getType() != type)
      result = tensor::CastOp::create(rewriter, loc, type, result);
    for (auto [input, offset] : llvm::zip(op.getInputs(), offsets)) {
      SmallVector<OpFoldResult> at(rank, rewriter.getIndexAttr(0));
      at[axis] = offset;
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result, at,
                                             sizesOf(rewriter, loc, input), strides);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// result[i..., d] = weight[ids[i...], d], NaN for an id outside [0, N).
struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Value weight = op.getWeight(), ids = op.getIds();
    int64_t rank = type.getRank();
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < rank; ++d)
      if (type.isDynamicDim(d))
        dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, d + 1 < rank ? ids : weight,
                                                     d + 1 < rank ? d : 1));
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType(),
                                          dynamicSizes);
    SmallVector<AffineExpr> idExprs;
    for (int64_t d = 0; d + 1 < rank; ++d)
      idExprs.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idExprs, ctx),
                                rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> parallel(rank, utils::IteratorType::parallel);
    Value rows = tensor::DimOp::create(rewriter, loc, weight, 0);
    Type elementType = type.getElementType();
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, type, ValueRange{ids}, empty, maps, parallel,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value id = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
              Value zero = arith::ConstantIndexOp::create(b, l, 0);
              Value inRange = arith::AndIOp::create(
                  b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, id, zero),
                  arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, id, rows));
              Value safe = arith::SelectOp::create(b, l, inRange, id, zero);
              Value col = linalg::IndexOp::create(b, l, rank - 1);
              Value picked = tensor::ExtractOp::create(b, l, weight, ValueRange{safe, col});
              Value nan =
                  floatConstant(b, l, elementType, std::numeric_limits<double>::quiet_NaN());
              linalg::YieldOp::create(
                  b, l, ValueRange{arith::SelectOp::create(b, l, inRange, picked, nan)});
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateLayoutPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDim, LowerTranspose, LowerReshape, LowerSlice<SliceOp>, LowerSlice<SelectOp>,
               LowerConcat, LowerEmbedding>(patterns.getContext());
}

} // namespace kiln
