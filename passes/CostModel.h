//===- CostModel.h - When a library call pays for itself --------*- C++ -*-===//
//
// Shared by kiln-fuse-linear and kiln-select-kernels so that the linear
// layers fused for oneDNN are exactly those `auto` sends there.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_COSTMODEL_H
#define KILN_PASSES_COSTMODEL_H

#include "mlir/IR/BuiltinTypes.h"

namespace kiln {

/// Below this many flops `auto` keeps a matmul in native code: a oneDNN call
/// costs a few microseconds, which the native tiles beat on small products.
constexpr int64_t kMinOneDnnFlops = int64_t{1} << 20;

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
