//===- BuiltinGen.cpp - Type rules and kiln ops for the larger builtins ---===//
//
// Each rule checks its arguments' Kiln types (reporting in Kiln notation at
// the argument that is wrong), computes the result type with symbolic dims
// kept by name, and creates the kiln op. The operators and the first
// builtins are in OpGen.cpp; the table of parameters is Builtins.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>
#include <limits>

using namespace kiln;
using llvm::SMLoc;
using llvm::Twine;

namespace kiln {

/// The builtins of BuiltinKind::Pow onwards; called by MLIRGen::emitBuiltin.
MaybeValue emitLargerBuiltin(MLIRGen &gen, const CallExprAST &call,
                             llvm::ArrayRef<TypedValue> tensors);

class BuiltinGen {
public:
  BuiltinGen(MLIRGen &gen, const CallExprAST &call, llvm::ArrayRef<TypedValue> tensors)
      : gen(gen), call(call), info(*call.resolvedBuiltin), name(("'" + info.name + "'").str()) {
    // Tensor arguments by parameter index (omitted optional ones stay empty).
    auto next = tensors.begin();
    for (auto [param, arg] : llvm::zip(info.params, call.boundArgs))
      byParam.push_back(param.kind == BuiltinParam::Tensor && arg
                            ? std::optional<TypedValue>(*next++)
                            : std::nullopt);
  }

  MaybeValue emit();

private:
  // Elementwise.
  MaybeValue emitCast(ElementType to);
  MaybeValue emitPow();
  MaybeValue emitClamp();
  MaybeValue emitWhere();
  // Normalization and lookup.
  MaybeValue emitNorm(bool withBias);
  MaybeValue emitEmbedding();
  // Layout.
  MaybeValue emitReshape();
  MaybeValue emitPermute();
  MaybeValue emitSlice(bool dropAxis);
  MaybeValue emitConcat();
  // Attention and convolution.
  MaybeValue emitAttention();
  MaybeValue emitConv2D();
  // Losses and similarities.
  MaybeValue emitKlDiv();
  MaybeValue emitL2Normalize();
  MaybeValue emitCosineSimilarity();
  // Index computations and constructors.
  MaybeValue emitArgmax();
  MaybeValue emitArange();
  MaybeValue emitOneHot();
  MaybeValue emitFullLike(std::optional<double> value);
  // Gather and scatter.
  MaybeValue emitIndexSelect();
  MaybeValue emitScatterAdd(unsigned init, unsigned indices, unsigned src, bool zeroInit);

  /// Reports `message` at argument `index` (the call when it was omitted)
  /// with notes for the named operands; returns std::nullopt.
  MaybeValue fail(unsigned index, const Twine &message,
                  llvm::ArrayRef<const TypedValue *> operands = {}) {
    gen.diags.error(argLoc(index), message);
    gen.noteOperands(operands);
    return std::nullopt;
  }
  SMLoc argLoc(unsigned index) const {
    const ExprAST *arg = index < call.boundArgs.size() ? call.boundArgs[index] : nullptr;
    return arg ? arg->getStartLoc() : call.getLoc();
  }
  /// The tensor bound to parameter `index`, a literal materialized as f32.
  MaybeValue tensor(unsigned index) {
    if (!byParam[index])
      return std::nullopt;
    return gen.materializeDefault(*byParam[index], argLoc(index));
  }
  /// A float tensor argument, or an error naming what was expected.
  MaybeValue floatTensor(unsigned index, const Twine &expected) {
    MaybeValue value = tensor(index);
    if (value && !isFloat(value->type.element))
      return fail(index, name + " expects " + expected + ", got " + value->type.str(), {&*value});
    return value;
  }
  /// A Float parameter: a number literal, or `fallback` when omitted.
  std::optional<double> number(unsigned index, double fallback) {
    const ExprAST *arg = call.boundArgs[index];
    if (!arg)
      return fallback;
    MaybeValue value = gen.emitExpr(*arg);
    if (!value)
      return std::nullopt;
    if (!value->literal) {
      fail(index, "'" + info.params[index].name + "' of " + name +
                      " must be a number literal, got " + value->type.str());
      return std::nullopt;
    }
    return value->literal->asDouble();
  }
  /// A Dim parameter: a symbolic dim (in the caller's terms) or an integer.
  std::optional<Dim> dim(unsigned index) {
    const ExprAST *arg = call.boundArgs[index];
    auto *nameExpr = llvm::dyn_cast<NameExprAST>(arg);
    if (nameExpr && nameExpr->resolution == NameExprAST::Resolution::DimSymbol) {
      auto it = gen.frame().symbols.find(nameExpr->getName());
      return it != gen.frame().symbols.end() ? it->second : Dim::getSymbol(nameExpr->getName());
    }
    std::optional<int64_t> size = gen.getStaticArg(call, index);
    if (!size)
      return std::nullopt;
    if (*size <= 0) {
      fail(index, "dims of " + name + " must be positive, got " + Twine(*size));
      return std::nullopt;
    }
    return Dim::getStatic(*size);
  }
  std::optional<int64_t> axis(unsigned index, const TypedValue &input) {
    std::optional<int64_t> value = gen.getStaticArg(call, index);
    if (!value)
      return std::nullopt;
    std::optional<int64_t> resolved = normalizeAxis(*value, input.type.getRank());
    if (!resolved)
      fail(index, "axis " + Twine(*value) + " is out of range for " + input.type.str());
    return resolved;
  }
  /// An integer tensor of rank 1 (`[E]`) for parameter `index`, or an error.
  MaybeValue indexTensor(unsigned index) {
    MaybeValue value = tensor(index);
    if (value && (byParam[index]->literal || isFloat(value->type.element) ||
                  value->type.element == ElementType::boolean || value->type.getRank() != 1))
      return fail(index, name + " expects integer indices of shape [E], got " + value->type.str(),
                  {&*value});
    return value;
  }
  /// The run-time size of a symbolic dim: a kiln.dim of the first argument
  /// (then local, by name) whose type carries it.
  mlir::Value symbolSize(const Dim &d) {
    auto find = [&](const MaybeValue &value) -> mlir::Value {
      if (!value || !value->value)
        return {};
      for (auto [i, dim] : llvm::enumerate(value->type.dims))
        if (dim == d)
          return DimOp::create(gen.builder, loc(), value->value, i);
      return {};
    };
    for (const FnArg &arg : gen.frame().fn->getArgs())
      if (auto it = gen.frame().locals.find(arg.name.name); it != gen.frame().locals.end())
        if (mlir::Value size = find(it->second))
          return size;
    llvm::SmallVector<llvm::StringRef, 8> names;
    for (const auto &local : gen.frame().locals)
      names.push_back(local.getKey());
    llvm::sort(names);
    for (llvm::StringRef local : names)
      if (mlir::Value size = find(gen.frame().locals.lookup(local)))
        return size;
    return {};
  }
  mlir::Location loc() { return gen.getLoc(call.getLoc()); }
  mlir::RankedTensorType mlirType(const TensorType &type) { return type.toMLIR(&gen.context); }
  static TypedValue result(mlir::Value value, TensorType type) {
    return TypedValue{value, std::move(type), std::nullopt, {}, {}};
  }

  MLIRGen &gen;
  const CallExprAST &call;
  const BuiltinInfo &info;
  std::string name;
  llvm::SmallVector<std::optional<TypedValue>, 8> byParam;
};

} // namespace kiln

static std::string dimStr(const Dim &dim) {
  return dim.isSymbolic() ? dim.symbol.str() : std::to_string(dim.size);
}

MaybeValue BuiltinGen::emit() {
  switch (info.kind) {
  case BuiltinKind::ToF32:
    return emitCast(ElementType::f32);
  case BuiltinKind::ToI64:
    return emitCast(ElementType::i64);
  case BuiltinKind::ToI32:
    return emitCast(ElementType::i32);
  case BuiltinKind::Pow:
    return emitPow();
  case BuiltinKind::Clamp:
    return emitClamp();
  case BuiltinKind::Where:
    return emitWhere();
  case BuiltinKind::LayerNorm:
    return emitNorm(/*withBias=*/true);
  case BuiltinKind::RmsNorm:
    return emitNorm(/*withBias=*/false);
  case BuiltinKind::Embedding:
    return emitEmbedding();
  case BuiltinKind::Reshape:
    return emitReshape();
  case BuiltinKind::Permute:
    return emitPermute();
  case BuiltinKind::Slice:
    return emitSlice(/*dropAxis=*/false);
  case BuiltinKind::Select:
    return emitSlice(/*dropAxis=*/true);
  case BuiltinKind::Concat:
    return emitConcat();
  case BuiltinKind::Attention:
    return emitAttention();
  case BuiltinKind::Conv2D:
    return emitConv2D();
  case BuiltinKind::KlDiv:
    return emitKlDiv();
  case BuiltinKind::L2Normalize:
    return emitL2Normalize();
  case BuiltinKind::CosineSimilarity:
    return emitCosineSimilarity();
  case BuiltinKind::Argmax:
    return emitArgmax();
  case BuiltinKind::Arange:
    return emitArange();
  case BuiltinKind::OneHot:
    return emitOneHot();
  case BuiltinKind::ZerosLike:
    return emitFullLike(0.0);
  case BuiltinKind::OnesLike:
    return emitFullLike(1.0);
  case BuiltinKind::FullLike:
    return emitFullLike(std::nullopt);
  case BuiltinKind::IndexSelect:
    return emitIndexSelect();
  case BuiltinKind::ScatterAdd:
    return emitScatterAdd(0, 1, 2, /*zeroInit=*/false);
  case BuiltinKind::SegmentSum:
    return emitScatterAdd(2, 1, 0, /*zeroInit=*/true);
  default:
    break;
  }
  llvm_unreachable("not a BuiltinGen builtin");
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitCast(ElementType to) {
  MaybeValue x = tensor(0);
  if (!x)
    return std::nullopt;
  if (x->type.element == to)
    return x;
  TensorType type{to, x->type.dims};
  return result(CastOp::create(gen.builder, loc(), mlirType(type), x->value), type);
}

MaybeValue BuiltinGen::emitPow() {
  // A literal takes the other operand's type, as with `+`.
  TypedValue a = *byParam[0], b = *byParam[1];
  if (a.literal && b.literal)
    return TypedValue{{},
                      a.type,
                      Literal{true, std::pow(a.literal->asDouble(), b.literal->asDouble()), 0},
                      {},
                      {}};
  MaybeValue x = gen.materialize(a, b.type.element, argLoc(0));
  MaybeValue y = gen.materialize(b, a.type.element, argLoc(1));
  if (!x || !y)
    return std::nullopt;
  if (!isFloat(x->type.element) || x->type.element != y->type.element)
    return fail(0,
                name + " expects float tensors of one element type, got " + x->type.str() +
                    " and " + y->type.str(),
                {&*x, &*y});
  unsigned badDim = 0;
  std::optional<TensorType> type = broadcast(x->type, y->type, badDim);
  if (!type)
    return fail(0,
                "operands of " + name + " are not broadcast-compatible: " + x->type.str() +
                    " and " + y->type.str(),
                {&*x, &*y});
  return result(PowOp::create(gen.builder, loc(), mlirType(*type), x->value, y->value), *type);
}

MaybeValue BuiltinGen::emitClamp() {
  MaybeValue x = floatTensor(0, "a float tensor");
  std::optional<double> low = number(1, -std::numeric_limits<double>::infinity());
  std::optional<double> high = number(2, std::numeric_limits<double>::infinity());
  if (!x || !low || !high)
    return std::nullopt;
  if (*low > *high)
    return fail(1, "min " + std::to_string(*low) + " of " + name + " is greater than max " +
                       std::to_string(*high));
  auto type = mlirType(x->type);
  return result(ClampOp::create(gen.builder, loc(), type, x->value,
                                gen.builder.getF64FloatAttr(*low),
                                gen.builder.getF64FloatAttr(*high)),
                x->type);
}

MaybeValue BuiltinGen::emitWhere() {
  TypedValue cond = *byParam[0], a = *byParam[1], b = *byParam[2];
  if (cond.literal || cond.type.element != ElementType::boolean)
    return fail(0, name + " expects a bool condition, got " + cond.type.str(), {&cond});
  MaybeValue x = gen.materialize(a, b.type.element, argLoc(1));
  MaybeValue y = gen.materialize(b, a.type.element, argLoc(2));
  if (!x || !y)
    return std::nullopt;
  if (x->type.element != y->type.element)
    return fail(1,
                "values of " + name + " have different element types: " + x->type.str() + " and " +
                    y->type.str(),
                {&*x, &*y});
  unsigned badDim = 0;
  std::optional<TensorType> values = broadcast(x->type, y->type, badDim);
  std::optional<TensorType> type;
  if (values)
    type = broadcast(cond.type, *values, badDim);
  if (!type)
    return fail(0,
                "operands of " + name + " are not broadcast-compatible: " + cond.type.str() + ", " +
                    x->type.str() + " and " + y->type.str(),
                {&cond, &*x, &*y});
  type->element = x->type.element;
  return result(
      WhereOp::create(gen.builder, loc(), mlirType(*type), cond.value, x->value, y->value), *type);
}

//===----------------------------------------------------------------------===//
// Normalization and lookup
//===----------------------------------------------------------------------===//

/// layer_norm(x, weight, bias, eps) and rms_norm(x, weight, eps).
MaybeValue BuiltinGen::emitNorm(bool withBias) {
  unsigned epsIndex = withBias ? 3 : 2;
  MaybeValue x = floatTensor(0, "a float tensor of rank >= 1");
  MaybeValue w = tensor(1), b = withBias ? tensor(2) : MaybeValue();
  std::optional<double> eps = number(epsIndex, withBias ? 1e-5 : 1e-6);
  if (!x || !w || (withBias && !b) || !eps)
    return std::nullopt;
  if (x->type.getRank() == 0)
    return fail(0, name + " expects a float tensor of rank >= 1, got " + x->type.str(), {&*x});
  TensorType expected{x->type.element, {x->type.dims.back()}};
  llvm::SmallVector<std::pair<unsigned, TypedValue *>, 2> params{{1u, &*w}};
  if (withBias)
    params.push_back({2u, &*b});
  for (auto [index, value] : params)
    if (value->type != expected)
      return fail(index,
                  "'" + info.params[index].name + "' of " + name + " must be " + expected.str() +
                      " for input " + x->type.str() + ", got " + value->type.str(),
                  {&*x, value});
  if (*eps < 0)
    return fail(epsIndex, "'eps' of " + name + " must not be negative");
  mlir::Type type = mlirType(x->type);
  mlir::FloatAttr epsAttr = gen.builder.getF64FloatAttr(*eps);
  if (withBias)
    return result(
        LayerNormOp::create(gen.builder, loc(), type, x->value, w->value, b->value, epsAttr),
        x->type);
  return result(RmsNormOp::create(gen.builder, loc(), type, x->value, w->value, epsAttr), x->type);
}

MaybeValue BuiltinGen::emitEmbedding() {
  MaybeValue weight = tensor(0), ids = tensor(1);
  if (!weight || !ids)
    return std::nullopt;
  if (!isFloat(weight->type.element) || weight->type.getRank() != 2)
    return fail(0, name + " expects a float weight of shape [N, D], got " + weight->type.str(),
                {&*weight});
  if (byParam[1]->literal || isFloat(ids->type.element) ||
      ids->type.element == ElementType::boolean)
    return fail(1, name + " expects integer ids, got " + ids->type.str(), {&*ids});
  TensorType type{weight->type.element, ids->type.dims};
  type.dims.push_back(weight->type.dims[1]);
  return result(EmbeddingOp::create(gen.builder, loc(), mlirType(type), weight->value, ids->value),
                type);
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitReshape() {
  MaybeValue x = tensor(0);
  if (!x)
    return std::nullopt;
  TensorType type{x->type.element, {}};
  for (unsigned i = 1; i < call.boundArgs.size() && call.boundArgs[i]; ++i) {
    std::optional<Dim> d = dim(i);
    if (!d)
      return std::nullopt;
    type.dims.push_back(*d);
  }
  // Sizes must agree for every value of the symbols: the static products are
  // equal and each symbolic dim appears as often on both sides.
  auto split = [](const TensorType &t, llvm::SmallVectorImpl<llvm::StringRef> &symbols) {
    int64_t product = 1;
    for (const Dim &d : t.dims)
      d.isSymbolic() ? symbols.push_back(d.symbol) : void(product *= d.size);
    llvm::sort(symbols);
    return product;
  };
  llvm::SmallVector<llvm::StringRef, 4> from, to;
  if (split(x->type, from) != split(type, to) || from != to)
    return fail(1, "cannot reshape " + x->type.str() + " to " + type.str() + ": the sizes differ",
                {&*x});
  // Each symbolic result dim takes its size from a dim of the input.
  llvm::SmallVector<mlir::Value, 2> sizes;
  llvm::SmallVector<bool, 4> used(x->type.getRank(), false);
  for (const Dim &d : type.dims) {
    if (!d.isSymbolic())
      continue;
    for (int64_t i = 0; i < x->type.getRank(); ++i)
      if (!used[i] && x->type.dims[i] == d) {
        used[i] = true;
        sizes.push_back(DimOp::create(gen.builder, loc(), x->value, i));
        break;
      }
  }
  return result(ReshapeOp::create(gen.builder, loc(), mlirType(type), x->value, sizes), type);
}

MaybeValue BuiltinGen::emitPermute() {
  MaybeValue x = tensor(0);
  if (!x)
    return std::nullopt;
  int64_t rank = x->type.getRank();
  llvm::SmallVector<int64_t, 4> permutation;
  for (unsigned i = 1; i < call.boundArgs.size() && call.boundArgs[i]; ++i) {
    std::optional<int64_t> d = gen.getStaticArg(call, i);
    if (!d)
      return std::nullopt;
    std::optional<int64_t> resolved = normalizeAxis(*d, rank);
    if (!resolved || llvm::is_contained(permutation, *resolved))
      return fail(i,
                  "dim " + Twine(*d) + " of " + name + " is out of range or repeated for " +
                      x->type.str(),
                  {&*x});
    permutation.push_back(*resolved);
  }
  if (static_cast<int64_t>(permutation.size()) != rank)
    return fail(1,
                name + " needs " + Twine(rank) + " dims for " + x->type.str() + ", got " +
                    Twine(permutation.size()),
                {&*x});
  TensorType type{x->type.element, {}};
  for (int64_t p : permutation)
    type.dims.push_back(x->type.dims[p]);
  return result(TransposeOp::create(gen.builder, loc(), mlirType(type), x->value, permutation),
                type);
}

/// slice(x, axis, start, end) keeps the axis; select(x, axis, index) drops
/// it. Negative positions count from the end of a static dim; a symbolic
/// dim may only be kept whole (`x[:, 0:]`) or selected at 0, the positions
/// every size >= 1 has.
MaybeValue BuiltinGen::emitSlice(bool dropAxis) {
  MaybeValue x = tensor(0);
  if (!x)
    return std::nullopt;
  std::optional<int64_t> ax = axis(1, *x);
  std::optional<int64_t> start = gen.getStaticArg(call, 2);
  if (!ax || !start)
    return std::nullopt;
  const Dim &d = x->type.dims[*ax];
  std::optional<int64_t> end =
      dropAxis ? std::optional<int64_t>(*start + 1) : gen.getStaticArg(call, 3);
  if (d.isSymbolic()) {
    bool whole = !dropAxis && *start == 0 && !call.boundArgs[3];
    if (whole)
      return x;
    if (!(dropAxis && *start == 0))
      return fail(2,
                  name + " of the symbolic dim " + d.symbol + " of " + x->type.str() +
                      " needs a position every size has (select 0, or slice from 0 to the end)",
                  {&*x});
  } else {
    int64_t size = d.size;
    if (*start < 0)
      *start += size;
    if (!end)
      end = size;
    else if (*end < 0)
      *end += size;
    if (dropAxis)
      end = *start + 1;
    if (*start < 0 || *start >= size || *end <= *start || *end > size)
      return fail(2,
                  (dropAxis ? "index " : "slice ") +
                      (dropAxis ? Twine(*start) : "[" + Twine(*start) + ", " + Twine(*end) + ")") +
                      " is out of range for axis " + Twine(*ax) + " of " + x->type.str(),
                  {&*x});
  }
  TensorType type = x->type;
  mlir::Value value;
  if (dropAxis) {
    type.dims.erase(type.dims.begin() + *ax);
    value = SelectOp::create(gen.builder, loc(), mlirType(type), x->value, *ax, *start);
  } else {
    type.dims[*ax] = Dim::getStatic(*end - *start);
    value = SliceOp::create(gen.builder, loc(), mlirType(type), x->value, *ax, *start, *end);
  }
  return result(value, type);
}

MaybeValue BuiltinGen::emitConcat() {
  llvm::SmallVector<TypedValue, 4> inputs;
  unsigned axisIndex = info.params.size() - 1;
  for (unsigned i = 0; i < axisIndex; ++i)
    if (byParam[i]) {
      MaybeValue value = tensor(i);
      if (!value)
        return std::nullopt;
      inputs.push_back(*value);
    }
  const TypedValue &first = inputs.front();
  std::optional<int64_t> ax = axis(axisIndex, first);
  if (!ax)
    return std::nullopt;
  TensorType type = first.type;
  int64_t total = 0;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    TensorType a = first.type, b = input.type;
    bool sameRank = a.getRank() == b.getRank();
    if (sameRank) {
      a.dims[*ax] = b.dims[*ax] = Dim::getStatic(1);
    }
    if (!sameRank || a != b)
      return fail(i,
                  "inputs of " + name +
                      " differ in element type, rank or a dim other than "
                      "axis " +
                      Twine(*ax) + ": " + first.type.str() + " and " + input.type.str(),
                  {&first, &input});
  }
  for (auto [i, input] : llvm::enumerate(inputs)) {
    const Dim &d = input.type.dims[*ax];
    if (d.isSymbolic())
      return fail(i,
                  name + " along the symbolic dim " + d.symbol + " of " + input.type.str() +
                      " is not supported: its size would be a sum of symbols",
                  {&input});
    total += d.size;
  }
  type.dims[*ax] = Dim::getStatic(total);
  llvm::SmallVector<mlir::Value, 4> values;
  for (const TypedValue &input : inputs)
    values.push_back(input.value);
  return result(ConcatOp::create(gen.builder, loc(), mlirType(type), values, *ax), type);
}

//===----------------------------------------------------------------------===//
// Attention and convolution
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitAttention() {
  MaybeValue q = floatTensor(0, "float q, k, v of shapes [B, H, S, D], [B, H, T, D], [B, H, T, E]");
  MaybeValue k = floatTensor(1, "float q, k, v of shapes [B, H, S, D], [B, H, T, D], [B, H, T, E]");
  MaybeValue v = floatTensor(2, "float q, k, v of shapes [B, H, S, D], [B, H, T, D], [B, H, T, E]");
  if (!q || !k || !v)
    return std::nullopt;
  for (auto [i, t] : llvm::enumerate(std::array{&*q, &*k, &*v}))
    if (t->type.getRank() != 4 || t->type.element != q->type.element)
      return fail(i,
                  name +
                      " expects q, k, v of shapes [B, H, S, D], [B, H, T, D], [B, H, T, E], "
                      "got " +
                      q->type.str() + ", " + k->type.str() + ", " + v->type.str(),
                  {&*q, &*k, &*v});
  const auto &qd = q->type.dims, &kd = k->type.dims, &vd = v->type.dims;
  if (qd[0] != kd[0] || qd[1] != kd[1] || qd[3] != kd[3])
    return fail(1,
                "q and k of " + name + " differ in batch, heads or head dim: " + q->type.str() +
                    " and " + k->type.str(),
                {&*q, &*k});
  if (kd[0] != vd[0] || kd[1] != vd[1] || kd[2] != vd[2])
    return fail(2,
                "k and v of " + name + " differ in batch, heads or length: " + k->type.str() +
                    " and " + v->type.str(),
                {&*k, &*v});
  mlir::Value mask;
  if (byParam[3]) {
    TypedValue m = *byParam[3];
    TensorType expected{ElementType::boolean, {kd[0], kd[2]}};
    if (m.type != expected || m.literal)
      return fail(3, "mask of " + name + " must be " + expected.str() + ", got " + m.type.str(),
                  {&m});
    mask = m.value;
  }
  mlir::Value bias;
  if (byParam[6]) {
    MaybeValue b = floatTensor(6, "a float bias of the scores [B, H, S, T]");
    if (!b)
      return std::nullopt;
    TensorType scores{q->type.element, {qd[0], qd[1], qd[2], kd[2]}};
    const auto &bd = b->type.dims;
    bool fits = b->type.element == q->type.element && bd.size() <= 4;
    for (size_t i = 0; fits && i < bd.size(); ++i) {
      const Dim &dim = bd[bd.size() - 1 - i];
      fits = dim == scores.dims[3 - i] || dim.isStatic(1);
    }
    if (!fits)
      return fail(6,
                  "bias of " + name + " must broadcast to the scores " + scores.str() + ", got " +
                      b->type.str(),
                  {&*b});
    bias = b->value;
  }
  bool causal = gen.getStaticArg(call, 4).value_or(0) != 0;
  std::optional<double> scale = 1.0;
  if (call.boundArgs[5]) {
    scale = number(5, 1.0);
  } else if (qd[3].isSymbolic()) {
    return fail(0,
                name + " needs an explicit scale when the head dim is symbolic: " + q->type.str(),
                {&*q});
  } else {
    scale = 1.0 / std::sqrt(static_cast<double>(qd[3].size));
  }
  if (!scale)
    return std::nullopt;
  TensorType type{q->type.element, {qd[0], qd[1], qd[2], vd[3]}};
  auto op = AttentionOp::create(gen.builder, loc(), mlirType(type), q->value, k->value, v->value,
                                mask, bias, gen.builder.getF64FloatAttr(*scale));
  op.setCausal(causal);
  return result(op, type);
}

MaybeValue BuiltinGen::emitConv2D() {
  MaybeValue x = floatTensor(0, "a float input [B, C, H, W]");
  MaybeValue w = tensor(1);
  std::optional<int64_t> stride = gen.getStaticArg(call, 3);
  if (!x || !w || !stride)
    return std::nullopt;
  const auto &xd = x->type.dims, &wd = w->type.dims;
  if (x->type.getRank() != 4 || xd[2].isSymbolic() || xd[3].isSymbolic())
    return fail(0,
                name + " expects an input [B, C, H, W] with static H and W, got " + x->type.str(),
                {&*x});
  if (w->type.getRank() != 4 || w->type.element != x->type.element || wd[1] != xd[1])
    return fail(1,
                name + " expects a weight [O, C, KH, KW] with C = " + dimStr(xd[1]) + ", got " +
                    w->type.str(),
                {&*x, &*w});
  TensorType bias{x->type.element, {wd[0]}};
  mlir::Value biasValue;
  if (byParam[2]) {
    MaybeValue b = tensor(2);
    if (!b)
      return std::nullopt;
    if (b->type != bias)
      return fail(2, "bias of " + name + " must be " + bias.str() + ", got " + b->type.str(),
                  {&*b});
    biasValue = b->value;
  } else {
    // No bias (nn.Conv2d(..., bias=False)): a zero splat, one constant in the IR.
    mlir::RankedTensorType zeros = mlirType(bias);
    biasValue = mlir::arith::ConstantOp::create(
        gen.builder, loc(),
        mlir::DenseElementsAttr::get(zeros, gen.builder.getZeroAttr(zeros.getElementType())));
  }
  if (*stride < 1)
    return fail(3, "stride of " + name + " must be positive, got " + Twine(*stride));
  if (wd[2].size > xd[2].size || wd[3].size > xd[3].size)
    return fail(1,
                "kernel of " + name + " is larger than the input: " + w->type.str() + " and " +
                    x->type.str(),
                {&*x, &*w});
  TensorType type{x->type.element,
                  {xd[0], wd[0], Dim::getStatic((xd[2].size - wd[2].size) / *stride + 1),
                   Dim::getStatic((xd[3].size - wd[3].size) / *stride + 1)}};
  return result(Conv2DOp::create(gen.builder, loc(), mlirType(type), x->value, w->value, biasValue,
                                 llvm::ArrayRef<int64_t>{*stride, *stride}),
                type);
}

//===----------------------------------------------------------------------===//
// Losses and similarities
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitKlDiv() {
  MaybeValue input = floatTensor(0, "float tensors of one shape [N, ...]");
  MaybeValue target = floatTensor(1, "float tensors of one shape [N, ...]");
  if (!input || !target)
    return std::nullopt;
  if (input->type.getRank() == 0 || input->type != target->type)
    return fail(1,
                name + " expects log_input and target of one shape [N, ...], got " +
                    input->type.str() + " and " + target->type.str(),
                {&*input, &*target});
  TensorType type = TensorType::getScalar(input->type.element);
  return result(KlDivOp::create(gen.builder, loc(), mlirType(type), input->value, target->value),
                type);
}

MaybeValue BuiltinGen::emitL2Normalize() {
  MaybeValue x = floatTensor(0, "a float tensor of rank >= 1");
  if (!x)
    return std::nullopt;
  if (x->type.getRank() == 0)
    return fail(0, name + " expects a float tensor of rank >= 1, got " + x->type.str(), {&*x});
  std::optional<int64_t> ax = axis(1, *x);
  std::optional<double> eps = number(2, 1e-12);
  if (!ax || !eps)
    return std::nullopt;
  if (*eps < 0)
    return fail(2, "'eps' of " + name + " must not be negative");
  return result(L2NormalizeOp::create(gen.builder, loc(), mlirType(x->type), x->value,
                                      gen.builder.getI64IntegerAttr(*ax),
                                      gen.builder.getF64FloatAttr(*eps)),
                x->type);
}

MaybeValue BuiltinGen::emitCosineSimilarity() {
  MaybeValue a = floatTensor(0, "float tensors"), b = floatTensor(1, "float tensors");
  if (!a || !b)
    return std::nullopt;
  if (a->type.element != b->type.element || a->type.getRank() != b->type.getRank() ||
      a->type.getRank() == 0)
    return fail(1,
                name + " expects float tensors of one element type and rank >= 1, got " +
                    a->type.str() + " and " + b->type.str(),
                {&*a, &*b});
  std::optional<int64_t> ax = axis(2, *a);
  std::optional<double> eps = number(3, 1e-8);
  if (!ax || !eps)
    return std::nullopt;
  unsigned badDim = 0;
  std::optional<TensorType> type = broadcast(a->type, b->type, badDim);
  if (!type || a->type.dims[*ax] != b->type.dims[*ax])
    return fail(1,
                "operands of " + name + " must be broadcast-compatible and equal along axis " +
                    Twine(*ax) + ": " + a->type.str() + " and " + b->type.str(),
                {&*a, &*b});
  if (*eps < 0)
    return fail(3, "'eps' of " + name + " must not be negative");
  type->dims.erase(type->dims.begin() + *ax);
  return result(CosineSimilarityOp::create(gen.builder, loc(), mlirType(*type), a->value, b->value,
                                           gen.builder.getI64IntegerAttr(*ax),
                                           gen.builder.getF64FloatAttr(*eps)),
                *type);
}

//===----------------------------------------------------------------------===//
// Index computations and constructors
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitArgmax() {
  MaybeValue x = floatTensor(0, "a float tensor of rank >= 1");
  if (!x)
    return std::nullopt;
  if (x->type.getRank() == 0)
    return fail(0, name + " expects a float tensor of rank >= 1, got " + x->type.str(), {&*x});
  std::optional<int64_t> ax = axis(1, *x);
  if (!ax)
    return std::nullopt;
  TensorType type{ElementType::i64, x->type.dims};
  type.dims.erase(type.dims.begin() + *ax);
  return result(ArgmaxOp::create(gen.builder, loc(), mlirType(type), x->value, *ax), type);
}

MaybeValue BuiltinGen::emitArange() {
  std::optional<Dim> n = dim(0);
  if (!n)
    return std::nullopt;
  TensorType type{ElementType::i64, {*n}};
  mlir::Value size;
  if (n->isSymbolic() && !(size = symbolSize(*n)))
    return fail(0, "no argument of this function carries the dim " + n->symbol + " of " + name);
  return result(ArangeOp::create(gen.builder, loc(), mlirType(type), size), type);
}

MaybeValue BuiltinGen::emitOneHot() {
  MaybeValue ids = tensor(0);
  std::optional<int64_t> classes = gen.getStaticArg(call, 1);
  if (!ids || !classes)
    return std::nullopt;
  if (byParam[0]->literal || isFloat(ids->type.element) ||
      ids->type.element == ElementType::boolean)
    return fail(0, name + " expects integer ids, got " + ids->type.str(), {&*ids});
  if (*classes < 1)
    return fail(1, "num_classes of " + name + " must be positive, got " + Twine(*classes));
  TensorType type{ElementType::f32, ids->type.dims};
  type.dims.push_back(Dim::getStatic(*classes));
  return result(OneHotOp::create(gen.builder, loc(), mlirType(type), ids->value), type);
}

/// zeros_like, ones_like (`fixed`) and full_like (the `value` argument).
MaybeValue BuiltinGen::emitFullLike(std::optional<double> fixed) {
  MaybeValue x = tensor(0);
  std::optional<double> value = fixed ? fixed : number(1, 0.0);
  if (!x || !value)
    return std::nullopt;
  if (!isFloat(x->type.element) && *value != std::trunc(*value))
    return fail(1,
                "value " + std::to_string(*value) + " of " + name + " is not an integer for " +
                    x->type.str(),
                {&*x});
  if (x->type.element == ElementType::boolean && *value != 0 && *value != 1)
    return fail(1,
                "value " + std::to_string(*value) + " of " + name + " is not 0 or 1 for " +
                    x->type.str(),
                {&*x});
  return result(FullLikeOp::create(gen.builder, loc(), mlirType(x->type), x->value,
                                   gen.builder.getF64FloatAttr(*value)),
                x->type);
}

//===----------------------------------------------------------------------===//
// Gather and scatter
//===----------------------------------------------------------------------===//

MaybeValue BuiltinGen::emitIndexSelect() {
  MaybeValue x = floatTensor(0, "a float tensor of rank >= 1");
  MaybeValue indices = indexTensor(2);
  if (!x || !indices)
    return std::nullopt;
  if (x->type.getRank() == 0)
    return fail(0, name + " expects a float tensor of rank >= 1, got " + x->type.str(), {&*x});
  std::optional<int64_t> ax = axis(1, *x);
  if (!ax)
    return std::nullopt;
  TensorType type = x->type;
  type.dims[*ax] = indices->type.dims[0];
  return result(
      IndexSelectOp::create(gen.builder, loc(), mlirType(type), x->value, indices->value, *ax),
      type);
}

/// scatter_add(init, indices, src), and segment_sum(src, ids, like) as
/// scatter_add(zeros_like(like), ids, src): the parameter indices say which
/// argument plays which part.
MaybeValue BuiltinGen::emitScatterAdd(unsigned initIndex, unsigned indicesIndex, unsigned srcIndex,
                                      bool zeroInit) {
  MaybeValue init = floatTensor(initIndex, "a float tensor [N, ...]");
  MaybeValue indices = indexTensor(indicesIndex);
  MaybeValue src = floatTensor(srcIndex, "a float tensor [E, ...]");
  if (!init || !indices || !src)
    return std::nullopt;
  const std::string what = zeroInit ? "like" : "init";
  if (init->type.getRank() == 0)
    return fail(initIndex,
                name + " expects " + what + " of shape [N, ...], got " + init->type.str(),
                {&*init});
  TensorType expected = init->type;
  expected.dims[0] = indices->type.dims[0];
  if (src->type != expected)
    return fail(srcIndex,
                "src of " + name + " must be " + expected.str() + " for " + what + " " +
                    init->type.str() + " and indices " + indices->type.str() + ", got " +
                    src->type.str(),
                {&*init, &*indices, &*src});
  auto type = mlirType(init->type);
  mlir::Value start = init->value;
  if (zeroInit)
    start = FullLikeOp::create(gen.builder, loc(), type, start, gen.builder.getF64FloatAttr(0.0));
  return result(ScatterAddOp::create(gen.builder, loc(), type, start, indices->value, src->value),
                init->type);
}

MaybeValue kiln::emitLargerBuiltin(MLIRGen &gen, const CallExprAST &call,
                                   llvm::ArrayRef<TypedValue> tensors) {
  return BuiltinGen(gen, call, tensors).emit();
}
