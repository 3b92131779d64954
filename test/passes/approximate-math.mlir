// kiln-approximate-math: exp, expm1, log, log1p, log2, tanh and erf on vectors
// become MLIR's polynomial forms (fmas, selects and bit tricks that stay in
// vector registers: LLVM has no vector libm here, and would call expf once
// per lane). Math that LLVM has an instruction for (sqrt) is left alone.
// RUN: %kiln-opt %s -kiln-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @vector_math
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK-NOT: math.log
// CHECK: math.fma {{.*}} : vector<16xf32>
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK-NOT: math.log
// CHECK: %[[S:.*]] = math.sqrt %arg0 : vector<16xf32>
// CHECK: return {{.*}}, %[[S]] :
func.func @vector_math(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>,
                                               vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %t = math.tanh %x : vector<16xf32>
  %r = math.erf %x : vector<16xf32>
  %l = math.log %x : vector<16xf32>
  %s = math.sqrt %x : vector<16xf32>
  return %e, %t, %r, %l, %s : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>,
                              vector<16xf32>
}

// Scalars too (a loop's remainder), and log1p, log2 and expm1.
// CHECK-LABEL: func.func @scalar_math
// CHECK-NOT: math.log1p
// CHECK-NOT: math.log2
// CHECK-NOT: math.expm1
// CHECK-NOT: math.exp
// CHECK: return
func.func @scalar_math(%x: f32) -> (f32, f32, f32, f32) {
  %a = math.log1p %x : f32
  %b = math.log2 %x : f32
  %c = math.expm1 %x : f32
  %d = math.exp %x : f32
  return %a, %b, %c, %d : f32, f32, f32, f32
}
