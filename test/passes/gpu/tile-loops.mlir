// RUN: %kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-gpu-tile-loops,gpu-map-parallel-loops{mapping-policy=innermost-first},convert-parallel-loops-to-gpu,canonicalize))' | FileCheck %s
// Parallel loop nests become tiles of up to 256 threads: a warp along the
// innermost dim, the rest along the next, fixed-size tiles with bounds
// checks inside since sizes are symbolic. Checked as the launches they map
// to (the innermost dim to x).

// CHECK-LABEL: func.func @rows_by_columns
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %{{.*}}, {{.*}} = %{{.*}}, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c32, {{.*}} = %c8, {{.*}} = %c1)
// CHECK: scf.if
// CHECK: memref.store
func.func @rows_by_columns(%m: memref<?x?xf32>, %v: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %m, %c0 : memref<?x?xf32>
  %cols = memref.dim %m, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %cols) step (%c1, %c1) {
    memref.store %v, %m[%i, %j] : memref<?x?xf32>
  }
  return
}

// -----

// One dim: 256 threads. A short constant dim (10 classes) gets 10, and the
// next dim the rest of the budget (25); leading dims 1.
// CHECK-LABEL: func.func @shapes
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1)
// CHECK: gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c10, {{.*}} = %c25, {{.*}} = %c1)
func.func @shapes(%v: memref<?xf32>, %t: memref<?x?x10xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c10 = arith.constant 10 : index
  %n = memref.dim %v, %c0 : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %x, %v[%i] : memref<?xf32>
  }
  %b = memref.dim %t, %c0 : memref<?x?x10xf32>
  %s = memref.dim %t, %c1 : memref<?x?x10xf32>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%b, %s, %c10) step (%c1, %c1, %c1) {
    memref.store %x, %t[%i, %j, %k] : memref<?x?x10xf32>
  }
  return
}

// -----

// kiln-gpu-prepare's one-iteration loop: one thread.
// CHECK-LABEL: func.func @one_thread
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1)
func.func @one_thread(%out: memref<f32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %out[] : memref<f32>
  }
  return
}
