//===- GradDecompositions.cpp - Gradient ops as kiln ops ------------------===//
//
// The gradient ops that a native kernel computes in one pass
// (kiln.attention_grad, kiln.layer_norm_grad, kiln.rms_norm_grad) also have a
// decomposition into ordinary kiln ops, for where no kernel takes them:
// --fusion=false, other element types, shapes a kernel declines. kiln.rms_norm
// itself always lowers as its decomposition, which linalg fuses.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

/// Replaces an op by its decomposition; a value whose type is only less
/// static than the op's result gets a tensor.cast.
template <typename GradOp> struct DecomposeGradOp : OpRewritePattern<GradOp> {
  using OpRewritePattern<GradOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(GradOp op, PatternRewriter &rewriter) const override {
    auto grads = op.decompose(rewriter);
    SmallVector<Value> results;
    for (auto [grad, type] : llvm::zip(grads, op->getResultTypes()))
      results.push_back(grad.getType() == type
                            ? grad
                            : tensor::CastOp::create(rewriter, op.getLoc(), type, grad).getResult());
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void populateGradDecompositions(RewritePatternSet &patterns, PatternBenefit benefit) {
  patterns.add<DecomposeGradOp<AttentionGradOp>, DecomposeGradOp<LayerNormGradOp>,
               DecomposeGradOp<RmsNormGradOp>, DecomposeGradOp<RmsNormOp>>(patterns.getContext(),
                                                                         benefit);
}

} // namespace kiln
