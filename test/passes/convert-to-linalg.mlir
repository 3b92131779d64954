// RUN: %kiln-opt %s -split-input-file -kiln-convert-to-linalg | FileCheck %s
// Each kiln op lowers to linalg on tensors with the scalar body it needs.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_broadcast
func.func @add_broadcast(%x: tensor<?x10xf32>, %b: tensor<10xf32>) -> tensor<?x10xf32> {
  // CHECK: %[[D:.*]] = tensor.dim %arg0
  // CHECK: %[[E:.*]] = tensor.empty(%[[D]]) : tensor<?x10xf32>
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
  // CHECK-SAME: ins(%arg0, %arg1 : tensor<?x10xf32>, tensor<10xf32>) outs(%[[E]]
  // CHECK: arith.addf
  %0 = kiln.add %x, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// CHECK-LABEL: func.func @int_sub
func.func @int_sub(%a: tensor<4xi64>, %b: tensor<4xi64>) -> tensor<4xi64> {
  // CHECK: arith.subi
  %0 = kiln.sub %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @relu_sigmoid
func.func @relu_sigmoid(%x: tensor<8xf32>) -> tensor<8xf32> {
  // CHECK: linalg.generic
  // CHECK: arith.maximumf %{{.*}}, %cst
  %0 = kiln.relu %x : tensor<8xf32>
  // CHECK: linalg.generic
  // CHECK: %[[N:.*]] = arith.negf
  // CHECK: %[[E:.*]] = math.exp %[[N]]
  // CHECK: %[[D:.*]] = arith.addf %[[E]]
  // CHECK: arith.divf %{{.*}}, %[[D]]
  %1 = kiln.sigmoid %0 : tensor<8xf32>
  return %1 : tensor<8xf32>
}

// -----

// Softmax: row max, sum of exp(x - max), then exp(x - max) / sum.
// CHECK-LABEL: func.func @softmax
func.func @softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  // CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK: linalg.fill ins(%[[NEG_INF]]
  // CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: arith.maximumf
  // CHECK: %[[MAXK:.*]] = tensor.expand_shape %[[MAX]] {{\[\[}}0, 1]]
  // CHECK: linalg.generic
  // CHECK: arith.subf
  // CHECK: math.exp
  // CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: arith.addf
  // CHECK: linalg.generic
  // CHECK: math.exp
  // CHECK: arith.divf
  %0 = kiln.softmax %x axis = 1 : tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// CHECK-LABEL: func.func @log_softmax
func.func @log_softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  // CHECK: math.log
  // CHECK-NEXT: arith.subf
  %0 = kiln.log_softmax %x axis = 1 : tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// Cross-entropy picks the target logit with a bounds check (NaN when out of
// range), then averages over the batch.
// CHECK-LABEL: func.func @cross_entropy
func.func @cross_entropy(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  // CHECK: %[[NAN:.*]] = arith.constant 0x7FC00000 : f32
  // The row logsumexp, then the per-row loss.
  // CHECK: math.log
  // CHECK: linalg.generic
  // CHECK: arith.index_cast
  // CHECK: arith.cmpi sge
  // CHECK: arith.cmpi slt
  // CHECK: %[[OK:.*]] = arith.andi
  // CHECK: %[[IDX:.*]] = arith.select %[[OK]]
  // CHECK: tensor.extract %arg0[%{{.*}}, %[[IDX]]]
  // CHECK: arith.select %[[OK]], %{{.*}}, %[[NAN]]
  // CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
  // CHECK: arith.uitofp
  // CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<f32>)
  // CHECK: arith.divf
  %0 = kiln.cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<?x64xf32>, %b: tensor<64x10xf32>, %c: tensor<2x3x4xf32>, %d: tensor<2x4x5xf32>) -> (tensor<?x10xf32>, tensor<2x3x5xf32>) {
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<?x10xf32>)
  // CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<?x64xf32>, tensor<64x10xf32>) outs(%[[INIT]] : tensor<?x10xf32>)
  %0 = kiln.matmul %a, %b : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
  // CHECK: linalg.batch_matmul ins(%arg2, %arg3
  %1 = kiln.matmul %c, %d : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  return %0, %1 : tensor<?x10xf32>, tensor<2x3x5xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
func.func @transpose(%w: tensor<10x64xf32>) -> tensor<64x10xf32> {
  // CHECK: linalg.transpose ins(%arg0 : tensor<10x64xf32>) outs(%{{.*}} : tensor<64x10xf32>) permutation = [1, 0]
  %0 = kiln.transpose %w [1, 0] : (tensor<10x64xf32>) -> tensor<64x10xf32>
  return %0 : tensor<64x10xf32>
}

// -----

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<?x8xf32>) -> (tensor<?xf32>, tensor<8xf32>, tensor<1x1xf32>) {
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: arith.addf
  %0 = kiln.reduce_sum %x axes = [1] : (tensor<?x8xf32>) -> tensor<?xf32>
  // CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
  // CHECK: arith.maximumf
  %1 = kiln.reduce_max %x axes = [0] : (tensor<?x8xf32>) -> tensor<8xf32>
  // The mean sums into the kept (size-1) dims and divides by the dynamic
  // element count B * 8.
  // CHECK: tensor.expand_shape %{{.*}} [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
  // CHECK: %[[B:.*]] = tensor.dim %arg0, %c0
  // CHECK: %[[N:.*]] = arith.muli %[[B]], %c8
  // CHECK: %[[NI:.*]] = arith.index_castui %[[N]]
  // CHECK: %[[NF:.*]] = arith.uitofp %[[NI]]
  // CHECK: arith.divf %{{.*}}, %[[NF]]
  %2 = kiln.reduce_mean %x axes = [0, 1] {keep_dims = true} : (tensor<?x8xf32>) -> tensor<1x1xf32>
  return %0, %1, %2 : tensor<?xf32>, tensor<8xf32>, tensor<1x1xf32>
}
