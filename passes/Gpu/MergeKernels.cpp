//===- MergeKernels.cpp - All of a model's kernels in one module ----------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUMERGEKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// `name` with each character a PTX identifier may not hold replaced by `_`.
std::string ptxIdentifier(StringRef name) {
  std::string result = name.str();
  for (char &c : result)
    if (!llvm::isAlnum(c) && c != '_' && c != '$')
      c = '_';
  return result;
}

struct KilnGpuMergeKernels : impl::KilnGpuMergeKernelsBase<KilnGpuMergeKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> outlined(module.getOps<gpu::GPUModuleOp>());
    if (outlined.empty())
      return;
    OpBuilder b(outlined.front());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), kGpuKernelsModuleName);
    SymbolTable kernels(merged);
    // Each outlined module holds one kernel and has a unique name: the
    // kernel takes it (SymbolTable::insert renames it should the PTX
    // spelling collide).
    llvm::DenseMap<Attribute, SymbolRefAttr> moved;
    for (gpu::GPUModuleOp source : outlined) {
      for (Operation &op : llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
        if (!kernel) {
          op.emitError("kiln-gpu-merge-kernels: expected only kernels in an outlined module");
          return signalPassFailure();
        }
        auto oldRef = SymbolRefAttr::get(source.getNameAttr(),
                                         {FlatSymbolRefAttr::get(kernel.getNameAttr())});
        kernel->remove();
        SymbolTable::setSymbolName(kernel, ptxIdentifier(source.getName()));
        StringAttr name = kernels.insert(kernel);
        moved[oldRef] = SymbolRefAttr::get(merged.getNameAttr(), {FlatSymbolRefAttr::get(name)});
      }
      source.erase();
    }
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = moved.find(launch.getKernelAttr());
      if (it == moved.end()) {
        launch.emitError("kiln-gpu-merge-kernels: launch of an unknown kernel");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(it->second);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
