//===- GpuProgram.cpp - A model's GPU code, taken out of the module -------===//
#include "codegen/GpuProgram.h"

#include "dialects/Kiln/KilnDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
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

namespace {

/// A temporary file removed when this goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

llvm::Error makeTempFile(llvm::StringRef suffix, TempFile &file) {
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("kiln-gpu", suffix, file.path))
    return llvm::createStringError(ec, "cannot make a temporary file: " + ec.message());
  return llvm::Error::success();
}

/// Runs `program args...`, its output to stderr; an error with its message
/// when it fails.
llvm::Error run(llvm::StringRef program, llvm::ArrayRef<llvm::StringRef> args) {
  llvm::SmallVector<llvm::StringRef> argv{program};
  argv.append(args.begin(), args.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, {}, 0, 0, &message);
  if (status != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::Twine(program) + " failed" +
                                       (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}

/// "sm_90" -> "90".
llvm::StringRef smNumber(llvm::StringRef chip) { return chip.drop_front(3); }

} // namespace

llvm::Error GpuProgram::addSass(llvm::StringRef toolkit, llvm::StringRef ptxChip,
                                llvm::raw_ostream &log) {
  llvm::SmallString<128> ptxas(toolkit), fatbinary(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  llvm::sys::path::append(fatbinary, "bin", "fatbinary");
  if (!llvm::sys::fs::can_execute(ptxas) || !llvm::sys::fs::can_execute(fatbinary)) {
    log << "kilnc: no ptxas and fatbinary in " << toolkit
        << ": the library carries PTX alone, which the driver compiles at create\n";
    return llvm::Error::success();
  }
  llvm::SmallVector<llvm::StringRef, 2> sassChips{ptxChip};
  if (smNumber(ptxChip) < "90" && smNumber(ptxChip).size() == 2)
    sassChips.push_back("sm_90");
  for (Image &image : images) {
    TempFile ptxFile, fatbinFile;
    if (llvm::Error error = makeTempFile("ptx", ptxFile))
      return error;
    if (llvm::Error error = makeTempFile("fatbin", fatbinFile))
      return error;
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(ptxFile.path, ec);
      if (ec)
        return llvm::createStringError(ec, "cannot write " + ptxFile.path + ": " + ec.message());
      os << image.ptx;
    }
    // PTX kept uncompressed: the driver reads it either way, and tools (the
    // tests' fake driver) can find its entries.
    std::vector<std::string> specs{"--image3=kind=ptx,sm=" + smNumber(ptxChip).str() +
                                   ",file=" + ptxFile.path.str().str()};
    std::vector<TempFile> cubins(sassChips.size());
    for (auto [chip, cubin] : llvm::zip(sassChips, cubins)) {
      if (llvm::Error error = makeTempFile("cubin", cubin))
        return error;
      std::string arch = ("-arch=" + chip).str();
      if (llvm::Error error = run(ptxas, {arch, "-O3", ptxFile.path, "-o", cubin.path}))
        return error;
      specs.push_back("--image3=kind=elf,sm=" + smNumber(chip).str() +
                      ",file=" + cubin.path.str().str());
    }
    std::string create = "--create=" + fatbinFile.path.str().str();
    llvm::SmallVector<llvm::StringRef> args{create, "--compress=false"};
    args.append(specs.begin(), specs.end());
    if (llvm::Error error = run(fatbinary, args))
      return error;
    auto buffer = llvm::MemoryBuffer::getFile(fatbinFile.path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return llvm::createStringError(buffer.getError(), "cannot read the fatbin of " + image.name);
    image.fatbin = (*buffer)->getBuffer().str();
  }
  return llvm::Error::success();
}

void GpuProgram::print(llvm::raw_ostream &os) const {
  for (const Image &image : images)
    os << "// kiln-gpu-image " << image.name << "\n" << image.ptx << "\n";
}

} // namespace kiln
