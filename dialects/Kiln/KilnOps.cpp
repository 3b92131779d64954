//===- KilnOps.cpp - Verifiers of the kiln dialect ------------------------===//
//
// ODS declares the ops; this file holds what ODS cannot say: the shape rules.
// Messages name both shapes so a user can see what disagreed.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

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

//===----------------------------------------------------------------------===//
// Matmul and transpose
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  auto lhs = getLhs().getType();
  auto rhs = getRhs().getType();
  if (lhs.getRank() < 2 || lhs.getRank() != rhs.getRank())
    return emitOpError("operands must both have rank >= 2 and equal ranks, got ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("operand element types differ: ")
           << formatTensorType(lhs) << " and " << formatTensorType(rhs);
  int64_t rank = lhs.getRank();
  ArrayRef<int64_t> a = lhs.getShape(), b = rhs.getShape();
  if (!shapesCompatible(a.drop_back(2), b.drop_back(2)))
    return emitOpError("batch dims differ: ") << formatShape(a) << " and " << formatShape(b);
  if (!shapesCompatible(a.take_back(1), b.slice(rank - 2, 1)))
    return emitOpError("contraction dims differ: ")
           << formatShape(a) << " x " << formatShape(b) << " (" << a.back() << " vs " << b[rank - 2]
           << ")";
  SmallVector<int64_t> expected(a.drop_back(1));
  expected.push_back(b.back());
  return verifyResultShape(*this, lhs.getElementType(), expected);
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
