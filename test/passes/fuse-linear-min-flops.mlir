// kiln-fuse-linear{min-flops}: only products of at least min-flops flops
// (2 * |result| * K, symbolic dims counted as 1) fuse; smaller ones keep
// their unfused chain (the pipeline passes kiln-select-kernels' auto
// threshold, so it fuses exactly the layers sent to oneDNN); here 2^20.
// Without the option every layer fuses.
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-linear=min-flops=1048576 | FileCheck %s --check-prefixes=CHECK,MIN
// RUN: %kiln-opt %s -split-input-file -kiln-fuse-linear | FileCheck %s --check-prefixes=CHECK,ALL

// 2 * 128 * 64 * 256 flops, well above.
// CHECK-LABEL: func.func @large(
// CHECK-NEXT: %[[F:.*]] = kiln.fused_linear %arg0, %arg1 bias %arg2 : (tensor<128x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<128x64xf32>
// CHECK-NEXT: return %[[F]]
func.func @large(%x: tensor<128x256xf32>, %w: tensor<64x256xf32>, %b: tensor<64xf32>) -> tensor<128x64xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<64x256xf32>) -> tensor<256x64xf32>
  %m = kiln.matmul %x, %wt : (tensor<128x256xf32>, tensor<256x64xf32>) -> tensor<128x64xf32>
  %a = kiln.add %m, %b : (tensor<128x64xf32>, tensor<64xf32>) -> tensor<128x64xf32>
  return %a : tensor<128x64xf32>
}

// -----

// 2 * 64 * 64 * 128 = 2^20 exactly: fused.
// CHECK-LABEL: func.func @at_threshold(
// CHECK-NEXT: kiln.fused_linear %arg0, %arg1 {activation = "relu"} : (tensor<64x128xf32>, tensor<64x128xf32>) -> tensor<64x64xf32>
func.func @at_threshold(%x: tensor<64x128xf32>, %w: tensor<64x128xf32>) -> tensor<64x64xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<64x128xf32>) -> tensor<128x64xf32>
  %m = kiln.matmul %x, %wt : (tensor<64x128xf32>, tensor<128x64xf32>) -> tensor<64x64xf32>
  %r = kiln.relu %m : tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// K = 127: just under, so not fused with min-flops.
// CHECK-LABEL: func.func @under_threshold(
// MIN-NOT: kiln.fused_linear
// MIN:      %[[T:.*]] = kiln.transpose %arg1 [1, 0]
// MIN-NEXT: %[[M:.*]] = kiln.matmul %arg0, %[[T]]
// MIN-NEXT: kiln.relu %[[M]]
// ALL-NEXT: kiln.fused_linear %arg0, %arg1 {activation = "relu"} : (tensor<64x127xf32>, tensor<64x127xf32>) -> tensor<64x64xf32>
func.func @under_threshold(%x: tensor<64x127xf32>, %w: tensor<64x127xf32>) -> tensor<64x64xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<64x127xf32>) -> tensor<127x64xf32>
  %m = kiln.matmul %x, %wt : (tensor<64x127xf32>, tensor<127x64xf32>) -> tensor<64x64xf32>
  %r = kiln.relu %m : tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// A symbolic batch counts as 1: 2 * 64 * 256 flops, not fused with min-flops.
// CHECK-LABEL: func.func @symbolic_batch(
// MIN-NOT: kiln.fused_linear
// MIN: kiln.matmul
// MIN: kiln.gelu
// ALL-NEXT: kiln.fused_linear %arg0, %arg1 bias %arg2 {activation = "gelu_erf"} : (tensor<?x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<?x64xf32>
func.func @symbolic_batch(%x: tensor<?x256xf32>, %w: tensor<64x256xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<64x256xf32>) -> tensor<256x64xf32>
  %m = kiln.matmul %x, %wt : (tensor<?x256xf32>, tensor<256x64xf32>) -> tensor<?x64xf32>
  %a = kiln.add %m, %b : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %g = kiln.gelu %a : tensor<?x64xf32>
  return %g : tensor<?x64xf32>
}
