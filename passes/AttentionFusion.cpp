//===- AttentionFusion.cpp - spelled-out attention into kiln.attention ----===//
//
// matmul(softmax(scale * matmul(q, transpose(k)), axis = -1), v), written op
// by op, becomes one kiln.attention so that it gets attention's lowering (and
// any fused attention kernel) instead of materializing the scores through
// separate ops.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEATTENTION
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct FuseAttention : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    Value v = op.getRhs();
    auto softmax = op.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || !softmax->hasOneUse())
      return rewriter.notifyMatchFailure(op, "lhs is not a single-use softmax");
    auto scoresType = cast<RankedTensorType>(softmax.getType());
    if (scoresType.getRank() != 4 || softmax.getAxis() != 3)
      return rewriter.notifyMatchFailure(op, "softmax is not over the keys of [B, H, S, T]");

    // An optional additive bias (a 0 / -inf mask, a positional bias) on the
    // scaled scores: scores + bias or bias + scores, of the scores' shape.
    Value scores = softmax.getInput(), bias;
    if (auto add = soleUseProducer<AddOp>(scores); add && add.getType() == scoresType) {
      Value lhs = add.getLhs(), rhs = add.getRhs();
      auto fromScores = [](Value x) {
        return x.getDefiningOp<MatmulOp>() || x.getDefiningOp<MulOp>() || x.getDefiningOp<DivOp>();
      };
      if (!fromScores(lhs) && fromScores(rhs))
        std::swap(lhs, rhs);
      if (lhs.getType() == scoresType && fromScores(lhs)) {
        scores = lhs;
        bias = rhs;
      }
    }

    // An optional scale: scores * c, c * scores or scores / c.
    double scale = 1.0;
    if (Operation *producer = scores.getDefiningOp();
        producer && isa<MulOp, DivOp>(producer) && producer->getResult(0).hasOneUse()) {
      Value lhs = producer->getOperand(0), rhs = producer->getOperand(1);
      std::optional<double> c = splatScalar(rhs);
      if (!c && isa<MulOp>(producer) && (c = splatScalar(lhs)))
        std::swap(lhs, rhs);
      if (c && lhs.getType() == scoresType && (isa<MulOp>(producer) || *c != 0.0)) {
        scale = isa<MulOp>(producer) ? *c : 1.0 / *c;
        scores = lhs;
      }
    }
    auto qk = scores.getDefiningOp<MatmulOp>();
    if (!qk || !scores.hasOneUse())
      return rewriter.notifyMatchFailure(op, "scores are not a single-use matmul");
    auto kt = qk.getRhs().getDefiningOp<TransposeOp>();
    if (!kt || kt.getPermutation() != ArrayRef<int64_t>{0, 1, 3, 2})
      return rewriter.notifyMatchFailure(op, "scores are not q @ transpose(k)");
    Value q = qk.getLhs(), k = kt.getInput();

    // kiln.attention does not broadcast: batch and heads must agree as written.
    auto qt = cast<RankedTensorType>(q.getType()), kt4 = cast<RankedTensorType>(k.getType()),
         vt = cast<RankedTensorType>(v.getType());
    if (qt.getRank() != 4 || kt4.getRank() != 4 || vt.getRank() != 4)
      return rewriter.notifyMatchFailure(op, "not rank-4 q, k, v");
    if (qt.getShape().take_front(2) != kt4.getShape().take_front(2) ||
        vt.getShape().take_front(3) != kt4.getShape().take_front(3))
      return rewriter.notifyMatchFailure(op, "batch, heads or key length differ (broadcast)");
    if (qt.getElementType() != vt.getElementType() || qt.getElementType() != kt4.getElementType())
      return rewriter.notifyMatchFailure(op, "element types differ");

    rewriter.replaceOpWithNewOp<AttentionOp>(op, op.getType(), q, k, v, /*mask=*/Value(), bias,
                                             rewriter.getF64FloatAttr(scale),
                                             rewriter.getBoolAttr(false));
    return success();
  }
};

struct FuseAttentionPass : impl::KilnFuseAttentionBase<FuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace kiln
