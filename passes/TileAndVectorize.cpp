//===- TileAndVectorize.cpp - Host-vector tiling of linalg ops ------------===//
//
// The tile shape is chosen from the op's iteration space:
//  - innermost loop parallel (elementwise, matmul's N): it is tiled by the
//    vector width; other parallel loops by 1, except a contraction's rows,
//    which are blocked by `row-tile` so several accumulators stay in
//    registers; reductions are kept whole when small (matmul's K).
//  - innermost loop a reduction (row max / row sum along the contiguous dim):
//    parallel loops by 1, the reduction whole when small, else in chunks.
// Every tile then has a static vector shape (masked where the tile overhangs
// the tensor) and goes to linalg's vectorizer.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "mlir/Interfaces/TilingInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNTILEANDVECTORIZE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Reductions at most this long are vectorized whole; longer ones in chunks.
constexpr int64_t kWholeReductionLimit = 256;
constexpr int64_t kReductionChunk = 64;
/// The most elements a tile's vectors may hold: lowering unrolls them, so a
/// reduction over three symbolic dims tiled 64 x 64 x 64 (a loss's mean over
/// [B, S, D]) would become a quarter of a million scalar ops.
constexpr int64_t kMaxVectorElements = 16384;

struct TileShape {
  SmallVector<int64_t> tileSizes;   // 0 = not tiled
  SmallVector<int64_t> vectorSizes; // one per loop
};

/// The loop that walks the innermost (contiguous) dim of the output, if the
/// output is indexed by a plain loop there.
std::optional<unsigned> outputInnermostLoop(linalg::LinalgOp op) {
  AffineMap map = op.getIndexingMapMatchingResult(op->getResult(0));
  if (map.getNumResults() == 0)
    return std::nullopt;
  if (auto dim = dyn_cast<AffineDimExpr>(map.getResults().back()))
    return dim.getPosition();
  return std::nullopt;
}

/// True if some input is read contiguously along a reduction loop (a row
/// reduction such as softmax's max and sum): such ops vectorize along that
/// reduction rather than across rows.
bool reducesAlongContiguousDim(linalg::LinalgOp op) {
  if (linalg::isaContractionOpInterface(op))
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.getNumResults() == 0)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (dim && iterators[dim.getPosition()] == utils::IteratorType::reduction)
      return true;
  }
  return false;
}

TileShape chooseTileShape(linalg::LinalgOp op, int64_t vectorWidth, int64_t rowTile) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t numLoops = ranges.size();
  bool isContraction = linalg::isaContractionOpInterface(op);
  std::optional<unsigned> vectorLoop;
  if (!reducesAlongContiguousDim(op))
    vectorLoop = outputInnermostLoop(op);

  // Only the innermost reduction is vectorized along; outer ones (a sum over
  // the batch and sequence dims of a gradient) step one by one.
  int64_t innermostReduction = -1;
  for (int64_t loop = 0; loop < numLoops; ++loop)
    if (iterators[loop] == utils::IteratorType::reduction)
      innermostReduction = loop;

  TileShape shape;
  for (int64_t loop = 0; loop < numLoops; ++loop) {
    int64_t range = ranges[loop];
    bool dynamic = ShapedType::isDynamic(range);
    int64_t tile;
    if (iterators[loop] == utils::IteratorType::reduction && loop != innermostReduction) {
      tile = 1;
    } else if (iterators[loop] == utils::IteratorType::reduction) {
      tile = !dynamic && range <= kWholeReductionLimit ? 0 : kReductionChunk;
    } else if (vectorLoop && loop == *vectorLoop) {
      // Short rows that the vector width does not divide are taken whole
      // rather than masked.
      bool shortRagged = !dynamic && range % vectorWidth != 0 && range <= 4 * vectorWidth;
      tile = shortRagged ? 0 : vectorWidth;
    } else if (isContraction && loop == numLoops - 3 && !dynamic && range % rowTile == 0) {
      tile = rowTile; // the M loop of (batch..., M, N, K), when it divides
    } else {
      tile = 1;
    }
    // A tile larger than a static range is the range itself: no mask needed.
    if (tile != 0 && !dynamic && range <= tile)
      tile = range == 1 ? 1 : 0;
    shape.tileSizes.push_back(tile);
    shape.vectorSizes.push_back(tile != 0 ? tile : range);
  }
  // Past the budget, loops from the outermost on step one by one.
  auto elements = [&] {
    int64_t n = 1;
    for (int64_t size : shape.vectorSizes)
      n = ShapedType::isDynamic(size) ? n : n * size;
    return n;
  };
  for (int64_t loop = 0; loop + 1 < numLoops && elements() > kMaxVectorElements; ++loop)
    if (shape.vectorSizes[loop] > 1) {
      shape.tileSizes[loop] = 1;
      shape.vectorSizes[loop] = 1;
    }
  return shape;
}

/// The f32 lanes of the target's vectors: the enclosing module's
/// `kiln.target` vector_width (TargetDescription.h), or AVX-512's 16.
int64_t targetVectorWidth(Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  auto target = module ? module->getAttrOfType<DictionaryAttr>(kTargetAttrName) : nullptr;
  auto width = target ? target.getAs<IntegerAttr>(kTargetVectorWidthName) : nullptr;
  return width && width.getInt() > 0 ? width.getInt() : 16;
}

struct TileAndVectorizePass : impl::KilnTileAndVectorizeBase<TileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics())
        ops.push_back(op);
    });

    IRRewriter rewriter(&getContext());
    int64_t width = vectorWidth > 0 ? int64_t(vectorWidth) : targetVectorWidth(getOperation());
    for (linalg::LinalgOp op : ops) {
      TileShape shape = chooseTileShape(op, width, rowTile);
      // A loop neither tiled nor statically sized cannot get a static vector.
      if (llvm::any_of(shape.vectorSizes, ShapedType::isDynamic))
        continue;

      Operation *target = op;
      if (llvm::any_of(shape.tileSizes, [](int64_t t) { return t != 0; })) {
        rewriter.setInsertionPoint(op);
        scf::SCFTilingOptions options;
        options.setTileSizes(getAsIndexOpFoldResult(&getContext(), shape.tileSizes));
        auto tiled = scf::tileUsingSCF(rewriter, cast<TilingInterface>(*op), options);
        if (failed(tiled))
          continue;
        rewriter.replaceOp(op, tiled->replacements);
        target = tiled->tiledOps.back();
      }

      rewriter.setInsertionPoint(target);
      // The vectorizer reads one scalable flag per vector dim.
      SmallVector<bool> scalable(shape.vectorSizes.size(), false);
      auto vectorized = linalg::vectorize(rewriter, target, shape.vectorSizes, scalable,
                                          /*vectorizeNDExtract=*/true);
      // An op the vectorizer declines stays a (tiled) scalar loop nest.
      if (succeeded(vectorized))
        rewriter.replaceOp(target, vectorized->replacements);
    }

    // A contraction vectorizes as reads with broadcast/transpose maps, a
    // multiply and a multi_reduction. Splitting those maps into explicit
    // vector ops lets them fold into one vector.contract, which lowers to
    // outer-product FMAs rather than shuffles and horizontal sums.
    RewritePatternSet patterns(&getContext());
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
} // namespace kiln
