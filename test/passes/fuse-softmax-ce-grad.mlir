// kiln-fuse-softmax-cross-entropy: softmax(x, axis = 1) - one_hot(t) next to
// a cross-entropy of the same x and t in the same block (kiln.cross_entropy,
// kiln.softmax_cross_entropy, or the one_hot chain that fuses into it)
// becomes one kiln.softmax_cross_entropy_grad whose results replace both, in
// either order, also where the gradient's logits are the loss's computed again
// (autodiff's recomputation); near misses keep the gradient unfused.
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-softmax-cross-entropy | FileCheck %s

// The loss first: the fused op takes the loss's place.
// CHECK-LABEL: func.func @loss_then_grad(
// CHECK-NEXT: %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<?x10xf32>)
// CHECK-NEXT: %[[S:.*]] = kiln.mul %[[L]], %[[L]]
// CHECK-NEXT: return %[[S]], %[[G]] : tensor<f32>, tensor<?x10xf32>
func.func @loss_then_grad(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<f32>, tensor<?x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %l2 = kiln.mul %l, %l : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<?x10xf32>
  %h = kiln.one_hot %t : (tensor<?xi64>) -> tensor<?x10xf32>
  %g = kiln.sub %s, %h : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  return %l2, %g : tensor<f32>, tensor<?x10xf32>
}

// -----

// The gradient first, the loss already kiln.softmax_cross_entropy: the fused
// op takes the gradient's place, ahead of the gradient's uses.
// CHECK-LABEL: func.func @grad_then_loss(
// CHECK-NEXT: %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<8x10xf32>, tensor<8xi32>) -> (tensor<f32>, tensor<8x10xf32>)
// CHECK-NEXT: %[[N:.*]] = kiln.neg %[[G]]
// CHECK-NEXT: return %[[L]], %[[N]] : tensor<f32>, tensor<8x10xf32>
func.func @grad_then_loss(%x: tensor<8x10xf32>, %t: tensor<8xi32>) -> (tensor<f32>, tensor<8x10xf32>) {
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi32>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %n = kiln.neg %g : tensor<8x10xf32>
  %l = kiln.softmax_cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi32>) -> tensor<f32>
  return %l, %n : tensor<f32>, tensor<8x10xf32>
}

// -----

// The loss spelled out with one_hot and log_softmax, sharing the one_hot
// with the gradient: the chain fuses, then the pair does.
// CHECK-LABEL: func.func @one_hot_chain_loss(
// CHECK-NEXT: %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<8x10xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>)
// CHECK-NEXT: return %[[L]], %[[G]]
func.func @one_hot_chain_loss(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %ls = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  %p = kiln.mul %h, %ls : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %sum = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_mean %sum axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %l = kiln.neg %m : tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: the softmax is over the batch axis.
// CHECK-LABEL: func.func @softmax_axis0(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1
// CHECK: %[[S:.*]] = kiln.softmax %arg0 axis = 0
// CHECK: kiln.sub %[[S]],
func.func @softmax_axis0(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 0 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: the one_hot is of other targets than the loss's.
// CHECK-LABEL: func.func @different_targets(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1
// CHECK: kiln.one_hot %arg2
// CHECK: kiln.sub
func.func @different_targets(%x: tensor<8x10xf32>, %t: tensor<8xi64>, %u: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %u : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// The gradient's logits are a twin of the loss's: autodiff computed the cheap
// scale * x again for the backward instead of keeping it. Fused, reading the
// loss's logits; the twin is left unused.
// CHECK-LABEL: func.func @recomputed_logits(
// CHECK: %[[E:.*]] = kiln.exp %arg1
// CHECK-NEXT: %[[Z:.*]] = kiln.mul %[[E]], %arg0
// CHECK-NEXT: %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %[[Z]], %arg2
// CHECK-NOT: kiln.softmax
// CHECK: return %[[L]], %[[G]]
func.func @recomputed_logits(%x: tensor<8x10xf32>, %scale: tensor<f32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %e = kiln.exp %scale : tensor<f32>
  %z = kiln.mul %e, %x : (tensor<f32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %l = kiln.cross_entropy %z, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %e2 = kiln.exp %scale : tensor<f32>
  %z2 = kiln.mul %e2, %x : (tensor<f32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.softmax %z2 axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: a look-alike with another operand (exp(scale) * y, not * x).
// CHECK-LABEL: func.func @lookalike_logits(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.softmax_cross_entropy
// CHECK: kiln.sub
func.func @lookalike_logits(%x: tensor<8x10xf32>, %y: tensor<8x10xf32>, %scale: tensor<f32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %e = kiln.exp %scale : tensor<f32>
  %z = kiln.mul %e, %x : (tensor<f32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %l = kiln.cross_entropy %z, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %e2 = kiln.exp %scale : tensor<f32>
  %z2 = kiln.mul %e2, %y : (tensor<f32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.softmax %z2 axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: the loss is of other logits than the softmax's.
// CHECK-LABEL: func.func @different_logits(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.softmax_cross_entropy %arg1, %arg2
// CHECK: kiln.softmax %arg0 axis = 1
// CHECK: kiln.sub
func.func @different_logits(%x: tensor<8x10xf32>, %y: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %y, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: the probabilities are also returned, so they are computed
// anyway.
// CHECK-LABEL: func.func @softmax_kept(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: %[[S:.*]] = kiln.softmax %arg0 axis = 1
// CHECK: %[[G:.*]] = kiln.sub %[[S]],
// CHECK: return %{{.*}}, %[[G]], %[[S]]
func.func @softmax_kept(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g, %s : tensor<f32>, tensor<8x10xf32>, tensor<8x10xf32>
}

// -----

// Not fused: no loss of these logits and targets in the function.
// CHECK-LABEL: func.func @no_loss(
// CHECK-NOT: kiln.softmax_cross_entropy
// CHECK: kiln.softmax %arg0 axis = 1
// CHECK: kiln.sub
func.func @no_loss(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> tensor<8x10xf32> {
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %g : tensor<8x10xf32>
}

// -----

// Not fused: the loss also returns lse (the fused op has no lse result).
// CHECK-LABEL: func.func @loss_with_lse(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1 {with_lse}
// CHECK: kiln.sub
func.func @loss_with_lse(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8xf32>, tensor<8x10xf32>) {
  %l, %lse = kiln.softmax_cross_entropy %x, %t {with_lse} : (tensor<8x10xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8xf32>)
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %lse, %g : tensor<f32>, tensor<8xf32>, tensor<8x10xf32>
}

// -----

// Not fused: the loss is in another block (inside an scf.if).
// CHECK-LABEL: func.func @loss_in_other_block(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: scf.if
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1
// CHECK: kiln.sub
func.func @loss_in_other_block(%x: tensor<8x10xf32>, %t: tensor<8xi64>, %c: i1) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = scf.if %c -> tensor<f32> {
    %l0 = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
    scf.yield %l0 : tensor<f32>
  } else {
    %z = arith.constant dense<0.0> : tensor<f32>
    scf.yield %z : tensor<f32>
  }
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: one_hot - softmax is the negated gradient.
// CHECK-LABEL: func.func @reversed_sub(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: %[[S:.*]] = kiln.softmax %arg0 axis = 1
// CHECK: %[[H:.*]] = kiln.one_hot %arg1
// CHECK: kiln.sub %[[H]], %[[S]]
func.func @reversed_sub(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %g = kiln.sub %h, %s : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: a one_hot of one class, broadcast along the 10 classes.
// CHECK-LABEL: func.func @one_class(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.one_hot %arg1 : (tensor<8xi64>) -> tensor<8x1xf32>
// CHECK: kiln.sub
func.func @one_class(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x1xf32>
  %g = kiln.sub %s, %h : (tensor<8x10xf32>, tensor<8x1xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: the one_hot rows [1, 10] are broadcast along the batch.
// CHECK-LABEL: func.func @broadcast_rows(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.sub %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<1x10xf32>) -> tensor<?x10xf32>
func.func @broadcast_rows(%x: tensor<?x10xf32>, %t: tensor<1xi64>) -> (tensor<f32>, tensor<?x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<1xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<?x10xf32>
  %h = kiln.one_hot %t : (tensor<1xi64>) -> tensor<1x10xf32>
  %g = kiln.sub %s, %h : (tensor<?x10xf32>, tensor<1x10xf32>) -> tensor<?x10xf32>
  return %l, %g : tensor<f32>, tensor<?x10xf32>
}

// -----

// Not fused: the difference has a more static type than the logits.
// CHECK-LABEL: func.func @refined_result(
// CHECK-NOT: kiln.softmax_cross_entropy_grad
// CHECK: kiln.sub %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<8x10xf32>
func.func @refined_result(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %l = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %s = kiln.softmax %x axis = 1 : tensor<?x10xf32>
  %h = kiln.one_hot %t : (tensor<?xi64>) -> tensor<?x10xf32>
  %g = kiln.sub %s, %h : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<8x10xf32>
  return %l, %g : tensor<f32>, tensor<8x10xf32>
}
