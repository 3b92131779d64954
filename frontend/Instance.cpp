//===- Instance.cpp - Modules instantiated with concrete arguments --------===//
#include "frontend/Instance.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"
#include <cmath>
#include <cstdlib>

using namespace kiln;
using llvm::Twine;

/// Instantiation recurses along nesting; real models are a few levels deep.
static constexpr unsigned kMaxDepth = 100;

/// A guard against exponential trees (a module with two instances of a
/// module with two instances of ...): real models have thousands at most.
static constexpr unsigned kMaxInstances = 100000;

std::string CtorValue::str() const {
  switch (type) {
  case CtorType::Int:
    return std::to_string(intValue);
  case CtorType::Bool:
    return intValue ? "true" : "false";
  case CtorType::Float:
    break;
  }
  // The shortest spelling that reads back as the same double.
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    text.clear();
    llvm::raw_string_ostream(text) << llvm::format("%.*g", precision, floatValue);
    if (std::strtod(text.c_str(), nullptr) == floatValue)
      break;
  }
  if (text.find_first_of(".eni") == std::string::npos)
    text += ".0";
  return text;
}

std::string Instance::getKey() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << decl.getName() << '(';
  llvm::interleaveComma(ctorArgs, os, [&](const CtorValue &value) { os << value.str(); });
  os << ')';
  return text;
}

std::string Instance::describe() const { return "in instance '" + path + "' = " + getKey(); }

const InstanceParam *Instance::getParam(const ParamDecl *param) const {
  for (const InstanceParam &p : params)
    if (p.decl == param)
      return &p;
  return nullptr;
}

void Instance::collectParams(llvm::SmallVectorImpl<const InstanceParam *> &out) const {
  for (const InstanceParam &param : params)
    out.push_back(&param);
  for (const auto &child : children)
    child->collectParams(out);
}

std::optional<int64_t> kiln::evaluateStaticInt(const ExprAST &expr,
                                               llvm::ArrayRef<int64_t> ctorValues,
                                               Diagnostics &diags) {
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    return llvm::cast<IntegerExprAST>(expr).getValue();
  case ExprAST::Expr_Name: {
    auto &name = llvm::cast<NameExprAST>(expr);
    if (name.resolution == NameExprAST::Resolution::CtorArg &&
        name.resolvedCtorArg < ctorValues.size())
      return ctorValues[name.resolvedCtorArg];
    break; // Sema reported it.
  }
  case ExprAST::Expr_Unary: {
    auto value = evaluateStaticInt(llvm::cast<UnaryExprAST>(expr).getOperand(), ctorValues, diags);
    if (!value)
      return std::nullopt;
    if (*value == INT64_MIN) {
      diags.error(expr.getLoc(), "integer overflow in '-'");
      return std::nullopt;
    }
    return -*value;
  }
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    auto lhs = evaluateStaticInt(binary.getLHS(), ctorValues, diags);
    auto rhs = evaluateStaticInt(binary.getRHS(), ctorValues, diags);
    if (!lhs || !rhs)
      return std::nullopt;
    int64_t result = 0;
    bool overflow = false;
    switch (binary.getOp()) {
    case BinaryOp::Add:
      overflow = llvm::AddOverflow(*lhs, *rhs, result);
      break;
    case BinaryOp::Sub:
      overflow = llvm::SubOverflow(*lhs, *rhs, result);
      break;
    case BinaryOp::Mul:
      overflow = llvm::MulOverflow(*lhs, *rhs, result);
      break;
    case BinaryOp::Div:
      if (*rhs == 0) {
        diags.error(expr.getLoc(), "division by zero");
        return std::nullopt;
      }
      if (*lhs == INT64_MIN && *rhs == -1) {
        overflow = true;
        break;
      }
      // Shapes that silently round are a classic bug (`dim / heads`).
      if (*lhs % *rhs != 0) {
        diags.error(expr.getLoc(), Twine(*lhs) + " / " + Twine(*rhs) + " is not exact");
        return std::nullopt;
      }
      result = *lhs / *rhs;
      break;
    case BinaryOp::MatMul:
      return std::nullopt; // Sema reported it.
    }
    if (overflow) {
      diags.error(expr.getLoc(),
                  "integer overflow in '" + getBinaryOpSpelling(binary.getOp()) + "'");
      return std::nullopt;
    }
    return result;
  }
  default:
    break; // Sema reported it.
  }
  return std::nullopt;
}

std::optional<CtorValue>
kiln::evaluateCtorValue(const ExprAST &expr, llvm::ArrayRef<CtorValue> scope, Diagnostics &diags) {
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    return CtorValue::getInt(llvm::cast<IntegerExprAST>(expr).getValue());
  case ExprAST::Expr_Float:
    return CtorValue::getFloat(llvm::cast<FloatExprAST>(expr).getValue());
  case ExprAST::Expr_Bool:
    return CtorValue::getBool(llvm::cast<BoolExprAST>(expr).getValue());
  case ExprAST::Expr_Name: {
    auto &name = llvm::cast<NameExprAST>(expr);
    if (name.resolution == NameExprAST::Resolution::CtorArg && name.resolvedCtorArg < scope.size())
      return scope[name.resolvedCtorArg];
    return std::nullopt; // Sema reported it.
  }
  case ExprAST::Expr_Unary: {
    auto value = evaluateCtorValue(llvm::cast<UnaryExprAST>(expr).getOperand(), scope, diags);
    if (!value || value->type == CtorType::Bool)
      return std::nullopt;
    if (value->type == CtorType::Float)
      return CtorValue::getFloat(-value->floatValue);
    break; // Integers: evaluateStaticInt's checks below.
  }
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    auto lhs = evaluateCtorValue(binary.getLHS(), scope, diags);
    auto rhs = evaluateCtorValue(binary.getRHS(), scope, diags);
    if (!lhs || !rhs || lhs->type == CtorType::Bool || rhs->type == CtorType::Bool)
      return std::nullopt;
    if (lhs->type == CtorType::Int && rhs->type == CtorType::Int)
      break;
    double x = lhs->asDouble(), y = rhs->asDouble();
    switch (binary.getOp()) {
    case BinaryOp::Add:
      return CtorValue::getFloat(x + y);
    case BinaryOp::Sub:
      return CtorValue::getFloat(x - y);
    case BinaryOp::Mul:
      return CtorValue::getFloat(x * y);
    case BinaryOp::Div:
      if (y == 0) {
        diags.error(expr.getLoc(), "division by zero");
        return std::nullopt;
      }
      return CtorValue::getFloat(x / y);
    case BinaryOp::MatMul:
      return std::nullopt; // Sema reported it.
    }
    return std::nullopt;
  }
  case ExprAST::Expr_Call:
    return std::nullopt; // Sema reported it.
  }
  // Integer arithmetic, with the overflow and exact-division checks.
  llvm::SmallVector<int64_t, 4> ints;
  for (const CtorValue &value : scope)
    ints.push_back(value.intValue);
  auto value = evaluateStaticInt(expr, ints, diags);
  if (!value)
    return std::nullopt;
  return CtorValue::getInt(*value);
}

std::optional<TensorType>
kiln::evaluateType(const TypeAST &type, llvm::ArrayRef<int64_t> ctorValues, Diagnostics &diags) {
  TensorType result{type.element, {}};
  bool ok = true;
  for (const ExprPtr &dim : type.dims) {
    auto *name = llvm::dyn_cast<NameExprAST>(dim.get());
    if (name && name->resolution == NameExprAST::Resolution::DimSymbol) {
      result.dims.push_back(Dim::getSymbol(name->getName()));
      continue;
    }
    auto size = evaluateStaticInt(*dim, ctorValues, diags);
    if (!size) {
      ok = false;
      continue;
    }
    if (*size <= 0) {
      diags.error(dim->getStartLoc(), "dimension must be positive, got " + Twine(*size));
      ok = false;
      continue;
    }
    result.dims.push_back(Dim::getStatic(*size));
  }
  if (!ok)
    return std::nullopt;
  // Byte sizes must fit in int64 for the runtime's arithmetic.
  int64_t bytes = 8;
  for (const Dim &dim : result.dims)
    if (!dim.isSymbolic() && llvm::MulOverflow(bytes, dim.size, bytes)) {
      diags.error(type.loc, "tensor type " + result.str() + " is too large");
      return std::nullopt;
    }
  return result;
}

namespace kiln {
class Instantiator {
public:
  explicit Instantiator(Diagnostics &diags) : diags(diags) {}

  bool build(Instance &instance, unsigned depth = 0) {
    std::optional<DiagnosticContext> context;
    if (instance.declaredBy)
      context.emplace(diags, instance.declaredBy->getLoc(), instance.describe());
    std::string prefix = instance.path.empty() ? "" : instance.path + ".";
    for (const auto &member : instance.decl.getMembers()) {
      if (auto *param = llvm::dyn_cast<ParamDecl>(member.get()))
        instance.params.push_back(
            InstanceParam{param, prefix + param->getName().str(),
                          evaluateType(param->getType(), instance.ctorValues, diags)});
    }
    for (const auto &member : instance.decl.getMembers()) {
      auto *decl = llvm::dyn_cast<InstanceDecl>(member.get());
      if (!decl || !decl->resolvedModule)
        continue; // Sema reported it.
      auto args =
          evaluateArgs(*decl->resolvedModule, decl->boundArgs, instance.ctorArgs, decl->getLoc());
      if (!args)
        continue;
      if (!decl->isList()) {
        Instance *child = addChild(instance, *decl, *args, prefix + decl->getName().str(), depth);
        if (!child)
          return false;
        instance.childByDecl[decl] = child;
        continue;
      }
      auto count = evaluateStaticInt(*decl->getCount(), instance.ctorValues, diags);
      if (!count)
        continue;
      if (*count < 0) {
        diags.error(decl->getCount()->getStartLoc(),
                    "a list of modules cannot have " + Twine(*count) + " elements");
        continue;
      }
      instance.listByDecl[decl]; // An empty list is still a list.
      for (int64_t i = 0; i < *count; ++i) {
        Instance *child = addChild(instance, *decl, *args,
                                   prefix + decl->getName().str() + "." + std::to_string(i), depth);
        if (!child)
          return false;
        instance.listByDecl[decl].push_back(child);
      }
    }
    return true;
  }

  /// The constructor arguments of an instance of `target`: `boundArgs`
  /// evaluated over the caller's `scope`, and the defaults of the rest.
  /// std::nullopt after reporting.
  /// `overrides` replace defaults by name (the top module's settings); a
  /// default after an overridden argument reads the new value.
  std::optional<llvm::SmallVector<CtorValue, 4>>
  evaluateArgs(const ModuleDecl &target, llvm::ArrayRef<ExprAST *> boundArgs,
               llvm::ArrayRef<CtorValue> scope, llvm::SMLoc loc,
               const llvm::StringMap<CtorValue> &overrides = {}) {
    llvm::SmallVector<CtorValue, 4> values;
    for (auto [i, param] : llvm::enumerate(target.getCtorParams())) {
      const ExprAST *arg = i < boundArgs.size() ? boundArgs[i] : nullptr;
      std::optional<CtorValue> value;
      if (auto found = overrides.find(param.name.name); found != overrides.end()) {
        value = found->second;
      } else if (arg) {
        value = evaluateCtorValue(*arg, scope, diags);
      } else if (param.defaultValue) {
        // A default reads the arguments before it, in the callee.
        std::optional<DiagnosticContext> context;
        if (loc.isValid())
          context.emplace(diags, loc,
                          "in the default value of '" + param.name.name.str() + "' of '" +
                              target.getName().str() + "'");
        value = evaluateCtorValue(*param.defaultValue, values, diags);
      }
      if (!value)
        return std::nullopt;
      // Sema checked the types; an int may stand for a float.
      if (param.type == CtorType::Float && value->type == CtorType::Int)
        value = CtorValue::getFloat(double(value->intValue));
      values.push_back(*value);
    }
    return values;
  }

  Instance *addChild(Instance &parent, const InstanceDecl &decl, llvm::ArrayRef<CtorValue> args,
                     std::string path, unsigned depth) {
    if (++numInstances > kMaxInstances) {
      diags.error(decl.getLoc(),
                  "the model has more than " + Twine(kMaxInstances) + " module instances");
      return nullptr;
    }
    if (depth + 1 >= kMaxDepth) {
      diags.error(decl.getLoc(), "instances are nested more than " + Twine(kMaxDepth) + " deep");
      return nullptr;
    }
    auto child = std::make_unique<Instance>(
        *decl.resolvedModule, llvm::SmallVector<CtorValue, 4>(args), std::move(path), &decl);
    Instance &ref = *child;
    parent.children.push_back(std::move(child));
    if (!build(ref, depth + 1))
      return nullptr;
    return &ref;
  }

private:
  Diagnostics &diags;
  unsigned numInstances = 0;
};
} // namespace kiln

/// Reads `text` as a value of the constructor argument `param`'s type.
static std::optional<CtorValue> parseSetting(const CtorParam &param, llvm::StringRef text) {
  switch (param.type) {
  case CtorType::Int: {
    int64_t value;
    if (text.getAsInteger(10, value))
      return std::nullopt;
    return CtorValue::getInt(value);
  }
  case CtorType::Float: {
    double value;
    if (text.getAsDouble(value) || !std::isfinite(value))
      return std::nullopt;
    return CtorValue::getFloat(value);
  }
  case CtorType::Bool:
    if (text == "true" || text == "false")
      return CtorValue::getBool(text == "true");
    return std::nullopt;
  }
  return std::nullopt;
}

/// The top module's settings by argument name; std::nullopt after reporting
/// every unknown name and unreadable value.
static std::optional<llvm::StringMap<CtorValue>>
parseSettings(const ModuleDecl &top, const Settings &settings, Diagnostics &diags) {
  llvm::StringMap<CtorValue> values;
  bool ok = true;
  for (const auto &[name, text] : settings) {
    const CtorParam *param = nullptr;
    for (const CtorParam &candidate : top.getCtorParams())
      if (candidate.name.name == name)
        param = &candidate;
    if (!param) {
      std::string known;
      for (const CtorParam &candidate : top.getCtorParams())
        known += (known.empty() ? "" : ", ") + candidate.name.name.str();
      diags.error(llvm::SMLoc(), "-D " + name + ": module '" + top.getName() +
                                     "' has no constructor argument '" + name + "'" +
                                     (known.empty() ? Twine(" (it takes none)")
                                                    : Twine(" (it takes " + known + ")")));
      ok = false;
      continue;
    }
    std::optional<CtorValue> value = parseSetting(*param, text);
    if (!value) {
      diags.error(llvm::SMLoc(), "-D " + name + "=" + text + ": '" + name + "' of '" +
                                     top.getName() + "' is " +
                                     (param->type == CtorType::Int ? "an " : "a ") +
                                     getCtorTypeName(param->type) + ", got '" + text + "'");
      diags.note(param->name.loc, "'" + name + "' declared here");
      ok = false;
      continue;
    }
    values[name] = *value; // The last of repeated settings wins, as with -D.
  }
  if (!ok)
    return std::nullopt;
  return values;
}

std::unique_ptr<Instance> kiln::instantiate(const ModuleDecl &top, const Settings &settings,
                                            Diagnostics &diags) {
  Instantiator instantiator(diags);
  std::optional<llvm::StringMap<CtorValue>> overrides = parseSettings(top, settings, diags);
  if (!overrides)
    return nullptr;
  // The top module's arguments all have defaults (selectTopModule).
  auto args = instantiator.evaluateArgs(top, {}, {}, llvm::SMLoc(), *overrides);
  if (!args)
    return nullptr;
  auto root = std::make_unique<Instance>(top, std::move(*args), "", nullptr);
  if (!instantiator.build(*root))
    return nullptr;
  return root;
}
