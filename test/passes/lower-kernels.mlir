// kiln-lower-kernels: a kiln.kernel on memrefs becomes a func.call of its
// callee: the ins then the outs, each memref.cast to an unranked memref of
// its element type, then the scalars as i64 / f64 constants. The callee is
// declared once per module, private, with the type of its calls; a
// declaration already there is reused.
// RUN: %kiln-opt %s -split-input-file -kiln-lower-kernels | FileCheck %s
// RUN: %kiln-opt %s -split-input-file -kiln-lower-kernels | FileCheck %s --check-prefix=GONE

// No kiln.kernel is left anywhere.
// GONE: module
// GONE-NOT: kiln.kernel

// One declaration per callee, at the top of the module, shared by every
// call, whatever the ranks, static sizes and layouts of the memrefs.
// CHECK-LABEL: module {
// CHECK-DAG: func.func private @kiln_rt_softmax_ce_f32(memref<*xf32>, memref<*xi64>, memref<*xf32>){{$}}
// CHECK-DAG: func.func private @kiln_rt_softmax_ce_grad_f32(memref<*xi64>, memref<*xf32>, memref<*xf32>){{$}}
// CHECK-DAG: func.func private @kiln_rt_attention_masked_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xi8>, memref<*xf32>, f64, i64, i64){{$}}
// CHECK-DAG: func.func private @kiln_rt_dnnl_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, i64){{$}}
// CHECK-NOT: func.func private
// CHECK-NOT: kiln.kernel

// CHECK-LABEL: func.func @softmax_ce_twice(
// CHECK-NEXT: %[[X:.*]] = memref.cast %arg0 : memref<?x10xf32> to memref<*xf32>
// CHECK-NEXT: %[[T:.*]] = memref.cast %arg1 : memref<?xi64> to memref<*xi64>
// CHECK-NEXT: %[[L:.*]] = memref.cast %arg2 : memref<f32> to memref<*xf32>
// CHECK-NEXT: call @kiln_rt_softmax_ce_f32(%[[X]], %[[T]], %[[L]]) : (memref<*xf32>, memref<*xi64>, memref<*xf32>) -> ()
// CHECK-NEXT: %[[X2:.*]] = memref.cast %arg3 : memref<4x10xf32> to memref<*xf32>
// CHECK-NEXT: %[[T2:.*]] = memref.cast %arg4 : memref<4xi64> to memref<*xi64>
// CHECK-NEXT: %[[L2:.*]] = memref.cast %arg5 : memref<f32> to memref<*xf32>
// CHECK-NEXT: call @kiln_rt_softmax_ce_f32(%[[X2]], %[[T2]], %[[L2]]) : (memref<*xf32>, memref<*xi64>, memref<*xf32>) -> ()
// CHECK-NEXT: return
func.func @softmax_ce_twice(%x: memref<?x10xf32>, %t: memref<?xi64>, %l: memref<f32>,
                            %x2: memref<4x10xf32>, %t2: memref<4xi64>, %l2: memref<f32>) {
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<?x10xf32>, memref<?xi64>) outs(%l : memref<f32>)
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x2, %t2 : memref<4x10xf32>, memref<4xi64>) outs(%l2 : memref<f32>)
  return
}

// Two outputs, in order, after the inputs.
// CHECK-LABEL: func.func @softmax_ce_grad(
// CHECK-NEXT: %[[T:.*]] = memref.cast %arg0 : memref<8xi64> to memref<*xi64>
// CHECK-NEXT: %[[L:.*]] = memref.cast %arg1 : memref<f32> to memref<*xf32>
// CHECK-NEXT: %[[G:.*]] = memref.cast %arg2 : memref<8x10xf32> to memref<*xf32>
// CHECK-NEXT: call @kiln_rt_softmax_ce_grad_f32(%[[T]], %[[L]], %[[G]])
func.func @softmax_ce_grad(%t: memref<8xi64>, %l: memref<f32>, %g: memref<8x10xf32>) {
  kiln.kernel @kiln_rt_softmax_ce_grad_f32 ins(%t : memref<8xi64>) outs(%l, %g : memref<f32>, memref<8x10xf32>)
  return
}

// Scalars follow the memrefs, in order: a float as an f64 constant, an
// integer as an i64 constant.
// CHECK-LABEL: func.func @attention_masked(
// CHECK-NEXT: %[[Q:.*]] = memref.cast %arg0 : memref<2x4x8x16xf32> to memref<*xf32>
// CHECK-NEXT: %[[K:.*]] = memref.cast %arg1 : memref<2x4x12x16xf32> to memref<*xf32>
// CHECK-NEXT: %[[V:.*]] = memref.cast %arg2 : memref<2x4x12x32xf32> to memref<*xf32>
// CHECK-NEXT: %[[M:.*]] = memref.cast %arg3 : memref<2x12xi8> to memref<*xi8>
// CHECK-NEXT: %[[O:.*]] = memref.cast %arg4 : memref<2x4x8x32xf32> to memref<*xf32>
// CHECK-NEXT: %[[SCALE:.*]] = arith.constant 0.17677669529663687 : f64
// CHECK-NEXT: %[[CAUSAL:.*]] = arith.constant 1 : i64
// CHECK-NEXT: %[[LAYOUT:.*]] = arith.constant 0 : i64
// CHECK-NEXT: call @kiln_rt_attention_masked_f32(%[[Q]], %[[K]], %[[V]], %[[M]], %[[O]], %[[SCALE]], %[[CAUSAL]], %[[LAYOUT]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xi8>, memref<*xf32>, f64, i64, i64) -> ()
func.func @attention_masked(%q: memref<2x4x8x16xf32>, %k: memref<2x4x12x16xf32>, %v: memref<2x4x12x32xf32>,
                            %m: memref<2x12xi8>, %o: memref<2x4x8x32xf32>) {
  kiln.kernel @kiln_rt_attention_masked_f32 ins(%q, %k, %v, %m : memref<2x4x8x16xf32>, memref<2x4x12x16xf32>, memref<2x4x12x32xf32>, memref<2x12xi8>) outs(%o : memref<2x4x8x32xf32>) scalars [0.17677669529663687, 1, 0]
  return
}

// A strided memref casts like any other; a narrower integer or float
// scalar is widened to i64 / f64 (here an i32 flag).
// CHECK-LABEL: func.func @matmul_strided(
// CHECK-NEXT: %[[A:.*]] = memref.cast %arg0 : memref<128x256xf32, strided<[512, 1]>> to memref<*xf32>
// CHECK-NEXT: %[[B:.*]] = memref.cast %arg1 : memref<64x256xf32> to memref<*xf32>
// CHECK-NEXT: %[[C:.*]] = memref.cast %arg2 : memref<128x64xf32> to memref<*xf32>
// CHECK-NEXT: %[[F:.*]] = arith.constant 2 : i64
// CHECK-NEXT: call @kiln_rt_dnnl_matmul_f32(%[[A]], %[[B]], %[[C]], %[[F]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, i64) -> ()
// CHECK-LABEL: func.func @matmul_in_loop(
// CHECK: scf.for
// CHECK: %[[F:.*]] = arith.constant 34 : i64
// CHECK-NEXT: call @kiln_rt_dnnl_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[F]])
func.func @matmul_strided(%a: memref<128x256xf32, strided<[512, 1]>>, %b: memref<64x256xf32>, %c: memref<128x64xf32>) {
  kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %b : memref<128x256xf32, strided<[512, 1]>>, memref<64x256xf32>) outs(%c : memref<128x64xf32>) scalars [2 : i32]
  return
}
func.func @matmul_in_loop(%a: memref<?x?xf32>, %c: memref<?x?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %a : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) scalars [34]
  }
  return
}

// -----

// A declaration already in the module is used as it is, not duplicated.
// CHECK-LABEL: module {
// CHECK-NEXT: func.func private @kiln_rt_dnnl_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, i64)
// CHECK-NOT: func.func private
// CHECK-LABEL: func.func @declared(
// CHECK: call @kiln_rt_dnnl_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, i64) -> ()
// CHECK-NOT: kiln.kernel
func.func private @kiln_rt_dnnl_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, i64)
func.func @declared(%a: memref<8x8xf32>, %c: memref<8x8xf32>) {
  kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %a : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) scalars [3]
  return
}

// -----

// A memref in another memory space keeps it in the unranked type.
// CHECK-LABEL: func.func private @kiln_rt_softmax_ce_f32(memref<*xf32, 1>, memref<*xi64, 1>, memref<*xf32, 1>)
// CHECK-LABEL: func.func @memory_space(
// CHECK-NEXT: memref.cast %arg0 : memref<4x10xf32, 1> to memref<*xf32, 1>
func.func @memory_space(%x: memref<4x10xf32, 1>, %t: memref<4xi64, 1>, %l: memref<f32, 1>) {
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<4x10xf32, 1>, memref<4xi64, 1>) outs(%l : memref<f32, 1>)
  return
}
