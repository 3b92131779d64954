// kiln.kernel under one-shot bufferization (passes/KernelBufferization.cpp):
// the op is in destination style, so its ins are read, each out is read and
// written in place and aliases its result. A fresh out becomes an allocation
// the kernel writes; an out that is still read after the kernel is copied
// first; one that is not is written where it is.
// RUN: %kiln-opt %s -one-shot-bufferize="bufferize-function-boundaries=1 function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// CHECK-LABEL: func.func @fresh(
// CHECK-SAME: %[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<8x4xf32>) -> memref<4x4xf32>
// CHECK-NEXT: %[[C:.*]] = memref.alloc() {{.*}} : memref<4x4xf32>
// CHECK-NEXT: kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%[[A]], %[[B]] : memref<4x8xf32>, memref<8x4xf32>) outs(%[[C]] : memref<4x4xf32>) scalars [0]{{$}}
// CHECK-NEXT: return %[[C]]
func.func @fresh(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %init = tensor.empty() : tensor<4x4xf32>
  %r = kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%init : tensor<4x4xf32>) scalars [0] -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// CHECK-LABEL: func.func @out_still_read(
// CHECK-SAME: %[[OLD:[a-z0-9]+]]: memref<4x4xf32>) -> (memref<4x4xf32>, memref<4x4xf32>)
// CHECK-NEXT: %[[C:.*]] = memref.alloc() {{.*}} : memref<4x4xf32>
// CHECK-NEXT: memref.copy %[[OLD]], %[[C]]
// CHECK-NEXT: kiln.kernel @kiln_rt_dnnl_matmul_f32 {{.*}} outs(%[[C]] : memref<4x4xf32>)
// CHECK-NEXT: return %[[C]], %[[OLD]]
func.func @out_still_read(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %r = kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) scalars [0] -> tensor<4x4xf32>
  return %r, %c : tensor<4x4xf32>, tensor<4x4xf32>
}

// CHECK-LABEL: func.func @in_place(
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<4x4xf32>) -> memref<4x4xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: kiln.kernel @kiln_rt_dnnl_matmul_f32 {{.*}} outs(%[[OUT]] : memref<4x4xf32>)
// CHECK-NEXT: return %[[OUT]]
func.func @in_place(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) scalars [0] -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
