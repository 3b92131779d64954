//===- Instance.h - Modules instantiated with concrete arguments -*- C++ -*-===//
//
// The compiled model is a tree of instances rooted at the top module: each
// instance is a module declaration plus the integer values of its
// constructor arguments, and owns its parameters with fully static shapes and
// their `state_dict` paths (`encoder.fc1.weight`). Shape checking and MLIR
// generation run per instance, like template instantiation in C++.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_INSTANCE_H
#define KILN_FRONTEND_INSTANCE_H

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

#include "llvm/ADT/DenseMap.h"

namespace kiln {

struct InstanceParam {
  const ParamDecl *decl;
  /// The PyTorch `state_dict` name: instance path, then the param's name.
  std::string path;
  /// Static shape; std::nullopt if its dims could not be evaluated.
  std::optional<TensorType> type;
};

class Instance {
public:
  Instance(const ModuleDecl &decl, llvm::SmallVector<int64_t, 4> ctorValues,
           std::string path, const InstanceDecl *declaredBy)
      : decl(decl), ctorValues(std::move(ctorValues)), path(std::move(path)),
        declaredBy(declaredBy) {}

  const ModuleDecl &getDecl() const { return decl; }
  llvm::ArrayRef<int64_t> getCtorValues() const { return ctorValues; }
  /// "" for the top instance, else `fc1` or `encoder.fc1`.
  llvm::StringRef getPath() const { return path; }
  /// The declaration that created this instance; null for the top one.
  const InstanceDecl *getDeclaredBy() const { return declaredBy; }

  /// `Linear(64, 128)`: identifies the instance's behaviour. Instances with
  /// equal keys check identically (only their parameter paths differ).
  std::string getKey() const;
  /// "in instance 'fc1' = Linear(64, 128)", the context note of errors
  /// found while checking this instance.
  std::string describe() const;

  Instance *getChild(const InstanceDecl *decl) const {
    return childByDecl.lookup(decl);
  }
  const InstanceParam *getParam(const ParamDecl *decl) const;
  llvm::ArrayRef<std::unique_ptr<Instance>> getChildren() const {
    return children;
  }
  /// Own parameters first, then each child's, depth-first, all in
  /// declaration order: the order of PyTorch's `state_dict()`.
  void collectParams(llvm::SmallVectorImpl<const InstanceParam *> &out) const;

private:
  friend class Instantiator;
  const ModuleDecl &decl;
  llvm::SmallVector<int64_t, 4> ctorValues;
  std::string path;
  const InstanceDecl *declaredBy;
  std::vector<InstanceParam> params;
  std::vector<std::unique_ptr<Instance>> children;
  llvm::DenseMap<const InstanceDecl *, Instance *> childByDecl;
};

/// Builds the instance tree under `top` (which takes no arguments). Reports
/// bad parameter dims and constructor arguments; returns null only if the
/// tree is unusable (too many instances).
std::unique_ptr<Instance> instantiate(const ModuleDecl &top,
                                      Diagnostics &diags);

/// Evaluates a compile-time integer (literals, constructor arguments of
/// `ctorValues`' module, + - * / with exact division). Reports overflow,
/// division by zero and inexact division.
std::optional<int64_t> evaluateStaticInt(const ExprAST &expr,
                                         llvm::ArrayRef<int64_t> ctorValues,
                                         Diagnostics &diags);

/// Evaluates a type in an instance: dims become static sizes (which must be
/// positive) or symbols.
std::optional<TensorType> evaluateType(const TypeAST &type,
                                       llvm::ArrayRef<int64_t> ctorValues,
                                       Diagnostics &diags);

} // namespace kiln

#endif // KILN_FRONTEND_INSTANCE_H
