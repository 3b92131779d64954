//===- KilnCanonicalize.cpp - Folds and canonical forms of kiln ops -------===//
//
// Gradient rules transpose freely (the cotangent of `x @ transpose(w)` is
// `transpose(x^T @ g)`, that of the transpose's input `swapLast` of its
// result's), so a backward graph is full of transposes of transposes and of
// matmul results. Folded here, they leave matmuls whose operands are at most
// one transpose away from a buffer, which a oneDNN call reads through its
// strides: no transposed copy of a weight or of its gradient is ever made.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace kiln;

namespace {
bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if (p != static_cast<int64_t>(i))
      return false;
  return true;
}

bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t rank = perm.size();
  if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
    return false;
  return isIdentity(perm.drop_back(2));
}
} // namespace

// transpose(x, identity) = x; transpose(transpose(x, p), q) = transpose(x, p
// then q), which is x when that is the identity.
OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (isIdentity(perm) && getInput().getType() == getType())
    return getInput();
  auto inner = getInput().getDefiningOp<TransposeOp>();
  if (!inner)
    return {};
  ArrayRef<int64_t> innerPerm = inner.getPermutation();
  SmallVector<int64_t> composed;
  for (int64_t p : perm)
    composed.push_back(innerPerm[p]);
  if (isIdentity(composed))
    return inner.getInput().getType() == getType() ? inner.getInput() : OpFoldResult();
  // In place: this op now transposes the inner one's input.
  setPermutation(composed);
  getInputMutable().assign(inner.getInput());
  return getResult();
}

namespace {
/// (a @ b)^T = b^T @ a^T for 2-D operands, when the product has no other
/// use: the operands' transposes fold away or into a oneDNN call's strides,
/// where the product's would be a copy.
struct TransposeOfMatmul : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto matmul = op.getInput().getDefiningOp<MatmulOp>();
    if (!matmul || !matmul->hasOneUse() || !swapsLastTwo(op.getPermutation()))
      return rewriter.notifyMatchFailure(op, "not the only use of a matmul, swapped");
    Value lhs = matmul.getLhs(), rhs = matmul.getRhs();
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    if (lhsType.getRank() != 2 || rhsType.getRank() != 2)
      return rewriter.notifyMatchFailure(op, "batched operands");
    auto swapped = [&](Value x, RankedTensorType type) -> Value {
      auto result = RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                          type.getElementType());
      return TransposeOp::create(rewriter, op.getLoc(), result, x, ArrayRef<int64_t>{1, 0});
    };
    // At the product's place, not the transpose's: a gradient rule that
    // ordered its products (a weight's gradient first, so the activation it
    // reads is freed early) keeps that order.
    rewriter.setInsertionPoint(matmul);
    rewriter.replaceOpWithNewOp<MatmulOp>(op, op.getType(), swapped(rhs, rhsType),
                                          swapped(lhs, lhsType));
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *context) {
  patterns.add<TransposeOfMatmul>(context);
}
