//===- CppHeaderWriter.cpp - The generated NAME.hpp -----------------------===//
#include "codegen/CppHeaderWriter.h"

#include "codegen/HeaderWriter.h"
#include "llvm/ADT/StringExtras.h"

namespace kiln {
namespace {

std::string upper(llvm::StringRef text) { return text.upper(); }

/// `B, S` (the symbols as the C macros take them), or "" when static.
std::string symbolArgs(const std::vector<std::string> &symbols) {
  return llvm::join(symbols, ", ");
}

/// The NUMEL macro of `t` in entry `ENTRY`, applied to the symbols.
std::string numelMacro(const std::string &ENTRY, const TensorSpec &t,
                       const std::vector<std::string> &symbols) {
  bool symbolic =
      llvm::any_of(t.dims, [](const Dim &d) { return std::holds_alternative<std::string>(d); });
  return ENTRY + "_" + upper(t.name) + "_NUMEL" + (symbolic ? "(" + symbolArgs(symbols) + ")" : "");
}

/// A method's parameter list: [float lr, ] int64_t B..., spans of the inputs
/// [and outputs].
std::string parameters(const EntrySpec &entry, bool takesLr, bool withOutputs,
                       size_t outputsFrom = 0) {
  std::vector<std::string> params;
  if (takesLr)
    params.push_back("float lr");
  for (const std::string &symbol : entry.symbols)
    params.push_back("int64_t " + symbol);
  for (const TensorSpec &t : entry.inputs)
    params.push_back("std::span<const " + cType(t.dtype) + "> " + t.name);
  if (withOutputs)
    for (const TensorSpec &t : llvm::ArrayRef(entry.outputs).drop_front(outputsFrom))
      params.push_back("std::span<" + cType(t.dtype) + "> " + t.name);
  return llvm::join(params, ", ");
}

/// The C call's arguments after the handle: [lr, ] symbols, data pointers.
std::string arguments(const EntrySpec &entry, bool takesLr, bool withOutputs,
                      size_t outputsFrom = 0) {
  std::vector<std::string> args;
  if (takesLr)
    args.push_back("lr");
  for (const std::string &symbol : entry.symbols)
    args.push_back(symbol);
  for (const TensorSpec &t : entry.inputs)
    args.push_back(t.name + ".data()");
  if (withOutputs)
    for (const TensorSpec &t : llvm::ArrayRef(entry.outputs).drop_front(outputsFrom))
      args.push_back(t.name + ".data()");
  return llvm::join(args, ", ");
}

/// The size checks of the inputs [and outputs] of a method body.
void writeSizeChecks(llvm::raw_ostream &os, const std::string &ENTRY, const EntrySpec &entry,
                     bool withOutputs, size_t outputsFrom = 0) {
  for (const TensorSpec &t : entry.inputs)
    os << "    expect_size(\"" << t.name << "\", " << t.name << ".size(), "
       << numelMacro(ENTRY, t, entry.symbols) << ");\n";
  if (withOutputs)
    for (const TensorSpec &t : llvm::ArrayRef(entry.outputs).drop_front(outputsFrom))
      os << "    expect_size(\"" << t.name << "\", " << t.name << ".size(), "
         << numelMacro(ENTRY, t, entry.symbols) << ");\n";
}

void writeInferenceMethod(llvm::raw_ostream &os, const std::string &name,
                          const std::string &NAME, const EntrySpec &entry) {
  std::string ENTRY = NAME + "_" + upper(entry.name);
  os << "\n  /// " << entry.name << ": " << name << "_" << entry.name
     << " with the spans' sizes checked first.\n";
  os << "  void " << entry.name << "(" << parameters(entry, false, true) << ") {\n";
  writeSizeChecks(os, ENTRY, entry, true);
  os << "    check(" << name << "_" << entry.name << "(handle_, " << arguments(entry, false, true)
     << "));\n  }\n";
}

void writeTrainMethods(llvm::raw_ostream &os, const std::string &name, const std::string &NAME,
                       const EntrySpec &entry) {
  std::string ENTRY = NAME + "_" + upper(entry.name);
  std::string c = name + "_" + entry.name;
  os << "\n  /// " << entry.name << ": one training step (" << c << "); returns the loss.\n";
  os << "  float " << entry.name << "(" << parameters(entry, true, false) << ") {\n";
  writeSizeChecks(os, ENTRY, entry, false);
  os << "    float loss = 0.0f;\n"
     << "    check(" << c << "(handle_, " << arguments(entry, true, false) << ", &loss));\n"
     << "    return loss;\n  }\n";
  os << "  /// The bytes a step uses at these dims (" << c << "_memory).\n";
  std::vector<std::string> dims;
  for (const std::string &symbol : entry.symbols)
    dims.push_back("int64_t " + symbol);
  os << "  size_t " << entry.name << "_memory(" << llvm::join(dims, ", ") << ") {\n"
     << "    size_t bytes = 0;\n"
     << "    check(" << c << "_memory(handle_, "
     << (entry.symbols.empty() ? "" : symbolArgs(entry.symbols) + ", ") << "&bytes));\n"
     << "    return bytes;\n  }\n";
  os << "  /// Forward and backward into grads[" << ENTRY << "_NUM_GRADS]; returns the loss.\n";
  std::string params = parameters(entry, false, false);
  os << "  float " << entry.name << "_grads(" << params << (params.empty() ? "" : ", ")
     << "std::span<float> grads) {\n";
  writeSizeChecks(os, ENTRY, entry, false);
  std::string args = arguments(entry, false, false);
  os << "    expect_size(\"grads\", grads.size(), " << ENTRY << "_NUM_GRADS);\n"
     << "    float loss = 0.0f;\n"
     << "    check(" << c << "_grads(handle_, " << args << (args.empty() ? "" : ", ")
     << "&loss, grads.data()));\n"
     << "    return loss;\n  }\n";
  os << "  /// The optimizer update from grads[" << ENTRY << "_NUM_GRADS].\n"
     << "  void " << entry.name << "_apply(float lr, std::span<const float> grads) {\n"
     << "    expect_size(\"grads\", grads.size(), " << ENTRY << "_NUM_GRADS);\n"
     << "    check(" << c << "_apply(handle_, lr, grads.data()));\n  }\n";
  for (const char *suffix : {"_save_state", "_load_state"})
    os << "  void " << entry.name << suffix << "(const char *path) { check(" << c << suffix
       << "(handle_, path)); }\n";
}

} // namespace

void writeCppHeader(const ModelInterface &model, llvm::StringRef sourceName,
                    llvm::raw_ostream &os) {
  const std::string &name = model.modelName;
  std::string NAME = upper(name);
  os << "/* " << name << ".hpp: a C++20 interface to lib" << name << ".a over " << name
     << ".h, generated by kilnc\n"
     << " * from " << sourceName << ". Do not edit.\n"
     << " *\n"
     << " * " << name << "::model owns a handle (move-only). Each entry is a method taking\n"
     << " * the symbolic dims and std::span views of the tensors, whose sizes are\n"
     << " * checked against the entry's shapes before the call; any failure throws\n"
     << " * " << name << "::error with the status and message. model::get() gives the C\n"
     << " * handle for the rest of " << name << ".h.\n"
     << " */\n";
  os << "#ifndef " << NAME << "_HPP\n#define " << NAME << "_HPP\n\n";
  os << "#include <cstddef>\n#include <cstdint>\n#include <span>\n#include <stdexcept>\n"
     << "#include <string>\n#include <utility>\n\n";
  os << "#include \"" << name << ".h\"\n\n";
  os << "namespace " << name << " {\n\n";
  os << "/// A failed call: its status (" << NAME << "_ERROR_*) and message.\n"
     << "class error : public std::runtime_error {\n"
     << "public:\n"
     << "  error(int status, const std::string &message)\n"
     << "      : std::runtime_error(message), status_(status) {}\n"
     << "  int status() const noexcept { return status_; }\n\n"
     << "private:\n"
     << "  int status_;\n"
     << "};\n\n";
  os << "/// A loaded model; its methods are the entries of " << name << ".h.\n"
     << "class model {\n"
     << "public:\n"
     << "  /// Loads the weights (" << name << "_create); num_threads 0: one per CPU.\n"
     << (model.embeddedWeightsSize ? "  /// No path: the weights compiled into the library.\n" : "")
     << "  explicit model(const char *weights_path"
     << (model.embeddedWeightsSize ? " = nullptr" : "") << ", int32_t num_threads = 0) {\n"
     << "    " << name << "_options options{num_threads};\n"
     << "    int status = " << name << "_create(weights_path, &options, &handle_);\n"
     << "    if (status != " << NAME << "_OK)\n"
     << "      throw error(status, " << name << "_last_error(nullptr));\n"
     << "  }\n"
     << "  model(model &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}\n"
     << "  model &operator=(model &&other) noexcept {\n"
     << "    std::swap(handle_, other.handle_);\n"
     << "    return *this;\n"
     << "  }\n"
     << "  model(const model &) = delete;\n"
     << "  model &operator=(const model &) = delete;\n"
     << "  ~model() { " << name << "_destroy(handle_); }\n\n"
     << "  " << name << "_model *get() const noexcept { return handle_; }\n\n"
     << "  /// The parameters to a .safetensors file (" << name << "_save_weights).\n"
     << "  void save_weights(const char *path) { check(" << name
     << "_save_weights(handle_, path)); }\n";
  for (const EntrySpec &entry : model.entries) {
    if (entry.train)
      writeTrainMethods(os, name, NAME, entry);
    else
      writeInferenceMethod(os, name, NAME, entry);
  }
  os << "\nprivate:\n"
     << "  void check(int status) const {\n"
     << "    if (status != " << NAME << "_OK)\n"
     << "      throw error(status, " << name << "_last_error(handle_));\n"
     << "  }\n"
     << "  static void expect_size(const char *tensor, size_t got, size_t expected) {\n"
     << "    if (got != expected)\n"
     << "      throw error(" << NAME << "_ERROR_INVALID_ARGUMENT,\n"
     << "                  std::string(\"'\") + tensor + \"' has \" + std::to_string(got) +\n"
     << "                      \" elements, expected \" + std::to_string(expected));\n"
     << "  }\n\n"
     << "  " << name << "_model *handle_ = nullptr;\n"
     << "};\n\n";
  os << "} // namespace " << name << "\n\n#endif /* " << NAME << "_HPP */\n";
}

} // namespace kiln
