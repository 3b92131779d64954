// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels -kiln-convert-to-linalg | FileCheck %s --check-prefix=LOWERED
// The distillation loss with its gradient runs on the KL kernel file
// (kiln_rt_softmax_kl_div_grad_f32: the loss and the [N, C] gradient), CLIP's
// two losses with their gradients on the contrastive one
// (kiln_rt_contrastive_ce_grad_f32); where no kernel takes them (bf16), they
// lower as the ops they fused.

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

// -----

// CLIP's losses with both gradients: one kernel, both gradients in the
// logits' layout; bf16 lowers as the two gradient ops (the second over S^T).
// CHECK-LABEL: func.func @contrastive_grad(
// CHECK: kiln.kernel @kiln_rt_contrastive_ce_grad_f32 ins(%arg0, %arg1 : tensor<?x?xf32>, tensor<?xi64>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>, tensor<?x?xf32>, tensor<?x?xf32>)
func.func @contrastive_grad(%s: tensor<?x?xf32>, %t: tensor<?xi64>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>, tensor<?x?xf32>) {
  %rl, %cl, %rg, %cg = kiln.contrastive_cross_entropy_grad %s, %t : (tensor<?x?xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>, tensor<?x?xf32>)
  return %rl, %cl, %rg, %cg : tensor<f32>, tensor<f32>, tensor<?x?xf32>, tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func.func @contrastive_grad_bf16(
// CHECK-NOT: kiln.kernel
// LOWERED-LABEL: func.func @contrastive_grad_bf16(
// LOWERED-NOT: kiln.
// LOWERED: linalg.generic
func.func @contrastive_grad_bf16(%s: tensor<4x4xbf16>, %t: tensor<4xi64>) -> (tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>, tensor<4x4xbf16>) {
  %rl, %cl, %rg, %cg = kiln.contrastive_cross_entropy_grad %s, %t : (tensor<4x4xbf16>, tensor<4xi64>) -> (tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>, tensor<4x4xbf16>)
  return %rl, %cl, %rg, %cg : tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>, tensor<4x4xbf16>
}

// -----

// CHECK-LABEL: func.func @contrastive_grad_sum(
// CHECK: kiln.kernel @kiln_rt_contrastive_ce_grad_sum_f32 ins(%arg0, %arg1, %arg2, %arg3 : tensor<?x?xf32>, tensor<?xi64>, tensor<f32>, tensor<f32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>, tensor<?x?xf32>)
// LOWERED-LABEL: func.func @contrastive_grad_sum(
// LOWERED-NOT: kiln.contrastive
func.func @contrastive_grad_sum(%s: tensor<?x?xf32>, %t: tensor<?xi64>, %a: tensor<f32>, %b: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>) {
  %rl, %cl, %g = kiln.contrastive_cross_entropy_grad_sum %s, %t, %a, %b : (tensor<?x?xf32>, tensor<?xi64>, tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>)
  return %rl, %cl, %g : tensor<f32>, tensor<f32>, tensor<?x?xf32>
}

// -----

// bf16: the two gradients, scaled and added, then lowered.
// LOWERED-LABEL: func.func @contrastive_grad_sum_bf16(
// LOWERED-NOT: kiln.
// LOWERED: linalg.generic
func.func @contrastive_grad_sum_bf16(%s: tensor<4x4xbf16>, %t: tensor<4xi64>, %a: tensor<bf16>, %b: tensor<bf16>) -> (tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>) {
  %rl, %cl, %g = kiln.contrastive_cross_entropy_grad_sum %s, %t, %a, %b : (tensor<4x4xbf16>, tensor<4xi64>, tensor<bf16>, tensor<bf16>) -> (tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>)
  return %rl, %cl, %g : tensor<bf16>, tensor<bf16>, tensor<4x4xbf16>
}
