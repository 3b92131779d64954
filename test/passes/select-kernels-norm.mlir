// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=fused-kernels=false | FileCheck %s --check-prefix=NOFUSED
// Layer norm's gradient runs on its native kernel (one pass per row, row
// sums in a fixed order); without fused kernels it decomposes into kiln ops.

// CHECK-LABEL: func.func @layer_norm_grad(
// CHECK:       kiln.kernel @kiln_rt_layer_norm_grad_f32 ins(%arg0, %arg1, %arg2 : tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) scalars [9.9999999999999995E-7]
// NOFUSED-LABEL: func.func @layer_norm_grad(
// NOFUSED:     kiln.layer_norm_grad
func.func @layer_norm_grad(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %g: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %dx, %dw, %db = kiln.layer_norm_grad %x, %w, %g eps = 1.0e-6 : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return %dx, %dw, %db : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// Not f32: decomposed (rsqrt of the recomputed variance and all).
// CHECK-LABEL: func.func @layer_norm_grad_bf16(
// CHECK-NOT:   kiln.kernel
// CHECK:       kiln.rsqrt
func.func @layer_norm_grad_bf16(%x: tensor<4x8xbf16>, %w: tensor<8xbf16>, %g: tensor<4x8xbf16>) -> (tensor<4x8xbf16>, tensor<8xbf16>, tensor<8xbf16>) {
  %dx, %dw, %db = kiln.layer_norm_grad %x, %w, %g eps = 1.0e-5 : (tensor<4x8xbf16>, tensor<8xbf16>, tensor<4x8xbf16>) -> (tensor<4x8xbf16>, tensor<8xbf16>, tensor<8xbf16>)
  return %dx, %dw, %db : tensor<4x8xbf16>, tensor<8xbf16>, tensor<8xbf16>
}
