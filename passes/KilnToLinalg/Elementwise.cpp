//===- Elementwise.cpp - Elementwise kiln ops to linalg.generic -----------===//
//
// Every op here is one broadcasting linalg.generic (buildElementwise); the
// patterns differ only in their scalar bodies, so those are tabled.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/StringSwitch.h"
#include <cmath>
#include <type_traits>

using namespace mlir;

namespace kiln {

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, FloatAttr::get(type, value));
}

Type elementTypeOf(Value value) { return cast<RankedTensorType>(value.getType()).getElementType(); }

namespace {

/// Binary ops: one scalar op for float element types, one for integers
/// (`void` where the op is float-only; its verifier rejects integers).
template <typename KilnOp, typename FloatOp, typename IntOp>
struct LowerBinary : OpRewritePattern<KilnOp> {
  using OpRewritePattern<KilnOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    bool isFloat = isa<FloatType>(type.getElementType());
    Value result = buildElementwise(rewriter, op.getLoc(), type, {op.getLhs(), op.getRhs()},
                                    [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
                                      if constexpr (!std::is_void_v<IntOp>)
                                        if (!isFloat)
                                          return IntOp::create(b, loc, args[0], args[1]);
                                      return FloatOp::create(b, loc, args[0], args[1]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Ops with one input and a scalar body that may read the op's attributes.
template <typename KilnOp> struct LowerUnary : OpRewritePattern<KilnOp> {
  using Body = Value (*)(OpBuilder &, Location, Value, KilnOp);
  LowerUnary(MLIRContext *ctx, Body body) : OpRewritePattern<KilnOp>(ctx), body(body) {}
  LogicalResult matchAndRewrite(KilnOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value result = buildElementwise(
        rewriter, op.getLoc(), type, {op.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) { return body(b, loc, args[0], op); });
    rewriter.replaceOp(op, result);
    return success();
  }
  Body body;
};

/// A body that is one math/arith op of its operand.
template <typename KilnOp, typename ScalarOp>
Value simpleBody(OpBuilder &b, Location loc, Value x, KilnOp) {
  return ScalarOp::create(b, loc, x);
}

Value reluBody(OpBuilder &b, Location loc, Value x, ReluOp) {
  return arith::MaximumFOp::create(b, loc, x, floatConstant(b, loc, x.getType(), 0.0));
}

Value sigmoidBody(OpBuilder &b, Location loc, Value x, SigmoidOp) {
  Value one = floatConstant(b, loc, x.getType(), 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

/// x * (1 + erf(x / sqrt 2)) / 2, or the tanh form.
Value geluBody(OpBuilder &b, Location loc, Value x, GeluOp op) {
  Type t = x.getType();
  auto c = [&](double v) { return floatConstant(b, loc, t, v); };
  Value inner;
  if (op.getApproximate() == "tanh") {
    Value x3 = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, x, x), x);
    Value poly = arith::AddFOp::create(b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), x3));
    inner =
        math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, c(std::sqrt(2.0 / M_PI)), poly));
  } else {
    inner = math::ErfOp::create(b, loc, arith::MulFOp::create(b, loc, x, c(M_SQRT1_2)));
  }
  Value half = arith::MulFOp::create(b, loc, x, c(0.5));
  return arith::MulFOp::create(b, loc, half, arith::AddFOp::create(b, loc, c(1.0), inner));
}

Value clampBody(OpBuilder &b, Location loc, Value x, ClampOp op) {
  Type t = x.getType();
  Value low =
      arith::MaximumFOp::create(b, loc, x, floatConstant(b, loc, t, op.getMin().convertToDouble()));
  return arith::MinimumFOp::create(b, loc, low,
                                   floatConstant(b, loc, t, op.getMax().convertToDouble()));
}

/// The arith conversion between two element types (see kiln.cast).
Value castBody(OpBuilder &b, Location loc, Value x, CastOp op) {
  Type from = x.getType(), to = op.getType().getElementType();
  if (from == to)
    return x;
  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(to);
  if (fromFloat && !toFloat)
    return arith::FPToSIOp::create(b, loc, to, x);
  if (!fromFloat && toFloat)
    return from.isInteger(1) ? arith::UIToFPOp::create(b, loc, to, x).getResult()
                             : arith::SIToFPOp::create(b, loc, to, x).getResult();
  unsigned fromWidth = from.getIntOrFloatBitWidth(), toWidth = to.getIntOrFloatBitWidth();
  if (from.isInteger(1))
    return arith::ExtUIOp::create(b, loc, to, x);
  if (fromWidth < toWidth)
    return arith::ExtSIOp::create(b, loc, to, x);
  return arith::TruncIOp::create(b, loc, to, x);
}

struct LowerWhere : OpRewritePattern<WhereOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(WhereOp op, PatternRewriter &rewriter) const override {
    Value result = buildElementwise(rewriter, op.getLoc(), op.getType(),
                                    {op.getCond(), op.getLhs(), op.getRhs()},
                                    [](OpBuilder &b, Location loc, ValueRange a) -> Value {
                                      return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Ordered float predicates (a NaN compares false, except under `ne`) and
/// signed integer ones.
struct LowerCompare : OpRewritePattern<CompareOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CompareOp op, PatternRewriter &rewriter) const override {
    StringRef name = op.getPredicate();
    auto floatPredicate = llvm::StringSwitch<arith::CmpFPredicate>(name)
                              .Case("lt", arith::CmpFPredicate::OLT)
                              .Case("le", arith::CmpFPredicate::OLE)
                              .Case("gt", arith::CmpFPredicate::OGT)
                              .Case("ge", arith::CmpFPredicate::OGE)
                              .Case("eq", arith::CmpFPredicate::OEQ)
                              .Default(arith::CmpFPredicate::UNE);
    auto intPredicate = llvm::StringSwitch<arith::CmpIPredicate>(name)
                            .Case("lt", arith::CmpIPredicate::slt)
                            .Case("le", arith::CmpIPredicate::sle)
                            .Case("gt", arith::CmpIPredicate::sgt)
                            .Case("ge", arith::CmpIPredicate::sge)
                            .Case("eq", arith::CmpIPredicate::eq)
                            .Default(arith::CmpIPredicate::ne);
    bool isFloat = isa<FloatType>(elementTypeOf(op.getLhs()));
    Value result = buildElementwise(rewriter, op.getLoc(), op.getType(), {op.getLhs(), op.getRhs()},
                                    [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
                                      if (isFloat)
                                        return arith::CmpFOp::create(b, loc, floatPredicate, a[0],
                                                                     a[1]);
                                      return arith::CmpIOp::create(b, loc, intPredicate, a[0], a[1]);
                                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

template <typename KilnOp>
void addUnary(RewritePatternSet &patterns, typename LowerUnary<KilnOp>::Body body) {
  patterns.add<LowerUnary<KilnOp>>(patterns.getContext(), body);
}

} // namespace

void populateElementwisePatterns(RewritePatternSet &patterns) {
  patterns.add<LowerBinary<AddOp, arith::AddFOp, arith::AddIOp>,
               LowerBinary<SubOp, arith::SubFOp, arith::SubIOp>,
               LowerBinary<MulOp, arith::MulFOp, arith::MulIOp>,
               LowerBinary<DivOp, arith::DivFOp, arith::DivSIOp>,
               LowerBinary<MaxOp, arith::MaximumFOp, arith::MaxSIOp>,
               LowerBinary<MinOp, arith::MinimumFOp, arith::MinSIOp>,
               LowerBinary<PowOp, math::PowFOp, void>, LowerWhere, LowerCompare>(
      patterns.getContext());
  addUnary<ReluOp>(patterns, reluBody);
  addUnary<SigmoidOp>(patterns, sigmoidBody);
  addUnary<NegOp>(patterns, simpleBody<NegOp, arith::NegFOp>);
  addUnary<TanhOp>(patterns, simpleBody<TanhOp, math::TanhOp>);
  addUnary<ExpOp>(patterns, simpleBody<ExpOp, math::ExpOp>);
  addUnary<LogOp>(patterns, simpleBody<LogOp, math::LogOp>);
  addUnary<SqrtOp>(patterns, simpleBody<SqrtOp, math::SqrtOp>);
  addUnary<RsqrtOp>(patterns, simpleBody<RsqrtOp, math::RsqrtOp>);
  addUnary<AbsOp>(patterns, simpleBody<AbsOp, math::AbsFOp>);
  addUnary<ErfOp>(patterns, simpleBody<ErfOp, math::ErfOp>);
  // libm's sinf/cosf, not a polynomial: rotary angles reach thousands of
  // radians, where a short range reduction loses digits.
  addUnary<SinOp>(patterns, simpleBody<SinOp, math::SinOp>);
  addUnary<CosOp>(patterns, simpleBody<CosOp, math::CosOp>);
  addUnary<GeluOp>(patterns, geluBody);
  addUnary<ClampOp>(patterns, clampBody);
  addUnary<CastOp>(patterns, castBody);
}

} // namespace kiln
