//===- Autodiff.cpp - Reverse-mode differentiation of train entries -------===//
//
// A train entry's body computes a loss from inputs and parameters. The
// backward pass is appended to the same body: ops are visited in reverse,
// each asked for its operands' cotangents (DifferentiableOpInterface), and
// cotangents reaching one value are summed. Only "varied" values, those that
// depend on a trained parameter, carry cotangents. A call of a method
// function becomes, in the backward pass, a call of its backward function
// (Passes.td says what that takes and returns). A backward function computes
// its callee's forward again, so calls of functions that call functions are
// first inlined into the entry (see inlineContainers).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Inliner.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_KILNAUTODIFF
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool isFloatTensor(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && isa<FloatType>(type.getElementType());
}

/// The values of a body that depend on `seeds`, in a forward walk.
DenseSet<Value> findVaried(Block &body, ArrayRef<Value> seeds) {
  DenseSet<Value> varied(seeds.begin(), seeds.end());
  for (Operation &op : body.without_terminator()) {
    if (llvm::none_of(op.getOperands(), [&](Value v) { return varied.contains(v); }))
      continue;
    for (Value result : op.getResults())
      if (isFloatTensor(result))
        varied.insert(result);
  }
  return varied;
}

/// Zeros of `value`'s type, for a cotangent that never received a term.
Value zerosLike(OpBuilder &b, Location loc, Value value) {
  return FullLikeOp::create(b, loc, value.getType(), value, b.getF64FloatAttr(0.0));
}

/// `grad` with exactly `type`: cotangents may be more static than the value.
Value castTo(OpBuilder &b, Location loc, Value grad, Type type) {
  if (grad.getType() == type)
    return grad;
  return tensor::CastOp::create(b, loc, type, grad);
}

/// Elementwise ops cheap enough to run twice rather than keep their result.
bool isCheapElementwise(Operation *op) {
  return isa<GeluOp, ReluOp, SigmoidOp, TanhOp, ExpOp, ErfOp, NegOp, AbsOp, AddOp, SubOp, MulOp>(
      op);
}

/// Forward values the backward reads again that a cheap elementwise op makes
/// from values the backward has anyway (gelu(h), whose rule reads h; SwiGLU's
/// sigmoid(gate), gate * sigmoid(gate) and its product with up) are computed
/// again right before their first backward read: the forward's copies are
/// then free after their last forward reader instead of living through the
/// backward, a buffer less at the peak for each.
void recomputeCheapValues(Block &body, ArrayRef<Operation *> forward) {
  Operation *firstBackward = forward.empty() ? &body.front() : forward.back()->getNextNode();
  if (firstBackward == body.getTerminator())
    return;
  // Program order from one numbering (isBeforeInBlock would renumber the
  // block after every insertion): a copy is placed right before an op of the
  // backward, its anchor, and ordered by that op's position.
  DenseMap<Operation *, unsigned> position, anchor;
  for (auto [i, op] : llvm::enumerate(body))
    position[&op] = i;
  unsigned backwardStart = position.lookup(firstBackward);
  auto positionOf = [&](Operation *op) {
    auto it = anchor.find(op);
    return it != anchor.end() ? it->second : position.lookup(op);
  };
  auto inBackward = [&](Operation *user) {
    Operation *ancestor = body.findAncestorOpInBlock(*user);
    return ancestor && positionOf(ancestor) >= backwardStart;
  };
  // The backward's own copy of each value computed again.
  DenseMap<Value, Value> again;
  // What the backward can read at no cost in memory: what it reads anyway,
  // arguments, constants and parameters, and the copies above.
  auto free = [&](Value value) {
    if (again.count(value) || isa<BlockArgument>(value))
      return true;
    Operation *producer = value.getDefiningOp();
    if (producer && (producer->hasTrait<OpTrait::ConstantLike>() || isa<ParamOp>(producer)))
      return true;
    return llvm::any_of(value.getUsers(), inBackward);
  };
  // A copy goes before its first reader; one it reads that was placed later
  // (for a later first reader of its own) moves up before it.
  std::function<void(Value, Operation *)> hoistBefore = [&](Value value, Operation *point) {
    Operation *producer = value.getDefiningOp();
    if (!producer || !anchor.count(producer) || anchor[producer] <= position.lookup(point))
      return;
    for (Value operand : producer->getOperands())
      hoistBefore(operand, point);
    producer->moveBefore(point);
    anchor[producer] = position.lookup(point);
  };
  // The forward's ops as listed before any copy went in (a copy may land
  // right before the first op of the backward, where a walk would meet it).
  for (Operation *forwardOp : forward) {
    Operation &op = *forwardOp;
    if (!isCheapElementwise(&op) || !llvm::all_of(op.getOperands(), free))
      continue;
    SmallVector<OpOperand *> backwardReads;
    Operation *first = nullptr;
    for (OpOperand &use : op.getResult(0).getUses()) {
      if (!inBackward(use.getOwner()))
        continue;
      backwardReads.push_back(&use);
      Operation *user = body.findAncestorOpInBlock(*use.getOwner());
      if (!first || positionOf(user) < positionOf(first))
        first = user;
    }
    if (backwardReads.empty())
      continue;
    // Readers are ops of the backward as the rules built it (a copy reads
    // only the copies of earlier ops), so `first` has a position.
    IRMapping copies;
    for (Value operand : op.getOperands())
      if (Value copy = again.lookup(operand)) {
        hoistBefore(copy, first);
        copies.map(operand, copy);
      }
    OpBuilder b(first);
    Operation *clone = b.clone(op, copies);
    anchor[clone] = position.lookup(first);
    again[op.getResult(0)] = clone->getResult(0);
    for (OpOperand *use : backwardReads)
      use->set(clone->getResult(0));
  }
}

class Differentiator {
public:
  explicit Differentiator(ModuleOp module) : module(module), symbols(module) {}

  /// Differentiates the train entry `func` with respect to the parameters
  /// its `kiln.train` attribute lists.
  LogicalResult differentiateEntry(func::FuncOp func);

private:
  /// Inlines into `entry` each call of a function that calls functions
  /// itself, when the entry calls it once. Its backward function would
  /// compute its forward again, and with it every callee's, whose own
  /// backward functions compute theirs once more: a loss calling a model
  /// calling its blocks ran the blocks' forward three times a step. Inlined,
  /// the entry's backward reads the entry's forward, and only the functions
  /// that call none (a block) are computed again, by their backward
  /// functions: checkpointing at their calls. A function called more than
  /// once stays a call, so that its body is not copied per call.
  LogicalResult inlineContainers(func::FuncOp entry);

  /// Appends to `body` (before its terminator) the backward pass from the
  /// cotangents in `cotangents`, which it extends to every varied value,
  /// then computes cheap values again there (recomputeCheapValues).
  LogicalResult backprop(Block &body, const DenseSet<Value> &varied,
                         DenseMap<Value, Value> &cotangents);
  LogicalResult backpropCall(OpBuilder &b, func::CallOp call, ArrayRef<Value> resultGrads,
                             const DenseSet<Value> &varied, DenseMap<Value, Value> &cotangents);
  /// The backward function of `callee` for the arguments marked in `wanted`.
  FailureOr<func::FuncOp> getBackwardFunction(func::FuncOp callee, ArrayRef<bool> wanted);

  static void accumulate(OpBuilder &b, Location loc, DenseMap<Value, Value> &cotangents,
                         Value value, Value grad) {
    Value &slot = cotangents[value];
    if (!slot) {
      slot = grad;
      return;
    }
    slot = AddOp::create(b, loc, slot.getType(), slot, castTo(b, loc, grad, slot.getType()));
  }

  ModuleOp module;
  SymbolTable symbols;
  llvm::StringMap<func::FuncOp> backwardFunctions;
};

LogicalResult Differentiator::backprop(Block &body, const DenseSet<Value> &varied,
                                       DenseMap<Value, Value> &cotangents) {
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  OpBuilder b(body.getTerminator());
  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value, 2> resultGrads;
    bool any = false;
    for (Value result : op->getResults()) {
      Value grad = varied.contains(result) ? cotangents.lookup(result) : Value();
      resultGrads.push_back(grad);
      any |= bool(grad);
    }
    // Leaves (a parameter read, a constant) end the walk.
    if (!any || op->getNumOperands() == 0)
      continue;
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (failed(backpropCall(b, call, resultGrads, varied, cotangents)))
        return failure();
      continue;
    }
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError("has no gradient rule, and a trained parameter flows into it");
    SmallVector<Value, 4> operandGrads;
    if (failed(differentiable.buildVjp(b, resultGrads, operandGrads)))
      return failure();
    for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads))
      if (grad && varied.contains(operand))
        accumulate(b, op->getLoc(), cotangents, operand, grad);
  }
  recomputeCheapValues(body, forward);
  return success();
}

LogicalResult Differentiator::backpropCall(OpBuilder &b, func::CallOp call,
                                           ArrayRef<Value> resultGrads,
                                           const DenseSet<Value> &varied,
                                           DenseMap<Value, Value> &cotangents) {
  auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
  if (!callee || callee.isExternal())
    return call.emitOpError("calls '")
           << call.getCallee() << "', which has no body to differentiate";
  SmallVector<bool> wanted;
  for (Value arg : call.getOperands())
    wanted.push_back(varied.contains(arg) && isFloatTensor(arg));
  FailureOr<func::FuncOp> backward = getBackwardFunction(callee, wanted);
  if (failed(backward))
    return failure();
  SmallVector<Value> operands(call.getOperands());
  for (auto [result, grad] : llvm::zip(call.getResults(), resultGrads))
    if (isFloatTensor(result))
      operands.push_back(grad ? castTo(b, call.getLoc(), grad, result.getType())
                              : zerosLike(b, call.getLoc(), result));
  auto backwardCall = func::CallOp::create(b, call.getLoc(), *backward, operands);
  unsigned next = 0;
  for (auto [arg, want] : llvm::zip(call.getOperands(), wanted))
    if (want)
      accumulate(b, call.getLoc(), cotangents, arg, backwardCall.getResult(next++));
  return success();
}

FailureOr<func::FuncOp> Differentiator::getBackwardFunction(func::FuncOp callee,
                                                            ArrayRef<bool> wanted) {
  std::string name = (callee.getSymName() + ".vjp").str();
  bool all = true;
  for (auto [arg, want] : llvm::zip(callee.getArguments(), wanted))
    all &= want || !isFloatTensor(arg);
  if (!all) {
    name += ".";
    for (bool want : wanted)
      name += want ? '1' : '0';
  }
  if (func::FuncOp existing = backwardFunctions.lookup(name))
    return existing;

  // (arguments, cotangents of float results) -> cotangents of wanted arguments.
  MLIRContext *context = module.getContext();
  SmallVector<Type> argTypes(callee.getArgumentTypes()), resultTypes;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  for (unsigned i = 0; i < callee.getNumArguments(); ++i)
    argAttrs.push_back(callee.getArgAttrDict(i) ? callee.getArgAttrDict(i)
                                                : DictionaryAttr::get(context));
  /// Only the dims travel to a cotangent: it is not a parameter or a name.
  auto dimsOnly = [&](DictionaryAttr attrs) {
    SmallVector<NamedAttribute> kept;
    if (attrs)
      if (Attribute dims = attrs.get(kDimsAttrName))
        kept.push_back(NamedAttribute(StringAttr::get(context, kDimsAttrName), dims));
    return DictionaryAttr::get(context, kept);
  };
  for (unsigned i = 0; i < callee.getNumResults(); ++i)
    if (isa<FloatType>(cast<RankedTensorType>(callee.getResultTypes()[i]).getElementType())) {
      argTypes.push_back(callee.getResultTypes()[i]);
      argAttrs.push_back(dimsOnly(callee.getResultAttrDict(i)));
    }
  for (auto [i, want] : llvm::enumerate(wanted))
    if (want) {
      resultTypes.push_back(callee.getArgumentTypes()[i]);
      resultAttrs.push_back(dimsOnly(callee.getArgAttrDict(i)));
    }

  OpBuilder b(context);
  b.setInsertionPointAfter(callee);
  auto backward =
      func::FuncOp::create(b, callee.getLoc(), name, b.getFunctionType(argTypes, resultTypes));
  backward.setPrivate();
  backward.setAllArgAttrs(argAttrs);
  backward.setAllResultAttrs(resultAttrs);
  symbols.insert(backward);
  backwardFunctions[name] = backward;

  // The callee's forward ops, recomputed.
  Block *body = backward.addEntryBlock();
  IRMapping mapping;
  for (unsigned i = 0; i < callee.getNumArguments(); ++i)
    mapping.map(callee.getArgument(i), body->getArgument(i));
  b.setInsertionPointToStart(body);
  Block &calleeBody = callee.getBody().front();
  for (Operation &op : calleeBody.without_terminator())
    b.clone(op, mapping);
  auto ret = func::ReturnOp::create(b, callee.getLoc(), ValueRange{});

  SmallVector<Value> seeds;
  for (auto [i, want] : llvm::enumerate(wanted))
    if (want)
      seeds.push_back(body->getArgument(i));
  DenseSet<Value> varied = findVaried(*body, seeds);
  DenseMap<Value, Value> cotangents;
  unsigned nextGrad = callee.getNumArguments();
  for (Value result : calleeBody.getTerminator()->getOperands()) {
    if (!isFloatTensor(result))
      continue;
    Value value = mapping.lookupOrDefault(result);
    Value grad = body->getArgument(nextGrad++);
    if (varied.contains(value))
      accumulate(b, callee.getLoc(), cotangents, value, grad);
  }
  if (failed(backprop(*body, varied, cotangents)))
    return failure();

  b.setInsertionPoint(ret);
  SmallVector<Value> grads;
  for (auto [i, want] : llvm::enumerate(wanted)) {
    if (!want)
      continue;
    Value arg = body->getArgument(i);
    Value grad = cotangents.lookup(arg);
    grads.push_back(grad ? castTo(b, callee.getLoc(), grad, arg.getType())
                         : zerosLike(b, callee.getLoc(), arg));
  }
  ret->setOperands(grads);
  return backward;
}

LogicalResult Differentiator::inlineContainers(func::FuncOp entry) {
  InlinerInterface interface(module.getContext());
  InlinerConfig config;
  auto callsFunctions = [](func::FuncOp func) {
    return func.walk([](func::CallOp) { return WalkResult::interrupt(); }).wasInterrupted();
  };
  for (bool changed = true; changed;) {
    changed = false;
    llvm::StringMap<SmallVector<func::CallOp, 1>> calls;
    entry.walk([&](func::CallOp call) { calls[call.getCallee()].push_back(call); });
    for (auto &[name, sites] : calls) {
      auto callee = symbols.lookup<func::FuncOp>(name);
      if (sites.size() != 1 || !callee || callee.isExternal() || !callsFunctions(callee))
        continue;
      if (failed(inlineCall(interface, config.getCloneCallback(), sites[0], callee,
                            &callee.getBody())))
        return sites[0].emitError("cannot inline '") << name << "' to differentiate it";
      sites[0].erase();
      // The loss function goes once every train entry has its copy.
      if (callee.isPrivate() && SymbolTable::symbolKnownUseEmpty(callee, module))
        symbols.erase(callee);
      changed = true;
    }
  }
  return success();
}

LogicalResult Differentiator::differentiateEntry(func::FuncOp func) {
  auto train = func->getAttrOfType<DictionaryAttr>(kTrainAttrName);
  auto params = train ? train.getAs<ArrayAttr>("params") : ArrayAttr();
  if (!params)
    return func.emitOpError("'") << kTrainAttrName << "' must be a dictionary with 'params'";
  if (func.getNumResults() != 1 ||
      func.getResultTypes()[0] != RankedTensorType::get({}, Float32Type::get(func.getContext())))
    return func.emitOpError("a train entry must return one f32 loss");
  if (failed(inlineContainers(func)))
    return failure();
  Block &body = func.getBody().front();

  // Seeds: every read of a trained parameter.
  llvm::StringSet<> trained;
  for (Attribute param : params)
    trained.insert(cast<StringAttr>(param).getValue());
  SmallVector<Value> seeds;
  func.walk([&](ParamOp read) {
    if (trained.contains(read.getName()))
      seeds.push_back(read.getResult());
  });
  DenseSet<Value> varied = findVaried(body, seeds);
  if (auto frozen = train.getAs<ArrayAttr>("frozen")) {
    llvm::StringSet<> read;
    func.walk([&](ParamOp op) { read.insert(op.getName()); });
    for (Attribute path : frozen)
      if (!read.contains(cast<StringAttr>(path).getValue()))
        func.emitWarning("parameter '")
            << cast<StringAttr>(path).getValue()
            << "' is frozen, but the loss does not read it: it would get no gradient anyway";
  }

  Operation *ret = body.getTerminator();
  Value loss = ret->getOperand(0);
  OpBuilder b(ret);
  DenseMap<Value, Value> cotangents;
  if (varied.contains(loss)) {
    auto type = cast<RankedTensorType>(loss.getType());
    Attribute one = FloatAttr::get(type.getElementType(), 1.0);
    cotangents[loss] =
        arith::ConstantOp::create(b, func.getLoc(), DenseElementsAttr::get(type, one));
  }
  if (failed(backprop(body, varied, cotangents)))
    return failure();

  // One gradient per trained parameter, summed over its reads.
  b.setInsertionPoint(ret);
  SmallVector<Value> results = {loss};
  for (Attribute param : params) {
    StringRef path = cast<StringAttr>(param).getValue();
    auto decl = symbols.lookup<ParameterOp>(path);
    if (!decl)
      return func.emitOpError("trains '") << path << "', which is not a declared parameter";
    Value grad;
    for (Value seed : seeds)
      if (cast<ParamOp>(seed.getDefiningOp()).getName() == path)
        if (Value g = cotangents.lookup(seed))
          grad = grad ? AddOp::create(b, func.getLoc(), g.getType(), grad, g).getResult() : g;
    if (!grad) {
      func.emitWarning("parameter '") << path
                                      << "' is trained but the loss does not depend on it: its "
                                         "gradient is zero";
      Value read = ParamOp::create(b, func.getLoc(), decl.getType(), path);
      grad = zerosLike(b, func.getLoc(), read);
    }
    results.push_back(castTo(b, func.getLoc(), grad, decl.getType()));
  }
  ret->setOperands(results);

  // The new signature: the loss keeps its attributes; gradients name theirs.
  MLIRContext *context = func.getContext();
  SmallVector<DictionaryAttr> resultAttrs = {
      func.getResultAttrDict(0) ? func.getResultAttrDict(0) : DictionaryAttr::get(context)};
  for (Attribute param : params) {
    auto type = cast<RankedTensorType>(
        symbols.lookup<ParameterOp>(cast<StringAttr>(param).getValue()).getType());
    SmallVector<Attribute> dims;
    for (int64_t d : type.getShape())
      dims.push_back(IntegerAttr::get(IntegerType::get(context, 64), d));
    NamedAttrList attrs;
    attrs.set(kGradAttrName, param);
    attrs.set(kArgNameAttrName,
              StringAttr::get(context, "grad." + cast<StringAttr>(param).getValue()));
    attrs.set(kDimsAttrName, ArrayAttr::get(context, dims));
    resultAttrs.push_back(attrs.getDictionary(context));
  }
  func.setFunctionType(
      FunctionType::get(context, func.getArgumentTypes(), ValueRange(results).getTypes()));
  func.setAllResultAttrs(resultAttrs);
  return success();
}

struct AutodiffPass : impl::KilnAutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entries;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kTrainAttrName))
        entries.push_back(func);
    if (entries.empty())
      return;
    Differentiator differentiator(module);
    for (func::FuncOp func : entries)
      if (failed(differentiator.differentiateEntry(func)))
        return signalPassFailure();
    foldTransposes(module);
  }

  /// The rules transpose freely (a weight's cotangent is the transpose of
  /// x^T @ g, the transpose's input gets the transpose of its result's):
  /// the backward code's transposes of transposes and of matmul results are
  /// folded (KilnCanonicalize.cpp), so that no transposed copy of a weight
  /// or its gradient is made. Constants stay where the rules put them.
  void foldTransposes(ModuleOp module) {
    RewritePatternSet patterns(&getContext());
    TransposeOp::getCanonicalizationPatterns(patterns, &getContext());
    FrozenRewritePatternSet frozen(std::move(patterns));
    GreedyRewriteConfig config;
    config.enableConstantCSE(false);
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kTrainAttrName) || func.getSymName().contains(".vjp"))
        (void)applyPatternsGreedily(func, frozen, config);
  }
};

} // namespace
} // namespace kiln
