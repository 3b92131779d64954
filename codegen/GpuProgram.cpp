//===- GpuProgram.cpp - A model's GPU code, taken out of the module -------===//
#include "codegen/GpuProgram.h"

#include "dialects/Kiln/KilnDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

FailureOr<GpuProgram> GpuProgram::takeFromModule(ModuleOp module) {
  GpuProgram program;
  llvm::StringMap<unsigned> imageNumbers;
  for (auto binary : llvm::make_early_inc_range(module.getOps<gpu::BinaryOp>())) {
    auto objects = binary.getObjects();
    if (objects.size() != 1)
      return binary.emitError("expected one object per GPU binary, got ") << objects.size();
    auto object = cast<gpu::ObjectAttr>(objects[0]);
    if (object.getFormat() != gpu::CompilationTarget::Assembly)
      return binary.emitError("expected PTX (format=isa) in GPU binary '")
             << binary.getName() << "'";
    imageNumbers[binary.getName()] = program.images.size();
    program.images.push_back({binary.getName().str(), object.getObject().str()});
    binary.erase();
  }
  if (auto kernels = module->getAttrOfType<ArrayAttr>(kGpuKernelsAttrName)) {
    for (Attribute attr : kernels) {
      auto kernel = cast<SymbolRefAttr>(attr);
      auto image = imageNumbers.find(kernel.getRootReference());
      if (image == imageNumbers.end())
        return module.emitError("launched kernel ") << kernel << " has no GPU binary";
      program.kernels.push_back({image->second, kernel.getLeafReference().str()});
    }
    module->removeAttr(kGpuKernelsAttrName);
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  return program;
}

void GpuProgram::print(llvm::raw_ostream &os) const {
  for (const Image &image : images)
    os << "// kiln-gpu-image " << image.name << "\n" << image.ptx << "\n";
}

} // namespace kiln
