// Each named stage of the native pipeline leaves the module in the form the
// next one expects.
// RUN: %kiln-opt %s -kiln-to-linalg | FileCheck %s --check-prefix=LINALG
// RUN: %kiln-opt %s -kiln-to-linalg -kiln-vectorize | FileCheck %s --check-prefix=VECTOR
// RUN: %kiln-opt %s -kiln-to-linalg -kiln-vectorize -kiln-bufferize | FileCheck %s --check-prefix=BUFFER
// RUN: %kiln-opt %s -kiln-to-linalg -kiln-vectorize -kiln-bufferize -kiln-to-llvm | FileCheck %s --check-prefix=LLVM

module attributes {kiln.model = "layer"} {
  kiln.parameter @"fc.weight" : tensor<32x64xf32>
  kiln.parameter @"fc.bias" : tensor<32xf32>
  func.func @forward(%x: tensor<?x64xf32> {kiln.name = "x", kiln.dims = ["B", 64]}) -> (tensor<?x32xf32> {kiln.name = "out", kiln.dims = ["B", 32]}) attributes {kiln.entry} {
    %w = kiln.param @"fc.weight" : tensor<32x64xf32>
    %b = kiln.param @"fc.bias" : tensor<32xf32>
    %wt = kiln.transpose %w [1, 0] : (tensor<32x64xf32>) -> tensor<64x32xf32>
    %m = kiln.matmul %x, %wt : (tensor<?x64xf32>, tensor<64x32xf32>) -> tensor<?x32xf32>
    %a = kiln.add %m, %b : (tensor<?x32xf32>, tensor<32xf32>) -> tensor<?x32xf32>
    %r = kiln.relu %a : tensor<?x32xf32>
    %s = kiln.softmax %r axis = 1 : tensor<?x32xf32>
    return %s : tensor<?x32xf32>
  }
}

// LINALG-NOT: = kiln.
// LINALG: func.func @forward(%{{.*}}: tensor<32x64xf32> {bufferization.writable = false, kiln.param = "fc.weight"}, %{{.*}}: tensor<32xf32> {bufferization.writable = false, kiln.param = "fc.bias"}, %{{.*}}: tensor<?x64xf32>
// LINALG: linalg.transpose
// LINALG: %[[M:.*]] = linalg.matmul
// Bias and ReLU fused into one elementwise op, written over the product.
// LINALG: linalg.generic
// LINALG-SAME: outs(%[[M]] :
// LINALG-NEXT: ^bb0
// LINALG-NEXT: arith.addf
// LINALG-NEXT: arith.maximumf

// VECTOR-NOT: linalg.
// VECTOR: vector.transfer_read
// VECTOR: vector<1x16xf32>

// BUFFER-NOT: tensor<
// BUFFER-NOT: memref.alloc
// BUFFER: func.func @forward(%[[ARENA:.*]]: memref<?xi8> {kiln.arena}, %{{.*}}: memref<32x64xf32> {kiln.param = "fc.weight"}
// BUFFER-SAME: %{{.*}}: memref<?x32xf32> {kiln.dims = ["B", 32], kiln.name = "out"})
// BUFFER-SAME: kiln.arena = [{coeff = 8192 : i64, symbols = []}, {coeff = {{[0-9]+}} : i64, symbols = ["B"]}]
// BUFFER: memref.view %[[ARENA]]

// LLVM-NOT: = vector.
// LLVM-NOT: = memref.
// LLVM-NOT: scf.for
// LLVM: llvm.func @forward
// The matmul's multiply-adds are 16-wide FMAs.
// LLVM: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
