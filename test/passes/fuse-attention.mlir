// kiln-fuse-attention: softmax(q @ transpose(k) * scale) @ v spelled out op
// by op becomes kiln.attention; near misses are left as they are.
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-attention | FileCheck %s

// CHECK-LABEL: func.func @scaled
// CHECK-NEXT: %[[A:.*]] = kiln.attention %arg0, %arg1, %arg2 scale = 1.250000e-01 : (tensor<?x4x16x64xf32>, tensor<?x4x32x64xf32>, tensor<?x4x32x8xf32>) -> tensor<?x4x16x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @scaled(%q: tensor<?x4x16x64xf32>, %k: tensor<?x4x32x64xf32>, %v: tensor<?x4x32x8xf32>) -> tensor<?x4x16x8xf32> {
  %c = arith.constant dense<1.250000e-01> : tensor<f32>
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<?x4x32x64xf32>) -> tensor<?x4x64x32xf32>
  %s = kiln.matmul %q, %kt : (tensor<?x4x16x64xf32>, tensor<?x4x64x32xf32>) -> tensor<?x4x16x32xf32>
  %ss = kiln.mul %s, %c : (tensor<?x4x16x32xf32>, tensor<f32>) -> tensor<?x4x16x32xf32>
  %p = kiln.softmax %ss axis = 3 : tensor<?x4x16x32xf32>
  %o = kiln.matmul %p, %v : (tensor<?x4x16x32xf32>, tensor<?x4x32x8xf32>) -> tensor<?x4x16x8xf32>
  return %o : tensor<?x4x16x8xf32>
}

// -----

// Divided by sqrt(d), and unscaled.
// CHECK-LABEL: func.func @divided
// CHECK-NEXT: kiln.attention %arg0, %arg1, %arg2 scale = 2.500000e-01
// CHECK-LABEL: func.func @unscaled
// CHECK-NEXT: kiln.attention %arg0, %arg1, %arg2 scale = 1.000000e+00
func.func @divided(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32> {
  %c = arith.constant dense<4.000000e+00> : tensor<f32>
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %ss = kiln.div %s, %c : (tensor<2x2x3x5xf32>, tensor<f32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %ss axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}
func.func @unscaled(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %s axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// Not fused: softmax over the queries, not the keys.
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax %{{.*}} axis = 2
func.func @wrong_axis(%q: tensor<2x2x5x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> tensor<2x2x5x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x5x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x5x5xf32>
  %p = kiln.softmax %s axis = 2 : tensor<2x2x5x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x5x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x5x16xf32>
  return %o : tensor<2x2x5x16xf32>
}

// -----

// Not fused: the scores are also returned.
// CHECK-LABEL: func.func @scores_used
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @scores_used(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> (tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>) {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %s axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o, %s : tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>
}

// -----

// Not fused: the probabilities are also returned.
// CHECK-LABEL: func.func @probs_used
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @probs_used(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> (tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>) {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %s axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o, %p : tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>
}

// -----

// Not fused: k is not transposed on its last two dims.
// CHECK-LABEL: func.func @not_k_transposed
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @not_k_transposed(%q: tensor<2x2x3x16xf32>, %kt: tensor<2x2x16x5xf32>, %v: tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32> {
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %s axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// Not fused: the scale is not a constant.
// CHECK-LABEL: func.func @runtime_scale
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @runtime_scale(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>, %c: tensor<f32>) -> tensor<2x2x3x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %ss = kiln.mul %s, %c : (tensor<2x2x3x5xf32>, tensor<f32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %ss axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// Not fused: q's batch of 1 would broadcast against k's.
// CHECK-LABEL: func.func @broadcast
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @broadcast(%q: tensor<1x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %s axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// An additive bias (here a [S, T] mask) on the scaled scores becomes the
// op's bias, whichever side of the add it is on.
// CHECK-LABEL: func.func @additive_mask
// CHECK-NEXT: %[[A:.*]] = kiln.attention %arg0, %arg1, %arg2 bias %arg3 scale = 1.250000e-01 : (tensor<2x2x3x16xf32>, tensor<2x2x5x16xf32>, tensor<2x2x5x16xf32>, tensor<3x5xf32>) -> tensor<2x2x3x16xf32>
// CHECK-NEXT: return %[[A]]
func.func @additive_mask(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>, %m: tensor<3x5xf32>) -> tensor<2x2x3x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %c = arith.constant dense<8.0> : tensor<f32>
  %ss = kiln.div %s, %c : (tensor<2x2x3x5xf32>, tensor<f32>) -> tensor<2x2x3x5xf32>
  %sm = kiln.add %m, %ss : (tensor<3x5xf32>, tensor<2x2x3x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %sm axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// Not fused: the biased scores are also returned.
// CHECK-LABEL: func.func @biased_scores_used
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @biased_scores_used(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x5x16xf32>, %v: tensor<2x2x5x16xf32>, %m: tensor<2x1x1x5xf32>) -> (tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>) {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x2x5x16xf32>) -> tensor<2x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x5xf32>) -> tensor<2x2x3x5xf32>
  %sm = kiln.add %s, %m : (tensor<2x2x3x5xf32>, tensor<2x1x1x5xf32>) -> tensor<2x2x3x5xf32>
  %p = kiln.softmax %sm axis = 3 : tensor<2x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<2x2x3x5xf32>, tensor<2x2x5x16xf32>) -> tensor<2x2x3x16xf32>
  return %o, %sm : tensor<2x2x3x16xf32>, tensor<2x2x3x5xf32>
}

// -----

// Not fused: the "bias" would broadcast the scores themselves (a batch of 4
// against scores of batch 2 is not a bias of the scores).
// CHECK-LABEL: func.func @bias_broadcasts_scores
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @bias_broadcasts_scores(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<4x2x5x16xf32>, %m: tensor<4x1x1x5xf32>) -> tensor<4x2x3x16xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<1x2x5x16xf32>) -> tensor<1x2x16x5xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x2x3x16xf32>, tensor<1x2x16x5xf32>) -> tensor<1x2x3x5xf32>
  %sm = kiln.add %s, %m : (tensor<1x2x3x5xf32>, tensor<4x1x1x5xf32>) -> tensor<4x2x3x5xf32>
  %p = kiln.softmax %sm axis = 3 : tensor<4x2x3x5xf32>
  %o = kiln.matmul %p, %v : (tensor<4x2x3x5xf32>, tensor<4x2x5x16xf32>) -> tensor<4x2x3x16xf32>
  return %o : tensor<4x2x3x16xf32>
}
