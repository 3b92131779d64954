// RUN: %kiln-opt %s -allow-unregistered-dialect -kiln-plan-arena -canonicalize -cse | FileCheck %s
// Arena planning across calls: each private function is planned in its own
// symbols, callees first; a caller lays its own buffers out, then one frame
// region that every call shares (calls run one at a time), sized by the
// largest term among the calls' frames read in the caller's symbols. The
// twice-called block's scratch is planned once.

// The block: 16 static floats (64 bytes) and a B x 8 scratch (64 B-bytes).
// CHECK-LABEL: func.func private @Block.forward
// CHECK-SAME: (%[[BA:.*]]: memref<?xi8> {kiln.arena}, %{{.*}}: memref<?x8xf32> {kiln.dims = ["B", 8]}
// CHECK-SAME: kiln.arena = [{coeff = 64 : i64, symbols = []}, {coeff = 64 : i64, symbols = ["B"]}]
// CHECK-NOT: memref.alloc
// CHECK-DAG: memref.view %[[BA]][%c64][%{{.*}}] : memref<?xi8> to memref<?x8xf32>
// CHECK-DAG: memref.view %[[BA]][%c0][] : memref<?xi8> to memref<16xf32>
// The head, in its own symbol N: 256 N-bytes.
// CHECK-LABEL: func.func private @Head.forward
// CHECK-SAME: kiln.arena = [{coeff = 256 : i64, symbols = ["N"]}]
// The entry: h0 and h1 (64 B-bytes each, live together), then the frame
// region at 128 B-bytes: max(64 + 64 B, 256 B) = 64 + 256 B bytes.
// CHECK-LABEL: func.func @predict
// CHECK-SAME: (%[[A:.*]]: memref<?xi8> {kiln.arena}, %[[X:.*]]: memref<?x8xf32> {kiln.dims = ["B", 8]}, %[[OUT:.*]]: memref<?x8xf32>
// CHECK-SAME: kiln.arena = [{coeff = 64 : i64, symbols = []}, {coeff = 384 : i64, symbols = ["B"]}]
// CHECK-NOT: memref.alloc
// CHECK-DAG: %[[B:.*]] = memref.dim %[[X]], %c0
// CHECK-DAG: %[[BASE:.*]] = arith.muli %[[B]], %c128
// CHECK-DAG: %[[H1OFF:.*]] = arith.muli %[[B]], %c64
// CHECK-DAG: %[[BLOCKSIZE:.*]] = arith.addi %[[H1OFF]], %c64
// CHECK-DAG: %[[HEADSIZE:.*]] = arith.muli %[[B]], %c256
// CHECK:     %[[H0:.*]] = memref.view %[[A]][%c0][%[[B]]] : memref<?xi8> to memref<?x8xf32>
// CHECK:     %[[F0:.*]] = memref.view %[[A]][%[[BASE]]][%[[BLOCKSIZE]]] : memref<?xi8> to memref<?xi8>
// CHECK:     call @Block.forward(%[[F0]], %[[X]], %[[H0]])
// CHECK:     %[[H1:.*]] = memref.view %[[A]][%[[H1OFF]]][%[[B]]] : memref<?xi8> to memref<?x8xf32>
// CHECK:     call @Block.forward(%[[F0]], %[[H0]], %[[H1]])
// CHECK:     %[[F2:.*]] = memref.view %[[A]][%[[BASE]]][%[[HEADSIZE]]] : memref<?xi8> to memref<?xi8>
// CHECK:     call @Head.forward(%[[F2]], %[[H1]], %[[OUT]])
func.func private @Block.forward(%x: memref<?x8xf32> {kiln.dims = ["B", 8]}, %out: memref<?x8xf32> {kiln.dims = ["B", 8]}) {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x8xf32>
  %s = memref.alloc(%b) : memref<?x8xf32>
  %t = memref.alloc() : memref<16xf32>
  "test.compute"(%x, %s, %t, %out) : (memref<?x8xf32>, memref<?x8xf32>, memref<16xf32>, memref<?x8xf32>) -> ()
  return
}
func.func private @Head.forward(%x: memref<?x8xf32> {kiln.dims = ["N", 8]}, %out: memref<?x8xf32> {kiln.dims = ["N", 8]}) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %s = memref.alloc(%n) : memref<?x64xf32>
  "test.compute"(%x, %s, %out) : (memref<?x8xf32>, memref<?x64xf32>, memref<?x8xf32>) -> ()
  return
}
func.func @predict(%x: memref<?x8xf32> {kiln.dims = ["B", 8]}, %out: memref<?x8xf32> {kiln.dims = ["B", 8]}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x8xf32>
  %h0 = memref.alloc(%b) : memref<?x8xf32>
  call @Block.forward(%x, %h0) : (memref<?x8xf32>, memref<?x8xf32>) -> ()
  %h1 = memref.alloc(%b) : memref<?x8xf32>
  call @Block.forward(%h0, %h1) : (memref<?x8xf32>, memref<?x8xf32>) -> ()
  call @Head.forward(%h1, %out) : (memref<?x8xf32>, memref<?x8xf32>) -> ()
  return
}
