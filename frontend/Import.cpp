//===- Import.cpp - Loading a file and the files it imports ---------------===//
#include "frontend/Import.h"

#include "frontend/Lexer.h"
#include "frontend/Parser.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// Import chains deeper than this are certainly a mistake, and the loader
/// recurses along them.
constexpr unsigned kMaxImportDepth = 64;

class Loader {
public:
  Loader(llvm::ArrayRef<std::string> searchPaths, Diagnostics &diags)
      : searchPaths(searchPaths), diags(diags), sourceMgr(diags.getSourceMgr()) {}

  std::unique_ptr<FileAST> run() {
    auto program = std::make_unique<FileAST>();
    unsigned mainId = sourceMgr.getMainFileID();
    StringRef mainName = sourceMgr.getMemoryBuffer(mainId)->getBufferIdentifier();
    std::unique_ptr<FileAST> main = parse(mainId);
    std::string key = canonical(mainName);
    states[key] = Active;
    stack.push_back(mainName.str());
    loadImports(*main, mainName, *program, 0);
    stack.pop_back();
    program->numMainModules = main->modules.size();
    program->imports = std::move(main->imports);
    for (auto &module : main->modules)
      program->modules.push_back(std::move(module));
    if (diags.hadError())
      return nullptr;
    return program;
  }

private:
  enum State { Active, Done };

  std::unique_ptr<FileAST> parse(unsigned bufferId) {
    Lexer lexer(sourceMgr.getMemoryBuffer(bufferId)->getBuffer());
    Parser parser(lexer, diags);
    return parser.parseFile();
  }

  /// A name that is the same for every spelling of a file's path.
  static std::string canonical(StringRef path) {
    llvm::SmallString<256> real;
    if (!llvm::sys::fs::real_path(path, real))
      return real.str().str();
    llvm::SmallString<256> absolute(path);
    llvm::sys::fs::make_absolute(absolute);
    llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
    return absolute.str().str();
  }

  /// The file `import` names: next to the importing file, then in the
  /// search paths. Empty if none exists. A file is never its own import, so
  /// `import "nn.kiln"` in a user's nn.kiln finds the standard library's.
  std::string resolve(StringRef path, StringRef importer,
                      llvm::SmallVectorImpl<std::string> &tried) {
    std::string self = canonical(importer);
    auto candidate = [&](StringRef dir) -> std::string {
      llvm::SmallString<256> full(dir);
      llvm::sys::path::append(full, path);
      tried.push_back(full.str().str());
      if (!llvm::sys::fs::is_regular_file(full) || canonical(full) == self)
        return "";
      return full.str().str();
    };
    if (llvm::sys::path::is_absolute(path))
      return candidate("");
    StringRef dir = llvm::sys::path::parent_path(importer);
    if (std::string found = candidate(dir); !found.empty())
      return found;
    for (const std::string &search : searchPaths)
      if (std::string found = candidate(search); !found.empty())
        return found;
    return "";
  }

  void loadImports(const FileAST &file, StringRef fileName, FileAST &program, unsigned depth) {
    for (const ImportDecl &import : file.imports) {
      if (diags.shouldStop())
        return;
      load(import, fileName, program, depth);
    }
  }

  void load(const ImportDecl &import, StringRef importer, FileAST &program, unsigned depth) {
    llvm::SmallVector<std::string, 4> tried;
    std::string path = resolve(import.path, importer, tried);
    if (path.empty()) {
      diags.error(import.loc, "cannot find '" + import.path + "' to import");
      for (const std::string &place : tried)
        diags.note(SMLoc(), "looked for " + place);
      return;
    }
    std::string key = canonical(path);
    auto it = states.find(key);
    if (it != states.end()) {
      if (it->second == Done)
        return; // Loaded already: its modules are in the program.
      std::string chain;
      for (const std::string &file : stack)
        if (!chain.empty() || canonical(file) == key)
          chain += "'" + llvm::sys::path::filename(file).str() + "' -> ";
      diags.error(import.loc,
                  "import cycle: " + chain + "'" + llvm::sys::path::filename(path) + "'");
      return;
    }
    if (depth + 1 >= kMaxImportDepth) {
      diags.error(import.loc, "imports are nested more than " + Twine(kMaxImportDepth) + " deep");
      return;
    }
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buffer) {
      diags.error(import.loc, "cannot read '" + path + "': " + buffer.getError().message());
      return;
    }
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(*buffer), import.loc);
    states[key] = Active;
    stack.push_back(path);
    std::unique_ptr<FileAST> file = parse(id);
    loadImports(*file, path, program, depth + 1);
    stack.pop_back();
    states[key] = Done;
    // Depth-first: a file's imports come before its own modules.
    for (auto &module : file->modules)
      program.modules.push_back(std::move(module));
  }

  llvm::ArrayRef<std::string> searchPaths;
  Diagnostics &diags;
  llvm::SourceMgr &sourceMgr;
  llvm::StringMap<State> states;
  std::vector<std::string> stack;
};

} // namespace

std::unique_ptr<FileAST> kiln::loadProgram(llvm::ArrayRef<std::string> searchPaths,
                                           Diagnostics &diags) {
  if (diags.getSourceMgr().getNumBuffers() == 0) {
    diags.error(SMLoc(), "no input");
    return nullptr;
  }
  return Loader(searchPaths, diags).run();
}
