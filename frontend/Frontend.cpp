//===- Frontend.cpp - Kiln source to the kiln dialect ---------------------===//
//
// The pipeline behind Frontend.h: lex and parse, resolve names (Sema),
// instantiate from the top module, check shapes and emit (MLIRGen).
//
//===----------------------------------------------------------------------===//
#include "frontend/Frontend.h"

#include "dialects/Kiln/KilnDialect.h"
#include "frontend/Diagnostics.h"
#include "frontend/Import.h"
#include "frontend/Lexer.h"
#include "frontend/MLIRGen.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace kiln;

/// Parses the main buffer; null after reporting syntax errors.
static std::unique_ptr<FileAST> parseMainBuffer(llvm::SourceMgr &sourceMgr, Diagnostics &diags) {
  if (sourceMgr.getNumBuffers() == 0) {
    diags.error(llvm::SMLoc(), "no input");
    return nullptr;
  }
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  Lexer lexer(buffer->getBuffer());
  Parser parser(lexer, diags);
  std::unique_ptr<FileAST> file = parser.parseFile();
  if (diags.hadError())
    return nullptr;
  file->numMainModules = file->modules.size();
  return file;
}

bool kiln::dumpAST(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os) {
  Diagnostics diags(sourceMgr);
  std::unique_ptr<FileAST> file = parseMainBuffer(sourceMgr, diags);
  if (!file)
    return false;
  dumpAST(*file, sourceMgr, os);
  return true;
}

mlir::OwningOpRef<mlir::ModuleOp> kiln::emitKiln(llvm::SourceMgr &sourceMgr,
                                                 mlir::MLIRContext &context,
                                                 const FrontendOptions &options) {
  context.getOrLoadDialect<KilnDialect>();
  Diagnostics diags(sourceMgr);
  std::unique_ptr<FileAST> file = loadProgram(options.importPaths, diags);
  if (!file || !resolveNames(*file, diags))
    return nullptr;
  const ModuleDecl *top = selectTopModule(*file, options.topModule, diags);
  if (!top)
    return nullptr;
  std::string modelName = options.modelName.empty() ? top->getName().str() : options.modelName;
  return MLIRGen(context, diags).emitModel(*top, options.settings, modelName);
}

std::vector<std::string> kiln::getDefaultStdlibDirs(llvm::StringRef executablePath) {
  std::vector<std::string> dirs;
  if (!executablePath.empty()) {
    llvm::SmallString<256> installed(
        llvm::sys::path::parent_path(llvm::sys::path::parent_path(executablePath)));
    llvm::sys::path::append(installed, "share", "kiln", "stdlib");
    if (llvm::sys::fs::is_directory(installed))
      dirs.push_back(installed.str().str());
  }
#ifdef KILN_STDLIB_SOURCE_DIR
  if (llvm::sys::fs::is_directory(KILN_STDLIB_SOURCE_DIR))
    dirs.push_back(KILN_STDLIB_SOURCE_DIR);
#endif
  return dirs;
}
