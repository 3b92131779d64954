// RUN: %kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-gpu-prepare))' | FileCheck %s
// Every memory access of a bufferized function ends up in a parallel loop,
// which the GPU mapping turns into threads: copies become linalg.copy, and
// an op without a parallel loop runs in a one-iteration scf.parallel.

// CHECK-LABEL: func.func @copy
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%arg0 : memref<?x4xf32>) outs(%arg1 : memref<?x4xf32>)
func.func @copy(%a: memref<?x4xf32>, %b: memref<?x4xf32>) {
  memref.copy %a, %b : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----

// A full reduction (a loss): one thread.
// CHECK-LABEL: func.func @sum
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: scf.parallel (%{{.*}}) = (%[[ZERO]]) to (%[[ONE]]) step (%[[ONE]])
// CHECK-NEXT: linalg.generic
// CHECK-SAME: iterator_types = ["reduction"]
#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
func.func @sum(%x: memref<?xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [#id, #scalar], iterator_types = ["reduction"]}
      ins(%x : memref<?xf32>) outs(%out : memref<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 0-d copy has no loop at all: one thread too. An op with a parallel loop
// is left as it is.
// CHECK-LABEL: func.func @scalar_copy_and_rows
// CHECK: scf.parallel
// CHECK-NEXT: linalg.copy ins(%arg0 : memref<f32>)
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-NOT: scf.parallel
#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @scalar_copy_and_rows(%a: memref<f32>, %b: memref<f32>, %x: memref<?x8xf32>,
                                %y: memref<?xf32>) {
  memref.copy %a, %b : memref<f32> to memref<f32>
  linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x8xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  return
}
