// With online-softmax, kiln.softmax_cross_entropy lowers to one pass over the
// logits: a single linalg.generic reduces each row into an online max and
// sum-exp (two outputs), and no [N, C] intermediate is created. By default it
// takes two vectorized passes (row max, then sum of exp), as cross_entropy.
// RUN: %kiln-opt %s -split-input-file -kiln-convert-to-linalg=online-softmax=1 | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-convert-to-linalg | FileCheck %s --check-prefix=TWOPASS

// TWOPASS-LABEL: func.func @loss
// TWOPASS: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// TWOPASS: arith.maximumf
// TWOPASS: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// TWOPASS: math.exp
// TWOPASS: math.log
// TWOPASS: tensor.extract %arg0

// CHECK-LABEL: func.func @loss
// CHECK-NOT: -> tensor<?x1000xf32>
// CHECK: %[[ON:.*]]:2 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%arg0 : tensor<?x1000xf32>) outs(%{{.*}}, %{{.*}} : tensor<?xf32>, tensor<?xf32>)
// CHECK: arith.cmpf ogt
// CHECK: math.exp
// CHECK-NOT: math.exp
// CHECK: linalg.yield
// CHECK: math.log
// CHECK: tensor.extract %arg0
// CHECK-NOT: -> tensor<?x1000xf32>
// CHECK: return
func.func @loss(%x: tensor<?x1000xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<?x1000xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// With with_lse the row logsumexp is a second result.
// CHECK-LABEL: func.func @loss_and_lse
// CHECK: linalg.generic
// CHECK: return %{{.*}}, %{{.*}} : tensor<f32>, tensor<4xf32>
func.func @loss_and_lse(%x: tensor<4x10xf32>, %t: tensor<4xi32>) -> (tensor<f32>, tensor<4xf32>) {
  %0, %1 = kiln.softmax_cross_entropy %x, %t {with_lse} : (tensor<4x10xf32>, tensor<4xi32>) -> (tensor<f32>, tensor<4xf32>)
  return %0, %1 : tensor<f32>, tensor<4xf32>
}
