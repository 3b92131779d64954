//===- ElementwiseInPlace.cpp - Elementwise ops write over a dead input ---===//
//
// After fusion an elementwise linalg.generic writes into a fresh
// tensor.empty, so bufferization gives it a new buffer even when one of its
// inputs, of the same shape, is never read again: the scaling of a [B S, V]
// logits gradient by 1 / N held two such buffers at once. Here that input
// becomes the op's destination instead (read in the body through the
// output's block argument), and one-shot bufferization writes in place.
//
// An input qualifies only when this op is its sole user and it is made by a
// destination-style op (a linalg op or a kernel) of the same function: not
// an argument, a constant or a view, where in-place writing would cost a
// copy instead of saving a buffer.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNELEMENTWISEINPLACE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The input of `op` whose buffer its result can take, or null.
OpOperand *deadInputOf(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumLoops() != op.getNumParallelLoops())
    return nullptr;
  OpOperand *init = op.getDpsInitOperand(0);
  if (!init->get().getDefiningOp<tensor::EmptyOp>() || op.payloadUsesValueFromOperand(init))
    return nullptr;
  AffineMap outputMap = op.getMatchingIndexingMap(init);
  for (OpOperand *input : op.getDpsInputOperands()) {
    Value value = input->get();
    if (value.getType() != init->get().getType() || !value.hasOneUse() ||
        op.getMatchingIndexingMap(input) != outputMap)
      continue;
    Operation *producer = value.getDefiningOp();
    if (producer && isa<DestinationStyleOpInterface>(producer) &&
        producer->getParentRegion() == op->getParentRegion())
      return input;
  }
  return nullptr;
}

/// `op` with `input` moved to its destination: the same computation, the
/// body reading the old input's value from the output's block argument.
void writeOverInput(linalg::GenericOp op, OpOperand *input) {
  OpBuilder b(op);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  unsigned dropped = input->getOperandNumber();
  for (OpOperand *operand : op.getDpsInputOperands())
    if (operand != input) {
      inputs.push_back(operand->get());
      maps.push_back(op.getMatchingIndexingMap(operand));
    }
  OpOperand *init = op.getDpsInitOperand(0);
  maps.push_back(op.getMatchingIndexingMap(init));
  auto inPlace = linalg::GenericOp::create(b, op.getLoc(), op->getResultTypes(), inputs,
                                           ValueRange{input->get()}, maps,
                                           op.getIteratorTypesArray());
  inPlace->setDiscardableAttrs(op->getDiscardableAttrDictionary());

  // The body's arguments were (inputs..., output); the output's is unused
  // (its init was empty) and the dropped input's moves into its place.
  Region &region = inPlace.getRegion();
  region.takeBody(op.getRegion());
  Block &body = region.front();
  body.eraseArgument(body.getNumArguments() - 1);
  BlockArgument droppedArg = body.getArgument(dropped);
  BlockArgument output = body.addArgument(droppedArg.getType(), droppedArg.getLoc());
  droppedArg.replaceAllUsesWith(output);
  body.eraseArgument(dropped);
  op->replaceAllUsesWith(inPlace->getResults());
  op->erase();
}

struct ElementwiseInPlacePass : impl::KilnElementwiseInPlaceBase<ElementwiseInPlacePass> {
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, OpOperand *>> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (OpOperand *input = deadInputOf(op))
        candidates.push_back({op, input});
    });
    for (auto [op, input] : candidates)
      writeOverInput(op, input);
  }
};

} // namespace
} // namespace kiln
