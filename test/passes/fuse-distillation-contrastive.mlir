// kiln-fuse-softmax-cross-entropy, the distillation and contrastive forms:
// kl_div(log_softmax(s / T), softmax(t / T)) becomes kiln.softmax_kl_div and
// cross_entropy(S, t) with cross_entropy(transpose(S), t) becomes
// kiln.contrastive_cross_entropy; in a train step, the gradients with them
// (kiln.softmax_kl_div_grad, kiln.contrastive_cross_entropy_grad); near misses
// are left as they are.
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-softmax-cross-entropy | FileCheck %s

// CHECK-LABEL: func.func @distill
// CHECK-NEXT: %[[L:.*]] = kiln.softmax_kl_div %arg0, %arg1 temperature = 4.000000e+00 : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
// CHECK-NEXT: return %[[L]]
func.func @distill(%s: tensor<?x10xf32>, %t: tensor<?x10xf32>) -> tensor<f32> {
  %c = arith.constant dense<4.0> : tensor<f32>
  %ss = kiln.div %s, %c : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %ls = kiln.log_softmax %ss axis = 1 : tensor<?x10xf32>
  %c2 = arith.constant dense<4.0> : tensor<f32>
  %ts = kiln.div %t, %c2 : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %p = kiln.softmax %ts axis = 1 : tensor<?x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  return %kl : tensor<f32>
}

// -----

// Without a temperature the form is T = 1.
// CHECK-LABEL: func.func @distill_no_temperature
// CHECK-NEXT: kiln.softmax_kl_div %arg0, %arg1 temperature = 1.000000e+00
func.func @distill_no_temperature(%s: tensor<8x10xf32>, %t: tensor<8x10xf32>) -> tensor<f32> {
  %ls = kiln.log_softmax %s axis = 1 : tensor<8x10xf32>
  %p = kiln.softmax %t axis = 1 : tensor<8x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  return %kl : tensor<f32>
}

// -----

// Near miss: student and teacher at different temperatures.
// CHECK-LABEL: func.func @two_temperatures
// CHECK-NOT: kiln.softmax_kl_div
// CHECK: kiln.kl_div
func.func @two_temperatures(%s: tensor<?x10xf32>, %t: tensor<?x10xf32>) -> tensor<f32> {
  %c = arith.constant dense<4.0> : tensor<f32>
  %ss = kiln.div %s, %c : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %ls = kiln.log_softmax %ss axis = 1 : tensor<?x10xf32>
  %c2 = arith.constant dense<2.0> : tensor<f32>
  %ts = kiln.div %t, %c2 : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %p = kiln.softmax %ts axis = 1 : tensor<?x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  return %kl : tensor<f32>
}

// -----

// Near miss: the softmaxes are over the batch axis.
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: kiln.softmax_kl_div
// CHECK: kiln.kl_div
func.func @wrong_axis(%s: tensor<8x10xf32>, %t: tensor<8x10xf32>) -> tensor<f32> {
  %ls = kiln.log_softmax %s axis = 0 : tensor<8x10xf32>
  %p = kiln.softmax %t axis = 0 : tensor<8x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  return %kl : tensor<f32>
}

// -----

// Near miss: the teacher's probabilities are also returned.
// CHECK-LABEL: func.func @probabilities_used
// CHECK-NOT: kiln.softmax_kl_div
// CHECK: kiln.kl_div
func.func @probabilities_used(%s: tensor<8x10xf32>, %t: tensor<8x10xf32>) -> (tensor<f32>, tensor<8x10xf32>) {
  %ls = kiln.log_softmax %s axis = 1 : tensor<8x10xf32>
  %p = kiln.softmax %t axis = 1 : tensor<8x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  return %kl, %p : tensor<f32>, tensor<8x10xf32>
}

// -----

// CHECK-LABEL: func.func @contrastive
// CHECK-NEXT: %[[R:.*]], %[[C:.*]] = kiln.contrastive_cross_entropy %arg0, %arg1 : (tensor<?x?xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<f32>)
// CHECK-NEXT: %[[S:.*]] = kiln.add %[[R]], %[[C]]
// CHECK-NEXT: return %[[S]]
func.func @contrastive(%logits: tensor<?x?xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
  %r = kiln.cross_entropy %logits, %labels : (tensor<?x?xf32>, tensor<?xi64>) -> tensor<f32>
  %lt = kiln.transpose %logits [1, 0] : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %c = kiln.cross_entropy %lt, %labels : (tensor<?x?xf32>, tensor<?xi64>) -> tensor<f32>
  %sum = kiln.add %r, %c : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %sum : tensor<f32>
}

// -----

// The column direction written first still fuses (the fused op goes before it).
// CHECK-LABEL: func.func @contrastive_columns_first
// CHECK-NEXT: %[[R:.*]], %[[C:.*]] = kiln.contrastive_cross_entropy %arg0, %arg1
// CHECK-NEXT: kiln.sub %[[C]], %[[R]]
func.func @contrastive_columns_first(%logits: tensor<16x16xf32>, %labels: tensor<16xi64>) -> tensor<f32> {
  %lt = kiln.transpose %logits [1, 0] : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %c = kiln.cross_entropy %lt, %labels : (tensor<16x16xf32>, tensor<16xi64>) -> tensor<f32>
  %r = kiln.cross_entropy %logits, %labels : (tensor<16x16xf32>, tensor<16xi64>) -> tensor<f32>
  %d = kiln.sub %c, %r : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %d : tensor<f32>
}

// -----

// Near miss: the two directions use different targets.
// CHECK-LABEL: func.func @different_targets
// CHECK-NOT: kiln.contrastive_cross_entropy
// CHECK: kiln.transpose
func.func @different_targets(%logits: tensor<?x?xf32>, %a: tensor<?xi64>, %b: tensor<?xi64>) -> tensor<f32> {
  %r = kiln.cross_entropy %logits, %a : (tensor<?x?xf32>, tensor<?xi64>) -> tensor<f32>
  %lt = kiln.transpose %logits [1, 0] : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %c = kiln.cross_entropy %lt, %b : (tensor<?x?xf32>, tensor<?xi64>) -> tensor<f32>
  %sum = kiln.add %r, %c : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %sum : tensor<f32>
}

// -----

// Near miss: only the transposed direction.
// CHECK-LABEL: func.func @one_direction
// CHECK-NOT: kiln.contrastive_cross_entropy
// CHECK: kiln.transpose
func.func @one_direction(%logits: tensor<?x?xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
  %lt = kiln.transpose %logits [1, 0] : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %c = kiln.cross_entropy %lt, %labels : (tensor<?x?xf32>, tensor<?xi64>) -> tensor<f32>
  return %c : tensor<f32>
}

// -----

// Distillation's full loss: the temperature KL and the hard-label
// cross-entropy of the same student become one kiln.distillation_loss.
// CHECK-LABEL: func.func @distill_with_labels
// CHECK-NEXT: %[[S:.*]], %[[H:.*]] = kiln.distillation_loss %arg0, %arg1, %arg2 temperature = 4.000000e+00 : (tensor<?x10xf32>, tensor<?x10xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<f32>)
// CHECK-NEXT: kiln.add %[[S]], %[[H]]
func.func @distill_with_labels(%s: tensor<?x10xf32>, %t: tensor<?x10xf32>, %y: tensor<?xi64>) -> tensor<f32> {
  %c = arith.constant dense<4.0> : tensor<f32>
  %ss = kiln.div %s, %c : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %ls = kiln.log_softmax %ss axis = 1 : tensor<?x10xf32>
  %ts = kiln.div %t, %c : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %p = kiln.softmax %ts axis = 1 : tensor<?x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %ce = kiln.cross_entropy %s, %y : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %sum = kiln.add %kl, %ce : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %sum : tensor<f32>
}

// -----

// Near miss: the cross-entropy is of the teacher, not the student.
// CHECK-LABEL: func.func @labels_on_teacher
// CHECK-NOT: kiln.distillation_loss
// CHECK: kiln.softmax_kl_div
// CHECK: kiln.softmax_cross_entropy %arg1, %arg2
func.func @labels_on_teacher(%s: tensor<8x10xf32>, %t: tensor<8x10xf32>, %y: tensor<8xi64>) -> (tensor<f32>, tensor<f32>) {
  %ls = kiln.log_softmax %s axis = 1 : tensor<8x10xf32>
  %p = kiln.softmax %t axis = 1 : tensor<8x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  %ce = kiln.cross_entropy %t, %y : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  return %kl, %ce : tensor<f32>, tensor<f32>
}

// -----

// Near miss: the hard labels are computed after the KL term, so no place
// before both terms has them: the two stay apart.
// CHECK-LABEL: func.func @labels_after_kl
// CHECK-NOT: kiln.distillation_loss
// CHECK: kiln.softmax_kl_div
// CHECK: kiln.arange
// CHECK: kiln.softmax_cross_entropy
func.func @labels_after_kl(%s: tensor<?x10xf32>, %t: tensor<?x10xf32>, %n: index) -> (tensor<f32>, tensor<f32>) {
  %ls = kiln.log_softmax %s axis = 1 : tensor<?x10xf32>
  %p = kiln.softmax %t axis = 1 : tensor<?x10xf32>
  %kl = kiln.kl_div %ls, %p : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %y = kiln.arange[%n] : tensor<?xi64>
  %ce = kiln.cross_entropy %s, %y : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %kl, %ce : tensor<f32>, tensor<f32>
}

// -----

// A train step's KL and the backward autodiff builds for it (kl_div's rule,
// then log_softmax's): A = -(P * c), A - exp(L) * sum(A, axis = 1) becomes
// c * grad of one kiln.softmax_kl_div_grad, which also gives the loss; the
// row count reads the student instead of L, so L and P are not kept.
// CHECK-LABEL: func.func @distill_step
// CHECK-SAME: (%[[S:.*]]: tensor<?x10xf32>, %[[T:.*]]: tensor<?x10xf32>, %[[C:.*]]: tensor<f32>)
// CHECK-NOT: kiln.log_softmax
// CHECK-NOT: kiln.softmax %
// CHECK: %[[LOSS:.*]], %[[GRAD:.*]] = kiln.softmax_kl_div_grad %[[S]], %[[T]] temperature = 4.000000e+00 : (tensor<?x10xf32>, tensor<?x10xf32>) -> (tensor<f32>, tensor<?x10xf32>)
// CHECK: %[[N:.*]] = kiln.count %[[S]] axes = [0]
// CHECK: %[[SCALE:.*]] = kiln.div %[[C]], %[[N]]
// CHECK: %[[D:.*]] = kiln.mul %[[GRAD]], %[[SCALE]]
// CHECK: %[[DS:.*]] = kiln.div %[[D]], %{{.*}}
// CHECK: return %[[LOSS]], %[[DS]]
func.func @distill_step(%s: tensor<?x10xf32>, %t: tensor<?x10xf32>, %c: tensor<f32>) -> (tensor<f32>, tensor<?x10xf32>) {
  %temp = arith.constant dense<4.0> : tensor<f32>
  %ss = kiln.div %s, %temp : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %l = kiln.log_softmax %ss axis = 1 : tensor<?x10xf32>
  %ts = kiln.div %t, %temp : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %p = kiln.softmax %ts axis = 1 : tensor<?x10xf32>
  %kl = kiln.kl_div %l, %p : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %n = kiln.count %l axes = [0] : (tensor<?x10xf32>) -> tensor<f32>
  %scale = kiln.div %c, %n : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %pc = kiln.mul %p, %scale : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %a = kiln.neg %pc : tensor<?x10xf32>
  %sum = kiln.reduce_sum %a axes = [1] {keep_dims = true} : (tensor<?x10xf32>) -> tensor<?x1xf32>
  %e = kiln.exp %l : tensor<?x10xf32>
  %row = kiln.mul %e, %sum : (tensor<?x10xf32>, tensor<?x1xf32>) -> tensor<?x10xf32>
  %dl = kiln.sub %a, %row : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %ds = kiln.div %dl, %temp : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  return %kl, %ds : tensor<f32>, tensor<?x10xf32>
}

// -----

// Near miss: A scales the target by a tensor, not a scalar (not kl_div's
// rule): the chain stays.
// CHECK-LABEL: func.func @distill_step_tensor_scale
// CHECK-NOT: kiln.softmax_kl_div_grad
// CHECK: kiln.sub
func.func @distill_step_tensor_scale(%s: tensor<8x10xf32>, %t: tensor<8x10xf32>, %w: tensor<8x10xf32>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.log_softmax %s axis = 1 : tensor<8x10xf32>
  %p = kiln.softmax %t axis = 1 : tensor<8x10xf32>
  %kl = kiln.kl_div %l, %p : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  %pc = kiln.mul %p, %w : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %a = kiln.neg %pc : tensor<8x10xf32>
  %sum = kiln.reduce_sum %a axes = [1] {keep_dims = true} : (tensor<8x10xf32>) -> tensor<8x1xf32>
  %e = kiln.exp %l : tensor<8x10xf32>
  %row = kiln.mul %e, %sum : (tensor<8x10xf32>, tensor<8x1xf32>) -> tensor<8x10xf32>
  %dl = kiln.sub %a, %row : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %kl, %dl : tensor<f32>, tensor<8x10xf32>
}

// -----

// A train step of CLIP's loss: the gradients of the cross-entropies of S and
// of S^T become one kiln.contrastive_cross_entropy_grad with both gradients in
// S's layout; the backward's transpose(grad(S^T) * c) becomes col_grad * c,
// and the mean's count reads S (axes flipped), so S^T is not built.
// CHECK-LABEL: func.func @clip_step
// CHECK-SAME: (%[[S:.*]]: tensor<?x?xf32>, %[[T:.*]]: tensor<?xi64>, %[[C:.*]]: tensor<f32>)
// CHECK-NEXT: %[[RL:.*]], %[[CL:.*]], %[[RG:.*]], %[[CG:.*]] = kiln.contrastive_cross_entropy_grad %[[S]], %[[T]] : (tensor<?x?xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK-NEXT: %[[N:.*]] = kiln.count %[[S]] axes = [1]
// CHECK-NEXT: %[[SC:.*]] = kiln.div %[[C]], %[[N]]
// CHECK-NEXT: %[[D:.*]] = kiln.mul %[[CG]], %[[SC]] : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
// CHECK-NOT: kiln.transpose
// CHECK: %[[SUM:.*]] = kiln.add %[[RG]], %[[D]]
// CHECK: return %[[RL]], %[[CL]], %[[SUM]]
func.func @clip_step(%s: tensor<?x?xf32>, %t: tensor<?xi64>, %c: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<?x?xf32>) {
  %rl, %rg = kiln.softmax_cross_entropy_grad %s, %t : (tensor<?x?xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<?x?xf32>)
  %st = kiln.transpose %s [1, 0] : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %cl, %cg = kiln.softmax_cross_entropy_grad %st, %t : (tensor<?x?xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<?x?xf32>)
  %n = kiln.count %st axes = [0] : (tensor<?x?xf32>) -> tensor<f32>
  %scale = kiln.div %c, %n : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %d = kiln.mul %cg, %scale : (tensor<?x?xf32>, tensor<f32>) -> tensor<?x?xf32>
  %back = kiln.transpose %d [1, 0] : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %sum = kiln.add %rg, %back : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %rl, %cl, %sum : tensor<f32>, tensor<f32>, tensor<?x?xf32>
}

// -----

// Near miss: the rows' gradient is of another matrix.
// CHECK-LABEL: func.func @clip_step_other_matrix
// CHECK-NOT: kiln.contrastive_cross_entropy_grad
func.func @clip_step_other_matrix(%s: tensor<8x8xf32>, %u: tensor<8x8xf32>, %t: tensor<8xi64>) -> (tensor<8x8xf32>, tensor<8x8xf32>) {
  %rl, %rg = kiln.softmax_cross_entropy_grad %u, %t : (tensor<8x8xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x8xf32>)
  %st = kiln.transpose %s [1, 0] : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %cl, %cg = kiln.softmax_cross_entropy_grad %st, %t : (tensor<8x8xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x8xf32>)
  return %rg, %cg : tensor<8x8xf32>, tensor<8x8xf32>
}

// -----

// Both gradients only scaled and added: one kernel writes the sum, the
// scales' computation (after the gradient op) moved up to it.
// CHECK-LABEL: func.func @clip_step_sum
// CHECK: %[[B:.*]] = kiln.div %arg3, %{{.*}}
// CHECK: %[[RL:.*]], %[[CL:.*]], %[[G:.*]] = kiln.contrastive_cross_entropy_grad_sum %arg0, %arg1, %arg2, %[[B]]
// CHECK-NOT: kiln.contrastive_cross_entropy_grad
// CHECK: return %[[RL]], %[[CL]], %[[G]]
func.func @clip_step_sum(%s: tensor<8x8xf32>, %t: tensor<8xi64>, %a: tensor<f32>, %c: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<8x8xf32>) {
  %rl, %cl, %rg, %cg = kiln.contrastive_cross_entropy_grad %s, %t : (tensor<8x8xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>)
  %n = kiln.count %s axes = [0] : (tensor<8x8xf32>) -> tensor<f32>
  %b = kiln.div %c, %n : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %x = kiln.mul %rg, %a : (tensor<8x8xf32>, tensor<f32>) -> tensor<8x8xf32>
  %y = kiln.mul %b, %cg : (tensor<f32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %sum = kiln.add %y, %x : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %rl, %cl, %sum : tensor<f32>, tensor<f32>, tensor<8x8xf32>
}
