//===- LinearFusion.cpp - linear layer and its epilogue into one op -------===//
//
// x @ transpose(w) (+ bias) (-> relu | gelu | sigmoid | silu | quick_gelu)
// (+ residual), as the frontend writes a Linear followed by its activation
// and a skip connection, becomes one kiln.fused_linear. SiLU and QuickGELU
// are written out as `h * sigmoid(h)` and `h * sigmoid(1.702 * h)`. The
// chain is followed from the matmul while each value has a single use, so a
// value needed elsewhere ends the fusion there.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/CostModel.h"
#include "passes/Passes.h"

#include "runtime/include/kiln/abi.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSELINEAR
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The single user of `value`, if it has exactly one use.
Operation *soleUser(Value value) { return value.hasOneUse() ? *value.getUsers().begin() : nullptr; }

/// The operand of a two-operand `op` other than `value`, when the op's
/// result keeps `value`'s type (no broadcast of `value`).
Value otherOperand(Operation *op, Value value) {
  if (op->getNumOperands() != 2 || op->getResult(0).getType() != value.getType())
    return {};
  return op->getOperand(0) == value ? op->getOperand(1) : op->getOperand(0);
}

/// The fused_linear activation name of `op`, or an empty string.
StringRef activationOf(Operation *op) {
  if (isa<ReluOp>(op))
    return "relu";
  if (isa<SigmoidOp>(op))
    return "sigmoid";
  if (auto gelu = dyn_cast<GeluOp>(op))
    return gelu.getApproximate() == "tanh" ? "gelu_tanh" : "gelu_erf";
  return "";
}

/// Whether `value` is the f32 scalar (or splat) constant `expected`.
bool isScalarConstant(Value value, float expected) {
  DenseFPElementsAttr attr;
  return value && matchPattern(value, m_Constant(&attr)) && attr.isSplat() &&
         attr.getSplatValue<APFloat>().convertToFloat() == expected;
}

/// A swish of `h` written out: `h * sigmoid(h)` ("silu") or
/// `h * sigmoid(1.702 * h)` ("quick_gelu"), h used by nothing else and each
/// step by the next only. Returns the activation's name and its last op (the
/// product), or an empty name.
std::pair<StringRef, Operation *> swishOf(Value h) {
  // h's two users: the product, and the sigmoid or the scaling before it.
  SmallVector<Operation *, 2> users(h.getUsers());
  if (users.size() != 2 || users[0] == users[1])
    return {};
  for (auto [first, product] : {std::pair{users[0], users[1]}, std::pair{users[1], users[0]}}) {
    StringRef name = "silu";
    Operation *sigmoid = first;
    if (isa<MulOp>(first) && isScalarConstant(otherOperand(first, h), KILN_QUICK_GELU_SCALE)) {
      name = "quick_gelu";
      sigmoid = soleUser(first->getResult(0));
    }
    if (!sigmoid || !isa<SigmoidOp>(sigmoid) || soleUser(sigmoid->getResult(0)) != product ||
        !isa<MulOp>(product) || otherOperand(product, h) != sigmoid->getResult(0))
      continue;
    return {name, product};
  }
  return {};
}

struct FuseLinear : OpRewritePattern<MatmulOp> {
  FuseLinear(MLIRContext *context, int64_t minFlops)
      : OpRewritePattern(context), minFlops(minFlops) {}
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    auto transpose = op.getRhs().getDefiningOp<TransposeOp>();
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return rewriter.notifyMatchFailure(op, "rhs is not transpose(w) of a 2-D w");
    Value weight = transpose.getInput();
    auto type = cast<RankedTensorType>(op.getType());
    auto inputType = cast<RankedTensorType>(op.getLhs().getType());
    if (matmulFlops(type, inputType.getShape().back()) < double(minFlops))
      return rewriter.notifyMatchFailure(op, "below min-flops");
    int64_t out = cast<RankedTensorType>(weight.getType()).getDimSize(0);

    Operation *last = op;
    Value current = op.getResult(), bias, residual;
    StringRef activation = "none";
    // + bias: a [O] vector broadcast along the rows.
    if (Operation *user = soleUser(current); user && isa<AddOp>(user)) {
      Value other = otherOperand(user, current);
      auto otherType = other ? dyn_cast<RankedTensorType>(other.getType()) : nullptr;
      if (otherType && otherType.getRank() == 1 && otherType.getDimSize(0) == out &&
          !ShapedType::isDynamic(out)) {
        bias = other;
        last = user;
        current = user->getResult(0);
      }
    }
    // -> activation.
    if (Operation *user = soleUser(current); user && !activationOf(user).empty()) {
      activation = activationOf(user);
      last = user;
      current = user->getResult(0);
    } else if (auto [swish, product] = swishOf(current); !swish.empty()) {
      activation = swish;
      last = product;
      current = product->getResult(0);
    }
    // + residual of the result's own shape.
    if (Operation *user = soleUser(current); user && isa<AddOp>(user)) {
      Value other = otherOperand(user, current);
      if (other && other.getType() == type && other != current) {
        residual = other;
        last = user;
        current = user->getResult(0);
      }
    }
    if (last == op.getOperation())
      return rewriter.notifyMatchFailure(op, "no epilogue to fuse");

    rewriter.setInsertionPoint(last);
    auto fused = FusedLinearOp::create(rewriter, last->getLoc(), type, op.getLhs(), weight, bias,
                                       residual, activation);
    rewriter.replaceOp(last, fused.getResult());
    return success();
  }

  int64_t minFlops;
};

struct FuseLinearPass : impl::KilnFuseLinearBase<FuseLinearPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseLinear>(&getContext(), minFlops);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace kiln
