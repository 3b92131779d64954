// RUN: %kiln-opt %s -split-input-file -kiln-expand-shape-to-reinterpret-cast | FileCheck %s
// An expand_shape splitting one dim into several symbolic ones (which
// expand-strided-metadata cannot lower in MLIR 22) becomes a reinterpret_cast
// with the op's output sizes and strides derived from the source's.

// CHECK-LABEL: func.func @rows_to_batch_and_sequence
// CHECK-SAME: (%[[SRC:.*]]: memref<?x6xf32>, %[[B:.*]]: index, %[[S:.*]]: index)
// CHECK: %[[BASE:.*]], %{{.*}}, %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %[[SRC]]
// CHECK: %[[ROW:.*]] = arith.muli %[[S]], %c6
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [%[[B]], %[[S]], 6], strides: [%[[ROW]], 6, 1]
// CHECK-SAME: to memref<?x?x6xf32>
// CHECK-NOT: memref.expand_shape
func.func @rows_to_batch_and_sequence(%m: memref<?x6xf32>, %b: index, %s: index) -> memref<?x?x6xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %s, 6]
      : memref<?x6xf32> into memref<?x?x6xf32>
  return %e : memref<?x?x6xf32>
}

// -----

// A strided source keeps its offset and outer stride.
// CHECK-LABEL: func.func @strided_source
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [%[[OFF]]], sizes: [4, %{{.*}}, %{{.*}}], strides: [%[[STRIDES]]#0, %{{.*}}, 1]
func.func @strided_source(%m: memref<4x?xf32, strided<[?, 1], offset: ?>>, %b: index, %s: index)
    -> memref<4x?x?xf32, strided<[?, ?, 1], offset: ?>> {
  %e = memref.expand_shape %m [[0], [1, 2]] output_shape [4, %b, %s]
      : memref<4x?xf32, strided<[?, 1], offset: ?>> into memref<4x?x?xf32, strided<[?, ?, 1], offset: ?>>
  return %e : memref<4x?x?xf32, strided<[?, ?, 1], offset: ?>>
}

// -----

// One symbolic dim per group is left to expand-strided-metadata.
// CHECK-LABEL: func.func @one_symbolic_dim
// CHECK: memref.expand_shape
// CHECK-NOT: memref.reinterpret_cast
func.func @one_symbolic_dim(%m: memref<?x6xf32>, %b: index) -> memref<?x2x6xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, 2, 6]
      : memref<?x6xf32> into memref<?x2x6xf32>
  return %e : memref<?x2x6xf32>
}
