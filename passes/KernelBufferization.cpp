//===- KernelBufferization.cpp - One-shot bufferization of kiln.kernel ----===//
//
// kiln.kernel is in destination style, so upstream's DPS model answers the
// analysis questions (ins are read, each out is read, written and aliases
// its result); bufferize() rebuilds the op on the operands' buffers.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace kiln {
namespace {

struct KernelOpBufferization
    : DstBufferizableOpInterfaceExternalModel<KernelOpBufferization, KernelOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto kernel = cast<KernelOp>(op);
    auto buffersOf = [&](ValueRange values, SmallVectorImpl<Value> &buffers) -> LogicalResult {
      for (Value value : values) {
        FailureOr<Value> buffer = getBuffer(rewriter, value, options, state);
        if (failed(buffer))
          return failure();
        buffers.push_back(*buffer);
      }
      return success();
    };
    SmallVector<Value> inputs, outputs;
    if (failed(buffersOf(kernel.getInputs(), inputs)) ||
        failed(buffersOf(kernel.getOutputs(), outputs)))
      return failure();
    rewriter.setInsertionPoint(op);
    KernelOp::create(rewriter, op->getLoc(), TypeRange{}, kernel.getCalleeAttr(), inputs, outputs,
                     kernel.getScalars());
    replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};

} // namespace

void registerKernelBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, KilnDialect *) {
    KernelOp::attachInterface<KernelOpBufferization>(*context);
  });
}

} // namespace kiln
