//===- KilnOps.cpp - Verifiers of the kiln dialect ------------------------===//
//
// ODS declares the ops; this file holds what ODS cannot say: the shape rules.
// Messages name both shapes so a user can see what disagreed.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/RuntimeKernels.h"
#include "dialects/Kiln/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include <cmath>

using namespace mlir;
using namespace kiln;

#define GET_OP_CLASSES
#include "dialects/Kiln/KilnOps.cpp.inc"

namespace {
RankedTensorType tensorOf(Value value) { return cast<RankedTensorType>(value.getType()); }

/// Checks that `actual` is the result type the op's rule computed.
LogicalResult verifyResultShape(Operation *op, Type elementType, ArrayRef<int64_t> expected) {
  auto actual = cast<RankedTensorType>(op->getResult(0).getType());
  if (actual.getElementType() != elementType)
    return op->emitOpError("result element type ")
           << actual.getElementType() << " differs from operand element type " << elementType;
  if (!shapesCompatible(actual.getShape(), expected))
    return op->emitOpError("result shape ")
           << formatShape(actual.getShape()) << " differs from the expected "
           << formatShape(expected);
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

LogicalResult ParameterOp::verify() {
  auto type = cast<RankedTensorType>(getType());
  if (!type.hasStaticShape())
    return emitOpError("parameter '")
           << getSymName() << "' must have a static shape, got " << formatTensorType(type);
  return success();
}

LogicalResult ParamOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto decl = symbolTable.lookupNearestSymbolFrom<ParameterOp>(*this, getNameAttr());
  if (!decl)
    return emitOpError("'") << getName() << "' is not a declared parameter";
  if (decl.getType() != getType())
    return emitOpError("type ") << formatTensorType(getType()) << " of '" << getName()
                                << "' differs from its declaration "
                                << formatTensorType(decl.getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static LogicalResult verifyBinary(Operation *op) {
  auto lhs = tensorOf(op->getOperand(0));
  auto rhs = tensorOf(op->getOperand(1));
  if (lhs.getElementType() != rhs.getElementType())
    return op->emitOpError("operand element types differ: ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!shape)
    return op->emitOpError("operand shapes ")
           << formatShape(lhs.getShape()) << " and " << formatShape(rhs.getShape())
           << " are not broadcast-compatible";
  return verifyResultShape(op, lhs.getElementType(), *shape);
}

LogicalResult AddOp::verify() { return verifyBinary(*this); }
LogicalResult SubOp::verify() { return verifyBinary(*this); }
LogicalResult MulOp::verify() { return verifyBinary(*this); }
LogicalResult DivOp::verify() { return verifyBinary(*this); }
LogicalResult MaxOp::verify() { return verifyBinary(*this); }
LogicalResult MinOp::verify() { return verifyBinary(*this); }
LogicalResult PowOp::verify() { return verifyBinary(*this); }

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult ClampOp::verify() {
  if (!(getMin().convertToDouble() <= getMax().convertToDouble()))
    return emitOpError("min ") << getMin().convertToDouble() << " is greater than max "
                               << getMax().convertToDouble();
  return success();
}

LogicalResult WhereOp::verify() {
  auto cond = getCond().getType();
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("operand element types differ: ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  auto values = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!values)
    return emitOpError("operand shapes ")
           << formatShape(lhs.getShape()) << " and " << formatShape(rhs.getShape())
           << " are not broadcast-compatible";
  auto shape = broadcastShapes(cond.getShape(), *values);
  if (!shape)
    return emitOpError("condition shape ")
           << formatShape(cond.getShape()) << " and value shape " << formatShape(*values)
           << " are not broadcast-compatible";
  return verifyResultShape(*this, lhs.getElementType(), *shape);
}

LogicalResult CompareOp::verify() {
  static constexpr llvm::StringLiteral kPredicates[] = {"lt", "le", "gt", "ge", "eq", "ne"};
  if (!llvm::is_contained(kPredicates, getPredicate()))
    return emitOpError("predicate must be one of lt, le, gt, ge, eq, ne; got \"")
           << getPredicate() << "\"";
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("operand element types differ: ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!shape)
    return emitOpError("operand shapes ")
           << formatShape(lhs.getShape()) << " and " << formatShape(rhs.getShape())
           << " are not broadcast-compatible";
  return verifyResultShape(*this, IntegerType::get(getContext(), 1), *shape);
}

LogicalResult CastOp::verify() {
  auto input = getInput().getType();
  auto result = getType();
  if (!shapesCompatible(input.getShape(), result.getShape()))
    return emitOpError("result shape ")
           << formatShape(result.getShape()) << " differs from the input shape "
           << formatShape(input.getShape());
  if (isa<FloatType>(result.getElementType()) && isa<FloatType>(input.getElementType()) &&
      input.getElementType() != result.getElementType())
    return emitOpError("float to float casts are not supported: ")
           << formatTensorType(input) << " to " << formatTensorType(result);
  if (result.getElementType().isInteger(1))
    return emitOpError("cannot cast to i1 (compare instead): ")
           << formatTensorType(input) << " to " << formatTensorType(result);
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

static LogicalResult verifyAxis(Operation *op, RankedTensorType type, int64_t axis) {
  if (axis < 0 || axis >= type.getRank())
    return op->emitOpError("axis ") << axis << " is out of range for " << formatTensorType(type);
  return success();
}

LogicalResult SoftmaxOp::verify() { return verifyAxis(*this, getInput().getType(), getAxis()); }
LogicalResult LogSoftmaxOp::verify() { return verifyAxis(*this, getInput().getType(), getAxis()); }

/// A normalization over the last dim: `input` of rank >= 1, each of `params`
/// (weight, bias) [D] of its element type, eps >= 0, the result the input's.
static LogicalResult verifyLastDimNorm(Operation *op, RankedTensorType input,
                                       ArrayRef<std::pair<const char *, Value>> params,
                                       double eps) {
  if (input.getRank() < 1)
    return op->emitOpError("input must have rank >= 1, got ") << formatTensorType(input);
  ArrayRef<int64_t> last = input.getShape().take_back(1);
  for (auto [what, value] : params) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() != input.getElementType() || type.getRank() != 1 ||
        !shapesCompatible(type.getShape(), last))
      return op->emitOpError(what)
             << " must be " << formatTensorType(RankedTensorType::get(last, input.getElementType()))
             << " for input " << formatTensorType(input) << ", got " << formatTensorType(type);
  }
  if (eps < 0)
    return op->emitOpError("eps must not be negative");
  return verifyResultShape(op, input.getElementType(), input.getShape());
}

LogicalResult LayerNormOp::verify() {
  return verifyLastDimNorm(*this, getInput().getType(),
                           {{"weight", getWeight()}, {"bias", getBias()}},
                           getEps().convertToDouble());
}

LogicalResult RmsNormOp::verify() {
  return verifyLastDimNorm(*this, getInput().getType(), {{"weight", getWeight()}},
                           getEps().convertToDouble());
}

//===----------------------------------------------------------------------===//
// Matmul and transpose
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOpError("operands must both have rank >= 2, got ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("operand element types differ: ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  ArrayRef<int64_t> a = lhs.getShape(), b = rhs.getShape();
  auto batch = broadcastShapes(a.drop_back(2), b.drop_back(2));
  if (!batch)
    return emitOpError("batch dims of ")
           << formatShape(a) << " and " << formatShape(b) << " are not broadcast-compatible";
  int64_t k = a.back(), kb = b[b.size() - 2];
  if (!shapesCompatible({k}, {kb}))
    return emitOpError("contraction dims differ: ")
           << formatShape(a) << " x " << formatShape(b) << " (" << k << " vs " << kb << ")";
  SmallVector<int64_t> expected(*batch);
  expected.push_back(a[a.size() - 2]);
  expected.push_back(b.back());
  return verifyResultShape(*this, lhs.getElementType(), expected);
}

ReshapeOp ReshapeOp::flattenFront(OpBuilder &b, Location loc, Value x, int64_t count) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t merged = 1;
  bool dynamic = false;
  for (int64_t d = 0; d < count; ++d) {
    dynamic |= type.isDynamicDim(d);
    merged = dynamic ? ShapedType::kDynamic : merged * type.getDimSize(d);
  }
  SmallVector<Value> sizes;
  if (dynamic) {
    Value total = arith::ConstantIndexOp::create(b, loc, 1);
    for (int64_t d = 0; d < count; ++d)
      total = arith::MulIOp::create(b, loc, total, DimOp::create(b, loc, x, d));
    sizes.push_back(total);
  }
  SmallVector<int64_t> shape{merged};
  llvm::append_range(shape, type.getShape().drop_front(count));
  for (int64_t d = count; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(DimOp::create(b, loc, x, d));
  return ReshapeOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), x, sizes);
}

LogicalResult TransposeOp::verify() {
  auto input = getInput().getType();
  ArrayRef<int64_t> perm = getPermutation();
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOpError("permutation has ")
           << perm.size() << " entries for " << formatTensorType(input);
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> expected;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen[p])
      return emitOpError("permutation is not a permutation of [0, ") << input.getRank() << ")";
    seen[p] = true;
    expected.push_back(input.getDimSize(p));
  }
  return verifyResultShape(*this, input.getElementType(), expected);
}

/// A normalization's gradient: input [..., D], weight [D], dout of the
/// input's shape; the first result the input's type, the others the weight's.
static LogicalResult verifyNormGrad(Operation *op, RankedTensorType input,
                                    RankedTensorType weight, RankedTensorType dout) {
  if (input.getRank() < 1 || weight.getRank() != 1)
    return op->emitOpError("input must be [..., D] and weight [D], got ")
           << formatTensorType(input) << ", " << formatTensorType(weight);
  if (dout.getElementType() != input.getElementType() ||
      !shapesCompatible(dout.getShape(), input.getShape()))
    return op->emitOpError("dout must have the input's shape ")
           << formatTensorType(input) << ", got " << formatTensorType(dout);
  if (op->getResult(0).getType() != input ||
      llvm::any_of(op->getResults().drop_front(),
                   [&](Value result) { return result.getType() != weight; }))
    return op->emitOpError("results must have the types of input, then weight");
  return success();
}

LogicalResult LayerNormGradOp::verify() {
  return verifyNormGrad(*this, getInput().getType(), getWeight().getType(),
                        getDout().getType());
}

LogicalResult RmsNormGradOp::verify() {
  return verifyNormGrad(*this, getInput().getType(), getWeight().getType(),
                        getDout().getType());
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult verifyReduce(Operation *op, RankedTensorType input, ArrayRef<int64_t> axes,
                                  bool keepDims) {
  if (axes.empty())
    return op->emitOpError("needs at least one axis");
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (axis < 0 || axis >= input.getRank())
      return op->emitOpError("axis ") << axis << " is out of range for " << formatTensorType(input);
    if (i > 0 && axes[i - 1] >= axis)
      return op->emitOpError("axes must be sorted and distinct");
  }
  SmallVector<int64_t> expected;
  for (int64_t d = 0; d < input.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      expected.push_back(input.getDimSize(d));
    else if (keepDims)
      expected.push_back(1);
  }
  return verifyResultShape(op, input.getElementType(), expected);
}

LogicalResult ReduceSumOp::verify() {
  return verifyReduce(*this, getInput().getType(), getAxes(), getKeepDims());
}
LogicalResult ReduceMeanOp::verify() {
  return verifyReduce(*this, getInput().getType(), getAxes(), getKeepDims());
}
LogicalResult ReduceMaxOp::verify() {
  return verifyReduce(*this, getInput().getType(), getAxes(), getKeepDims());
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult CountOp::verify() {
  auto input = getInput().getType();
  int64_t previous = -1;
  for (int64_t axis : getAxes()) {
    if (axis <= previous || axis >= input.getRank())
      return emitOpError("axes must be sorted, distinct dims of ") << formatTensorType(input);
    previous = axis;
  }
  if (getType().getRank() != 0)
    return emitOpError("result must be a scalar, got ") << formatTensorType(getType());
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  auto logits = getLogits().getType();
  auto targets = getTargets().getType();
  if (logits.getRank() != 2)
    return emitOpError("logits must be [N, C], got ") << formatTensorType(logits);
  if (targets.getRank() != 1)
    return emitOpError("targets must be [N], got ") << formatTensorType(targets);
  if (!shapesCompatible(logits.getShape().take_front(1), targets.getShape()))
    return emitOpError("batch sizes differ: logits ")
           << formatTensorType(logits) << ", targets " << formatTensorType(targets);
  return verifyResultShape(*this, logits.getElementType(), {});
}

namespace {
/// The operand and loss rules shared by the fused softmax-cross-entropy ops.
LogicalResult verifyFusedCrossEntropy(Operation *op, RankedTensorType logits,
                                      RankedTensorType targets, Value loss) {
  if (logits.getRank() != 2)
    return op->emitOpError("logits must be [N, C], got ") << formatTensorType(logits);
  if (targets.getRank() != 1)
    return op->emitOpError("targets must be [N], got ") << formatTensorType(targets);
  if (!shapesCompatible(logits.getShape().take_front(1), targets.getShape()))
    return op->emitOpError("batch sizes differ: logits ")
           << formatTensorType(logits) << ", targets " << formatTensorType(targets);
  auto lossType = cast<RankedTensorType>(loss.getType());
  if (lossType.getRank() != 0 || lossType.getElementType() != logits.getElementType())
    return op->emitOpError("loss must be a scalar of the logits' element type, got ")
           << formatTensorType(lossType);
  return success();
}
} // namespace

LogicalResult AttentionGradOp::verify() {
  auto q = getQuery().getType(), k = getKey().getType(), v = getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query, key and value must be [B, H, S, D], [B, H, T, D], [B, H, T, E], "
                       "got ")
           << formatTensorType(q) << ", " << formatTensorType(k) << ", " << formatTensorType(v);
  SmallVector<int64_t> outShape{q.getDimSize(0), q.getDimSize(1), q.getDimSize(2),
                                v.getDimSize(3)};
  for (Value value : {getOut(), getDout()}) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType() != q.getElementType() ||
        !shapesCompatible(type.getShape(), outShape))
      return emitOpError("out and dout must be the attention's result ")
             << formatShape(outShape) << ", got " << formatTensorType(type);
  }
  if (getDquery().getType() != q || getDkey().getType() != k || getDvalue().getType() != v)
    return emitOpError("results must have the types of query, key and value");
  return success();
}

LogicalResult SoftmaxCrossEntropyGradOp::verify() {
  auto logits = getLogits().getType();
  if (failed(verifyFusedCrossEntropy(*this, logits, getTargets().getType(), getLoss())))
    return failure();
  auto grad = cast<RankedTensorType>(getGrad().getType());
  if (grad.getElementType() != logits.getElementType() ||
      !shapesCompatible(logits.getShape(), grad.getShape()))
    return emitOpError("grad must have the logits' type ")
           << formatTensorType(logits) << ", got " << formatTensorType(grad);
  return success();
}

LogicalResult ContrastiveCrossEntropyOp::verify() {
  auto logits = getLogits().getType();
  if (failed(verifyFusedCrossEntropy(*this, logits, getTargets().getType(), getRowLoss())))
    return failure();
  if (!shapesCompatible(logits.getShape().take_front(1), logits.getShape().take_back(1)))
    return emitOpError("logits must be square [N, N], got ") << formatTensorType(logits);
  if (getRowLoss().getType() != getColLoss().getType())
    return emitOpError("row and column losses differ in type");
  return success();
}

/// CLIP's fused gradient ops: square logits, two losses of one type, and
/// each gradient of the logits' type.
static LogicalResult verifyContrastiveGrad(Operation *op, RankedTensorType logits,
                                           RankedTensorType targets, Value rowLoss, Value colLoss,
                                           ValueRange grads) {
  if (failed(verifyFusedCrossEntropy(op, logits, targets, rowLoss)))
    return failure();
  if (!shapesCompatible(logits.getShape().take_front(1), logits.getShape().take_back(1)))
    return op->emitOpError("logits must be square [N, N], got ") << formatTensorType(logits);
  if (rowLoss.getType() != colLoss.getType())
    return op->emitOpError("row and column losses differ in type");
  if (llvm::any_of(grads, [&](Value grad) { return grad.getType() != logits; }))
    return op->emitOpError("gradients must have the logits' type ") << formatTensorType(logits);
  return success();
}

LogicalResult ContrastiveCrossEntropyGradOp::verify() {
  return verifyContrastiveGrad(*this, getLogits().getType(), getTargets().getType(), getRowLoss(),
                               getColLoss(), {getRowGrad(), getColGrad()});
}

LogicalResult ContrastiveCrossEntropyGradSumOp::verify() {
  auto logits = getLogits().getType();
  for (Value scale : {getRowScale(), getColScale()})
    if (cast<RankedTensorType>(scale.getType()) != RankedTensorType::get({}, logits.getElementType()))
      return emitOpError("scales must be scalars of the logits' element type");
  return verifyContrastiveGrad(*this, logits, getTargets().getType(), getRowLoss(), getColLoss(),
                               {getGrad()});
}

namespace {
/// Student and teacher logits of one [N, C] type at a positive temperature,
/// and a scalar loss of their element type.
LogicalResult verifyDistillation(Operation *op, RankedTensorType student, RankedTensorType teacher,
                                 double temperature, Value loss) {
  if (student.getRank() != 2 || student.getElementType() != teacher.getElementType() ||
      !shapesCompatible(student.getShape(), teacher.getShape()))
    return op->emitOpError("student and teacher must be [N, C] of one type, got ")
           << formatTensorType(student) << " and " << formatTensorType(teacher);
  if (!(temperature > 0))
    return op->emitOpError("temperature must be positive, got ") << temperature;
  auto lossType = cast<RankedTensorType>(loss.getType());
  if (lossType.getRank() != 0 || lossType.getElementType() != student.getElementType())
    return op->emitOpError("loss must be a scalar of the logits' element type, got ")
           << formatTensorType(lossType);
  return success();
}
} // namespace

LogicalResult SoftmaxKlDivOp::verify() {
  return verifyDistillation(*this, getStudent().getType(), getTeacher().getType(),
                            getTemperature().convertToDouble(), getLoss());
}

LogicalResult SoftmaxKlDivGradOp::verify() {
  auto student = getStudent().getType();
  if (failed(verifyDistillation(*this, student, getTeacher().getType(),
                                getTemperature().convertToDouble(), getLoss())))
    return failure();
  if (getGrad().getType() != student)
    return emitOpError("grad must have the student's type ")
           << formatTensorType(student) << ", got " << formatTensorType(getGrad().getType());
  return success();
}

LogicalResult DistillationLossOp::verify() {
  auto student = getStudent().getType();
  if (failed(verifyDistillation(*this, student, getTeacher().getType(),
                                getTemperature().convertToDouble(), getSoft())) ||
      failed(verifyFusedCrossEntropy(*this, student, getTargets().getType(), getHard())))
    return failure();
  if (getSoft().getType() != getHard().getType())
    return emitOpError("soft and hard losses differ in type");
  return success();
}

LogicalResult SoftmaxCrossEntropyOp::verify() {
  auto logits = getLogits().getType();
  if (failed(verifyFusedCrossEntropy(*this, logits, getTargets().getType(), getLoss())))
    return failure();
  if (getWithLse() != static_cast<bool>(getLse()))
    return emitOpError("returns lse exactly when it has the with_lse attribute");
  if (Value lse = getLse()) {
    auto lseType = cast<RankedTensorType>(lse.getType());
    if (lseType.getRank() != 1 || lseType.getElementType() != logits.getElementType() ||
        !shapesCompatible(logits.getShape().take_front(1), lseType.getShape()))
      return emitOpError("lse must be [N] of the logits' element type, got ")
             << formatTensorType(lseType);
  }
  return success();
}

LogicalResult FusedLinearOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  if (input.getRank() < 2 || weight.getRank() != 2)
    return emitOpError("input must be [..., K] of rank >= 2 and weight [O, K], got ")
           << formatTensorType(input) << ", " << formatTensorType(weight);
  if (!shapesCompatible(input.getShape().back(), weight.getDimSize(1)))
    return emitOpError("input ") << formatTensorType(input) << " and weight "
                                 << formatTensorType(weight) << " differ in K";
  static constexpr llvm::StringLiteral activations[] = {"none",    "relu", "gelu_erf",  "gelu_tanh",
                                                        "sigmoid", "silu", "quick_gelu"};
  if (!llvm::is_contained(activations, getActivation()))
    return emitOpError("activation must be none, relu, gelu_erf, gelu_tanh, sigmoid, silu or "
                       "quick_gelu, got '")
           << getActivation() << "'";
  int64_t out = weight.getDimSize(0);
  if (Value bias = getBias()) {
    auto type = cast<RankedTensorType>(bias.getType());
    if (type.getRank() != 1 || !shapesCompatible(type.getDimSize(0), out) ||
        type.getElementType() != input.getElementType())
      return emitOpError("bias must be [O] = [") << out << "], got " << formatTensorType(type);
  }
  SmallVector<int64_t> expected(input.getShape().drop_back());
  expected.push_back(out);
  if (Value residual = getResidual()) {
    auto type = cast<RankedTensorType>(residual.getType());
    if (type != getType())
      return emitOpError("residual must have the result's type, got ") << formatTensorType(type);
  }
  return verifyResultShape(*this, input.getElementType(), expected);
}

//===----------------------------------------------------------------------===//
// Layout: dim, reshape, slice, select, concat, embedding
//===----------------------------------------------------------------------===//

LogicalResult DimOp::verify() { return verifyAxis(*this, getInput().getType(), getIndex()); }

LogicalResult ReshapeOp::verify() {
  auto input = getInput().getType();
  auto result = getType();
  if (input.getElementType() != result.getElementType())
    return emitOpError("result element type ")
           << result.getElementType() << " differs from operand element type "
           << input.getElementType();
  if (getSizes().size() != result.getNumDynamicDims())
    return emitOpError("has ") << getSizes().size() << " sizes for the "
                               << result.getNumDynamicDims() << " dynamic dims of "
                               << formatShape(result.getShape());
  if (input.hasStaticShape() && result.hasStaticShape() &&
      input.getNumElements() != result.getNumElements())
    return emitOpError("cannot reshape ")
           << formatShape(input.getShape()) << " (" << input.getNumElements() << " elements) to "
           << formatShape(result.getShape()) << " (" << result.getNumElements() << " elements)";
  if (input.getNumDynamicDims() == 0 && result.getNumDynamicDims() != 0)
    return emitOpError("cannot reshape the static ")
           << formatShape(input.getShape()) << " to the dynamic " << formatShape(result.getShape());
  return success();
}

/// The input's shape with dim `axis` replaced by `size`, or dropped if
/// `size` is std::nullopt.
static SmallVector<int64_t> withDim(RankedTensorType type, int64_t axis,
                                    std::optional<int64_t> size) {
  SmallVector<int64_t> shape(type.getShape());
  if (size)
    shape[axis] = *size;
  else
    shape.erase(shape.begin() + axis);
  return shape;
}

LogicalResult SliceOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, input, getAxis())))
    return failure();
  int64_t dim = input.getDimSize(getAxis());
  // The attributes are signed; their getters return them unsigned.
  auto start = static_cast<int64_t>(getStart()), end = static_cast<int64_t>(getEnd());
  if (start < 0 || end <= start || (!ShapedType::isDynamic(dim) && end > dim))
    return emitOpError("slice [") << start << ", " << end << ") of axis " << getAxis()
                                  << " is out of range for " << formatTensorType(input);
  return verifyResultShape(*this, input.getElementType(),
                           withDim(input, getAxis(), end - start));
}

LogicalResult SelectOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, input, getAxis())))
    return failure();
  int64_t dim = input.getDimSize(getAxis());
  auto index = static_cast<int64_t>(getIndex());
  if (index < 0 || (!ShapedType::isDynamic(dim) && index >= dim))
    return emitOpError("index ") << index << " of axis " << getAxis()
                                 << " is out of range for " << formatTensorType(input);
  return verifyResultShape(*this, input.getElementType(), withDim(input, getAxis(), std::nullopt));
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  auto first = cast<RankedTensorType>(getInputs().front().getType());
  if (failed(verifyAxis(*this, first, getAxis())))
    return failure();
  int64_t axis = getAxis(), total = 0;
  for (Value input : getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    if (type.getElementType() != first.getElementType() || type.getRank() != first.getRank() ||
        !shapesCompatible(withDim(type, axis, 0), withDim(first, axis, 0)))
      return emitOpError("inputs ")
             << formatTensorType(first) << " and " << formatTensorType(type)
             << " differ in element type, rank or a dim other than axis " << axis;
    int64_t size = type.getDimSize(axis);
    total = ShapedType::isDynamic(size) || ShapedType::isDynamic(total) ? ShapedType::kDynamic
                                                                        : total + size;
  }
  return verifyResultShape(*this, first.getElementType(), withDim(first, axis, total));
}

LogicalResult EmbeddingOp::verify() {
  auto weight = getWeight().getType();
  auto ids = getIds().getType();
  if (weight.getRank() != 2)
    return emitOpError("weight must be [N, D], got ") << formatTensorType(weight);
  SmallVector<int64_t> expected(ids.getShape());
  expected.push_back(weight.getDimSize(1));
  return verifyResultShape(*this, weight.getElementType(), expected);
}

//===----------------------------------------------------------------------===//
// Attention and convolution
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType(), k = getKey().getType(), v = getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query, key and value must be [B, H, S, D], [B, H, T, D], [B, H, T, E], "
                       "got ")
           << formatTensorType(q) << ", " << formatTensorType(k) << ", " << formatTensorType(v);
  if (q.getElementType() != k.getElementType() || q.getElementType() != v.getElementType())
    return emitOpError("element types differ: ")
           << formatTensorType(q) << ", " << formatTensorType(k) << ", " << formatTensorType(v);
  ArrayRef<int64_t> qs = q.getShape(), ks = k.getShape(), vs = v.getShape();
  if (!shapesCompatible(qs.take_front(2), ks.take_front(2)) ||
      !shapesCompatible(qs.back(), ks.back()))
    return emitOpError("query ") << formatShape(qs) << " and key " << formatShape(ks)
                                 << " differ in batch, heads or head dim";
  if (!shapesCompatible(ks.take_front(3), vs.take_front(3)))
    return emitOpError("key ") << formatShape(ks) << " and value " << formatShape(vs)
                               << " differ in batch, heads or length";
  if (Value mask = getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    SmallVector<int64_t> expected{ks[0], ks[2]};
    if (!shapesCompatible(m.getShape(), expected))
      return emitOpError("mask ") << formatShape(m.getShape())
                                  << " must be [B, T] = " << formatShape(expected) << " for key "
                                  << formatShape(ks);
  }
  if (Value bias = getBias()) {
    auto b = cast<RankedTensorType>(bias.getType());
    SmallVector<int64_t> scores{qs[0], qs[1], qs[2], ks[2]};
    ArrayRef<int64_t> bs = b.getShape();
    bool fits = b.getRank() <= 4 && b.getElementType() == q.getElementType();
    for (int64_t i = 0; fits && i < b.getRank(); ++i) {
      int64_t size = bs[b.getRank() - 1 - i];
      fits = size == 1 || shapesCompatible(size, scores[3 - i]);
    }
    if (!fits)
      return emitOpError("bias ") << formatTensorType(b) << " must broadcast to the scores "
                                  << formatShape(scores) << " and have the query's element type";
  }
  return verifyResultShape(*this, q.getElementType(), {qs[0], qs[1], qs[2], vs[3]});
}

LogicalResult Conv2DOp::verify() {
  auto x = getInput().getType(), w = getWeight().getType(), b = getBias().getType();
  ArrayRef<int64_t> strides = getStrides();
  if (x.getRank() != 4 || w.getRank() != 4 || b.getRank() != 1)
    return emitOpError("input, weight and bias must be [B, C, H, W], [O, C, KH, KW], [O], got ")
           << formatTensorType(x) << ", " << formatTensorType(w) << ", " << formatTensorType(b);
  if (x.getElementType() != w.getElementType() || x.getElementType() != b.getElementType())
    return emitOpError("element types differ: ")
           << formatTensorType(x) << ", " << formatTensorType(w) << ", " << formatTensorType(b);
  if (strides.size() != 2 || strides[0] < 1 || strides[1] < 1)
    return emitOpError("strides must be two positive integers");
  if (!w.hasStaticShape() || x.isDynamicDim(2) || x.isDynamicDim(3))
    return emitOpError("weight and the spatial dims of the input must be static, got ")
           << formatTensorType(x) << " and " << formatTensorType(w);
  if (!shapesCompatible(x.getShape().slice(1, 1), w.getShape().slice(1, 1)) ||
      !shapesCompatible(b.getShape(), w.getShape().take_front(1)))
    return emitOpError("channels differ: input ")
           << formatShape(x.getShape()) << ", weight " << formatShape(w.getShape()) << ", bias "
           << formatShape(b.getShape());
  SmallVector<int64_t> expected{x.getDimSize(0), w.getDimSize(0)};
  for (int i = 0; i < 2; ++i) {
    int64_t in = x.getDimSize(2 + i), kernel = w.getDimSize(2 + i);
    if (in < kernel)
      return emitOpError("kernel ") << formatShape(w.getShape()) << " is larger than the input "
                                    << formatShape(x.getShape());
    expected.push_back((in - kernel) / strides[i] + 1);
  }
  return verifyResultShape(*this, x.getElementType(), expected);
}

//===----------------------------------------------------------------------===//
// Losses and similarities
//===----------------------------------------------------------------------===//

LogicalResult KlDivOp::verify() {
  auto input = getLogInput().getType(), target = getTarget().getType();
  if (input.getRank() < 1)
    return emitOpError("log_input must have rank >= 1, got ") << formatTensorType(input);
  if (input.getElementType() != target.getElementType() ||
      !shapesCompatible(input.getShape(), target.getShape()))
    return emitOpError("log_input ")
           << formatTensorType(input) << " and target " << formatTensorType(target)
           << " differ in shape or element type";
  return verifyResultShape(*this, input.getElementType(), {});
}

LogicalResult L2NormalizeOp::verify() {
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  return verifyAxis(*this, getInput().getType(), getAxis());
}

LogicalResult CosineSimilarityOp::verify() {
  auto lhs = getLhs().getType(), rhs = getRhs().getType();
  if (lhs.getElementType() != rhs.getElementType() || lhs.getRank() != rhs.getRank())
    return emitOpError("operands ") << formatTensorType(lhs) << " and " << formatTensorType(rhs)
                                    << " differ in element type or rank";
  if (failed(verifyAxis(*this, lhs, getAxis())))
    return failure();
  int64_t axis = getAxis();
  if (!shapesCompatible(lhs.getShape().slice(axis, 1), rhs.getShape().slice(axis, 1)))
    return emitOpError("operands ") << formatShape(lhs.getShape()) << " and "
                                    << formatShape(rhs.getShape()) << " differ along axis " << axis;
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!shape)
    return emitOpError("operand shapes ")
           << formatShape(lhs.getShape()) << " and " << formatShape(rhs.getShape())
           << " are not broadcast-compatible";
  if (getEps().convertToDouble() < 0)
    return emitOpError("eps must not be negative");
  shape->erase(shape->begin() + axis);
  return verifyResultShape(*this, lhs.getElementType(), *shape);
}

//===----------------------------------------------------------------------===//
// Index computations and constructors
//===----------------------------------------------------------------------===//

LogicalResult ArgmaxOp::verify() {
  auto input = getInput().getType();
  if (failed(verifyAxis(*this, input, getAxis())))
    return failure();
  return verifyResultShape(*this, getType().getElementType(),
                           withDim(input, getAxis(), std::nullopt));
}

LogicalResult ArangeOp::verify() {
  auto type = getType();
  if (type.getRank() != 1)
    return emitOpError("result must have rank 1, got ") << formatTensorType(type);
  if (type.isDynamicDim(0) != static_cast<bool>(getSize()))
    return emitOpError("needs a size operand exactly when the result ")
           << formatTensorType(type) << " is dynamic";
  return success();
}

LogicalResult OneHotOp::verify() {
  auto ids = getIds().getType();
  auto result = getType();
  if (result.getRank() != ids.getRank() + 1 || result.isDynamicDim(result.getRank() - 1) ||
      result.getDimSize(result.getRank() - 1) < 1)
    return emitOpError("result ") << formatTensorType(result) << " must be ids' shape "
                                  << formatShape(ids.getShape())
                                  << " and a static number of classes";
  SmallVector<int64_t> expected(ids.getShape());
  expected.push_back(result.getShape().back());
  return verifyResultShape(*this, result.getElementType(), expected);
}

LogicalResult FullLikeOp::verify() {
  auto input = getInput().getType();
  double value = getValue().convertToDouble();
  if (isa<IntegerType>(input.getElementType()) && value != std::trunc(value))
    return emitOpError("value ") << value << " is not an integer for " << formatTensorType(input);
  return verifyResultShape(*this, input.getElementType(), input.getShape());
}

//===----------------------------------------------------------------------===//
// Gather and scatter
//===----------------------------------------------------------------------===//

LogicalResult IndexSelectOp::verify() {
  auto input = getInput().getType(), indices = getIndices().getType();
  if (failed(verifyAxis(*this, input, getAxis())))
    return failure();
  if (indices.getRank() != 1)
    return emitOpError("indices must be [E], got ") << formatTensorType(indices);
  return verifyResultShape(*this, input.getElementType(),
                           withDim(input, getAxis(), indices.getDimSize(0)));
}

LogicalResult ScatterAddOp::verify() {
  auto init = getInit().getType(), indices = getIndices().getType(), src = getSrc().getType();
  if (init.getRank() < 1)
    return emitOpError("init must be [N, ...], got ") << formatTensorType(init);
  if (indices.getRank() != 1)
    return emitOpError("indices must be [E], got ") << formatTensorType(indices);
  if (src.getElementType() != init.getElementType() || src.getRank() != init.getRank() ||
      !shapesCompatible(src.getShape().drop_front(), init.getShape().drop_front()) ||
      !shapesCompatible(src.getShape().take_front(), indices.getShape()))
    return emitOpError("src ") << formatTensorType(src) << " must be [E, ...] for indices "
                               << formatTensorType(indices) << " and init "
                               << formatTensorType(init);
  return verifyResultShape(*this, init.getElementType(), init.getShape());
}

//===----------------------------------------------------------------------===//
// Native kernels
//===----------------------------------------------------------------------===//

LogicalResult KernelOp::verify() {
  // DestinationStyleOpInterface checks that results match the tensor outs.
  bool tensors = llvm::any_of(getOperandTypes(), llvm::IsaPred<TensorType>);
  bool memrefs = llvm::any_of(getOperandTypes(), llvm::IsaPred<MemRefType>);
  if (tensors && memrefs)
    return emitOpError("mixes tensor and memref operands");
  if (getOutputs().empty())
    return emitOpError("has no outputs");
  for (Attribute scalar : getScalars())
    if (!isa<IntegerAttr, FloatAttr>(scalar))
      return emitOpError("scalar ") << scalar << " is neither an integer nor a float";
  const RuntimeKernel *kernel = lookupRuntimeKernel(getCallee());
  if (!kernel)
    return emitOpError("calls @")
           << getCallee() << ", which is not a runtime kernel (runtime/include/kiln/kernels.def)";
  if (getInputs().size() != kernel->inputs || getOutputs().size() != kernel->outputs)
    return emitOpError("@") << getCallee() << " takes " << kernel->inputs << " inputs and "
                            << kernel->outputs << " outputs, not " << getInputs().size() << " and "
                            << getOutputs().size();
  ArrayAttr scalars = getScalars();
  bool kindsMatch = scalars.size() == kernel->scalars.size();
  for (auto [scalar, kind] : llvm::zip(scalars, kernel->scalars))
    kindsMatch &= kind == 'i' ? isa<IntegerAttr>(scalar) : isa<FloatAttr>(scalar);
  if (!kindsMatch)
    return emitOpError("@") << getCallee() << " takes the scalars \"" << kernel->scalars
                            << "\" ('i' an integer, 'f' a float), not " << scalars;
  return success();
}

void KernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  // On tensors the op is pure; on memrefs it reads ins and writes outs.
  for (OpOperand &operand : getInputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
  for (OpOperand &operand : getOutputsMutable())
    if (isa<MemRefType>(operand.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
      effects.emplace_back(MemoryEffects::Write::get(), &operand);
    }
}
