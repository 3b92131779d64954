// RUN: %kiln-opt %s -kiln-autodiff -canonicalize | FileCheck %s
// Attention's rule is one kiln.attention_grad of the forward's operands,
// result and cotangent (the flash-style backward kernel takes it). A bias
// that no trained parameter reaches needs no cotangent: the decomposition
// its rule builds for one is dead and goes, [S, T] probabilities and all.

// CHECK-LABEL: func.func @fit
// CHECK:         %[[OUT:.*]] = kiln.attention %[[Q:.*]], %[[K:.*]], %[[V:.*]] bias %[[BIAS:.*]] scale = 1.250000e-01 {causal = true}
// CHECK:         %[[DQ:.*]], %{{.*}}, %{{.*}} = kiln.attention_grad %[[Q]], %[[K]], %[[V]], %[[OUT]], %{{.*}} bias %[[BIAS]] scale = 1.250000e-01 {causal = true}
// CHECK-NOT:     kiln.softmax
// CHECK:         return %{{.*}}, %[[DQ]]
module {
  kiln.parameter @q : tensor<2x4x16x8xf32>
  kiln.parameter @bias : tensor<16x16xf32>
  func.func @fit(%x: tensor<2x4x16x8xf32> {kiln.dims = [2, 4, 16, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["q"]}} {
    %q = kiln.param @q : tensor<2x4x16x8xf32>
    %bias = kiln.param @bias : tensor<16x16xf32>
    %o = kiln.attention %q, %x, %x bias %bias scale = 0.125 {causal = true} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<16x16xf32>) -> tensor<2x4x16x8xf32>
    %s = kiln.reduce_sum %o axes = [0, 1, 2, 3] : (tensor<2x4x16x8xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}
