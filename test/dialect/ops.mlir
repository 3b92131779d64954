// RUN: %kiln-opt %s | FileCheck %s
// RUN: %kiln-opt %s | %kiln-opt | FileCheck %s
// Every kiln op parses, verifies and prints back the same.

// CHECK: kiln.parameter @fc1.weight : tensor<128x64xf32>
kiln.parameter @"fc1.weight" : tensor<128x64xf32>

// CHECK-LABEL: func.func @ops
func.func @ops(%x: tensor<?x64xf32>, %y: tensor<?xi64>, %v: tensor<64xf32>,
               %b: tensor<2x3x4xf32>, %c: tensor<2x4x5xf32>) {
  // CHECK: kiln.param @fc1.weight : tensor<128x64xf32>
  %w = kiln.param @"fc1.weight" : tensor<128x64xf32>
  // CHECK: kiln.transpose %{{.*}} [1, 0] : (tensor<128x64xf32>) -> tensor<64x128xf32>
  %wt = kiln.transpose %w [1, 0] : (tensor<128x64xf32>) -> tensor<64x128xf32>
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<64x128xf32>) -> tensor<?x128xf32>
  %m = kiln.matmul %x, %wt : (tensor<?x64xf32>, tensor<64x128xf32>) -> tensor<?x128xf32>
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %bm = kiln.matmul %b, %c : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  // CHECK: kiln.add %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %a = kiln.add %x, %v : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.sub
  %s = kiln.sub %a, %x : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.mul
  %mu = kiln.mul %s, %v : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.div
  %d = kiln.div %mu, %v : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.max
  %mx = kiln.max %d, %x : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.min
  %mn = kiln.min %mx, %x : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  // CHECK: kiln.neg %{{.*}} : tensor<?x64xf32>
  %n = kiln.neg %mn : tensor<?x64xf32>
  // CHECK: kiln.relu
  %r = kiln.relu %n : tensor<?x64xf32>
  // CHECK: kiln.sigmoid
  %sg = kiln.sigmoid %r : tensor<?x64xf32>
  // CHECK: kiln.tanh
  %t = kiln.tanh %sg : tensor<?x64xf32>
  // CHECK: kiln.exp
  %e = kiln.exp %t : tensor<?x64xf32>
  // CHECK: kiln.log
  %l = kiln.log %e : tensor<?x64xf32>
  // CHECK: kiln.sqrt
  %sq = kiln.sqrt %e : tensor<?x64xf32>
  // CHECK: kiln.softmax %{{.*}} axis = 1 : tensor<?x64xf32>
  %sm = kiln.softmax %sq axis = 1 : tensor<?x64xf32>
  // CHECK: kiln.log_softmax %{{.*}} axis = 1 : tensor<?x64xf32>
  %ls = kiln.log_softmax %sm axis = 1 : tensor<?x64xf32>
  // CHECK: kiln.reduce_sum %{{.*}} axes = [1] : (tensor<?x64xf32>) -> tensor<?xf32>
  %rs = kiln.reduce_sum %ls axes = [1] : (tensor<?x64xf32>) -> tensor<?xf32>
  // CHECK: kiln.reduce_mean %{{.*}} axes = [0, 1] {keep_dims = true} : (tensor<?x64xf32>) -> tensor<1x1xf32>
  %rm = kiln.reduce_mean %ls axes = [0, 1] {keep_dims = true} : (tensor<?x64xf32>) -> tensor<1x1xf32>
  // CHECK: kiln.reduce_max %{{.*}} axes = [0] : (tensor<?x64xf32>) -> tensor<64xf32>
  %rx = kiln.reduce_max %ls axes = [0] : (tensor<?x64xf32>) -> tensor<64xf32>
  // CHECK: kiln.cross_entropy %{{.*}}, %{{.*}} : (tensor<?x64xf32>, tensor<?xi64>) -> tensor<f32>
  %ce = kiln.cross_entropy %ls, %y : (tensor<?x64xf32>, tensor<?xi64>) -> tensor<f32>
  return
}
