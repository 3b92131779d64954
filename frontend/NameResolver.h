//===- NameResolver.h - Sema's resolver, shared by its files ---*- C++ -*-===//
//
// Internal to Sema: the resolver walks declarations (Sema.cpp) and function
// bodies (SemaBodies.cpp), keeping the state of the function being checked.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_NAMERESOLVER_H
#define KILN_FRONTEND_NAMERESOLVER_H

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace kiln::sema {

/// Entry names that would collide with the generated C API (`NAME_create`).
inline constexpr llvm::StringLiteral kReservedEntryNames[] = {"create", "destroy", "last_error",
                                                              "save_weights"};

/// "; did you mean 'relu'?" for the closest candidate, or "".
std::string suggest(llvm::StringRef name, llvm::ArrayRef<llvm::StringRef> candidates);

class NameResolver {
public:
  explicit NameResolver(Diagnostics &diags) : diags(diags) {}
  bool run(FileAST &file);

private:
  // Declarations.
  void buildModuleTable(FileAST &file);
  void buildMemberTable(ModuleDecl &module);
  void resolveInstance(InstanceDecl &instance);
  void checkCtorDefaults(ModuleDecl &decl);
  void checkParam(const ParamDecl &param);
  void checkFn(const FnDecl &fn);
  void checkTrain(TrainDecl &train); // SemaTrain.cpp

  // Types and compile-time values.
  enum class DimContext { Param, Signature, Result, Let };
  void checkType(const TypeAST &type, DimContext context);
  void checkStaticInt(ExprAST &expr, llvm::StringRef what);
  /// Checks a constructor argument (or default) and returns its type;
  /// `visible` bounds which of the module's constructor arguments it may
  /// read (a default sees only the ones before it).
  std::optional<CtorType> checkCtorExpr(ExprAST &expr, unsigned visible);

  // Function bodies.
  void checkStatement(StmtAST &stmt, const FnDecl &fn);
  void checkFor(ForStmtAST &loop, const FnDecl &fn);
  void checkValue(ExprAST &expr, bool allowMulti = false);
  void resolveName(NameExprAST &name);
  void resolveCall(CallExprAST &call, bool allowMulti);
  /// The number of values an expression produces (a call to a method with
  /// several results produces several).
  static unsigned countValues(const ExprAST &expr);

  /// Binds positional and keyword arguments to parameters by name. Reports
  /// wrong counts, unknown and repeated keywords; returns false if any.
  bool bindArgs(llvm::StringRef callee, llvm::ArrayRef<llvm::StringRef> params,
                unsigned numRequired, llvm::ArrayRef<ExprPtr> args,
                llvm::ArrayRef<KeywordArg> keywordArgs, llvm::SMLoc callLoc,
                llvm::StringRef declName, llvm::SMLoc declLoc,
                llvm::SmallVectorImpl<ExprAST *> &bound);

  /// Walks `a.b[0]` through instances (and loop variables). Returns the
  /// module reached, or null after reporting. A list must be indexed
  /// unless `allowList` (the list of a `for` loop).
  const ModuleDecl *walkInstances(llvm::ArrayRef<PathPart> path,
                                  llvm::SmallVectorImpl<InstanceStep> &walked,
                                  bool allowList = false);
  /// A bool constructor argument used as a flag (`causal=causal`);
  /// resolves it.
  bool isBoolCtorArg(ExprAST &expr) {
    auto *name = llvm::dyn_cast<NameExprAST>(&expr);
    if (!name || name->getPath().size() != 1 || name->getPath()[0].index)
      return false;
    auto index = module->lookupCtorParam(name->getName());
    if (!index || module->getCtorParams()[*index].type != CtorType::Bool)
      return false;
    name->resolution = NameExprAST::Resolution::CtorArg;
    name->resolvedCtorArg = *index;
    return true;
  }
  void noteDeclared(llvm::StringRef name, llvm::SMLoc loc) {
    diags.note(loc, "'" + name + "' declared here");
  }

  Diagnostics &diags;
  llvm::StringMap<ModuleDecl *> modules;

  // State while checking one function.
  ModuleDecl *module = nullptr;
  const FnDecl *currentFn = nullptr;
  llvm::StringSet<> locals;
  llvm::StringSet<> symbols; // symbolic dims of the signature
  /// `for layer in layers`: the instances a loop variable stands for.
  struct LoopVar {
    llvm::SmallVector<InstanceStep, 2> steps;
    const ModuleDecl *module;
  };
  llvm::StringMap<LoopVar> loopVars;
  /// Whether the signature has `...` dims.
  bool signatureHasEllipsis = false;
};

} // namespace kiln::sema

#endif // KILN_FRONTEND_NAMERESOLVER_H
