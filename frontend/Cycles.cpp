//===- Cycles.cpp - No module contains itself, no call recurs -------------===//
//
// Instances are instantiated and calls inlined, so a module that contains
// itself or a function that calls itself (directly or not) would never
// finish compiling. Both are depth-first searches over the resolved AST; a
// back edge is the error. The searches also bound their own depth, so that
// a pathologically deep (acyclic) file cannot exhaust the stack.
//
//===----------------------------------------------------------------------===//
#include "frontend/Sema.h"

#include "llvm/ADT/DenseMap.h"
#include <functional>

using namespace kiln;
using llvm::SMLoc;
using llvm::Twine;

namespace {

/// Real models nest a few levels deep.
constexpr unsigned kMaxNesting = 100;

class CycleChecker {
public:
  explicit CycleChecker(Diagnostics &diags) : diags(diags) {}

  void checkInstances(FileAST &file) {
    for (auto &decl : file.modules)
      if (moduleState.lookup(decl.get()) == Unvisited)
        visitModule(*decl, 0);
  }

  void checkCalls(FileAST &file) {
    for (auto &decl : file.modules)
      for (const auto &member : decl->getMembers())
        if (auto *fn = llvm::dyn_cast<FnDecl>(member.get()))
          collectCalls(*fn);
    for (auto &decl : file.modules)
      for (const auto &member : decl->getMembers())
        if (auto *fn = llvm::dyn_cast<FnDecl>(member.get()))
          if (fnState.lookup(fn) == Unvisited)
            visitFn(*fn, 0);
  }

private:
  enum State { Unvisited, Active, Done };

  void visitModule(const ModuleDecl &decl, unsigned depth) {
    moduleState[&decl] = Active;
    for (const auto &member : decl.getMembers()) {
      auto *instance = llvm::dyn_cast<InstanceDecl>(member.get());
      if (!instance || !instance->resolvedModule)
        continue;
      const ModuleDecl &target = *instance->resolvedModule;
      State state = moduleState.lookup(&target);
      if (state == Active) {
        diags.error(instance->getLoc(), "instance '" + instance->getName() + "' makes module '" +
                                            target.getName() + "' contain itself");
        // Break the cycle: nothing downstream may follow it.
        instance->resolvedModule = nullptr;
      } else if (state == Unvisited) {
        if (depth + 1 >= kMaxNesting) {
          diags.error(instance->getLoc(),
                      "instances are nested more than " + Twine(kMaxNesting) + " deep");
          instance->resolvedModule = nullptr;
          continue;
        }
        visitModule(target, depth + 1);
      }
    }
    moduleState[&decl] = Done;
  }

  struct CallEdge {
    const FnDecl *callee;
    SMLoc loc;
  };

  void collectCalls(const FnDecl &fn) {
    llvm::SmallVector<CallEdge, 4> &edges = calls[&fn];
    // Expressions nest at most Parser::kMaxExprDepth deep.
    std::function<void(const ExprAST &)> walk = [&](const ExprAST &expr) {
      if (auto *call = llvm::dyn_cast<CallExprAST>(&expr)) {
        if (call->resolvedMethod)
          edges.push_back({call->resolvedMethod, call->getLoc()});
        for (const ExprPtr &arg : call->getArgs())
          walk(*arg);
        for (const KeywordArg &arg : call->getKeywordArgs())
          walk(*arg.value);
      } else if (auto *binary = llvm::dyn_cast<BinaryExprAST>(&expr)) {
        walk(binary->getLHS());
        walk(binary->getRHS());
      } else if (auto *unary = llvm::dyn_cast<UnaryExprAST>(&expr)) {
        walk(unary->getOperand());
      }
    };
    // Loops nest at most as deep as the parser's recursion allowed.
    std::function<void(llvm::ArrayRef<StmtPtr>)> walkBlock = [&](llvm::ArrayRef<StmtPtr> body) {
      for (const StmtPtr &stmt : body) {
        if (auto *let = llvm::dyn_cast<LetStmtAST>(stmt.get()))
          walk(let->getValue());
        else if (auto *assign = llvm::dyn_cast<AssignStmtAST>(stmt.get()))
          walk(assign->getValue());
        else if (auto *loop = llvm::dyn_cast<ForStmtAST>(stmt.get()))
          walkBlock(loop->getBody());
        else
          for (const ExprPtr &value : llvm::cast<ReturnStmtAST>(*stmt).getValues())
            walk(*value);
      }
    };
    walkBlock(fn.getBody());
  }

  void visitFn(const FnDecl &fn, unsigned depth) {
    fnState[&fn] = Active;
    for (const CallEdge &edge : calls.lookup(&fn)) {
      State state = fnState.lookup(edge.callee);
      if (state == Active) {
        diags.error(edge.loc, "recursive call to '" + edge.callee->getName() +
                                  "': calls are inlined, so a function "
                                  "cannot call itself");
      } else if (state == Unvisited) {
        if (depth + 1 >= kMaxNesting) {
          diags.error(edge.loc, "calls are nested more than " + Twine(kMaxNesting) + " deep");
          continue;
        }
        visitFn(*edge.callee, depth + 1);
      }
    }
    fnState[&fn] = Done;
  }

  Diagnostics &diags;
  llvm::DenseMap<const ModuleDecl *, State> moduleState;
  llvm::DenseMap<const FnDecl *, State> fnState;
  llvm::DenseMap<const FnDecl *, llvm::SmallVector<CallEdge, 4>> calls;
};

} // namespace

void kiln::checkCycles(FileAST &file, Diagnostics &diags) {
  CycleChecker checker(diags);
  checker.checkInstances(file);
  checker.checkCalls(file);
}
