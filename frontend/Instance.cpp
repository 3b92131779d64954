//===- Instance.cpp - Modules instantiated with concrete arguments --------===//
#include "frontend/Instance.h"

#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;
using llvm::Twine;

/// Instantiation recurses along nesting; real models are a few levels deep.
static constexpr unsigned kMaxDepth = 100;

/// A guard against exponential trees (a module with two instances of a
/// module with two instances of ...): real models have thousands at most.
static constexpr unsigned kMaxInstances = 100000;

std::string Instance::getKey() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << decl.getName() << '(';
  llvm::interleaveComma(ctorValues, os);
  os << ')';
  return text;
}

std::string Instance::describe() const {
  return "in instance '" + path + "' = " + getKey();
}

const InstanceParam *Instance::getParam(const ParamDecl *param) const {
  for (const InstanceParam &p : params)
    if (p.decl == param)
      return &p;
  return nullptr;
}

void Instance::collectParams(
    llvm::SmallVectorImpl<const InstanceParam *> &out) const {
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
    auto value = evaluateStaticInt(llvm::cast<UnaryExprAST>(expr).getOperand(),
                                   ctorValues, diags);
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
        diags.error(expr.getLoc(), Twine(*lhs) + " / " + Twine(*rhs) +
                                       " is not exact");
        return std::nullopt;
      }
      result = *lhs / *rhs;
      break;
    case BinaryOp::MatMul:
      return std::nullopt; // Sema reported it.
    }
    if (overflow) {
      diags.error(expr.getLoc(), "integer overflow in '" +
                                     getBinaryOpSpelling(binary.getOp()) + "'");
      return std::nullopt;
    }
    return result;
  }
  default:
    break; // Sema reported it.
  }
  return std::nullopt;
}

std::optional<TensorType> kiln::evaluateType(const TypeAST &type,
                                             llvm::ArrayRef<int64_t> ctorValues,
                                             Diagnostics &diags) {
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
      diags.error(dim->getStartLoc(),
                  "dimension must be positive, got " + Twine(*size));
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
      context.emplace(diags, instance.declaredBy->getLoc(),
                      instance.describe());
    std::string prefix =
        instance.path.empty() ? "" : instance.path + ".";
    for (const auto &member : instance.decl.getMembers()) {
      if (auto *param = llvm::dyn_cast<ParamDecl>(member.get()))
        instance.params.push_back(InstanceParam{
            param, prefix + param->getName().str(),
            evaluateType(param->getType(), instance.ctorValues, diags)});
    }
    for (const auto &member : instance.decl.getMembers()) {
      auto *decl = llvm::dyn_cast<InstanceDecl>(member.get());
      if (!decl || !decl->resolvedModule)
        continue; // Sema reported it.
      llvm::SmallVector<int64_t, 4> values;
      bool ok = true;
      for (const ExprAST *arg : decl->boundArgs) {
        auto value = evaluateStaticInt(*arg, instance.ctorValues, diags);
        ok &= value.has_value();
        values.push_back(value.value_or(0));
      }
      if (!ok)
        continue;
      if (++numInstances > kMaxInstances) {
        diags.error(decl->getLoc(), "the model has more than " +
                                        Twine(kMaxInstances) +
                                        " module instances");
        return false;
      }
      if (depth + 1 >= kMaxDepth) {
        diags.error(decl->getLoc(), "instances are nested more than " +
                                        Twine(kMaxDepth) + " deep");
        return false;
      }
      auto child = std::make_unique<Instance>(
          *decl->resolvedModule, std::move(values),
          prefix + decl->getName().str(), decl);
      instance.childByDecl[decl] = child.get();
      Instance &ref = *child;
      instance.children.push_back(std::move(child));
      if (!build(ref, depth + 1))
        return false;
    }
    return true;
  }

private:
  Diagnostics &diags;
  unsigned numInstances = 0;
};
} // namespace kiln

std::unique_ptr<Instance> kiln::instantiate(const ModuleDecl &top,
                                            Diagnostics &diags) {
  auto root = std::make_unique<Instance>(top, llvm::SmallVector<int64_t, 4>(),
                                         "", nullptr);
  if (!Instantiator(diags).build(*root))
    return nullptr;
  return root;
}
