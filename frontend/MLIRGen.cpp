//===- MLIRGen.cpp - Checks shapes and emits the kiln dialect -------------===//
//
// Model structure, entries, statements, names and method calls. The type
// rules of operators and builtins are in OpGen.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"

#include "dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

/// Expression evaluations allowed in one compilation: a bound on the work a
/// pathological model can cause; real models stay far below this.
static constexpr uint64_t kMaxWork = 2000000;

/// Emission and checking recurse along call chains.
static constexpr size_t kMaxFrames = 100;

/// Leading dims of a method with `...`, named so that messages can show
/// them; their rank is bounded by the 16 dims a type may have.
static constexpr unsigned kMaxLeadingRank = 16;
static StringRef getLeadingSymbol(unsigned i) {
  static const char *const kNames[kMaxLeadingRank] = {
      "...0", "...1", "...2",  "...3",  "...4",  "...5",  "...6",  "...7",
      "...8", "...9", "...10", "...11", "...12", "...13", "...14", "...15"};
  return kNames[i];
}

MLIRGen::MLIRGen(mlir::MLIRContext &context, Diagnostics &diags)
    : context(context), diags(diags), builder(&context) {}

mlir::Location MLIRGen::getLoc(SMLoc loc) {
  llvm::SourceMgr &sourceMgr = diags.getSourceMgr();
  auto [line, col] = sourceMgr.getLineAndColumn(loc);
  // Imported files have their own buffers: name the one `loc` is in.
  StringRef fileName = diags.getFileName();
  if (unsigned id = sourceMgr.FindBufferContainingLoc(loc))
    fileName = sourceMgr.getMemoryBuffer(id)->getBufferIdentifier();
  return mlir::FileLineColLoc::get(&context, fileName, line, col);
}

/// Replaces bound symbols; unbound ones keep their names.
static TensorType substituteWith(const TensorType &type, const llvm::StringMap<Dim> &symbols) {
  TensorType result = type;
  for (Dim &dim : result.dims)
    if (dim.isSymbolic()) {
      auto it = symbols.find(dim.symbol);
      if (it != symbols.end())
        dim = it->second;
    }
  return result;
}

TensorType MLIRGen::substitute(const TensorType &type) const {
  return substituteWith(type, frames.back()->symbols);
}

/// Matches a callee's declared type against an argument's type, binding the
/// callee's symbols. A static declared dim needs the same static size: a
/// caller's symbol could be anything.
static bool unify(const TensorType &declared, const TensorType &actual,
                  llvm::StringMap<Dim> &bindings) {
  if (declared.element != actual.element || declared.getRank() != actual.getRank())
    return false;
  for (auto [d, a] : llvm::zip(declared.dims, actual.dims)) {
    if (!d.isSymbolic()) {
      if (d != a)
        return false;
      continue;
    }
    auto [it, inserted] = bindings.try_emplace(d.symbol, a);
    if (!inserted && it->second != a)
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

mlir::OwningOpRef<mlir::ModuleOp> MLIRGen::emitModel(const ModuleDecl &top,
                                                     const Settings &settings,
                                                     StringRef modelName) {
  unsigned errorsBefore = diags.getNumErrors();
  std::unique_ptr<Instance> root = instantiate(top, settings, diags);
  if (!root)
    return nullptr;

  // Check every method of every instance first, sub-modules before their
  // users: errors come in roughly source order, each with the instance it
  // was found in, and methods no entry reaches are checked too.
  checkAllMethods(*root);
  if (diags.getNumErrors() != errorsBefore)
    return nullptr;

  // Everything checked: emission cannot fail from here on.
  mlir::OwningOpRef<mlir::ModuleOp> owned = mlir::ModuleOp::create(getLoc(top.getLoc()));
  module = *owned;
  module->setAttr(kModelAttrName, builder.getStringAttr(modelName));
  builder.setInsertionPointToEnd(module.getBody());
  emitParameters(*root);
  for (const auto &member : top.getMembers()) {
    auto *fn = llvm::dyn_cast<FnDecl>(member.get());
    if (fn && fn->isExport())
      emitEntry(*root, *fn, fn->getName());
    if (auto *train = llvm::dyn_cast<TrainDecl>(member.get()))
      emitTrain(*root, *train);
  }
  if (diags.getNumErrors() != errorsBefore)
    return nullptr;
  // The frontend's checks should make this unreachable; if not, MLIR's
  // diagnostic names the op and the rule, and we fail rather than emit it.
  if (mlir::failed(mlir::verify(*owned)))
    return nullptr;
  return owned;
}

void MLIRGen::emitParameters(const Instance &root) {
  llvm::SmallVector<const InstanceParam *> params;
  root.collectParams(params);
  for (const InstanceParam *param : params)
    if (param->type) {
      // Named by its path: later stages' messages say which weight.
      mlir::Location loc =
          mlir::NameLoc::get(builder.getStringAttr(param->path), getLoc(param->decl->getLoc()));
      ParameterOp::create(builder, loc, param->path, param->type->toMLIR(&context));
    }
}

const Signature *MLIRGen::getSignature(const Instance &instance, const FnDecl &fn,
                                       std::optional<unsigned> leadingRank) {
  std::string key = instance.getKey() + "::" + fn.getName().str();
  if (leadingRank) {
    // Expand the declared signature: `...` becomes `...0, ...1`.
    const Signature *generic = getSignature(instance, fn);
    if (!generic)
      return nullptr;
    std::string expandedKey = key + "#" + std::to_string(*leadingRank);
    auto it = signatures.find(expandedKey);
    if (it != signatures.end())
      return it->second ? &*it->second : nullptr;
    Signature expanded = *generic;
    expanded.leadingRank = leadingRank;
    llvm::SmallVector<Dim, 4> leading;
    for (unsigned i = 0; i < *leadingRank; ++i)
      leading.push_back(Dim::getSymbol(getLeadingSymbol(i)));
    for (auto [type, has] : llvm::zip(expanded.args, expanded.argHasEllipsis))
      if (has)
        type.dims.insert(type.dims.begin(), leading.begin(), leading.end());
    for (auto [type, has] : llvm::zip(expanded.results, expanded.resultHasEllipsis))
      if (has)
        type.dims.insert(type.dims.begin(), leading.begin(), leading.end());
    auto &slot = signatures[expandedKey];
    slot = std::move(expanded);
    return &*slot;
  }
  auto it = signatures.find(key);
  if (it != signatures.end())
    return it->second ? &*it->second : nullptr;

  std::optional<DiagnosticContext> instanceNote;
  if (const InstanceDecl *decl = instance.getDeclaredBy())
    instanceNote.emplace(diags, decl->getLoc(), instance.describe());
  Signature signature;
  bool ok = true;
  auto evaluate = [&](const TypeAST &type, auto &out, auto &hasEllipsis) {
    hasEllipsis.push_back(type.hasEllipsis());
    if (auto evaluated = evaluateType(type, instance.getCtorValues(), diags))
      out.push_back(std::move(*evaluated));
    else
      ok = false;
  };
  for (const FnArg &arg : fn.getArgs())
    evaluate(arg.type, signature.args, signature.argHasEllipsis);
  for (const TypeAST &result : fn.getResults())
    evaluate(result, signature.results, signature.resultHasEllipsis);
  auto &slot = signatures[key];
  if (ok)
    slot = std::move(signature);
  return slot ? &*slot : nullptr;
}

const Instance *MLIRGen::walkInstances(llvm::ArrayRef<InstanceStep> steps, SMLoc loc) {
  const Instance *current = frame().instance;
  for (const InstanceStep &step : steps) {
    if (!current)
      return nullptr;
    if (!step.decl->isList()) {
      current = current->getChild(step.decl);
      continue;
    }
    llvm::ArrayRef<Instance *> elements = current->getListElements(step.decl);
    int64_t index = 0;
    SMLoc indexLoc = loc;
    if (step.loop) {
      index = frame().loopIndex.lookup(step.loop);
    } else if (step.index) {
      // The index is written in the frame's module, over its arguments.
      auto value = evaluateStaticInt(*step.index, frame().instance->getCtorValues(), diags);
      if (!value)
        return nullptr;
      index = *value;
      indexLoc = step.index->getStartLoc();
    }
    // Negative indices count from the back, as in Python.
    int64_t size = elements.size();
    int64_t resolved = index < 0 ? index + size : index;
    if (resolved < 0 || resolved >= size) {
      diags.error(indexLoc, "index " + Twine(index) + " is out of range for '" +
                                step.decl->getName() + "', a list of " + Twine(size) +
                                (size == 1 ? " module" : " modules"));
      diags.note(step.decl->getLoc(), "'" + step.decl->getName() + "' declared here");
      return nullptr;
    }
    current = elements[resolved];
  }
  return current;
}

MLIRGen::Frame MLIRGen::makeOwnFrame(const Instance &instance, const FnDecl &fn,
                                     const Signature &signature, mlir::Block &entry,
                                     FrameKind kind) {
  Frame frame{&instance, &fn, &signature, {}, {}, kind};
  // Its symbols are free: `B` stays `B`.
  for (const TensorType &type : signature.args)
    for (const Dim &dim : type.dims)
      if (dim.isSymbolic())
        frame.symbols.try_emplace(dim.symbol, dim);
  for (auto [i, arg] : llvm::enumerate(fn.getArgs()))
    frame.locals[arg.name.name] = TypedValue{entry.getArgument(i), signature.args[i], std::nullopt,
                                             arg.name.name, arg.name.loc};
  return frame;
}

mlir::func::FuncOp MLIRGen::emitEntry(const Instance &root, const FnDecl &fn, StringRef name) {
  const Signature *signature = getSignature(root, fn);
  if (!signature)
    return nullptr; // Reported by the check.

  llvm::SmallVector<mlir::Type, 4> argTypes, resultTypes;
  for (const TensorType &type : signature->args)
    argTypes.push_back(type.toMLIR(&context));
  for (const TensorType &type : signature->results)
    resultTypes.push_back(type.toMLIR(&context));
  builder.setInsertionPointToEnd(module.getBody());
  auto func = mlir::func::FuncOp::create(builder, getLoc(fn.getLoc()), name,
                                         builder.getFunctionType(argTypes, resultTypes));
  func->setAttr(kEntryAttrName, builder.getUnitAttr());
  for (auto [i, arg] : llvm::enumerate(fn.getArgs())) {
    func.setArgAttr(i, kArgNameAttrName, builder.getStringAttr(arg.name.name));
    func.setArgAttr(i, kDimsAttrName, signature->args[i].getDimsAttr(&context));
  }
  for (auto [i, type] : llvm::enumerate(signature->results)) {
    std::string name =
        signature->results.size() == 1 ? std::string("out") : "out" + std::to_string(i);
    func.setResultAttr(i, kArgNameAttrName, builder.getStringAttr(name));
    func.setResultAttr(i, kDimsAttrName, type.getDimsAttr(&context));
  }

  mlir::Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Frame f = makeOwnFrame(root, fn, *signature, *entry, FrameKind::Entry);
  frames.push_back(&f);
  auto results = emitBody(f);
  frames.pop_back();
  if (!results)
    return nullptr; // Only after a reported error: the module is discarded.
  llvm::SmallVector<mlir::Value, 1> values;
  for (const TypedValue &value : *results)
    values.push_back(value.value);
  mlir::func::ReturnOp::create(builder, getLoc(fn.getEndLoc()), values);
  return func;
}

bool MLIRGen::ensureChecked(const Instance &instance, const FnDecl &fn,
                            std::optional<unsigned> leadingRank) {
  std::string key = instance.getKey() + "::" + fn.getName().str();
  if (leadingRank)
    key += "#" + std::to_string(*leadingRank);
  auto it = checkStates.find(key);
  if (it != checkStates.end())
    return it->second == CheckState::Ok; // InProgress: Sema rejects cycles.
  checkStates[key] = CheckState::InProgress;

  std::optional<DiagnosticContext> instanceNote;
  if (const InstanceDecl *decl = instance.getDeclaredBy())
    instanceNote.emplace(diags, decl->getLoc(), instance.describe());
  unsigned errorsBefore = diags.getNumErrors();
  const Signature *signature = getSignature(instance, fn, leadingRank);
  if (!signature) {
    checkStates[key] = CheckState::Failed;
    return false;
  }

  // Emit into a detached scratch function, thrown away after the check.
  llvm::SmallVector<mlir::Type, 4> argTypes;
  for (const TensorType &type : signature->args)
    argTypes.push_back(type.toMLIR(&context));
  mlir::OpBuilder::InsertionGuard guard(builder);
  auto scratch = mlir::func::FuncOp::create(mlir::UnknownLoc::get(&context), fn.getName(),
                                            builder.getFunctionType(argTypes, {}));
  mlir::Block *entry = scratch.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Frame f = makeOwnFrame(instance, fn, *signature, *entry, FrameKind::Check);
  frames.push_back(&f);
  bool ok = emitBody(f).has_value();
  frames.pop_back();
  scratch->erase();
  ok &= diags.getNumErrors() == errorsBefore;
  checkStates[key] = ok ? CheckState::Ok : CheckState::Failed;
  return ok;
}

void MLIRGen::checkAllMethods(const Instance &instance) {
  for (const auto &child : instance.getChildren())
    checkAllMethods(*child);
  llvm::SourceMgr &sourceMgr = diags.getSourceMgr();
  bool inMainFile =
      sourceMgr.FindBufferContainingLoc(instance.getDecl().getLoc()) == sourceMgr.getMainFileID();
  for (const auto &member : instance.getDecl().getMembers()) {
    if (diags.shouldStop() || reportedTooLarge)
      return;
    // A method with `...` has no rank of its own: it is checked at each
    // rank it is called with. Imported modules are libraries: like the
    // member functions of a C++ template, their methods are checked when
    // used (a MultiHeadAttention with kv_dim != d has no self-attention).
    if (auto *fn = llvm::dyn_cast<FnDecl>(member.get()))
      if (!fn->isRankGeneric() && inMainFile)
        ensureChecked(instance, *fn);
  }
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

std::optional<llvm::SmallVector<TypedValue, 1>> MLIRGen::emitBody(Frame &f) {
  return emitStatements(f.fn->getBody());
}

std::optional<llvm::SmallVector<TypedValue, 1>>
MLIRGen::emitStatements(llvm::ArrayRef<StmtPtr> body) {
  for (const auto &stmt : body) {
    if (diags.shouldStop() || reportedTooLarge)
      return std::nullopt;
    if (auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get()))
      emitLet(*let); // A failed let poisons its names; keep checking.
    else if (auto *assign = llvm::dyn_cast<AssignStmtAST>(stmt.get()))
      emitAssign(*assign);
    else if (auto *loop = llvm::dyn_cast<ForStmtAST>(stmt.get()))
      emitFor(*loop);
    else
      return emitReturn(llvm::cast<ReturnStmtAST>(*stmt));
  }
  return std::nullopt; // Sema requires a final return (outside loops).
}

void MLIRGen::bindLocal(StringRef name, MaybeValue value, bool declares) {
  auto &locals = frame().locals;
  if (declares && !frame().scopes.empty()) {
    auto &shadowed = frame().scopes.back().shadowed;
    if (!shadowed.count(name)) {
      auto it = locals.find(name);
      shadowed[name] = it == locals.end() ? std::nullopt : std::optional<MaybeValue>(it->second);
    }
  }
  locals[name] = std::move(value);
}

void MLIRGen::emitAssign(const AssignStmtAST &assign) {
  MaybeValue value = emitExpr(assign.getValue());
  if (value) {
    value->declName = assign.getName().name;
    value->declLoc = assign.getName().loc;
  }
  // Rebinding may change the type: loops are unrolled, each iteration is
  // checked with the types it sees.
  bindLocal(assign.getName().name, value, /*declares=*/false);
}

void MLIRGen::emitFor(const ForStmtAST &loop) {
  llvm::ArrayRef<InstanceStep> steps = loop.resolvedList;
  if (steps.empty())
    return; // Sema reported it.
  const Instance *owner = walkInstances(steps.drop_back(), loop.getLoc());
  if (!owner)
    return;
  const InstanceDecl &list = *steps.back().decl;
  int64_t size = owner->getListElements(&list).size();
  // A range clamps like a Python slice: `layers[1:]` of a 1-list is empty.
  int64_t begin = 0, end = size;
  if (const auto &range = loop.getRange()) {
    auto bound = [&](const ExprAST *expr, int64_t fallback) -> std::optional<int64_t> {
      if (!expr)
        return fallback;
      auto value = evaluateStaticInt(*expr, frame().instance->getCtorValues(), diags);
      if (!value)
        return std::nullopt;
      int64_t resolved = *value < 0 ? *value + size : *value;
      return std::clamp<int64_t>(resolved, 0, size);
    };
    std::optional<int64_t> first = bound(range->start.get(), 0);
    std::optional<int64_t> last = bound(range->end.get(), size);
    if (!first || !last)
      return;
    begin = *first;
    end = *last;
  }
  for (int64_t i = begin; i < end; ++i) {
    frame().loopIndex[&loop] = i;
    // Errors inside say which element they were found with.
    DiagnosticContext context(
        diags, loop.getVar().loc,
        ("in iteration '" + loop.getVar().name + "' = " + list.getName() + "[" + Twine(i) + "]")
            .str());
    frame().scopes.emplace_back();
    bindLocal(loop.getVar().name, std::nullopt, /*declares=*/true);
    frame().locals.erase(loop.getVar().name);
    emitStatements(loop.getBody());
    Frame::Scope scope = std::move(frame().scopes.back());
    frame().scopes.pop_back();
    for (auto &entry : scope.shadowed) {
      if (entry.second)
        frame().locals[entry.getKey()] = *entry.second;
      else
        frame().locals.erase(entry.getKey());
    }
    if (diags.shouldStop() || reportedTooLarge)
      return;
  }
  frame().loopIndex.erase(&loop);
}

MaybeValue MLIRGen::coerce(TypedValue value, const TensorType &declared, SMLoc loc,
                           const Twine &what) {
  if (value.literal && declared.getRank() == 0)
    return materialize(value, declared.element, loc);
  if (value.literal || value.type != declared) {
    diags.error(loc, what + ": expected " + declared.str() + ", got " + value.type.str());
    return std::nullopt;
  }
  return value;
}

bool MLIRGen::emitLet(const LetStmtAST &let) {
  llvm::ArrayRef<Ident> names = let.getNames();
  std::optional<llvm::SmallVector<TypedValue, 1>> values;
  if (names.size() == 1) {
    MaybeValue value = emitExpr(let.getValue());
    if (value && let.getType()) {
      auto declared = evaluateType(*let.getType(), frame().instance->getCtorValues(), diags);
      value = declared ? coerce(*value, substitute(*declared), let.getValue().getStartLoc(),
                                "type mismatch in 'let " + names[0].name + "'")
                       : std::nullopt;
    }
    if (value)
      values.emplace({*value});
  } else {
    values = emitMulti(let.getValue());
  }
  for (auto [i, name] : llvm::enumerate(names)) {
    MaybeValue slot;
    if (values && i < values->size()) {
      slot = (*values)[i];
      // Notes about this value now point at the `let`.
      slot->declName = name.name;
      slot->declLoc = name.loc;
    }
    bindLocal(name.name, slot, /*declares=*/true);
  }
  return values.has_value();
}

std::optional<llvm::SmallVector<TypedValue, 1>> MLIRGen::emitReturn(const ReturnStmtAST &ret) {
  llvm::ArrayRef<ExprPtr> exprs = ret.getValues();
  std::optional<llvm::SmallVector<TypedValue, 1>> values;
  if (exprs.size() == 1) {
    values = emitMulti(*exprs.front());
  } else {
    values.emplace();
    bool ok = true;
    for (const ExprPtr &expr : exprs) {
      MaybeValue value = emitExpr(*expr);
      ok &= value.has_value();
      if (value)
        values->push_back(*value);
    }
    if (!ok)
      values.reset();
  }
  const FnDecl &fn = *frame().fn;
  const Signature &signature = *frame().signature;
  if (!values || values->size() != signature.results.size())
    return std::nullopt; // Counts were checked by Sema.

  bool ok = true;
  for (auto [i, value] : llvm::enumerate(*values)) {
    SMLoc loc = (exprs.size() == 1 ? exprs.front() : exprs[i])->getStartLoc();
    MaybeValue coerced =
        coerce(value, substitute(signature.results[i]), loc, "return type mismatch");
    if (!coerced) {
      diags.note(fn.getResults()[i].loc, "'" + fn.getName() + "' declared to return " +
                                             signature.results[i].str() + " here");
      ok = false;
      continue;
    }
    value = *coerced;
  }
  if (!ok)
    return std::nullopt;
  return values;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

static Elementwise getElementwise(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return Elementwise::Add;
  case BinaryOp::Sub:
    return Elementwise::Sub;
  case BinaryOp::Mul:
    return Elementwise::Mul;
  case BinaryOp::Div:
    return Elementwise::Div;
  case BinaryOp::MatMul:
    break;
  }
  llvm_unreachable("matmul is not elementwise");
}

MaybeValue MLIRGen::emitExpr(const ExprAST &expr) {
  if (++workDone > kMaxWork) {
    if (!reportedTooLarge)
      diags.error(expr.getLoc(), "the model is too large after inlining "
                                 "(more than " +
                                     Twine(kMaxWork) + " operations)");
    reportedTooLarge = true;
    return std::nullopt;
  }
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    return TypedValue{{},
                      TensorType::getScalar(ElementType::f32),
                      Literal{false, 0, llvm::cast<IntegerExprAST>(expr).getValue()},
                      {},
                      {}};
  case ExprAST::Expr_Float:
    return TypedValue{{},
                      TensorType::getScalar(ElementType::f32),
                      Literal{true, llvm::cast<FloatExprAST>(expr).getValue(), 0},
                      {},
                      {}};
  case ExprAST::Expr_Bool:
    return std::nullopt; // Sema reported it.
  case ExprAST::Expr_Name:
    return emitName(llvm::cast<NameExprAST>(expr));
  case ExprAST::Expr_Unary:
    return emitUnary(llvm::cast<UnaryExprAST>(expr));
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    MaybeValue lhs = emitExpr(binary.getLHS());
    MaybeValue rhs = emitExpr(binary.getRHS());
    if (!lhs || !rhs)
      return std::nullopt;
    std::string spelling = ("'" + getBinaryOpSpelling(binary.getOp()) + "'").str();
    if (binary.getOp() == BinaryOp::MatMul)
      return emitMatmul(*lhs, *rhs, binary.getLoc(), spelling);
    return emitElementwise(getElementwise(binary.getOp()), *lhs, *rhs, binary.getLoc(), spelling);
  }
  case ExprAST::Expr_Call: {
    auto &call = llvm::cast<CallExprAST>(expr);
    if (call.resolvedBuiltin)
      return emitBuiltin(call);
    auto values = emitMethodCall(call);
    if (!values || values->size() != 1)
      return std::nullopt; // Sema reported a multi-value call used as one.
    return values->front();
  }
  }
  return std::nullopt;
}

std::optional<llvm::SmallVector<TypedValue, 1>> MLIRGen::emitMulti(const ExprAST &expr) {
  auto *call = llvm::dyn_cast<CallExprAST>(&expr);
  if (call && call->resolvedMethod)
    return emitMethodCall(*call);
  MaybeValue value = emitExpr(expr);
  if (!value)
    return std::nullopt;
  return llvm::SmallVector<TypedValue, 1>{*value};
}

MaybeValue MLIRGen::emitName(const NameExprAST &name) {
  switch (name.resolution) {
  case NameExprAST::Resolution::Local: {
    auto it = frame().locals.find(name.getName());
    if (it == frame().locals.end())
      return std::nullopt;
    return it->second;
  }
  case NameExprAST::Resolution::CtorArg: {
    llvm::ArrayRef<CtorValue> values = frame().instance->getCtorArgs();
    if (name.resolvedCtorArg >= values.size())
      return std::nullopt;
    const CtorValue &value = values[name.resolvedCtorArg];
    Literal literal = value.type == CtorType::Float ? Literal{true, value.floatValue, 0}
                                                    : Literal{false, 0, value.intValue};
    return TypedValue{{}, TensorType::getScalar(ElementType::f32), literal, name.getName(), {}};
  }
  case NameExprAST::Resolution::Param: {
    const Instance *owner = walkInstances(name.resolvedInstances, name.getLoc());
    const InstanceParam *param = owner ? owner->getParam(name.resolvedParam) : nullptr;
    if (!param || !param->type)
      return std::nullopt; // Its declaration's error was reported.
    return TypedValue{getParamValue(*param, name.getLoc()), *param->type, std::nullopt,
                      name.getName(), param->decl->getLoc()};
  }
  case NameExprAST::Resolution::Unresolved:
  case NameExprAST::Resolution::DimSymbol:
    break;
  }
  return std::nullopt;
}

std::optional<llvm::SmallVector<TypedValue, 1>> MLIRGen::emitMethodCall(const CallExprAST &call) {
  if (!call.resolvedMethod)
    return std::nullopt;
  const Instance *callee = walkInstances(call.resolvedInstances, call.getLoc());
  if (!callee)
    return std::nullopt; // Out of range, or its instance could not be built.
  const FnDecl &fn = *call.resolvedMethod;
  if (frames.size() >= kMaxFrames) {
    diags.error(call.getLoc(), "calls are nested more than " + Twine(kMaxFrames) + " deep");
    return std::nullopt;
  }

  // Arguments first, in the caller: their errors come first.
  llvm::SmallVector<TypedValue, 4> args;
  bool ok = true;
  for (const ExprAST *arg : call.boundArgs) {
    MaybeValue value = emitExpr(*arg);
    ok &= value.has_value();
    if (value)
      args.push_back(*value);
  }
  if (!ok)
    return std::nullopt;
  const Signature *signature = getSignature(*callee, fn);
  if (!signature)
    return std::nullopt; // Reported with the callee's instance.
  std::optional<unsigned> leadingRank;
  if (fn.isRankGeneric()) {
    // The first argument with `...` decides how many leading dims it has.
    for (auto [i, arg] : llvm::enumerate(args)) {
      if (!signature->argHasEllipsis[i])
        continue;
      const FnArg &param = fn.getArgs()[i];
      int64_t fixed = signature->args[i].getRank();
      int64_t extra = arg.type.getRank() - fixed;
      if (arg.literal || extra < 0 || extra > kMaxLeadingRank) {
        diags.error(call.boundArgs[i]->getStartLoc(),
                    "argument '" + param.name.name + "' of '" + call.getCalleeName() +
                        "': expected at least " + Twine(fixed) + (fixed == 1 ? " dim" : " dims") +
                        ", got " + arg.type.str());
        diags.note(param.name.loc, "'" + param.name.name + "' declared here");
        return std::nullopt;
      }
      leadingRank = extra;
      break;
    }
    signature = getSignature(*callee, fn, leadingRank);
    if (!signature)
      return std::nullopt;
  }

  llvm::StringMap<Dim> bindings;
  for (auto [i, arg] : llvm::enumerate(args)) {
    const TensorType &declared = signature->args[i];
    const FnArg &param = fn.getArgs()[i];
    SMLoc loc = call.boundArgs[i]->getStartLoc();
    if (arg.literal && declared.getRank() == 0) {
      MaybeValue value = materialize(arg, declared.element, loc);
      if (!value)
        return std::nullopt;
      arg = *value;
    }
    if (arg.literal || !unify(declared, arg.type, bindings)) {
      diags.error(loc, "argument '" + param.name.name + "' of '" + call.getCalleeName() +
                           "': expected " + substituteWith(declared, bindings).str() + ", got " +
                           arg.type.str());
      diags.note(param.name.loc, "'" + param.name.name + "' declared here");
      ok = false;
    }
  }
  if (!ok)
    return std::nullopt;
  // The callee is checked on its own, once; its errors are its own.
  if (!ensureChecked(*callee, fn, leadingRank))
    return std::nullopt;

  llvm::SmallVector<TypedValue, 1> results;
  llvm::SmallVector<mlir::Type, 1> resultTypes;
  for (const TensorType &declared : signature->results) {
    results.push_back({{}, substituteWith(declared, bindings), std::nullopt, {}, {}});
    resultTypes.push_back(results.back().type.toMLIR(&context));
  }
  mlir::Location loc = getLoc(call.getLoc());
  if (frame().kind == FrameKind::Check) {
    // Only the types matter here: the callee's body checked on its own.
    auto placeholder = mlir::UnrealizedConversionCastOp::create(builder, loc, resultTypes,
                                                                mlir::ValueRange{});
    for (auto [result, value] : llvm::zip(results, placeholder.getResults()))
      result.value = value;
    return results;
  }

  OutlinedFn &outlined = getOutlined(*callee, fn, *signature, bindings);
  llvm::SmallVector<mlir::Value, 8> operands;
  for (const TypedValue &arg : args)
    operands.push_back(arg.value);
  llvm::SmallVector<const InstanceParam *> calleeParams;
  callee->collectParams(calleeParams);
  for (unsigned index : outlined.params)
    operands.push_back(getParamValue(*calleeParams[index], call.getLoc()));
  auto callOp = mlir::func::CallOp::create(builder, loc, outlined.func, operands);
  for (auto [result, value] : llvm::zip(results, callOp.getResults()))
    result.value = value;
  return results;
}

mlir::Value MLIRGen::getParamValue(const InstanceParam &param, SMLoc loc) {
  Frame &f = frame();
  mlir::Type type = param.type->toMLIR(&context);
  if (f.kind != FrameKind::Outlined)
    return ParamOp::create(builder, getLoc(loc), type, param.path);
  // An outlined body reads its parameters from trailing arguments, so each
  // call passes its own instance's weights.
  if (f.paramIndex.empty()) {
    llvm::SmallVector<const InstanceParam *> params;
    f.instance->collectParams(params);
    for (auto [i, p] : llvm::enumerate(params))
      f.paramIndex[p] = i;
  }
  unsigned index = f.paramIndex.at(&param);
  mlir::func::FuncOp func = f.outlined->func;
  mlir::Block &entry = func.getBody().front();
  unsigned numDataArgs = entry.getNumArguments() - f.outlined->params.size();
  for (auto [i, known] : llvm::enumerate(f.outlined->params))
    if (known == index)
      return entry.getArgument(numDataArgs + i);
  f.outlined->params.push_back(index);
  mlir::Value arg = entry.addArgument(type, getLoc(param.decl->getLoc()));
  // Named by its path within the instance: `attn.q_proj.weight`.
  llvm::StringRef relative = llvm::StringRef(param.path);
  if (!f.instance->getPath().empty())
    relative = relative.drop_front(f.instance->getPath().size() + 1);
  func.setType(builder.getFunctionType(entry.getArgumentTypes(), func.getResultTypes()));
  func.setArgAttr(entry.getNumArguments() - 1, kParamAttrName, builder.getStringAttr(relative));
  return arg;
}

MLIRGen::OutlinedFn &MLIRGen::getOutlined(const Instance &instance, const FnDecl &fn,
                                          const Signature &signature,
                                          const llvm::StringMap<Dim> &bindings) {
  // The callee's own symbols, except those the caller binds to a size.
  llvm::StringMap<Dim> symbols;
  for (const TensorType &type : signature.args)
    for (const Dim &dim : type.dims)
      if (dim.isSymbolic()) {
        const Dim &bound = bindings.lookup(dim.symbol);
        symbols.try_emplace(dim.symbol, bound.isSymbolic() ? dim : bound);
      }
  llvm::SmallVector<TensorType, 4> argTypes;
  std::string key = instance.getKey() + "::" + fn.getName().str() + "(";
  for (const TensorType &type : signature.args) {
    argTypes.push_back(substituteWith(type, symbols));
    key += argTypes.back().str() + ";";
  }
  key += ")";
  std::unique_ptr<OutlinedFn> &slot = outlinedFns[key];
  if (slot)
    return *slot;
  slot = std::make_unique<OutlinedFn>();
  OutlinedFn &outlined = *slot;
  for (const TensorType &type : signature.results)
    outlined.results.push_back(substituteWith(type, symbols));

  // `TransformerBlock.forward`, then `TransformerBlock.forward.1`, ...
  std::string name = (instance.getDecl().getName() + "." + fn.getName()).str();
  if (unsigned n = outlinedNames[name]++)
    name += "." + std::to_string(n);
  llvm::SmallVector<mlir::Type, 4> types, resultTypes;
  for (const TensorType &type : argTypes)
    types.push_back(type.toMLIR(&context));
  for (const TensorType &type : outlined.results)
    resultTypes.push_back(type.toMLIR(&context));
  mlir::OpBuilder::InsertionGuard guard(builder);
  outlined.func = mlir::func::FuncOp::create(getLoc(fn.getLoc()), name,
                                             builder.getFunctionType(types, resultTypes));
  outlined.func.setPrivate();
  for (auto [i, arg] : llvm::enumerate(fn.getArgs())) {
    outlined.func.setArgAttr(i, kArgNameAttrName, builder.getStringAttr(arg.name.name));
    outlined.func.setArgAttr(i, kDimsAttrName, argTypes[i].getDimsAttr(&context));
  }
  for (auto [i, type] : llvm::enumerate(outlined.results))
    outlined.func.setResultAttr(i, kDimsAttrName, type.getDimsAttr(&context));
  mlir::Block *entry = outlined.func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Frame f{&instance, &fn, &signature, std::move(symbols), {}, FrameKind::Outlined};
  f.outlined = &outlined;
  for (auto [i, arg] : llvm::enumerate(fn.getArgs()))
    f.locals[arg.name.name] = TypedValue{entry->getArgument(i), argTypes[i], std::nullopt,
                                         arg.name.name, arg.name.loc};
  frames.push_back(&f);
  auto results = emitBody(f);
  frames.pop_back();
  llvm::SmallVector<mlir::Value, 1> values;
  if (results)
    for (const TypedValue &value : *results)
      values.push_back(value.value);
  // Checked already, so only a reported error (the module is then dropped)
  // leaves it without results.
  if (values.size() == resultTypes.size())
    mlir::func::ReturnOp::create(builder, getLoc(fn.getEndLoc()), values);
  // After its callees: the module lists functions callees first.
  module.getBody()->push_back(outlined.func);
  return outlined;
}
