//===- SemaBodies.cpp - Name resolution in function bodies ----------------===//
//
// Statements, loops, names, calls and argument binding: the half of Sema
// that walks method bodies (Sema.cpp has the declarations).
//
//===----------------------------------------------------------------------===//
#include "frontend/NameResolver.h"
#include "frontend/Sema.h"

#include "frontend/Builtins.h"

#include "llvm/ADT/STLExtras.h"

using namespace kiln;
using namespace kiln::sema;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

void NameResolver::checkFn(const FnDecl &fn) {
  currentFn = &fn;
  locals.clear();
  symbols.clear();
  loopVars.clear();
  signatureHasEllipsis = false;
  if (fn.isExport() && llvm::is_contained(kReservedEntryNames, fn.getName()))
    diags.error(fn.getLoc(), "'" + fn.getName() + "' cannot be exported: NAME_" + fn.getName() +
                                 " is part of the generated C API");

  llvm::StringMap<SMLoc> argLocs;
  for (const FnArg &arg : fn.getArgs()) {
    auto [it, inserted] = argLocs.try_emplace(arg.name.name, arg.name.loc);
    if (!inserted) {
      diags.error(arg.name.loc, "redefinition of argument '" + arg.name.name + "'");
      diags.note(it->second, "previous definition is here");
    }
    locals.insert(arg.name.name);
    checkType(arg.type, DimContext::Signature);
  }
  for (const TypeAST &result : fn.getResults())
    checkType(result, DimContext::Result);
  if (fn.isExport() && fn.isRankGeneric())
    diags.error(fn.getLoc(), "'" + fn.getName() +
                                 "' cannot be exported: an entry point needs "
                                 "a fixed rank, not '...'");

  bool returned = false, reportedDeadCode = false;
  for (const auto &stmt : fn.getBody()) {
    if (returned && !reportedDeadCode) {
      diags.error(stmt->getLoc(),
                  "statement after 'return' in '" + fn.getName() + "' is never executed");
      reportedDeadCode = true;
    }
    checkStatement(*stmt, fn);
    returned |= llvm::isa<ReturnStmtAST>(stmt.get());
    if (diags.shouldStop())
      return;
  }
  if (!returned)
    diags.error(fn.getEndLoc(), "function '" + fn.getName() + "' must end with a 'return'");
}

void NameResolver::checkStatement(StmtAST &stmt, const FnDecl &fn) {
  if (auto *let = llvm::dyn_cast<LetStmtAST>(&stmt)) {
    size_t numNames = let->getNames().size();
    checkValue(let->getValue(), /*allowMulti=*/numNames > 1);
    unsigned numValues = countValues(let->getValue());
    if (numNames > 1 && numValues != numNames)
      diags.error(let->getValue().getLoc(), "'let' binds " + Twine(numNames) +
                                                " names but the value gives " + Twine(numValues));
    if (const TypeAST *type = let->getType())
      checkType(*type, DimContext::Let);
    // Names become visible after their value: `let x = x + 1` reads the
    // previous `x`. Rebinding a name shadows it.
    for (const Ident &name : let->getNames())
      locals.insert(name.name);
    return;
  }
  if (auto *assign = llvm::dyn_cast<AssignStmtAST>(&stmt)) {
    checkValue(assign->getValue());
    const Ident &name = assign->getName();
    if (!locals.contains(name.name)) {
      if (module->lookupCtorParam(name.name) || module->lookupMember(name.name) ||
          loopVars.count(name.name))
        diags.error(name.loc, "cannot assign to '" + name.name +
                                  "': only 'let' names and arguments can be "
                                  "rebound");
      else
        diags.error(name.loc, "unknown name '" + name.name + "'; declare it with 'let " +
                                  name.name + " = ...'");
    }
    return;
  }
  if (auto *loop = llvm::dyn_cast<ForStmtAST>(&stmt)) {
    checkFor(*loop, fn);
    return;
  }
  auto &ret = llvm::cast<ReturnStmtAST>(stmt);
  auto values = ret.getValues();
  bool single = values.size() == 1;
  for (const ExprPtr &value : values)
    checkValue(*value, /*allowMulti=*/single);
  unsigned numValues = single ? countValues(*values.front()) : values.size();
  if (numValues != fn.getResults().size()) {
    diags.error(ret.getLoc(), "'" + fn.getName() + "' returns " + Twine(fn.getResults().size()) +
                                  (fn.getResults().size() == 1 ? " value" : " values") +
                                  ", but this 'return' gives " + Twine(numValues));
    noteDeclared(fn.getName(), fn.getLoc());
  }
}

void NameResolver::checkFor(ForStmtAST &loop, const FnDecl &fn) {
  llvm::SmallVector<InstanceStep, 2> steps;
  const ModuleDecl *element = walkInstances(loop.getList(), steps, /*allowList=*/true);
  if (element) {
    const InstanceDecl *list = steps.back().decl;
    if (!list->isList() || loop.getList().back().index) {
      const PathPart &last = loop.getList().back();
      diags.error(last.loc, "'" + last.name + (last.index ? "[...]" : "") +
                                "' is not a list of modules; 'for' loops over "
                                "lists such as 'layers = [Block(64); 2]'");
      noteDeclared(list->getName(), list->getLoc());
      element = nullptr;
    } else {
      steps.back().loop = &loop;
      loop.resolvedList = steps;
    }
  }
  if (const auto &range = loop.getRange()) {
    if (range->start)
      checkStaticInt(*range->start, "the start of a loop's range");
    if (range->end)
      checkStaticInt(*range->end, "the end of a loop's range");
  }
  // The loop variable and the body's `let`s are scoped to the body;
  // assignments to outer names persist.
  const Ident &var = loop.getVar();
  std::optional<LoopVar> shadowed;
  if (auto it = loopVars.find(var.name); it != loopVars.end())
    shadowed = it->second;
  // A loop whose list failed stays a (poisoned) loop variable, so that its
  // uses in the body are not reported as unknown names too.
  loopVars[var.name] = LoopVar{steps, element};
  llvm::StringSet<> outer = locals;
  locals.erase(var.name);
  for (const StmtPtr &stmt : loop.getBody()) {
    if (llvm::isa<ReturnStmtAST>(stmt.get())) {
      diags.error(stmt->getLoc(), "'return' cannot be inside a 'for' loop");
      continue;
    }
    checkStatement(*stmt, fn);
    if (diags.shouldStop())
      break;
  }
  locals = std::move(outer);
  if (shadowed)
    loopVars[var.name] = *shadowed;
  else
    loopVars.erase(var.name);
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

const ModuleDecl *NameResolver::walkInstances(llvm::ArrayRef<PathPart> path,
                                              llvm::SmallVectorImpl<InstanceStep> &walked,
                                              bool allowList) {
  const ModuleDecl *current = module;
  for (auto [i, part] : llvm::enumerate(path)) {
    // A loop variable stands for the instances walked to its list.
    if (i == 0) {
      auto it = loopVars.find(part.name);
      if (it != loopVars.end()) {
        if (part.index) {
          diags.error(part.loc, "'" + part.name +
                                    "' is one module of a list, not a list; "
                                    "it cannot be indexed");
          return nullptr;
        }
        walked.append(it->second.steps.begin(), it->second.steps.end());
        current = it->second.module;
        if (!current)
          return nullptr; // Its list was reported.
        continue;
      }
    }
    const MemberDecl *member = current->lookupMember(part.name);
    auto *instance = llvm::dyn_cast_or_null<InstanceDecl>(member);
    if (!instance) {
      if (member) {
        diags.error(part.loc, "'" + part.name + "' is not a module instance");
        noteDeclared(part.name, member->getLoc());
      } else {
        diags.error(part.loc, current == module
                                  ? "unknown name '" + part.name + "'"
                                  : "module '" + current->getName() + "' has no instance named '" +
                                        part.name + "'");
      }
      return nullptr;
    }
    InstanceStep step{instance, part.index.get(), nullptr};
    bool isLast = i + 1 == path.size();
    if (part.index) {
      if (!instance->isList()) {
        diags.error(part.loc, "'" + part.name +
                                  "' is a single module, not a list; it "
                                  "cannot be indexed");
        noteDeclared(part.name, instance->getLoc());
        return nullptr;
      }
      checkStaticInt(*part.index, "a list index");
    } else if (instance->isList() && !(allowList && isLast)) {
      diags.error(part.loc, "'" + part.name + "' is a list of modules; index it ('" + part.name +
                                "[0]') or loop over it ('for " + "layer in " + part.name + "')");
      noteDeclared(part.name, instance->getLoc());
      return nullptr;
    }
    walked.push_back(step);
    current = instance->resolvedModule;
    if (!current)
      return nullptr; // Its module was unknown: already reported.
  }
  return current;
}

void NameResolver::resolveName(NameExprAST &name) {
  llvm::ArrayRef<PathPart> path = name.getPath();
  const PathPart &last = path.back();
  if (path.size() == 1 && !last.index) {
    if (auto it = loopVars.find(last.name); it != loopVars.end()) {
      if (it->second.module)
        diags.error(last.loc, "'" + last.name +
                                  "' is a module instance, not a value; "
                                  "call it as '" +
                                  last.name + "(...)'");
      return;
    }
    if (locals.contains(last.name)) {
      name.resolution = NameExprAST::Resolution::Local;
      return;
    }
    if (auto index = module->lookupCtorParam(last.name)) {
      if (module->getCtorParams()[*index].type == CtorType::Bool) {
        diags.error(last.loc, "'" + last.name +
                                  "' is a bool constructor argument, not a "
                                  "value; pass it as a flag such as "
                                  "'keepdim=" +
                                  last.name + "'");
        return;
      }
      name.resolution = NameExprAST::Resolution::CtorArg;
      name.resolvedCtorArg = *index;
      return;
    }
  }
  llvm::SmallVector<InstanceStep, 2> instances;
  const ModuleDecl *owner = walkInstances(path.drop_back(), instances);
  if (!owner)
    return;
  const MemberDecl *member = owner->lookupMember(last.name);
  if (last.index && member) {
    // `x[0]` of a value is a tensor subscript and never reaches here.
    if (!llvm::isa<InstanceDecl>(member)) {
      diags.error(last.loc, "'" + last.name +
                                "' is not a list of modules; "
                                "it cannot be indexed here");
      noteDeclared(last.name, member->getLoc());
      return;
    }
  }
  if (auto *param = llvm::dyn_cast_or_null<ParamDecl>(member)) {
    name.resolution = NameExprAST::Resolution::Param;
    name.resolvedInstances = std::move(instances);
    name.resolvedParam = param;
    return;
  }
  if (member) {
    StringRef kind = llvm::isa<FnDecl>(member)      ? "a function"
                     : llvm::isa<TrainDecl>(member) ? "a train entry"
                                                    : "a module instance";
    diags.error(last.loc, "'" + last.name + "' is " + kind + ", not a value; call it as '" +
                              last.name + "(...)'");
    noteDeclared(last.name, member->getLoc());
    return;
  }
  if (path.size() > 1) {
    diags.error(last.loc,
                "module '" + owner->getName() + "' has no parameter named '" + last.name + "'");
    return;
  }
  if (path.size() == 1 && lookupBuiltin(last.name)) {
    diags.error(last.loc, "'" + last.name +
                              "' is a builtin function, not a value; call it "
                              "as '" +
                              last.name + "(...)'");
    return;
  }
  llvm::SmallVector<StringRef> candidates;
  for (const auto &entry : locals)
    candidates.push_back(entry.getKey());
  for (const auto &entry : module->memberTable)
    candidates.push_back(entry.getKey());
  for (const CtorParam &param : module->getCtorParams())
    candidates.push_back(param.name.name);
  diags.error(last.loc, "unknown name '" + last.name + "'" + suggest(last.name, candidates));
}

void NameResolver::resolveCall(CallExprAST &call, bool allowMulti) {
  llvm::ArrayRef<PathPart> path = call.getCallee();
  const PathPart &last = path.back();
  llvm::SmallVector<InstanceStep, 2> instances;
  bool resolved = false;
  const ModuleDecl *owner = nullptr;
  if (call.isSugar) {
    // `x[:, 0]`: the parser named the builtin; no method may shadow it.
    call.resolvedBuiltin = lookupBuiltin(last.name);
    resolved = call.resolvedBuiltin != nullptr;
    if (!resolved)
      diags.error(last.loc, "subscripts need the builtin '" + last.name +
                                "', which this compiler does not have yet");
  } else if (path.size() == 1 && !last.index && loopVars.count(last.name)) {
    // `layer(x)` in `for layer in layers`: the element's `forward`.
    const ModuleDecl *target = walkInstances(path, instances, /*allowList=*/false);
    if (target) {
      auto *forward = llvm::dyn_cast_or_null<FnDecl>(target->lookupMember("forward"));
      if (forward) {
        call.resolvedMethod = forward;
        resolved = true;
      } else {
        diags.error(last.loc, "module '" + target->getName() + "' has no 'forward' method, so '" +
                                  last.name + "' cannot be called");
        noteDeclared(target->getName(), target->getLoc());
      }
    }
  } else {
    owner = walkInstances(path.drop_back(), instances);
  }
  if (owner) {
    const MemberDecl *member = owner->lookupMember(last.name);
    auto *asInstance = llvm::dyn_cast_or_null<InstanceDecl>(member);
    if (asInstance && asInstance->isList() && !last.index) {
      diags.error(last.loc, "'" + last.name +
                                "' is a list of modules and cannot be called; "
                                "call one element ('" +
                                last.name + "[0](x)') or loop over it");
      noteDeclared(last.name, asInstance->getLoc());
      member = nullptr;
      owner = nullptr;
    } else if (last.index && !(asInstance && asInstance->isList())) {
      diags.error(last.loc, "'" + last.name +
                                "' is not a list of modules; it cannot be "
                                "indexed");
      if (member)
        noteDeclared(last.name, member->getLoc());
      member = nullptr;
      owner = nullptr;
    } else if (last.index) {
      checkStaticInt(*last.index, "a list index");
    }
  }
  if (owner) {
    const MemberDecl *member = owner->lookupMember(last.name);
    if (auto *fn = llvm::dyn_cast_or_null<FnDecl>(member)) {
      call.resolvedMethod = fn;
      resolved = true;
    } else if (auto *instance = llvm::dyn_cast_or_null<InstanceDecl>(member)) {
      // Calling an instance calls its `forward`.
      instances.push_back(InstanceStep{instance, last.index.get(), nullptr});
      if (const ModuleDecl *target = instance->resolvedModule) {
        auto *forward = llvm::dyn_cast_or_null<FnDecl>(target->lookupMember("forward"));
        if (forward) {
          call.resolvedMethod = forward;
          resolved = true;
        } else {
          diags.error(last.loc, "module '" + target->getName() +
                                    "' has no 'forward' method, so instance '" + last.name +
                                    "' cannot be called");
          noteDeclared(target->getName(), target->getLoc());
        }
      }
    } else if (member && !llvm::isa<TrainDecl>(member)) {
      diags.error(last.loc, "'" + last.name + "' is a parameter, not a function");
      noteDeclared(last.name, member->getLoc());
    } else if (path.size() == 1 && lookupBuiltin(last.name)) {
      // A train entry is no function: it does not hide a builtin.
      call.resolvedBuiltin = lookupBuiltin(last.name);
      resolved = true;
    } else if (member) {
      diags.error(last.loc, "'" + last.name + "' is a train entry, not a function");
      noteDeclared(last.name, member->getLoc());
    } else if (path.size() > 1) {
      diags.error(last.loc, "module '" + owner->getName() + "' has no method or instance named '" +
                                last.name + "'");
    } else if (locals.contains(last.name) || module->lookupCtorParam(last.name)) {
      diags.error(last.loc, "'" + last.name + "' is a value, not a function");
    } else {
      llvm::SmallVector<StringRef> candidates;
      for (const BuiltinInfo &builtin : getBuiltins())
        candidates.push_back(builtin.name);
      for (const auto &entry : module->memberTable)
        if (!llvm::isa<ParamDecl>(entry.getValue()))
          candidates.push_back(entry.getKey());
      diags.error(last.loc,
                  "unknown function '" + last.name + "'" + suggest(last.name, candidates));
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
    if (!bindArgs(calleeName, params, numRequired, call.getArgs(), call.getKeywordArgs(), last.loc,
                  "", SMLoc(), call.boundArgs))
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
      case BuiltinParam::Float:
        checkValue(*arg);
        break;
      case BuiltinParam::Dim: {
        // A symbolic dim of the signature (`reshape(x, B, 4)`) or an integer.
        auto *name = llvm::dyn_cast<NameExprAST>(arg);
        if (name && name->getPath().size() == 1 && symbols.contains(name->getName()) &&
            !locals.contains(name->getName()))
          name->resolution = NameExprAST::Resolution::DimSymbol;
        else
          checkStaticInt(*arg, ("'" + param.name + "'").str());
        break;
      }
      case BuiltinParam::Bool:
        if (!llvm::isa<BoolExprAST>(arg) && !isBoolCtorArg(*arg))
          diags.error(arg->getLoc(),
                      "'" + param.name + "' of '" + calleeName + "' must be 'true' or 'false'");
        break;
      }
    }
    return;
  }

  const FnDecl &method = *call.resolvedMethod;
  llvm::SmallVector<StringRef, 4> params;
  for (const FnArg &arg : method.getArgs())
    params.push_back(arg.name.name);
  if (!bindArgs(calleeName, params, params.size(), call.getArgs(), call.getKeywordArgs(), last.loc,
                method.getName(), method.getLoc(), call.boundArgs))
    return;
  for (ExprAST *arg : call.boundArgs)
    checkValue(*arg);
  size_t numResults = method.getResults().size();
  if (numResults != 1 && !allowMulti) {
    diags.error(last.loc, "'" + calleeName + "' returns " + Twine(numResults) +
                              " values and cannot be used as one; bind them "
                              "with 'let a, b = " +
                              calleeName + "(...)'");
    noteDeclared(method.getName(), method.getLoc());
  }
}

bool NameResolver::bindArgs(StringRef callee, llvm::ArrayRef<StringRef> params,
                            unsigned numRequired, llvm::ArrayRef<ExprPtr> args,
                            llvm::ArrayRef<KeywordArg> keywordArgs, SMLoc callLoc,
                            StringRef declName, SMLoc declLoc,
                            llvm::SmallVectorImpl<ExprAST *> &bound) {
  auto expected = [&]() -> std::string {
    if (numRequired == params.size())
      return ("expected " + Twine(params.size())).str();
    return ("expected " + Twine(numRequired) + " to " + Twine(params.size())).str();
  };
  auto noteDecl = [&] {
    if (declLoc.isValid())
      noteDeclared(declName, declLoc);
  };
  size_t given = args.size() + keywordArgs.size();
  if (args.size() > params.size()) {
    diags.error(args[params.size()]->getLoc(),
                "too many arguments to '" + callee + "': " + expected() + ", got " + Twine(given));
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
      diags.error(arg.name.loc, "'" + callee + "' has no argument named '" + arg.name.name + "'" +
                                    suggest(arg.name.name, params));
      noteDecl();
      ok = false;
      continue;
    }
    size_t index = it - params.begin();
    if (bound[index]) {
      diags.error(arg.name.loc,
                  "argument '" + arg.name.name + "' of '" + callee + "' is given twice");
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
      diags.error(callLoc,
                  "too few arguments to '" + callee + "': " + expected() + ", got " + Twine(given));
    else
      diags.error(callLoc, "missing argument '" + params[i] + "' in call to '" + callee + "'");
    noteDecl();
    return false;
  }
  return true;
}
