//===- RuntimeLinker.cpp - Link the runtime into a model ------------------===//
#include "codegen/RuntimeLinker.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"

namespace {
// The runtime compiled to bitcode by runtime/CMakeLists.txt, as bytes.
const unsigned char kRuntimeBitcode[] = {
#include KILN_RUNTIME_BITCODE_INC
};
} // namespace

namespace kiln {

llvm::Error linkRuntimeAndInternalize(llvm::Module &module,
                                      llvm::ArrayRef<std::string> publicNames) {
  llvm::MemoryBufferRef buffer(
      llvm::StringRef(reinterpret_cast<const char *>(kRuntimeBitcode), sizeof(kRuntimeBitcode)),
      "kiln_runtime.bc");
  auto runtime = llvm::parseBitcodeFile(buffer, module.getContext());
  if (!runtime)
    return runtime.takeError();
  (*runtime)->setTargetTriple(module.getTargetTriple());
  (*runtime)->setDataLayout(module.getDataLayout());
  if (llvm::Linker::linkModules(module, std::move(*runtime)))
    return llvm::createStringError("cannot link the runtime into the model");

  llvm::StringSet<> keep;
  for (const std::string &name : publicNames)
    keep.insert(name);
  auto internalize = [&](llvm::GlobalValue &value) {
    if (!value.isDeclaration() && !keep.contains(value.getName()))
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
  };
  for (llvm::Function &f : module)
    internalize(f);
  for (llvm::GlobalVariable &g : module.globals())
    internalize(g);
  for (llvm::GlobalAlias &a : module.aliases())
    internalize(a);
  return llvm::Error::success();
}

} // namespace kiln
