// kiln-lower-kernels widens integer scalars to i64 by their signedness: a
// bool (i1) flag becomes 1, not -1; a negative signed value keeps its sign;
// an unsigned one is zero-extended.
// RUN: %kiln-opt %s -kiln-lower-kernels | FileCheck %s

// CHECK-LABEL: func.func @flags
// CHECK: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-NEXT: %[[NEG:.*]] = arith.constant -3 : i64
// CHECK-NEXT: call @kiln_rt_attention_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ONE]], %[[NEG]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f64, i64, i64) -> ()
// CHECK: %[[BIG:.*]] = arith.constant 255 : i64
// CHECK-NEXT: %[[ONE_AGAIN:.*]] = arith.constant 1 : i64
// CHECK-NEXT: call @kiln_rt_dnnl_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIG]], %[[ONE_AGAIN]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64) -> ()
func.func @flags(%q: memref<1x1x4x4xf32>, %x: memref<1x1x4x4xf32>, %w: memref<1x1x1x1xf32>, %b: memref<1xf32>) {
  kiln.kernel @kiln_rt_attention_f32 ins(%q, %q, %q : memref<1x1x4x4xf32>, memref<1x1x4x4xf32>, memref<1x1x4x4xf32>) outs(%q : memref<1x1x4x4xf32>) scalars [0.5, true, -3 : i8]
  kiln.kernel @kiln_rt_dnnl_conv2d_f32 ins(%x, %w, %b : memref<1x1x4x4xf32>, memref<1x1x1x1xf32>, memref<1xf32>) outs(%x : memref<1x1x4x4xf32>) scalars [255 : ui8, 1]
  return
}
