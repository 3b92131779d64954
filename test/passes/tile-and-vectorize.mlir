// RUN: %kiln-opt %s -split-input-file -kiln-tile-and-vectorize -canonicalize -cse | FileCheck %s
// Linalg ops become loops over host-vector tiles (16 x f32 = one AVX-512
// register) with vector bodies; no linalg op is left behind.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: linalg.
// CHECK: scf.for %[[I:.*]] = %c0 to %{{.*}} step %c1
// CHECK: scf.for %[[J:.*]] = %c0 to %c128 step %c16
// CHECK: vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK: arith.addf {{.*}} : vector<1x16xf32>
// CHECK: vector.transfer_write
func.func @elementwise(%x: tensor<?x128xf32>, %b: tensor<128xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x128xf32>
  %e = tensor.empty(%d) : tensor<?x128xf32>
  %0 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %b : tensor<?x128xf32>, tensor<128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %0 : tensor<?x128xf32>
}

// -----

// Matmul: 4 rows x 16 columns per tile, the whole K = 64, as one
// vector.contract (later outer-product FMAs).
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c16
// CHECK: %[[A:.*]] = vector.transfer_read {{.*}} : tensor<4x64xf32>, vector<4x64xf32>
// CHECK: %[[B:.*]] = vector.transfer_read {{.*}} : tensor<64x16xf32>, vector<64x16xf32>
// CHECK: %[[C:.*]] = vector.transfer_read {{.*}} : tensor<4x16xf32>, vector<4x16xf32>
// CHECK: vector.contract {{{.*}}iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %[[A]], %[[B]], %[[C]] : vector<4x64xf32>, vector<64x16xf32> into vector<4x16xf32>
func.func @matmul(%a: tensor<8x64xf32>, %b: tensor<64x128xf32>, %c: tensor<8x128xf32>) -> tensor<8x128xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<8x64xf32>, tensor<64x128xf32>) outs(%c : tensor<8x128xf32>) -> tensor<8x128xf32>
  return %0 : tensor<8x128xf32>
}

// -----

// A reduction along the contiguous dim vectorizes along that dim, a row at a time.
#id = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @row_max
// CHECK-NOT: linalg.
// CHECK: scf.for {{.*}} step %c1
// CHECK: vector.transfer_read {{.*}} : tensor<1x10xf32>, vector<1x10xf32>
// CHECK: vector.multi_reduction <maximumf>, {{.*}} [1] : vector<1x10xf32> to vector<1xf32>
func.func @row_max(%x: tensor<?x10xf32>, %init: tensor<?xf32>) -> tensor<?xf32> {
  %0 = linalg.generic {indexing_maps = [#id, #red], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<?x10xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// A dynamic innermost dim is tiled by 16 with masked tails.
// CHECK-LABEL: func.func @dynamic_tail
// CHECK: scf.for {{.*}} step %c16
// CHECK: %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<16xi1>
// CHECK: vector.mask %[[MASK]] { vector.transfer_write
func.func @dynamic_tail(%x: tensor<?xf32>) -> tensor<?xf32> {
  %zero = arith.constant 0.0 : f32
  %0 = linalg.fill ins(%zero : f32) outs(%x : tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
