//===- ExpandShapeToReinterpretCast.cpp - Multi-dynamic expand_shape ------===//
//
// MLIR 22's expand-strided-metadata crashes on a memref.expand_shape that
// splits one dim into several symbolic ones ([B * S, D] -> [B, S, D], which
// gradients flattening a batch of tokens produce): it cannot derive the
// inner sizes from the source. Here the sizes are the op's output_shape, so
// the view is rebuilt as a reinterpret_cast of the source's own base, offset
// and strides before that pass runs.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNEXPANDSHAPETOREINTERPRETCAST
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool hasSeveralDynamicDimsInAGroup(memref::ExpandShapeOp op) {
  ArrayRef<int64_t> shape = op.getResultType().getShape();
  for (ReassociationIndices group : op.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) { return ShapedType::isDynamic(shape[d]); }) > 1)
      return true;
  return false;
}

struct ExpandShapeToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasSeveralDynamicDimsInAGroup(op))
      return rewriter.notifyMatchFailure(op, "expand-strided-metadata handles it");
    MemRefType resultType = op.getResultType();
    SmallVector<int64_t> resultStrides;
    int64_t resultOffset;
    if (failed(resultType.getStridesAndOffset(resultStrides, resultOffset)))
      return rewriter.notifyMatchFailure(op, "the result has no strided layout");
    Location loc = op.getLoc();
    auto metadata = memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    // Within a group the last dim keeps the source dim's stride and each
    // earlier one steps over the sizes after it.
    SmallVector<OpFoldResult> strides(sizes.size());
    for (auto [sourceDim, group] : llvm::enumerate(op.getReassociationIndices())) {
      OpFoldResult stride = metadata.getStrides()[sourceDim];
      for (int64_t d : llvm::reverse(group)) {
        strides[d] = stride;
        Value step = getValueOrCreateConstantIndexOp(rewriter, loc, stride);
        Value size = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[d]);
        stride = arith::MulIOp::create(rewriter, loc, step, size).getResult();
      }
    }
    // Where the result type fixes a stride or the offset, say it statically.
    for (auto [d, stride] : llvm::enumerate(resultStrides))
      if (!ShapedType::isDynamic(stride))
        strides[d] = rewriter.getIndexAttr(stride);
    OpFoldResult offset = ShapedType::isDynamic(resultOffset)
                              ? OpFoldResult(metadata.getOffset())
                              : OpFoldResult(rewriter.getIndexAttr(resultOffset));
    for (auto [d, size] : llvm::enumerate(resultType.getShape()))
      if (!ShapedType::isDynamic(size))
        sizes[d] = rewriter.getIndexAttr(size);
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(op, resultType, metadata.getBaseBuffer(),
                                                           offset, sizes, strides);
    return success();
  }
};

struct ExpandShapeToReinterpretCastPass
    : impl::KilnExpandShapeToReinterpretCastBase<ExpandShapeToReinterpretCastPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
