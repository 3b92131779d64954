//===- NameKernels.cpp - Kernel names that PTX accepts --------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUNAMEKERNELS
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

struct KilnGpuNameKernels : impl::KilnGpuNameKernelsBase<KilnGpuNameKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>())
      for (auto kernel : gpuModule.getOps<gpu::GPUFuncOp>()) {
        std::string name = ptxIdentifier(kernel.getName());
        if (name == kernel.getName())
          continue;
        // One kernel per outlined module: the new name is free there.
        auto newName = StringAttr::get(&getContext(), name);
        if (failed(SymbolTable::replaceAllSymbolUses(kernel, newName, module)))
          return signalPassFailure();
        SymbolTable::setSymbolName(kernel, newName);
      }
  }
};

} // namespace
} // namespace kiln
