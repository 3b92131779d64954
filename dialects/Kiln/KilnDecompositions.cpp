//===- KilnDecompositions.cpp - Fused ops as plain kiln ops ---------------===//
//
// The ops a native kernel computes in one pass (attention_grad,
// layer_norm_grad, rms_norm_grad, and rms_norm itself) written as ordinary
// kiln ops: what they lower to where no kernel takes them (another element
// type, --fusion=false, a shape a kernel declines).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/GradBuilder.h"
#include "dialects/Kiln/KilnOps.h"

#include <array>

using namespace mlir;
using namespace kiln;

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

std::array<Value, 3> LayerNormGradOp::decompose(OpBuilder &b) {
  GradBuilder g(b, getLoc());
  Value x = getInput(), dout = getDout();
  int64_t last = tensorOf(x).getRank() - 1;
  // Recomputed rather than saved: x_hat = (x - mean) * rstd.
  Value n = g.count(x, {last});
  Value centered = g.sub(x, g.div(g.sum(x, {last}, true), n));
  Value var = g.div(g.sum(g.mul(centered, centered), {last}, true), n);
  Value rstd = g.unary<RsqrtOp>(g.add(var, g.scalar(x, getEps().convertToDouble())));
  Value xHat = g.mul(centered, rstd);
  // dx = rstd (dxh - mean(dxh) - x_hat mean(dxh x_hat)), dxh = dout * weight.
  Value dxHat = g.mul(dout, getWeight());
  Value meanD = g.div(g.sum(dxHat, {last}, true), n);
  Value meanDX = g.div(g.sum(g.mul(dxHat, xHat), {last}, true), n);
  Value dx = g.mul(rstd, g.sub(g.sub(dxHat, meanD), g.mul(xHat, meanDX)));
  SmallVector<int64_t> leading(last);
  std::iota(leading.begin(), leading.end(), 0);
  Value dWeight = g.mul(dout, xHat), dBias = dout;
  if (!leading.empty()) {
    dWeight = g.sum(dWeight, leading, false);
    dBias = g.sum(dBias, leading, false);
  }
  return {dx, dWeight, dBias};
}

/// 1 / sqrt(mean(x^2) + eps) over the last dim, kept as a [..., 1] column.
static Value reciprocalRms(GradBuilder &g, Value x, double eps) {
  int64_t last = tensorOf(x).getRank() - 1;
  Value meanSquare = g.div(g.sum(g.mul(x, x), {last}, true), g.count(x, {last}));
  return g.unary<RsqrtOp>(g.add(meanSquare, g.scalar(x, eps)));
}

std::array<Value, 1> RmsNormOp::decompose(OpBuilder &b) {
  GradBuilder g(b, getLoc());
  Value x = getInput();
  // In LlamaRMSNorm's order: (x * r) * weight.
  return {g.mul(g.mul(x, reciprocalRms(g, x, getEps().convertToDouble())), getWeight())};
}

std::array<Value, 2> RmsNormGradOp::decompose(OpBuilder &b) {
  GradBuilder g(b, getLoc());
  Value x = getInput(), dout = getDout();
  int64_t last = tensorOf(x).getRank() - 1;
  // Recomputed rather than saved: r = 1 / rms(x), x_hat = x r.
  Value r = reciprocalRms(g, x, getEps().convertToDouble());
  Value xHat = g.mul(x, r);
  // dx = r (g - x_hat mean(g x_hat)), g = dout * weight: layer norm's rule
  // without the mean's terms.
  Value scaled = g.mul(dout, getWeight());
  Value meanGX = g.div(g.sum(g.mul(scaled, xHat), {last}, true), g.count(x, {last}));
  Value dx = g.mul(r, g.sub(scaled, g.mul(xHat, meanGX)));
  Value dWeight = g.mul(dout, xHat);
  if (last > 0) {
    SmallVector<int64_t> leading(last);
    std::iota(leading.begin(), leading.end(), 0);
    dWeight = g.sum(dWeight, leading, false);
  }
  return {dx, dWeight};
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// Recomputes the probabilities P = softmax(scale q k^T + bias, masked) and
// backpropagates through them: dV = P^T g, dP = g V^T,
// dS = P (dP - rowsum(dP P)), dQ = scale dS K, dK = scale dS^T Q.
std::array<Value, 4> AttentionGradOp::decompose(OpBuilder &b) {
  GradBuilder g(b, getLoc());
  Location loc = getLoc();
  Value q = getQuery(), k = getKey(), v = getValue(), dout = getDout();
  double scale = getScale().convertToDouble();
  Value scores = g.mul(g.matmul(q, g.swapLast(k)), scale);
  if (Value bias = getBias())
    scores = g.add(scores, bias);
  Value hidden = g.scalar(scores, -INFINITY);
  auto i64Vector = [&](Value source, int64_t dim) {
    int64_t size = tensorOf(source).getDimSize(dim);
    Value dynamicSize = ShapedType::isDynamic(size) ? DimOp::create(b, loc, source, dim) : Value();
    return ArangeOp::create(b, loc, RankedTensorType::get({size}, b.getI64Type()), dynamicSize);
  };
  if (getCausal()) {
    // Key position t > query position s is hidden.
    int64_t s = tensorOf(q).getDimSize(2);
    Value rows = g.reshape(i64Vector(q, 2), {s, 1},
                           ShapedType::isDynamic(s) ? ArrayRef<std::pair<Value, int64_t>>{{q, 2}}
                                                    : ArrayRef<std::pair<Value, int64_t>>{});
    Value future = g.compare("gt", i64Vector(k, 2), rows);
    scores = g.where(future, hidden, scores);
  }
  if (Value mask = getMask()) {
    // mask [B, T] (true: attend) as [B, 1, 1, T].
    auto maskType = tensorOf(mask);
    SmallVector<std::pair<Value, int64_t>> sources;
    if (maskType.isDynamicDim(0))
      sources.push_back({mask, 0});
    if (maskType.isDynamicDim(1))
      sources.push_back({mask, 1});
    SmallVector<int64_t> shape = {maskType.getDimSize(0), 1, 1, maskType.getDimSize(1)};
    SmallVector<Value> sizes;
    for (auto [source, dim] : sources)
      sizes.push_back(DimOp::create(b, loc, source, dim));
    Value wide = ReshapeOp::create(b, loc, RankedTensorType::get(shape, b.getI1Type()), mask, sizes);
    scores = g.where(wide, scores, hidden);
  }
  Value probs = SoftmaxOp::create(b, loc, scores, 3);
  Value dValue = g.matmul(g.swapLast(probs), dout);
  Value dProbs = g.matmul(dout, g.swapLast(v));
  Value dScores = g.mul(probs, g.sub(dProbs, g.sum(g.mul(dProbs, probs), {3}, true)));
  Value dQuery = g.mul(g.matmul(dScores, k), scale);
  Value dKey = g.mul(g.matmul(g.swapLast(dScores), q), scale);
  return {dQuery, dKey, dValue, dScores};
}

