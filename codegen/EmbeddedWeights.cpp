//===- EmbeddedWeights.cpp - A weights file checked and compiled in -------===//
#include "codegen/EmbeddedWeights.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/MC/MCAsmBackend.h"
#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCCodeEmitter.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCExpr.h"
#include "llvm/MC/MCObjectFileInfo.h"
#include "llvm/MC/MCObjectWriter.h"
#include "llvm/MC/MCSectionELF.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/raw_ostream.h"
#include <cstring>

// The runtime's loader (runtime/src), linked into the compiler.
#include "kiln/runtime.h"
#include "manifest.h"
#include "weights.h"

namespace kiln {
namespace {

/// Where the data section of an embedded weights file starts (cache lines, as
/// the runtime aligns the arena and the copies of misaligned tensors).
constexpr uint64_t kDataAlign = 64;

llvm::Error runtimeError(llvm::StringRef what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", what.str().c_str(),
                                 kiln_error_text(nullptr));
}

} // namespace

llvm::Expected<uint64_t> checkWeightsFile(const ModelInterface &model, llvm::StringRef path) {
  // The parameters alone: the entries (and their arena plans) play no part.
  ModelInterface paramsOnly;
  paramsOnly.modelName = model.modelName;
  paramsOnly.params = model.params;
  std::string manifestText = paramsOnly.manifestJson();
  kiln_manifest manifest{};
  if (kiln_manifest_parse(manifestText.data(), manifestText.size(), &manifest, nullptr) != KILN_OK)
    return runtimeError("internal error: the runtime rejects the model's manifest");
  std::string pathText = path.str();
  kiln_weights weights{};
  int32_t status = kiln_weights_load(&manifest, pathText.c_str(), &weights, nullptr);
  uint64_t dataOffset = weights.file.data_offset;
  kiln_weights_free(&weights);
  kiln_manifest_free(&manifest);
  if (status != KILN_OK)
    return runtimeError("--weights");
  return dataOffset;
}

std::string embeddedWeightsSymbol(llvm::StringRef modelName) {
  return (modelName + "_kiln_weights").str();
}

llvm::Error emitWeightsObject(const llvm::TargetMachine &machine, llvm::StringRef symbol,
                              llvm::StringRef bytes, uint64_t dataOffset,
                              llvm::SmallVectorImpl<char> &object) {
  const llvm::Target &target = machine.getTarget();
  const llvm::Triple &triple = machine.getTargetTriple();
  const llvm::MCSubtargetInfo &subtarget = *machine.getMCSubtargetInfo();
  llvm::MCContext context(triple, machine.getMCAsmInfo(), machine.getMCRegisterInfo(), &subtarget,
                          nullptr, &machine.Options.MCOptions);
  std::unique_ptr<llvm::MCObjectFileInfo> fileInfo(
      target.createMCObjectFileInfo(context, /*PIC=*/true));
  context.setObjectFileInfo(fileInfo.get());

  object.reserve(object.size() + bytes.size() + 4096); // headers: no regrowth copies
  llvm::raw_svector_ostream os(object);
  std::unique_ptr<llvm::MCAsmBackend> backend(target.createMCAsmBackend(
      subtarget, *machine.getMCRegisterInfo(), machine.Options.MCOptions));
  std::unique_ptr<llvm::MCCodeEmitter> emitter(
      target.createMCCodeEmitter(*machine.getMCInstrInfo(), context));
  if (!backend || !emitter)
    return llvm::createStringError("cannot write objects for %s", triple.str().c_str());
  std::unique_ptr<llvm::MCObjectWriter> writer = backend->createObjectWriter(os);
  std::unique_ptr<llvm::MCStreamer> streamer(target.createMCObjectStreamer(
      triple, context, std::move(backend), std::move(writer), std::move(emitter), subtarget));
  streamer->initSections(/*NoExecStack=*/true, subtarget);
  // The note that no executable stack is needed: linkers assume one without.
  if (llvm::MCSection *stack = context.getAsmInfo()->getStackSection(context, /*Exec=*/false))
    streamer->switchSection(stack);

  bool large = triple.getArch() == llvm::Triple::x86_64;
  unsigned flags = llvm::ELF::SHF_ALLOC | (large ? llvm::ELF::SHF_X86_64_LARGE : 0);
  streamer->switchSection(context.getELFSection((large ? ".lrodata." : ".rodata.") + symbol,
                                                llvm::ELF::SHT_PROGBITS, flags));
  streamer->emitValueToAlignment(llvm::Align(kDataAlign));
  uint64_t padding = (kDataAlign - dataOffset % kDataAlign) % kDataAlign;
  streamer->emitZeros(padding);

  llvm::MCSymbol *label = context.getOrCreateSymbol(symbol);
  streamer->emitSymbolAttribute(label, llvm::MCSA_Global);
  streamer->emitSymbolAttribute(label, llvm::MCSA_ELF_TypeObject);
  streamer->emitELFSize(label, llvm::MCConstantExpr::create(bytes.size(), context));
  streamer->emitLabel(label);
  // MC lays the section out with zeros in the bytes' place (a fill, which
  // costs it no memory); the bytes are then copied into the object once.
  streamer->emitZeros(bytes.size());
  streamer->finish();

  auto file = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), symbol));
  if (!file)
    return file.takeError();
  for (const llvm::object::SectionRef &section : (*file)->sections()) {
    llvm::Expected<llvm::StringRef> name = section.getName();
    if (!name || !name->ends_with(symbol))
      continue;
    llvm::Expected<llvm::StringRef> contents = section.getContents();
    if (!contents)
      return contents.takeError();
    size_t offset = contents->data() - object.data() + padding;
    std::memcpy(object.data() + offset, bytes.data(), bytes.size());
    return llvm::Error::success();
  }
  return llvm::createStringError("internal error: no section for the weights in their object");
}

} // namespace kiln
