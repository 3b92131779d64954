//===- CostModel.h - When a library call pays for itself --------*- C++ -*-===//
//
// Shared by kiln-fuse-linear and kiln-select-kernels so that the linear
// layers fused are exactly those sent to a matmul kernel.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_COSTMODEL_H
#define KILN_PASSES_COSTMODEL_H

#include "mlir/IR/BuiltinTypes.h"

namespace kiln {

/// Below this many flops `auto` and `native` keep a matmul in a tile loop
/// generated in the entry rather than call a matmul kernel (oneDNN's or
/// Kiln's own). Measured on the 2-core AVX-512 VM, one thread: a oneDNN call
/// costs ~0.7 us more than a generated tile loop, which wins the MLP example's [B, 64] x [64, 128]
/// layers up to B = 16 (2.9 vs 5.1 us for the whole model at B = 1; 16K flops a layer), while from
/// a few hundred thousand flops oneDNN's packed kernels win by far (CLIP's image tower, [65, 64] x
/// [64, 64] = 532K flops a projection: 0.12 ms vs 0.52 ms per image).
constexpr int64_t kMinMatmulKernelFlops = int64_t{1} << 17;

/// 2 * |result| * depth, symbolic dims counted as 1, so a batch-symbolic
/// layer is judged by its smallest call.
inline double matmulFlops(mlir::RankedTensorType result, int64_t depth) {
  double flops = 2.0 * (mlir::ShapedType::isDynamic(depth) ? 1 : depth);
  for (int64_t size : result.getShape())
    flops *= mlir::ShapedType::isDynamic(size) ? 1 : size;
  return flops;
}

} // namespace kiln

#endif // KILN_PASSES_COSTMODEL_H
