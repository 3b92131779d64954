//===- Normalization.cpp - Softmax, losses, reductions, norms -------------===//
//
// Ops that reduce along an axis and then map with the result. Softmax-like
// ops are written in their numerically stable forms (subtract the row max).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/ShapeUtils.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include <limits>

using namespace mlir;

namespace kiln {
namespace {

TypedAttr floatAttr(Type type, double value) { return FloatAttr::get(type, value); }

//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

Value addCombiner(OpBuilder &b, Location loc, ValueRange args) {
  return arith::AddFOp::create(b, loc, args[0], args[1]);
}
Value maxCombiner(OpBuilder &b, Location loc, ValueRange args) {
  return arith::MaximumFOp::create(b, loc, args[0], args[1]);
}

/// Sum over `axes`.
Value sumOver(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return buildReduction(b, loc, x, axes, keepDims, floatAttr(elementTypeOf(x), 0.0), addCombiner);
}

/// Maximum over `axes`.
Value maxOver(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
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
  return sumOver(b, loc, shifted, {axis}, /*keepDims=*/true);
}

Value softmaxAlong(OpBuilder &b, Location loc, Value x, int64_t axis) {
  Value max = maxOver(b, loc, x, {axis}, /*keepDims=*/true);
  Value sum = sumExpShifted(b, loc, x, max, axis);
  return buildElementwise(b, loc, cast<RankedTensorType>(x.getType()), {x, max, sum},
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            Value e = math::ExpOp::create(nb, l,
                                                          arith::SubFOp::create(nb, l, a[0], a[1]));
                            return arith::DivFOp::create(nb, l, e, a[2]);
                          });
}

struct LowerSoftmax : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, softmaxAlong(rewriter, op.getLoc(), op.getInput(), op.getAxis()));
    return success();
  }
};

struct LowerLogSoftmax : OpRewritePattern<LogSoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LogSoftmaxOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = op.getAxis();
    Value max = maxOver(rewriter, loc, op.getInput(), {axis}, /*keepDims=*/true);
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
Value meanOver(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes, bool keepDims) {
  Type elementType = elementTypeOf(input);
  Value sum = sumOver(b, loc, input, axes, keepDims);
  Value count = buildDimProduct(b, loc, input, axes);
  Value countFloat = arith::UIToFPOp::create(
      b, loc, elementType, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
  return buildElementwise(b, loc, cast<RankedTensorType>(sum.getType()), {sum},
                          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::DivFOp::create(nb, l, a[0], countFloat);
                          });
}

/// Each row's logsumexp in two vectorizable passes over the logits: the row
/// max, then the sum of exp(x - max).
Value rowLogSumExpTwoPass(OpBuilder &b, Location loc, Value logits) {
  auto logitsType = cast<RankedTensorType>(logits.getType());
  Type elementType = logitsType.getElementType();
  Value max = maxOver(b, loc, logits, {1}, /*keepDims=*/true);
  Value sum = sumExpShifted(b, loc, logits, max, 1);
  // [N, 1] -> [N] so the per-row values are plain 1-D maps.
  auto collapse = [&](Value v) -> Value {
    auto collapsed = RankedTensorType::get({logitsType.getDimSize(0)}, elementType);
    return tensor::CollapseShapeOp::create(b, loc, collapsed, v,
                                           ArrayRef<ReassociationIndices>{{0, 1}});
  };
  auto rowType = RankedTensorType::get({logitsType.getDimSize(0)}, elementType);
  return buildElementwise(b, loc, rowType, {collapse(max), collapse(sum)},
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::AddFOp::create(nb, l, a[0],
                                                         math::LogOp::create(nb, l, a[1]));
                          });
}

/// Each row's logsumexp in one pass over the logits: an online max `m` and
/// sum `s` of `exp(x - m)`, rescaling `s` when the max grows, so no shifted or
/// exponentiated copy of the logits is ever stored. `m` starts at the lowest
/// finite float rather than -inf so that a leading -inf logit adds
/// exp(-inf) = 0 instead of exp(-inf + inf) = NaN; one exp per element.
/// Not vectorized yet (two outputs, a custom combiner), so it is opt-in.
Value rowLogSumExpOnline(OpBuilder &b, Location loc, Value logits) {
  auto logitsType = cast<RankedTensorType>(logits.getType());
  auto elementType = cast<FloatType>(logitsType.getElementType());
  auto rowType = RankedTensorType::get({logitsType.getDimSize(0)}, elementType);
  double lowest = llvm::APFloat::getLargest(elementType.getFloatSemantics(), /*Negative=*/true)
                      .convertToDouble();
  // Row accumulators; buildFilled aligns dims at the trailing one, so the
  // [N] inits take N from the logits explicitly.
  SmallVector<Value> rowSizes;
  if (rowType.isDynamicDim(0))
    rowSizes.push_back(tensor::DimOp::create(b, loc, logits, 0));
  Value rows0 = tensor::EmptyOp::create(b, loc, rowType.getShape(), elementType, rowSizes);
  auto filled = [&](double value) -> Value {
    Value fill = arith::ConstantOp::create(b, loc, floatAttr(elementType, value));
    return linalg::FillOp::create(b, loc, fill, rows0).getResult(0);
  };
  Value maxInit = filled(lowest), sumInit = filled(0.0);
  MLIRContext *ctx = b.getContext();
  AffineMap all = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap rows = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  auto online = linalg::GenericOp::create(
      b, loc, TypeRange{rowType, rowType}, ValueRange{logits}, ValueRange{maxInit, sumInit},
      ArrayRef<AffineMap>{all, rows, rows},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel, utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value x = a[0], m = a[1], s = a[2];
        Value grows = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, m);
        Value newMax = arith::SelectOp::create(nb, l, grows, x, m);
        // exp(-|x - m|): the factor that rescales the old sum when the max
        // grows, else the new term.
        Value low = arith::SelectOp::create(nb, l, grows, m, x);
        Value e = math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, low, newMax));
        Value one = floatConstant(nb, l, elementType, 1.0);
        Value rescaled = arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, s, e), one);
        Value added = arith::AddFOp::create(nb, l, s, e);
        Value newSum = arith::SelectOp::create(nb, l, grows, rescaled, added);
        linalg::YieldOp::create(nb, l, ValueRange{newMax, newSum});
      });
  return buildElementwise(b, loc, rowType, {online.getResult(0), online.getResult(1)},
                          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                            return arith::AddFOp::create(nb, l, a[0],
                                                         math::LogOp::create(nb, l, a[1]));
                          });
}

/// mean_n(lse_n - l[n, t_n]); NaN for a target outside [0, C) so that bad
/// labels never read out of bounds.
Value meanPickedLoss(OpBuilder &b, Location loc, Value lse, Value logits, Value targets) {
  auto rowType = cast<RankedTensorType>(lse.getType());
  Type elementType = rowType.getElementType();
  Value numClasses = tensor::DimOp::create(b, loc, logits, 1);
  Value perRow = buildElementwise(
      b, loc, rowType, {lse, targets}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value target = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[1]);
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        Value inRange = arith::AndIOp::create(
            nb, l, arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, target, zero),
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, target, numClasses));
        Value safeTarget = arith::SelectOp::create(nb, l, inRange, target, zero);
        Value row = linalg::IndexOp::create(nb, l, 0);
        Value picked = tensor::ExtractOp::create(nb, l, logits, ValueRange{row, safeTarget});
        Value loss = arith::SubFOp::create(nb, l, a[0], picked);
        Value nan = floatConstant(nb, l, elementType, std::numeric_limits<double>::quiet_NaN());
        return arith::SelectOp::create(nb, l, inRange, loss, nan);
      });
  return meanOver(b, loc, perRow, {0}, /*keepDims=*/false);
}

struct LowerCrossEntropy : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op, PatternRewriter &rewriter) const override {
    Value lse = rowLogSumExpTwoPass(rewriter, op.getLoc(), op.getLogits());
    rewriter.replaceOp(op,
                       meanPickedLoss(rewriter, op.getLoc(), lse, op.getLogits(), op.getTargets()));
    return success();
  }
};

/// The fused softmax-cross-entropy: the loss and, with `lse`, each row's
/// logsumexp for a later backward. `online` selects the one-read lowering.
struct LowerSoftmaxCrossEntropy : OpRewritePattern<SoftmaxCrossEntropyOp> {
  LowerSoftmaxCrossEntropy(MLIRContext *ctx, bool online) : OpRewritePattern(ctx), online(online) {}
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lse = online ? rowLogSumExpOnline(rewriter, loc, op.getLogits())
                       : rowLogSumExpTwoPass(rewriter, loc, op.getLogits());
    SmallVector<Value> results{meanPickedLoss(rewriter, loc, lse, op.getLogits(), op.getTargets())};
    if (op.getLse())
      results.push_back(lse);
    rewriter.replaceOp(op, results);
    return success();
  }
  bool online;
};

/// Without a native kernel (other element types): the loss as the fused op,
/// the gradient as softmax - one_hot, both then lowered by their patterns.
struct LowerSoftmaxCrossEntropyGrad : OpRewritePattern<SoftmaxCrossEntropyGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type gradType = op.getGrad().getType();
    Value loss = SoftmaxCrossEntropyOp::create(rewriter, loc, op.getLoss().getType(),
                                               /*lse=*/Type(), op.getLogits(), op.getTargets(),
                                               /*with_lse=*/false)
                     .getLoss();
    Value softmax = SoftmaxOp::create(rewriter, loc, gradType, op.getLogits(), 1);
    Value oneHot = OneHotOp::create(rewriter, loc, gradType, op.getTargets());
    Value grad = SubOp::create(rewriter, loc, gradType, softmax, oneHot);
    rewriter.replaceOp(op, {loss, grad});
    return success();
  }
};

/// A rank-0 constant of `elementType` holding `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getFloatAttr(elementType, value)));
}

/// Without a native kernel: the distillation term as the ops it fused.
struct LowerSoftmaxKlDiv : OpRewritePattern<SoftmaxKlDivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxKlDivOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getStudent().getType());
    Value temperature = scalarConstant(rewriter, loc, type.getElementType(),
                                       op.getTemperature().convertToDouble());
    Value student = DivOp::create(rewriter, loc, type, op.getStudent(), temperature);
    Value teacher = DivOp::create(rewriter, loc, type, op.getTeacher(), temperature);
    Value logProbs = LogSoftmaxOp::create(rewriter, loc, type, student, 1);
    Value probs = SoftmaxOp::create(rewriter, loc, type, teacher, 1);
    rewriter.replaceOpWithNewOp<KlDivOp>(op, op.getType(), logProbs, probs);
    return success();
  }
};

/// Without a native kernel: the loss as the fused op, the gradient as the
/// difference of the two temperature softmaxes.
struct LowerSoftmaxKlDivGrad : OpRewritePattern<SoftmaxKlDivGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxKlDivGradOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getStudent().getType());
    Value loss = SoftmaxKlDivOp::create(rewriter, loc, op.getLoss().getType(), op.getStudent(),
                                        op.getTeacher(), op.getTemperatureAttr());
    Value temperature = scalarConstant(rewriter, loc, type.getElementType(),
                                       op.getTemperature().convertToDouble());
    auto probs = [&](Value logits) -> Value {
      Value scaled = DivOp::create(rewriter, loc, type, logits, temperature);
      return SoftmaxOp::create(rewriter, loc, type, scaled, 1);
    };
    Value grad = SubOp::create(rewriter, loc, type, probs(op.getStudent()), probs(op.getTeacher()));
    rewriter.replaceOp(op, {loss, grad});
    return success();
  }
};

/// Without a native kernel: the two terms as their own fused ops.
struct LowerDistillationLoss : OpRewritePattern<DistillationLossOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DistillationLossOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value soft = SoftmaxKlDivOp::create(rewriter, loc, op.getSoft().getType(), op.getStudent(),
                                        op.getTeacher(), op.getTemperatureAttr());
    Value hard = SoftmaxCrossEntropyOp::create(rewriter, loc, op.getHard().getType(),
                                               /*lse=*/Type(), op.getStudent(), op.getTargets(),
                                               /*with_lse=*/false)
                     .getLoss();
    rewriter.replaceOp(op, {soft, hard});
    return success();
  }
};

/// S^T of a 2-D S, as kiln.transpose.
Value transposed2d(OpBuilder &b, Location loc, Value matrix) {
  auto type = cast<RankedTensorType>(matrix.getType());
  auto flipped =
      RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)}, type.getElementType());
  return TransposeOp::create(b, loc, flipped, matrix, b.getDenseI64ArrayAttr({1, 0}));
}

/// Without a native kernel: the two cross-entropies, the second over S^T.
struct LowerContrastiveCrossEntropy : OpRewritePattern<ContrastiveCrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ContrastiveCrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value transposed = transposed2d(rewriter, loc, op.getLogits());
    Type lossType = op.getRowLoss().getType();
    Value rows = CrossEntropyOp::create(rewriter, loc, lossType, op.getLogits(), op.getTargets());
    Value columns = CrossEntropyOp::create(rewriter, loc, lossType, transposed, op.getTargets());
    rewriter.replaceOp(op, {rows, columns});
    return success();
  }
};

/// Without a native kernel: the two gradient ops it fused, the second over
/// S^T, its gradient transposed back.
struct LowerContrastiveCrossEntropyGrad : OpRewritePattern<ContrastiveCrossEntropyGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ContrastiveCrossEntropyGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getLogits().getType());
    Type lossType = op.getRowLoss().getType();
    auto rows = SoftmaxCrossEntropyGradOp::create(rewriter, loc, lossType, type, op.getLogits(),
                                                  op.getTargets());
    Value transposed = transposed2d(rewriter, loc, op.getLogits());
    auto columns = SoftmaxCrossEntropyGradOp::create(rewriter, loc, lossType, transposed.getType(),
                                                     transposed, op.getTargets());
    Value colGrad = transposed2d(rewriter, loc, columns.getGrad());
    rewriter.replaceOp(op, {rows.getLoss(), columns.getLoss(), rows.getGrad(), colGrad});
    return success();
  }
};

/// Without a native kernel: the two gradients, scaled and added.
struct LowerContrastiveCrossEntropyGradSum : OpRewritePattern<ContrastiveCrossEntropyGradSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ContrastiveCrossEntropyGradSumOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getGrad().getType();
    auto grads = ContrastiveCrossEntropyGradOp::create(
        rewriter, loc, op.getRowLoss().getType(), op.getColLoss().getType(), type, type,
        op.getLogits(), op.getTargets());
    Value rows = MulOp::create(rewriter, loc, type, grads.getRowGrad(), op.getRowScale());
    Value cols = MulOp::create(rewriter, loc, type, grads.getColGrad(), op.getColScale());
    Value sum = AddOp::create(rewriter, loc, type, rows, cols);
    rewriter.replaceOp(op, {grads.getRowLoss(), grads.getColLoss(), sum});
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
// Layer norm
//===----------------------------------------------------------------------===//

/// (x - mean) * rsqrt(mean((x - mean)^2) + eps) * weight + bias over the last
/// dim; weight and bias broadcast along the trailing dim.
struct LowerLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t last = type.getRank() - 1;
    Value mean = meanOver(rewriter, loc, x, {last}, /*keepDims=*/true);
    Value centered = buildElementwise(rewriter, loc, type, {x, mean},
                                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                        return arith::SubFOp::create(b, l, a[0], a[1]);
                                      });
    Value squared = buildElementwise(rewriter, loc, type, {centered},
                                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       return arith::MulFOp::create(b, l, a[0], a[0]);
                                     });
    Value variance = meanOver(rewriter, loc, squared, {last}, /*keepDims=*/true);
    double eps = op.getEps().convertToDouble();
    Value result = buildElementwise(
        rewriter, loc, type, {centered, variance, op.getWeight(), op.getBias()},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value shifted =
              arith::AddFOp::create(b, l, a[1], floatConstant(b, l, a[1].getType(), eps));
          Value normalized =
              arith::MulFOp::create(b, l, a[0], math::RsqrtOp::create(b, l, shifted));
          return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, normalized, a[2]), a[3]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// KL divergence and L2 similarities
//===----------------------------------------------------------------------===//

/// sum(t * (log t - l)) / N, a term being 0 where t == 0.
struct LowerKlDiv : OpRewritePattern<KlDivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KlDivOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getLogInput();
    auto type = cast<RankedTensorType>(input.getType());
    Type elementType = type.getElementType();
    Value terms = buildElementwise(
        rewriter, loc, type, {input, op.getTarget()},
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value zero = floatConstant(b, l, a[1].getType(), 0.0);
          Value diff = arith::SubFOp::create(b, l, math::LogOp::create(b, l, a[1]), a[0]);
          Value term = arith::MulFOp::create(b, l, a[1], diff);
          Value absent = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[1], zero);
          return arith::SelectOp::create(b, l, absent, zero, term);
        });
    Value total =
        sumOver(rewriter, loc, terms, llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())),
                /*keepDims=*/false);
    Value batch = buildDimProduct(rewriter, loc, input, {0});
    Value batchFloat = arith::UIToFPOp::create(
        rewriter, loc, elementType,
        arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(), batch));
    Value result = buildElementwise(rewriter, loc, cast<RankedTensorType>(total.getType()), {total},
                                    [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                      return arith::DivFOp::create(b, l, a[0], batchFloat);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// x / max(sqrt(sum(x^2, axis)), eps), the norm broadcast along `axis`.
Value normalizeAlong(OpBuilder &b, Location loc, Value x, int64_t axis, double eps) {
  auto type = cast<RankedTensorType>(x.getType());
  Value squares = buildElementwise(b, loc, type, {x}, [](OpBuilder &nb, Location l, ValueRange a) {
    return arith::MulFOp::create(nb, l, a[0], a[0]).getResult();
  });
  Value sumSquares = sumOver(b, loc, squares, {axis}, /*keepDims=*/true);
  return buildElementwise(
      b, loc, type, {x, sumSquares}, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value norm = math::SqrtOp::create(nb, l, a[1]);
        Value clamped =
            arith::MaximumFOp::create(nb, l, norm, floatConstant(nb, l, norm.getType(), eps));
        return arith::DivFOp::create(nb, l, a[0], clamped);
      });
}

struct LowerL2Normalize : OpRewritePattern<L2NormalizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(L2NormalizeOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, normalizeAlong(rewriter, op.getLoc(), op.getInput(), op.getAxis(),
                                          op.getEps().convertToDouble()));
    return success();
  }
};

/// PyTorch 1.13's form: each operand normalized on its own (its norm
/// clamped to eps), then the product summed along `axis`.
struct LowerCosineSimilarity : OpRewritePattern<CosineSimilarityOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CosineSimilarityOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = op.getAxis();
    double eps = op.getEps().convertToDouble();
    Value lhs = normalizeAlong(rewriter, loc, op.getLhs(), axis, eps);
    Value rhs = normalizeAlong(rewriter, loc, op.getRhs(), axis, eps);
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    auto shape = broadcastShapes(lhsType.getShape(), rhsType.getShape());
    auto productType = RankedTensorType::get(*shape, lhsType.getElementType());
    Value product = buildElementwise(rewriter, loc, productType, {lhs, rhs},
                                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                       return arith::MulFOp::create(b, l, a[0], a[1]);
                                     });
    rewriter.replaceOp(op, sumOver(rewriter, loc, product, {axis}, /*keepDims=*/false));
    return success();
  }
};

} // namespace

Value buildSum(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return sumOver(b, loc, x, axes, keepDims);
}
Value buildMax(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return maxOver(b, loc, x, axes, keepDims);
}
Value buildMean(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, bool keepDims) {
  return meanOver(b, loc, x, axes, keepDims);
}
Value buildSoftmax(OpBuilder &b, Location loc, Value x, int64_t axis) {
  return softmaxAlong(b, loc, x, axis);
}

void populateNormalizationPatterns(RewritePatternSet &patterns, bool onlineSoftmax) {
  patterns.add<LowerSoftmaxCrossEntropy>(patterns.getContext(), onlineSoftmax);
  patterns.add<LowerSoftmaxCrossEntropyGrad, LowerSoftmaxKlDiv, LowerSoftmaxKlDivGrad,
               LowerContrastiveCrossEntropy, LowerContrastiveCrossEntropyGrad,
               LowerContrastiveCrossEntropyGradSum,
               LowerDistillationLoss>(
      patterns.getContext());
  patterns.add<LowerSoftmax, LowerLogSoftmax, LowerCrossEntropy, LowerReduce<ReduceSumOp, sumOver>,
               LowerReduce<ReduceMaxOp, maxOver>, LowerReduce<ReduceMeanOp, meanOver>,
               LowerLayerNorm, LowerKlDiv, LowerL2Normalize, LowerCosineSimilarity>(
      patterns.getContext());
}

} // namespace kiln
