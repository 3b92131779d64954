//===- Diagnostics.cpp - Clang-style error reporting ----------------------===//
#include "frontend/Diagnostics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

llvm::StringRef Diagnostics::getFileName() const {
  if (sourceMgr.getNumBuffers() == 0)
    return "<input>";
  return sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
      ->getBufferIdentifier();
}

void Diagnostics::print(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
                        const llvm::Twine &message) {
  if (loc.isValid()) {
    sourceMgr.PrintMessage(loc, kind, message);
    return;
  }
  // No location: name the file, like clang does for whole-file problems.
  llvm::SMDiagnostic diag(getFileName(), kind, message.str());
  sourceMgr.PrintMessage(llvm::errs(), diag);
}

void Diagnostics::error(llvm::SMLoc loc, const llvm::Twine &message) {
  ++numErrors;
  lastErrorPrinted = numErrors <= errorLimit;
  if (!lastErrorPrinted)
    return;
  print(loc, llvm::SourceMgr::DK_Error, message);
  for (const Context &context : llvm::reverse(contexts))
    print(context.loc, llvm::SourceMgr::DK_Note, context.message);
}

Diagnostics::~Diagnostics() {
  if (numErrors >= errorLimit)
    print(llvm::SMLoc(), llvm::SourceMgr::DK_Error,
          "too many errors emitted, stopping now");
}

void Diagnostics::note(llvm::SMLoc loc, const llvm::Twine &message) {
  if (lastErrorPrinted)
    print(loc, llvm::SourceMgr::DK_Note, message);
}
