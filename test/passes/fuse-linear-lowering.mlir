// kiln.fused_linear lowers to the linalg of its unfused chain: a matmul
// (after the transpose of w) and one elementwise epilogue generic holding
// the bias add, the activation and the residual add, written over the
// matmul's result (kiln-elementwise-in-place). QuickGELU is its chain,
// h * sigmoid(1.702 h), inside that generic.
// RUN: %kiln-opt %s -kiln-to-linalg | FileCheck %s

module attributes {kiln.model = "layer"} {
  func.func @forward(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>, %r: tensor<?x32xf32>) -> tensor<?x32xf32> {
    %0 = kiln.fused_linear %x, %w bias %b residual %r {activation = "relu"} : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
    return %0 : tensor<?x32xf32>
  }
  func.func @quick_gelu(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
    %0 = kiln.fused_linear %x, %w bias %b {activation = "quick_gelu"} : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
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

// CHECK-LABEL: func.func @quick_gelu
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 1.702000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[M:.*]] = linalg.matmul
// CHECK: linalg.generic
// CHECK-SAME: outs(%[[M]] :
// CHECK: %[[H:.*]] = arith.addf
// CHECK-NEXT: %[[Z:.*]] = arith.mulf %[[H]], %[[SCALE]]
// CHECK-NEXT: %[[N:.*]] = arith.negf %[[Z]]
// CHECK-NEXT: %[[E:.*]] = math.exp %[[N]]
// CHECK-NEXT: %[[D:.*]] = arith.addf %[[E]], %[[ONE]]
// CHECK-NEXT: %[[S:.*]] = arith.divf %[[ONE]], %[[D]]
// CHECK-NEXT: %[[G:.*]] = arith.mulf %[[H]], %[[S]]
// CHECK-NEXT: linalg.yield %[[G]]
