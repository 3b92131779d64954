// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=fused-kernels=false | FileCheck %s --check-prefix=NOFUSED
// Layer norm's and RMS norm's gradients run on their native kernels (one
// pass per row, row sums in a fixed order); without fused kernels they
// decompose into kiln ops.

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

// -----

// RMS norm's gradient runs on the same kernel file, without the mean and the
// bias; without fused kernels it stays for kiln-convert-to-linalg to
// decompose.
// CHECK-LABEL: func.func @rms_norm_grad(
// CHECK:       kiln.kernel @kiln_rt_rms_norm_grad_f32 ins(%arg0, %arg1, %arg2 : tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) outs(%{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<64xf32>) scalars [9.9999999999999995E-7]
// NOFUSED-LABEL: func.func @rms_norm_grad(
// NOFUSED:     kiln.rms_norm_grad
func.func @rms_norm_grad(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %g: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<64xf32>) {
  %dx, %dw = kiln.rms_norm_grad %x, %w, %g eps = 1.0e-6 : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<64xf32>)
  return %dx, %dw : tensor<?x?x64xf32>, tensor<64xf32>
}

// -----

// Not f32: decomposed. x_hat = x * rsqrt(sum(x * x) / D + eps); no mean
// is subtracted; the weight's gradient sums dout * x_hat over the rows.
// CHECK-LABEL: func.func @rms_norm_grad_bf16(
// CHECK-NOT:   kiln.kernel
// CHECK:       %[[SQ:.*]] = kiln.mul %arg0, %arg0
// CHECK:       kiln.reduce_sum %[[SQ]] axes = [1] {keep_dims = true}
// CHECK:       %[[R:.*]] = kiln.rsqrt
// CHECK:       %[[XHAT:.*]] = kiln.mul %arg0, %[[R]]
// CHECK:       %[[G:.*]] = kiln.mul %arg2, %arg1
// CHECK:       %[[DX:.*]] = kiln.mul %[[R]], %{{.*}}
// CHECK:       %[[DW:.*]] = kiln.mul %arg2, %[[XHAT]]
// CHECK:       %[[DWS:.*]] = kiln.reduce_sum %[[DW]] axes = [0]
// CHECK:       return %[[DX]], %[[DWS]]
func.func @rms_norm_grad_bf16(%x: tensor<4x8xbf16>, %w: tensor<8xbf16>, %g: tensor<4x8xbf16>) -> (tensor<4x8xbf16>, tensor<8xbf16>) {
  %dx, %dw = kiln.rms_norm_grad %x, %w, %g eps = 1.0e-5 : (tensor<4x8xbf16>, tensor<8xbf16>, tensor<4x8xbf16>) -> (tensor<4x8xbf16>, tensor<8xbf16>)
  return %dx, %dw : tensor<4x8xbf16>, tensor<8xbf16>
}
