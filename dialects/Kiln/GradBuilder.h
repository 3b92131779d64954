//===- GradBuilder.h - Kiln ops of gradient formulas ------------*- C++ -*-===//
//
// What the gradient rules (KilnGradients.cpp) and the decompositions of the
// gradient ops (KilnDecompositions.cpp) write formulas with. Internal to the
// dialect library.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_GRADBUILDER_H
#define KILN_DIALECTS_KILN_GRADBUILDER_H

#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/ShapeUtils.h"

#include "mlir/IR/Builders.h"
#include <numeric>
#include <optional>

namespace kiln {
/// The builder's own namespace, so that its shorthand for MLIR's names stays
/// out of kiln's.
namespace gradbuilder {
using namespace mlir;

inline RankedTensorType tensorOf(Value value) { return cast<RankedTensorType>(value.getType()); }

/// Builds the kiln ops of gradient formulas at one location, inferring each
/// result type from the operands as the ops' verifiers do.
class GradBuilder {
public:
  GradBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value scalar(Value like, double value) {
    Type element = tensorOf(like).getElementType();
    auto type = RankedTensorType::get({}, element);
    Attribute element0 = FloatAttr::get(element, value);
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, element0));
  }
  template <typename Op> Value binary(Value x, Value y) {
    return Op::create(b, loc, broadcastType(x, y, tensorOf(x).getElementType()), x, y);
  }
  Value add(Value x, Value y) { return binary<AddOp>(x, y); }
  Value sub(Value x, Value y) { return binary<SubOp>(x, y); }
  Value mul(Value x, Value y) { return binary<MulOp>(x, y); }
  Value div(Value x, Value y) { return binary<DivOp>(x, y); }
  Value neg(Value x) { return NegOp::create(b, loc, x); }
  Value mul(Value x, double c) { return mul(x, scalar(x, c)); }
  template <typename Op> Value unary(Value x) { return Op::create(b, loc, x); }

  Value compare(StringRef predicate, Value x, Value y) {
    return CompareOp::create(b, loc, broadcastType(x, y, b.getI1Type()), x, y,
                             b.getStringAttr(predicate));
  }
  Value where(Value cond, Value x, Value y) {
    auto values = broadcastType(x, y, tensorOf(x).getElementType());
    return WhereOp::create(
        b, loc, broadcastType(cond, Value(), tensorOf(x).getElementType(), values), cond, x, y);
  }
  Value zerosLike(Value x) {
    return FullLikeOp::create(b, loc, x.getType(), x, b.getF64FloatAttr(0.0));
  }
  /// `g` given the type of `like` by broadcasting (g + zeros).
  Value broadcastLike(Value g, Value like) {
    if (g.getType() == like.getType())
      return g;
    return AddOp::create(b, loc, like.getType(), zerosLike(like), g);
  }

  Value sum(Value x, ArrayRef<int64_t> axes, bool keepDims) {
    auto type = tensorOf(x);
    SmallVector<int64_t> shape;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!llvm::is_contained(axes, d))
        shape.push_back(type.getDimSize(d));
      else if (keepDims)
        shape.push_back(1);
    }
    return ReduceSumOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), x, axes,
                               keepDims);
  }
  Value count(Value x, ArrayRef<int64_t> axes) {
    return CountOp::create(b, loc, RankedTensorType::get({}, tensorOf(x).getElementType()), x,
                           axes);
  }

  /// Undoes NumPy broadcasting: sums `g` over the dims along which `target`
  /// was broadcast, giving it `target`'s shape.
  Value sumToShape(Value g, Value target) {
    auto gType = tensorOf(g), tType = tensorOf(target);
    int64_t lead = gType.getRank() - tType.getRank();
    if (lead > 0) {
      SmallVector<int64_t> axes(lead);
      std::iota(axes.begin(), axes.end(), 0);
      g = sum(g, axes, /*keepDims=*/false);
      gType = tensorOf(g);
    }
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < tType.getRank(); ++d)
      if (tType.getDimSize(d) == 1 && gType.getDimSize(d) != 1)
        axes.push_back(d);
    if (!axes.empty())
      g = sum(g, axes, /*keepDims=*/true);
    return g;
  }

  Value transpose(Value x, ArrayRef<int64_t> perm) {
    auto type = tensorOf(x);
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(type.getDimSize(p));
    return TransposeOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), x,
                               perm);
  }
  /// Swaps the last two dims.
  Value swapLast(Value x) {
    SmallVector<int64_t> perm(tensorOf(x).getRank());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    return transpose(x, perm);
  }
  Value matmul(Value x, Value y) {
    auto xt = tensorOf(x), yt = tensorOf(y);
    SmallVector<int64_t> shape =
        *broadcastShapes(xt.getShape().drop_back(2), yt.getShape().drop_back(2));
    shape.push_back(xt.getDimSize(xt.getRank() - 2));
    shape.push_back(yt.getDimSize(yt.getRank() - 1));
    return MatmulOp::create(b, loc, RankedTensorType::get(shape, xt.getElementType()), x, y);
  }

  /// `x` reshaped to `shape`, each dynamic dim of which is the size of
  /// `sources[i]` along dim `sourceDims[i]` (one per dynamic dim, in order).
  Value reshape(Value x, ArrayRef<int64_t> shape, ArrayRef<std::pair<Value, int64_t>> sources) {
    SmallVector<Value> sizes;
    for (auto [source, dim] : sources)
      sizes.push_back(DimOp::create(b, loc, source, dim));
    return ReshapeOp::create(b, loc, RankedTensorType::get(shape, tensorOf(x).getElementType()), x,
                             sizes);
  }
  /// `g`, the result of reducing `axes` without keeping them, with those
  /// dims put back as size 1, ready to broadcast against the input.
  Value restoreReduced(Value g, RankedTensorType input, ArrayRef<int64_t> axes, bool keepDims) {
    if (keepDims)
      return g;
    SmallVector<int64_t> shape;
    SmallVector<std::pair<Value, int64_t>> sources;
    int64_t gDim = 0;
    for (int64_t d = 0; d < input.getRank(); ++d) {
      if (llvm::is_contained(axes, d)) {
        shape.push_back(1);
        continue;
      }
      shape.push_back(input.getDimSize(d));
      if (ShapedType::isDynamic(input.getDimSize(d)))
        sources.push_back({g, gDim});
      ++gDim;
    }
    return reshape(g, shape, sources);
  }
  /// `x` reshaped to `shape`, whose dynamic dims are `sizes` in order.
  Value reshapeTo(Value x, ArrayRef<int64_t> shape, ValueRange sizes) {
    return ReshapeOp::create(b, loc, RankedTensorType::get(shape, tensorOf(x).getElementType()), x,
                             sizes);
  }
  /// `g` reshaped to the (compatible-sized) shape of `like`.
  Value reshapeLike(Value g, Value like) {
    auto type = tensorOf(like);
    SmallVector<std::pair<Value, int64_t>> sources;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        sources.push_back({like, d});
    return reshape(g, type.getShape(), sources);
  }

  /// `x` with its first `count` dims merged into one (ReshapeOp::flattenFront).
  Value flattenFront(Value x, int64_t count) { return ReshapeOp::flattenFront(b, loc, x, count); }

  /// `x` along `axis` from `start` to `end` (static).
  Value slice(Value x, int64_t axis, int64_t start, int64_t end) {
    auto type = tensorOf(x);
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = end - start;
    return SliceOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), x, axis,
                           start, end);
  }
  /// `g` placed at [start, start + size) along `axis` of zeros shaped like
  /// `like` (whose size along `axis` is static).
  Value padLike(Value g, Value like, int64_t axis, int64_t start) {
    Value zeros = zerosLike(like);
    int64_t total = tensorOf(like).getDimSize(axis);
    int64_t end = start + tensorOf(g).getDimSize(axis);
    SmallVector<Value> pieces;
    if (start > 0)
      pieces.push_back(slice(zeros, axis, 0, start));
    pieces.push_back(g);
    if (end < total)
      pieces.push_back(slice(zeros, axis, end, total));
    if (pieces.size() == 1)
      return g;
    return ConcatOp::create(b, loc, like.getType(), pieces, axis);
  }

  /// Rows of `g` added into zeros shaped like `like` at `indices` (rank 1).
  Value scatterRows(Value like, Value indices, Value g) {
    return ScatterAddOp::create(b, loc, like.getType(), zerosLike(like), indices, g);
  }

  OpBuilder &b;
  Location loc;

private:
  /// The broadcast of the shapes of x and y (y may be null; then `base`).
  RankedTensorType broadcastType(Value x, Value y, Type element,
                                 std::optional<RankedTensorType> base = std::nullopt) {
    ArrayRef<int64_t> other = y ? tensorOf(y).getShape() : base->getShape();
    return RankedTensorType::get(*broadcastShapes(tensorOf(x).getShape(), other), element);
  }
};

} // namespace gradbuilder

using gradbuilder::GradBuilder;
using gradbuilder::tensorOf;

} // namespace kiln

#endif // KILN_DIALECTS_KILN_GRADBUILDER_H
