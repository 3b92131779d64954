// RUN: %kiln-opt %s -split-input-file -allow-unregistered-dialect -kiln-call-results-to-out-params -verify-diagnostics | FileCheck %s
// A private function's memref results become trailing out-params; each call
// allocates them, sizing dynamic dims from the call's operands by the
// callee's `kiln.dims`, so the caller's arena planner places them.

// The buffer allocated for the result is the out-param itself; a result that
// is an argument is copied.
// CHECK-LABEL: func.func private @Block.forward
// CHECK-SAME: (%[[X:.*]]: memref<?x8xf32> {kiln.dims = ["B", 8]}, %[[W:.*]]: memref<8x8xf32>, %[[OUT:.*]]: memref<?x8xf32> {kiln.dims = ["B", 8]}, %[[OUT2:.*]]: memref<8x8xf32>)
// CHECK-NOT:  memref.alloc
// CHECK:      "test.compute"(%[[X]], %[[W]], %[[OUT]])
// CHECK:      memref.copy %[[W]], %[[OUT2]]
// CHECK-NEXT: return{{$}}
func.func private @Block.forward(%x: memref<?x8xf32> {kiln.dims = ["B", 8]}, %w: memref<8x8xf32>)
    -> (memref<?x8xf32> {kiln.dims = ["B", 8]}, memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x8xf32>
  %y = memref.alloc(%b) : memref<?x8xf32>
  "test.compute"(%x, %w, %y) : (memref<?x8xf32>, memref<8x8xf32>, memref<?x8xf32>) -> ()
  return %y, %w : memref<?x8xf32>, memref<8x8xf32>
}

// CHECK-LABEL: func.func @predict
// CHECK-SAME: (%[[PX:.*]]: memref<?x8xf32> {kiln.dims = ["B", 8]}, %[[PW:.*]]: memref<8x8xf32>)
// CHECK:      %[[C0:.*]] = arith.constant 0 : index
// CHECK:      %[[B:.*]] = memref.dim %[[PX]], %[[C0]]
// CHECK:      %[[Y:.*]] = memref.alloc(%[[B]]) {alignment = 64 : i64} : memref<?x8xf32>
// CHECK:      %[[Z:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x8xf32>
// CHECK:      call @Block.forward(%[[PX]], %[[PW]], %[[Y]], %[[Z]]) : (memref<?x8xf32>, memref<8x8xf32>, memref<?x8xf32>, memref<8x8xf32>) -> ()
// CHECK:      "test.use"(%[[Y]], %[[Z]])
func.func @predict(%x: memref<?x8xf32> {kiln.dims = ["B", 8]}, %w: memref<8x8xf32>) attributes {kiln.entry} {
  %y, %z = call @Block.forward(%x, %w) : (memref<?x8xf32>, memref<8x8xf32>) -> (memref<?x8xf32>, memref<8x8xf32>)
  "test.use"(%y, %z) : (memref<?x8xf32>, memref<8x8xf32>) -> ()
  return
}

// -----

// expected-error @+1 {{result 0 has a dynamic dim 0 that names no symbolic dim of the arguments (`kiln.dims`)}}
func.func private @unsized(%x: memref<4xf32>) -> memref<?xf32> {
  %c4 = arith.constant 4 : index
  %y = memref.alloc(%c4) : memref<?xf32>
  return %y : memref<?xf32>
}
func.func @caller(%x: memref<4xf32>) attributes {kiln.entry} {
  %y = call @unsized(%x) : (memref<4xf32>) -> memref<?xf32>
  return
}
