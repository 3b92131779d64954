//===- TileLoops.cpp - Parallel loops into blocks of threads --------------===//
//
// Each parallel loop nest becomes tiles (GPU blocks) of up to 256 points
// (threads): the innermost dim, which neighbouring elements share, gets a
// warp's 32 threads (all 256 when it is the only dim, fewer when it is
// shorter), the next dim what is left, other dims one each. Sizes are
// symbolic, so tiles keep a fixed shape and each thread checks its bounds.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUTILELOOPS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr int64_t kThreadsPerBlock = 256;
constexpr int64_t kWarp = 32;

/// The trip count of loop dim `d` when it is constant, else the block's
/// thread count (as many as it could use).
int64_t tripCountOrMax(scf::ParallelOp loop, unsigned d) {
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[d]);
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return kThreadsPerBlock;
  return std::max<int64_t>(1, llvm::divideCeil(*ub - *lb, *step));
}

SmallVector<int64_t> tileSizes(scf::ParallelOp loop) {
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> sizes(rank, 1);
  int64_t inner = std::min(tripCountOrMax(loop, rank - 1), rank == 1 ? kThreadsPerBlock : kWarp);
  sizes[rank - 1] = inner;
  if (rank >= 2)
    sizes[rank - 2] = std::min(tripCountOrMax(loop, rank - 2), kThreadsPerBlock / inner);
  return sizes;
}

struct KilnGpuTileLoops : impl::KilnGpuTileLoopsBase<KilnGpuTileLoops> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      scf::tileParallelLoop(loop, tileSizes(loop), /*noMinMaxBounds=*/true);
  }
};

} // namespace
} // namespace kiln
