//===- Contraction.cpp - matmul, attention and conv2d to linalg -----------===//
//
// Plain and batched matmuls use linalg's named ops, which the tiler blocks
// into register tiles. Broadcast batch dims and rank > 3 become one
// linalg.generic contraction (batch..., M, N, K) with projected-permutation
// maps, which the same tiler and vectorizer recognize as a contraction.
// Attention is decomposed into two such contractions around a masked,
// numerically stable softmax; a fused kernel can later match the kiln op.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"
#include "runtime/include/kiln/abi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include <limits>

using namespace mlir;

namespace kiln {
namespace {

/// The dim of `operand` (its batch dims aligned at the end of the result's
/// batch dims) that result dim `d` reads, or std::nullopt when the operand
/// lacks it or broadcasts a static 1 along it.
std::optional<int64_t> batchDimOf(RankedTensorType operand, RankedTensorType result, int64_t d) {
  int64_t operandBatch = operand.getRank() - 2, resultBatch = result.getRank() - 2;
  int64_t od = d - (resultBatch - operandBatch);
  if (od < 0)
    return std::nullopt;
  if (operand.getDimSize(od) == 1 && result.getDimSize(d) != 1)
    return std::nullopt;
  return od;
}

/// `lhs @ rhs` (or `lhs @ rhs^T` with `transposeRhs`) into `resultType`, as a
/// generic over (batch..., M, N, K). A broadcast static-1 batch dim is read at
/// index 0.
Value buildContraction(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       RankedTensorType resultType, bool transposeRhs) {
  MLIRContext *ctx = b.getContext();
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  int64_t rank = resultType.getRank(), batch = rank - 2;
  int64_t numLoops = rank + 1;
  AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
             k = getAffineDimExpr(batch + 2, ctx);

  SmallVector<Value> dynamicSizes;
  auto operandMap = [&](RankedTensorType type, AffineExpr row, AffineExpr col) {
    SmallVector<AffineExpr> exprs;
    int64_t operandBatch = type.getRank() - 2;
    for (int64_t od = 0; od < operandBatch; ++od) {
      int64_t d = od + batch - operandBatch;
      bool broadcast = type.getDimSize(od) == 1 && resultType.getDimSize(d) != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(d, ctx));
    }
    exprs.append({row, col});
    return AffineMap::get(numLoops, 0, exprs, ctx);
  };
  for (int64_t d = 0; d < rank; ++d) {
    if (!resultType.isDynamicDim(d))
      continue;
    Value size;
    if (d < batch) {
      for (auto [value, type] : {std::pair{lhs, lhsType}, std::pair{rhs, rhsType}})
        if (auto od = batchDimOf(type, resultType, d); od && type.isDynamicDim(*od) && !size)
          size = tensor::DimOp::create(b, loc, value, *od);
    } else if (d == batch) {
      size = tensor::DimOp::create(b, loc, lhs, lhsType.getRank() - 2);
    } else {
      size = tensor::DimOp::create(b, loc, rhs, rhsType.getRank() - (transposeRhs ? 2 : 1));
    }
    assert(size && "a dynamic result dim comes from a dynamic operand dim");
    dynamicSizes.push_back(size);
  }
  Type elementType = resultType.getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, resultType.getShape(), elementType, dynamicSizes);
  Value zero = floatConstant(b, loc, elementType, 0.0);
  Value init = linalg::FillOp::create(b, loc, zero, empty).getResult(0);

  SmallVector<AffineExpr> outExprs;
  for (int64_t d = 0; d < rank; ++d)
    outExprs.push_back(getAffineDimExpr(d, ctx));
  SmallVector<AffineMap> maps{operandMap(lhsType, m, k),
                              transposeRhs ? operandMap(rhsType, n, k) : operandMap(rhsType, k, n),
                              AffineMap::get(numLoops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  return linalg::GenericOp::create(b, loc, resultType, ValueRange{lhs, rhs}, init, maps, iterators,
                                   [](OpBuilder &nb, Location l, ValueRange a) {
                                     Value product = arith::MulFOp::create(nb, l, a[0], a[1]);
                                     linalg::YieldOp::create(
                                         nb, l,
                                         ValueRange{arith::AddFOp::create(nb, l, a[2], product)});
                                   })
      .getResult(0);
}

struct LowerMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
    Location loc = op.getLoc();
    // Equal ranks 2 and 3 with no broadcasting: the named ops.
    bool named = lhsType.getRank() == rhsType.getRank() && type.getRank() <= 3 &&
                 (type.getRank() == 2 ||
                  (lhsType.getDimSize(0) == rhsType.getDimSize(0) && lhsType.getDimSize(0) != 1));
    if (!named) {
      rewriter.replaceOp(op, buildContraction(rewriter, loc, op.getLhs(), op.getRhs(), type,
                                              /*transposeRhs=*/false));
      return success();
    }
    // The result's dims come from lhs (rows, batch) and rhs (columns).
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d))
        continue;
      bool fromRhs = d == type.getRank() - 1;
      Value source = fromRhs ? op.getRhs() : op.getLhs();
      if (d == 0 && type.getRank() == 3 && !lhsType.isDynamicDim(0))
        source = op.getRhs();
      dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, source, d));
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

/// softmax(scale * q @ k^T, hiding masked keys with -inf) @ v.
struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    Type elementType = q.getElementType();
    auto scoresType = RankedTensorType::get(
        {q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), k.getDimSize(2)}, elementType);
    Value scores = buildContraction(rewriter, loc, op.getQuery(), op.getKey(), scoresType,
                                    /*transposeRhs=*/true);

    // Scale and mask in one map over [B, H, S, T]; the key-padding mask is
    // read at (b, t).
    SmallVector<Value> inputs{scores};
    SmallVector<AffineMap> maps{rewriter.getMultiDimIdentityMap(4)};
    if (Value mask = op.getMask()) {
      inputs.push_back(mask);
      maps.push_back(
          AffineMap::get(4, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(3, ctx)}, ctx));
    }
    if (Value bias = op.getBias()) {
      // Right-aligned broadcasting: a size-1 (or missing) dim reads index 0.
      auto biasType = cast<RankedTensorType>(bias.getType());
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0, rank = biasType.getRank(); i < rank; ++i)
        exprs.push_back(biasType.getDimSize(i) == 1
                            ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(4 - rank + i, ctx));
      inputs.push_back(bias);
      maps.push_back(AffineMap::get(4, 0, exprs, ctx));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(4));
    bool causal = op.getCausal(), masked = op.getMask() != nullptr;
    bool biased = op.getBias() != nullptr;
    double scale = op.getScale().convertToDouble();
    Value empty = buildEmpty(rewriter, loc, scoresType, {scores});
    SmallVector<utils::IteratorType> parallel(4, utils::IteratorType::parallel);
    Value logits =
        linalg::GenericOp::create(
            rewriter, loc, scoresType, inputs, empty, maps, parallel,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value value =
                  arith::MulFOp::create(b, l, a[0], floatConstant(b, l, elementType, scale));
              if (biased)
                value = arith::AddFOp::create(b, l, value, a[masked ? 2 : 1]);
              Value hidden =
                  floatConstant(b, l, elementType, -std::numeric_limits<double>::infinity());
              if (causal) {
                Value s = linalg::IndexOp::create(b, l, 2), t = linalg::IndexOp::create(b, l, 3);
                Value future = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ugt, t, s);
                value = arith::SelectOp::create(b, l, future, hidden, value);
              }
              if (masked)
                value = arith::SelectOp::create(b, l, a[1], value, hidden);
              linalg::YieldOp::create(b, l, value);
            })
            .getResult(0);
    Value probs = buildSoftmax(rewriter, loc, logits, 3);
    rewriter.replaceOp(op, buildContraction(rewriter, loc, probs, op.getValue(),
                                            cast<RankedTensorType>(op.getType()),
                                            /*transposeRhs=*/false));
    return success();
  }
};

/// c * value, c a scalar constant broadcast as the frontend writes one.
Value scaled(OpBuilder &b, Location loc, Value value, float c) {
  auto type = cast<RankedTensorType>(value.getType());
  auto scalarType = RankedTensorType::get({}, type.getElementType());
  Value scale = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(scalarType, b.getFloatAttr(type.getElementType(), c)));
  return MulOp::create(b, loc, type, scale, value);
}

/// fused_linear back into the kiln ops it stands for; they lower (in this
/// same greedy rewrite) to a linalg matmul and one elementwise generic for
/// bias, activation and residual, which linalg-fuse-elementwise-ops keeps
/// as one epilogue loop. Numerics are those of the unfused chain by
/// construction.
struct LowerFusedLinear : OpRewritePattern<FusedLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FusedLinearOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto weight = cast<RankedTensorType>(op.getWeight().getType());
    auto transposedType = RankedTensorType::get({weight.getDimSize(1), weight.getDimSize(0)},
                                                weight.getElementType());
    Value transposed = TransposeOp::create(rewriter, loc, transposedType, op.getWeight(),
                                           rewriter.getDenseI64ArrayAttr({1, 0}));
    Type type = op.getType();
    Value value = MatmulOp::create(rewriter, loc, type, op.getInput(), transposed);
    if (Value bias = op.getBias())
      value = AddOp::create(rewriter, loc, type, value, bias);
    StringRef activation = op.getActivation();
    if (activation == "relu")
      value = ReluOp::create(rewriter, loc, type, value);
    else if (activation == "sigmoid")
      value = SigmoidOp::create(rewriter, loc, type, value);
    else if (activation == "gelu_erf" || activation == "gelu_tanh")
      value = GeluOp::create(rewriter, loc, type, value,
                             rewriter.getStringAttr(activation == "gelu_tanh" ? "tanh" : "none"));
    else if (activation == "silu" || activation == "quick_gelu")
      value = MulOp::create(
          rewriter, loc, type, value,
          SigmoidOp::create(
              rewriter, loc, type,
              activation == "silu" ? value : scaled(rewriter, loc, value, KILN_QUICK_GELU_SCALE)));
    if (Value residual = op.getResidual())
      value = AddOp::create(rewriter, loc, type, value, residual);
    rewriter.replaceOp(op, value);
    return success();
  }
};

/// linalg.conv_2d_nchw_fchw accumulating into the bias broadcast over
/// [B, O, OH, OW].
struct LowerConv2D : OpRewritePattern<Conv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = getContext();
    auto type = cast<RankedTensorType>(op.getType());
    SmallVector<Value> dynamicSizes;
    if (type.isDynamicDim(0))
      dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, op.getInput(), 0));
    Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(), type.getElementType(),
                                          dynamicSizes);
    SmallVector<AffineMap> maps{AffineMap::get(4, 0, {getAffineDimExpr(1, ctx)}, ctx),
                                rewriter.getMultiDimIdentityMap(4)};
    SmallVector<utils::IteratorType> parallel(4, utils::IteratorType::parallel);
    Value init =
        linalg::GenericOp::create(
            rewriter, loc, type, ValueRange{op.getBias()}, empty, maps, parallel,
            [](OpBuilder &b, Location l, ValueRange a) { linalg::YieldOp::create(b, l, a[0]); })
            .getResult(0);
    auto conv = linalg::Conv2DNchwFchwOp::create(
        rewriter, loc, type, ValueRange{op.getInput(), op.getWeight()}, ValueRange{init},
        rewriter.getI64TensorAttr(op.getStrides()), rewriter.getI64TensorAttr({1, 1}));
    rewriter.replaceOp(op, conv.getResult(0));
    return success();
  }
};

} // namespace

void populateContractionPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerMatmul, LowerAttention, LowerConv2D, LowerFusedLinear>(patterns.getContext());
}


} // namespace kiln
