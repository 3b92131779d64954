//===- Compiler.cpp - From the kiln dialect to a static library -----------===//
#include "codegen/Compiler.h"

#include "codegen/CppHeaderWriter.h"
#include "codegen/EmbeddedWeights.h"
#include "codegen/EntryGlue.h"
#include "codegen/HeaderWriter.h"
#include "codegen/LibraryWriter.h"
#include "codegen/RuntimeLinker.h"
#include "dialects/Kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;

namespace kiln {
namespace {

using AddPasses = void (*)(OpPassManager &, const PipelineOptions &);

struct MlirStage {
  Stage stage;
  AddPasses addPasses;
  StringLiteral name;
};

/// A stage's passes, each timed under `timing` when it is enabled, with
/// MLIR's pass-manager command-line options (--mlir-print-ir-after-all, ...)
/// applied where the tool registered them.
LogicalResult runStage(ModuleOp module, AddPasses addPasses, const PipelineOptions &options,
                       TimingScope &timing) {
  PassManager pm(module.getContext());
  addPasses(pm, options);
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  if (timing)
    pm.enableTiming(timing);
  return pm.run(module);
}

/// Starts stage `name`: a nested timer (or a disabled one), and with
/// `verbose` its name on stderr.
TimingScope startStage(const CompileOptions &options, StringRef name) {
  if (options.verbose)
    llvm::errs() << "kilnc: " << name << "\n";
  return options.timing ? options.timing->nest(name) : TimingScope();
}

LogicalResult reportLLVMError(ModuleOp module, llvm::Error error) {
  return module.emitError(llvm::toString(std::move(error)));
}

} // namespace

LogicalResult compile(ModuleOp module, const CompileOptions &options, llvm::raw_ostream &os,
                      llvm::StringRef outputDir) {
  Stage stop = options.stop;
  // Train steps update the weights and optimizer state on the host: on a GPU
  // the model's inference entries are compiled, and its train entries left
  // out, each with a warning.
  if (options.pipeline.targetsGpu())
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (func->hasAttr(kTrainAttrName)) {
        func.emitWarning("train entry '")
            << func.getName() << "' is left out: kilnc --target=cuda compiles inference "
            << "entries, and train steps run on the host target";
        func.erase();
      }
  FailureOr<ModelInterface> model = ModelInterface::fromKilnModule(module);
  if (failed(model))
    return failure();
  model->gpuChip = options.pipeline.gpuChip;
  // The KV cache lives on the host: on a GPU only inference runs, for now.
  if (options.pipeline.targetsGpu() && model->generation)
    return module.emitError("kilnc --target=cuda does not compile the generation entries "
                            "(prefill, decode_step) yet: they need the host target");
  // A weights file is checked first: a mismatch should not wait for codegen.
  std::unique_ptr<llvm::MemoryBuffer> embeddedWeights;
  uint64_t weightsDataOffset = 0;
  if (!options.weightsPath.empty()) {
    TimingScope timer = startStage(options, "weights file");
    llvm::Expected<uint64_t> dataOffset = checkWeightsFile(*model, options.weightsPath);
    if (!dataOffset)
      return reportLLVMError(module, dataOffset.takeError());
    weightsDataOffset = *dataOffset;
    if (options.embedWeights) {
      auto buffer = llvm::MemoryBuffer::getFile(options.weightsPath, /*IsText=*/false,
                                                /*RequiresNullTerminator=*/false);
      if (!buffer)
        return module.emitError("cannot read weights file '")
               << options.weightsPath << "': " << buffer.getError().message();
      embeddedWeights = std::move(*buffer);
      model->embeddedWeightsSize = embeddedWeights->getBufferSize();
    }
  }

  // The MLIR stages, printing the one asked for.
  const MlirStage mlirStages[] = {{Stage::Kiln, addInlinePasses, "inline and autodiff"},
                                  {Stage::Fused, addFusionPasses, "fusion"},
                                  {Stage::Linalg, addKilnToLinalgPasses, "to linalg"},
                                  {Stage::Vector, addVectorizationPasses, "vectorize"},
                                  {Stage::Bufferized, addBufferizationPasses, "bufferize"}};
  // The target, for the passes whose choices depend on it (vector width).
  auto machine = createTargetMachine(options.target);
  if (!machine)
    return reportLLVMError(module, machine.takeError());
  MLIRContext *context = module.getContext();
  NamedAttribute targetFields[] = {
      {StringAttr::get(context, kTargetCpuName),
       StringAttr::get(context, (*machine)->getTargetCPU())},
      {StringAttr::get(context, kTargetVectorWidthName),
       IntegerAttr::get(IntegerType::get(context, 64), vectorWidth(**machine))}};
  DictionaryAttr target = DictionaryAttr::get(context, targetFields);

  for (const MlirStage &s : mlirStages) {
    // Attached where the target starts to matter, so that the stages before
    // print the same on every machine.
    if (s.stage == Stage::Vector && !options.pipeline.targetsGpu())
      module->setAttr(kTargetAttrName, target);
    TimingScope timer = startStage(options, s.name);
    if (failed(runStage(module, s.addPasses, options.pipeline, timer)))
      return failure();
    // Class-index inputs are read where the losses are plain ops, in the
    // entries' own bodies (inlined, before fusion).
    if (s.stage == Stage::Kiln)
      model->readClassInputs(module);
    if (stop == s.stage) {
      module.print(os);
      return success();
    }
  }
  if (failed(model->readArenaPlan(module)))
    return failure();
  model->readPreparedKernels(module);
  if (stop == Stage::Header) {
    writeHeader(*model, options.sourceName, os);
    return success();
  }
  if (stop == Stage::CppHeader) {
    writeCppHeader(*model, options.sourceName, os);
    return success();
  }

  // On a GPU target the kernels are generated and compiled here; the host
  // code left launches them through the runtime.
  if (options.pipeline.gpuLoopsOnHost) {
    TimingScope timer = startStage(options, "GPU loops, run on the host");
    if (failed(runStage(module, addGpuLoopPasses, options.pipeline, timer)))
      return failure();
  } else if (options.pipeline.targetsGpu()) {
    const MlirStage gpuStages[] = {{Stage::Gpu, addGpuMappingPasses, "GPU kernels"},
                                   {Stage::Nvvm, addGpuToNvvmPasses, "GPU kernels to NVVM"},
                                   {Stage::Ptx, addGpuBinaryPasses, "GPU kernels to PTX"}};
    for (const MlirStage &s : gpuStages) {
      TimingScope timer = startStage(options, s.name);
      if (failed(runStage(module, s.addPasses, options.pipeline, timer)))
        return failure();
      if (stop == s.stage && stop != Stage::Ptx) {
        module.print(os);
        return success();
      }
    }
    FailureOr<GpuProgram> program = GpuProgram::takeFromModule(module);
    if (failed(program))
      return failure();
    if (stop == Stage::Ptx) {
      program->print(os);
      return success();
    }
    TimingScope sassTimer = startStage(options, "GPU machine code (ptxas, fatbinary)");
    if (llvm::Error error = program->addSass(options.pipeline.cudaPath, options.pipeline.gpuChip,
                                             options.verbose ? llvm::errs() : llvm::nulls()))
      return reportLLVMError(module, std::move(error));
    sassTimer.stop();
    model->gpu = std::move(*program);
  }

  // The interface has been read: drop kiln.* attributes, which LLVM IR has no
  // place for, and give entries `_mlir_ciface_<name>` wrappers taking
  // descriptor pointers. Outlined method functions lose theirs too.
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue; // a runtime kernel's declaration
    if (func->hasAttr(kEntryAttrName))
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(module.getContext()));
    func.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
    func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
    for (NamedAttribute attr : llvm::to_vector(func->getDiscardableAttrs()))
      if (attr.getName().strref().starts_with("kiln."))
        func->removeAttr(attr.getName());
    // The lowering to LLVM drops func.func's no_inline (kiln-inline's
    // verdict on a small body with many callers): pass it on as LLVM's.
    if (func.getNoInline())
      func->setAttr(
          "passthrough",
          ArrayAttr::get(module.getContext(), {StringAttr::get(module.getContext(), "noinline")}));
  }
  TimingScope lowerTimer = startStage(options, "to the LLVM dialect");
  if (failed(runStage(module, addLowerToLLVMPasses, options.pipeline, lowerTimer)))
    return failure();
  lowerTimer.stop();
  if (stop == Stage::LLVMMLIR) {
    module.print(os);
    return success();
  }

  TimingScope llvmTimer = startStage(options, "LLVM IR, runtime linked, optimized");
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, model->modelName);
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  configureModule(*llvmModule, **machine);
  std::vector<std::string> publicNames = addEntryGlue(*llvmModule, *model);
  RuntimeTarget runtimeTarget{vectorWidth(**machine), hasBf16Dot(**machine)};
  if (llvm::Error error = linkRuntimeAndInternalize(*llvmModule, publicNames, runtimeTarget,
                                                    options.runtimeBitcode))
    return reportLLVMError(module, std::move(error));
  configureModule(*llvmModule, **machine);
  if (llvm::verifyModule(*llvmModule, &llvm::errs()))
    return module.emitError("generated LLVM IR is invalid");
  optimizeModule(*llvmModule, **machine);
  llvmTimer.stop();
  if (stop == Stage::LLVM) {
    llvmModule->print(os, nullptr);
    return success();
  }

  TimingScope codeTimer = startStage(options, "machine code and library");
  llvm::SmallVector<char, 0> code;
  if (llvm::Error error = emitMachineCode(*llvmModule, **machine, stop == Stage::Asm, code))
    return reportLLVMError(module, std::move(error));
  if (stop == Stage::Asm || stop == Stage::Obj) {
    os.write(code.data(), code.size());
    return success();
  }
  llvm::SmallVector<char, 0> weightsObject;
  TimingScope weightsTimer = codeTimer.nest("embedded weights");
  if (embeddedWeights)
    if (llvm::Error error =
            emitWeightsObject(**machine, embeddedWeightsSymbol(model->modelName),
                              embeddedWeights->getBuffer(), weightsDataOffset, weightsObject))
      return reportLLVMError(module, std::move(error));
  weightsTimer.stop();
  TimingScope archiveTimer = codeTimer.nest("archive and headers");
  if (llvm::Error error = writeLibrary(*model, options.sourceName, code, weightsObject, outputDir,
                                       options.cppHeader))
    return reportLLVMError(module, std::move(error));
  return success();
}

} // namespace kiln
