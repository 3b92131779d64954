// kiln-fuse-softmax-cross-entropy: cross-entropy, as the builtin or spelled
// out with one_hot and log_softmax, becomes kiln.softmax_cross_entropy; near
// misses are left as they are.
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-softmax-cross-entropy | FileCheck %s

// CHECK-LABEL: func.func @builtin
// CHECK-NEXT: %[[L:.*]] = kiln.softmax_cross_entropy %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
// CHECK-NEXT: return %[[L]]
func.func @builtin(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @one_hot_chain
// CHECK-NEXT: %[[L:.*]] = kiln.softmax_cross_entropy %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi32>) -> tensor<f32>
// CHECK-NEXT: return %[[L]]
func.func @one_hot_chain(%x: tensor<?x10xf32>, %t: tensor<?xi32>) -> tensor<f32> {
  %ls = kiln.log_softmax %x axis = 1 : tensor<?x10xf32>
  %h = kiln.one_hot %t : (tensor<?xi32>) -> tensor<?x10xf32>
  %p = kiln.mul %h, %ls : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<?x10xf32>) -> tensor<?xf32>
  %m = kiln.reduce_mean %s axes = [0] : (tensor<?xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n : tensor<f32>
}

// -----

// Operands of the product in the other order fuse as well.
// CHECK-LABEL: func.func @one_hot_chain_swapped
// CHECK: kiln.softmax_cross_entropy
// CHECK-NOT: kiln.log_softmax
func.func @one_hot_chain_swapped(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> tensor<f32> {
  %ls = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %p = kiln.mul %ls, %h : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n : tensor<f32>
}

// -----

// Not fused: the log-softmax is over the batch axis, not the classes.
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: kiln.softmax_cross_entropy
// CHECK: kiln.log_softmax %arg0 axis = 0
func.func @wrong_axis(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> tensor<f32> {
  %ls = kiln.log_softmax %x axis = 0 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %p = kiln.mul %h, %ls : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n : tensor<f32>
}

// -----

// Not fused: the log-probabilities are also returned, so they are computed
// anyway and the chain stays.
// CHECK-LABEL: func.func @log_softmax_kept
// CHECK-NOT: kiln.softmax_cross_entropy
// CHECK: %[[LS:.*]] = kiln.log_softmax %arg0 axis = 1
// CHECK: kiln.neg
// CHECK: return %{{.*}}, %[[LS]]
func.func @log_softmax_kept(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>) {
  %ls = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %p = kiln.mul %h, %ls : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n, %ls : tensor<f32>, tensor<8x10xf32>
}

// -----

// Not fused: a sum, not a mean, over the rows.
// CHECK-LABEL: func.func @sum_not_mean
// CHECK-NOT: kiln.softmax_cross_entropy
// CHECK: kiln.log_softmax
func.func @sum_not_mean(%x: tensor<8x10xf32>, %t: tensor<8xi64>) -> tensor<f32> {
  %ls = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  %h = kiln.one_hot %t : (tensor<8xi64>) -> tensor<8x10xf32>
  %p = kiln.mul %h, %ls : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_sum %s axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n : tensor<f32>
}

// -----

// Not fused: the product is with something other than a one-hot of targets.
// CHECK-LABEL: func.func @soft_targets
// CHECK-NOT: kiln.softmax_cross_entropy
// CHECK: kiln.log_softmax
func.func @soft_targets(%x: tensor<8x10xf32>, %q: tensor<8x10xf32>) -> tensor<f32> {
  %ls = kiln.log_softmax %x axis = 1 : tensor<8x10xf32>
  %p = kiln.mul %q, %ls : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
  %s = kiln.reduce_sum %p axes = [1] : (tensor<8x10xf32>) -> tensor<8xf32>
  %m = kiln.reduce_mean %s axes = [0] : (tensor<8xf32>) -> tensor<f32>
  %n = kiln.neg %m : tensor<f32>
  return %n : tensor<f32>
}
