// RUN: %kiln-opt %s -split-input-file -kiln-autodiff -verify-diagnostics | FileCheck %s
// kiln-autodiff appends a train entry's backward pass: the entry returns its
// loss and then the gradient of each trained parameter; each op contributes
// its vector-Jacobian product; only values that depend on a trained
// parameter carry cotangents; a call gets a backward function.

// Cross-entropy over relu(x @ w^T + b), w and b trained. The loss is seeded
// with 1, cross-entropy's rule is (softmax - one_hot) / N, relu's routes the
// cotangent where its output is positive, the add's sums it over the batch
// for the broadcast bias, the matmul's gives x^T @ g for the transposed
// weight, and the transpose's turns it back: folded, (x^T @ g)^T = g^T @ x.
// CHECK-LABEL: func.func @fit
// CHECK-SAME:    -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}, tensor<10x64xf32> {kiln.dims = [10, 64], kiln.grad = "w", kiln.name = "grad.w"}, tensor<10xf32> {kiln.dims = [10], kiln.grad = "b", kiln.name = "grad.b"})
// CHECK:         %[[LOSS:.*]] = kiln.cross_entropy %[[R:.*]], %[[Y:.*]] :
// CHECK:         %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK:         %[[P:.*]] = kiln.softmax %[[R]] axis = 1
// CHECK:         %[[OH:.*]] = kiln.one_hot %[[Y]]
// CHECK:         %[[N:.*]] = kiln.count %[[R]] axes = [0]
// CHECK:         %[[SCALE:.*]] = kiln.div %[[ONE]], %[[N]]
// CHECK:         %[[D:.*]] = kiln.sub %[[P]], %[[OH]]
// CHECK:         %[[DR:.*]] = kiln.mul %[[D]], %[[SCALE]]
// CHECK:         %[[POS:.*]] = kiln.compare "gt", %[[R]], %{{.*}}
// CHECK:         %[[DA:.*]] = kiln.where %[[POS]], %[[DR]], %{{.*}}
// CHECK:         %[[DB:.*]] = kiln.reduce_sum %[[DA]] axes = [0] : (tensor<?x10xf32>) -> tensor<10xf32>
// CHECK:         %[[GT:.*]] = kiln.transpose %[[DA]] [1, 0] : (tensor<?x10xf32>) -> tensor<10x?xf32>
// CHECK:         %[[DW:.*]] = kiln.matmul %[[GT]], %arg0 : (tensor<10x?xf32>, tensor<?x64xf32>) -> tensor<10x64xf32>
// CHECK-NOT:     kiln.transpose
// CHECK:         return %[[LOSS]], %[[DW]], %[[DB]]
module {
  kiln.parameter @w : tensor<10x64xf32>
  kiln.parameter @b : tensor<10xf32>
  func.func @fit(%x: tensor<?x64xf32> {kiln.dims = ["B", 64], kiln.name = "x"}, %y: tensor<?xi64> {kiln.dims = ["B"], kiln.name = "y"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w", "b"]}} {
    %w = kiln.param @w : tensor<10x64xf32>
    %b = kiln.param @b : tensor<10xf32>
    %t = kiln.transpose %w [1, 0] : (tensor<10x64xf32>) -> tensor<64x10xf32>
    %m = kiln.matmul %x, %t : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
    %a = kiln.add %m, %b : (tensor<?x10xf32>, tensor<10xf32>) -> tensor<?x10xf32>
    %r = kiln.relu %a : tensor<?x10xf32>
    %ce = kiln.cross_entropy %r, %y : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
    return %ce : tensor<f32>
  }
}

// -----

// A frozen layer below the trained one gets no cotangent at all; the call
// of a method function becomes a call of its backward function, which
// recomputes the forward ops its rules need (here none: the linear layer's
// gradients read only x and g) and returns the cotangents of the arguments
// that need one (mask 011: not x, which depends on no trained parameter).
// A parameter read twice sums its cotangents.
// CHECK-LABEL: func.func private @lin.vjp.011
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %[[W:.*]]: tensor<8x8xf32> {kiln.param = "w"}, %[[B:.*]]: tensor<8xf32> {kiln.param = "b"}, %[[G:.*]]: tensor<?x8xf32> {kiln.dims = ["B", 8]}) -> (tensor<8x8xf32>, tensor<8xf32>)
// CHECK-NOT:     kiln.matmul %[[X]], %[[W]]
// CHECK:         %[[DB:.*]] = kiln.reduce_sum %[[G]] axes = [0]
// CHECK:         %[[DW:.*]] = kiln.matmul %{{.*}}, %[[G]]
// CHECK:         return %[[DW]], %[[DB]]
// CHECK-LABEL: func.func @step
// CHECK:         kiln.tanh
// CHECK:         %[[F:[0-9]+]]:2 = call @lin.vjp.011(%{{.*}}, %[[W1:.*]], %[[B1:.*]], %{{.*}})
// CHECK-NOT:     kiln.tanh
// CHECK:         %[[SUM:.*]] = kiln.add %[[F]]#0, %{{.*}} : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
// CHECK:         return %{{.*}}, %[[SUM]], %[[F]]#1
module {
  kiln.parameter @frozen : tensor<8x8xf32>
  kiln.parameter @w : tensor<8x8xf32>
  kiln.parameter @b : tensor<8xf32>
  func.func private @lin(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32> {kiln.param = "w"}, %b: tensor<8xf32> {kiln.param = "b"}) -> (tensor<?x8xf32> {kiln.dims = ["B", 8]}) {
    %m = kiln.matmul %x, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %a = kiln.add %m, %b : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    return %a : tensor<?x8xf32>
  }
  func.func @step(%x: tensor<?x8xf32> {kiln.dims = ["B", 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w", "b"], frozen = ["frozen"]}} {
    %f = kiln.param @frozen : tensor<8x8xf32>
    %w = kiln.param @w : tensor<8x8xf32>
    %b = kiln.param @b : tensor<8xf32>
    %h = kiln.matmul %x, %f : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %t = kiln.tanh %h : tensor<?x8xf32>
    %y = call @lin(%t, %w, %b) : (tensor<?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    %s = kiln.reduce_sum %y axes = [0, 1] : (tensor<?x8xf32>) -> tensor<f32>
    %w2 = kiln.param @w : tensor<8x8xf32>
    %sq = kiln.mul %w2, %w2 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
    %r = kiln.reduce_sum %sq axes = [0, 1] : (tensor<8x8xf32>) -> tensor<f32>
    %l = kiln.add %s, %r : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// An op whose gradient rule does not cover its form (a convolution with
// overlapping windows) on the path of a trained parameter is an error
// naming it; a trained parameter the loss never reads gets zeros and
// a warning; so does a frozen one the loss never reads.
module {
  kiln.parameter @w : tensor<2x3x4x4xf32>
  kiln.parameter @unused : tensor<4xf32>
  kiln.parameter @ignored : tensor<4xf32>
  // expected-warning @+1 {{parameter 'ignored' is frozen, but the loss does not read it: it would get no gradient anyway}}
  func.func @conv(%x: tensor<1x3x8x8xf32> {kiln.dims = [1, 3, 8, 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w"], frozen = ["ignored"]}} {
    %w = kiln.param @w : tensor<2x3x4x4xf32>
    %b = arith.constant dense<0.0> : tensor<2xf32>
    // expected-error @+1 {{'kiln.conv2d' op has a gradient rule only with stride = kernel size (a patch embedding), not strides [2, 2] with a 4x4 kernel}}
    %c = kiln.conv2d %x, %w, %b strides = [2, 2] : (tensor<1x3x8x8xf32>, tensor<2x3x4x4xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
    %s = kiln.reduce_sum %c axes = [0, 1, 2, 3] : (tensor<1x2x3x3xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

module {
  kiln.parameter @w : tensor<4xf32>
  kiln.parameter @unused : tensor<4xf32>
  // expected-warning @+1 {{parameter 'unused' is trained but the loss does not depend on it: its gradient is zero}}
  func.func @sum(%x: tensor<4xf32> {kiln.dims = [4], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w", "unused"]}} {
    %w = kiln.param @w : tensor<4xf32>
    %m = kiln.mul %x, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %s = kiln.reduce_sum %m axes = [0] : (tensor<4xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}

// -----

// A loss calling a model calling its blocks: the functions that call
// functions (@loss and @model here, each called once by the entry) are
// inlined into the entry first, so that the backward reads the entry's own
// forward; the blocks, which call none, stay calls, and their backward
// functions compute their forward again (checkpointing). Without this, the
// backward function of @loss would compute the whole forward a second time
// and @model's a third. @loss has no caller left and goes; @model stays for
// @predict. (The first block's input depends on no trained parameter: its
// backward function returns w's cotangent only, mask 01.)
// CHECK-LABEL: func.func private @model
// CHECK-NOT:   func.func private @loss
// CHECK-LABEL: func.func @predict
// CHECK:         call @model(
// CHECK-LABEL: func.func @step
// CHECK-NOT:     call @loss
// CHECK-NOT:     call @model
// CHECK:         %[[H1:.*]] = call @block(%{{.*}}, %[[W:.*]]) :
// CHECK:         %[[H2:.*]] = call @block(%[[H1]], %[[W]]) :
// CHECK-NOT:     call @block(
// CHECK:         %[[G:.*]]:2 = call @block.vjp(%[[H1]], %[[W]], %{{.*}}) :
// CHECK:         call @block.vjp.01(%{{.*}}, %[[W]], %[[G]]#0) :
// CHECK-NOT:     call @block(
// CHECK:         return
module {
  kiln.parameter @w : tensor<8x8xf32>
  func.func private @block(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32> {kiln.param = "w"}) -> (tensor<?x8xf32> {kiln.dims = ["B", 8]}) {
    %m = kiln.matmul %x, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %t = kiln.tanh %m : tensor<?x8xf32>
    return %t : tensor<?x8xf32>
  }
  func.func private @model(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32> {kiln.param = "w"}) -> (tensor<?x8xf32> {kiln.dims = ["B", 8]}) {
    %h1 = call @block(%x, %w) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %h2 = call @block(%h1, %w) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    return %h2 : tensor<?x8xf32>
  }
  func.func private @loss(%x: tensor<?x8xf32> {kiln.dims = ["B", 8]}, %w: tensor<8x8xf32> {kiln.param = "w"}) -> (tensor<f32> {kiln.dims = []}) {
    %y = call @model(%x, %w) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %s = kiln.reduce_sum %y axes = [0, 1] : (tensor<?x8xf32>) -> tensor<f32>
    return %s : tensor<f32>
  }
  func.func @predict(%x: tensor<?x8xf32> {kiln.dims = ["B", 8], kiln.name = "x"}) -> (tensor<?x8xf32> {kiln.dims = ["B", 8], kiln.name = "y"}) attributes {kiln.entry} {
    %w = kiln.param @w : tensor<8x8xf32>
    %y = call @model(%x, %w) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    return %y : tensor<?x8xf32>
  }
  func.func @step(%x: tensor<?x8xf32> {kiln.dims = ["B", 8], kiln.name = "x"}) -> (tensor<f32> {kiln.dims = [], kiln.name = "loss"}) attributes {kiln.entry, kiln.train = {params = ["w"]}} {
    %w = kiln.param @w : tensor<8x8xf32>
    %l = call @loss(%x, %w) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
