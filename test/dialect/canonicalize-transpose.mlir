// RUN: %kiln-opt %s -split-input-file -canonicalize | FileCheck %s
// kiln.transpose folds: identity permutations and transposes of transposes
// compose; a matmul's only use transposing its 2-D result becomes the
// product of the transposed operands (which fold in turn).

// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %[[T:.*]] = kiln.transpose %[[X]] [2, 1, 0] : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
// CHECK-NEXT:    return %[[X]], %[[T]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x3x2xf32>) {
  %a = kiln.transpose %x [1, 0, 2] : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = kiln.transpose %a [1, 0, 2] : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  %c = kiln.transpose %a [2, 0, 1] : (tensor<3x2x4xf32>) -> tensor<4x3x2xf32>
  %d = kiln.transpose %b [0, 1, 2] : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %d, %c : tensor<2x3x4xf32>, tensor<4x3x2xf32>
}

// -----

// A weight's gradient: (x^T g)^T = g^T x, with x^T^T folded away.
// CHECK-LABEL: func.func @weight_grad
// CHECK-SAME:    (%[[X:.*]]: tensor<?x64xf32>, %[[G:.*]]: tensor<?x10xf32>)
// CHECK-NEXT:    %[[GT:.*]] = kiln.transpose %[[G]] [1, 0] : (tensor<?x10xf32>) -> tensor<10x?xf32>
// CHECK-NEXT:    %[[DW:.*]] = kiln.matmul %[[GT]], %[[X]] : (tensor<10x?xf32>, tensor<?x64xf32>) -> tensor<10x64xf32>
// CHECK-NEXT:    return %[[DW]]
func.func @weight_grad(%x: tensor<?x64xf32>, %g: tensor<?x10xf32>) -> tensor<10x64xf32> {
  %xt = kiln.transpose %x [1, 0] : (tensor<?x64xf32>) -> tensor<64x?xf32>
  %dwt = kiln.matmul %xt, %g : (tensor<64x?xf32>, tensor<?x10xf32>) -> tensor<64x10xf32>
  %dw = kiln.transpose %dwt [1, 0] : (tensor<64x10xf32>) -> tensor<10x64xf32>
  return %dw : tensor<10x64xf32>
}

// -----

// Kept: the product has another use, or batched operands.
// CHECK-LABEL: func.func @kept
// CHECK:         %[[M:.*]] = kiln.matmul %arg0, %arg1
// CHECK:         kiln.transpose %[[M]] [1, 0]
// CHECK:         %[[B:.*]] = kiln.matmul %arg2, %arg2
// CHECK:         kiln.transpose %[[B]] [0, 2, 1]
func.func @kept(%a: tensor<4x5xf32>, %b: tensor<5x6xf32>, %c: tensor<2x3x3xf32>) -> (tensor<4x6xf32>, tensor<6x4xf32>, tensor<2x3x3xf32>) {
  %m = kiln.matmul %a, %b : (tensor<4x5xf32>, tensor<5x6xf32>) -> tensor<4x6xf32>
  %t = kiln.transpose %m [1, 0] : (tensor<4x6xf32>) -> tensor<6x4xf32>
  %bm = kiln.matmul %c, %c : (tensor<2x3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %bt = kiln.transpose %bm [0, 2, 1] : (tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  return %m, %t, %bt : tensor<4x6xf32>, tensor<6x4xf32>, tensor<2x3x3xf32>
}
