//===- OpGen.cpp - Type rules and kiln ops for operators and builtins -----===//
//
// Each rule checks its operands' Kiln types, reports in Kiln notation
// (`f32[B, 64]`), computes the result type, and creates the kiln op with
// that type. The rules are strict about symbolic dims (see broadcast()).
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"

#include "dialects/Kiln/KilnOps.h"

#include "llvm/Support/MathExtras.h"
#include <cmath>

using namespace kiln;
using llvm::SMLoc;

namespace kiln {
/// The larger builtins' rules (BuiltinGen.cpp).
MaybeValue emitLargerBuiltin(MLIRGen &gen, const CallExprAST &call,
                             llvm::ArrayRef<TypedValue> tensors);
} // namespace kiln
using llvm::StringRef;
using llvm::Twine;

static std::string dimStr(const Dim &dim) {
  return dim.isSymbolic() ? dim.symbol.str() : std::to_string(dim.size);
}

void MLIRGen::noteOperands(llvm::ArrayRef<const TypedValue *> operands) {
  for (auto [i, operand] : llvm::enumerate(operands)) {
    bool repeated = llvm::any_of(operands.take_front(i),
                                 [&](auto *other) { return other->declLoc == operand->declLoc; });
    if (operand->declLoc.isValid() && !repeated)
      diags.note(operand->declLoc, "'" + operand->declName + "' declared here");
  }
}

MaybeValue MLIRGen::materialize(TypedValue value, ElementType element, SMLoc loc) {
  if (!value.literal)
    return value;
  const Literal &literal = *value.literal;
  TensorType type = TensorType::getScalar(element);
  auto tensorType = type.toMLIR(&context);
  mlir::DenseElementsAttr attr;
  if (isFloat(element)) {
    llvm::APFloat number(static_cast<float>(literal.asDouble()));
    // bf16 and f16 literals: round the f32 value to the element's format.
    bool losesInfo = false;
    number.convert(llvm::cast<mlir::FloatType>(tensorType.getElementType()).getFloatSemantics(),
                   llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    attr = mlir::DenseElementsAttr::get(tensorType, llvm::ArrayRef(number));
  } else {
    if (literal.isFloat) {
      diags.error(loc,
                  "floating-point literal used with " + getElementTypeName(element) + " values");
      return std::nullopt;
    }
    unsigned width = tensorType.getElementTypeBitWidth();
    if (!llvm::isIntN(width, literal.intValue)) {
      diags.error(loc, "integer literal " + Twine(literal.intValue) + " does not fit in " +
                           getElementTypeName(element));
      return std::nullopt;
    }
    llvm::APInt number(width, literal.intValue, /*isSigned=*/true);
    attr = mlir::DenseElementsAttr::get(tensorType, llvm::ArrayRef(number));
  }
  mlir::Value constant = mlir::arith::ConstantOp::create(builder, getLoc(loc), attr);
  return TypedValue{constant, type, std::nullopt, value.declName, value.declLoc};
}

MaybeValue MLIRGen::materializeDefault(TypedValue value, SMLoc loc) {
  return materialize(value, ElementType::f32, loc);
}

//===----------------------------------------------------------------------===//
// Operators
//===----------------------------------------------------------------------===//

MaybeValue MLIRGen::emitUnary(const UnaryExprAST &expr) {
  MaybeValue operand = emitExpr(expr.getOperand());
  if (!operand)
    return std::nullopt;
  if (operand->literal) {
    Literal &literal = *operand->literal;
    if (literal.isFloat)
      literal.floatValue = -literal.floatValue;
    else if (literal.intValue == INT64_MIN)
      literal = Literal{true, -literal.asDouble(), 0};
    else
      literal.intValue = -literal.intValue;
    operand->declLoc = SMLoc();
    return operand;
  }
  mlir::Location loc = getLoc(expr.getLoc());
  auto type = operand->type.toMLIR(&context);
  mlir::Value result;
  if (isFloat(operand->type.element)) {
    result = NegOp::create(builder, loc, type, operand->value);
  } else {
    // kiln.neg is float-only; integers negate as 0 - x.
    TypedValue zero{{}, {}, Literal{false, 0, 0}, {}, {}};
    MaybeValue zeroValue = materialize(zero, operand->type.element, expr.getLoc());
    if (!zeroValue)
      return std::nullopt;
    result = SubOp::create(builder, loc, type, zeroValue->value, operand->value);
  }
  return TypedValue{result, operand->type, std::nullopt, {}, {}};
}

/// Folds an operation on two literals. Integers stay integers while exact;
/// division and overflow give floats (literals are f32 by default).
static Literal foldLiterals(Elementwise op, const Literal &a, const Literal &b) {
  if (!a.isFloat && !b.isFloat && op != Elementwise::Div) {
    int64_t x = a.intValue, y = b.intValue, result = 0;
    bool overflow = false;
    switch (op) {
    case Elementwise::Add:
      overflow = llvm::AddOverflow(x, y, result);
      break;
    case Elementwise::Sub:
      overflow = llvm::SubOverflow(x, y, result);
      break;
    case Elementwise::Mul:
      overflow = llvm::MulOverflow(x, y, result);
      break;
    case Elementwise::Max:
      result = std::max(x, y);
      break;
    case Elementwise::Min:
      result = std::min(x, y);
      break;
    case Elementwise::Div:
      break;
    }
    if (!overflow)
      return Literal{false, 0, result};
  }
  double x = a.asDouble(), y = b.asDouble(), result = 0;
  switch (op) {
  case Elementwise::Add:
    result = x + y;
    break;
  case Elementwise::Sub:
    result = x - y;
    break;
  case Elementwise::Mul:
    result = x * y;
    break;
  case Elementwise::Div:
    result = x / y;
    break;
  case Elementwise::Max:
    result = std::fmax(x, y);
    break;
  case Elementwise::Min:
    result = std::fmin(x, y);
    break;
  }
  return Literal{true, result, 0};
}

MaybeValue MLIRGen::emitElementwise(Elementwise op, TypedValue lhs, TypedValue rhs, SMLoc loc,
                                    StringRef spelling) {
  if (lhs.literal && rhs.literal)
    return TypedValue{{},
                      TensorType::getScalar(ElementType::f32),
                      foldLiterals(op, *lhs.literal, *rhs.literal),
                      {},
                      {}};
  // A literal takes the other operand's element type.
  MaybeValue a = materialize(lhs, rhs.type.element, loc);
  MaybeValue b = materialize(rhs, lhs.type.element, loc);
  if (!a || !b)
    return std::nullopt;
  if (a->type.element != b->type.element) {
    diags.error(loc, "operands of " + spelling + " have different element types: " + a->type.str() +
                         " and " + b->type.str());
    noteOperands({&*a, &*b});
    return std::nullopt;
  }
  unsigned badDim = 0;
  std::optional<TensorType> result = broadcast(a->type, b->type, badDim);
  if (!result) {
    diags.error(loc, "operands of " + spelling + " are not broadcast-compatible: " + a->type.str() +
                         " and " + b->type.str());
    noteOperands({&*a, &*b});
    return std::nullopt;
  }
  mlir::Location location = getLoc(loc);
  auto type = result->toMLIR(&context);
  mlir::Value x = a->value, y = b->value, value;
  switch (op) {
  case Elementwise::Add:
    value = AddOp::create(builder, location, type, x, y);
    break;
  case Elementwise::Sub:
    value = SubOp::create(builder, location, type, x, y);
    break;
  case Elementwise::Mul:
    value = MulOp::create(builder, location, type, x, y);
    break;
  case Elementwise::Div:
    value = DivOp::create(builder, location, type, x, y);
    break;
  case Elementwise::Max:
    value = MaxOp::create(builder, location, type, x, y);
    break;
  case Elementwise::Min:
    value = MinOp::create(builder, location, type, x, y);
    break;
  }
  return TypedValue{value, *result, std::nullopt, {}, {}};
}

MaybeValue MLIRGen::emitMatmul(TypedValue lhs, TypedValue rhs, SMLoc loc, StringRef spelling) {
  const TensorType &a = lhs.type, &b = rhs.type;
  auto fail = [&](const Twine &message) -> MaybeValue {
    diags.error(loc, message);
    noteOperands({&lhs, &rhs});
    return std::nullopt;
  };
  if (lhs.literal || rhs.literal || a.getRank() < 2 || b.getRank() < 2)
    return fail("operands of " + spelling + " must have rank >= 2, got " + a.str() + " and " +
                b.str());
  if (!isFloat(a.element) || !isFloat(b.element))
    return fail("operands of " + spelling + " must be float tensors, got " + a.str() + " and " +
                b.str());
  // Batch dims broadcast as NumPy's: [B, S, D] @ [D, E], [B, 1, S, D] @ [H, D, T].
  int64_t rank = a.getRank(), rankB = b.getRank();
  TensorType batchA{a.element, {a.dims.begin(), a.dims.end() - 2}};
  TensorType batchB{b.element, {b.dims.begin(), b.dims.end() - 2}};
  unsigned badDim = 0;
  std::optional<TensorType> batch = broadcast(batchA, batchB, badDim);
  if (!batch)
    return fail("batch dims of " + spelling + " are not broadcast-compatible: " + a.str() +
                " and " + b.str());
  const Dim &inner = a.dims[rank - 1], &otherInner = b.dims[rankB - 2];
  if (inner != otherInner)
    return fail("inner dims of " + spelling + " do not match: " + a.str() + " @ " + b.str() + " (" +
                dimStr(inner) + " vs " + dimStr(otherInner) + ")");
  TensorType result = *batch;
  result.dims.push_back(a.dims[rank - 2]);
  result.dims.push_back(b.dims.back());
  mlir::Value value =
      MatmulOp::create(builder, getLoc(loc), result.toMLIR(&context), lhs.value, rhs.value);
  return TypedValue{value, result, std::nullopt, {}, {}};
}

//===----------------------------------------------------------------------===//
// Builtins
//===----------------------------------------------------------------------===//

std::optional<int64_t> MLIRGen::getStaticArg(const CallExprAST &call, unsigned index) {
  const ExprAST *arg = call.boundArgs[index];
  if (!arg)
    return call.resolvedBuiltin->params[index].defaultValue;
  if (auto *flag = llvm::dyn_cast<BoolExprAST>(arg))
    return flag->getValue();
  return evaluateStaticInt(*arg, frame().instance->getCtorValues(), diags);
}

/// Where an error about a builtin's parameter points: its argument, or the
/// call when the default was used.
static SMLoc getArgLoc(const CallExprAST &call, unsigned index) {
  const ExprAST *arg = call.boundArgs[index];
  return arg ? arg->getStartLoc() : call.getLoc();
}

MaybeValue MLIRGen::emitBuiltin(const CallExprAST &call) {
  const BuiltinInfo &info = *call.resolvedBuiltin;
  std::string name = ("'" + info.name + "'").str();
  // Tensor arguments, in order; literals become f32 scalars unless the
  // builtin gives them a type (maximum(x, 0) is elementwise).
  llvm::SmallVector<TypedValue, 2> tensors;
  bool ok = true;
  for (auto [param, arg] : llvm::zip(info.params, call.boundArgs)) {
    if (param.kind != BuiltinParam::Tensor || !arg)
      continue;
    MaybeValue value = emitExpr(*arg);
    ok &= value.has_value();
    if (value)
      tensors.push_back(*value);
  }
  if (!ok)
    return std::nullopt;
  SMLoc loc = call.getLoc();

  switch (info.kind) {
  case BuiltinKind::Maximum:
    return emitElementwise(Elementwise::Max, tensors[0], tensors[1], loc, name);
  case BuiltinKind::Minimum:
    return emitElementwise(Elementwise::Min, tensors[0], tensors[1], loc, name);
  case BuiltinKind::Matmul:
    return emitMatmul(tensors[0], tensors[1], loc, name);
  case BuiltinKind::CrossEntropy:
    return emitCrossEntropy(call, tensors[0], tensors[1]);
  case BuiltinKind::Relu:
  case BuiltinKind::Sigmoid:
  case BuiltinKind::Tanh:
  case BuiltinKind::Exp:
  case BuiltinKind::Log:
  case BuiltinKind::Sqrt:
  case BuiltinKind::Gelu:
  case BuiltinKind::GeluTanh:
  case BuiltinKind::Rsqrt:
  case BuiltinKind::Abs:
  case BuiltinKind::Sin:
  case BuiltinKind::Cos:
  case BuiltinKind::Softmax:
  case BuiltinKind::LogSoftmax:
  case BuiltinKind::Sum:
  case BuiltinKind::Mean:
  case BuiltinKind::Max:
  case BuiltinKind::Transpose:
    break;
  default:
    return emitLargerBuiltin(*this, call, tensors);
  }

  // The rest take one float tensor.
  MaybeValue input = materializeDefault(tensors[0], loc);
  if (!input)
    return std::nullopt;
  if (!isFloat(input->type.element)) {
    diags.error(getArgLoc(call, 0), name + " expects a float tensor, got " + input->type.str());
    noteOperands({&*input});
    return std::nullopt;
  }
  mlir::Location location = getLoc(loc);
  auto type = input->type.toMLIR(&context);
  mlir::Value x = input->value, value;
  switch (info.kind) {
  case BuiltinKind::Relu:
    value = ReluOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Sigmoid:
    value = SigmoidOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Tanh:
    value = TanhOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Exp:
    value = ExpOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Log:
    value = LogOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Sqrt:
    value = SqrtOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Rsqrt:
    value = RsqrtOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Abs:
    value = AbsOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Sin:
    value = SinOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Cos:
    value = CosOp::create(builder, location, type, x);
    break;
  case BuiltinKind::Gelu:
    value = GeluOp::create(builder, location, type, x, "none");
    break;
  case BuiltinKind::GeluTanh:
    value = GeluOp::create(builder, location, type, x, "tanh");
    break;
  case BuiltinKind::Softmax:
  case BuiltinKind::LogSoftmax:
    return emitAxisOp(call, *input);
  case BuiltinKind::Sum:
  case BuiltinKind::Mean:
  case BuiltinKind::Max:
    return emitReduce(call, *input);
  case BuiltinKind::Transpose:
    return emitTranspose(call, *input);
  default:
    llvm_unreachable("handled above");
  }
  return TypedValue{value, input->type, std::nullopt, {}, {}};
}

MaybeValue MLIRGen::emitAxisOp(const CallExprAST &call, TypedValue input) {
  StringRef name = call.resolvedBuiltin->name;
  if (input.type.getRank() == 0) {
    diags.error(getArgLoc(call, 0),
                "'" + name + "' needs a tensor of rank >= 1, got " + input.type.str());
    return std::nullopt;
  }
  std::optional<int64_t> axis = getStaticArg(call, 1);
  if (!axis)
    return std::nullopt;
  std::optional<int64_t> resolved = normalizeAxis(*axis, input.type.getRank());
  if (!resolved) {
    diags.error(getArgLoc(call, 1),
                "axis " + Twine(*axis) + " is out of range for " + input.type.str());
    return std::nullopt;
  }
  mlir::Location loc = getLoc(call.getLoc());
  auto type = input.type.toMLIR(&context);
  mlir::Value value =
      call.resolvedBuiltin->kind == BuiltinKind::Softmax
          ? SoftmaxOp::create(builder, loc, type, input.value, *resolved).getResult()
          : LogSoftmaxOp::create(builder, loc, type, input.value, *resolved).getResult();
  return TypedValue{value, input.type, std::nullopt, {}, {}};
}

MaybeValue MLIRGen::emitReduce(const CallExprAST &call, TypedValue input) {
  int64_t rank = input.type.getRank();
  llvm::SmallVector<int64_t, 4> axes;
  if (call.boundArgs[1]) {
    std::optional<int64_t> axis = getStaticArg(call, 1);
    if (!axis)
      return std::nullopt;
    std::optional<int64_t> resolved = normalizeAxis(*axis, rank);
    if (!resolved) {
      diags.error(getArgLoc(call, 1),
                  "axis " + Twine(*axis) + " is out of range for " + input.type.str());
      return std::nullopt;
    }
    axes.push_back(*resolved);
  } else {
    // No axis: reduce every dim (a scalar is its own sum).
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
    if (axes.empty())
      return input;
  }
  bool keepDims = getStaticArg(call, 2).value_or(0) != 0;
  TensorType result{input.type.element, {}};
  for (int64_t d = 0; d < rank; ++d) {
    if (!llvm::is_contained(axes, d))
      result.dims.push_back(input.type.dims[d]);
    else if (keepDims)
      result.dims.push_back(Dim::getStatic(1));
  }
  mlir::Location loc = getLoc(call.getLoc());
  auto type = result.toMLIR(&context);
  mlir::Value value;
  switch (call.resolvedBuiltin->kind) {
  case BuiltinKind::Sum:
    value = ReduceSumOp::create(builder, loc, type, input.value, axes, keepDims);
    break;
  case BuiltinKind::Mean:
    value = ReduceMeanOp::create(builder, loc, type, input.value, axes, keepDims);
    break;
  default:
    value = ReduceMaxOp::create(builder, loc, type, input.value, axes, keepDims);
    break;
  }
  return TypedValue{value, result, std::nullopt, {}, {}};
}

MaybeValue MLIRGen::emitTranspose(const CallExprAST &call, TypedValue input) {
  int64_t rank = input.type.getRank();
  if (!call.boundArgs[1] && !call.boundArgs[2] && rank < 2) {
    diags.error(getArgLoc(call, 0),
                "'transpose' needs a tensor of rank >= 2, got " + input.type.str());
    noteOperands({&input});
    return std::nullopt;
  }
  int64_t dims[2];
  for (unsigned i = 0; i < 2; ++i) {
    std::optional<int64_t> dim = getStaticArg(call, i + 1);
    if (!dim)
      return std::nullopt;
    std::optional<int64_t> resolved = normalizeAxis(*dim, rank);
    if (!resolved) {
      diags.error(getArgLoc(call, i + 1),
                  "dim " + Twine(*dim) + " is out of range for " + input.type.str());
      return std::nullopt;
    }
    dims[i] = *resolved;
  }
  llvm::SmallVector<int64_t, 4> permutation;
  for (int64_t d = 0; d < rank; ++d)
    permutation.push_back(d);
  std::swap(permutation[dims[0]], permutation[dims[1]]);
  TensorType result = input.type;
  std::swap(result.dims[dims[0]], result.dims[dims[1]]);
  mlir::Value value = TransposeOp::create(builder, getLoc(call.getLoc()), result.toMLIR(&context),
                                          input.value, permutation);
  return TypedValue{value, result, std::nullopt, {}, {}};
}

MaybeValue MLIRGen::emitCrossEntropy(const CallExprAST &call, TypedValue logits,
                                     TypedValue targets) {
  const TensorType &l = logits.type, &t = targets.type;
  if (logits.literal || l.getRank() < 2 || !isFloat(l.element)) {
    diags.error(getArgLoc(call, 0),
                "'cross_entropy' expects float logits of shape [..., C], got " + l.str());
    noteOperands({&logits});
    return std::nullopt;
  }
  if (targets.literal || t.getRank() != l.getRank() - 1 || isFloat(t.element)) {
    TensorType expected{t.element, llvm::SmallVector<Dim, 4>(llvm::ArrayRef(l.dims).drop_back())};
    std::string shape = expected.str();
    diags.error(getArgLoc(call, 1), "'cross_entropy' expects integer targets of shape " +
                                        shape.substr(shape.find('[')) + " (the logits' but C), got " +
                                        t.str());
    noteOperands({&targets});
    return std::nullopt;
  }
  if (!llvm::equal(llvm::ArrayRef(l.dims).drop_back(), t.dims)) {
    diags.error(call.getLoc(), "batch sizes of 'cross_entropy' differ: logits " + l.str() +
                                   ", targets " + t.str());
    noteOperands({&logits, &targets});
    return std::nullopt;
  }
  mlir::Location loc = getLoc(call.getLoc());
  mlir::Value logitsValue = logits.value, targetsValue = targets.value;
  if (l.getRank() > 2) {
    // A language model's [B, S, C] logits: the mean over all B * S
    // positions, as F.cross_entropy(logits.flatten(0, -2), targets.flatten()).
    logitsValue = ReshapeOp::flattenFront(builder, loc, logits.value, l.getRank() - 1);
    targetsValue = ReshapeOp::flattenFront(builder, loc, targets.value, t.getRank());
  }
  TensorType result = TensorType::getScalar(l.element);
  mlir::Value value = CrossEntropyOp::create(builder, loc, result.toMLIR(&context), logitsValue,
                                             targetsValue);
  return TypedValue{value, result, std::nullopt, {}, {}};
}
