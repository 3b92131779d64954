// RUN: %kiln-opt %s -split-input-file -allow-unregistered-dialect -kiln-plan-arena | FileCheck %s
// A train entry's gradient space: where each gradient output is first used
// (its birth, a position in the entry block) and the arena spans still in use
// at or after the first birth, so that the runtime can put each gradient in
// bytes that are dead by then.

// Positions: 0 constant, 1 dim, 2-3 the early scratch (dead before any
// gradient: not listed), 4-5 the activation (last read at 7), 6 the temporary
// (last read at 8), 7 w1's gradient, 8 w2's; w3's is never written (9, the
// block's end). The activation sits at 4096 (after the static group), the
// temporary 64 B-bytes further.
// CHECK-LABEL: func.func @step
// CHECK-SAME: kiln.grad_space = {births = array<i64: 7, 8, 10>, busy = [
// CHECK-SAME: {last = 7 : i64, offset = [{coeff = 4096 : i64, symbols = []}], size = [{coeff = 64 : i64, symbols = ["B"]}]},
// CHECK-SAME: {last = 8 : i64, offset = [{coeff = 4096 : i64, symbols = []}, {coeff = 64 : i64, symbols = ["B"]}], size = [{coeff = 64 : i64, symbols = ["B"]}]}]}
func.func @step(%x: memref<?x16xf32> {kiln.dims = ["B", 16]}, %loss: memref<f32>,
                %g1: memref<16x16xf32> {kiln.grad = "w1"}, %g2: memref<256xf32> {kiln.grad = "w2"},
                %g3: memref<4xf32> {kiln.grad = "w3"}) attributes {kiln.entry, kiln.train = {}} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x16xf32>
  %early = memref.alloc() : memref<32x32xf32>
  "test.use"(%early) : (memref<32x32xf32>) -> ()
  %act = memref.alloc(%b) : memref<?x16xf32>
  "test.use"(%act) : (memref<?x16xf32>) -> ()
  %tmp = memref.alloc(%b) : memref<?x16xf32>
  "test.use"(%act, %tmp, %g1) : (memref<?x16xf32>, memref<?x16xf32>, memref<16x16xf32>) -> ()
  "test.use"(%tmp, %g2) : (memref<?x16xf32>, memref<256xf32>) -> ()
  return
}

// -----

// A gradient a call writes is born at the call (position 5). The activation
// the call reads (at 0) and the frame region every call shares (after the
// entry's own 64 B-bytes) are both in use until then.
// CHECK-LABEL: func.func @step_with_calls
// CHECK-SAME: kiln.grad_space = {births = array<i64: 5>, busy = [
// CHECK-SAME: {last = 5 : i64, offset = [], size = [{coeff = 64 : i64, symbols = ["B"]}]},
// CHECK-SAME: {last = 5 : i64, offset = [{coeff = 64 : i64, symbols = ["B"]}], size = [{coeff = 256 : i64, symbols = ["B"]}]}]}
func.func private @backward(%x: memref<?x16xf32> {kiln.dims = ["B", 16]}, %g: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x16xf32>
  %s = memref.alloc(%b) : memref<?x64xf32>
  "test.use"(%x, %s, %g) : (memref<?x16xf32>, memref<?x64xf32>, memref<16xf32>) -> ()
  return
}
func.func @step_with_calls(%x: memref<?x16xf32> {kiln.dims = ["B", 16]}, %loss: memref<f32>,
                           %g: memref<16xf32> {kiln.grad = "w"}) attributes {kiln.entry, kiln.train = {}} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x16xf32>
  %act = memref.alloc(%b) : memref<?x16xf32>
  "test.use"(%x, %act) : (memref<?x16xf32>, memref<?x16xf32>) -> ()
  "test.use"(%act, %loss) : (memref<?x16xf32>, memref<f32>) -> ()
  call @backward(%act, %g) : (memref<?x16xf32>, memref<16xf32>) -> ()
  return
}

// -----

// Entries that do not train get no gradient space.
// CHECK-LABEL: func.func @predict
// CHECK-NOT: kiln.grad_space
func.func @predict(%x: memref<?x16xf32> {kiln.dims = ["B", 16]}) attributes {kiln.entry} {
  return
}

// -----

// An entry whose buffers are all static packs its gradients with them, each
// live from its birth to the end: w's gradient (born at 4) takes the bytes of
// the scratch last read at 3, and the places go into `offsets`. The arena is
// 4096 bytes, gradients included.
// CHECK-LABEL: func.func @static_step
// CHECK-SAME: kiln.arena = [{coeff = 4096 : i64, symbols = []}]
// CHECK-SAME: kiln.grad_space = {births = array<i64: 4>, busy = [], offsets = array<i64: 0>}
func.func @static_step(%x: memref<8x16xf32>, %loss: memref<f32>, %g: memref<32x32xf32> {kiln.grad = "w"}) attributes {kiln.entry, kiln.train = {}} {
  %c0 = arith.constant 0 : index
  %scratch = memref.alloc() : memref<32x32xf32>
  "test.use"(%x, %scratch) : (memref<8x16xf32>, memref<32x32xf32>) -> ()
  "test.use"(%scratch, %loss) : (memref<32x32xf32>, memref<f32>) -> ()
  "test.use"(%x, %g) : (memref<8x16xf32>, memref<32x32xf32>) -> ()
  return
}
