// RUN: %kiln-opt %s -split-input-file -kiln-elementwise-in-place | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-elementwise-in-place -one-shot-bufferize="bufferize-function-boundaries=1" | FileCheck %s --check-prefix=BUFFER
// An elementwise op writes over an input of its shape that nothing else
// reads and that an op of the function made; arguments, constants, inputs
// read twice or broadcast keep a fresh destination.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// The scaled product takes the product's buffer; the bias is still an
// input, and the body reads the product from the output's argument.
// CHECK-LABEL: func.func @over_product(
// CHECK:       %[[M:.*]] = linalg.matmul
// CHECK:       linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%arg2 : tensor<32xf32>) outs(%[[M]] : tensor<?x32xf32>)
// CHECK-NEXT:  ^bb0(%[[B:.*]]: f32, %[[P:.*]]: f32):
// CHECK-NEXT:  arith.addf %[[P]], %[[B]] : f32
// One buffer for the product and the sum.
// BUFFER-LABEL: func.func @over_product(
// BUFFER-COUNT-1: memref.alloc(
// BUFFER-NOT:  memref.alloc
// BUFFER-NOT:  memref.copy
// BUFFER:      return
func.func @over_product(%x: tensor<?x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>) outs(%f : tensor<?x32xf32>) -> tensor<?x32xf32>
  %e2 = tensor.empty(%n) : tensor<?x32xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%m, %b : tensor<?x32xf32>, tensor<32xf32>) outs(%e2 : tensor<?x32xf32>) {
  ^bb0(%p: f32, %bias: f32, %out: f32):
    %s = arith.addf %p, %bias : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// An argument is the caller's: a fresh destination.
// CHECK-LABEL: func.func @argument(
// CHECK:       %[[E:.*]] = tensor.empty
// CHECK:       linalg.generic {{.*}} ins(%arg0 : tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
func.func @argument(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// The product is read again after the op: a fresh destination.
// CHECK-LABEL: func.func @read_again(
// CHECK:       %[[M:.*]] = linalg.matmul
// CHECK:       %[[E:.*]] = tensor.empty
// CHECK:       linalg.generic {{.*}} ins(%[[M]] : tensor<4x8xf32>) outs(%[[E]] : tensor<4x8xf32>)
func.func @read_again(%x: tensor<4x3xf32>, %w: tensor<3x8xf32>, %acc: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %m = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x8xf32>) outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %m, %r : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// Read transposed: writing over it would overwrite elements not yet read.
// CHECK-LABEL: func.func @transposed(
// CHECK:       %[[E:.*]] = tensor.empty
// CHECK:       linalg.generic {{.*}} outs(%[[E]] : tensor<8x8xf32>)
func.func @transposed(%x: tensor<8x8xf32>, %w: tensor<8x8xf32>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %m = linalg.matmul ins(%x, %w : tensor<8x8xf32>, tensor<8x8xf32>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  %e = tensor.empty() : tensor<8x8xf32>
  %r = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}
