// kiln-lower-kernels rejects a kiln.kernel still on tensors, and a callee
// called with two signatures (by two kernels, or by a kernel against an
// existing declaration).
// RUN: %kiln-opt %s -split-input-file -kiln-lower-kernels -verify-diagnostics

func.func @tensors(%x: tensor<4x10xf32>, %t: tensor<4xi64>, %l: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.kernel' op is still on tensors: bufferize before kiln-lower-kernels}}
  %0 = kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : tensor<4x10xf32>, tensor<4xi64>) outs(%l : tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// The first call declares the callee; the second, with i32 targets, differs.
func.func @element_types(%x: memref<4x10xf32>, %t: memref<4xi64>, %t32: memref<4xi32>, %l: memref<f32>) {
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<4x10xf32>, memref<4xi64>) outs(%l : memref<f32>)
  // expected-error @+1 {{'kiln.kernel' op calls @kiln_rt_softmax_ce_f32 as '(memref<*xf32>, memref<*xi32>, memref<*xf32>) -> ()' but it is declared as '(memref<*xf32>, memref<*xi64>, memref<*xf32>) -> ()'}}
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t32 : memref<4x10xf32>, memref<4xi32>) outs(%l : memref<f32>)
  return
}

// -----

// Calls in two functions share one declaration, so they must agree too:
// here f16 logits.
func.func @first(%x: memref<4x10xf32>, %t: memref<4xi64>, %l: memref<f32>) {
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<4x10xf32>, memref<4xi64>) outs(%l : memref<f32>)
  return
}
func.func @second(%x: memref<4x10xf16>, %t: memref<4xi64>, %l: memref<f32>) {
  // expected-error @+1 {{'kiln.kernel' op calls @kiln_rt_softmax_ce_f32 as '(memref<*xf16>, memref<*xi64>, memref<*xf32>) -> ()' but it is declared as '(memref<*xf32>, memref<*xi64>, memref<*xf32>) -> ()'}}
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<4x10xf16>, memref<4xi64>) outs(%l : memref<f32>)
  return
}

// -----

// An existing declaration wins: here one taking an i32 flag.
func.func private @kiln_rt_dnnl_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, i32)
func.func @declared(%a: memref<8x8xf32>, %c: memref<8x8xf32>) {
  // expected-error @+1 {{'kiln.kernel' op calls @kiln_rt_dnnl_matmul_f32 as '(memref<*xf32>, memref<*xf32>, memref<*xf32>, i64) -> ()' but it is declared as '(memref<*xf32>, memref<*xf32>, memref<*xf32>, i32) -> ()'}}
  kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %a : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) scalars [2]
  return
}

// -----

// The callee's name is taken by something that is not a function.
memref.global "private" @kiln_rt_dnnl_softmax_f32 : memref<f32>
func.func @name_taken(%x: memref<4xf32>, %l: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op calls @kiln_rt_dnnl_softmax_f32, which names something other than a function}}
  kiln.kernel @kiln_rt_dnnl_softmax_f32 ins(%x : memref<4xf32>) outs(%l : memref<4xf32>) scalars [0]
  return
}
