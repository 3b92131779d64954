//===- HostAccess.cpp - Keep the host's hands off device memory -----------===//
//
// On the GPU target the buffers an entry sees are device memory: the host
// code may compute sizes, views and launches, never load or store. Two passes
// hold that line: kiln-gpu-prepare shapes every access into a parallel loop
// before the loops are mapped to the GPU, and kiln-gpu-check-host refuses,
// at compile time, whatever access is left on the host after outlining.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUPREPARE
#define GEN_PASS_DEF_KILNGPUCHECKHOST
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Wraps `op` in `scf.parallel (%i) = (0) to (1) step (1)`: the GPU maps that
/// loop to one block of one thread.
void wrapInSingleIteration(Operation *op) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero}, ValueRange{one}, ValueRange{one});
  op->moveBefore(loop.getBody()->getTerminator());
}

struct KilnGpuPrepare : impl::KilnGpuPrepareBase<KilnGpuPrepare> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // A copy is a parallel loop once it is a linalg op (memref.copy would
    // become a host memcpy).
    func.walk([](memref::CopyOp copy) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(), copy.getTarget());
      copy.erase();
    });
    // A linalg op with no parallel loop (a full reduction, a 0-d op) would
    // lower to host loops.
    SmallVector<Operation *> serial;
    func.walk([&](linalg::LinalgOp op) {
      if (op.getNumParallelLoops() == 0 && !op->getParentOfType<scf::ParallelOp>())
        serial.push_back(op);
    });
    for (Operation *op : serial)
      wrapInSingleIteration(op);
  }
};

/// Whether `op` reads or writes the memory behind a memref (as opposed to
/// taking its sizes or a view of it).
bool accessesMemory(Operation *op) {
  if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp, linalg::LinalgOp>(op))
    return true;
  if (op->getDialect() && op->getDialect()->getNamespace() == "vector")
    return llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>);
  return false;
}

struct KilnGpuCheckHost : impl::KilnGpuCheckHostBase<KilnGpuCheckHost> {
  void runOnOperation() override {
    bool failed = false;
    for (auto func : getOperation().getOps<func::FuncOp>())
      func.walk([&](Operation *op) {
        if (!accessesMemory(op))
          return;
        op->emitError("kilnc --target=cuda cannot run '")
            << op->getName() << "' on the GPU: it would read device memory on the host";
        failed = true;
      });
    if (failed)
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
