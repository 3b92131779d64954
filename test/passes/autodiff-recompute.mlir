// RUN: %kiln-opt %s -split-input-file -kiln-autodiff | FileCheck %s
// What the backward keeps: gelu(h) is computed again from h (which gelu's
// own rule reads anyway) right before the backward's first read of it, so
// the forward's copy dies with fc2. Each layer's weight gradient comes before
// its input's gradient, so the activation it reads is free before the input
// gradient takes a buffer.

// CHECK-LABEL: func.func @fit
// CHECK:       %[[H:.*]] = kiln.matmul %arg0, %{{.*}}
// CHECK:       %[[G:.*]] = kiln.gelu %[[H]]
// CHECK:       %[[Y:.*]] = kiln.matmul %[[G]], %{{.*}}
// The forward's gelu has no other reader:
// CHECK-NOT:   %[[G]]{{[^0-9]}}
// CHECK:       %[[AGAIN:.*]] = kiln.gelu %[[H]]
// fc2's weight gradient reads the recomputed value, before fc2's input gradient.
// CHECK:       kiln.reshape %[[AGAIN]]
// CHECK:       %[[DW2:.*]] = kiln.matmul {{.*}} -> tensor<16x8xf32>
// CHECK:       %[[DG:.*]] = kiln.matmul {{.*}} -> tensor<4x5x16xf32>
// CHECK:       kiln.erf
// CHECK:       %[[DW1:.*]] = kiln.matmul {{.*}} -> tensor<8x16xf32>
// CHECK:       return %{{.*}}, %[[DW1]], %[[DW2]]
module {
  kiln.parameter @w1 : tensor<8x16xf32>
  kiln.parameter @w2 : tensor<16x8xf32>
  func.func @fit(%x: tensor<4x5x8xf32> {kiln.dims = [4, 5, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w1", "w2"]}} {
    %w1 = kiln.param @w1 : tensor<8x16xf32>
    %w2 = kiln.param @w2 : tensor<16x8xf32>
    %h = kiln.matmul %x, %w1 : (tensor<4x5x8xf32>, tensor<8x16xf32>) -> tensor<4x5x16xf32>
    %g = kiln.gelu %h : tensor<4x5x16xf32>
    %y = kiln.matmul %g, %w2 : (tensor<4x5x16xf32>, tensor<16x8xf32>) -> tensor<4x5x8xf32>
    %s = kiln.reduce_sum %y axes = [0, 1, 2] : (tensor<4x5x8xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// nn.Linear's form, x @ transpose(w): the weight gradient's transpose is
// folded into a product that stays at the rule's place, before the input's
// gradient.
// CHECK-LABEL: func.func @linear
// CHECK:       %[[AGAIN:.*]] = kiln.gelu
// CHECK:       %[[DW2:.*]] = kiln.matmul {{.*}} -> tensor<8x16xf32>
// CHECK:       kiln.matmul {{.*}} -> tensor<4x5x16xf32>
// CHECK:       kiln.erf
// CHECK:       return %{{.*}}, %{{.*}}, %[[DW2]]
module {
  kiln.parameter @w1 : tensor<8x16xf32>
  kiln.parameter @w2 : tensor<8x16xf32>
  func.func @linear(%x: tensor<4x5x8xf32> {kiln.dims = [4, 5, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w1", "w2"]}} {
    %w1 = kiln.param @w1 : tensor<8x16xf32>
    %w2 = kiln.param @w2 : tensor<8x16xf32>
    %h = kiln.matmul %x, %w1 : (tensor<4x5x8xf32>, tensor<8x16xf32>) -> tensor<4x5x16xf32>
    %g = kiln.gelu %h : tensor<4x5x16xf32>
    %w2t = kiln.transpose %w2 [1, 0] : (tensor<8x16xf32>) -> tensor<16x8xf32>
    %y = kiln.matmul %g, %w2t : (tensor<4x5x16xf32>, tensor<16x8xf32>) -> tensor<4x5x8xf32>
    %s = kiln.reduce_sum %y axes = [0, 1, 2] : (tensor<4x5x8xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// SwiGLU, down(gate * sigmoid(gate) * up): gate and up are read by the
// backward anyway, so sigmoid(gate), the product with gate and the product
// with up are each computed again there (in the order their copies need),
// and the forward keeps none of them.
// CHECK-LABEL: func.func @swiglu
// CHECK:       %[[G:.*]] = kiln.matmul %arg0, %{{.*}} : {{.*}} -> tensor<4x16xf32>
// CHECK:       %[[U:.*]] = kiln.matmul %arg0, %{{.*}} : {{.*}} -> tensor<4x16xf32>
// CHECK:       %[[S:.*]] = kiln.sigmoid %[[G]]
// CHECK:       %[[SILU:.*]] = kiln.mul %[[G]], %[[S]]
// CHECK:       %[[P:.*]] = kiln.mul %[[SILU]], %[[U]]
// CHECK:       kiln.matmul %[[P]], %{{.*}} : {{.*}} -> tensor<4x8xf32>
// CHECK-NOT:   %[[S]]{{[^0-9]}}
// CHECK-NOT:   %[[SILU]]{{[^0-9]}}
// CHECK-NOT:   %[[P]]{{[^0-9]}}
// CHECK:       %[[S2:.*]] = kiln.sigmoid %[[G]]
// CHECK:       %[[SILU2:.*]] = kiln.mul %[[G]], %[[S2]]
// CHECK:       %[[P2:.*]] = kiln.mul %[[SILU2]], %[[U]]
// CHECK:       kiln.transpose %[[P2]]
// CHECK:       return
module {
  kiln.parameter @gate : tensor<8x16xf32>
  kiln.parameter @up : tensor<8x16xf32>
  kiln.parameter @down : tensor<16x8xf32>
  func.func @swiglu(%x: tensor<4x8xf32> {kiln.dims = [4, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["gate", "up", "down"]}} {
    %wg = kiln.param @gate : tensor<8x16xf32>
    %wu = kiln.param @up : tensor<8x16xf32>
    %wd = kiln.param @down : tensor<16x8xf32>
    %g = kiln.matmul %x, %wg : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %u = kiln.matmul %x, %wu : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    %s = kiln.sigmoid %g : tensor<4x16xf32>
    %silu = kiln.mul %g, %s : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    %p = kiln.mul %silu, %u : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
    %y = kiln.matmul %p, %wd : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
    %l = kiln.reduce_sum %y axes = [0, 1] : (tensor<4x8xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// A backward function whose very first op reads the value to compute again
// (mul's rule, for w, reads gelu(h)): the copy goes before that op, and is
// not taken for a forward op and copied again. The backward function's own
// forward copies are dead and go.
// CHECK-LABEL: func.func private @act.vjp(
// CHECK-NEXT:  %[[AGAIN:.*]] = kiln.gelu %arg0
// CHECK-NEXT:  kiln.mul %arg2, %[[AGAIN]]
// CHECK-NOT:   kiln.gelu
// CHECK:       return
module {
  kiln.parameter @w : tensor<4x8xf32>
  func.func private @act(%h: tensor<4x8xf32> {kiln.dims = [4, 8]}, %w: tensor<4x8xf32> {kiln.param = "w"}) -> (tensor<4x8xf32> {kiln.dims = [4, 8]}) {
    %g = kiln.gelu %h : tensor<4x8xf32>
    %m = kiln.mul %w, %g : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    return %m : tensor<4x8xf32>
  }
  func.func @fit(%x: tensor<4x8xf32> {kiln.dims = [4, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w"]}} {
    %w = kiln.param @w : tensor<4x8xf32>
    %h = kiln.mul %x, %w : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    %y = call @act(%h, %w) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    %l = kiln.reduce_sum %y axes = [0, 1] : (tensor<4x8xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
