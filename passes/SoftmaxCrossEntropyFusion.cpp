//===- SoftmaxCrossEntropyFusion.cpp - softmax + CE into one op -----------===//
//
// Cross-entropy written either as the builtin or as the chain a user spells
// out with one_hot becomes kiln.softmax_cross_entropy, whose lowering makes
// one pass over each row of logits (online max and sum-exp) instead of
// materializing log-probabilities.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/FusionUtils.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSESOFTMAXCROSSENTROPY
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// kiln.cross_entropy is already one op; the fused op states that its
/// lowering is the one-pass kernel and can also hand back the row lse.
struct FuseCrossEntropy : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<SoftmaxCrossEntropyOp>(op, op.getType(), /*lse=*/Type(),
                                                       op.getLogits(), op.getTargets(),
                                                       /*with_lse=*/false);
    return success();
  }
};

/// -mean_n(sum_c(one_hot(targets)[n, c] * log_softmax(logits, axis = 1)[n, c])).
struct FuseOneHotCrossEntropy : OpRewritePattern<NegOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NegOp op, PatternRewriter &rewriter) const override {
    auto mean = soleUseProducer<ReduceMeanOp>(op.getInput());
    if (!mean || mean.getAxes() != ArrayRef<int64_t>{0} || mean.getKeepDims())
      return rewriter.notifyMatchFailure(op, "not the negated mean over rows");
    auto sum = soleUseProducer<ReduceSumOp>(mean.getInput());
    if (!sum || sum.getAxes() != ArrayRef<int64_t>{1} || sum.getKeepDims())
      return rewriter.notifyMatchFailure(op, "not a sum over classes");
    auto product = soleUseProducer<MulOp>(sum.getInput());
    if (!product)
      return rewriter.notifyMatchFailure(op, "not a sum of a product");
    Value lhs = product.getLhs(), rhs = product.getRhs();
    if (!lhs.getDefiningOp<OneHotOp>())
      std::swap(lhs, rhs);
    auto oneHot = lhs.getDefiningOp<OneHotOp>();
    auto logSoftmax = soleUseProducer<LogSoftmaxOp>(rhs);
    if (!oneHot || !logSoftmax)
      return rewriter.notifyMatchFailure(op, "not one_hot * single-use log_softmax");
    auto logits = cast<RankedTensorType>(logSoftmax.getInput().getType());
    auto hot = cast<RankedTensorType>(oneHot.getType());
    if (logits.getRank() != 2 || logSoftmax.getAxis() != 1)
      return rewriter.notifyMatchFailure(op, "log_softmax is not over the classes of [N, C]");
    // Same shape (no broadcast of the one-hot rows), and every class has a
    // column. Two inputs tell the forms apart, both bad data: a target
    // outside [0, C) (NaN fused, 0 in the chain) and a -inf logit off the
    // target (ignored fused, as by PyTorch's cross_entropy; 0 * -inf = NaN in
    // the chain).
    if (hot != logits || ShapedType::isDynamic(logits.getDimSize(1)))
      return rewriter.notifyMatchFailure(op, "one_hot does not match the logits");
    rewriter.replaceOpWithNewOp<SoftmaxCrossEntropyOp>(op, op.getType(), /*lse=*/Type(),
                                                       logSoftmax.getInput(), oneHot.getIds(),
                                                       /*with_lse=*/false);
    return success();
  }
};

/// A cross-entropy of `logits` against `targets` (the builtin or the fused
/// op without lse) among `logits`' users in `block`, or null. With
/// `twins`, also one whose logits are a value computing the same as `logits`
/// (sameComputation), found among the users of `targets`.
Operation *findCrossEntropy(Value logits, Value targets, Block *block, bool twins = false) {
  auto isCrossEntropy = [&](Operation *user) {
    if (user->getBlock() != block)
      return false;
    if (auto ce = dyn_cast<CrossEntropyOp>(user))
      return ce.getTargets() == targets;
    auto ce = dyn_cast<SoftmaxCrossEntropyOp>(user);
    return ce && !ce.getLse() && ce.getTargets() == targets;
  };
  for (Operation *user : logits.getUsers())
    if (isCrossEntropy(user) && user->getOperand(0) == logits)
      return user;
  if (twins)
    for (Operation *user : targets.getUsers())
      if (isCrossEntropy(user) && sameComputation(user->getOperand(0), logits))
        return user;
  return nullptr;
}

Value crossEntropyTargets(Operation *op) {
  if (auto ce = dyn_cast<CrossEntropyOp>(op))
    return ce.getTargets();
  if (auto ce = dyn_cast<SoftmaxCrossEntropyOp>(op); ce && !ce.getLse())
    return ce.getTargets();
  return {};
}

/// CLIP's loss: cross_entropy(S, t) and cross_entropy(transpose(S), t) of one
/// square S -> kiln.contrastive_cross_entropy, which never builds S^T.
struct FuseContrastiveCrossEntropy : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    if (op.getPermutation() != ArrayRef<int64_t>{1, 0} || !op->hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a single-use 2-D transpose");
    Operation *columns = *op->getUsers().begin();
    Value targets = crossEntropyTargets(columns);
    if (!targets || columns->getBlock() != op->getBlock())
      return rewriter.notifyMatchFailure(op, "the transpose does not feed a cross-entropy");
    Value logits = op.getInput();
    Operation *rows = findCrossEntropy(logits, targets, op->getBlock());
    if (!rows)
      return rewriter.notifyMatchFailure(op, "no cross-entropy of the rows with those targets");
    auto type = cast<RankedTensorType>(logits.getType());
    int64_t n = type.getDimSize(0), m = type.getDimSize(1);
    if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(m) && n != m)
      return rewriter.notifyMatchFailure(op, "the similarity matrix is not square");
    rewriter.setInsertionPoint(rows->isBeforeInBlock(columns) ? rows : columns);
    Type lossType = rows->getResult(0).getType();
    auto fused = ContrastiveCrossEntropyOp::create(rewriter, op.getLoc(), lossType, lossType,
                                                   logits, targets);
    rewriter.replaceOp(rows, fused.getRowLoss());
    rewriter.replaceOp(columns, fused.getColLoss());
    return success();
  }
};

/// `x / T` with T a scalar constant gives (x, T); a plain x gives (x, 1).
std::pair<Value, double> unscaled(Value value) {
  if (auto div = soleUseProducer<DivOp>(value))
    if (std::optional<double> t = splatScalar(div.getRhs()))
      return {div.getLhs(), *t};
  return {value, 1.0};
}

/// The student s, teacher t and T of log_softmax(s / T) and softmax(t / T)
/// over the classes of [N, C] logits of one type, at one temperature.
struct TemperatureLogits {
  Value student, teacher;
  double temperature;
};
std::optional<TemperatureLogits> temperatureLogits(LogSoftmaxOp logSoftmax, SoftmaxOp softmax) {
  if (logSoftmax.getAxis() != 1 || softmax.getAxis() != 1)
    return std::nullopt;
  auto [student, studentT] = unscaled(logSoftmax.getInput());
  auto [teacher, teacherT] = unscaled(softmax.getInput());
  auto type = cast<RankedTensorType>(student.getType());
  if (type.getRank() != 2 || teacher.getType() != type || logSoftmax.getType() != type ||
      studentT != teacherT || !(studentT > 0))
    return std::nullopt;
  return TemperatureLogits{student, teacher, studentT};
}

/// Distillation's soft term: kl_div(log_softmax(s / T), softmax(t / T)) over
/// the classes of [N, C] -> kiln.softmax_kl_div {temperature = T}.
struct FuseDistillation : OpRewritePattern<KlDivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KlDivOp op, PatternRewriter &rewriter) const override {
    auto logSoftmax = soleUseProducer<LogSoftmaxOp>(op.getLogInput());
    auto softmax = soleUseProducer<SoftmaxOp>(op.getTarget());
    std::optional<TemperatureLogits> logits =
        logSoftmax && softmax ? temperatureLogits(logSoftmax, softmax) : std::nullopt;
    if (!logits)
      return rewriter.notifyMatchFailure(
          op, "not log_softmax / softmax over the classes of [N, C] at one temperature");
    rewriter.replaceOpWithNewOp<SoftmaxKlDivOp>(op, op.getType(), logits->student, logits->teacher,
                                                rewriter.getF64FloatAttr(logits->temperature));
    return success();
  }
};

/// The loss and `softmax(logits, axis = 1) - one_hot(targets, C)` of the same
/// logits and targets: one op, so the gradient is written while each row of
/// logits is still in cache rather than read again.
struct FuseCrossEntropyGradient : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op, PatternRewriter &rewriter) const override {
    auto softmax = soleUseProducer<SoftmaxOp>(op.getLhs());
    auto oneHot = op.getRhs().getDefiningOp<OneHotOp>();
    if (!softmax || !oneHot)
      return rewriter.notifyMatchFailure(op, "not softmax - one_hot");
    Value logits = softmax.getInput(), targets = oneHot.getIds();
    auto type = cast<RankedTensorType>(logits.getType());
    if (type.getRank() != 2 || softmax.getAxis() != 1 || oneHot.getType() != type ||
        op.getType() != type || ShapedType::isDynamic(type.getDimSize(1)))
      return rewriter.notifyMatchFailure(op, "not the gradient over the classes of [N, C]");
    Operation *loss = findCrossEntropy(logits, targets, op->getBlock(), /*twins=*/true);
    if (!loss)
      return rewriter.notifyMatchFailure(op, "no cross-entropy of the same logits and targets");
    // The fused op goes at the earlier of the two, reading the logits as
    // that one does (the loss's may be the gradient's twin, computed again
    // later), so that it dominates every use of its results.
    bool lossFirst = loss->isBeforeInBlock(op);
    rewriter.setInsertionPoint(lossFirst ? loss : op.getOperation());
    auto fused = SoftmaxCrossEntropyGradOp::create(rewriter, op.getLoc(),
                                                   loss->getResult(0).getType(), type,
                                                   lossFirst ? loss->getOperand(0) : logits,
                                                   targets);
    rewriter.replaceOp(loss, fused.getLoss());
    rewriter.replaceOp(op, fused.getGrad());
    return success();
  }
};

/// The other operand of a binary op `op` whose one operand is `known`, or null.
template <typename Op> Value otherOperand(Op op, Value known) {
  if (op.getLhs() == known)
    return op.getRhs();
  if (op.getRhs() == known)
    return op.getLhs();
  return {};
}

/// A train step's distillation term and its gradient. Autodiff writes the
/// gradient of c * kl_div(L, P), L = log_softmax(s / T), P = softmax(t / T),
/// in the scaled student s / T as A - exp(L) * sum(A, axis = 1), A = -(P * c)
/// (kl_div's rule, then log_softmax's). As the rows of P sum to 1 that is
/// c * (softmax(s / T) - P): kiln.softmax_kl_div_grad gives it together with
/// the loss, and neither L nor P is kept.
struct FuseDistillationGradient : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op, PatternRewriter &rewriter) const override {
    Value a = op.getLhs();
    auto neg = a.getDefiningOp<NegOp>();
    auto rowTerm = op.getRhs().getDefiningOp<MulOp>();
    auto product = neg ? neg.getInput().getDefiningOp<MulOp>() : MulOp();
    if (!neg || !rowTerm || !product)
      return rewriter.notifyMatchFailure(op, "not A - B * C with A = -(x * y)");
    // rowTerm = exp(L) * sum(A, axis = 1, keep_dims).
    ExpOp exp;
    ReduceSumOp sum;
    for (Value operand : {rowTerm.getLhs(), rowTerm.getRhs()}) {
      if (auto e = operand.getDefiningOp<ExpOp>())
        exp = e;
      else if (auto r = operand.getDefiningOp<ReduceSumOp>())
        sum = r;
    }
    if (!exp || !sum || sum.getInput() != a || sum.getAxes() != ArrayRef<int64_t>{1} ||
        !sum.getKeepDims())
      return rewriter.notifyMatchFailure(op, "not exp(L) * sum(A, axis = 1)");
    auto logSoftmax = exp.getInput().getDefiningOp<LogSoftmaxOp>();
    if (!logSoftmax)
      return rewriter.notifyMatchFailure(op, "L is not log_softmax");
    // The KL of that L whose target is a factor of A's product.
    KlDivOp kl;
    Value scale;
    for (Operation *user : logSoftmax->getUsers())
      if (auto candidate = dyn_cast<KlDivOp>(user);
          candidate && candidate.getLogInput() == logSoftmax.getResult() &&
          candidate->getBlock() == op->getBlock()) {
        scale = otherOperand(product, candidate.getTarget());
        if (scale) {
          kl = candidate;
          break;
        }
      }
    if (!kl || cast<RankedTensorType>(scale.getType()).getRank() != 0)
      return rewriter.notifyMatchFailure(op, "A is not a scalar times the KL's target");
    auto softmax = kl.getTarget().getDefiningOp<SoftmaxOp>();
    std::optional<TemperatureLogits> logits =
        softmax ? temperatureLogits(logSoftmax, softmax) : std::nullopt;
    auto type = logits ? cast<RankedTensorType>(logits->student.getType()) : RankedTensorType();
    if (!logits || op.getType() != type)
      return rewriter.notifyMatchFailure(
          op, "not log_softmax / softmax over the classes of [N, C] at one temperature");
    Value student = logits->student;
    // The logits dominate both ops; the earlier of the two is a place where
    // the fused op dominates every use of its results.
    rewriter.setInsertionPoint(kl->isBeforeInBlock(op) ? kl.getOperation() : op.getOperation());
    auto fused = SoftmaxKlDivGradOp::create(rewriter, op.getLoc(), kl.getType(), type, student,
                                            logits->teacher,
                                            rewriter.getF64FloatAttr(logits->temperature));
    rewriter.replaceOp(kl, fused.getLoss());
    rewriter.setInsertionPoint(op);
    rewriter.replaceOpWithNewOp<MulOp>(op, type, fused.getGrad(), scale);
    // The batchmean's row count reads L's shape only: the student has it, and
    // L is then left unused.
    for (OpOperand &use : llvm::make_early_inc_range(logSoftmax->getUses()))
      if (auto count = dyn_cast<CountOp>(use.getOwner()))
        rewriter.modifyOpInPlace(count, [&] { use.set(student); });
    return success();
  }
};

/// A 2-D transpose's permutation.
bool isFlip(TransposeOp op) { return op && op.getPermutation() == ArrayRef<int64_t>{1, 0}; }

/// A train step of CLIP's loss: the gradients of cross_entropy(S, t) and of
/// cross_entropy(S^T, t), each already one kiln.softmax_cross_entropy_grad,
/// become one kiln.contrastive_cross_entropy_grad that gives both gradients in
/// S's layout: S^T is not built. The backward's `transpose(grad(S^T) * c)`
/// becomes `col_grad * c`.
struct FuseContrastiveGradient : OpRewritePattern<SoftmaxCrossEntropyGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyGradOp cols,
                                PatternRewriter &rewriter) const override {
    auto flip = cols.getLogits().getDefiningOp<TransposeOp>();
    if (!isFlip(flip))
      return rewriter.notifyMatchFailure(cols, "not the gradient of a 2-D transpose's rows");
    Value matrix = flip.getInput(), targets = cols.getTargets();
    auto type = cast<RankedTensorType>(matrix.getType());
    if (!ShapedType::isDynamic(type.getDimSize(0)) && !ShapedType::isDynamic(type.getDimSize(1)) &&
        type.getDimSize(0) != type.getDimSize(1))
      return rewriter.notifyMatchFailure(cols, "the similarity matrix is not square");
    SoftmaxCrossEntropyGradOp rows;
    for (Operation *user : targets.getUsers())
      if (auto candidate = dyn_cast<SoftmaxCrossEntropyGradOp>(user);
          candidate && candidate != cols && candidate->getBlock() == cols->getBlock() &&
          candidate.getTargets() == targets && sameComputation(candidate.getLogits(), matrix)) {
        rows = candidate;
        break;
      }
    if (!rows || rows.getGrad().getType() != type)
      return rewriter.notifyMatchFailure(cols, "no gradient of the matrix's own rows");
    // At the earlier of the two, reading the matrix as that one does.
    bool rowsFirst = rows->isBeforeInBlock(cols);
    rewriter.setInsertionPoint(rowsFirst ? rows.getOperation() : cols.getOperation());
    Type lossType = rows.getLoss().getType();
    auto fused = ContrastiveCrossEntropyGradOp::create(
        rewriter, cols.getLoc(), lossType, lossType, type, type,
        rowsFirst ? rows.getLogits() : matrix, targets);
    Value colGrad = fused.getColGrad();
    rewriter.replaceOp(rows, {fused.getRowLoss(), fused.getRowGrad()});
    // transpose(col_grad * c) where the backward scales and flips it back.
    SmallVector<Operation *> flippedBack;
    for (Operation *user : cols.getGrad().getUsers()) {
      Operation *scale = user;
      auto back = scale->hasOneUse() ? dyn_cast<TransposeOp>(*scale->getUsers().begin())
                                     : TransposeOp();
      bool scalar = isa<MulOp, DivOp>(scale) && scale->getOperand(0) == cols.getGrad() &&
                    cast<RankedTensorType>(scale->getOperand(1).getType()).getRank() == 0;
      if (scalar && isFlip(back))
        flippedBack.push_back(scale);
    }
    for (Operation *scale : flippedBack) {
      auto back = cast<TransposeOp>(*scale->getUsers().begin());
      rewriter.setInsertionPoint(back);
      Value factor = scale->getOperand(1);
      Value unflipped =
          isa<MulOp>(scale)
              ? MulOp::create(rewriter, scale->getLoc(), type, colGrad, factor).getResult()
              : DivOp::create(rewriter, scale->getLoc(), type, colGrad, factor).getResult();
      rewriter.replaceOp(back, unflipped);
    }
    rewriter.setInsertionPointAfter(fused);
    Value transposedBack = TransposeOp::create(rewriter, cols.getLoc(), cols.getGrad().getType(),
                                               colGrad, rewriter.getDenseI64ArrayAttr({1, 0}));
    rewriter.replaceOp(cols, {fused.getColLoss(), transposedBack});
    // The mean's row count reads S^T's shape only: S has it, axes flipped,
    // and S^T is then left unused.
    for (OpOperand &use : llvm::make_early_inc_range(flip->getUses()))
      if (auto count = dyn_cast<CountOp>(use.getOwner()))
        rewriter.modifyOpInPlace(count, [&] {
          SmallVector<int64_t> axes;
          for (int64_t axis : count.getAxes())
            axes.push_back(1 - axis);
          llvm::sort(axes);
          count.setAxes(axes);
          use.set(matrix);
        });
    return success();
  }
};

/// Moves the ops of `block` that compute `value` and come after `point` to
/// just before it, in order; false (nothing moved) when one of them is not a
/// pure, region-free op or reads a block argument of another block.
bool hoistBefore(Value value, Operation *point) {
  Block *block = point->getBlock();
  SetVector<Operation *> slice;
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != block || def->isBeforeInBlock(point) || def == point ||
        slice.contains(def))
      continue;
    if (!isPure(def) || def->getNumRegions() != 0)
      return false;
    slice.insert(def);
    llvm::append_range(worklist, def->getOperands());
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *op : ordered)
    op->moveBefore(point);
  return true;
}

/// `grad * s` or `s * grad` with s a scalar: s, else null.
Value scalarFactor(Value product, Value grad) {
  auto mul = product.getDefiningOp<MulOp>();
  Value scale = mul ? otherOperand(mul, grad) : Value();
  if (!scale || cast<RankedTensorType>(scale.getType()).getRank() != 0)
    return {};
  return scale;
}

/// `row_grad * a + col_grad * b` of one kiln.contrastive_cross_entropy_grad,
/// each gradient used only there: one kiln.contrastive_cross_entropy_grad_sum
/// writes the sum, one [N, N] buffer instead of three. The scalars' (cheap)
/// computations move up to the fused op.
struct FuseContrastiveGradientSum : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op, PatternRewriter &rewriter) const override {
    auto lhs = op.getLhs().getDefiningOp<MulOp>(), rhs = op.getRhs().getDefiningOp<MulOp>();
    if (!lhs || !rhs)
      return rewriter.notifyMatchFailure(op, "not a sum of two products");
    ContrastiveCrossEntropyGradOp grad;
    for (MulOp mul : {lhs, rhs})
      for (Value operand : mul->getOperands())
        if (auto candidate = operand.getDefiningOp<ContrastiveCrossEntropyGradOp>())
          grad = candidate;
    if (!grad || !grad.getRowGrad().hasOneUse() || !grad.getColGrad().hasOneUse() ||
        !lhs->hasOneUse() || !rhs->hasOneUse() || op.getType() != grad.getRowGrad().getType())
      return rewriter.notifyMatchFailure(op, "not the sum of the two scaled gradients alone");
    bool rowFirst = llvm::is_contained(lhs->getOperands(), grad.getRowGrad());
    Value rowScale = scalarFactor(rowFirst ? lhs : rhs, grad.getRowGrad());
    Value colScale = scalarFactor(rowFirst ? rhs : lhs, grad.getColGrad());
    if (!rowScale || !colScale || rowScale.getType() != colScale.getType())
      return rewriter.notifyMatchFailure(op, "the gradients are not scaled by scalars");
    if (!hoistBefore(rowScale, grad) || !hoistBefore(colScale, grad))
      return rewriter.notifyMatchFailure(op, "a scale's computation cannot move up");
    rewriter.setInsertionPoint(grad);
    auto fused = ContrastiveCrossEntropyGradSumOp::create(
        rewriter, grad.getLoc(), grad.getRowLoss().getType(), grad.getColLoss().getType(),
        op.getType(), grad.getLogits(), grad.getTargets(), rowScale, colScale);
    rewriter.replaceOp(op, fused.getGrad());
    rewriter.replaceAllUsesWith(grad.getRowLoss(), fused.getRowLoss());
    rewriter.replaceAllUsesWith(grad.getColLoss(), fused.getColLoss());
    return success();
  }
};

/// Distillation's two terms on the same student logits: the temperature KL
/// (already kiln.softmax_kl_div) and a cross-entropy of the student against
/// hard labels -> kiln.distillation_loss, one read of the student.
struct FuseDistillationWithLabels : OpRewritePattern<SoftmaxKlDivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxKlDivOp op, PatternRewriter &rewriter) const override {
    Value student = op.getStudent();
    Operation *hard = nullptr;
    for (Operation *user : student.getUsers())
      if (user->getBlock() == op->getBlock() && crossEntropyTargets(user) &&
          user->getOperand(0) == student) {
        hard = user;
        break;
      }
    if (!hard)
      return rewriter.notifyMatchFailure(op, "no cross-entropy of the student logits");
    Value targets = crossEntropyTargets(hard);
    // The teacher and the targets must exist where the fused op goes, before
    // the earlier of the two ops.
    Operation *first = hard->isBeforeInBlock(op) ? hard : op.getOperation();
    for (Value operand : {Value(op.getTeacher()), targets})
      if (Operation *def = operand.getDefiningOp();
          def && def->getBlock() == op->getBlock() && !def->isBeforeInBlock(first))
        return rewriter.notifyMatchFailure(op, "an operand is computed between the two terms");
    rewriter.setInsertionPoint(first);
    Type lossType = op.getType();
    auto fused =
        DistillationLossOp::create(rewriter, op.getLoc(), lossType, hard->getResult(0).getType(),
                                   student, op.getTeacher(), targets, op.getTemperatureAttr());
    rewriter.replaceOp(op, fused.getSoft());
    rewriter.replaceOp(hard, fused.getHard());
    return success();
  }
};

struct FuseSoftmaxCrossEntropyPass
    : impl::KilnFuseSoftmaxCrossEntropyBase<FuseSoftmaxCrossEntropyPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseCrossEntropy, FuseOneHotCrossEntropy, FuseCrossEntropyGradient,
                 FuseContrastiveCrossEntropy, FuseContrastiveGradient,
                 FuseContrastiveGradientSum, FuseDistillation,
                 FuseDistillationGradient,
                 FuseDistillationWithLabels>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace kiln
