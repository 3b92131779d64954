//===- Registration.cpp - What kilnc and kiln-opt register ----------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

namespace kiln {

void registerDialects(mlir::DialectRegistry &registry) {
  registry.insert<KilnDialect>();
  registerKernelBufferization(registry);
  // Upstream dialects with their external interface models (bufferization,
  // tiling, conversion to LLVM) and translations to LLVM IR.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
}

void registerPasses() {
  mlir::registerAllPasses();
  registerKilnPasses();
  registerKilnPipelines();
}

} // namespace kiln
