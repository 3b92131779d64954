//===- Diagnostics.cpp - Clang-style error reporting ----------------------===//
#include "frontend/Diagnostics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

/// A longer source line is shown as this many characters around the caret
/// (as clang does), and a longer message is cut: a hostile one-line source
/// must not be repeated in full by every diagnostic.
static constexpr size_t kShownLine = 160;
static constexpr size_t kShownMessage = 1000;

/// `message`, cut after kShownMessage characters with a count of the rest.
static std::string clipMessage(const llvm::Twine &message) {
  std::string text = message.str();
  if (text.size() > kShownMessage)
    text = text.substr(0, kShownMessage) + "... (" +
           std::to_string(text.size() - kShownMessage) + " more characters)";
  return text;
}

/// Prints `diag` as SourceMgr does, but a long source line as a window
/// around the caret; the location keeps the real column. A handler the
/// driver installed gets the diagnostic whole.
static void printClipped(const llvm::SourceMgr &sourceMgr, llvm::SMLoc loc,
                         const llvm::SMDiagnostic &diag) {
  llvm::StringRef line = diag.getLineContents();
  if (line.size() <= kShownLine || sourceMgr.getDiagHandler()) {
    sourceMgr.PrintMessage(llvm::errs(), diag);
    return;
  }
  size_t column = diag.getColumnNo();
  size_t begin = std::min(column > kShownLine / 2 ? column - kShownLine / 2 : 0,
                          line.size() - kShownLine);
  std::string shown = (begin ? "..." : "") + line.substr(begin, kShownLine).str() +
                      (begin + kShownLine < line.size() ? "..." : "");
  int shownColumn = static_cast<int>(column - begin + (begin ? 3 : 0));
  llvm::SMDiagnostic window(sourceMgr, loc, diag.getFilename(), diag.getLineNo(), shownColumn,
                            diag.getKind(), diag.getMessage(), shown, {});
  sourceMgr.PrintIncludeStack(
      sourceMgr.getBufferInfo(sourceMgr.FindBufferContainingLoc(loc)).IncludeLoc, llvm::errs());
  llvm::errs() << diag.getFilename() << ':' << diag.getLineNo() << ':' << column + 1 << ": ";
  window.print(/*ProgName=*/nullptr, llvm::errs(), /*ShowColors=*/true, /*ShowKindLabel=*/true,
               /*ShowLocation=*/false);
}

llvm::StringRef Diagnostics::getFileName() const {
  if (sourceMgr.getNumBuffers() == 0)
    return "<input>";
  return sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())
      ->getBufferIdentifier();
}

void Diagnostics::print(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
                        const llvm::Twine &message) {
  if (loc.isValid()) {
    printClipped(sourceMgr, loc, sourceMgr.GetMessage(loc, kind, clipMessage(message)));
    return;
  }
  // No location: name the file, like clang does for whole-file problems.
  llvm::SMDiagnostic diag(getFileName(), kind, clipMessage(message));
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
