// RUN: %kiln-opt %s -split-input-file -verify-diagnostics
// Each verifier rejects bad ranks, shapes and element types, naming both sides.

func.func @add_shapes(%a: tensor<4x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.add' op operand shapes [4, 3] and [4] are not broadcast-compatible}}
  %0 = kiln.add %a, %b : (tensor<4x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @add_types(%a: tensor<4xf32>, %b: tensor<4xf64>) {
  // expected-error @+1 {{'kiln.add' op operand element types differ: f32[4] and f64[4]}}
  %0 = kiln.add %a, %b : (tensor<4xf32>, tensor<4xf64>) -> tensor<4xf32>
  return
}

// -----

func.func @add_result(%a: tensor<4x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.mul' op result shape [4, 4] differs from the expected [4, 3]}}
  %0 = kiln.mul %a, %b : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_inner(%a: tensor<?x64xf32>, %b: tensor<32x10xf32>) {
  // expected-error @+1 {{'kiln.matmul' op contraction dims differ: [?, 64] x [32, 10] (64 vs 32)}}
  %0 = kiln.matmul %a, %b : (tensor<?x64xf32>, tensor<32x10xf32>) -> tensor<?x10xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<64xf32>, %b: tensor<64x10xf32>) {
  // expected-error @+1 {{'kiln.matmul' op operands must both have rank >= 2, got f32[64] and f32[64, 10]}}
  %0 = kiln.matmul %a, %b : (tensor<64xf32>, tensor<64x10xf32>) -> tensor<10xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) {
  // expected-error @+1 {{'kiln.matmul' op batch dims of [2, 3, 4] and [3, 4, 5] are not broadcast-compatible}}
  %0 = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<8x4xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{'kiln.matmul' op result shape [8, 4] differs from the expected [8, 5]}}
  %0 = kiln.matmul %a, %b : (tensor<8x4xf32>, tensor<4x5xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @matmul_int(%a: tensor<8x4xi32>, %b: tensor<4x5xi32>) {
  // expected-error @+1 {{'kiln.matmul' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.matmul %a, %b : (tensor<8x4xi32>, tensor<4x5xi32>) -> tensor<8x5xi32>
  return
}

// -----

func.func @transpose_perm(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.transpose' op permutation is not a permutation of [0, 2)}}
  %0 = kiln.transpose %a [0, 0] : (tensor<8x4xf32>) -> tensor<8x8xf32>
  return
}

// -----

func.func @transpose_result(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.transpose' op result shape [8, 4] differs from the expected [4, 8]}}
  %0 = kiln.transpose %a [1, 0] : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.softmax' op axis 2 is out of range for f32[8, 4]}}
  %0 = kiln.softmax %a axis = 2 : tensor<8x4xf32>
  return
}

// -----

func.func @log_softmax_axis(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.log_softmax' op axis -1 is out of range for f32[8, 4]}}
  %0 = kiln.log_softmax %a axis = -1 : tensor<8x4xf32>
  return
}

// -----

func.func @relu_int(%a: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.relu' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.relu %a : tensor<8xi64>
  return
}

// -----

func.func @reduce_axis(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.reduce_sum' op axis 2 is out of range for f32[8, 4]}}
  %0 = kiln.reduce_sum %a axes = [2] : (tensor<8x4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @reduce_sorted(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.reduce_mean' op axes must be sorted and distinct}}
  %0 = kiln.reduce_mean %a axes = [1, 0] : (tensor<8x4xf32>) -> tensor<f32>
  return
}

// -----

func.func @reduce_result(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.reduce_max' op result shape [8] differs from the expected [8, 1]}}
  %0 = kiln.reduce_max %a axes = [1] {keep_dims = true} : (tensor<8x4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @ce_rank(%a: tensor<8xf32>, %t: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.cross_entropy' op logits must be [N, C], got f32[8]}}
  %0 = kiln.cross_entropy %a, %t : (tensor<8xf32>, tensor<8xi64>) -> tensor<f32>
  return
}

// -----

func.func @ce_batch(%a: tensor<8x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.cross_entropy' op batch sizes differ: logits f32[8, 10], targets i64[4]}}
  %0 = kiln.cross_entropy %a, %t : (tensor<8x10xf32>, tensor<4xi64>) -> tensor<f32>
  return
}

// -----

func.func @ce_targets_type(%a: tensor<8x10xf32>, %t: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.cross_entropy' op operand #1 must be ranked tensor of signless integer values}}
  %0 = kiln.cross_entropy %a, %t : (tensor<8x10xf32>, tensor<8xf32>) -> tensor<f32>
  return
}

// -----

func.func @param_missing() {
  // expected-error @+1 {{'kiln.param' op 'nope' is not a declared parameter}}
  %0 = kiln.param @nope : tensor<4xf32>
  return
}

// -----

kiln.parameter @w : tensor<4xf32>
func.func @param_type() {
  // expected-error @+1 {{'kiln.param' op type f32[8] of 'w' differs from its declaration f32[4]}}
  %0 = kiln.param @w : tensor<8xf32>
  return
}

// -----

// expected-error @+1 {{'kiln.parameter' op parameter 'w' must have a static shape, got f32[?]}}
kiln.parameter @w : tensor<?xf32>
