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

/// A constructor argument's value: an int, a float, or a bool (0 or 1).
struct CtorValue {
  CtorType type = CtorType::Int;
  int64_t intValue = 0;
  double floatValue = 0;

  static CtorValue getInt(int64_t v) { return {CtorType::Int, v, 0}; }
  static CtorValue getFloat(double v) { return {CtorType::Float, 0, v}; }
  static CtorValue getBool(bool v) { return {CtorType::Bool, v, 0}; }
  double asDouble() const { return type == CtorType::Float ? floatValue : double(intValue); }
  /// `64`, `0.7`, `true`: as a Kiln literal, exact enough to tell values
  /// apart (instance keys are built from it).
  std::string str() const;
};

struct InstanceParam {
  const ParamDecl *decl;
  /// The PyTorch `state_dict` name: instance path, then the param's name.
  std::string path;
  /// Static shape; std::nullopt if its dims could not be evaluated.
  std::optional<TensorType> type;
};

class Instance {
public:
  Instance(const ModuleDecl &decl, llvm::SmallVector<CtorValue, 4> ctorArgs, std::string path,
           const InstanceDecl *declaredBy)
      : decl(decl), ctorArgs(std::move(ctorArgs)), path(std::move(path)), declaredBy(declaredBy) {
    for (const CtorValue &value : this->ctorArgs)
      ctorValues.push_back(value.intValue);
  }

  const ModuleDecl &getDecl() const { return decl; }
  /// The constructor arguments as integers, for evaluateStaticInt (a bool
  /// is 0 or 1; a float reads as 0, and Sema keeps floats out of integer
  /// contexts).
  llvm::ArrayRef<int64_t> getCtorValues() const { return ctorValues; }
  llvm::ArrayRef<CtorValue> getCtorArgs() const { return ctorArgs; }
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

  /// The instance a single-instance declaration created.
  Instance *getChild(const InstanceDecl *decl) const { return childByDecl.lookup(decl); }
  /// The elements of a list declaration (`layers = [Block(64); 2]`).
  llvm::ArrayRef<Instance *> getListElements(const InstanceDecl *decl) const {
    auto it = listByDecl.find(decl);
    if (it == listByDecl.end())
      return {};
    return it->second;
  }
  const InstanceParam *getParam(const ParamDecl *decl) const;
  llvm::ArrayRef<std::unique_ptr<Instance>> getChildren() const { return children; }
  /// Own parameters first, then each child's, depth-first, all in
  /// declaration order: the order of PyTorch's `state_dict()`.
  void collectParams(llvm::SmallVectorImpl<const InstanceParam *> &out) const;

private:
  friend class Instantiator;
  const ModuleDecl &decl;
  llvm::SmallVector<CtorValue, 4> ctorArgs;
  llvm::SmallVector<int64_t, 4> ctorValues;
  std::string path;
  const InstanceDecl *declaredBy;
  std::vector<InstanceParam> params;
  std::vector<std::unique_ptr<Instance>> children;
  llvm::DenseMap<const InstanceDecl *, Instance *> childByDecl;
  llvm::DenseMap<const InstanceDecl *, llvm::SmallVector<Instance *, 4>> listByDecl;
};

/// Values for the top module's constructor arguments, as written on the
/// command line (`kilnc -D depth=2`): name and text.
using Settings = std::vector<std::pair<std::string, std::string>>;

/// Builds the instance tree under `top`, whose constructor arguments take
/// their defaults except those `settings` gives. Reports unknown or
/// ill-typed settings, bad parameter dims and constructor arguments; returns
/// null if a setting is bad or the tree is unusable (too many instances).
std::unique_ptr<Instance> instantiate(const ModuleDecl &top, const Settings &settings,
                                      Diagnostics &diags);

/// Evaluates a compile-time integer (literals, constructor arguments of
/// `ctorValues`' module, + - * / with exact division). Reports overflow,
/// division by zero and inexact division.
std::optional<int64_t> evaluateStaticInt(const ExprAST &expr, llvm::ArrayRef<int64_t> ctorValues,
                                         Diagnostics &diags);

/// Evaluates a constructor argument (or a default) over the constructor
/// arguments `scope` of the module it is written in: literals, arguments,
/// + - * / (integers stay integers with exact division; a float operand
/// makes the result a float).
std::optional<CtorValue> evaluateCtorValue(const ExprAST &expr, llvm::ArrayRef<CtorValue> scope,
                                           Diagnostics &diags);

/// Evaluates a type in an instance: dims become static sizes (which must be
/// positive) or symbols.
std::optional<TensorType> evaluateType(const TypeAST &type, llvm::ArrayRef<int64_t> ctorValues,
                                       Diagnostics &diags);

} // namespace kiln

#endif // KILN_FRONTEND_INSTANCE_H
