// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels="backend=native fused-kernels=false" | FileCheck %s
// kiln.scatter_add of f32 rows becomes the linear-time runtime kernel under
// every option (linalg's form compares each row with each index), adding in
// place into init (its out); ranks above 2 and non-i64 indices stay for
// linalg.

// CHECK-LABEL: func.func @embedding_grad(
// CHECK:       kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%arg1, %arg2 : tensor<?xi64>, tensor<?x64xf32>) outs(%arg0 : tensor<?x64xf32>)
func.func @embedding_grad(%init: tensor<?x64xf32>, %ids: tensor<?xi64>, %src: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = kiln.scatter_add %init, %ids, %src : (tensor<?x64xf32>, tensor<?xi64>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @vector(
// CHECK:       kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%arg1, %arg2 : tensor<4xi64>, tensor<4xf32>) outs(%arg0 : tensor<10xf32>)
func.func @vector(%init: tensor<10xf32>, %ids: tensor<4xi64>, %src: tensor<4xf32>) -> tensor<10xf32> {
  %0 = kiln.scatter_add %init, %ids, %src : (tensor<10xf32>, tensor<4xi64>, tensor<4xf32>) -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

// An init more dynamic than the result is cast to the result's type.
// CHECK-LABEL: func.func @cast_init(
// CHECK:       %[[CAST:.*]] = tensor.cast %arg0 : tensor<?x3xf32> to tensor<10x3xf32>
// CHECK:       kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%arg1, %arg2 : tensor<4xi64>, tensor<4x3xf32>) outs(%[[CAST]] : tensor<10x3xf32>)
func.func @cast_init(%init: tensor<?x3xf32>, %ids: tensor<4xi64>, %src: tensor<4x3xf32>) -> tensor<10x3xf32> {
  %0 = kiln.scatter_add %init, %ids, %src : (tensor<?x3xf32>, tensor<4xi64>, tensor<4x3xf32>) -> tensor<10x3xf32>
  return %0 : tensor<10x3xf32>
}

// -----

// CHECK-LABEL: func.func @rank3(
// CHECK-NOT:   kiln.kernel
// CHECK:       kiln.scatter_add
func.func @rank3(%init: tensor<10x2x3xf32>, %ids: tensor<4xi64>, %src: tensor<4x2x3xf32>) -> tensor<10x2x3xf32> {
  %0 = kiln.scatter_add %init, %ids, %src : (tensor<10x2x3xf32>, tensor<4xi64>, tensor<4x2x3xf32>) -> tensor<10x2x3xf32>
  return %0 : tensor<10x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @i32_ids(
// CHECK-NOT:   kiln.kernel
// CHECK:       kiln.scatter_add
func.func @i32_ids(%init: tensor<10x3xf32>, %ids: tensor<4xi32>, %src: tensor<4x3xf32>) -> tensor<10x3xf32> {
  %0 = kiln.scatter_add %init, %ids, %src : (tensor<10x3xf32>, tensor<4xi32>, tensor<4x3xf32>) -> tensor<10x3xf32>
  return %0 : tensor<10x3xf32>
}
