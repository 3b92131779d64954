//===- ModelInterface.cpp - What a compiled model exposes -----------------===//
#include "codegen/ModelInterface.h"

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/RuntimeKernels.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

std::string dtypeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF64())
    return "f64";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isInteger(64))
    return "i64";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(8))
    return "i8";
  if (type.isInteger(1))
    return "bool";
  return "";
}

std::string formatDims(const std::vector<Dim> &dims) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(dims)) {
    text += i ? ", " : "";
    if (auto *size = std::get_if<int64_t>(&dim))
      text += std::to_string(*size);
    else
      text += std::get<std::string>(dim);
  }
  return text + "]";
}

namespace {

/// Builds a TensorSpec from a tensor type and the `kiln.name`/`kiln.dims`
/// attributes the frontend put on an entry's argument or result.
FailureOr<TensorSpec> tensorSpec(Location loc, Type type, DictionaryAttr attrs,
                                 std::vector<std::string> &symbols) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return emitError(loc) << "entry tensors must be ranked tensors, got " << type;
  TensorSpec spec;
  spec.dtype = dtypeName(tensor.getElementType());
  if (spec.dtype.empty())
    return emitError(loc) << "no C type for element type " << tensor.getElementType();
  auto name = attrs ? attrs.getAs<StringAttr>(kArgNameAttrName) : nullptr;
  auto dims = attrs ? attrs.getAs<ArrayAttr>(kDimsAttrName) : nullptr;
  if (!name || !dims || static_cast<int64_t>(dims.size()) != tensor.getRank())
    return emitError(loc) << "entry tensor lacks kiln.name/kiln.dims of rank " << tensor.getRank();
  spec.name = name.str();
  for (auto [i, dim] : llvm::enumerate(dims)) {
    if (auto symbol = dyn_cast<StringAttr>(dim)) {
      if (!tensor.isDynamicDim(i))
        return emitError(loc) << "dim " << i << " of '" << spec.name
                              << "' is symbolic but static in the type";
      spec.dims.push_back(symbol.str());
      if (!llvm::is_contained(symbols, symbol.str()))
        symbols.push_back(symbol.str());
    } else if (auto size = dyn_cast<IntegerAttr>(dim)) {
      spec.dims.push_back(size.getInt());
    } else {
      return emitError(loc) << "bad kiln.dims entry " << dim;
    }
  }
  return spec;
}

llvm::json::Array dimsJson(const std::vector<Dim> &dims) {
  llvm::json::Array array;
  for (const Dim &dim : dims) {
    if (auto *size = std::get_if<int64_t>(&dim))
      array.push_back(*size);
    else
      array.push_back(std::get<std::string>(dim));
  }
  return array;
}

llvm::json::Array tensorsJson(const std::vector<TensorSpec> &tensors) {
  llvm::json::Array array;
  for (const TensorSpec &t : tensors) {
    llvm::json::Object object{{"name", t.name}, {"dtype", t.dtype}, {"shape", dimsJson(t.dims)}};
    if (t.classes)
      object["classes"] = *t.classes;
    array.push_back(std::move(object));
  }
  return array;
}

bool isSymbol(const Dim &dim, llvm::StringRef name) {
  auto *symbol = std::get_if<std::string>(&dim);
  return symbol && *symbol == name;
}

/// Checks the generation pair's shapes when both entries exist (docs/abi.md,
/// "Generation"); std::nullopt when the model has no such pair.
FailureOr<std::optional<GenerationSpec>> readGeneration(ModuleOp module,
                                                        const std::vector<EntrySpec> &entries) {
  auto find = [&](llvm::StringRef name) -> const EntrySpec * {
    for (const EntrySpec &entry : entries)
      if (entry.name == name)
        return &entry;
    return nullptr;
  };
  const EntrySpec *prefill = find("prefill"), *decode = find("decode_step");
  if (!prefill || !decode)
    return std::optional<GenerationSpec>();
  auto fail = [&](const llvm::Twine &why) {
    return emitError(module.getLoc(),
                     "entries 'prefill' and 'decode_step' make a generation pair, but ")
           << why
           << " (expected decode_step(tokens: i64[B, 1], positions: i64[B, 1], past: f32[T, "
              "...]) -> (logits: f32[B, V], present: f32[1, ...]) and prefill(...) -> (..., "
              "present: f32[P, ...]) with the same cache position `...`, which holds B once)";
  };
  if (decode->inputs.size() != 3 || decode->outputs.size() != 2 || decode->symbols.size() != 2)
    return fail("decode_step takes " + llvm::Twine(decode->inputs.size()) + " inputs, gives " +
                llvm::Twine(decode->outputs.size()) + " outputs and has " +
                llvm::Twine(decode->symbols.size()) + " symbolic dims");
  const TensorSpec &tokens = decode->inputs[0], &positions = decode->inputs[1];
  const TensorSpec &past = decode->inputs[2];
  if (past.dtype != "f32" || past.dims.size() < 2 ||
      !std::holds_alternative<std::string>(past.dims[0]))
    return fail("decode_step's past is " + past.dtype + formatDims(past.dims));
  std::string time = std::get<std::string>(past.dims[0]);
  std::vector<Dim> rest(past.dims.begin() + 1, past.dims.end());
  std::string batch;
  for (const Dim &dim : rest)
    if (auto *symbol = std::get_if<std::string>(&dim)) {
      if (!batch.empty() || *symbol == time)
        return fail("decode_step's past " + formatDims(past.dims) +
                    " has more symbols than T and B");
      batch = *symbol;
    }
  if (batch.empty())
    return fail("decode_step's past " + formatDims(past.dims) + " has no batch symbol");
  auto isBatchColumn = [&](const TensorSpec &t) {
    return t.dtype == "i64" && t.dims.size() == 2 && isSymbol(t.dims[0], batch) &&
           std::get_if<int64_t>(&t.dims[1]) && std::get<int64_t>(t.dims[1]) == 1;
  };
  if (!isBatchColumn(tokens) || !isBatchColumn(positions))
    return fail("decode_step's tokens and positions are " + tokens.dtype + formatDims(tokens.dims) +
                " and " + positions.dtype + formatDims(positions.dims));
  const TensorSpec &logits = decode->outputs[0], &present = decode->outputs[1];
  std::vector<Dim> step{int64_t(1)};
  step.insert(step.end(), rest.begin(), rest.end());
  if (logits.dtype != "f32" || logits.dims.size() != 2 || !isSymbol(logits.dims[0], batch) ||
      present.dtype != "f32" || present.dims != step)
    return fail("decode_step gives " + logits.dtype + formatDims(logits.dims) + " and " +
                present.dtype + formatDims(present.dims));
  const TensorSpec &filled = prefill->outputs.back();
  if (filled.dtype != "f32" || filled.dims.size() != past.dims.size() ||
      !std::equal(rest.begin(), rest.end(), filled.dims.begin() + 1))
    return fail("prefill's last output is " + filled.dtype + formatDims(filled.dims) +
                ", not the prompt's positions of " + formatDims(rest));
  GenerationSpec spec;
  spec.prefill = prefill - entries.data();
  spec.decode = decode - entries.data();
  for (const std::string &symbol : prefill->symbols)
    if (symbol != batch)
      spec.prefillDims.push_back(symbol);
  spec.batch = batch;
  spec.position = rest;
  return std::optional<GenerationSpec>(std::move(spec));
}

/// Reads a train entry's kiln.train attribute (MLIRGen's emitTrain) and
/// appends one gradient output per trained parameter to its loss.
LogicalResult readTrain(func::FuncOp func, const std::vector<TensorSpec> &params,
                        EntrySpec &entry) {
  auto attr = func->getAttrOfType<DictionaryAttr>(kTrainAttrName);
  auto trained = attr ? attr.getAs<ArrayAttr>("params") : nullptr;
  auto optimizer = attr ? attr.getAs<StringAttr>("optimizer") : nullptr;
  if (!trained || !optimizer)
    return func.emitError("train entry '") << entry.name << "' has a malformed kiln.train";
  if (entry.outputs.size() != 1 || entry.outputs[0].dtype != "f32" ||
      !entry.outputs[0].dims.empty())
    return func.emitError("train entry '") << entry.name << "' must return one f32 loss";
  TrainSpec train;
  train.optimizer = optimizer.str();
  for (NamedAttribute setting : attr) {
    auto value = dyn_cast<FloatAttr>(setting.getValue());
    if (!value)
      continue;
    if (setting.getName() == "clip_grad_norm")
      train.clipGradNorm = value.getValueAsDouble();
    else
      train.settings.push_back({setting.getName().str(), value.getValueAsDouble()});
  }
  for (auto path : trained.getAsRange<StringAttr>()) {
    auto it = llvm::find_if(params, [&](const TensorSpec &p) { return p.name == path.str(); });
    if (it == params.end())
      return func.emitError("train entry '") << entry.name << "' trains unknown '" << path << "'";
    if (it->dtype != "f32")
      return func.emitError("train entry '")
             << entry.name << "' trains '" << path << "', which is " << it->dtype
             << ": only f32 parameters train";
    int64_t numel = 1;
    for (const Dim &d : it->dims)
      numel *= std::get<int64_t>(d);
    train.params.push_back(it - params.begin());
    train.numGrads += numel;
    entry.outputs.push_back(TensorSpec{"grad." + it->name, "f32", it->dims, {}});
  }
  entry.train = std::move(train);
  return success();
}

} // namespace

FailureOr<ModelInterface> ModelInterface::fromKilnModule(ModuleOp module) {
  ModelInterface model;
  auto name = module->getAttrOfType<StringAttr>(kModelAttrName);
  if (!name)
    return module.emitError("module lacks the kiln.model attribute");
  model.modelName = name.str();

  for (auto param : module.getOps<ParameterOp>()) {
    auto type = cast<RankedTensorType>(param.getType());
    TensorSpec spec{param.getSymName().str(), dtypeName(type.getElementType()), {}, {}};
    for (int64_t d : type.getShape())
      spec.dims.push_back(d);
    model.params.push_back(std::move(spec));
  }

  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func->hasAttr(kEntryAttrName))
      continue;
    EntrySpec entry;
    entry.name = func.getSymName().str();
    FunctionType type = func.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      auto spec =
          tensorSpec(func.getLoc(), type.getInput(i), func.getArgAttrDict(i), entry.symbols);
      if (failed(spec))
        return failure();
      entry.inputs.push_back(std::move(*spec));
    }
    for (unsigned i = 0; i < type.getNumResults(); ++i) {
      auto spec =
          tensorSpec(func.getLoc(), type.getResult(i), func.getResultAttrDict(i), entry.symbols);
      if (failed(spec))
        return failure();
      entry.outputs.push_back(std::move(*spec));
    }
    if (func->hasAttr(kTrainAttrName) && failed(readTrain(func, model.params, entry)))
      return failure();
    model.entries.push_back(std::move(entry));
  }
  if (model.entries.empty())
    return module.emitError("the model has no entry (`export fn`)");
  FailureOr<std::optional<GenerationSpec>> generation = readGeneration(module, model.entries);
  if (failed(generation))
    return failure();
  model.generation = std::move(*generation);
  return model;
}

void ModelInterface::readClassInputs(ModuleOp module) {
  for (EntrySpec &entry : entries) {
    auto func = module.lookupSymbol<func::FuncOp>(entry.name);
    if (!func || func.isExternal())
      continue;
    func.walk([&](CrossEntropyOp op) {
      Value targets = op.getTargets();
      while (auto reshape = targets.getDefiningOp<ReshapeOp>())
        targets = reshape.getInput();
      auto arg = dyn_cast<BlockArgument>(targets);
      int64_t classes = cast<RankedTensorType>(op.getLogits().getType()).getShape().back();
      if (!arg || arg.getOwner() != &func.getBody().front() ||
          arg.getArgNumber() >= entry.inputs.size() || ShapedType::isDynamic(classes))
        return;
      std::optional<int64_t> &bound = entry.inputs[arg.getArgNumber()].classes;
      bound = bound ? std::min(*bound, classes) : classes;
    });
  }
}

namespace {
std::vector<ArenaTerm> readTerms(ArrayAttr terms) {
  std::vector<ArenaTerm> result;
  for (auto term : terms.getAsRange<DictionaryAttr>()) {
    ArenaTerm &arenaTerm = result.emplace_back();
    arenaTerm.coeff = term.getAs<IntegerAttr>("coeff").getInt();
    for (auto symbol : term.getAs<ArrayAttr>("symbols").getAsRange<StringAttr>())
      arenaTerm.symbols.push_back(symbol.str());
  }
  return result;
}

llvm::json::Array termsJson(const std::vector<ArenaTerm> &terms) {
  llvm::json::Array result;
  for (const ArenaTerm &term : terms) {
    llvm::json::Array symbols;
    for (const std::string &s : term.symbols)
      symbols.push_back(s);
    result.push_back(llvm::json::Object{{"coeff", term.coeff}, {"symbols", std::move(symbols)}});
  }
  return result;
}
} // namespace

LogicalResult ModelInterface::readArenaPlan(ModuleOp module) {
  for (EntrySpec &entry : entries) {
    auto func = module.lookupSymbol<func::FuncOp>(entry.name);
    auto terms = func ? func->getAttrOfType<ArrayAttr>("kiln.arena") : nullptr;
    if (!terms)
      return module.emitError("entry '") << entry.name << "' has no arena plan";
    entry.arena = readTerms(terms);
    if (!entry.train)
      continue;
    auto space = func->getAttrOfType<DictionaryAttr>("kiln.grad_space");
    auto births = space ? space.getAs<DenseI64ArrayAttr>("births") : nullptr;
    auto busy = space ? space.getAs<ArrayAttr>("busy") : nullptr;
    if (!births || !busy || births.size() != static_cast<int64_t>(entry.train->params.size()))
      return module.emitError("train entry '") << entry.name << "' has no gradient space";
    GradSpace &gradSpace = entry.train->gradSpace;
    gradSpace.births.assign(births.asArrayRef().begin(), births.asArrayRef().end());
    gradSpace.offsets.clear();
    if (auto offsets = space.getAs<DenseI64ArrayAttr>("offsets"))
      gradSpace.offsets.assign(offsets.asArrayRef().begin(), offsets.asArrayRef().end());
    gradSpace.busy.clear();
    for (auto span : busy.getAsRange<DictionaryAttr>())
      gradSpace.busy.push_back({readTerms(span.getAs<ArrayAttr>("offset")),
                                readTerms(span.getAs<ArrayAttr>("size")),
                                span.getAs<IntegerAttr>("last").getInt()});
  }
  return success();
}

namespace {
/// Which parameters a value of the bufferized module is: an entry's
/// parameter argument, or an argument of a function whose calls pass
/// parameters, followed up through them.
class ParamTracer {
public:
  ParamTracer(ModuleOp module, ArrayRef<TensorSpec> params) {
    for (auto [i, param] : llvm::enumerate(params))
      indexOf[param.name] = i;
    module.walk([&](func::CallOp call) { callers[call.getCallee()].push_back(call); });
  }

  /// Adds to `found` the parameters `value` is in some call; other values
  /// reaching it (an activation) add nothing.
  void trace(Value value, llvm::SetVector<unsigned> &found, unsigned depth = 0) const {
    while (Operation *def = value.getDefiningOp()) {
      if (def->getName().getStringRef() != "memref.cast")
        return;
      value = def->getOperand(0);
    }
    auto arg = dyn_cast<BlockArgument>(value);
    auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
    if (!func || arg.getOwner() != &func.getBody().front() || depth > kMaxCallDepth)
      return;
    // An entry's parameter arguments name the model's parameters; a method
    // function's name its module's own (`weight`), bound by its callers.
    if (func->hasAttr(kEntryAttrName)) {
      auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kParamAttrName);
      if (auto it = name ? indexOf.find(name.getValue()) : indexOf.end(); it != indexOf.end())
        found.insert(it->second);
      return;
    }
    auto calls = callers.find(func.getSymName());
    if (calls == callers.end())
      return;
    for (func::CallOp call : calls->second)
      trace(call.getOperand(arg.getArgNumber()), found, depth + 1);
  }

private:
  static constexpr unsigned kMaxCallDepth = 32;
  llvm::StringMap<unsigned> indexOf;
  llvm::StringMap<SmallVector<func::CallOp>> callers;
};
} // namespace

void ModelInterface::readPreparedKernels(ModuleOp module) {
  prepared.clear();
  // Weights are packed once only where nothing updates them (the runtime
  // registers them at create for a model without train entries).
  bool trains = llvm::any_of(entries, [](const EntrySpec &entry) { return entry.train; });
  ParamTracer tracer(module, params);
  auto add = [&](PreparedKernel kernel) {
    if (!llvm::is_contained(prepared, kernel))
      prepared.push_back(std::move(kernel));
  };
  module.walk([&](Operation *op) {
    if (op->getName().getStringRef() != "kiln.kernel")
      return;
    auto callee = op->getAttrOfType<FlatSymbolRefAttr>("callee");
    const RuntimeKernel *runtimeKernel = callee ? lookupRuntimeKernel(callee.getValue()) : nullptr;
    if (!runtimeKernel || !(runtimeKernel->preparable || runtimeKernel->packsWeights) ||
        (runtimeKernel->packsWeights && trains))
      return;
    PreparedKernel kernel{callee.getValue().str(), {}, {}, std::nullopt};
    for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
      auto type = dyn_cast<MemRefType>(operand.getType());
      bool packedWeight = runtimeKernel->packsWeights && i == 1;
      if (!type || ((runtimeKernel->preparable || packedWeight) &&
                    (!type.hasStaticShape() || !type.getLayout().isIdentity())))
        return; // sized or laid out at call time: made on the first call
      // A packing kernel reads only its weight's shape when it prepares: the
      // other operands' symbolic dims are given as 1.
      SmallVector<int64_t> shape(type.getShape());
      for (int64_t &size : shape)
        size = ShapedType::isDynamic(size) ? 1 : size;
      kernel.operandShapes.emplace_back(shape.begin(), shape.end());
    }
    if (auto scalars = op->getAttrOfType<ArrayAttr>("scalars"))
      for (Attribute scalar : scalars) {
        if (auto integer = dyn_cast<IntegerAttr>(scalar))
          kernel.scalars.push_back(integer.getInt());
        else if (auto real = dyn_cast<FloatAttr>(scalar))
          kernel.scalars.push_back(real.getValueAsDouble());
      }
    if (!runtimeKernel->packsWeights)
      return add(std::move(kernel));
    llvm::SetVector<unsigned> weights;
    tracer.trace(op->getOperand(1), weights);
    for (unsigned param : weights) {
      kernel.weightParam = param;
      add(kernel);
    }
  });
}

std::string ModelInterface::manifestJson() const {
  llvm::json::Array entriesJson;
  for (const EntrySpec &entry : entries) {
    llvm::json::Array symbols;
    for (const std::string &s : entry.symbols)
      symbols.push_back(s);
    llvm::json::Object entryJson{{"name", entry.name},
                                 {"symbols", std::move(symbols)},
                                 {"inputs", tensorsJson(entry.inputs)},
                                 {"outputs", tensorsJson(entry.outputs)},
                                 {"arena", termsJson(entry.arena)}};
    if (const std::optional<TrainSpec> &train = entry.train) {
      llvm::json::Object settings;
      for (const auto &[key, value] : train->settings)
        settings[key] = value;
      llvm::json::Array params;
      for (unsigned index : train->params)
        params.push_back(static_cast<int64_t>(index));
      llvm::json::Array busy;
      for (const ArenaSpan &span : train->gradSpace.busy)
        busy.push_back(llvm::json::Object{{"offset", termsJson(span.offset)},
                                          {"size", termsJson(span.size)},
                                          {"last", span.last}});
      llvm::json::Object gradSpace{{"births", llvm::json::Array(train->gradSpace.births)},
                                   {"busy", std::move(busy)}};
      if (!train->gradSpace.offsets.empty())
        gradSpace["offsets"] = llvm::json::Array(train->gradSpace.offsets);
      entryJson["train"] = llvm::json::Object{
          {"optimizer", train->optimizer},
          {"settings", std::move(settings)},
          {"clip_grad_norm", train->clipGradNorm.value_or(0.0)},
          {"params", std::move(params)},
          {"grad_space", std::move(gradSpace)}};
    }
    entriesJson.push_back(std::move(entryJson));
  }
  llvm::json::Array preparedJson;
  for (const PreparedKernel &kernel : prepared) {
    llvm::json::Array operands, scalars;
    for (auto [i, shape] : llvm::enumerate(kernel.operandShapes))
      operands.push_back(llvm::json::Object{{"name", std::to_string(i)},
                                            {"dtype", "f32"},
                                            {"shape", llvm::json::Array(shape)}});
    for (const auto &scalar : kernel.scalars)
      std::visit([&](auto value) { scalars.push_back(value); }, scalar);
    llvm::json::Object kernelJson{{"kernel", kernel.kernel},
                                  {"operands", std::move(operands)},
                                  {"scalars", std::move(scalars)}};
    if (kernel.weightParam)
      kernelJson["weight"] =
          llvm::json::Object{{"operand", 1}, {"param", static_cast<int64_t>(*kernel.weightParam)}};
    preparedJson.push_back(std::move(kernelJson));
  }
  llvm::json::Value manifest = llvm::json::Object{{"model", modelName},
                                                  {"params", tensorsJson(params)},
                                                  {"entries", std::move(entriesJson)},
                                                  {"prepare", std::move(preparedJson)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << manifest;
  return text;
}

} // namespace kiln
