//===- HeaderWriter.cpp - The generated NAME.h ----------------------------===//
//
// The header is a contract, tested against a golden file: keep its text
// stable and every line meaningful to the person reading it.
//
//===----------------------------------------------------------------------===//
#include "codegen/HeaderWriter.h"

#include "runtime/include/kiln/abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

namespace kiln {
std::string cType(llvm::StringRef dtype) {
  struct Spelling {
    llvm::StringLiteral dtype, cType;
  };
  static constexpr Spelling kSpellings[] = {
#define KILN_DTYPE_SPELLING(e, manifest, safetensors, bytes, c_type) {manifest, c_type},
      KILN_DTYPES(KILN_DTYPE_SPELLING)
#undef KILN_DTYPE_SPELLING
  };
  for (const Spelling &s : kSpellings)
    if (s.dtype == dtype)
      return s.cType.str();
  llvm_unreachable("a dtype the ModelInterface does not produce");
}

namespace {

std::string upper(llvm::StringRef text) { return llvm::StringRef(text).upper(); }

std::string formatTensor(const TensorSpec &t) { return t.dtype + formatDims(t.dims); }

/// "B, S" for a macro's parameter list.
std::string symbolList(const std::vector<std::string> &symbols) {
  return llvm::join(symbols, ", ");
}

/// `((size_t)(B) * 64)`: the element count of a tensor as a C expression.
std::string numelExpr(const TensorSpec &t) {
  std::vector<std::string> factors;
  int64_t constant = 1;
  for (const Dim &dim : t.dims) {
    if (auto *size = std::get_if<int64_t>(&dim))
      constant *= *size;
    else
      factors.push_back("(size_t)(" + std::get<std::string>(dim) + ")");
  }
  if (constant != 1 || factors.empty())
    factors.push_back("(size_t)" + std::to_string(constant));
  return "(" + llvm::join(factors, " * ") + ")";
}

std::string arenaExpr(const EntrySpec &entry) {
  std::vector<std::string> terms;
  for (const ArenaTerm &term : entry.arena) {
    std::string text = "(size_t)" + std::to_string(term.coeff);
    for (const std::string &symbol : term.symbols)
      text += " * (size_t)(" + symbol + ")";
    terms.push_back(text);
  }
  if (terms.empty())
    terms.push_back("(size_t)0");
  return "(" + llvm::join(terms, " + ") + ")";
}

void writeTensorMacros(llvm::raw_ostream &os, const std::string &prefix, const TensorSpec &t,
                       const std::vector<std::string> &symbols) {
  std::string base = prefix + "_" + upper(t.name);
  os << "#define " << base << "_RANK " << t.dims.size() << "\n";
  for (auto [i, dim] : llvm::enumerate(t.dims))
    if (auto *size = std::get_if<int64_t>(&dim))
      os << "#define " << base << "_DIM" << i << " " << *size << "\n";
  bool symbolic =
      llvm::any_of(t.dims, [](const Dim &d) { return std::holds_alternative<std::string>(d); });
  os << "#define " << base << "_NUMEL" << (symbolic ? "(" + symbolList(symbols) + ")" : "") << " "
     << numelExpr(t) << "\n";
  if (t.classes)
    os << "/* Class indices: each in [0, " << base << "_CLASSES), checked at every call. */\n"
       << "#define " << base << "_CLASSES " << *t.classes << "\n";
}

/// NAME_cache_*: generation through a key/value cache (docs/abi.md).
void writeCacheApi(const ModelInterface &model, const GenerationSpec &generation,
                   llvm::raw_ostream &os) {
  const std::string &name = model.modelName;
  const EntrySpec &prefill = model.entries[generation.prefill];
  const EntrySpec &decode = model.entries[generation.decode];
  std::string cache = name + "_cache";
  os << "\n/* Generation with a key/value cache. A cache holds up to max_seq positions\n"
     << " * of one batch (" << formatDims(generation.position) << " each, " << generation.batch
     << " = batch): " << name << "_cache_prefill\n"
     << " * runs prefill on an empty cache and keeps the prompt's keys and values;\n"
     << " * each " << name << "_cache_decode_step runs decode_step for one token per row\n"
     << " * at position " << name << "_cache_length() and appends it, reading the\n"
     << " * cache in place (O(positions) per token). Use a cache from one thread at a\n"
     << " * time; several caches (independent sequences) may share one model. Errors\n"
     << " * (a prompt longer than max_seq, a step past it, a cache of another model\n"
     << " * handle) are reported on the model: " << name << "_last_error(model). */\n";
  os << "typedef struct " << cache << " " << cache << ";\n";
  os << "int " << cache << "_create(" << name << "_model *model, int64_t batch, int64_t max_seq, "
     << cache << " **cache);\n";
  os << "/* NULL is ignored. */\n";
  os << "void " << cache << "_destroy(" << cache << " *cache);\n";
  os << "/* Forgets every position: the next call must be " << cache << "_prefill. */\n";
  os << "void " << cache << "_reset(" << cache << " *cache);\n";
  os << "/* The positions held; -1 for NULL. */\n";
  os << "int64_t " << cache << "_length(const " << cache << " *cache);\n";
  os << "/* prefill's inputs and outputs as " << name << "_" << prefill.name
     << " takes them, but the batch (the\n"
     << " * cache's) and the last output (kept in the cache). */\n";
  os << "int " << cache << "_prefill(" << name << "_model *model, " << cache << " *cache";
  for (const std::string &symbol : generation.prefillDims)
    os << ", int64_t " << symbol;
  for (const TensorSpec &t : prefill.inputs)
    os << ", const " << cType(t.dtype) << " *" << t.name;
  for (const TensorSpec &t : llvm::ArrayRef(prefill.outputs).drop_back())
    os << ", " << cType(t.dtype) << " *" << t.name;
  os << ");\n";
  os << "/* tokens[batch] -> " << decode.outputs[0].name << formatDims(decode.outputs[0].dims)
     << " at the next position. */\n";
  os << "int " << cache << "_decode_step(" << name << "_model *model, " << cache
     << " *cache, const int64_t *tokens, float *" << decode.outputs[0].name << ");\n";
}

/// NAME_<train>, NAME_<train>_memory, NAME_<train>_grads and
/// NAME_<train>_apply (docs/abi.md, "Training").
void writeTrainApi(const ModelInterface &model, const EntrySpec &entry, llvm::raw_ostream &os) {
  const std::string &name = model.modelName;
  const TrainSpec &train = *entry.train;
  std::string ENTRY = upper(name) + "_" + upper(entry.name);
  const TensorSpec &loss = entry.outputs.front();
  os << "\n/* " << entry.name << ": a train entry. One call runs loss(";
  for (auto [i, t] : llvm::enumerate(entry.inputs))
    os << (i ? ", " : "") << t.name << ": " << formatTensor(t);
  os << ") -> " << loss.name << ": " << formatTensor(loss) << ",\n"
     << " * backpropagates, and updates the weights with one optimizer step:\n"
     << " *   " << train.optimizer << "(";
  for (auto [i, setting] : llvm::enumerate(train.settings))
    os << (i ? ", " : "") << setting.first << " = " << llvm::format("%g", setting.second);
  os << ")\n";
  if (train.clipGradNorm)
    os << " *   after clipping the gradients to a global norm of "
       << llvm::format("%g", *train.clipGradNorm) << "\n";
  os << " * The learning rate is an argument of each call. It trains "
     << train.params.size() << " parameters,\n * " << train.numGrads
     << " values, in this order (that of the gradient buffer):\n";
  for (unsigned index : train.params)
    os << " *   " << model.params[index].name << " " << formatTensor(model.params[index]) << "\n";
  if (!entry.symbols.empty())
    os << " * Symbolic dims (each >= 1): " << symbolList(entry.symbols) << ".\n";
  os << " * The weights change in place: run no other call on the model meanwhile.\n"
     << " * A step whose loss or gradients are not finite returns " << upper(name)
     << "_ERROR_NOT_FINITE\n * and leaves the weights as they were. */\n";
  for (const TensorSpec &t : entry.inputs)
    writeTensorMacros(os, ENTRY, t, entry.symbols);
  os << "/* Values in the gradient buffer of " << name << "_" << entry.name
     << "_grads/_apply. */\n";
  os << "#define " << ENTRY << "_NUM_GRADS " << train.numGrads << "\n";
  os << "/* Scratch memory the model uses per call of " << name << "_" << entry.name
     << "_grads. A step keeps\n"
     << " * its gradients there too, where activations are dead by the time each is\n"
     << " * computed, and past them when none are: at most " << ENTRY
     << "_NUM_GRADS * 4 more\n"
     << " * bytes (and 64 per parameter); " << name << "_" << entry.name
     << "_memory says how many. */\n";
  os << "#define " << ENTRY << "_ARENA_BYTES"
     << (entry.symbols.empty() ? "" : "(" + symbolList(entry.symbols) + ")") << " "
     << arenaExpr(entry) << "\n";
  auto signature = [&](const std::string &suffix, bool takesLr, bool takesInputs,
                       llvm::StringRef rest) {
    os << "int " << name << "_" << entry.name << suffix << "(" << name << "_model *model";
    if (takesLr)
      os << ", float lr";
    for (const std::string &symbol : entry.symbols)
      os << ", int64_t " << symbol;
    for (const TensorSpec &t : takesInputs ? entry.inputs : std::vector<TensorSpec>())
      os << ", const " << cType(t.dtype) << " *" << t.name;
    os << rest << ");\n";
  };
  os << "/* One training step: forward, backward and the optimizer update. */\n";
  signature("", true, true, ", float *loss");
  os << "/* The memory a step uses at these dims: its arena, gradients included. */\n";
  signature("_memory", false, false, ", size_t *bytes");
  os << "/* Forward and backward only: the loss, and the gradients into\n"
     << " * grads[" << ENTRY << "_NUM_GRADS] (e.g. to all-reduce them across processes). */\n";
  signature("_grads", false, true, ", float *loss, float *grads");
  os << "/* The optimizer update from grads[" << ENTRY << "_NUM_GRADS]. */\n";
  os << "int " << name << "_" << entry.name << "_apply(" << name
     << "_model *model, float lr, const float *grads);\n";
  os << "/* The optimizer state (step count and moments) to and from a .safetensors\n"
     << " * file, to resume training; written like " << name
     << "_save_weights. Loading refuses a\n"
     << " * state saved for another model or entry and then leaves the state as it was. */\n";
  os << "int " << name << "_" << entry.name << "_save_state(" << name
     << "_model *model, const char *path);\n";
  os << "int " << name << "_" << entry.name << "_load_state(" << name
     << "_model *model, const char *path);\n";
}

} // namespace

void writeHeader(const ModelInterface &model, llvm::StringRef sourceName, llvm::raw_ostream &os) {
  const std::string &name = model.modelName;
  std::string NAME = upper(name);
  std::string guard = NAME + "_H";

  os << "/* " << name << ".h: the C interface of lib" << name << ".a, generated by kilnc from "
     << sourceName << ". Do not edit.\n"
     << " *\n"
     << " * Tensors are dense, row-major arrays in the caller's memory. Every function\n"
     << " * returns a status (" << NAME << "_OK on success); " << name
     << "_last_error() explains a failure.\n"
     << " * A model handle may be used from several threads at once.\n";
  if (!model.gpuChip.empty())
    os << " * Compiled for an NVIDIA GPU (" << model.gpuChip
       << " PTX): create loads the CUDA driver\n"
       << " * (libcuda.so.1), compiles the kernels for GPU 0 and copies the weights there;\n"
       << " * where there is no driver or GPU it returns " << NAME
       << "_ERROR_NO_DEVICE. Each call copies\n"
       << " * its inputs to the GPU and its outputs back; calls on one model take turns.\n";
  os << " * Link with: -l" << name << " -ldnnl -lgomp -lm (oneDNN and its OpenMP runtime)\n"
     << " */\n";
  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << "#include <stddef.h>\n#include <stdint.h>\n\n";
  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";

  os << "/* Status codes. */\n";
  const std::pair<const char *, int> statuses[] = {{"OK", 0},
                                                   {"ERROR_INVALID_ARGUMENT", 1},
                                                   {"ERROR_IO", 2},
                                                   {"ERROR_FORMAT", 3},
                                                   {"ERROR_WEIGHTS_MISMATCH", 4},
                                                   {"ERROR_OUT_OF_MEMORY", 5},
                                                   {"ERROR_INTERNAL", 6},
                                                   {"ERROR_NOT_FINITE", 7},
                                                   {"ERROR_NO_DEVICE", 8}};
  for (auto [suffix, value] : statuses)
    os << "#define " << NAME << "_" << suffix << " " << value << "\n";
  os << "\n";

  os << "typedef struct " << name << "_model " << name << "_model;\n\n";
  os << "typedef struct " << name << "_options {\n"
     << "  int32_t num_threads; /* 0: one per CPU available, also the most used; pinned */\n"
     << "} " << name << "_options;\n\n";

  int64_t numValues = 0;
  for (const TensorSpec &p : model.params) {
    int64_t n = 1;
    for (const Dim &d : p.dims)
      n *= std::get<int64_t>(d);
    numValues += n;
  }
  os << "/* Parameters: " << model.params.size() << " tensors, " << numValues
     << " values, read from a .safetensors file\n"
     << " * whose tensor names are exactly:\n";
  for (const TensorSpec &p : model.params)
    os << " *   " << p.name << " " << formatTensor(p) << "\n";
  os << " */\n";
  os << "#define " << NAME << "_NUM_PARAMS " << model.params.size() << "\n\n";

  if (model.embeddedWeightsSize)
    os << "/* The weights compiled into the library (kilnc --embed-weights), "
       << *model.embeddedWeightsSize << " bytes:\n"
       << " * " << name << "_create(NULL, ...) uses them; a weights_path given still wins. */\n"
       << "#define " << NAME << "_EMBEDDED_WEIGHTS 1\n\n";
  os << "/* Loads the weights and prepares the model. options may be NULL. On failure\n"
     << " * *model is NULL and " << name << "_last_error(NULL) says why. */\n";
  os << "int " << name << "_create(const char *weights_path, const " << name
     << "_options *options, " << name << "_model **model);\n\n";
  os << "/* Frees the model; NULL is ignored. */\n";
  os << "void " << name << "_destroy(" << name << "_model *model);\n\n";
  os << "/* The last error on this model, or of the last failed create on this\n"
     << " * thread when model is NULL. Never NULL; \"\" when there is none. */\n";
  os << "const char *" << name << "_last_error(const " << name << "_model *model);\n\n";
  os << "/* Writes the parameters to a .safetensors file under their state_dict names\n"
     << " * (PyTorch's load_file + load_state_dict accept it). Written beside path and\n"
     << " * renamed over it: on failure a previous file at path is left as it was. */\n";
  os << "int " << name << "_save_weights(" << name << "_model *model, const char *path);\n";

  for (const EntrySpec &entry : model.entries) {
    if (entry.train) {
      writeTrainApi(model, entry, os);
      continue;
    }
    std::string ENTRY = NAME + "_" + upper(entry.name);
    os << "\n/* " << entry.name << "(";
    for (auto [i, t] : llvm::enumerate(entry.inputs))
      os << (i ? ", " : "") << t.name << ": " << formatTensor(t);
    os << ") -> ";
    for (auto [i, t] : llvm::enumerate(entry.outputs))
      os << (i ? ", " : "") << t.name << ": " << formatTensor(t);
    os << "\n";
    if (!entry.symbols.empty())
      os << " * Symbolic dims (each >= 1): " << symbolList(entry.symbols) << ".\n";
    os << " */\n";
    for (const TensorSpec &t : entry.inputs)
      writeTensorMacros(os, ENTRY, t, entry.symbols);
    for (const TensorSpec &t : entry.outputs)
      writeTensorMacros(os, ENTRY, t, entry.symbols);
    os << "/* Scratch memory the model uses per call. */\n";
    os << "#define " << ENTRY << "_ARENA_BYTES"
       << (entry.symbols.empty() ? "" : "(" + symbolList(entry.symbols) + ")") << " "
       << arenaExpr(entry) << "\n";
    auto declare = [&](llvm::StringRef suffix) {
      os << "int " << name << "_" << entry.name << suffix << "(" << name << "_model *model";
      for (const std::string &symbol : entry.symbols)
        os << ", int64_t " << symbol;
      for (const TensorSpec &t : entry.inputs)
        os << ", const " << cType(t.dtype) << " *" << t.name;
      for (const TensorSpec &t : entry.outputs)
        os << ", " << cType(t.dtype) << " *" << t.name;
      os << ");\n";
    };
    declare("");
    if (!model.gpuChip.empty()) {
      os << "/* The same with every tensor in GPU 0's memory (cudaMalloc'd, or any\n"
         << " * pointer of its primary context): nothing is copied. Class-index inputs\n"
         << " * are not checked, since the host cannot read them. */\n";
      declare("_on_device");
    }
  }

  if (model.generation)
    writeCacheApi(model, *model.generation, os);

  os << "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* " << guard << " */\n";
}

} // namespace kiln
