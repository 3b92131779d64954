// RUN: %kiln-opt %s -split-input-file -allow-unregistered-dialect -kiln-plan-arena -canonicalize -cse -verify-diagnostics | FileCheck %s
// Allocations become views of one arena argument; buffers whose lifetimes do
// not overlap share bytes; sizes are grouped by their product of symbols.

// CHECK-LABEL: func.func @plan
// CHECK-SAME: (%[[ARENA:.*]]: memref<?xi8> {kiln.arena}, %[[X:.*]]: memref<?x16xf32>
// CHECK-SAME: kiln.arena = [{coeff = 4096 : i64, symbols = []}, {coeff = 128 : i64, symbols = ["B"]}]
func.func @plan(%x: memref<?x16xf32> {kiln.dims = ["B", 16]}, %out: memref<?x16xf32> {kiln.dims = ["B", 16]}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x16xf32>
  // CHECK-NOT: memref.alloc
  // Two static 4 KiB buffers, one after the other: both at offset 0.
  // CHECK: memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<32x32xf32>
  %s1 = memref.alloc() : memref<32x32xf32>
  "test.use"(%s1) : (memref<32x32xf32>) -> ()
  // CHECK: memref.view %[[ARENA]][%c0][] : memref<?xi8> to memref<1024xf32>
  %s2 = memref.alloc() : memref<1024xf32>
  "test.use"(%s2) : (memref<1024xf32>) -> ()
  // Two B x 16 f32 buffers live together: 64 B-units each, at 0 and 64,
  // after the 4096 static bytes.
  // CHECK: memref.view %[[ARENA]][%c4096][%[[B:.*]]] : memref<?xi8> to memref<?x16xf32>
  %d1 = memref.alloc(%b) : memref<?x16xf32>
  // CHECK: %[[BASE1:.*]] = arith.muli %[[B]], %c64
  // CHECK: %[[OFF1:.*]] = arith.addi %[[BASE1]], %c4096
  // CHECK: memref.view %[[ARENA]][%[[OFF1]]][%[[B]]] : memref<?xi8> to memref<?x16xf32>
  %d2 = memref.alloc(%b) : memref<?x16xf32>
  "test.use"(%d1, %d2) : (memref<?x16xf32>, memref<?x16xf32>) -> ()
  memref.copy %d2, %out : memref<?x16xf32> to memref<?x16xf32>
  return
}

// -----

func.func @nested(%x: memref<?xf32> {kiln.dims = ["B"]}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %c1 step %c1 {
    // expected-error @+1 {{allocates inside a loop or region; the arena planner only places entry-level buffers}}
    %a = memref.alloc() : memref<4xf32>
    "test.use"(%a) : (memref<4xf32>) -> ()
  }
  return
}

// -----

func.func @untraceable(%x: memref<?xf32> {kiln.dims = ["B"]}, %n: index) attributes {kiln.entry} {
  // expected-error @+1 {{has a dynamic size that is not a symbolic dim of the function's arguments}}
  %a = memref.alloc(%n) : memref<?xf32>
  "test.use"(%a) : (memref<?xf32>) -> ()
  return
}
