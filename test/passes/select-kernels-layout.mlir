// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels -canonicalize | FileCheck %s
// Heads split off a [B, S, H * D] projection (a transpose of [B, S, H, D])
// and merged back (the inverse transpose) are read and written by the
// attention kernels in place: the transposes are absorbed into the layout
// bits (the last scalar; kernels.h), forward and backward, and disappear.

// CHECK-LABEL: func.func @split_heads
// CHECK-SAME:    (%[[Q:.*]]: tensor<2x?x4x16xf32>, %[[K:.*]]: tensor<2x?x4x16xf32>, %[[V:.*]]: tensor<2x?x4x16xf32>, %[[G:.*]]: tensor<2x?x4x16xf32>)
// CHECK-NOT:     kiln.transpose
// CHECK:         %[[O:.*]]:2 = kiln.kernel @kiln_rt_attention_lse_f32 ins(%[[Q]], %[[K]], %[[V]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<2x?x4x16xf32>, tensor<2x4x?xf32>) scalars [2.500000e-01, 1, 15]
// CHECK:         %[[D:.*]]:3 = kiln.kernel @kiln_rt_attention_grad_lse_f32 ins(%[[Q]], %[[K]], %[[V]], %[[O]]#0, %[[G]], %[[O]]#1 : {{.*}}) outs({{.*}} : tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>) scalars [2.500000e-01, 1, 255]
// CHECK-NOT:     kiln.transpose
// CHECK:         return %[[O]]#0, %[[D]]#0, %[[D]]#1, %[[D]]#2
func.func @split_heads(%q: tensor<2x?x4x16xf32>, %k: tensor<2x?x4x16xf32>, %v: tensor<2x?x4x16xf32>, %g: tensor<2x?x4x16xf32>)
    -> (tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>) {
  %qt = kiln.transpose %q [0, 2, 1, 3] : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %kt = kiln.transpose %k [0, 2, 1, 3] : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %vt = kiln.transpose %v [0, 2, 1, 3] : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %gt = kiln.transpose %g [0, 2, 1, 3] : (tensor<2x?x4x16xf32>) -> tensor<2x4x?x16xf32>
  %o = kiln.attention %qt, %kt, %vt scale = 0.25 {causal = true} : (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>) -> tensor<2x4x?x16xf32>
  %merged = kiln.transpose %o [0, 2, 1, 3] : (tensor<2x4x?x16xf32>) -> tensor<2x?x4x16xf32>
  %dq, %dk, %dv = kiln.attention_grad %qt, %kt, %vt, %o, %gt scale = 0.25 {causal = true} : (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>) -> (tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>)
  %dqt = kiln.transpose %dq [0, 2, 1, 3] : (tensor<2x4x?x16xf32>) -> tensor<2x?x4x16xf32>
  %dkt = kiln.transpose %dk [0, 2, 1, 3] : (tensor<2x4x?x16xf32>) -> tensor<2x?x4x16xf32>
  %dvt = kiln.transpose %dv [0, 2, 1, 3] : (tensor<2x4x?x16xf32>) -> tensor<2x?x4x16xf32>
  return %merged, %dqt, %dkt, %dvt : tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>, tensor<2x?x4x16xf32>
}

// -----

// A result some other op reads in [B, H, S, D] gets a transpose back for it.
// CHECK-LABEL: func.func @other_user
// CHECK:         %[[O:.*]] = kiln.kernel @kiln_rt_attention_f32 {{.*}} scalars [2.500000e-01, 0, 8]
// CHECK:         %[[BACK:.*]] = kiln.transpose %[[O]] [0, 2, 1, 3] : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
// CHECK:         kiln.exp %[[BACK]]
func.func @other_user(%x: tensor<2x4x16x16xf32>) -> (tensor<2x16x4x16xf32>, tensor<2x4x16x16xf32>) {
  %o = kiln.attention %x, %x, %x scale = 0.25 : (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %m = kiln.transpose %o [0, 2, 1, 3] : (tensor<2x4x16x16xf32>) -> tensor<2x16x4x16xf32>
  %e = kiln.exp %o : tensor<2x4x16x16xf32>
  return %m, %e : tensor<2x16x4x16xf32>, tensor<2x4x16x16xf32>
}
