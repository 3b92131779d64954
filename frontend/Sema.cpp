//===- Sema.cpp - Name resolution and structural checks -------------------===//
#include "frontend/Sema.h"

#include "frontend/Builtins.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// Export names that would collide with the generated C API (`NAME_create`).
constexpr StringRef kReservedEntryNames[] = {"create", "destroy", "last_error",
                                             "save_weights"};

/// "; did you mean 'relu'?" for the closest candidate, or "".
std::string suggest(StringRef name, llvm::ArrayRef<StringRef> candidates) {
  StringRef best;
  unsigned bestDistance = std::max<unsigned>(1, name.size() / 3) + 1;
  for (StringRef candidate : candidates) {
    unsigned distance = name.edit_distance(candidate, true, bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best.empty())
    return "";
  return ("; did you mean '" + best + "'?").str();
}

class NameResolver {
public:
  explicit NameResolver(Diagnostics &diags) : diags(diags) {}
  bool run(FileAST &file);

private:
  // Declarations.
  void buildModuleTable(FileAST &file);
  void buildMemberTable(ModuleDecl &module);
  void resolveInstance(InstanceDecl &instance);
  void checkParam(const ParamDecl &param);
  void checkFn(const FnDecl &fn);

  // Types and compile-time integers.
  enum class DimContext { Param, Signature, Result, Let };
  void checkType(const TypeAST &type, DimContext context);
  void checkStaticInt(ExprAST &expr, StringRef what);

  // Function bodies.
  void checkStatement(StmtAST &stmt, const FnDecl &fn);
  void checkValue(ExprAST &expr, bool allowMulti = false);
  void resolveName(NameExprAST &name);
  void resolveCall(CallExprAST &call, bool allowMulti);
  /// The number of values an expression produces (a call to a method with
  /// several results produces several).
  static unsigned countValues(const ExprAST &expr);

  /// Binds positional and keyword arguments to parameters by name. Reports
  /// wrong counts, unknown and repeated keywords; returns false if any.
  bool bindArgs(StringRef callee, llvm::ArrayRef<StringRef> params,
                unsigned numRequired, llvm::ArrayRef<ExprPtr> args,
                llvm::ArrayRef<KeywordArg> keywordArgs, SMLoc callLoc,
                StringRef declName, SMLoc declLoc,
                llvm::SmallVectorImpl<ExprAST *> &bound);

  /// Walks `a.b` through instances. Returns the module reached, or null
  /// after reporting.
  const ModuleDecl *walkInstances(llvm::ArrayRef<Ident> path,
                                  llvm::SmallVectorImpl<const InstanceDecl *> &walked);
  void noteDeclared(StringRef name, SMLoc loc) {
    diags.note(loc, "'" + name + "' declared here");
  }

  Diagnostics &diags;
  llvm::StringMap<ModuleDecl *> modules;

  // State while checking one function.
  ModuleDecl *module = nullptr;
  const FnDecl *currentFn = nullptr;
  llvm::StringSet<> locals;
  llvm::StringSet<> symbols; // symbolic dims of the signature
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

bool NameResolver::run(FileAST &file) {
  unsigned errorsBefore = diags.getNumErrors();
  buildModuleTable(file);
  // Bodies look through instances (`fc1.weight`, `fc1(x)`) of modules
  // declared anywhere: link every instance to its module first, quietly;
  // the checks below then report in source order.
  for (auto &decl : file.modules)
    for (const auto &member : decl->getMembers())
      if (auto *instance = llvm::dyn_cast<InstanceDecl>(member.get()))
        instance->resolvedModule =
            modules.lookup(instance->getModuleName().name);
  for (auto &decl : file.modules) {
    module = decl.get();
    for (const auto &member : decl->getMembers()) {
      if (diags.shouldStop())
        return false;
      if (auto *param = llvm::dyn_cast<ParamDecl>(member.get()))
        checkParam(*param);
      else if (auto *instance = llvm::dyn_cast<InstanceDecl>(member.get()))
        resolveInstance(*instance);
      else
        checkFn(llvm::cast<FnDecl>(*member));
    }
  }
  checkCycles(file, diags);
  return diags.getNumErrors() == errorsBefore;
}

void NameResolver::buildModuleTable(FileAST &file) {
  for (auto &decl : file.modules) {
    auto [it, inserted] = modules.try_emplace(decl->getName(), decl.get());
    if (!inserted) {
      diags.error(decl->getLoc(),
                  "redefinition of module '" + decl->getName() + "'");
      diags.note(it->second->getLoc(), "previous definition is here");
    }
    buildMemberTable(*decl);
  }
}

void NameResolver::buildMemberTable(ModuleDecl &decl) {
  llvm::StringMap<SMLoc> defined;
  auto define = [&](const Ident &name) {
    auto [it, inserted] = defined.try_emplace(name.name, name.loc);
    if (inserted)
      return true;
    diags.error(name.loc, "redefinition of '" + name.name + "' in module '" +
                              decl.getName() + "'");
    diags.note(it->second, "previous definition is here");
    return false;
  };
  for (auto [i, param] : llvm::enumerate(decl.getCtorParams()))
    if (define(param))
      decl.ctorParamIndex[param.name] = i;
  for (const auto &member : decl.getMembers())
    if (define(member->getIdent()))
      decl.memberTable[member->getName()] = member.get();
}

void NameResolver::resolveInstance(InstanceDecl &instance) {
  const Ident &name = instance.getModuleName();
  if (!instance.resolvedModule) {
    llvm::SmallVector<StringRef> candidates(modules.keys());
    diags.error(name.loc, "unknown module '" + name.name + "'" +
                              suggest(name.name, candidates));
    return;
  }
  const ModuleDecl &target = *instance.resolvedModule;
  llvm::SmallVector<StringRef, 4> params;
  for (const Ident &param : target.getCtorParams())
    params.push_back(param.name);
  if (!bindArgs(target.getName(), params, params.size(), instance.getArgs(),
                instance.getKeywordArgs(), name.loc, target.getName(),
                target.getLoc(), instance.boundArgs)) {
    // Look inside the arguments anyway, for more errors.
    for (const ExprPtr &arg : instance.getArgs())
      checkStaticInt(*arg, "a constructor argument");
    return;
  }
  for (ExprAST *arg : instance.boundArgs)
    checkStaticInt(*arg, "a constructor argument");
}

void NameResolver::checkParam(const ParamDecl &param) {
  checkType(param.getType(), DimContext::Param);
}

//===----------------------------------------------------------------------===//
// Types and compile-time integers
//===----------------------------------------------------------------------===//

void NameResolver::checkType(const TypeAST &type, DimContext context) {
  for (const ExprPtr &dim : type.dims) {
    auto *name = llvm::dyn_cast<NameExprAST>(dim.get());
    if (!name || name->getPath().size() != 1) {
      checkStaticInt(*dim, "a dimension");
      continue;
    }
    StringRef text = name->getName();
    if (auto index = module->lookupCtorParam(text)) {
      name->resolution = NameExprAST::Resolution::CtorArg;
      name->resolvedCtorArg = *index;
      continue;
    }
    switch (context) {
    case DimContext::Param:
      diags.error(name->getLoc(),
                  "'" + text + "' is not a constructor argument of '" +
                      module->getName() +
                      "': parameter dims must be known at compile time");
      continue;
    case DimContext::Signature:
      symbols.insert(text);
      break;
    case DimContext::Result:
    case DimContext::Let:
      if (!symbols.contains(text)) {
        diags.error(name->getLoc(),
                    "symbolic dim '" + text + "' does not appear in the " +
                        "arguments of '" + currentFn->getName() + "'");
        continue;
      }
      break;
    }
    name->resolution = NameExprAST::Resolution::DimSymbol;
  }
}

void NameResolver::checkStaticInt(ExprAST &expr, StringRef what) {
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    return;
  case ExprAST::Expr_Name: {
    auto &name = llvm::cast<NameExprAST>(expr);
    if (name.getPath().size() == 1) {
      if (auto index = module->lookupCtorParam(name.getName())) {
        name.resolution = NameExprAST::Resolution::CtorArg;
        name.resolvedCtorArg = *index;
        return;
      }
    }
    diags.error(expr.getLoc(), "'" + name.getName() +
                                   "' is not a constructor argument of '" +
                                   module->getName() + "': " + what +
                                   " must be a compile-time integer");
    return;
  }
  case ExprAST::Expr_Unary:
    checkStaticInt(llvm::cast<UnaryExprAST>(expr).getOperand(), what);
    return;
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    if (binary.getOp() == BinaryOp::MatMul) {
      diags.error(expr.getLoc(), "'@' cannot be used in " + what);
      return;
    }
    checkStaticInt(binary.getLHS(), what);
    checkStaticInt(binary.getRHS(), what);
    return;
  }
  case ExprAST::Expr_Float:
  case ExprAST::Expr_Bool:
  case ExprAST::Expr_Call:
    diags.error(expr.getLoc(), what + " must be a compile-time integer " +
                                   "(integer literals, constructor arguments "
                                   "and + - * /)");
    return;
  }
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

void NameResolver::checkFn(const FnDecl &fn) {
  currentFn = &fn;
  locals.clear();
  symbols.clear();
  if (fn.isExport() && llvm::is_contained(kReservedEntryNames, fn.getName()))
    diags.error(fn.getLoc(), "'" + fn.getName() +
                                 "' cannot be exported: NAME_" + fn.getName() +
                                 " is part of the generated C API");

  llvm::StringMap<SMLoc> argLocs;
  for (const FnArg &arg : fn.getArgs()) {
    auto [it, inserted] = argLocs.try_emplace(arg.name.name, arg.name.loc);
    if (!inserted) {
      diags.error(arg.name.loc, "redefinition of argument '" + arg.name.name +
                                    "'");
      diags.note(it->second, "previous definition is here");
    }
    locals.insert(arg.name.name);
    checkType(arg.type, DimContext::Signature);
  }
  for (const TypeAST &result : fn.getResults())
    checkType(result, DimContext::Result);

  bool returned = false, reportedDeadCode = false;
  for (const auto &stmt : fn.getBody()) {
    if (returned && !reportedDeadCode) {
      diags.error(stmt->getLoc(), "statement after 'return' in '" +
                                      fn.getName() + "' is never executed");
      reportedDeadCode = true;
    }
    checkStatement(*stmt, fn);
    returned |= llvm::isa<ReturnStmtAST>(stmt.get());
    if (diags.shouldStop())
      return;
  }
  if (!returned)
    diags.error(fn.getEndLoc(),
                "function '" + fn.getName() + "' must end with a 'return'");
}

void NameResolver::checkStatement(StmtAST &stmt, const FnDecl &fn) {
  if (auto *let = llvm::dyn_cast<LetStmtAST>(&stmt)) {
    size_t numNames = let->getNames().size();
    checkValue(let->getValue(), /*allowMulti=*/numNames > 1);
    unsigned numValues = countValues(let->getValue());
    if (numNames > 1 && numValues != numNames)
      diags.error(let->getValue().getLoc(),
                  "'let' binds " + Twine(numNames) +
                      " names but the value gives " + Twine(numValues));
    if (const TypeAST *type = let->getType())
      checkType(*type, DimContext::Let);
    // Names become visible after their value: `let x = x + 1` reads the
    // previous `x`. Rebinding a name shadows it.
    for (const Ident &name : let->getNames())
      locals.insert(name.name);
    return;
  }
  auto &ret = llvm::cast<ReturnStmtAST>(stmt);
  auto values = ret.getValues();
  bool single = values.size() == 1;
  for (const ExprPtr &value : values)
    checkValue(*value, /*allowMulti=*/single);
  unsigned numValues = single ? countValues(*values.front()) : values.size();
  if (numValues != fn.getResults().size()) {
    diags.error(ret.getLoc(), "'" + fn.getName() + "' returns " +
                                  Twine(fn.getResults().size()) +
                                  (fn.getResults().size() == 1 ? " value"
                                                               : " values") +
                                  ", but this 'return' gives " +
                                  Twine(numValues));
    noteDeclared(fn.getName(), fn.getLoc());
  }
}

unsigned NameResolver::countValues(const ExprAST &expr) {
  auto *call = llvm::dyn_cast<CallExprAST>(&expr);
  if (call && call->resolvedMethod)
    return call->resolvedMethod->getResults().size();
  return 1;
}

void NameResolver::checkValue(ExprAST &expr, bool allowMulti) {
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
  case ExprAST::Expr_Float:
    return;
  case ExprAST::Expr_Bool:
    diags.error(expr.getLoc(), "'true' and 'false' are only allowed as flag "
                               "arguments such as 'keepdim=true'");
    return;
  case ExprAST::Expr_Name:
    resolveName(llvm::cast<NameExprAST>(expr));
    return;
  case ExprAST::Expr_Unary:
    checkValue(llvm::cast<UnaryExprAST>(expr).getOperand());
    return;
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    checkValue(binary.getLHS());
    checkValue(binary.getRHS());
    return;
  }
  case ExprAST::Expr_Call:
    resolveCall(llvm::cast<CallExprAST>(expr), allowMulti);
    return;
  }
}

const ModuleDecl *
NameResolver::walkInstances(llvm::ArrayRef<Ident> path,
                            llvm::SmallVectorImpl<const InstanceDecl *> &walked) {
  const ModuleDecl *current = module;
  for (const Ident &part : path) {
    const MemberDecl *member = current->lookupMember(part.name);
    auto *instance = llvm::dyn_cast_or_null<InstanceDecl>(member);
    if (!instance) {
      if (member) {
        diags.error(part.loc, "'" + part.name + "' is not a module instance");
        noteDeclared(part.name, member->getLoc());
      } else {
        diags.error(part.loc, current == module
                                  ? "unknown name '" + part.name + "'"
                                  : "module '" + current->getName() +
                                        "' has no instance named '" +
                                        part.name + "'");
      }
      return nullptr;
    }
    walked.push_back(instance);
    current = instance->resolvedModule;
    if (!current)
      return nullptr; // Its module was unknown: already reported.
  }
  return current;
}

void NameResolver::resolveName(NameExprAST &name) {
  llvm::ArrayRef<Ident> path = name.getPath();
  const Ident &last = path.back();
  if (path.size() == 1) {
    if (locals.contains(last.name)) {
      name.resolution = NameExprAST::Resolution::Local;
      return;
    }
    if (auto index = module->lookupCtorParam(last.name)) {
      name.resolution = NameExprAST::Resolution::CtorArg;
      name.resolvedCtorArg = *index;
      return;
    }
  }
  llvm::SmallVector<const InstanceDecl *, 2> instances;
  const ModuleDecl *owner = walkInstances(path.drop_back(), instances);
  if (!owner)
    return;
  const MemberDecl *member = owner->lookupMember(last.name);
  if (auto *param = llvm::dyn_cast_or_null<ParamDecl>(member)) {
    name.resolution = NameExprAST::Resolution::Param;
    name.resolvedInstances = std::move(instances);
    name.resolvedParam = param;
    return;
  }
  if (member) {
    StringRef kind = llvm::isa<FnDecl>(member) ? "a function" : "a module instance";
    diags.error(last.loc, "'" + last.name + "' is " + kind +
                              ", not a value; call it as '" + last.name +
                              "(...)'");
    noteDeclared(last.name, member->getLoc());
    return;
  }
  if (path.size() > 1) {
    diags.error(last.loc, "module '" + owner->getName() +
                              "' has no parameter named '" + last.name + "'");
    return;
  }
  if (path.size() == 1 && lookupBuiltin(last.name)) {
    diags.error(last.loc, "'" + last.name +
                              "' is a builtin function, not a value; call it "
                              "as '" + last.name + "(...)'");
    return;
  }
  llvm::SmallVector<StringRef> candidates;
  for (const auto &entry : locals)
    candidates.push_back(entry.getKey());
  for (const auto &entry : module->memberTable)
    candidates.push_back(entry.getKey());
  for (const Ident &param : module->getCtorParams())
    candidates.push_back(param.name);
  diags.error(last.loc, "unknown name '" + last.name + "'" +
                            suggest(last.name, candidates));
}

void NameResolver::resolveCall(CallExprAST &call, bool allowMulti) {
  llvm::ArrayRef<Ident> path = call.getCallee();
  const Ident &last = path.back();
  llvm::SmallVector<const InstanceDecl *, 2> instances;
  const ModuleDecl *owner = walkInstances(path.drop_back(), instances);
  bool resolved = false;
  if (owner) {
    const MemberDecl *member = owner->lookupMember(last.name);
    if (auto *fn = llvm::dyn_cast_or_null<FnDecl>(member)) {
      call.resolvedMethod = fn;
      resolved = true;
    } else if (auto *instance = llvm::dyn_cast_or_null<InstanceDecl>(member)) {
      // Calling an instance calls its `forward`.
      instances.push_back(instance);
      if (const ModuleDecl *target = instance->resolvedModule) {
        auto *forward =
            llvm::dyn_cast_or_null<FnDecl>(target->lookupMember("forward"));
        if (forward) {
          call.resolvedMethod = forward;
          resolved = true;
        } else {
          diags.error(last.loc, "module '" + target->getName() +
                                    "' has no 'forward' method, so instance '" +
                                    last.name + "' cannot be called");
          noteDeclared(target->getName(), target->getLoc());
        }
      }
    } else if (member) {
      diags.error(last.loc, "'" + last.name + "' is a parameter, not a function");
      noteDeclared(last.name, member->getLoc());
    } else if (path.size() == 1 && lookupBuiltin(last.name)) {
      call.resolvedBuiltin = lookupBuiltin(last.name);
      resolved = true;
    } else if (path.size() > 1) {
      diags.error(last.loc, "module '" + owner->getName() +
                                "' has no method or instance named '" +
                                last.name + "'");
    } else if (locals.contains(last.name) ||
               module->lookupCtorParam(last.name)) {
      diags.error(last.loc, "'" + last.name + "' is a value, not a function");
    } else {
      llvm::SmallVector<StringRef> candidates;
      for (const BuiltinInfo &builtin : getBuiltins())
        candidates.push_back(builtin.name);
      for (const auto &entry : module->memberTable)
        if (!llvm::isa<ParamDecl>(entry.getValue()))
          candidates.push_back(entry.getKey());
      diags.error(last.loc, "unknown function '" + last.name + "'" +
                                suggest(last.name, candidates));
    }
  }
  call.resolvedInstances = std::move(instances);

  if (!resolved) {
    // Still look inside the arguments for more errors.
    for (const ExprPtr &arg : call.getArgs())
      checkValue(*arg);
    for (const KeywordArg &arg : call.getKeywordArgs())
      if (!llvm::isa<BoolExprAST>(arg.value.get()))
        checkValue(*arg.value);
    return;
  }

  std::string calleeName = call.getCalleeName();
  if (const BuiltinInfo *builtin = call.resolvedBuiltin) {
    llvm::SmallVector<StringRef, 4> params;
    unsigned numRequired = 0;
    for (const BuiltinParam &param : builtin->params) {
      params.push_back(param.name);
      numRequired += param.required;
    }
    if (!bindArgs(calleeName, params, numRequired, call.getArgs(),
                  call.getKeywordArgs(), last.loc, "", SMLoc(),
                  call.boundArgs))
      return;
    for (auto [param, arg] : llvm::zip(builtin->params, call.boundArgs)) {
      if (!arg)
        continue;
      switch (param.kind) {
      case BuiltinParam::Tensor:
        checkValue(*arg);
        break;
      case BuiltinParam::Int:
        checkStaticInt(*arg, ("'" + param.name + "'").str());
        break;
      case BuiltinParam::Bool:
        if (!llvm::isa<BoolExprAST>(arg))
          diags.error(arg->getLoc(), "'" + param.name + "' of '" +
                                         calleeName +
                                         "' must be 'true' or 'false'");
        break;
      }
    }
    return;
  }

  const FnDecl &method = *call.resolvedMethod;
  llvm::SmallVector<StringRef, 4> params;
  for (const FnArg &arg : method.getArgs())
    params.push_back(arg.name.name);
  if (!bindArgs(calleeName, params, params.size(), call.getArgs(),
                call.getKeywordArgs(), last.loc, method.getName(),
                method.getLoc(), call.boundArgs))
    return;
  for (ExprAST *arg : call.boundArgs)
    checkValue(*arg);
  size_t numResults = method.getResults().size();
  if (numResults != 1 && !allowMulti) {
    diags.error(last.loc, "'" + calleeName + "' returns " + Twine(numResults) +
                              " values and cannot be used as one; bind them "
                              "with 'let a, b = " + calleeName + "(...)'");
    noteDeclared(method.getName(), method.getLoc());
  }
}

bool NameResolver::bindArgs(StringRef callee, llvm::ArrayRef<StringRef> params,
                            unsigned numRequired, llvm::ArrayRef<ExprPtr> args,
                            llvm::ArrayRef<KeywordArg> keywordArgs,
                            SMLoc callLoc, StringRef declName, SMLoc declLoc,
                            llvm::SmallVectorImpl<ExprAST *> &bound) {
  auto expected = [&]() -> std::string {
    if (numRequired == params.size())
      return ("expected " + Twine(params.size())).str();
    return ("expected " + Twine(numRequired) + " to " + Twine(params.size()))
        .str();
  };
  auto noteDecl = [&] {
    if (declLoc.isValid())
      noteDeclared(declName, declLoc);
  };
  size_t given = args.size() + keywordArgs.size();
  if (args.size() > params.size()) {
    diags.error(args[params.size()]->getLoc(),
                "too many arguments to '" + callee + "': " + expected() +
                    ", got " + Twine(given));
    noteDecl();
    return false;
  }
  bound.assign(params.size(), nullptr);
  for (auto [i, arg] : llvm::enumerate(args))
    bound[i] = arg.get();
  bool ok = true;
  for (const KeywordArg &arg : keywordArgs) {
    const auto *it = llvm::find(params, arg.name.name);
    if (it == params.end()) {
      diags.error(arg.name.loc, "'" + callee + "' has no argument named '" +
                                    arg.name.name + "'" +
                                    suggest(arg.name.name, params));
      noteDecl();
      ok = false;
      continue;
    }
    size_t index = it - params.begin();
    if (bound[index]) {
      diags.error(arg.name.loc, "argument '" + arg.name.name + "' of '" +
                                    callee + "' is given twice");
      ok = false;
      continue;
    }
    bound[index] = arg.value.get();
  }
  if (!ok)
    return false;
  for (unsigned i = 0; i < numRequired; ++i) {
    if (bound[i])
      continue;
    if (keywordArgs.empty())
      diags.error(callLoc, "too few arguments to '" + callee + "': " +
                               expected() + ", got " + Twine(given));
    else
      diags.error(callLoc, "missing argument '" + params[i] + "' in call to '" +
                               callee + "'");
    noteDecl();
    return false;
  }
  return true;
}

} // namespace

bool kiln::resolveNames(FileAST &file, Diagnostics &diags) {
  return NameResolver(diags).run(file);
}

const ModuleDecl *kiln::selectTopModule(const FileAST &file,
                                        StringRef requested,
                                        Diagnostics &diags) {
  const ModuleDecl *top = nullptr;
  if (!requested.empty()) {
    for (const auto &decl : file.modules)
      if (decl->getName() == requested)
        top = decl.get();
    if (!top) {
      diags.error(SMLoc(), "no module named '" + requested + "'");
      return nullptr;
    }
  } else {
    for (const auto &decl : file.modules)
      if (decl->hasExports())
        top = decl.get();
    if (!top) {
      diags.error(SMLoc(), "no module has an 'export fn': nothing to compile");
      return nullptr;
    }
  }
  if (!top->getCtorParams().empty()) {
    diags.error(top->getLoc(),
                "module '" + top->getName() +
                    "' takes constructor arguments, so it cannot be the "
                    "compiled model; wrap it in a module that instantiates it");
    return nullptr;
  }
  if (!top->hasExports()) {
    diags.error(top->getLoc(), "module '" + top->getName() +
                                   "' has no 'export fn': nothing to compile");
    return nullptr;
  }
  return top;
}
