// Without a native kernel (here bf16, which the kernels do not take), the
// fused losses lower through linalg as the ops they stand for: no kiln op and
// no kernel call is left.
// RUN: %kiln-opt %s -split-input-file -kiln-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @distillation_bf16
// CHECK-NOT: kiln.
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: return
func.func @distillation_bf16(%s: tensor<?x10xbf16>, %t: tensor<?x10xbf16>, %y: tensor<?xi64>) -> (tensor<bf16>, tensor<bf16>) {
  %0:2 = kiln.distillation_loss %s, %t, %y temperature = 2.0 : (tensor<?x10xbf16>, tensor<?x10xbf16>, tensor<?xi64>) -> (tensor<bf16>, tensor<bf16>)
  return %0#0, %0#1 : tensor<bf16>, tensor<bf16>
}

// -----

// CHECK-LABEL: func.func @contrastive_bf16
// CHECK-NOT: kiln.
// CHECK: linalg.transpose
// CHECK: return
func.func @contrastive_bf16(%l: tensor<?x?xbf16>, %y: tensor<?xi64>) -> (tensor<bf16>, tensor<bf16>) {
  %0:2 = kiln.contrastive_cross_entropy %l, %y : (tensor<?x?xbf16>, tensor<?xi64>) -> (tensor<bf16>, tensor<bf16>)
  return %0#0, %0#1 : tensor<bf16>, tensor<bf16>
}

// -----

// CHECK-LABEL: func.func @grad_bf16
// CHECK-NOT: kiln.
// CHECK: linalg.generic
// CHECK: return
func.func @grad_bf16(%x: tensor<?x10xbf16>, %y: tensor<?xi64>) -> (tensor<bf16>, tensor<?x10xbf16>) {
  %0:2 = kiln.softmax_cross_entropy_grad %x, %y : (tensor<?x10xbf16>, tensor<?xi64>) -> (tensor<bf16>, tensor<?x10xbf16>)
  return %0#0, %0#1 : tensor<bf16>, tensor<?x10xbf16>
}
