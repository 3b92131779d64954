// kiln-lower-kernels widens integer scalars to i64 by their signedness: a
// bool (i1) flag becomes 1, not -1; a negative signed value keeps its sign;
// an unsigned one is zero-extended.
// RUN: %kiln-opt %s -kiln-lower-kernels | FileCheck %s

// CHECK-LABEL: func.func @flags
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[NEG:.*]] = arith.constant -3 : i64
// CHECK-DAG: %[[BIG:.*]] = arith.constant 255 : i64
// CHECK: call @k(%{{.*}}, %{{.*}}, %[[ONE]], %[[NEG]], %[[BIG]]) : (memref<*xf32>, memref<*xf32>, i64, i64, i64) -> ()
func.func @flags(%x: memref<4xf32>, %l: memref<f32>) {
  kiln.kernel @k ins(%x : memref<4xf32>) outs(%l : memref<f32>) scalars [true, -3 : i8, 255 : ui8]
  return
}
