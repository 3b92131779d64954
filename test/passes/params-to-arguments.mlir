// RUN: %kiln-opt %s -kiln-params-to-arguments | FileCheck %s
// Parameters become leading entry arguments, in declaration order, tagged with
// their names; the declarations go away. No entry argument is writable.

// CHECK-NOT: kiln.parameter
kiln.parameter @"fc.weight" : tensor<4x3xf32>
kiln.parameter @"fc.bias" : tensor<4xf32>

// CHECK-LABEL: func.func @predict
// CHECK-SAME: (%[[W:.*]]: tensor<4x3xf32> {bufferization.writable = false, kiln.param = "fc.weight"}, %[[B:.*]]: tensor<4xf32> {bufferization.writable = false, kiln.param = "fc.bias"}, %[[X:.*]]: tensor<?x3xf32> {bufferization.writable = false, kiln.dims = ["B", 3], kiln.name = "x"})
func.func @predict(%x: tensor<?x3xf32> {kiln.name = "x", kiln.dims = ["B", 3]}) -> tensor<?x4xf32> attributes {kiln.entry} {
  // CHECK-NOT: kiln.param
  %b = kiln.param @"fc.bias" : tensor<4xf32>
  %w = kiln.param @"fc.weight" : tensor<4x3xf32>
  // CHECK: kiln.transpose %[[W]]
  %wt = kiln.transpose %w [1, 0] : (tensor<4x3xf32>) -> tensor<3x4xf32>
  %m = kiln.matmul %x, %wt : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
  // CHECK: kiln.add %{{.*}}, %[[B]]
  %y = kiln.add %m, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// An entry reading no parameter still takes them all: one calling convention.
// CHECK-LABEL: func.func @identity
// CHECK-SAME: (%{{.*}}: tensor<4x3xf32> {bufferization.writable = false, kiln.param = "fc.weight"}, %{{.*}}: tensor<4xf32> {bufferization.writable = false, kiln.param = "fc.bias"}, %{{.*}}: tensor<2xf32> {bufferization.writable = false})
func.func @identity(%x: tensor<2xf32>) -> tensor<2xf32> attributes {kiln.entry} {
  return %x : tensor<2xf32>
}
