//===- KilnGradients.cpp - The vector-Jacobian product of each kiln op ----===//
//
// Reverse-mode autodiff (kiln-autodiff) asks each op for the cotangents of
// its operands given those of its results. Every rule is written with kiln
// ops, so a backward graph is fused, tiled and sent to kernels exactly like
// a forward one. Where a derivative has a choice at a kink, the rules make
// PyTorch's: relu and abs give 0 at 0, clamp passes the gradient at its
// bounds, and ties of maximum/minimum (and of a reduced max) share it evenly.
// Broadcasting is undone by summing the cotangent over the broadcast dims.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/GradBuilder.h"
#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"
#include <array>
#include <cmath>
#include <numeric>
#include <tuple>

using namespace mlir;
using namespace kiln;

#include "dialects/Kiln/KilnInterfaces.cpp.inc"

namespace {

/// Collects operand cotangents, leaving entries null where none flows.
LogicalResult setGrads(SmallVectorImpl<Value> &out, Operation *op, ArrayRef<Value> grads) {
  out.assign(op->getNumOperands(), Value());
  for (auto [i, grad] : llvm::enumerate(grads))
    out[i] = grad;
  return success();
}

/// The rule of an op with one input and a cotangent that is a function of
/// the input, the result and the incoming cotangent.
template <typename Rule>
LogicalResult unaryVjp(Operation *op, OpBuilder &b, ArrayRef<Value> resultGrads,
                       SmallVectorImpl<Value> &operandGrads, Rule rule) {
  GradBuilder g(b, op->getLoc());
  Value grad =
      resultGrads[0] ? rule(g, op->getOperand(0), op->getResult(0), resultGrads[0]) : Value();
  return setGrads(operandGrads, op, {grad});
}

/// Keeps only the gradients of float operands: integer operands (ids,
/// targets) have none.
Value ifFloat(Value operand, Value grad) {
  return isa<FloatType>(tensorOf(operand).getElementType()) ? grad : Value();
}
} // namespace

//===----------------------------------------------------------------------===//
// Broadcasting binary ops
//===----------------------------------------------------------------------===//

/// Of maximum (`wins` = "gt") or minimum ("lt"): the winning operand takes
/// the gradient; a tie splits it in halves.
static std::pair<Value, Value> extremumGrads(GradBuilder &g, Value x, Value y, Value dout,
                                             StringRef wins) {
  Value half = g.mul(dout, 0.5), zero = g.scalar(dout, 0.0);
  Value tie = g.compare("eq", x, y);
  return {g.where(g.compare(wins, x, y), dout, g.where(tie, half, zero)),
          g.where(g.compare(wins, y, x), dout, g.where(tie, half, zero))};
}

#define KILN_BINARY_VJP(OP, BODY)                                                                  \
  LogicalResult OP::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,                            \
                             SmallVectorImpl<Value> &operandGrads) {                               \
    if (!resultGrads[0] || !isa<FloatType>(getType().getElementType()))                            \
      return setGrads(operandGrads, *this, {});                                                    \
    GradBuilder g(b, getLoc());                                                                    \
    Value x = getLhs(), y = getRhs(), out = getResult(), dout = resultGrads[0];                    \
    (void)out;                                                                                     \
    Value dx, dy;                                                                                  \
    BODY;                                                                                          \
    return setGrads(operandGrads, *this,                                                           \
                    {dx ? g.sumToShape(dx, x) : Value(), dy ? g.sumToShape(dy, y) : Value()});     \
  }

KILN_BINARY_VJP(AddOp, (dx = dout, dy = dout))
KILN_BINARY_VJP(SubOp, (dx = dout, dy = g.neg(dout)))
KILN_BINARY_VJP(MulOp, (dx = g.mul(dout, y), dy = g.mul(dout, x)))
// d(x / y)/dy = -x / y^2 = -out / y.
KILN_BINARY_VJP(DivOp, (dx = g.div(dout, y), dy = g.neg(g.div(g.mul(dout, out), y))))
// x^y: y x^(y-1) and x^y log x.
KILN_BINARY_VJP(PowOp, (dx = g.mul(g.mul(dout, y), g.binary<PowOp>(x, g.sub(y, g.scalar(y, 1.0)))),
                        dy = g.mul(g.mul(dout, out), g.unary<LogOp>(x))))
KILN_BINARY_VJP(MaxOp, (std::tie(dx, dy) = extremumGrads(g, x, y, dout, "gt")))
KILN_BINARY_VJP(MinOp, (std::tie(dx, dy) = extremumGrads(g, x, y, dout, "lt")))
#undef KILN_BINARY_VJP

//===----------------------------------------------------------------------===//
// Unary math
//===----------------------------------------------------------------------===//

#define KILN_UNARY_VJP(OP, EXPR)                                                                   \
  LogicalResult OP::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,                            \
                             SmallVectorImpl<Value> &operandGrads) {                               \
    return unaryVjp(*this, b, resultGrads, operandGrads,                                           \
                    [](GradBuilder &g, Value x, Value out, Value dout) -> Value {                  \
                      (void)x;                                                                     \
                      (void)out;                                                                   \
                      return EXPR;                                                                 \
                    });                                                                            \
  }

KILN_UNARY_VJP(NegOp, g.neg(dout))
KILN_UNARY_VJP(ReluOp, g.where(g.compare("gt", out, g.scalar(out, 0.0)), dout, g.scalar(dout, 0.0)))
KILN_UNARY_VJP(SigmoidOp, g.mul(dout, g.mul(out, g.sub(g.scalar(out, 1.0), out))))
KILN_UNARY_VJP(TanhOp, g.mul(dout, g.sub(g.scalar(out, 1.0), g.mul(out, out))))
KILN_UNARY_VJP(ExpOp, g.mul(dout, out))
KILN_UNARY_VJP(LogOp, g.div(dout, x))
KILN_UNARY_VJP(SqrtOp, g.div(g.mul(dout, 0.5), out))
// rsqrt(x) = x^(-1/2): derivative -x^(-3/2) / 2 = -out^3 / 2.
KILN_UNARY_VJP(RsqrtOp, g.mul(g.mul(dout, -0.5), g.mul(out, g.mul(out, out))))
KILN_UNARY_VJP(SinOp, g.mul(dout, g.unary<CosOp>(x)))
KILN_UNARY_VJP(CosOp, g.neg(g.mul(dout, g.unary<SinOp>(x))))
KILN_UNARY_VJP(AbsOp, g.where(g.compare("gt", x, g.scalar(x, 0.0)), dout,
                              g.where(g.compare("lt", x, g.scalar(x, 0.0)), g.neg(dout),
                                      g.scalar(dout, 0.0))))
// erf'(x) = 2 / sqrt(pi) exp(-x^2).
KILN_UNARY_VJP(ErfOp, g.mul(g.mul(dout, 2.0 / std::sqrt(M_PI)), g.unary<ExpOp>(g.neg(g.mul(x, x)))))
#undef KILN_UNARY_VJP

LogicalResult GeluOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                               SmallVectorImpl<Value> &operandGrads) {
  bool tanhForm = getApproximate() == "tanh";
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [tanhForm](GradBuilder &g, Value x, Value, Value dout) -> Value {
                    Value one = g.scalar(x, 1.0);
                    if (!tanhForm) {
                      // Phi(x) + x phi(x), the normal CDF and density.
                      Value cdf = g.mul(g.add(one, g.unary<ErfOp>(g.mul(x, M_SQRT1_2))), 0.5);
                      Value pdf = g.mul(g.unary<ExpOp>(g.mul(g.mul(x, x), -0.5)),
                                        1.0 / std::sqrt(2.0 * M_PI));
                      return g.mul(dout, g.add(cdf, g.mul(x, pdf)));
                    }
                    // u = k (x + c x^3): (1 + t) / 2 + x (1 - t^2) u' / 2.
                    double k = std::sqrt(2.0 / M_PI), c = 0.044715;
                    Value x2 = g.mul(x, x);
                    Value u = g.mul(g.add(x, g.mul(g.mul(x2, x), c)), k);
                    Value t = g.unary<TanhOp>(u);
                    Value du = g.mul(g.add(one, g.mul(x2, 3.0 * c)), k);
                    Value inner = g.mul(g.mul(x, g.sub(one, g.mul(t, t))), du);
                    return g.mul(dout, g.mul(g.add(g.add(one, t), inner), 0.5));
                  });
}

LogicalResult ClampOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  double low = getMin().convertToDouble(), high = getMax().convertToDouble();
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [&](GradBuilder &g, Value x, Value, Value dout) -> Value {
                    Value zero = g.scalar(dout, 0.0);
                    Value inside = g.where(g.compare("le", x, g.scalar(x, high)), dout, zero);
                    return g.where(g.compare("ge", x, g.scalar(x, low)), inside, zero);
                  });
}

LogicalResult WhereOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0] || !isa<FloatType>(getType().getElementType()))
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value dout = resultGrads[0], zero = g.scalar(dout, 0.0);
  return setGrads(operandGrads, *this,
                  {Value(), g.sumToShape(g.where(getCond(), dout, zero), getLhs()),
                   g.sumToShape(g.where(getCond(), zero, dout), getRhs())});
}

// Casts change the element kind (float <-> integer): no gradient crosses.
LogicalResult CastOp::buildVjp(OpBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &grads) {
  return setGrads(grads, *this, {});
}

// A constant of the input's shape.
LogicalResult FullLikeOp::buildVjp(OpBuilder &, ArrayRef<Value>, SmallVectorImpl<Value> &grads) {
  return setGrads(grads, *this, {});
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  int64_t axis = getAxis();
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [axis](GradBuilder &g, Value, Value out, Value dout) -> Value {
                    Value dot = g.sum(g.mul(dout, out), {axis}, /*keepDims=*/true);
                    return g.mul(out, g.sub(dout, dot));
                  });
}

LogicalResult LogSoftmaxOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  int64_t axis = getAxis();
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [axis](GradBuilder &g, Value, Value out, Value dout) -> Value {
                    Value total = g.sum(dout, {axis}, /*keepDims=*/true);
                    return g.sub(dout, g.mul(g.unary<ExpOp>(out), total));
                  });
}

LogicalResult LayerNormOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  Value weight = getWeight();
  auto grad = LayerNormGradOp::create(b, getLoc(), getInput().getType(), weight.getType(),
                                      weight.getType(), getInput(), weight, resultGrads[0],
                                      getEpsAttr());
  return setGrads(operandGrads, *this, {grad.getDinput(), grad.getDweight(), grad.getDbias()});
}

LogicalResult RmsNormOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  Value weight = getWeight();
  auto grad = RmsNormGradOp::create(b, getLoc(), getInput().getType(), weight.getType(),
                                    getInput(), weight, resultGrads[0], getEpsAttr());
  return setGrads(operandGrads, *this, {grad.getDinput(), grad.getDweight()});
}

LogicalResult L2NormalizeOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  int64_t axis = getAxis();
  double eps = getEps().convertToDouble();
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [&](GradBuilder &g, Value x, Value out, Value dout) -> Value {
                    // out = x / max(|x|, eps): where |x| > eps the Jacobian
                    // projects out the direction of out, else it is 1 / eps.
                    Value norm = g.unary<SqrtOp>(g.sum(g.mul(x, x), {axis}, true));
                    Value dot = g.sum(g.mul(dout, out), {axis}, true);
                    Value projected = g.div(g.sub(dout, g.mul(out, dot)), norm);
                    return g.where(g.compare("gt", norm, g.scalar(norm, eps)), projected,
                                   g.mul(dout, 1.0 / eps));
                  });
}

//===----------------------------------------------------------------------===//
// Matmul and layout
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value x = getLhs(), y = getRhs(), dout = resultGrads[0];
  int64_t xRank = tensorOf(x).getRank(), yRank = tensorOf(y).getRank();
  auto buildDx = [&] { return g.sumToShape(g.matmul(dout, g.swapLast(y)), x); };
  auto buildDy = [&] {
    if (yRank == 2 && xRank > 2) {
      // A weight shared by every batch ([B, S, K] @ [K, N]): its gradient is
      // one matmul over all B * S rows, not B products summed afterwards (a
      // [B, K, N] temporary and a reduction over it).
      return g.matmul(g.swapLast(g.flattenFront(x, xRank - 1)), g.flattenFront(dout, xRank - 1));
    }
    return g.sumToShape(g.matmul(g.swapLast(x), dout), y);
  };
  // dy is the last reader of x: built first when x is an activation of this
  // function (a weight's gradient before its input's), x's buffer is free
  // again before dx takes one.
  Operation *xProducer = x.getDefiningOp();
  Value dy = xProducer && !isa<ParamOp>(xProducer) ? buildDy() : Value();
  Value dx = buildDx();
  return setGrads(operandGrads, *this, {dx, dy ? dy : buildDy()});
}

LogicalResult TransposeOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [&](GradBuilder &g, Value x, Value, Value dout) {
                    return ifFloat(x, g.transpose(dout, inverse));
                  });
}

LogicalResult ReshapeOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [](GradBuilder &g, Value x, Value, Value dout) {
                    return ifFloat(x, g.reshapeLike(dout, x));
                  });
}

/// Slice, select and concat place cotangents by static offsets.
static LogicalResult requireStaticAxis(Operation *op, Value value, int64_t axis) {
  if (tensorOf(value).isDynamicDim(axis))
    return op->emitOpError("has no gradient along a symbolic dim (axis ") << axis << ")";
  return success();
}

LogicalResult SliceOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0] || !isa<FloatType>(getType().getElementType()))
    return setGrads(operandGrads, *this, {});
  if (failed(requireStaticAxis(*this, getInput(), getAxis())))
    return failure();
  GradBuilder g(b, getLoc());
  return setGrads(operandGrads, *this,
                  {g.padLike(resultGrads[0], getInput(), getAxis(), getStart())});
}

LogicalResult SelectOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0] || !isa<FloatType>(getType().getElementType()))
    return setGrads(operandGrads, *this, {});
  if (failed(requireStaticAxis(*this, getInput(), getAxis())))
    return failure();
  GradBuilder g(b, getLoc());
  Value kept = g.restoreReduced(resultGrads[0], getInput().getType(),
                                {static_cast<int64_t>(getAxis())}, false);
  return setGrads(operandGrads, *this, {g.padLike(kept, getInput(), getAxis(), getIndex())});
}

LogicalResult ConcatOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0] || !isa<FloatType>(getType().getElementType()))
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  int64_t axis = getAxis(), offset = 0;
  SmallVector<Value> grads;
  for (Value input : getInputs()) {
    if (failed(requireStaticAxis(*this, input, axis)))
      return failure();
    int64_t size = tensorOf(input).getDimSize(axis);
    grads.push_back(g.slice(resultGrads[0], axis, offset, offset + size));
    offset += size;
  }
  return setGrads(operandGrads, *this, grads);
}

LogicalResult CosineSimilarityOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                           SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  int64_t axis = getAxis();
  double eps = getEps().convertToDouble();
  Value x = getLhs(), y = getRhs();
  auto shape = cast<RankedTensorType>(getType());
  // The cotangent and the result with `axis` back as size 1.
  auto outer = *broadcastShapes(tensorOf(x).getShape(), tensorOf(y).getShape());
  auto outerType = RankedTensorType::get(outer, shape.getElementType());
  Value dout = g.restoreReduced(resultGrads[0], outerType, {axis}, false);
  Value out = g.restoreReduced(getResult(), outerType, {axis}, false);
  // Each side's norm is clamped on its own: x_hat = x / max(|x|, eps).
  auto side = [&](Value self, Value other) {
    Value norm = g.unary<SqrtOp>(g.sum(g.mul(self, self), {axis}, true));
    Value clamped = g.binary<MaxOp>(norm, g.scalar(norm, eps));
    Value selfHat = g.div(self, clamped);
    Value otherNorm = g.unary<SqrtOp>(g.sum(g.mul(other, other), {axis}, true));
    Value otherHat = g.div(other, g.binary<MaxOp>(otherNorm, g.scalar(otherNorm, eps)));
    // Where |self| > eps: (other_hat - self_hat * out) / |self|; else other_hat / eps.
    Value inside = g.div(g.sub(otherHat, g.mul(selfHat, out)), clamped);
    Value grad = g.where(g.compare("gt", norm, g.scalar(norm, eps)), inside, g.div(otherHat, clamped));
    return g.sumToShape(g.mul(dout, grad), self);
  };
  return setGrads(operandGrads, *this, {side(x, y), side(y, x)});
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// Attention's cotangents come from kiln.attention_grad, which the native
// kernel computes flash-style (no [S, T] matrix). Only a bias's cotangent,
// which is [.., S, T] itself, is built from the decomposition; when the bias
// is not trained that part is dead code and disappears.
LogicalResult AttentionOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  Value q = getQuery(), k = getKey(), v = getValue();
  auto grad = AttentionGradOp::create(b, getLoc(), q.getType(), k.getType(), v.getType(), q, k, v,
                                      getResult(), resultGrads[0], getMask(), getBias(),
                                      getScaleAttr(), getCausalAttr());
  // Operands: query, key, value, [mask], [bias].
  SmallVector<Value> grads = {grad.getDquery(), grad.getDkey(), grad.getDvalue()};
  if (getMask())
    grads.push_back(Value());
  if (Value bias = getBias())
    grads.push_back(GradBuilder(b, getLoc()).sumToShape(grad.decompose(b)[3], bias));
  return setGrads(operandGrads, *this, grads);
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

// With stride = kernel (a patch embedding, the seed models' only use) the
// patches do not overlap: the convolution is a matmul of the patch matrix
// [B P Q, C KH KW] with the flattened weight, and its gradients are matmuls
// too, the input's put back patch by patch (zeros where no patch reached).
LogicalResult Conv2DOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  auto wType = getWeight().getType();
  ArrayRef<int64_t> strides = getStrides();
  int64_t o = wType.getDimSize(0), c = wType.getDimSize(1);
  int64_t kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  if (strides[0] != kh || strides[1] != kw)
    return emitOpError("has a gradient rule only with stride = kernel size (a patch embedding), "
                       "not strides [")
           << strides[0] << ", " << strides[1] << "] with a " << kh << "x" << kw << " kernel";
  GradBuilder g(b, getLoc());
  Location loc = getLoc();
  Value x = getInput(), dout = resultGrads[0];
  auto xType = tensorOf(x);
  int64_t batch = xType.getDimSize(0);
  int64_t p = getType().getDimSize(2), q = getType().getDimSize(3);
  // Rows of the patch matrix: B P Q, symbolic when B is.
  bool dynamic = ShapedType::isDynamic(batch);
  SmallVector<Value> rowSizes, batchSizes;
  int64_t rows = dynamic ? ShapedType::kDynamic : batch * p * q;
  if (dynamic) {
    Value b0 = DimOp::create(b, loc, x, 0);
    batchSizes.push_back(b0);
    rowSizes.push_back(
        arith::MulIOp::create(b, loc, b0, arith::ConstantIndexOp::create(b, loc, p * q)));
  }
  // The input cropped to whole patches.
  Value cropped = x;
  if (p * kh < xType.getDimSize(2))
    cropped = g.slice(cropped, 2, 0, p * kh);
  if (q * kw < xType.getDimSize(3))
    cropped = g.slice(cropped, 3, 0, q * kw);
  Value patches = g.reshapeTo(
      g.transpose(g.reshapeTo(cropped, {batch, c, p, kh, q, kw}, batchSizes), {0, 2, 4, 1, 3, 5}),
      {rows, c * kh * kw}, rowSizes);
  Value grad = g.reshapeTo(g.transpose(dout, {0, 2, 3, 1}), {rows, o}, rowSizes);
  Value flatWeight = g.reshapeTo(getWeight(), {o, c * kh * kw}, {});
  Value dWeight = g.reshapeTo(g.matmul(g.swapLast(grad), patches), {o, c, kh, kw}, {});
  Value dPatches = g.reshapeTo(g.matmul(grad, flatWeight), {batch, p, q, c, kh, kw}, batchSizes);
  Value dx = g.reshapeTo(g.transpose(dPatches, {0, 3, 1, 4, 2, 5}), {batch, c, p * kh, q * kw},
                         batchSizes);
  // Zeros where no patch reached (the input's ragged right and bottom edges).
  if (q * kw < xType.getDimSize(3) || p * kh < xType.getDimSize(2)) {
    Value full = g.zerosLike(x);
    if (q * kw < xType.getDimSize(3))
      dx = ConcatOp::create(
          b, loc,
          RankedTensorType::get({batch, c, p * kh, xType.getDimSize(3)}, xType.getElementType()),
          ValueRange{dx, g.slice(g.slice(full, 2, 0, p * kh), 3, q * kw, xType.getDimSize(3))}, 3);
    if (p * kh < xType.getDimSize(2))
      dx = ConcatOp::create(b, loc, x.getType(),
                            ValueRange{dx, g.slice(full, 2, p * kh, xType.getDimSize(2))}, 2);
  }
  Value dBias = g.sum(dout, {0, 2, 3}, /*keepDims=*/false);
  return setGrads(operandGrads, *this, {dx, dWeight, dBias});
}

//===----------------------------------------------------------------------===//
// Gathers and scatters
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value ids = getIds(), dout = resultGrads[0];
  auto idsType = tensorOf(ids);
  if (idsType.getRank() != 1) {
    // ids to [E] and the cotangent to [E, D], E the product of the ids' dims.
    ids = g.flattenFront(ids, idsType.getRank());
    dout = g.flattenFront(dout, idsType.getRank());
  }
  return setGrads(operandGrads, *this, {g.scatterRows(getWeight(), ids, dout), Value()});
}

LogicalResult IndexSelectOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value input = getInput(), dout = resultGrads[0];
  int64_t axis = getAxis(), rank = tensorOf(input).getRank();
  if (axis == 0)
    return setGrads(operandGrads, *this, {g.scatterRows(input, getIndices(), dout), Value()});
  // Scatter along dim 0 of the transposed problem.
  SmallVector<int64_t> toFront = {axis};
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      toFront.push_back(d);
  SmallVector<int64_t> back(rank);
  for (auto [i, p] : llvm::enumerate(toFront))
    back[p] = i;
  Value scattered =
      g.scatterRows(g.transpose(input, toFront), getIndices(), g.transpose(dout, toFront));
  return setGrads(operandGrads, *this, {g.transpose(scattered, back), Value()});
}

LogicalResult ScatterAddOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  Value dout = resultGrads[0];
  auto srcType = tensorOf(getSrc());
  Value dSrc = IndexSelectOp::create(b, getLoc(), srcType, dout, getIndices(), int64_t{0});
  return setGrads(operandGrads, *this, {dout, Value(), dSrc});
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

LogicalResult ReduceSumOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [this](GradBuilder &g, Value x, Value, Value dout) {
                    Value kept = g.restoreReduced(dout, tensorOf(x), getAxes(), getKeepDims());
                    return g.broadcastLike(kept, x);
                  });
}

LogicalResult ReduceMeanOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  return unaryVjp(*this, b, resultGrads, operandGrads,
                  [this](GradBuilder &g, Value x, Value, Value dout) {
                    Value kept = g.restoreReduced(dout, tensorOf(x), getAxes(), getKeepDims());
                    return g.broadcastLike(g.div(kept, g.count(x, getAxes())), x);
                  });
}

// The maxima share the gradient evenly, as torch.amax's backward does.
LogicalResult ReduceMaxOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  return unaryVjp(
      *this, b, resultGrads, operandGrads, [this](GradBuilder &g, Value x, Value out, Value dout) {
        auto type = tensorOf(x);
        Value max = g.restoreReduced(out, type, getAxes(), getKeepDims());
        Value kept = g.restoreReduced(dout, type, getAxes(), getKeepDims());
        Value isMax = g.where(g.compare("eq", x, max), g.scalar(x, 1.0), g.scalar(x, 0.0));
        Value ties = g.sum(isMax, getAxes(), /*keepDims=*/true);
        return g.mul(isMax, g.div(kept, ties));
      });
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

// mean_n(lse_n - logits[n, t_n]): (softmax - one_hot(t)) / N.
LogicalResult CrossEntropyOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value logits = getLogits();
  auto type = tensorOf(logits);
  Value probs = SoftmaxOp::create(b, getLoc(), logits, 1);
  Value oneHot;
  if (!type.isDynamicDim(1)) {
    oneHot = OneHotOp::create(b, getLoc(), type, getTargets());
  } else {
    // A symbolic number of classes (InfoNCE's [B, B] logits): targets[n] == c
    // over an arange of the classes.
    Value targets = getTargets();
    auto targetType = tensorOf(targets);
    Value classes = ArangeOp::create(
        b, getLoc(), RankedTensorType::get({ShapedType::kDynamic}, targetType.getElementType()),
        DimOp::create(b, getLoc(), logits, 1));
    SmallVector<std::pair<Value, int64_t>> rows;
    if (targetType.isDynamicDim(0))
      rows.push_back({targets, 0});
    Value column = g.reshape(targets, {targetType.getDimSize(0), 1}, rows);
    Value hit = g.compare("eq", column, classes);
    oneHot = g.where(hit, g.scalar(logits, 1.0), g.scalar(logits, 0.0));
  }
  Value scale = g.div(resultGrads[0], g.count(logits, {0}));
  return setGrads(operandGrads, *this, {g.mul(g.sub(probs, oneHot), scale), Value()});
}

// sum(t (log t - x)) / N with x = log_input: -t / N for x; for t,
// (log t + 1 - x) / N where t > 0 (a zero target contributes nothing).
LogicalResult KlDivOp::buildVjp(OpBuilder &b, ArrayRef<Value> resultGrads,
                                SmallVectorImpl<Value> &operandGrads) {
  if (!resultGrads[0])
    return setGrads(operandGrads, *this, {});
  GradBuilder g(b, getLoc());
  Value x = getLogInput(), t = getTarget();
  Value scale = g.div(resultGrads[0], g.count(x, {0}));
  Value dx = g.neg(g.mul(t, scale));
  Value dtTerm = g.mul(g.sub(g.add(g.unary<LogOp>(t), g.scalar(t, 1.0)), x), scale);
  Value dt = g.where(g.compare("gt", t, g.scalar(t, 0.0)), dtTerm, g.scalar(t, 0.0));
  return setGrads(operandGrads, *this, {dx, dt});
}
