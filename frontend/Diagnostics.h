//===- Diagnostics.h - Clang-style error reporting --------------*- C++ -*-===//
//
// Every frontend error goes through here to the SourceMgr, which prints
// `file:line:col: error: message`, the source line and a caret (or hands the
// diagnostic to the handler the driver installed). Notes attach to the error
// just reported. The engine counts errors and stops printing after a limit,
// so that a file of garbage cannot flood the terminal.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_DIAGNOSTICS_H
#define KILN_FRONTEND_DIAGNOSTICS_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SourceMgr.h"

namespace kiln {

class Diagnostics {
public:
  explicit Diagnostics(llvm::SourceMgr &sourceMgr, unsigned errorLimit = 20)
      : sourceMgr(sourceMgr), errorLimit(errorLimit) {}
  /// Says so if errors were dropped or work stopped at the limit: printed
  /// last, after the notes of the last error shown.
  ~Diagnostics();
  Diagnostics(const Diagnostics &) = delete;
  Diagnostics &operator=(const Diagnostics &) = delete;

  /// Reports an error at `loc`. A null `loc` reports against the file as a
  /// whole (`file: error: message`, no source line).
  void error(llvm::SMLoc loc, const llvm::Twine &message);
  /// Attaches a note to the last error; dropped if that error was dropped.
  void note(llvm::SMLoc loc, const llvm::Twine &message);

  unsigned getNumErrors() const { return numErrors; }
  bool hadError() const { return numErrors != 0; }
  /// True once the error limit is reached: callers should stop working.
  bool shouldStop() const { return numErrors >= errorLimit; }

  llvm::SourceMgr &getSourceMgr() { return sourceMgr; }
  llvm::StringRef getFileName() const;

  /// Extra context printed as a note after every error reported while it is
  /// active, e.g. "in instance 'fc1' of Linear(64, 128)". Innermost last.
  struct Context {
    llvm::SMLoc loc;
    std::string message;
  };
  void pushContext(llvm::SMLoc loc, std::string message) {
    contexts.push_back({loc, std::move(message)});
  }
  void popContext() { contexts.pop_back(); }

private:
  void print(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
             const llvm::Twine &message);

  llvm::SourceMgr &sourceMgr;
  unsigned errorLimit;
  unsigned numErrors = 0;
  bool lastErrorPrinted = false;
  llvm::SmallVector<Context, 4> contexts;
};

/// Pushes a context note for the lifetime of the object.
class DiagnosticContext {
public:
  DiagnosticContext(Diagnostics &diags, llvm::SMLoc loc, std::string message)
      : diags(diags) {
    diags.pushContext(loc, std::move(message));
  }
  ~DiagnosticContext() { diags.popContext(); }
  DiagnosticContext(const DiagnosticContext &) = delete;
  DiagnosticContext &operator=(const DiagnosticContext &) = delete;

private:
  Diagnostics &diags;
};

} // namespace kiln

#endif // KILN_FRONTEND_DIAGNOSTICS_H
