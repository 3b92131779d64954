// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels -kiln-convert-to-linalg | FileCheck %s --check-prefix=LOWERED
// The distillation loss with its gradient runs on the KL kernel file
// (kiln_rt_softmax_kl_div_grad_f32: the loss and the [N, C] gradient); where
// no kernel takes it (bf16), it lowers as the loss op and the difference of
// the two temperature softmaxes.

// CHECK-LABEL: func.func @kl_grad(
// CHECK: kiln.kernel @kiln_rt_softmax_kl_div_grad_f32 ins(%arg0, %arg1 : tensor<?x32xf32>, tensor<?x32xf32>) outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<?x32xf32>) scalars [2.000000e+00]
func.func @kl_grad(%s: tensor<?x32xf32>, %t: tensor<?x32xf32>) -> (tensor<f32>, tensor<?x32xf32>) {
  %loss, %grad = kiln.softmax_kl_div_grad %s, %t temperature = 2.0 : (tensor<?x32xf32>, tensor<?x32xf32>) -> (tensor<f32>, tensor<?x32xf32>)
  return %loss, %grad : tensor<f32>, tensor<?x32xf32>
}

// -----

// CHECK-LABEL: func.func @kl_grad_bf16(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.softmax_kl_div_grad
// LOWERED-LABEL: func.func @kl_grad_bf16(
// LOWERED-NOT: kiln.
// LOWERED: linalg.generic
func.func @kl_grad_bf16(%s: tensor<4x8xbf16>, %t: tensor<4x8xbf16>) -> (tensor<bf16>, tensor<4x8xbf16>) {
  %loss, %grad = kiln.softmax_kl_div_grad %s, %t temperature = 2.0 : (tensor<4x8xbf16>, tensor<4x8xbf16>) -> (tensor<bf16>, tensor<4x8xbf16>)
  return %loss, %grad : tensor<bf16>, tensor<4x8xbf16>
}
