// RUN: %kiln-opt %s | %kiln-opt | FileCheck %s
// The ops beyond the foundation's round-trip through the printer and parser.

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<?x8xf32>, %y: tensor<8xf32>, %c: tensor<?x1xi1>) -> tensor<?x8xi64> {
  // CHECK: kiln.gelu %{{.*}} : tensor<?x8xf32>
  %0 = kiln.gelu %x : tensor<?x8xf32>
  // CHECK: kiln.gelu %{{.*}} {approximate = "tanh"} : tensor<?x8xf32>
  %1 = kiln.gelu %0 {approximate = "tanh"} : tensor<?x8xf32>
  // CHECK: kiln.rsqrt
  %2 = kiln.rsqrt %1 : tensor<?x8xf32>
  // CHECK: kiln.abs
  %3 = kiln.abs %2 : tensor<?x8xf32>
  // CHECK: kiln.pow %{{.*}}, %{{.*}} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %4 = kiln.pow %3, %y : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: kiln.clamp %{{.*}} min = -1.000000e+00 max = 6.000000e+00 : tensor<?x8xf32>
  %5 = kiln.clamp %4 min = -1.0 max = 6.0 : tensor<?x8xf32>
  // CHECK: kiln.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x1xi1>, tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %6 = kiln.where %c, %5, %y : (tensor<?x1xi1>, tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: kiln.cast %{{.*}} : (tensor<?x8xf32>) -> tensor<?x8xi64>
  %7 = kiln.cast %6 : (tensor<?x8xf32>) -> tensor<?x8xi64>
  return %7 : tensor<?x8xi64>
}

// CHECK-LABEL: func.func @norm_and_lookup
func.func @norm_and_lookup(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %e: tensor<10x8xf32>, %ids: tensor<?x3xi64>) -> tensor<?x3x8xf32> {
  // CHECK: kiln.layer_norm %{{.*}}, %{{.*}}, %{{.*}} eps = 1.000000e-05 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %0 = kiln.layer_norm %x, %w, %w eps = 1.0e-5 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  // CHECK: kiln.embedding %{{.*}}, %{{.*}} : (tensor<10x8xf32>, tensor<?x3xi64>) -> tensor<?x3x8xf32>
  %1 = kiln.embedding %e, %ids : (tensor<10x8xf32>, tensor<?x3xi64>) -> tensor<?x3x8xf32>
  return %1 : tensor<?x3x8xf32>
}

// CHECK-LABEL: func.func @layout
func.func @layout(%x: tensor<?x?x8xf32>, %y: tensor<?x2x8xf32>) -> tensor<?x5x8xf32> {
  // CHECK: %[[B:[0-9]+]] = kiln.dim %{{.*}}, 0 : tensor<?x?x8xf32>
  %b = kiln.dim %x, 0 : tensor<?x?x8xf32>
  %s = kiln.dim %x, 1 : tensor<?x?x8xf32>
  // CHECK: kiln.reshape %{{.*}}[%[[B]], %{{.*}}] : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %0 = kiln.reshape %x [%b, %s] : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  // CHECK: kiln.slice %{{.*}} axis = 1 start = 0 end = 3 : (tensor<?x?x8xf32>) -> tensor<?x3x8xf32>
  %1 = kiln.slice %x axis = 1 start = 0 end = 3 : (tensor<?x?x8xf32>) -> tensor<?x3x8xf32>
  // CHECK: kiln.select %{{.*}} axis = 1 index = 0 : (tensor<?x3x8xf32>) -> tensor<?x8xf32>
  %2 = kiln.select %1 axis = 1 index = 0 : (tensor<?x3x8xf32>) -> tensor<?x8xf32>
  // CHECK: kiln.concat %{{.*}}, %{{.*}} axis = 1 : (tensor<?x3x8xf32>, tensor<?x2x8xf32>) -> tensor<?x5x8xf32>
  %3 = kiln.concat %1, %y axis = 1 : (tensor<?x3x8xf32>, tensor<?x2x8xf32>) -> tensor<?x5x8xf32>
  return %3 : tensor<?x5x8xf32>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%x: tensor<?x?x8xf32>, %w: tensor<8x5xf32>, %q: tensor<?x2x?x8xf32>, %m: tensor<?x?xi1>, %img: tensor<?x3x8x8xf32>, %k: tensor<4x3x4x4xf32>, %kb: tensor<4xf32>) -> (tensor<?x?x5xf32>, tensor<?x2x?x8xf32>, tensor<?x4x2x2xf32>) {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<?x?x8xf32>, tensor<8x5xf32>) -> tensor<?x?x5xf32>
  %0 = kiln.matmul %x, %w : (tensor<?x?x8xf32>, tensor<8x5xf32>) -> tensor<?x?x5xf32>
  // CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} scale = 3.500000e-01 {causal = true}
  %1 = kiln.attention %q, %q, %q mask %m scale = 0.35 {causal = true} : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x?xi1>) -> tensor<?x2x?x8xf32>
  // CHECK: kiln.conv2d %{{.*}}, %{{.*}}, %{{.*}} strides = [4, 4]
  %2 = kiln.conv2d %img, %k, %kb strides = [4, 4] : (tensor<?x3x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x2x2xf32>
  return %0, %1, %2 : tensor<?x?x5xf32>, tensor<?x2x?x8xf32>, tensor<?x4x2x2xf32>
}

// CHECK-LABEL: func.func @losses_and_similarity
func.func @losses_and_similarity(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>, %z: tensor<?x1x6xf32>, %w: tensor<1x4x6xf32>) -> (tensor<f32>, tensor<?x10xf32>, tensor<?xf32>, tensor<?x4xf32>) {
  // CHECK: kiln.kl_div %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  %0 = kiln.kl_div %x, %y : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<f32>
  // CHECK: kiln.l2_normalize %{{.*}} axis = 1 eps = 9.9999999999999998E-13 : tensor<?x10xf32>
  %1 = kiln.l2_normalize %x axis = 1 eps = 1.0e-12 : tensor<?x10xf32>
  // CHECK: kiln.cosine_similarity %{{.*}}, %{{.*}} axis = 1 eps = 1.000000e-08 : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?xf32>
  %2 = kiln.cosine_similarity %x, %y axis = 1 eps = 1.0e-8 : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?xf32>
  // CHECK: kiln.cosine_similarity %{{.*}}, %{{.*}} axis = 2 eps = 1.000000e-08 : (tensor<?x1x6xf32>, tensor<1x4x6xf32>) -> tensor<?x4xf32>
  %3 = kiln.cosine_similarity %z, %w axis = 2 eps = 1.0e-8 : (tensor<?x1x6xf32>, tensor<1x4x6xf32>) -> tensor<?x4xf32>
  return %0, %1, %2, %3 : tensor<f32>, tensor<?x10xf32>, tensor<?xf32>, tensor<?x4xf32>
}

// CHECK-LABEL: func.func @indices_and_constructors
func.func @indices_and_constructors(%x: tensor<?x7xf32>, %ids: tensor<?x3xi64>) -> (tensor<?xi64>, tensor<7xi64>, tensor<?xi64>, tensor<?x3x5xf32>, tensor<?x7xf32>, tensor<?x3xi64>) {
  // CHECK: kiln.argmax %{{.*}} axis = 1 : (tensor<?x7xf32>) -> tensor<?xi64>
  %0 = kiln.argmax %x axis = 1 : (tensor<?x7xf32>) -> tensor<?xi64>
  // CHECK: kiln.arange : tensor<7xi64>
  %1 = kiln.arange : tensor<7xi64>
  // CHECK: %[[N:.*]] = kiln.dim
  // CHECK: kiln.arange[%[[N]]] : tensor<?xi64>
  %n = kiln.dim %x, 0 : tensor<?x7xf32>
  %2 = kiln.arange [%n] : tensor<?xi64>
  // CHECK: kiln.one_hot %{{.*}} : (tensor<?x3xi64>) -> tensor<?x3x5xf32>
  %3 = kiln.one_hot %ids : (tensor<?x3xi64>) -> tensor<?x3x5xf32>
  // CHECK: kiln.full_like %{{.*}} value = -2.500000e+00 : (tensor<?x7xf32>) -> tensor<?x7xf32>
  %4 = kiln.full_like %x value = -2.5 : (tensor<?x7xf32>) -> tensor<?x7xf32>
  // CHECK: kiln.full_like %{{.*}} value = 4.000000e+00 : (tensor<?x3xi64>) -> tensor<?x3xi64>
  %5 = kiln.full_like %ids value = 4.0 : (tensor<?x3xi64>) -> tensor<?x3xi64>
  return %0, %1, %2, %3, %4, %5 : tensor<?xi64>, tensor<7xi64>, tensor<?xi64>, tensor<?x3x5xf32>, tensor<?x7xf32>, tensor<?x3xi64>
}

// CHECK-LABEL: func.func @gather_scatter
func.func @gather_scatter(%h: tensor<?x4xf32>, %src: tensor<?xi64>, %dst: tensor<?xi64>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  // CHECK: kiln.index_select %{{.*}}, %{{.*}} axis = 0 : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
  %0 = kiln.index_select %h, %src axis = 0 : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
  // CHECK: kiln.scatter_add %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x4xf32>, tensor<?xi64>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %1 = kiln.scatter_add %h, %dst, %0 : (tensor<?x4xf32>, tensor<?xi64>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0, %1 : tensor<?x4xf32>, tensor<?x4xf32>
}

// The ops gradient rules build: erf, compare and count.
// CHECK-LABEL: func.func @gradient_helpers
func.func @gradient_helpers(%x: tensor<?x8xf32>, %y: tensor<8xf32>) -> (tensor<?x8xi1>, tensor<f32>) {
  // CHECK: kiln.erf %{{.*}} : tensor<?x8xf32>
  %0 = kiln.erf %x : tensor<?x8xf32>
  // CHECK: kiln.compare "ge", %{{.*}}, %{{.*}} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xi1>
  %1 = kiln.compare "ge", %0, %y : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xi1>
  // CHECK: kiln.count %{{.*}} axes = [0] : (tensor<?x8xf32>) -> tensor<f32>
  %2 = kiln.count %x axes = [0] : (tensor<?x8xf32>) -> tensor<f32>
  return %1, %2 : tensor<?x8xi1>, tensor<f32>
}
