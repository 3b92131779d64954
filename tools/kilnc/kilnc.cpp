//===- kilnc.cpp - The Kiln compiler driver -------------------------------===//
//
//   kilnc model.kiln -o out/          libmodel.a + model.h in out/
//   kilnc model.kiln --emit=linalg    one stage's output, on stdout
//
//===----------------------------------------------------------------------===//
#include "codegen/Compiler.h"
#include "frontend/Frontend.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Pass.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <cstdlib>

namespace cl = llvm::cl;

namespace {

cl::OptionCategory kilncCategory("kilnc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.kiln>"), cl::Required,
                               cl::cat(kilncCategory));
cl::opt<std::string> outputPath(
    "o", cl::desc("Output: a directory for --emit=lib (default: .), else a file (default: -)"),
    cl::value_desc("path"), cl::cat(kilncCategory));
cl::opt<kiln::Stage> emit(
    "emit", cl::desc("What to produce"), cl::init(kiln::Stage::Lib),
    cl::values(clEnumValN(kiln::Stage::AST, "ast", "the parsed syntax tree"),
               clEnumValN(kiln::Stage::Kiln, "kiln", "the kiln dialect"),
               clEnumValN(kiln::Stage::Fused, "fused", "the kiln dialect after fusion"),
               clEnumValN(kiln::Stage::Linalg, "linalg", "linalg on tensors, fused"),
               clEnumValN(kiln::Stage::Vector, "vector", "tiled and vectorized for the host"),
               clEnumValN(kiln::Stage::Bufferized, "bufferized", "memrefs planned into the arena"),
               clEnumValN(kiln::Stage::Gpu, "gpu", "--target=cuda: kernels outlined, launched"),
               clEnumValN(kiln::Stage::Nvvm, "nvvm", "--target=cuda: kernels in the NVVM dialect"),
               clEnumValN(kiln::Stage::Ptx, "ptx", "--target=cuda: the kernels' PTX"),
               clEnumValN(kiln::Stage::LLVMMLIR, "llvm-mlir", "the LLVM dialect"),
               clEnumValN(kiln::Stage::LLVM, "llvm",
                          "optimized LLVM IR with the C API and runtime"),
               clEnumValN(kiln::Stage::Asm, "asm", "assembly for the target"),
               clEnumValN(kiln::Stage::Obj, "obj", "an object file"),
               clEnumValN(kiln::Stage::Header, "header", "the generated C header"),
               clEnumValN(kiln::Stage::CppHeader, "cpp-header",
                          "the generated C++20 header (over the C one)"),
               clEnumValN(kiln::Stage::Lib, "lib", "libNAME.a and NAME.h (default)")),
    cl::cat(kilncCategory));
cl::opt<std::string> modelName("name",
                               cl::desc("Model name: the symbol prefix (default: the file stem)"),
                               cl::cat(kilncCategory));
cl::opt<std::string> topModule("top",
                               cl::desc("The module to compile (default: the one with export fns)"),
                               cl::cat(kilncCategory));
cl::list<std::string> settings("D", cl::Prefix,
                               cl::desc("Set a constructor argument of the compiled module, "
                                        "replacing its default: -D depth=2"),
                               cl::value_desc("name=value"), cl::cat(kilncCategory));
cl::list<std::string> importDirs("I", cl::Prefix,
                                 cl::desc("Add a folder where 'import' looks for .kiln files "
                                          "(after the importing file's folder)"),
                                 cl::value_desc("dir"), cl::cat(kilncCategory));
cl::opt<kiln::Backend> backend("backend",
                               cl::desc("Where matmuls and linear layers run (default: auto)"),
                               cl::init(kiln::Backend::Auto), cl::values(KILN_BACKEND_VALUES),
                               cl::cat(kilncCategory));
cl::opt<kiln::Precision>
    precision("precision",
              cl::desc("What matmuls and linear layers multiply in: f32 (the default) or bf16 (f32 "
                       "sums; inputs, outputs and weights stay f32)"),
              cl::init(kiln::Precision::F32), cl::values(KILN_PRECISION_VALUES),
              cl::cat(kilncCategory));
cl::opt<bool> fusion("fusion",
                     cl::desc("Fusion passes and fused kernels (default: on; --fusion=false "
                              "lowers op by op)"),
                     cl::init(true), cl::cat(kilncCategory));
cl::opt<std::string> inlining("inline",
                              cl::desc("Inline the functions of module methods: always, never or "
                                       "auto (small or once-called bodies; the default)"),
                              cl::init("auto"), cl::cat(kilncCategory));
cl::opt<std::string> depFile("MF",
                             cl::desc("Also write a Makefile depfile there: the output depends "
                                      "on the source and every .kiln file it imports (for "
                                      "CMake's DEPFILE, ninja's depfile)"),
                             cl::value_desc("path"), cl::cat(kilncCategory));
cl::opt<std::string> depTarget("MT",
                               cl::desc("The depfile's target (default: the library, or -o)"),
                               cl::value_desc("target"), cl::cat(kilncCategory));
cl::opt<bool> cppHeader("cpp-header",
                        cl::desc("Also write NAME.hpp: a C++20 class over NAME.h (spans, "
                                 "exceptions)"),
                        cl::cat(kilncCategory));
cl::opt<std::string> weightsPath(
    "weights",
    cl::desc("Check this .safetensors file against the model's parameters while compiling "
             "(the runtime's own checks: names, dtypes, shapes, layout)"),
    cl::value_desc("file"), cl::cat(kilncCategory));
cl::opt<bool> embedWeights("embed-weights",
                           cl::desc("Compile the --weights file into the library as read-only "
                                    "data: NAME_create(NULL, ...) then uses it"),
                           cl::cat(kilncCategory));
cl::opt<bool> verbose("v", cl::desc("Print each stage as it starts, on stderr"),
                      cl::cat(kilncCategory));
cl::opt<std::string> runtimeBitcode(
    "runtime-bitcode",
    cl::desc("Link this runtime bitcode instead of the built-in one (a sanitizer build's "
             "runtime/kiln_runtime.bc; docs/reliability.md)"),
    cl::value_desc("file"), cl::Hidden, cl::cat(kilncCategory));
cl::opt<std::string> target("target",
                            cl::desc("What the model runs on: host (the default), or cuda[:sm_NN] "
                                     "for an NVIDIA GPU (default sm_80, whose PTX newer GPUs JIT)"),
                            cl::init("host"), cl::cat(kilncCategory));
cl::opt<std::string> cudaPath("cuda-path",
                              cl::desc("The CUDA toolkit, for libdevice (default: $CUDA_HOME, "
                                       "else /usr/local/cuda)"),
                              cl::value_desc("dir"), cl::cat(kilncCategory));
cl::opt<bool> gpuLoopsOnHost(
    "gpu-loops-on-host",
    cl::desc("Test aid: the model as --target=cuda shapes it, up to its tiled parallel loops, "
             "run on the host (checks those passes where there is no GPU)"),
    cl::Hidden, cl::cat(kilncCategory));
cl::opt<std::string> targetCpu("mcpu", cl::desc("Target CPU (default: host)"), cl::init("host"),
                               cl::cat(kilncCategory));
cl::opt<std::string> targetFeatures("mattr", cl::desc("Extra target features, e.g. -avx512f"),
                                    cl::cat(kilncCategory));

/// A C identifier made from the file stem: `my-model.kiln` -> `my_model`.
std::string defaultModelName(llvm::StringRef path) {
  std::string name = llvm::sys::path::stem(path).str();
  for (char &c : name)
    if (!llvm::isAlnum(c))
      c = '_';
  if (name.empty() || llvm::isDigit(name.front()))
    name.insert(0, "m");
  return name;
}

bool isIdentifier(llvm::StringRef name) {
  return !name.empty() && (llvm::isAlpha(name.front()) || name.front() == '_') &&
         llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// A path as a Makefile rule writes it: spaces, '#' and '$' escaped.
std::string makeEscaped(llvm::StringRef path) {
  std::string escaped;
  for (char c : path) {
    if (c == ' ' || c == '#')
      escaped += '\\';
    else if (c == '$')
      escaped += '$';
    escaped += c;
  }
  return escaped;
}

/// `target: <every file in sourceMgr> <extra>`: the main source, its imports
/// and the weights file.
bool writeDepFile(llvm::StringRef path, llvm::StringRef target, const llvm::SourceMgr &sourceMgr,
                  llvm::ArrayRef<std::string> extra) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return false;
  file.os() << makeEscaped(target) << ":";
  for (unsigned id = 1; id <= sourceMgr.getNumBuffers(); ++id)
    file.os() << " \\\n  " << makeEscaped(sourceMgr.getMemoryBuffer(id)->getBufferIdentifier());
  for (const std::string &dependency : extra)
    file.os() << " \\\n  " << makeEscaped(dependency);
  file.os() << "\n";
  file.keep();
  return !file.os().has_error();
}

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kilnc") << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "kilnc " KILN_VERSION " (LLVM/MLIR " LLVM_VERSION_STRING ")\n";
  });
  // MLIR's own pass-manager and timing options (--mlir-print-ir-after-all,
  // --mlir-timing, ...) work too, unlisted. LLVM's --time-passes is listed:
  // it times Kiln's stages and passes as well as LLVM's.
  // The pipelines name upstream passes by their registered names, and
  // --mlir-print-ir-after=<pass> takes the names registered before it.
  kiln::registerPasses();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  if (auto *timePasses = cl::getRegisteredOptions().lookup("time-passes")) {
    timePasses->addCategory(kilncCategory);
    timePasses->setHiddenFlag(cl::NotHidden);
    timePasses->setDescription("Report the time of each stage and pass on stderr");
  }
  cl::HideUnrelatedOptions(kilncCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "Kiln: an ahead-of-time compiler for deep-learning models\n\n"
                              "  Exit status: 0 when every output was written; 1 on any "
                              "error,\n  each reported on stderr as file:line:column: "
                              "error: message.\n");

  if (inlining != "always" && inlining != "never" && inlining != "auto")
    return fail("unknown --inline mode '" + inlining + "': expected always, never or auto");
  if (embedWeights && weightsPath.empty())
    return fail("--embed-weights needs the file to embed: --weights=<file.safetensors>");
  std::string gpuChip;
  if (target != "host") {
    auto [kind, chip] = llvm::StringRef(target).split(':');
    unsigned arch = 0;
    if (kind != "cuda" ||
        (!chip.empty() && (!chip.consume_front("sm_") || chip.getAsInteger(10, arch) || arch < 70)))
      return fail("unknown --target '" + target +
                  "': expected host, cuda or cuda:sm_NN (NN >= 70, e.g. cuda:sm_90)");
    gpuChip = chip.empty() ? "sm_80" : "sm_" + chip.str();
  }
  if (gpuLoopsOnHost && !gpuChip.empty())
    return fail("--gpu-loops-on-host runs the GPU's loops on the host: drop --target");
  bool gpuStage = emit == kiln::Stage::Gpu || emit == kiln::Stage::Nvvm || emit == kiln::Stage::Ptx;
  if (gpuStage && gpuChip.empty())
    return fail("--emit=gpu, nvvm and ptx need --target=cuda");
  std::string cudaToolkit = cudaPath;
  if (cudaToolkit.empty()) {
    const char *home = std::getenv("CUDA_HOME");
    cudaToolkit = home && *home ? home : "/usr/local/cuda";
  }
  if (!gpuChip.empty()) {
    llvm::SmallString<128> libdevice(cudaToolkit);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::exists(libdevice))
      return fail("--target=cuda needs the CUDA toolkit's libdevice, which is not at '" +
                  libdevice.str().str() + "' (name the toolkit with --cuda-path or CUDA_HOME)");
  }
  std::string name = modelName.empty() ? defaultModelName(inputPath) : modelName.getValue();
  if (!isIdentifier(name))
    return fail("model name '" + name + "' is not a C identifier (use --name)");

  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(inputPath, /*IsText=*/true);
  if (!buffer)
    return fail("cannot read '" + inputPath + "': " + buffer.getError().message());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());

  bool toDirectory = emit == kiln::Stage::Lib;
  std::string output = outputPath.empty() ? (toDirectory ? "." : "-") : outputPath.getValue();
  std::unique_ptr<llvm::ToolOutputFile> outputFile;
  if (!toDirectory) {
    std::error_code ec;
    bool binary = emit == kiln::Stage::Obj;
    outputFile = std::make_unique<llvm::ToolOutputFile>(
        output, ec, binary ? llvm::sys::fs::OF_None : llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write '" + output + "': " + ec.message());
  }

  if (emit == kiln::Stage::AST) {
    if (!kiln::dumpAST(sourceMgr, outputFile->os()))
      return 1;
    outputFile->keep();
    return 0;
  }

  mlir::DefaultTimingManager timing;
  mlir::applyDefaultTimingManagerCLOptions(timing);
  if (llvm::TimePassesIsEnabled)
    timing.setEnabled(true);
  mlir::TimingScope rootTimer = timing.getRootScope();

  mlir::DialectRegistry registry;
  kiln::registerDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Messages point at the source; the op that raised one is not printed.
  context.printOpOnDiagnostic(false);
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  // A .mlir input is a module already in the kiln dialect (for tests of the
  // later stages and for IR written by other tools).
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (llvm::StringRef(inputPath).ends_with(".mlir")) {
    module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
    if (module && (!modelName.empty() || !(*module)->hasAttr("kiln.model")))
      (*module)->setAttr("kiln.model", mlir::StringAttr::get(&context, name));
  } else {
    kiln::FrontendOptions frontendOptions{name, topModule, {}, {}};
    frontendOptions.importPaths.assign(importDirs.begin(), importDirs.end());
    for (llvm::StringRef setting : settings) {
      auto [settingName, value] = setting.split('=');
      if (settingName.empty() || !setting.contains('='))
        return fail("-D " + setting.str() + ": expected name=value");
      frontendOptions.settings.emplace_back(settingName.trim().str(), value.trim().str());
    }
    // Then the standard library: installed beside kilnc, or the source tree's.
    std::string executable =
        llvm::sys::fs::getMainExecutable(argv[0], reinterpret_cast<void *>(&defaultModelName));
    for (std::string &dir : kiln::getDefaultStdlibDirs(executable))
      frontendOptions.importPaths.push_back(std::move(dir));
    if (verbose)
      llvm::errs() << "kilnc: frontend\n";
    mlir::TimingScope frontendTimer = rootTimer.nest("frontend");
    module = kiln::emitKiln(sourceMgr, context, frontendOptions);
  }
  if (!module || mlir::failed(mlir::verify(*module)))
    return 1;

  kiln::CompileOptions options;
  options.stop = emit;
  options.target = {targetCpu, targetFeatures};
  options.pipeline = {backend, precision, fusion, inlining, gpuChip, cudaToolkit, gpuLoopsOnHost};
  options.sourceName = llvm::sys::path::filename(inputPath).str();
  options.timing = &rootTimer;
  options.verbose = verbose;
  options.cppHeader = cppHeader;
  options.runtimeBitcode = runtimeBitcode;
  options.weightsPath = weightsPath;
  options.embedWeights = embedWeights;
  llvm::raw_ostream &os = outputFile ? outputFile->os() : llvm::nulls();
  if (mlir::failed(kiln::compile(*module, options, os, output)))
    return 1;
  if (outputFile)
    outputFile->keep();
  if (!depFile.empty()) {
    llvm::SmallString<128> library(output);
    llvm::sys::path::append(library, "lib" + name + ".a");
    std::string target = !depTarget.empty() ? depTarget.getValue()
                         : toDirectory      ? library.str().str()
                                            : output;
    std::vector<std::string> extra;
    if (!weightsPath.empty())
      extra.push_back(weightsPath);
    if (!writeDepFile(depFile, target, sourceMgr, extra))
      return fail("cannot write the depfile '" + depFile + "'");
  }
  return 0;
}
