// kiln.fused_linear lowers to the linalg of its unfused chain: a matmul
// (after the transpose of w) and one elementwise epilogue generic holding
// the bias add, the activation and the residual add, written over the
// matmul's result (kiln-elementwise-in-place).
// RUN: %kiln-opt %s -kiln-to-linalg | FileCheck %s

module attributes {kiln.model = "layer"} {
  func.func @forward(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %r: tensor<?x32xf32>) -> tensor<?x32xf32> {
    %0 = kiln.fused_linear %x, %w bias %b residual %r {activation = "relu"} : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
    return %0 : tensor<?x32xf32>
  }
}

// CHECK-NOT: = kiln.
// CHECK: linalg.transpose
// CHECK: %[[M:.*]] = linalg.matmul
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg2, %arg3 :
// CHECK-SAME: outs(%[[M]] :
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: arith.addf
// CHECK-NEXT: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return
