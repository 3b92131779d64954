//===- Sema.cpp - Name resolution and structural checks -------------------===//
//
// Declarations: the module and member tables, instances and constructor
// arguments, parameter types and compile-time integers. Function bodies are
// in SemaBodies.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/Sema.h"
#include "frontend/NameResolver.h"

#include "frontend/Builtins.h"

#include "llvm/ADT/STLExtras.h"

using namespace kiln;
using namespace kiln::sema;
using llvm::SMLoc;
using llvm::StringRef;
using llvm::Twine;

std::string kiln::sema::suggest(StringRef name, llvm::ArrayRef<StringRef> candidates) {
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
        instance->resolvedModule = modules.lookup(instance->getModuleName().name);
  for (auto &decl : file.modules) {
    module = decl.get();
    checkCtorDefaults(*decl);
    for (const auto &member : decl->getMembers()) {
      if (diags.shouldStop())
        return false;
      if (auto *param = llvm::dyn_cast<ParamDecl>(member.get()))
        checkParam(*param);
      else if (auto *instance = llvm::dyn_cast<InstanceDecl>(member.get()))
        resolveInstance(*instance);
      else if (auto *train = llvm::dyn_cast<TrainDecl>(member.get()))
        checkTrain(*train);
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
      diags.error(decl->getLoc(), "redefinition of module '" + decl->getName() + "'");
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
    diags.error(name.loc, "redefinition of '" + name.name + "' in module '" + decl.getName() + "'");
    diags.note(it->second, "previous definition is here");
    return false;
  };
  for (auto [i, param] : llvm::enumerate(decl.getCtorParams()))
    if (define(param.name))
      decl.ctorParamIndex[param.name.name] = i;
  for (const auto &member : decl.getMembers())
    if (define(member->getIdent()))
      decl.memberTable[member->getName()] = member.get();
}

void NameResolver::resolveInstance(InstanceDecl &instance) {
  const Ident &name = instance.getModuleName();
  if (ExprAST *count = instance.getCount())
    checkStaticInt(*count, "the length of a list of modules");
  if (!instance.resolvedModule) {
    llvm::SmallVector<StringRef> candidates(modules.keys());
    diags.error(name.loc, "unknown module '" + name.name + "'" + suggest(name.name, candidates));
    return;
  }
  const ModuleDecl &target = *instance.resolvedModule;
  llvm::SmallVector<StringRef, 4> params;
  for (const CtorParam &param : target.getCtorParams())
    params.push_back(param.name.name);
  unsigned visible = module->getCtorParams().size();
  if (!bindArgs(target.getName(), params, target.getNumRequiredCtorParams(), instance.getArgs(),
                instance.getKeywordArgs(), name.loc, target.getName(), target.getLoc(),
                instance.boundArgs)) {
    // Look inside the arguments anyway, for more errors.
    for (const ExprPtr &arg : instance.getArgs())
      checkCtorExpr(*arg, visible);
    return;
  }
  for (auto [param, arg] : llvm::zip(target.getCtorParams(), instance.boundArgs)) {
    if (!arg)
      continue;
    std::optional<CtorType> type = checkCtorExpr(*arg, visible);
    // An int may stand for a float, nothing else converts.
    if (!type || *type == param.type || (*type == CtorType::Int && param.type == CtorType::Float))
      continue;
    diags.error(arg->getStartLoc(), "constructor argument '" + param.name.name + "' of '" +
                                        target.getName() + "' has type '" +
                                        getCtorTypeName(param.type) + "', got '" +
                                        getCtorTypeName(*type) + "'");
    diags.note(param.name.loc, "'" + param.name.name + "' declared here");
  }
}

void NameResolver::checkCtorDefaults(ModuleDecl &decl) {
  for (auto [i, param] : llvm::enumerate(decl.getCtorParams())) {
    if (!param.defaultValue)
      continue;
    std::optional<CtorType> type = checkCtorExpr(*param.defaultValue, i);
    if (type && *type != param.type && !(*type == CtorType::Int && param.type == CtorType::Float))
      diags.error(param.defaultValue->getStartLoc(),
                  "default value of '" + param.name.name + "' has type '" + getCtorTypeName(*type) +
                      "', but '" + param.name.name + "' is declared '" +
                      getCtorTypeName(param.type) + "'");
  }
}

std::optional<CtorType> NameResolver::checkCtorExpr(ExprAST &expr, unsigned visible) {
  const char *kWhat = "a constructor argument must be a compile-time value "
                      "(literals, constructor arguments and + - * /)";
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    return CtorType::Int;
  case ExprAST::Expr_Float:
    return CtorType::Float;
  case ExprAST::Expr_Bool:
    return CtorType::Bool;
  case ExprAST::Expr_Name: {
    auto &name = llvm::cast<NameExprAST>(expr);
    auto index =
        name.getPath().size() == 1 ? module->lookupCtorParam(name.getName()) : std::nullopt;
    if (!index) {
      diags.error(expr.getLoc(), "'" + name.getName() + "' is not a constructor argument of '" +
                                     module->getName() + "': " + kWhat);
      return std::nullopt;
    }
    if (*index >= visible) {
      diags.error(expr.getLoc(), "the default value of a constructor "
                                 "argument can only use the arguments "
                                 "before it, not '" +
                                     name.getName() + "'");
      return std::nullopt;
    }
    name.resolution = NameExprAST::Resolution::CtorArg;
    name.resolvedCtorArg = *index;
    return module->getCtorParams()[*index].type;
  }
  case ExprAST::Expr_Unary: {
    auto type = checkCtorExpr(llvm::cast<UnaryExprAST>(expr).getOperand(), visible);
    if (type == CtorType::Bool) {
      diags.error(expr.getLoc(), "'-' cannot be applied to a bool");
      return std::nullopt;
    }
    return type;
  }
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    if (binary.getOp() == BinaryOp::MatMul) {
      diags.error(expr.getLoc(), "'@' cannot be used in a constructor "
                                 "argument");
      return std::nullopt;
    }
    auto lhs = checkCtorExpr(binary.getLHS(), visible);
    auto rhs = checkCtorExpr(binary.getRHS(), visible);
    if (!lhs || !rhs)
      return std::nullopt;
    if (*lhs == CtorType::Bool || *rhs == CtorType::Bool) {
      diags.error(expr.getLoc(),
                  "'" + getBinaryOpSpelling(binary.getOp()) + "' cannot be applied to a bool");
      return std::nullopt;
    }
    return *lhs == CtorType::Float || *rhs == CtorType::Float ? CtorType::Float : CtorType::Int;
  }
  case ExprAST::Expr_Call:
    diags.error(expr.getLoc(), kWhat);
    return std::nullopt;
  }
  return std::nullopt;
}

void NameResolver::checkParam(const ParamDecl &param) {
  checkType(param.getType(), DimContext::Param);
}

//===----------------------------------------------------------------------===//
// Types and compile-time integers
//===----------------------------------------------------------------------===//

void NameResolver::checkType(const TypeAST &type, DimContext context) {
  if (type.hasEllipsis()) {
    // `...` stands for leading dims a method takes from its caller.
    if (context == DimContext::Signature) {
      signatureHasEllipsis = true;
    } else if (context != DimContext::Result || !signatureHasEllipsis) {
      diags.error(type.ellipsisLoc, context == DimContext::Result
                                        ? "'...' in a result type needs an argument type "
                                          "with '...'"
                                        : "'...' is only allowed in the argument and result "
                                          "types of a method");
    }
  }
  for (const ExprPtr &dim : type.dims) {
    auto *name = llvm::dyn_cast<NameExprAST>(dim.get());
    if (!name || name->getPath().size() != 1 || name->getPath()[0].index) {
      checkStaticInt(*dim, "a dimension");
      continue;
    }
    StringRef text = name->getName();
    if (module->lookupCtorParam(text)) {
      checkStaticInt(*dim, "a dimension");
      continue;
    }
    switch (context) {
    case DimContext::Param:
      diags.error(name->getLoc(), "'" + text + "' is not a constructor argument of '" +
                                      module->getName() +
                                      "': parameter dims must be known at compile time");
      continue;
    case DimContext::Signature:
      symbols.insert(text);
      break;
    case DimContext::Result:
    case DimContext::Let:
      if (!symbols.contains(text)) {
        diags.error(name->getLoc(), "symbolic dim '" + text + "' does not appear in the " +
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
        CtorType type = module->getCtorParams()[*index].type;
        if (type != CtorType::Int) {
          diags.error(expr.getLoc(), "'" + name.getName() + "' is a " + getCtorTypeName(type) +
                                         " constructor argument: " + what +
                                         " must be a compile-time integer");
          return;
        }
        name.resolution = NameExprAST::Resolution::CtorArg;
        name.resolvedCtorArg = *index;
        return;
      }
    }
    diags.error(expr.getLoc(), "'" + name.getName() + "' is not a constructor argument of '" +
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

bool kiln::resolveNames(FileAST &file, Diagnostics &diags) { return NameResolver(diags).run(file); }

const ModuleDecl *kiln::selectTopModule(const FileAST &file, StringRef requested,
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
    // Among the main file's modules: imported ones are libraries.
    size_t firstMain = file.modules.size() - std::min(file.numMainModules, file.modules.size());
    for (const auto &decl : llvm::drop_begin(file.modules, firstMain))
      if (decl->hasExports())
        top = decl.get();
    if (!top) {
      diags.error(SMLoc(), "no module has an 'export fn': nothing to compile");
      return nullptr;
    }
  }
  if (top->getNumRequiredCtorParams() != 0) {
    diags.error(top->getLoc(), "module '" + top->getName() +
                                   "' takes constructor arguments, so it cannot be the "
                                   "compiled model; wrap it in a module that instantiates it");
    return nullptr;
  }
  if (!top->hasExports()) {
    diags.error(top->getLoc(),
                "module '" + top->getName() + "' has no 'export fn': nothing to compile");
    return nullptr;
  }
  return top;
}
