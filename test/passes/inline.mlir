// RUN: %kiln-opt %s -split-input-file -kiln-inline='mode=auto max-ops=4' | FileCheck %s --check-prefix=AUTO
// RUN: %kiln-opt %s -split-input-file -kiln-inline='mode=always' | FileCheck %s --check-prefix=ALWAYS
// RUN: %kiln-opt %s -split-input-file -kiln-inline='mode=never' | FileCheck %s --check-prefix=NEVER
// RUN: %kiln-opt %s -split-input-file -kiln-inline='mode=auto max-ops=4 max-growth=10' | FileCheck %s --check-prefix=GROWTH
// RUN: not %kiln-opt %s -split-input-file -kiln-inline='mode=sometimes' 2>&1 | FileCheck %s --check-prefix=BAD
// kiln-inline keeps large shared method bodies as functions and inlines the
// small ones and those called once (auto), all (always) or none (never).

// BAD: kiln-inline: unknown mode 'sometimes': expected always, never or auto

// A two-op Linear is inlined into the block; the block, larger than max-ops
// and called twice, stays a function called per layer with its weights.
// AUTO-LABEL: func.func private @Block.forward
// AUTO-NOT:     call @Linear.forward
// AUTO:         kiln.transpose
// AUTO:         kiln.matmul
// AUTO:         kiln.add
// AUTO-LABEL: func.func @predict
// AUTO-SAME:    (%[[W0:.*]]: tensor<8x8xf32>, %[[B0:.*]]: tensor<8xf32>, %[[W1:.*]]: tensor<8x8xf32>, %[[B1:.*]]: tensor<8xf32>, %[[X:.*]]: tensor
// AUTO:         %[[H0:.*]] = call @Block.forward(%[[X]], %[[W0]], %[[B0]])
// AUTO:         call @Block.forward(%[[H0]], %[[W1]], %[[B1]])
// AUTO-NOT:   @Linear.forward
// ALWAYS-NOT: func.func private
// ALWAYS-LABEL: func.func @predict
// ALWAYS-NOT:   call
// ALWAYS-COUNT-2: kiln.matmul
// ALWAYS-NOT:   call
// NEVER: func.func private @Linear.forward
// NEVER: func.func private @Block.forward
// NEVER:   call @Linear.forward
// NEVER-LABEL: func.func @predict
// NEVER-COUNT-2: call @Block.forward
func.func private @Linear.forward(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %wt = kiln.transpose %w [1, 0] : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %m = kiln.matmul %x, %wt : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %y = kiln.add %m, %b : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
func.func private @Block.forward(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = call @Linear.forward(%x, %w, %b) : (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %r = kiln.relu %y : tensor<?x8xf32>
  %s = kiln.add %r, %x : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}
func.func @predict(%w0: tensor<8x8xf32>, %b0: tensor<8xf32>, %w1: tensor<8x8xf32>, %b1: tensor<8xf32>, %x: tensor<?x8xf32> {kiln.dims = ["B", 8]}) -> tensor<?x8xf32> attributes {kiln.entry} {
  %h0 = call @Block.forward(%x, %w0, %b0) : (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %h1 = call @Block.forward(%h0, %w1, %b1) : (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %h1 : tensor<?x8xf32>
}

// -----

// A large body called once is inlined under auto: nothing is shared.
// AUTO-LABEL: func.func @once
// AUTO-NOT:     call
// AUTO:         kiln.relu
// AUTO-NOT:   func.func private @Big
// NEVER-LABEL: func.func private @Big.forward
// NEVER-LABEL: func.func @once
// NEVER:        call @Big.forward
func.func private @Big.forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = kiln.relu %x : tensor<4xf32>
  %b = kiln.sigmoid %a : tensor<4xf32>
  %c = kiln.tanh %b : tensor<4xf32>
  %d = kiln.exp %c : tensor<4xf32>
  %e = kiln.relu %d : tensor<4xf32>
  return %e : tensor<4xf32>
}
func.func @once(%x: tensor<4xf32>) -> tensor<4xf32> attributes {kiln.entry} {
  %y = call @Big.forward(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A small body called from many places: its copies would add 3 x 4 = 12 ops,
// past max-growth (GROWTH), so it stays one function, marked no_inline for
// LLVM's inliner; within the budget (AUTO) it is inlined as before.
// GROWTH-LABEL: func.func private @Scale.forward
// GROWTH-SAME:    attributes {no_inline}
// GROWTH-LABEL: func.func @many
// GROWTH-COUNT-4: call @Scale.forward
// AUTO-LABEL: func.func @many
// AUTO-NOT:     call
// AUTO-COUNT-4: kiln.relu
// AUTO-NOT:   func.func private @Scale
func.func private @Scale.forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = kiln.relu %x : tensor<4xf32>
  %b = kiln.add %a, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %b : tensor<4xf32>
}
func.func @many(%x: tensor<4xf32>) -> tensor<4xf32> attributes {kiln.entry} {
  %a = call @Scale.forward(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = call @Scale.forward(%a) : (tensor<4xf32>) -> tensor<4xf32>
  %c = call @Scale.forward(%b) : (tensor<4xf32>) -> tensor<4xf32>
  %d = call @Scale.forward(%c) : (tensor<4xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}
