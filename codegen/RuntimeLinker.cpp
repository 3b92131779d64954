//===- RuntimeLinker.cpp - Link the runtime into a model ------------------===//
#include "codegen/RuntimeLinker.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"

namespace {
// The runtime compiled to bitcode by runtime/CMakeLists.txt, as bytes.
const unsigned char kRuntimeBitcode[] = {
#include KILN_RUNTIME_BITCODE_INC
};
} // namespace

namespace {
// The runtime's function `name` (runtime/src/target.h), where the runtime
// defines it, answers `value`: its body becomes that constant, which the
// optimizer then folds into every caller.
void setTargetAnswer(llvm::Module &module, llvm::StringRef name, uint64_t value) {
  llvm::Function *answer = module.getFunction(name);
  if (!answer || answer->isDeclaration())
    return;
  answer->deleteBody();
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(answer->getContext(), "", answer));
  builder.CreateRet(llvm::ConstantInt::get(answer->getReturnType(), value));
}
} // namespace

namespace kiln {

llvm::Error linkRuntimeAndInternalize(llvm::Module &module, llvm::ArrayRef<std::string> publicNames,
                                      RuntimeTarget target, llvm::StringRef bitcodePath) {
  llvm::MemoryBufferRef buffer(
      llvm::StringRef(reinterpret_cast<const char *>(kRuntimeBitcode), sizeof(kRuntimeBitcode)),
      "kiln_runtime.bc");
  std::unique_ptr<llvm::MemoryBuffer> file;
  if (!bitcodePath.empty()) {
    auto read = llvm::MemoryBuffer::getFile(bitcodePath);
    if (!read)
      return llvm::createStringError(read.getError(), "cannot read the runtime bitcode '" +
                                                          bitcodePath + "': " +
                                                          read.getError().message());
    file = std::move(*read);
    buffer = file->getMemBufferRef();
  }
  auto runtime = llvm::parseBitcodeFile(buffer, module.getContext());
  if (!runtime)
    return runtime.takeError();
  (*runtime)->setTargetTriple(module.getTargetTriple());
  (*runtime)->setDataLayout(module.getDataLayout());
  if (llvm::Linker::linkModules(module, std::move(*runtime)))
    return llvm::createStringError("cannot link the runtime into the model");
  setTargetAnswer(module, "kiln_target_f32_lanes", target.f32Lanes);
  setTargetAnswer(module, "kiln_target_has_bf16_dot", target.bf16Dot);

  llvm::StringSet<> keep;
  for (const std::string &name : publicNames)
    keep.insert(name);
  // llvm.global_ctors and the like (a sanitized runtime's constructors) keep
  // their appending linkage. An internal definition needs no comdat: the
  // runtime's files, linked into one module, would otherwise share one (each
  // sanitized file has an "asan.module_ctor") and the linker would keep only
  // one of their constructors.
  auto internalize = [&](llvm::GlobalObject &value) {
    if (value.isDeclaration() || value.getName().starts_with("llvm."))
      return;
    if (!keep.contains(value.getName()))
      value.setLinkage(llvm::GlobalValue::InternalLinkage);
    if (value.hasLocalLinkage())
      value.setComdat(nullptr);
  };
  for (llvm::Function &f : module)
    internalize(f);
  for (llvm::GlobalVariable &g : module.globals())
    internalize(g);
  for (llvm::GlobalAlias &a : module.aliases())
    if (!keep.contains(a.getName()))
      a.setLinkage(llvm::GlobalValue::InternalLinkage);
  return llvm::Error::success();
}

} // namespace kiln
