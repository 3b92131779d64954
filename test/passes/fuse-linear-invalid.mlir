// The verifier of kiln.fused_linear.
// RUN: %kiln-opt %s -split-input-file -verify-diagnostics

func.func @activation(%x: tensor<4x8xf32>, %w: tensor<3x8xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{activation must be none, relu, gelu_erf, gelu_tanh, sigmoid, silu or quick_gelu, got 'swish'}}
  %0 = kiln.fused_linear %x, %w {activation = "swish"} : (tensor<4x8xf32>, tensor<3x8xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @k(%x: tensor<4x8xf32>, %w: tensor<3x7xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{differ in K}}
  %0 = kiln.fused_linear %x, %w : (tensor<4x8xf32>, tensor<3x7xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @bias(%x: tensor<4x8xf32>, %w: tensor<3x8xf32>, %b: tensor<4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{bias must be [O] = [3]}}
  %0 = kiln.fused_linear %x, %w bias %b : (tensor<4x8xf32>, tensor<3x8xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @residual(%x: tensor<4x8xf32>, %w: tensor<3x8xf32>, %r: tensor<1x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{residual must have the result's type}}
  %0 = kiln.fused_linear %x, %w residual %r : (tensor<4x8xf32>, tensor<3x8xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
