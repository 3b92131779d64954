//===- ConvertKilnToLinalg.cpp - kiln ops to linalg on tensors ------------===//
//
// Each kiln op becomes linalg (named ops where one fits, generics built by
// LinalgBuilders otherwise), with math/arith bodies. Softmax-like ops are
// written in their numerically stable forms (subtract the row max).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/LinalgBuilders.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <limits>

namespace kiln {
#define GEN_PASS_DEF_KILNCONVERTTOLINALG
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

TypedAttr floatAttr(Type type, double value) { return FloatAttr::get(type, value); }

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, floatAttr(type, value));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Binary ops: one scalar op for float element types, one for integers.
template <typename KilnOp, typename FloatOp, typename IntOp>
struct LowerBinary : OpRewritePattern<KilnOp> {
  using OpRewritePattern<KilnOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    bool isFloat = isa<FloatType>(type.getElementType());
    Value result = buildElementwise(rewriter, op.getLoc(), type, {op.getLhs(), op.getRhs()},
                                    [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
                                      if (isFloat)
                                        return FloatOp::create(b, loc, args[0], args[1]);
                                      return IntOp::create(b, loc, args[0], args[1]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

template <typename KilnOp> struct LowerUnary : OpRewritePattern<KilnOp> {
  using Body = Value (*)(OpBuilder &, Location, Value);
  LowerUnary(MLIRContext *ctx, Body body) : OpRewritePattern<KilnOp>(ctx), body(body) {}
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    Value result = buildElementwise(
        rewriter, op.getLoc(), op.getType(), {op.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) { return body(b, loc, args[0]); });
    rewriter.replaceOp(op, result);
    return success();
  }
  Body body;
};

Value reluBody(OpBuilder &b, Location loc, Value x) {
  return arith::MaximumFOp::create(b, loc, x, floatConstant(b, loc, x.getType(), 0.0));
}
Value sigmoidBody(OpBuilder &b, Location loc, Value x) {
  Value one = floatConstant(b, loc, x.getType(), 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}
Value negBody(OpBuilder &b, Location loc, Value x) { return arith::NegFOp::create(b, loc, x); }
Value tanhBody(OpBuilder &b, Location loc, Value x) { return math::TanhOp::create(b, loc, x); }
Value expBody(OpBuilder &b, Location loc, Value x) { return math::ExpOp::create(b, loc, x); }
Value logBody(OpBuilder &b, Location loc, Value x) { return math::LogOp::create(b, loc, x); }
Value sqrtBody(OpBuilder &b, Location loc, Value x) { return math::SqrtOp::create(b, loc, x); }

//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

Value addCombiner(OpBuilder &b, Location loc, ValueRange args) {
  return arith::AddFOp::create(b, loc, args[0], args[1]);
}
Value maxCombiner(OpBuilder &b, Location loc, ValueRange args) {
  return arith::MaximumFOp::create(b, loc, args[0], args[1]);
}

Type elementTypeOf(Value value) { return cast<RankedTensorType>(value.getType()).getElementType(); }

/// Sum over `axes`.
Value buildSum(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return buildReduction(b, loc, x, axes, keepDims, floatAttr(elementTypeOf(x), 0.0), addCombiner);
}

/// Maximum over `axes`.
Value buildMax(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return buildReduction(b, loc, x, axes, keepDims,
                        floatAttr(elementTypeOf(x), -std::numeric_limits<double>::infinity()),
                        maxCombiner);
}

/// sum(exp(x - max)) along `axis`, with `max` broadcast over that axis.
Value sumExpShifted(OpBuilder &b, Location loc, Value x, Value max, int64_t axis) {
  auto type = cast<RankedTensorType>(x.getType());
  Value shifted = buildElementwise(
      b, loc, type, {x, max}, [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return math::ExpOp::create(nb, nloc, arith::SubFOp::create(nb, nloc, a[0], a[1]));
      });
  return buildSum(b, loc, shifted, {axis}, /*keepDims=*/true);
}

struct LowerSoftmax : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = op.getAxis();
    Value max = buildMax(rewriter, loc, op.getInput(), {axis}, /*keepDims=*/true);
    Value sum = sumExpShifted(rewriter, loc, op.getInput(), max, axis);
    Value result = buildElementwise(rewriter, loc, op.getType(), {op.getInput(), max, sum},
                                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                      Value e = math::ExpOp::create(
                                          b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                                      return arith::DivFOp::create(b, l, e, a[2]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerLogSoftmax : OpRewritePattern<LogSoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LogSoftmaxOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = op.getAxis();
    Value max = buildMax(rewriter, loc, op.getInput(), {axis}, /*keepDims=*/true);
    Value sum = sumExpShifted(rewriter, loc, op.getInput(), max, axis);
    Value result = buildElementwise(rewriter, loc, op.getType(), {op.getInput(), max, sum},
                                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                      Value shifted = arith::SubFOp::create(b, l, a[0], a[1]);
                                      return arith::SubFOp::create(b, l, shifted,
                                                                   math::LogOp::create(b, l, a[2]));
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The mean over `axes`: a sum divided by the (possibly dynamic) count.
Value buildMean(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, bool keepDims) {
  Type elementType = elementTypeOf(input);
  Value sum = buildSum(b, loc, input, axes, keepDims);
  Value count = buildDimProduct(b, loc, input, axes);
  Value countFloat = arith::UIToFPOp::create(
      b, loc, elementType, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
  return buildElementwise(b, loc, cast<RankedTensorType>(sum.getType()), {sum},
                          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::DivFOp::create(nb, l, a[0], countFloat);
                          });
}

/// mean_n(max_n + log(sum_c exp(l[n,c] - max_n)) - l[n, t_n]); NaN for a
/// target outside [0, C) so that bad labels never read out of bounds.
struct LowerCrossEntropy : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = op.getLogits();
    auto logitsType = cast<RankedTensorType>(logits.getType());
    Type elementType = logitsType.getElementType();

    Value max = buildMax(rewriter, loc, logits, {1}, /*keepDims=*/true);
    Value sum = sumExpShifted(rewriter, loc, logits, max, 1);
    // [N, 1] -> [N] so the per-row loss is a plain 1-D map.
    auto collapse = [&](Value v) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      auto collapsed = RankedTensorType::get({t.getDimSize(0)}, elementType);
      return tensor::CollapseShapeOp::create(rewriter, loc, collapsed, v,
                                             ArrayRef<ReassociationIndices>{{0, 1}});
    };
    Value rowMaxes = collapse(max), rowSums = collapse(sum);

    Value numClasses = tensor::DimOp::create(rewriter, loc, logits, 1);
    auto rowType = RankedTensorType::get({logitsType.getDimSize(0)}, elementType);
    Value perRow = buildElementwise(
        rewriter, loc, rowType, {rowMaxes, rowSums, op.getTargets()},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value target = arith::IndexCastOp::create(b, l, b.getIndexType(), a[2]);
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          Value inRange = arith::AndIOp::create(
              b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, target, zero),
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, target, numClasses));
          Value safeTarget = arith::SelectOp::create(b, l, inRange, target, zero);
          Value row = linalg::IndexOp::create(b, l, 0);
          Value picked = tensor::ExtractOp::create(b, l, logits, ValueRange{row, safeTarget});
          Value lse = arith::AddFOp::create(b, l, a[0], math::LogOp::create(b, l, a[1]));
          Value loss = arith::SubFOp::create(b, l, lse, picked);
          Value nan = floatConstant(b, l, elementType, std::numeric_limits<double>::quiet_NaN());
          return arith::SelectOp::create(b, l, inRange, loss, nan);
        });
    rewriter.replaceOp(op, buildMean(rewriter, loc, perRow, {0}, /*keepDims=*/false));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// reduce_sum/max/mean: `build` computes the reduction over the op's axes.
template <typename KilnOp, Value (*build)(OpBuilder &, Location, Value, ArrayRef<int64_t>, bool)>
struct LowerReduce : OpRewritePattern<KilnOp> {
  using OpRewritePattern<KilnOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op,
                       build(rewriter, op.getLoc(), op.getInput(), op.getAxes(), op.getKeepDims()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Matmul and transpose
//===----------------------------------------------------------------------===//

struct LowerMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    auto type = op.getType();
    if (type.getRank() > 3)
      return rewriter.notifyMatchFailure(op, "matmul of rank > 3 is not lowered yet");
    Location loc = op.getLoc();
    // The result's dims come from lhs (rows, batch) and rhs (columns).
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d))
        continue;
      bool fromRhs = d == type.getRank() - 1;
      dynamicSizes.push_back(
          tensor::DimOp::create(rewriter, loc, fromRhs ? op.getRhs() : op.getLhs(), d));
    }
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType(),
                                          dynamicSizes);
    Value zero = floatConstant(rewriter, loc, type.getElementType(), 0.0);
    Value init = linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    SmallVector<Value> inputs{op.getLhs(), op.getRhs()};
    Value result = type.getRank() == 2
                       ? linalg::MatmulOp::create(rewriter, loc, inputs, init).getResult(0)
                       : linalg::BatchMatmulOp::create(rewriter, loc, inputs, init).getResult(0);
    rewriter.replaceOp(op, result);
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

struct ConvertToLinalgPass : impl::KilnConvertToLinalgBase<ConvertToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<LowerBinary<AddOp, arith::AddFOp, arith::AddIOp>,
                 LowerBinary<SubOp, arith::SubFOp, arith::SubIOp>,
                 LowerBinary<MulOp, arith::MulFOp, arith::MulIOp>,
                 LowerBinary<DivOp, arith::DivFOp, arith::DivSIOp>,
                 LowerBinary<MaxOp, arith::MaximumFOp, arith::MaxSIOp>,
                 LowerBinary<MinOp, arith::MinimumFOp, arith::MinSIOp>, LowerSoftmax,
                 LowerLogSoftmax, LowerCrossEntropy, LowerReduce<ReduceSumOp, buildSum>,
                 LowerReduce<ReduceMaxOp, buildMax>, LowerReduce<ReduceMeanOp, buildMean>,
                 LowerMatmul, LowerTranspose>(ctx);
    patterns.add<LowerUnary<ReluOp>>(ctx, reluBody);
    patterns.add<LowerUnary<SigmoidOp>>(ctx, sigmoidBody);
    patterns.add<LowerUnary<NegOp>>(ctx, negBody);
    patterns.add<LowerUnary<TanhOp>>(ctx, tanhBody);
    patterns.add<LowerUnary<ExpOp>>(ctx, expBody);
    patterns.add<LowerUnary<LogOp>>(ctx, logBody);
    patterns.add<LowerUnary<SqrtOp>>(ctx, sqrtBody);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Every kiln op must be gone; a survivor is an op without a lowering.
    getOperation().walk([&](Operation *op) {
      if (isa<KilnDialect>(op->getDialect())) {
        op->emitError("no lowering to linalg for this op");
        signalPassFailure();
      }
    });
  }
};

} // namespace
} // namespace kiln
