//===- frontend_fuzzer.cpp - libFuzzer target: .kiln source to the dialect -===//
//
// Runs one input as the main .kiln file through the whole frontend (lexer,
// parser, imports of the standard library, sema, emission) and verifies the
// module it emits. Diagnostics are the expected answer to a bad input; these
// are the failures:
//  - a crash, a sanitizer report, an assertion;
//  - an emitted module that fails the MLIR verifier (the frontend must reject
//    what the dialect would);
//  - no module and no error (a silent failure);
//  - an error that says "internal error" (a bug reaching the user).
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnDialect.h"
#include "frontend/Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

[[noreturn]] void fail(const std::string &why, const std::string &diagnostics) {
  llvm::errs() << "frontend fuzzer: " << why << "\n" << diagnostics;
  llvm::errs().flush();
  std::abort();
}

/// One context serves this many inputs, then is made anew. Making a context
/// and loading the dialects into it was most of a short input's time;
/// renewing it bounds what it interns (types, attributes, names) across
/// inputs. Interning is invisible to the frontend, so an input that fails
/// fails alone too, as its artifact is replayed.
constexpr int kInputsPerContext = 1000;

mlir::MLIRContext &contextForNextInput() {
  static std::unique_ptr<mlir::MLIRContext> context;
  static int served = 0;
  if (!context || served == kInputsPerContext) {
    context = std::make_unique<mlir::MLIRContext>(mlir::MLIRContext::Threading::DISABLED);
    context->printOpOnDiagnostic(false);
    served = 0;
  }
  ++served;
  return *context;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &context = contextForNextInput();
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  bool sawError = false;
  auto note = [&](llvm::StringRef kind, llvm::StringRef message) {
    if (kind == "error")
      sawError = true;
    os << kind << ": " << message << "\n";
  };
  mlir::ScopedDiagnosticHandler mlirDiagnostics(&context, [&](mlir::Diagnostic &d) {
    note(d.getSeverity() == mlir::DiagnosticSeverity::Error ? "error" : "note", d.str());
    return mlir::success();
  });

  llvm::SourceMgr sourceMgr;
  sourceMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *context) {
        auto *handler = static_cast<decltype(note) *>(context);
        llvm::StringRef kind = d.getKind() == llvm::SourceMgr::DK_Error     ? "error"
                               : d.getKind() == llvm::SourceMgr::DK_Warning ? "warning"
                                                                            : "note";
        (*handler)(kind, d.getMessage());
      },
      &note);
  llvm::StringRef source(reinterpret_cast<const char *>(data), size);
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, "fuzz.kiln"),
                               llvm::SMLoc());

  kiln::FrontendOptions options;
  options.modelName = "fuzz";
  options.importPaths.push_back(KILN_STDLIB_SOURCE_DIR);
  mlir::OwningOpRef<mlir::ModuleOp> module = kiln::emitKiln(sourceMgr, context, options);

  if (llvm::StringRef(diagnostics).contains_insensitive("internal error"))
    fail("an internal error reached the user", diagnostics);
  if (!module) {
    if (!sawError)
      fail("no module and no error", diagnostics);
    return 0;
  }
  if (sawError)
    fail("a module despite an error", diagnostics);
  if (mlir::failed(mlir::verify(*module)))
    fail("the emitted module fails the verifier", diagnostics);
  return 0;
}
