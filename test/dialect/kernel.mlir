// RUN: %kiln-opt %s | FileCheck %s
// RUN: %kiln-opt %s | %kiln-opt | FileCheck %s
// RUN: %kiln-opt %s -mlir-print-op-generic | %kiln-opt | FileCheck %s
// kiln.kernel (tensor form with results, memref form without; ins and
// scalars optional) and kiln.softmax_cross_entropy_grad parse, verify and
// print back the same, also from the generic form.

// CHECK-LABEL: func.func @kernel_tensors(
func.func @kernel_tensors(%x: tensor<?x10xf32>, %t: tensor<?xi64>, %l: tensor<f32>, %g: tensor<?x10xf32>) -> (tensor<f32>, tensor<?x10xf32>) {
  // CHECK: %[[K:[0-9]+]]:2 = kiln.kernel @kiln_rt_softmax_ce_lse_f32 ins(%arg0, %arg1 : tensor<?x10xf32>, tensor<?xi64>) outs(%arg2, %arg3 : tensor<f32>, tensor<?x10xf32>) -> tensor<f32>, tensor<?x10xf32>
  %0:2 = kiln.kernel @kiln_rt_softmax_ce_lse_f32 ins(%x, %t : tensor<?x10xf32>, tensor<?xi64>) outs(%l, %g : tensor<f32>, tensor<?x10xf32>) -> tensor<f32>, tensor<?x10xf32>
  // CHECK-NEXT: return %[[K]]#0, %[[K]]#1
  return %0#0, %0#1 : tensor<f32>, tensor<?x10xf32>
}

// CHECK-LABEL: func.func @kernel_tensor_scalars(
func.func @kernel_tensor_scalars(%q: tensor<2x4x8x16xf32>, %o: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // CHECK: %[[K:.*]] = kiln.kernel @kiln_rt_attention_f32 ins(%arg0, %arg0, %arg0 : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) outs(%arg1 : tensor<2x4x8x16xf32>) scalars [1.250000e-01, 1, 0] -> tensor<2x4x8x16xf32>
  %0 = kiln.kernel @kiln_rt_attention_f32 ins(%q, %q, %q : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) outs(%o : tensor<2x4x8x16xf32>) scalars [0.125, 1, 0] -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// CHECK-LABEL: func.func @kernel_memrefs(
func.func @kernel_memrefs(%a: memref<128x256xf32, strided<[512, 1]>>, %b: memref<64x256xf32>, %c: memref<128x64xf32>,
                          %d: memref<100x256xf32>, %i: memref<64xi64>) {
  // CHECK: kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%arg0, %arg1 : memref<128x256xf32, strided<[512, 1]>>, memref<64x256xf32>) outs(%arg2 : memref<128x64xf32>) scalars [34 : i32]{{$}}
  kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %b : memref<128x256xf32, strided<[512, 1]>>, memref<64x256xf32>) outs(%c : memref<128x64xf32>) scalars [34 : i32]
  // No scalars, an extra attribute.
  // CHECK-NEXT: kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%arg4, %arg1 : memref<64xi64>, memref<64x256xf32>) outs(%arg3 : memref<100x256xf32>) {note = "x"}{{$}}
  kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%i, %b : memref<64xi64>, memref<64x256xf32>) outs(%d : memref<100x256xf32>) {note = "x"}
  // An empty scalar list is the default and is not printed.
  // CHECK-NEXT: kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%arg4, %arg1 : memref<64xi64>, memref<64x256xf32>) outs(%arg3 : memref<100x256xf32>){{$}}
  kiln.kernel @kiln_rt_scatter_add_rows_f32 ins(%i, %b : memref<64xi64>, memref<64x256xf32>) outs(%d : memref<100x256xf32>) scalars []
  return
}

// CHECK-LABEL: func.func @softmax_ce_grad(
func.func @softmax_ce_grad(%x: tensor<?x10xf32>, %t: tensor<?xi32>) -> (tensor<f32>, tensor<?x10xf32>) {
  // CHECK: %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi32>) -> (tensor<f32>, tensor<?x10xf32>)
  %l, %g = kiln.softmax_cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi32>) -> (tensor<f32>, tensor<?x10xf32>)
  // CHECK-NEXT: return %[[L]], %[[G]]
  return %l, %g : tensor<f32>, tensor<?x10xf32>
}

// A static gradient of dynamic logits is compatible.
// CHECK-LABEL: func.func @softmax_ce_grad_refined(
func.func @softmax_ce_grad_refined(%x: tensor<?x10xf32>, %t: tensor<8xi64>) -> tensor<8x10xf32> {
  // CHECK: kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<?x10xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>)
  %l, %g = kiln.softmax_cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<8x10xf32>)
  return %g : tensor<8x10xf32>
}
