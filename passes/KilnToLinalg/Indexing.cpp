//===- Indexing.cpp - Index computations, constructors, gather and scatter ===//
//
// Ops whose bodies compute or read indices: argmax, arange and one_hot read
// linalg.index; index_select reads its input at a computed row (guarded so
// that a bad index never reads out of bounds); scatter_add is a reduction
// over the edges with a select on index match.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include <limits>

using namespace mlir;

namespace kiln {
namespace {

/// A linalg.generic writing a fresh `type` (dynamic dims from
/// `dynamicSizes`) over its own iteration space, all loops parallel.
Value buildIndexedGeneric(OpBuilder &b, Location loc, RankedTensorType type,
                          ValueRange dynamicSizes, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                          function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType(), dynamicSizes);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(type.getRank()));
  SmallVector<utils::IteratorType> parallel(type.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, type, inputs, empty, maps, parallel,
                                   [&](OpBuilder &nb, Location l, ValueRange a) {
                                     linalg::YieldOp::create(nb, l, body(nb, l, a));
                                   })
      .getResult(0);
}

/// `index` converted to an index and whether it lies in [0, size).
std::pair<Value, Value> checkedIndex(OpBuilder &b, Location loc, Value index, Value size) {
  Value id = arith::IndexCastOp::create(b, loc, b.getIndexType(), index);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value inRange = arith::AndIOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, id, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, id, size));
  return {id, inRange};
}

/// The index of the first maximum: the row max, then the smallest index
/// that holds it. NaN matches NaN (arith.maximumf propagates it).
struct LowerArgmax : OpRewritePattern<ArgmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ArgmaxOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    int64_t axis = op.getAxis();
    auto type = cast<RankedTensorType>(x.getType());
    Type i64 = rewriter.getI64Type();
    Value max = buildMax(rewriter, loc, x, {axis}, /*keepDims=*/true);
    int64_t none = std::numeric_limits<int64_t>::max();
    Value candidates = buildElementwise(
        rewriter, loc, RankedTensorType::get(type.getShape(), i64), {x, max},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[0], a[1]);
          Value nan = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, a[0], a[0]);
          Value index = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, axis));
          Value noIndex = arith::ConstantIntOp::create(b, l, i64, none);
          return arith::SelectOp::create(b, l, arith::OrIOp::create(b, l, equal, nan), index,
                                         noIndex);
        });
    Value first = buildReduction(rewriter, loc, candidates, {axis}, /*keepDims=*/false,
                                 rewriter.getI64IntegerAttr(none),
                                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                   return arith::MinSIOp::create(b, l, a[0], a[1]);
                                 });
    rewriter.replaceOp(op, first);
    return success();
  }
};

struct LowerArange : OpRewritePattern<ArangeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ArangeOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    SmallVector<Value> sizes;
    if (Value size = op.getSize())
      sizes.push_back(size);
    rewriter.replaceOp(op, buildIndexedGeneric(rewriter, op.getLoc(), type, sizes, {}, {},
                                               [&](OpBuilder &b, Location l, ValueRange) -> Value {
                                                 return arith::IndexCastOp::create(
                                                     b, l, type.getElementType(),
                                                     linalg::IndexOp::create(b, l, 0));
                                               }));
    return success();
  }
};

/// result[..., c] = ids[...] == c ? 1 : 0.
struct LowerOneHot : OpRewritePattern<OneHotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(OneHotOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t classes = type.getRank() - 1;
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < classes; ++d)
      if (type.isDynamicDim(d))
        sizes.push_back(tensor::DimOp::create(rewriter, loc, op.getIds(), d));
    AffineMap idsMap =
        AffineMap::getMultiDimIdentityMap(classes + 1, getContext()).getMajorSubMap(classes);
    Value result =
        buildIndexedGeneric(rewriter, loc, type, sizes, op.getIds(), idsMap,
                            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                              Value id = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
                              Value hit =
                                  arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, id,
                                                        linalg::IndexOp::create(b, l, classes));
                              Type t = type.getElementType();
                              return arith::SelectOp::create(b, l, hit, floatConstant(b, l, t, 1.0),
                                                             floatConstant(b, l, t, 0.0));
                            });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerFullLike : OpRewritePattern<FullLikeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FullLikeOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Type elementType = type.getElementType();
    double value = op.getValue().convertToDouble();
    TypedAttr attr = isa<FloatType>(elementType)
                         ? TypedAttr(FloatAttr::get(elementType, value))
                         : TypedAttr(IntegerAttr::get(elementType, static_cast<int64_t>(value)));
    rewriter.replaceOp(op, buildFilled(rewriter, op.getLoc(), type, op.getInput(), attr));
    return success();
  }
};

/// The product of the sizes along `axes`, as a 0-d float tensor.
struct LowerCount : OpRewritePattern<CountOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CountOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inputType = op.getInput().getType();
    SmallVector<int64_t> axes(op.getAxes());
    if (axes.empty())
      for (int64_t d = 0; d < inputType.getRank(); ++d)
        axes.push_back(d);
    Value count = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (int64_t axis : axes)
      count = arith::MulIOp::create(rewriter, loc, count,
                                    tensor::DimOp::create(rewriter, loc, op.getInput(), axis));
    Type elementType = op.getType().getElementType();
    Value asInt = arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), count);
    Value asFloat = arith::SIToFPOp::create(rewriter, loc, elementType, asInt);
    rewriter.replaceOpWithNewOp<tensor::FromElementsOp>(op, op.getType(), ValueRange{asFloat});
    return success();
  }
};

/// result[.., e, ..] = input[.., indices[e], ..], NaN for an index outside
/// [0, size) (as embedding): the read uses a clamped index.
struct LowerIndexSelect : OpRewritePattern<IndexSelectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(IndexSelectOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value input = op.getInput(), indices = op.getIndices();
    int64_t axis = op.getAxis(), rank = type.getRank();
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < rank; ++d)
      if (type.isDynamicDim(d))
        sizes.push_back(d == axis ? tensor::DimOp::create(rewriter, loc, indices, 0)
                                  : tensor::DimOp::create(rewriter, loc, input, d));
    Value bound = tensor::DimOp::create(rewriter, loc, input, axis);
    AffineMap indicesMap = AffineMap::get(rank, 0, getAffineDimExpr(axis, getContext()));
    Type elementType = type.getElementType();
    Value result = buildIndexedGeneric(
        rewriter, loc, type, sizes, indices, indicesMap,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          auto [id, inRange] = checkedIndex(b, l, a[0], bound);
          SmallVector<Value> at;
          for (int64_t d = 0; d < rank; ++d)
            at.push_back(linalg::IndexOp::create(b, l, d));
          at[axis] =
              arith::SelectOp::create(b, l, inRange, id, arith::ConstantIndexOp::create(b, l, 0));
          Value picked = tensor::ExtractOp::create(b, l, input, at);
          Value nan = floatConstant(b, l, elementType, std::numeric_limits<double>::quiet_NaN());
          return arith::SelectOp::create(b, l, inRange, picked, nan);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// init + (for each row n: the sum of src[e] over the e with indices[e] == n).
/// The sum is one linalg.generic over (n, ..., e) with e a reduction and a
/// select on index match: O(N * E * row) work, which is what the small
/// graphs here need; duplicates accumulate and an index outside [0, N)
/// matches no row, so it is skipped. The accumulator starts from zeros,
/// never from `init`, so an entry argument is never written in place.
struct LowerScatterAdd : OpRewritePattern<ScatterAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterAddOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Value init = op.getInit();
    int64_t rank = type.getRank();
    Value zeros =
        buildFilled(rewriter, loc, type, init, FloatAttr::get(type.getElementType(), 0.0));
    AffineExpr edge = getAffineDimExpr(rank, ctx);
    SmallVector<AffineExpr> srcExprs{edge}, outExprs;
    for (int64_t d = 0; d < rank; ++d) {
      outExprs.push_back(getAffineDimExpr(d, ctx));
      if (d > 0)
        srcExprs.push_back(getAffineDimExpr(d, ctx));
    }
    SmallVector<AffineMap> maps{AffineMap::get(rank + 1, 0, edge),
                                AffineMap::get(rank + 1, 0, srcExprs, ctx),
                                AffineMap::get(rank + 1, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    Value sums =
        linalg::GenericOp::create(
            rewriter, loc, type, ValueRange{op.getIndices(), op.getSrc()}, zeros, maps, iterators,
            [](OpBuilder &b, Location l, ValueRange a) {
              Value id = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
              Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, id,
                                                linalg::IndexOp::create(b, l, 0));
              Value added = arith::AddFOp::create(b, l, a[2], a[1]);
              linalg::YieldOp::create(b, l,
                                      ValueRange{arith::SelectOp::create(b, l, hit, added, a[2])});
            })
            .getResult(0);
    rewriter.replaceOp(op, buildElementwise(rewriter, loc, type, {init, sums},
                                            [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                              return arith::AddFOp::create(b, l, a[0], a[1]);
                                            }));
    return success();
  }
};

} // namespace

void populateIndexingPatterns(RewritePatternSet &patterns) {
  patterns
      .add<LowerArgmax, LowerArange, LowerCount, LowerOneHot, LowerFullLike, LowerIndexSelect,
           LowerScatterAdd>(patterns.getContext());
}

} // namespace kiln
