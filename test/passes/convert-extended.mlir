// RUN: %kiln-opt %s -split-input-file -kiln-convert-to-linalg | FileCheck %s
// The ops beyond the foundation lower to linalg/tensor with the bodies they need.

// CHECK-LABEL: func.func @gelu_exact
func.func @gelu_exact(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // CHECK: linalg.generic
  // CHECK: %[[S:.*]] = arith.mulf %{{.*}}, %cst
  // CHECK: math.erf %[[S]]
  %0 = kiln.gelu %x : tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_tanh
func.func @gelu_tanh(%x: tensor<8xf32>) -> tensor<8xf32> {
  // CHECK: math.tanh
  // CHECK-NOT: math.erf
  %0 = kiln.gelu %x {approximate = "tanh"} : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @unary_binary
func.func @unary_binary(%x: tensor<8xf32>, %y: tensor<f32>) -> tensor<8xf32> {
  // CHECK: math.rsqrt
  %0 = kiln.rsqrt %x : tensor<8xf32>
  // CHECK: math.absf
  %1 = kiln.abs %0 : tensor<8xf32>
  // CHECK: math.powf
  %2 = kiln.pow %1, %y : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  // CHECK: %[[LO:.*]] = arith.maximumf %{{.*}}, %cst
  // CHECK: arith.minimumf %[[LO]], %cst
  %3 = kiln.clamp %2 min = 0.0 max = 6.0 : tensor<8xf32>
  return %3 : tensor<8xf32>
}

// -----

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @where_broadcast
func.func @where_broadcast(%c: tensor<4x1xi1>, %a: tensor<4x8xf32>, %b: tensor<f32>) -> tensor<4x8xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[COL]], #[[ID]], #{{.*}}, #[[ID]]]
  // CHECK: arith.select
  %0 = kiln.where %c, %a, %b : (tensor<4x1xi1>, tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @casts
func.func @casts(%x: tensor<4xf32>, %m: tensor<4xi1>, %i: tensor<4xi32>) -> (tensor<4xi64>, tensor<4xf32>, tensor<4xi64>) {
  // CHECK: arith.fptosi %{{.*}} : f32 to i64
  %0 = kiln.cast %x : (tensor<4xf32>) -> tensor<4xi64>
  // CHECK: arith.uitofp %{{.*}} : i1 to f32
  %1 = kiln.cast %m : (tensor<4xi1>) -> tensor<4xf32>
  // CHECK: arith.extsi %{{.*}} : i32 to i64
  %2 = kiln.cast %i : (tensor<4xi32>) -> tensor<4xi64>
  return %0, %1, %2 : tensor<4xi64>, tensor<4xf32>, tensor<4xi64>
}

// -----

// Mean, centred square, mean, then one map with rsqrt, weight and bias.
// CHECK-LABEL: func.func @layer_norm
func.func @layer_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: arith.subf
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: %[[E:.*]] = arith.addf %{{.*}}, %cst
  // CHECK: math.rsqrt %[[E]]
  %0 = kiln.layer_norm %x, %w, %b eps = 1.0e-5 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// An out-of-range id reads row 0 and yields NaN.
// CHECK-LABEL: func.func @embedding
func.func @embedding(%w: tensor<10x8xf32>, %ids: tensor<?x3xi64>) -> tensor<?x3x8xf32> {
  // CHECK: %[[D:.*]] = tensor.dim %arg1, %c0
  // CHECK: tensor.empty(%[[D]]) : tensor<?x3x8xf32>
  // CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<?x3xi64>)
  // CHECK: %[[OK:.*]] = arith.andi
  // CHECK: %[[ROW:.*]] = arith.select %[[OK]], %{{.*}}, %c0
  // CHECK: %[[COL:.*]] = linalg.index 2
  // CHECK: %[[V:.*]] = tensor.extract %arg0[%[[ROW]], %[[COL]]]
  // CHECK: arith.select %[[OK]], %[[V]], %cst
  %0 = kiln.embedding %w, %ids : (tensor<10x8xf32>, tensor<?x3xi64>) -> tensor<?x3x8xf32>
  return %0 : tensor<?x3x8xf32>
}

// -----

// Broadcast batch dims: one generic contraction over (b, m, n, k).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @matmul_broadcast
func.func @matmul_broadcast(%x: tensor<?x?x8xf32>, %w: tensor<8x5xf32>) -> tensor<?x?x5xf32> {
  // CHECK: linalg.fill
  // CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
  // CHECK: arith.mulf
  // CHECK: arith.addf
  %0 = kiln.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x5xf32>) -> tensor<?x?x5xf32>
  return %0 : tensor<?x?x5xf32>
}

// -----

// CHECK-DAG: #[[RHS4:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d4, d3)>
// CHECK-LABEL: func.func @matmul_rank4
func.func @matmul_rank4(%a: tensor<2x4x5x8xf32>, %b: tensor<2x1x8x6xf32>) -> tensor<2x4x5x6xf32> {
  // CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[RHS4]], #{{.*}}]
  %0 = kiln.matmul %a, %b : (tensor<2x4x5x8xf32>, tensor<2x1x8x6xf32>) -> tensor<2x4x5x6xf32>
  return %0 : tensor<2x4x5x6xf32>
}

// -----

// q k^T, scale with the causal and padding masks, stable softmax, then p v.
// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x2x5x8xf32>, %k: tensor<?x2x6x8xf32>, %m: tensor<?x6xi1>) -> tensor<?x2x5x8xf32> {
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
  // CHECK-SAME: outs(%{{.*}} : tensor<?x2x5x6xf32>)
  // CHECK: linalg.index 3
  // CHECK: arith.cmpi ugt
  // CHECK: arith.select
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
  // CHECK: arith.maximumf
  // CHECK: math.exp
  // CHECK: arith.divf
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
  // CHECK-SAME: outs(%{{.*}} : tensor<?x2x5x8xf32>)
  %0 = kiln.attention %q, %k, %k mask %m scale = 0.35 {causal = true} : (tensor<?x2x5x8xf32>, tensor<?x2x6x8xf32>, tensor<?x2x6x8xf32>, tensor<?x6xi1>) -> tensor<?x2x5x8xf32>
  return %0 : tensor<?x2x5x8xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_patches
func.func @conv2d_patches(%x: tensor<?x3x8x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) -> tensor<?x4x2x2xf32> {
  // CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%arg2 : tensor<4xf32>)
  // CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<4> : tensor<2xi64>} ins(%arg0, %arg1 : {{.*}}) outs(%[[BIAS]] : tensor<?x4x2x2xf32>)
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<?x3x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x2x2xf32>
  return %0 : tensor<?x4x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @layout
func.func @layout(%x: tensor<?x?x8xf32>, %y: tensor<?x2x8xf32>) -> (tensor<?x?x2x4xf32>, tensor<?x5x8xf32>, tensor<?x8xf32>) {
  // CHECK: %[[B:.*]] = tensor.dim %arg0, %c0
  // CHECK: %[[S:.*]] = tensor.dim %arg0, %c1
  // CHECK: tensor.expand_shape %arg0 {{\[}}[0], [1], [2, 3]] output_shape [%[[B]], %[[S]], 2, 4]
  %b = kiln.dim %x, 0 : tensor<?x?x8xf32>
  %s = kiln.dim %x, 1 : tensor<?x?x8xf32>
  %0 = kiln.reshape %x [%b, %s] : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  // CHECK: %[[SL:.*]] = tensor.extract_slice %arg0[0, 0, 0] [%{{.*}}, 3, 8] [1, 1, 1]
  %1 = kiln.slice %x axis = 1 start = 0 end = 3 : (tensor<?x?x8xf32>) -> tensor<?x3x8xf32>
  // CHECK: tensor.empty(%{{.*}}) : tensor<?x5x8xf32>
  // CHECK: tensor.insert_slice %[[SL]] into %{{.*}}[0, 0, 0]
  // CHECK: tensor.insert_slice %arg1 into %{{.*}}[0, 3, 0]
  %2 = kiln.concat %1, %y axis = 1 : (tensor<?x3x8xf32>, tensor<?x2x8xf32>) -> tensor<?x5x8xf32>
  // CHECK: tensor.extract_slice %[[SL]][0, 2, 0] [%{{.*}}, 1, 8] [1, 1, 1] : tensor<?x3x8xf32> to tensor<?x8xf32>
  %3 = kiln.select %1 axis = 1 index = 2 : (tensor<?x3x8xf32>) -> tensor<?x8xf32>
  return %0, %2, %3 : tensor<?x?x2x4xf32>, tensor<?x5x8xf32>, tensor<?x8xf32>
}

// -----

// A reshape that does not group its dims goes through one flat dim.
// CHECK-LABEL: func.func @reshape_flat
func.func @reshape_flat(%x: tensor<6x4xf32>) -> tensor<4x6xf32> {
  // CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1]] : tensor<6x4xf32> into tensor<24xf32>
  // CHECK: tensor.expand_shape %{{.*}} {{\[}}[0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
  %0 = kiln.reshape %x : (tensor<6x4xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @kl_div
func.func @kl_div(%x: tensor<?x10xf32>, %t: tensor<?x10xf32>) -> tensor<f32> {
  // A term is 0 where the target is 0; the sum over every dim is divided by N.
  // CHECK: %[[LOG:.*]] = math.log %[[T:.*]] : f32
  // CHECK: %[[DIFF:.*]] = arith.subf %[[LOG]], %{{.*}}
  // CHECK: %[[TERM:.*]] = arith.mulf %[[T]], %[[DIFF]]
  // CHECK: %[[ZERO:.*]] = arith.cmpf oeq, %[[T]], %cst
  // CHECK: arith.select %[[ZERO]], %cst, %[[TERM]]
  // CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
  // CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
  // CHECK: %[[NI:.*]] = arith.index_castui %[[N]]
  // CHECK: %[[NF:.*]] = arith.uitofp %[[NI]]
  // CHECK: arith.divf %{{.*}}, %[[NF]]
  %0 = kiln.kl_div %x, %t : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @l2_normalize
func.func @l2_normalize(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  // CHECK: arith.mulf
  // CHECK: iterator_types = ["parallel", "reduction"]
  // CHECK: %[[NORM:.*]] = math.sqrt
  // CHECK: %[[CLAMPED:.*]] = arith.maximumf %[[NORM]], %cst
  // CHECK: arith.divf %{{.*}}, %[[CLAMPED]]
  %0 = kiln.l2_normalize %x axis = 1 eps = 1.0e-12 : tensor<?x10xf32>
  return %0 : tensor<?x10xf32>
}

// -----

// Each operand is normalized on its own (PyTorch 1.13), then the broadcast
// product is summed along the axis.
// CHECK-LABEL: func.func @cosine_similarity
func.func @cosine_similarity(%z: tensor<?x1x6xf32>, %w: tensor<1x4x6xf32>) -> tensor<?x4xf32> {
  // CHECK-COUNT-2: math.sqrt
  // CHECK: %[[P:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x4x6xf32>)
  // CHECK: arith.mulf
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] : tensor<?x4x6xf32>)
  %0 = kiln.cosine_similarity %z, %w axis = 2 eps = 1.0e-8 : (tensor<?x1x6xf32>, tensor<1x4x6xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
