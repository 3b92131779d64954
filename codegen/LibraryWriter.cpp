//===- LibraryWriter.cpp - libNAME.a and NAME.h on disk -------------------===//
#include "codegen/LibraryWriter.h"

#include "codegen/HeaderWriter.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

namespace kiln {

llvm::Error writeLibrary(const ModelInterface &model, llvm::StringRef sourceName,
                         llvm::ArrayRef<char> object, llvm::StringRef outputDir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
    return llvm::createStringError(ec, "cannot create '%s'", outputDir.str().c_str());

  llvm::SmallString<128> archivePath(outputDir);
  llvm::sys::path::append(archivePath, "lib" + model.modelName + ".a");
  std::string memberName = model.modelName + ".o";
  llvm::NewArchiveMember member(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), memberName));
  member.MemberName = memberName;
  std::vector<llvm::NewArchiveMember> members;
  members.push_back(std::move(member));
  llvm::Error error = llvm::writeArchive(
      archivePath, members, llvm::SymtabWritingMode::NormalSymtab, llvm::object::Archive::K_GNU,
      /*Deterministic=*/true, /*Thin=*/false);
  if (error)
    return error;

  llvm::SmallString<128> headerPath(outputDir);
  llvm::sys::path::append(headerPath, model.modelName + ".h");
  std::error_code ec;
  llvm::ToolOutputFile header(headerPath, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(ec, "cannot write '%s'", headerPath.c_str());
  writeHeader(model, sourceName, header.os());
  header.keep();
  return llvm::Error::success();
}

} // namespace kiln
