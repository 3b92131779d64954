// kiln-select-kernels: softmax-cross-entropy (and its gradient) and f32
// attention (and its gradient) become kiln.kernel calls of the native kernels; with
// backend=onednn every f32 matmul of rank 2-4 and every f32 fused_linear
// becomes a oneDNN call (a transposed operand folded into the flags), with
// backend=auto only those of at least 2^17 flops (CUTOFF), and with
// backend=native the same ones become calls of Kiln's matmul kernel (MM
// checks name the kernel's library as [[LIB]]). With precision=bf16 every
// matmul kernel is Kiln's bf16 one, whatever the backend; what stays in
// place, and conv2d, are as in f32.
// fused-kernels=false leaves attention and softmax-cross-entropy alone.
// Near misses (bf16, i32 targets, one query row, rank 5, a batch-permuting
// transpose, one flop under the threshold) are left as they are.
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels | FileCheck %s --check-prefixes=CHECK,FUSED,MM,DNNL,CUTOFF -DLIB=dnnl
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=backend=auto | FileCheck %s --check-prefixes=CHECK,FUSED,MM,DNNL,CUTOFF -DLIB=dnnl
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=backend=onednn | FileCheck %s --check-prefixes=CHECK,FUSED,MM,DNNL,ONEDNN -DLIB=dnnl
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=backend=native | FileCheck %s --check-prefixes=CHECK,FUSED,MM,NATIVE,CUTOFF -DLIB=native
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=fused-kernels=false | FileCheck %s --check-prefixes=CHECK,NOFUSED,MM,DNNL,CUTOFF -DLIB=dnnl
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels="backend=native fused-kernels=false" | FileCheck %s --check-prefixes=CHECK,NOFUSED,MM,NATIVE,CUTOFF -DLIB=native
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels=precision=bf16 | FileCheck %s --check-prefixes=CHECK,FUSED,MM,DNNL,CUTOFF -DLIB=native_bf16
// RUN: %kiln-opt %s -split-input-file -kiln-select-kernels="backend=native precision=bf16" | FileCheck %s --check-prefixes=CHECK,FUSED,MM,NATIVE,CUTOFF -DLIB=native_bf16
// RUN: not %kiln-opt %s -split-input-file -kiln-select-kernels=backend=mkl 2>&1 | FileCheck %s --check-prefix=BOGUS

// An unknown backend is refused by the option parser (the choices are in --help).
// BOGUS: for the --backend option: Cannot find option named 'mkl'!

//===----------------------------------------------------------------------===//
// Softmax + cross-entropy
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @softmax_ce(
// FUSED:      %[[INIT:.*]] = tensor.empty() : tensor<f32>
// FUSED-NEXT: %[[K:.*]] = kiln.kernel @kiln_rt_softmax_ce_f32 ins(%arg0, %arg1 : tensor<?x10xf32>, tensor<?xi64>) outs(%[[INIT]] : tensor<f32>) -> tensor<f32>
// FUSED-NEXT: return %[[K]] : tensor<f32>
// NOFUSED:      %[[L:.*]] = kiln.softmax_cross_entropy %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
// NOFUSED-NEXT: return %[[L]]
func.func @softmax_ce(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> tensor<f32> {
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// with_lse: a second output [N], its size read from the logits.
// CHECK-LABEL: func.func @softmax_ce_lse(
// FUSED-DAG: %[[C0:.*]] = arith.constant 0 : index
// FUSED-DAG: %[[LOSS:.*]] = tensor.empty() : tensor<f32>
// FUSED-DAG: %[[N:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x10xf32>
// FUSED:     %[[LSE:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// FUSED-NEXT: %[[K:[0-9]+]]:2 = kiln.kernel @kiln_rt_softmax_ce_lse_f32 ins(%arg0, %arg1 : tensor<?x10xf32>, tensor<?xi64>) outs(%[[LOSS]], %[[LSE]] : tensor<f32>, tensor<?xf32>) -> tensor<f32>, tensor<?xf32>
// FUSED-NEXT: return %[[K]]#0, %[[K]]#1 : tensor<f32>, tensor<?xf32>
// NOFUSED-NOT: kiln.kernel
// NOFUSED:      %[[L:.*]], %[[LSE:.*]] = kiln.softmax_cross_entropy %arg0, %arg1 {with_lse}
// NOFUSED-NEXT: return %[[L]], %[[LSE]]
func.func @softmax_ce_lse(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<f32>, tensor<?xf32>) {
  %0, %1 = kiln.softmax_cross_entropy %x, %t {with_lse} : (tensor<?x10xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<?xf32>)
  return %0, %1 : tensor<f32>, tensor<?xf32>
}

// -----

// The gradient: two outputs, the loss then the [N, C] gradient, written in
// place of the logits (the kernel's second out).
// CHECK-LABEL: func.func @softmax_ce_grad(
// FUSED:      %[[LOSS:.*]] = tensor.empty() : tensor<f32>
// FUSED-NEXT: %[[K:[0-9]+]]:2 = kiln.kernel @kiln_rt_softmax_ce_grad_f32 ins(%arg1 : tensor<?xi64>) outs(%[[LOSS]], %arg0 : tensor<f32>, tensor<?x10xf32>) -> tensor<f32>, tensor<?x10xf32>
// FUSED-NEXT: return %[[K]]#1, %[[K]]#0 : tensor<?x10xf32>, tensor<f32>
// NOFUSED-NOT: kiln.kernel
// NOFUSED:      %[[L:.*]], %[[G:.*]] = kiln.softmax_cross_entropy_grad %arg0, %arg1
// NOFUSED-NEXT: return %[[G]], %[[L]]
func.func @softmax_ce_grad(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<?x10xf32>, tensor<f32>) {
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> (tensor<f32>, tensor<?x10xf32>)
  return %1, %0 : tensor<?x10xf32>, tensor<f32>
}

// -----

// Not selected: the kernel takes f32 logits and i64 targets only.
// CHECK-LABEL: func.func @softmax_ce_i32_targets(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1 : (tensor<?x10xf32>, tensor<?xi32>) -> tensor<f32>
// CHECK-LABEL: func.func @softmax_ce_bf16(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.softmax_cross_entropy %arg0, %arg1 : (tensor<?x10xbf16>, tensor<?xi64>) -> tensor<bf16>
// CHECK-LABEL: func.func @softmax_ce_grad_i32_targets(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.softmax_cross_entropy_grad %arg0, %arg1 : (tensor<8x10xf32>, tensor<8xi32>)
func.func @softmax_ce_i32_targets(%x: tensor<?x10xf32>, %t: tensor<?xi32>) -> tensor<f32> {
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<?x10xf32>, tensor<?xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}
func.func @softmax_ce_bf16(%x: tensor<?x10xbf16>, %t: tensor<?xi64>) -> tensor<bf16> {
  %0 = kiln.softmax_cross_entropy %x, %t : (tensor<?x10xbf16>, tensor<?xi64>) -> tensor<bf16>
  return %0 : tensor<bf16>
}
func.func @softmax_ce_grad_i32_targets(%x: tensor<8x10xf32>, %t: tensor<8xi32>) -> tensor<8x10xf32> {
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<8x10xf32>, tensor<8xi32>) -> (tensor<f32>, tensor<8x10xf32>)
  return %1 : tensor<8x10xf32>
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

// -----

// Symbolic batch and lengths: the result [B, H, S, E] takes B and S from
// the query (E is static here). Scalars: the scale as f64, causal = 0.
// CHECK-LABEL: func.func @attention(
// FUSED-DAG: %[[C0:.*]] = arith.constant 0 : index
// FUSED-DAG: %[[C2:.*]] = arith.constant 2 : index
// FUSED-DAG: %[[B:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x4x?x16xf32>
// FUSED-DAG: %[[S:.*]] = tensor.dim %arg0, %[[C2]] : tensor<?x4x?x16xf32>
// FUSED:     %[[INIT:.*]] = tensor.empty(%[[B]], %[[S]]) : tensor<?x4x?x32xf32>
// FUSED-NEXT: %[[K:.*]] = kiln.kernel @kiln_rt_attention_f32 ins(%arg0, %arg1, %arg2 : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x32xf32>) outs(%[[INIT]] : tensor<?x4x?x32xf32>) scalars [0.17677669529663687, 0, 0] -> tensor<?x4x?x32xf32>
// FUSED-NEXT: return %[[K]]
// NOFUSED-NOT: kiln.kernel
// NOFUSED: kiln.attention %arg0, %arg1, %arg2 scale = 0.17677669529663687 :
func.func @attention(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32> {
  %0 = kiln.attention %q, %k, %v scale = 0.17677669529663687 : (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x32xf32>) -> tensor<?x4x?x32xf32>
  return %0 : tensor<?x4x?x32xf32>
}

// -----

// Self-attention with the causal flag: causal = 1.
// CHECK-LABEL: func.func @attention_causal(
// FUSED:      %[[INIT:.*]] = tensor.empty() : tensor<2x4x16x16xf32>
// FUSED-NEXT: %[[K:.*]] = kiln.kernel @kiln_rt_attention_f32 ins(%arg0, %arg0, %arg0 : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>) outs(%[[INIT]] : tensor<2x4x16x16xf32>) scalars [2.500000e-01, 1, 0] -> tensor<2x4x16x16xf32>
// FUSED-NEXT: return %[[K]]
// NOFUSED-NOT: kiln.kernel
// NOFUSED: kiln.attention %arg0, %arg0, %arg0 scale = 2.500000e-01 {causal = true}
func.func @attention_causal(%x: tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32> {
  %0 = kiln.attention %x, %x, %x scale = 0.25 {causal = true} : (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  return %0 : tensor<2x4x16x16xf32>
}

// -----

// A key-padding mask: cast from i1 to one byte per flag, passed after the
// value; with causal the scalars are [scale, 1].
// CHECK-LABEL: func.func @attention_masked(
// FUSED-DAG: %[[INIT:.*]] = tensor.empty() : tensor<2x4x16x32xf32>
// FUSED-DAG: %[[MASK:.*]] = kiln.cast %arg3 : (tensor<2x12xi1>) -> tensor<2x12xi8>
// FUSED:     %[[K:.*]] = kiln.kernel @kiln_rt_attention_masked_f32 ins(%arg0, %arg1, %arg2, %[[MASK]] : tensor<2x4x16x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x32xf32>, tensor<2x12xi8>) outs(%[[INIT]] : tensor<2x4x16x32xf32>) scalars [1.250000e-01, 1, 0] -> tensor<2x4x16x32xf32>
// FUSED-NEXT: return %[[K]]
// NOFUSED-NOT: kiln.kernel
// NOFUSED-NOT: kiln.cast
// NOFUSED: kiln.attention %arg0, %arg1, %arg2 mask %arg3 scale = 1.250000e-01 {causal = true}
func.func @attention_masked(%q: tensor<2x4x16x16xf32>, %k: tensor<2x4x12x16xf32>, %v: tensor<2x4x12x32xf32>, %m: tensor<2x12xi1>) -> tensor<2x4x16x32xf32> {
  %0 = kiln.attention %q, %k, %v mask %m scale = 0.125 {causal = true} : (tensor<2x4x16x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x32xf32>, tensor<2x12xi1>) -> tensor<2x4x16x32xf32>
  return %0 : tensor<2x4x16x32xf32>
}

// -----

// Not selected: the kernel is f32 only.
// CHECK-LABEL: func.func @attention_bf16(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.attention %arg0, %arg0, %arg0 scale = 2.500000e-01 : (tensor<2x4x8x16xbf16>, tensor<2x4x8x16xbf16>, tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xbf16>
func.func @attention_bf16(%x: tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xbf16> {
  %0 = kiln.attention %x, %x, %x scale = 0.25 : (tensor<2x4x8x16xbf16>, tensor<2x4x8x16xbf16>, tensor<2x4x8x16xbf16>) -> tensor<2x4x8x16xbf16>
  return %0 : tensor<2x4x8x16xbf16>
}

// -----

// Not selected: one query row per head (static key length), where the cost
// rule prefers the unfused chain.
// CHECK-LABEL: func.func @attention_one_query(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.attention %arg0, %arg1, %arg1 scale = 2.500000e-01 : (tensor<2x4x1x16xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x1x16xf32>
func.func @attention_one_query(%q: tensor<2x4x1x16xf32>, %k: tensor<2x4x64x16xf32>) -> tensor<2x4x1x16xf32> {
  %0 = kiln.attention %q, %k, %k scale = 0.25 : (tensor<2x4x1x16xf32>, tensor<2x4x64x16xf32>, tensor<2x4x64x16xf32>) -> tensor<2x4x1x16xf32>
  return %0 : tensor<2x4x1x16xf32>
}

// -----

// Attention's gradient on the flash-style backward kernel: inputs query,
// key, value, [bias], out, dout; outputs shaped like query, key and value.
// CHECK-LABEL: func.func @attention_grad_bias(
// FUSED-DAG: %[[DQ:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x4x?x16xf32>
// FUSED-DAG: %[[DK:.*]] = tensor.empty(%{{.*}}) : tensor<?x4x12x16xf32>
// FUSED-DAG: %[[DV:.*]] = tensor.empty(%{{.*}}) : tensor<?x4x12x8xf32>
// FUSED:     kiln.kernel @kiln_rt_attention_grad_bias_f32 ins(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5 : tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>, tensor<12xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) outs(%[[DQ]], %[[DK]], %[[DV]] : tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>) scalars [2.500000e-01, 1, 0]
// NOFUSED: kiln.attention_grad
func.func @attention_grad_bias(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x12x16xf32>, %v: tensor<?x4x12x8xf32>, %b: tensor<12xf32>, %o: tensor<?x4x?x8xf32>, %d: tensor<?x4x?x8xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>) {
  %0:3 = kiln.attention_grad %q, %k, %v, %o, %d bias %b scale = 0.25 {causal = true} : (tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<12xf32>) -> (tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>)
  return %0#0, %0#1, %0#2 : tensor<?x4x?x16xf32>, tensor<?x4x12x16xf32>, tensor<?x4x12x8xf32>
}

// -----

// With both a mask and a bias no kernel takes it: it is decomposed into kiln
// ops through the [B, H, S, T] probabilities, whose matmuls then go to
// oneDNN like any other (transposes folded into the flags).
// CHECK-LABEL: func.func @attention_grad_mask_bias(
// FUSED-NOT: kiln.attention_grad
// FUSED-DAG: kiln.where
// ONEDNN-DAG: kiln.kernel @kiln_rt_dnnl_matmul_f32
// NOFUSED:   kiln.attention_grad
func.func @attention_grad_mask_bias(%q: tensor<2x4x16x16xf32>, %m: tensor<2x16xi1>, %b: tensor<16x16xf32>) -> (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>) {
  %0:3 = kiln.attention_grad %q, %q, %q, %q, %q mask %m bias %b scale = 0.25 : (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x16xi1>, tensor<16x16xf32>) -> (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>)
  return %0#0, %0#1, %0#2 : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

// -----

// x @ transpose(w): w is passed as it is, flags bit 1 (b transposed) = 2.
// transpose(a) @ b: flags bit 0 = 1; both: 3.
// CHECK-LABEL: func.func @matmul_transposed_rhs(
// MM-NOT: kiln.transpose
// MM:      %[[INIT:.*]] = tensor.empty() : tensor<128x64xf32>
// MM-NEXT: %[[K:.*]] = kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<128x256xf32>, tensor<64x256xf32>) outs(%[[INIT]] : tensor<128x64xf32>) scalars [2] -> tensor<128x64xf32>
// MM-NEXT: return %[[K]]
// CHECK-LABEL: func.func @matmul_transposed_lhs(
// MM-NOT: kiln.transpose
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<256x128xf32>, tensor<256x64xf32>) outs(%{{.*}} : tensor<128x64xf32>) scalars [1] -> tensor<128x64xf32>
// CHECK-LABEL: func.func @matmul_transposed_both(
// MM-NOT: kiln.transpose
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<256x128xf32>, tensor<64x256xf32>) outs(%{{.*}} : tensor<128x64xf32>) scalars [3] -> tensor<128x64xf32>
func.func @matmul_transposed_rhs(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>) -> tensor<128x64xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<64x256xf32>) -> tensor<256x64xf32>
  %0 = kiln.matmul %x, %wt : (tensor<128x256xf32>, tensor<256x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @matmul_transposed_lhs(%a: tensor<256x128xf32>, %b: tensor<256x64xf32>) -> tensor<128x64xf32> {
  %at = kiln.transpose %a [1, 0] : (tensor<256x128xf32>) -> tensor<128x256xf32>
  %0 = kiln.matmul %at, %b : (tensor<128x256xf32>, tensor<256x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @matmul_transposed_both(%a: tensor<256x128xf32>, %w: tensor<64x256xf32>) -> tensor<128x64xf32> {
  %at = kiln.transpose %a [1, 0] : (tensor<256x128xf32>) -> tensor<128x256xf32>
  %wt = kiln.transpose %w [1, 0] : (tensor<64x256xf32>) -> tensor<256x64xf32>
  %0 = kiln.matmul %at, %wt : (tensor<128x256xf32>, tensor<256x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}

// -----

// Rank 4: only a transpose of the last two dims is folded (q @ k^T); one
// that permutes batch dims stays an operand, flags 0.
// CHECK-LABEL: func.func @matmul_transposed_keys(
// MM-NOT: kiln.transpose
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32>) outs(%{{.*}} : tensor<2x4x128x128xf32>) scalars [2]
// CHECK-LABEL: func.func @matmul_batch_permutation(
// MM: %[[T:.*]] = kiln.transpose %arg1 [1, 0, 2, 3]
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %[[T]] : tensor<2x4x128x64xf32>, tensor<2x4x64x128xf32>) outs(%{{.*}} : tensor<2x4x128x128xf32>) scalars [0]
func.func @matmul_transposed_keys(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x128x64xf32>) -> tensor<2x4x128x128xf32> {
  %kt = kiln.transpose %k [0, 1, 3, 2] : (tensor<2x4x128x64xf32>) -> tensor<2x4x64x128xf32>
  %0 = kiln.matmul %q, %kt : (tensor<2x4x128x64xf32>, tensor<2x4x64x128xf32>) -> tensor<2x4x128x128xf32>
  return %0 : tensor<2x4x128x128xf32>
}
func.func @matmul_batch_permutation(%q: tensor<2x4x128x64xf32>, %k: tensor<4x2x64x128xf32>) -> tensor<2x4x128x128xf32> {
  %kt = kiln.transpose %k [1, 0, 2, 3] : (tensor<4x2x64x128xf32>) -> tensor<2x4x64x128xf32>
  %0 = kiln.matmul %q, %kt : (tensor<2x4x128x64xf32>, tensor<2x4x64x128xf32>) -> tensor<2x4x128x128xf32>
  return %0 : tensor<2x4x128x128xf32>
}

// -----

// The auto threshold: 2 * 32 * 32 * 64 = 2^17 flops goes to oneDNN, with
// depth 63 (one row of flops under) it stays native; onednn takes both.
// CHECK-LABEL: func.func @matmul_at_threshold(
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<32x64xf32>, tensor<64x32xf32>) outs(%{{.*}} : tensor<32x32xf32>) scalars [0] -> tensor<32x32xf32>
// CHECK-LABEL: func.func @matmul_under_threshold(
// CUTOFF-NOT: kiln.kernel
// CUTOFF: kiln.matmul %arg0, %arg1 : (tensor<32x63xf32>, tensor<63x32xf32>) -> tensor<32x32xf32>
// ONEDNN: kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%arg0, %arg1 : tensor<32x63xf32>, tensor<63x32xf32>) outs(%{{.*}} : tensor<32x32xf32>) scalars [0] -> tensor<32x32xf32>
func.func @matmul_at_threshold(%a: tensor<32x64xf32>, %b: tensor<64x32xf32>) -> tensor<32x32xf32> {
  %0 = kiln.matmul %a, %b : (tensor<32x64xf32>, tensor<64x32xf32>) -> tensor<32x32xf32>
  return %0 : tensor<32x32xf32>
}
func.func @matmul_under_threshold(%a: tensor<32x63xf32>, %b: tensor<63x32xf32>) -> tensor<32x32xf32> {
  %0 = kiln.matmul %a, %b : (tensor<32x63xf32>, tensor<63x32xf32>) -> tensor<32x32xf32>
  return %0 : tensor<32x32xf32>
}

// -----

// Symbolic dims count as 1 under auto, so [?, ?, 256] x [256, 64] is small;
// onednn sizes the result from the lhs (batch, M) and the rhs (N).
// CHECK-LABEL: func.func @matmul_symbolic(
// CUTOFF-NOT: kiln.kernel
// CUTOFF: kiln.matmul %arg0, %arg1 : (tensor<?x?x256xf32>, tensor<256x64xf32>) -> tensor<?x?x64xf32>
// ONEDNN-DAG: %[[C0:.*]] = arith.constant 0 : index
// ONEDNN-DAG: %[[C1:.*]] = arith.constant 1 : index
// ONEDNN-DAG: %[[B:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x?x256xf32>
// ONEDNN-DAG: %[[M:.*]] = tensor.dim %arg0, %[[C1]] : tensor<?x?x256xf32>
// ONEDNN:     %[[INIT:.*]] = tensor.empty(%[[B]], %[[M]]) : tensor<?x?x64xf32>
// ONEDNN-NEXT: kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%arg0, %arg1 : tensor<?x?x256xf32>, tensor<256x64xf32>) outs(%[[INIT]] : tensor<?x?x64xf32>) scalars [0] -> tensor<?x?x64xf32>
func.func @matmul_symbolic(%x: tensor<?x?x256xf32>, %w: tensor<256x64xf32>) -> tensor<?x?x64xf32> {
  %0 = kiln.matmul %x, %w : (tensor<?x?x256xf32>, tensor<256x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// Broadcast batch dims: each result dim is read from an operand that has it
// and is not a broadcast 1 there: B from the lhs, H from the rhs (the lhs
// has 1), M from the lhs, N from the rhs.
// CHECK-LABEL: func.func @matmul_broadcast(
// ONEDNN-DAG: %[[C0:.*]] = arith.constant 0 : index
// ONEDNN-DAG: %[[C2:.*]] = arith.constant 2 : index
// ONEDNN-DAG: %[[B:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x1x?x64xf32>
// ONEDNN-DAG: %[[H:.*]] = tensor.dim %arg1, %[[C0]] : tensor<?x64x?xf32>
// ONEDNN-DAG: %[[M:.*]] = tensor.dim %arg0, %[[C2]] : tensor<?x1x?x64xf32>
// ONEDNN-DAG: %[[N:.*]] = tensor.dim %arg1, %[[C2]] : tensor<?x64x?xf32>
// ONEDNN:     %[[INIT:.*]] = tensor.empty(%[[B]], %[[H]], %[[M]], %[[N]]) : tensor<?x?x?x?xf32>
// ONEDNN-NEXT: kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%arg0, %arg1 : tensor<?x1x?x64xf32>, tensor<?x64x?xf32>) outs(%[[INIT]] : tensor<?x?x?x?xf32>) scalars [0]
// CUTOFF-NOT: kiln.kernel
func.func @matmul_broadcast(%x: tensor<?x1x?x64xf32>, %w: tensor<?x64x?xf32>) -> tensor<?x?x?x?xf32> {
  %0 = kiln.matmul %x, %w : (tensor<?x1x?x64xf32>, tensor<?x64x?xf32>) -> tensor<?x?x?x?xf32>
  return %0 : tensor<?x?x?x?xf32>
}

// -----

// Not selected by any backend: rank 5 is beyond the kernel, and bf16.
// CHECK-LABEL: func.func @matmul_rank5(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.matmul %arg0, %arg1 : (tensor<2x2x2x128x128xf32>, tensor<128x128xf32>) -> tensor<2x2x2x128x128xf32>
// CHECK-LABEL: func.func @matmul_bf16(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.matmul %arg0, %arg1 : (tensor<256x128xbf16>, tensor<128x256xbf16>) -> tensor<256x256xbf16>
func.func @matmul_rank5(%x: tensor<2x2x2x128x128xf32>, %w: tensor<128x128xf32>) -> tensor<2x2x2x128x128xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x2x2x128x128xf32>, tensor<128x128xf32>) -> tensor<2x2x2x128x128xf32>
  return %0 : tensor<2x2x2x128x128xf32>
}
func.func @matmul_bf16(%a: tensor<256x128xbf16>, %b: tensor<128x256xbf16>) -> tensor<256x256xbf16> {
  %0 = kiln.matmul %a, %b : (tensor<256x128xbf16>, tensor<128x256xbf16>) -> tensor<256x256xbf16>
  return %0 : tensor<256x256xbf16>
}

//===----------------------------------------------------------------------===//
// Fused linear layers
//===----------------------------------------------------------------------===//

// -----

// The callee names the post-ops present; flags = 2 (weight transposed) |
// activation << 4: gelu_erf 2 -> 34, gelu_tanh 3 -> 50, sigmoid 4 -> 66,
// relu 1 -> 18. Inputs: x, w, then bias, then residual.
// CHECK-LABEL: func.func @linear_bias_residual_gelu(
// MM:      %[[INIT:.*]] = tensor.empty() : tensor<128x64xf32>
// MM-NEXT: %[[K:.*]] = kiln.kernel @kiln_rt_[[LIB]]_matmul_bias_residual_f32 ins(%arg0, %arg1, %arg2, %arg3 : tensor<128x256xf32>, tensor<64x256xf32>, tensor<64xf32>, tensor<128x64xf32>) outs(%[[INIT]] : tensor<128x64xf32>) scalars [34] -> tensor<128x64xf32>
// MM-NEXT: return %[[K]]
// CHECK-LABEL: func.func @linear_bias_gelu_tanh(
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_bias_f32 ins(%arg0, %arg1, %arg2 : tensor<128x256xf32>, tensor<64x256xf32>, tensor<64xf32>) outs(%{{.*}} : tensor<128x64xf32>) scalars [50]
// CHECK-LABEL: func.func @linear_residual_sigmoid(
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_residual_f32 ins(%arg0, %arg1, %arg2 : tensor<128x256xf32>, tensor<64x256xf32>, tensor<128x64xf32>) outs(%{{.*}} : tensor<128x64xf32>) scalars [66]
// CHECK-LABEL: func.func @linear_relu(
// MM: kiln.kernel @kiln_rt_[[LIB]]_matmul_f32 ins(%arg0, %arg1 : tensor<128x256xf32>, tensor<64x256xf32>) outs(%{{.*}} : tensor<128x64xf32>) scalars [18]
func.func @linear_bias_residual_gelu(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>, %b: tensor<64xf32>, %r: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %0 = kiln.fused_linear %x, %w bias %b residual %r {activation = "gelu_erf"} : (tensor<128x256xf32>, tensor<64x256xf32>, tensor<64xf32>, tensor<128x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @linear_bias_gelu_tanh(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>, %b: tensor<64xf32>) -> tensor<128x64xf32> {
  %0 = kiln.fused_linear %x, %w bias %b {activation = "gelu_tanh"} : (tensor<128x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @linear_residual_sigmoid(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>, %r: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %0 = kiln.fused_linear %x, %w residual %r {activation = "sigmoid"} : (tensor<128x256xf32>, tensor<64x256xf32>, tensor<128x64xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}
func.func @linear_relu(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>) -> tensor<128x64xf32> {
  %0 = kiln.fused_linear %x, %w {activation = "relu"} : (tensor<128x256xf32>, tensor<64x256xf32>) -> tensor<128x64xf32>
  return %0 : tensor<128x64xf32>
}

// -----

// A [B, S, K] input with symbolic B and O: the result [B, S, O] takes B
// from the input, O from the weight. Symbolic dims count as 1, so auto
// finds it too small.
// CHECK-LABEL: func.func @linear_batched(
// ONEDNN-DAG: %[[C0:.*]] = arith.constant 0 : index
// ONEDNN-DAG: %[[B:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x128x256xf32>
// ONEDNN-DAG: %[[O:.*]] = tensor.dim %arg1, %[[C0]] : tensor<?x256xf32>
// ONEDNN:     %[[INIT:.*]] = tensor.empty(%[[B]], %[[O]]) : tensor<?x128x?xf32>
// ONEDNN-NEXT: kiln.kernel @kiln_rt_dnnl_matmul_bias_f32 ins(%arg0, %arg1, %arg2 : tensor<?x128x256xf32>, tensor<?x256xf32>, tensor<?xf32>) outs(%[[INIT]] : tensor<?x128x?xf32>) scalars [2] -> tensor<?x128x?xf32>
// CUTOFF-NOT: kiln.kernel
// CUTOFF: kiln.fused_linear %arg0, %arg1 bias %arg2 :
func.func @linear_batched(%x: tensor<?x128x256xf32>, %w: tensor<?x256xf32>, %b: tensor<?xf32>) -> tensor<?x128x?xf32> {
  %0 = kiln.fused_linear %x, %w bias %b : (tensor<?x128x256xf32>, tensor<?x256xf32>, tensor<?xf32>) -> tensor<?x128x?xf32>
  return %0 : tensor<?x128x?xf32>
}

// -----

// A small layer stays a generated tile loop under auto and native; onednn
// takes it.
// CHECK-LABEL: func.func @linear_small(
// CUTOFF-NOT: kiln.kernel
// CUTOFF: kiln.fused_linear %arg0, %arg1 bias %arg2 : (tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<8x4xf32>
// ONEDNN: kiln.kernel @kiln_rt_dnnl_matmul_bias_f32 ins(%arg0, %arg1, %arg2 : tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<8x4xf32>) scalars [2]
func.func @linear_small(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %0 = kiln.fused_linear %x, %w bias %b : (tensor<8x16xf32>, tensor<4x16xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// Not selected by any backend: bf16.
// CHECK-LABEL: func.func @linear_bf16(
// CHECK-NOT: kiln.kernel
// CHECK: kiln.fused_linear %arg0, %arg1 bias %arg2 {activation = "relu"} : (tensor<128x256xbf16>, tensor<64x256xbf16>, tensor<64xbf16>) -> tensor<128x64xbf16>
func.func @linear_bf16(%x: tensor<128x256xbf16>, %w: tensor<64x256xbf16>, %b: tensor<64xbf16>) -> tensor<128x64xbf16> {
  %0 = kiln.fused_linear %x, %w bias %b {activation = "relu"} : (tensor<128x256xbf16>, tensor<64x256xbf16>, tensor<64xbf16>) -> tensor<128x64xbf16>
  return %0 : tensor<128x64xbf16>
}

// -----

// softmax and layer_norm go to oneDNN only with backend=onednn; auto keeps
// them native (they fuse with their neighbours there).
// CHECK-LABEL: func.func @softmax_and_layer_norm(
// ONEDNN: %[[S:.*]] = kiln.kernel @kiln_rt_dnnl_softmax_f32 ins(%arg0 : tensor<?x4x77xf32>) outs(%{{.*}} : tensor<?x4x77xf32>) scalars [2] -> tensor<?x4x77xf32>
// ONEDNN: kiln.kernel @kiln_rt_dnnl_layer_norm_f32 ins(%[[S]], %arg1, %arg2 : tensor<?x4x77xf32>, tensor<77xf32>, tensor<77xf32>) outs(%{{.*}} : tensor<?x4x77xf32>) scalars [1.000000e-05] -> tensor<?x4x77xf32>
// CUTOFF-NOT: kiln.kernel
// CUTOFF: kiln.softmax %arg0 axis = 2
// CUTOFF: kiln.layer_norm
// NATIVE-NOT: kiln.kernel
func.func @softmax_and_layer_norm(%x: tensor<?x4x77xf32>, %w: tensor<77xf32>, %b: tensor<77xf32>) -> tensor<?x4x77xf32> {
  %0 = kiln.softmax %x axis = 2 : tensor<?x4x77xf32>
  %1 = kiln.layer_norm %0, %w, %b eps = 1.0e-5 : (tensor<?x4x77xf32>, tensor<77xf32>, tensor<77xf32>) -> tensor<?x4x77xf32>
  return %1 : tensor<?x4x77xf32>
}

// -----

// conv2d goes to a oneDNN convolution under onednn and auto (Kiln's own
// lowering is a scalar loop nest); the strides are its scalars and the
// output's batch comes from the input. Under native a patch embedding (strides
// = kernel, patches tiling the image) becomes a linear layer on the patches,
// on Kiln's matmul kernel; any other conv2d stays.
// CHECK-LABEL: func.func @conv2d(
// DNNL: %[[C0:.*]] = arith.constant 0 : index
// DNNL: %[[B:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x3x32x32xf32>
// DNNL: %[[INIT:.*]] = tensor.empty(%[[B]]) : tensor<?x64x4x8xf32>
// DNNL: kiln.kernel @kiln_rt_dnnl_conv2d_f32 ins(%arg0, %arg1, %arg2 : tensor<?x3x32x32xf32>, tensor<64x3x8x4xf32>, tensor<64xf32>) outs(%[[INIT]] : tensor<?x64x4x8xf32>) scalars [8, 4] -> tensor<?x64x4x8xf32>
// NATIVE:      %[[B:.*]] = kiln.dim %arg0, 0 : tensor<?x3x32x32xf32>
// NATIVE-NEXT: %[[SPLIT:.*]] = kiln.reshape %arg0[%[[B]]] : (tensor<?x3x32x32xf32>) -> tensor<?x3x4x8x8x4xf32>
// NATIVE-NEXT: %[[PATCHES:.*]] = kiln.transpose %[[SPLIT]] [0, 2, 4, 1, 3, 5] : (tensor<?x3x4x8x8x4xf32>) -> tensor<?x4x8x3x8x4xf32>
// NATIVE-NEXT: %[[ROWS:.*]] = kiln.reshape %[[PATCHES]][%[[B]]] : (tensor<?x4x8x3x8x4xf32>) -> tensor<?x32x96xf32>
// NATIVE-NEXT: %[[W:.*]] = kiln.reshape %arg1 : (tensor<64x3x8x4xf32>) -> tensor<64x96xf32>
// NATIVE:      %[[Y:.*]] = kiln.kernel @kiln_rt_[[LIB]]_matmul_bias_f32 ins(%[[ROWS]], %[[W]], %arg2 : tensor<?x32x96xf32>, tensor<64x96xf32>, tensor<64xf32>) outs(%{{.*}} : tensor<?x32x64xf32>) scalars [2]
// NATIVE-NEXT: %[[T:.*]] = kiln.transpose %[[Y]] [0, 2, 1] : (tensor<?x32x64xf32>) -> tensor<?x64x32xf32>
// NATIVE-NEXT: %[[OUT:.*]] = kiln.reshape %[[T]][%[[B]]] : (tensor<?x64x32xf32>) -> tensor<?x64x4x8xf32>
// NATIVE-NEXT: return %[[OUT]]
// CHECK-LABEL: func.func @conv2d_overlapping(
// NATIVE-NOT: kiln.kernel
// NATIVE: kiln.conv2d
func.func @conv2d(%x: tensor<?x3x32x32xf32>, %w: tensor<64x3x8x4xf32>, %b: tensor<64xf32>) -> tensor<?x64x4x8xf32> {
  %0 = kiln.conv2d %x, %w, %b strides = [8, 4] : (tensor<?x3x32x32xf32>, tensor<64x3x8x4xf32>, tensor<64xf32>) -> tensor<?x64x4x8xf32>
  return %0 : tensor<?x64x4x8xf32>
}
func.func @conv2d_overlapping(%x: tensor<?x3x32x32xf32>, %w: tensor<64x3x8x8xf32>, %b: tensor<64xf32>) -> tensor<?x64x7x7xf32> {
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<?x3x32x32xf32>, tensor<64x3x8x8xf32>, tensor<64xf32>) -> tensor<?x64x7x7xf32>
  return %0 : tensor<?x64x7x7xf32>
}

// -----

// A bias selects the bias kernel; a key-padding mask and a bias together
// keep the unfused chain (the kernel takes one of them).
// CHECK-LABEL: func.func @attention_bias(
// FUSED: kiln.kernel @kiln_rt_attention_bias_f32 ins(%arg0, %arg1, %arg1, %arg2 : tensor<2x4x16x16xf32>, tensor<2x4x20x16xf32>, tensor<2x4x20x16xf32>, tensor<16x20xf32>) outs(%{{.*}} : tensor<2x4x16x16xf32>) scalars [2.500000e-01, 0, 0]
// CHECK-LABEL: func.func @attention_mask_and_bias(
// CHECK-NOT: kiln.kernel @kiln_rt_attention
// CHECK: kiln.attention %arg0, %arg1, %arg1 mask %arg3 bias %arg2
func.func @attention_bias(%q: tensor<2x4x16x16xf32>, %k: tensor<2x4x20x16xf32>, %b: tensor<16x20xf32>) -> tensor<2x4x16x16xf32> {
  %0 = kiln.attention %q, %k, %k bias %b scale = 0.25 : (tensor<2x4x16x16xf32>, tensor<2x4x20x16xf32>, tensor<2x4x20x16xf32>, tensor<16x20xf32>) -> tensor<2x4x16x16xf32>
  return %0 : tensor<2x4x16x16xf32>
}
func.func @attention_mask_and_bias(%q: tensor<2x4x16x16xf32>, %k: tensor<2x4x20x16xf32>, %b: tensor<16x20xf32>, %m: tensor<2x20xi1>) -> tensor<2x4x16x16xf32> {
  %0 = kiln.attention %q, %k, %k mask %m bias %b scale = 0.25 : (tensor<2x4x16x16xf32>, tensor<2x4x20x16xf32>, tensor<2x4x20x16xf32>, tensor<2x20xi1>, tensor<16x20xf32>) -> tensor<2x4x16x16xf32>
  return %0 : tensor<2x4x16x16xf32>
}
