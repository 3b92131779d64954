// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels -canonicalize | FileCheck %s
// A train step's forward attention and its backward (the same operands and
// attributes, the backward reading the forward's result) go to the _lse
// kernels: the forward saves each query's logsumexp [B, H, S] as a second
// output and the backward reads it after dout instead of recomputing it.

// CHECK-LABEL: func.func @masked_pair
// CHECK:         %[[O:.*]]:2 = kiln.kernel @kiln_rt_attention_masked_lse_f32 ins(%arg0, %arg1, %arg2, %[[M:.*]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<2x4x32x16xf32>, tensor<2x4x32xf32>)
// CHECK:         %[[D:.*]]:3 = kiln.kernel @kiln_rt_attention_grad_masked_lse_f32 ins(%arg0, %arg1, %arg2, %{{.*}}, %[[O]]#0, %arg4, %[[O]]#1 : {{.*}})
// CHECK:         return %[[O]]#0, %[[D]]#0
func.func @masked_pair(%q: tensor<2x4x32x16xf32>, %k: tensor<2x4x32x16xf32>, %v: tensor<2x4x32x16xf32>, %m: tensor<2x32xi1>, %g: tensor<2x4x32x16xf32>)
    -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) {
  %o = kiln.attention %q, %k, %v mask %m scale = 0.25 : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x32xi1>) -> tensor<2x4x32x16xf32>
  %dq, %dk, %dv = kiln.attention_grad %q, %k, %v, %o, %g mask %m scale = 0.25 : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x32xi1>) -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>)
  return %o, %dq : tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>
}

// -----

// A bias: the same pairing.
// CHECK-LABEL: func.func @bias_pair
// CHECK:         %[[O:.*]]:2 = kiln.kernel @kiln_rt_attention_bias_lse_f32 ins(%arg0, %arg1, %arg2, %arg3 : {{.*}})
// CHECK:         kiln.kernel @kiln_rt_attention_grad_bias_lse_f32 ins(%arg0, %arg1, %arg2, %arg3, %[[O]]#0, %arg4, %[[O]]#1 : {{.*}})
func.func @bias_pair(%q: tensor<2x4x32x16xf32>, %k: tensor<2x4x32x16xf32>, %v: tensor<2x4x32x16xf32>, %b: tensor<32x32xf32>, %g: tensor<2x4x32x16xf32>)
    -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) {
  %o = kiln.attention %q, %k, %v bias %b scale = 0.25 {causal = true} : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<32x32xf32>) -> tensor<2x4x32x16xf32>
  %dq, %dk, %dv = kiln.attention_grad %q, %k, %v, %o, %g bias %b scale = 0.25 {causal = true} : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<32x32xf32>) -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>)
  return %o, %dq : tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>
}

// -----

// Not the same attention (another scale, or causal only in one): each kernel
// works alone, the backward recomputing its logsumexp.
// CHECK-LABEL: func.func @different
// CHECK:         kiln.kernel @kiln_rt_attention_f32 ins
// CHECK:         kiln.kernel @kiln_rt_attention_grad_f32 ins
// CHECK:         kiln.kernel @kiln_rt_attention_grad_f32 ins
// CHECK-NOT:     _lse
func.func @different(%q: tensor<2x4x32x16xf32>, %k: tensor<2x4x32x16xf32>, %v: tensor<2x4x32x16xf32>, %g: tensor<2x4x32x16xf32>)
    -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) {
  %o = kiln.attention %q, %k, %v scale = 0.25 : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) -> tensor<2x4x32x16xf32>
  %dq, %dk, %dv = kiln.attention_grad %q, %k, %v, %o, %g scale = 0.5 : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>)
  %dq2, %dk2, %dv2 = kiln.attention_grad %q, %k, %v, %o, %g scale = 0.25 {causal = true} : (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>) -> (tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>)
  return %o, %dq, %dq2 : tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>
}
