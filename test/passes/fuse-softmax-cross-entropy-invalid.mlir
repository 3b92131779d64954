// The verifier of kiln.softmax_cross_entropy.
// RUN: %kiln-opt %s -split-input-file -verify-diagnostics

func.func @rank(%x: tensor<4x10x2xf32>, %t: tensor<4xi64>) -> tensor<f32> {
  // expected-error @+1 {{logits must be [N, C]}}
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<4x10x2xf32>, tensor<4xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @batch(%x: tensor<4x10xf32>, %t: tensor<5xi64>) -> tensor<f32> {
  // expected-error @+1 {{batch sizes differ}}
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<4x10xf32>, tensor<5xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @loss_shape(%x: tensor<4x10xf32>, %t: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{loss must be a scalar}}
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @lse_without_flag(%x: tensor<4x10xf32>, %t: tensor<4xi64>) -> tensor<f32> {
  // expected-error @+1 {{returns lse exactly when it has the with_lse attribute}}
  %0, %1 = kiln.softmax_cross_entropy %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4xf32>)
  return %0 : tensor<f32>
}

// -----

func.func @lse_shape(%x: tensor<4x10xf32>, %t: tensor<4xi64>) -> tensor<f32> {
  // expected-error @+1 {{lse must be [N]}}
  %0, %1 = kiln.softmax_cross_entropy %x, %t {with_lse} : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x1xf32>)
  return %0 : tensor<f32>
}
