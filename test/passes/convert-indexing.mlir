// RUN: %kiln-opt %s -split-input-file -kiln-convert-to-linalg | FileCheck %s
// argmax, arange, one_hot, full_like, index_select and scatter_add lower to
// linalg generics that compute or guard their indices; an entry's bool
// tensors become bytes at its boundary.

// The row max, then the smallest index holding it (a NaN matches itself).
// CHECK-LABEL: func.func @argmax
// CHECK: arith.maximumf
// CHECK: %[[EQ:.*]] = arith.cmpf oeq
// CHECK: %[[NAN:.*]] = arith.cmpf uno
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: %[[I64:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK: %[[HIT:.*]] = arith.ori %[[EQ]], %[[NAN]]
// CHECK: arith.select %[[HIT]], %[[I64]], %c9223372036854775807_i64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.minsi
func.func @argmax(%x: tensor<?x7xf32>) -> tensor<?xi64> {
  %0 = kiln.argmax %x axis = 1 : (tensor<?x7xf32>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// CHECK-LABEL: func.func @arange
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?xi64>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?xi64>)
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: arith.index_cast %[[I]] : index to i64
func.func @arange(%x: tensor<?x7xf32>) -> tensor<?xi64> {
  %n = kiln.dim %x, 0 : tensor<?x7xf32>
  %0 = kiln.arange [%n] : tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// CHECK-DAG: #[[IDS:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @one_hot
// CHECK: linalg.generic {indexing_maps = [#[[IDS]], #{{.*}}]
// CHECK: %[[ID:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK: %[[C:.*]] = linalg.index 2
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[ID]], %[[C]]
// CHECK: arith.select %[[HIT]], %cst_0, %cst
func.func @one_hot(%ids: tensor<?x3xi64>) -> tensor<?x3x5xf32> {
  %0 = kiln.one_hot %ids : (tensor<?x3xi64>) -> tensor<?x3x5xf32>
  return %0 : tensor<?x3x5xf32>
}

// -----

// CHECK-LABEL: func.func @full_like
// CHECK-DAG: %[[I:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[F:.*]] = arith.constant -2.500000e+00 : f32
// CHECK: linalg.fill ins(%[[F]] : f32)
// CHECK: linalg.fill ins(%[[I]] : i64)
func.func @full_like(%x: tensor<?x7xf32>, %ids: tensor<?x3xi64>) -> (tensor<?x7xf32>, tensor<?x3xi64>) {
  %0 = kiln.full_like %x value = -2.5 : (tensor<?x7xf32>) -> tensor<?x7xf32>
  %1 = kiln.full_like %ids value = 4.0 : (tensor<?x3xi64>) -> tensor<?x3xi64>
  return %0, %1 : tensor<?x7xf32>, tensor<?x3xi64>
}

// -----

// A bad index reads row 0 and yields NaN instead.
// CHECK-LABEL: func.func @index_select
// CHECK: %[[E:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[E]]) : tensor<?x4xf32>
// CHECK: %[[ID:.*]] = arith.index_cast
// CHECK: %[[LOW:.*]] = arith.cmpi sge, %[[ID]], %c0
// CHECK: %[[HIGH:.*]] = arith.cmpi slt, %[[ID]], %[[N]]
// CHECK: %[[OK:.*]] = arith.andi %[[LOW]], %[[HIGH]]
// CHECK: %[[COL:.*]] = linalg.index 1
// CHECK: %[[SAFE:.*]] = arith.select %[[OK]], %[[ID]], %c0
// CHECK: %[[V:.*]] = tensor.extract %arg0[%[[SAFE]], %[[COL]]]
// CHECK: arith.select %[[OK]], %[[V]], %cst
func.func @index_select(%h: tensor<?x4xf32>, %src: tensor<?xi64>) -> tensor<?x4xf32> {
  %0 = kiln.index_select %h, %src axis = 0 : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// A reduction over the edges (d2) into zeros, then init added.
// CHECK-DAG: #[[IDX:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[SRC:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @scatter_add
// CHECK: %[[Z:.*]] = linalg.fill ins(%cst : f32)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[IDX]], #[[SRC]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1, %arg2 : {{.*}}) outs(%[[Z]] : tensor<?x4xf32>)
// CHECK: %[[ID:.*]] = arith.index_cast
// CHECK: %[[ROW:.*]] = linalg.index 0
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[ID]], %[[ROW]]
// CHECK: %[[ADD:.*]] = arith.addf %[[ACC:.*]], %{{.*}}
// CHECK: arith.select %[[HIT]], %[[ADD]], %[[ACC]]
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[SUM]] :
// CHECK: arith.addf
func.func @scatter_add(%h: tensor<?x4xf32>, %dst: tensor<?xi64>, %msg: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = kiln.scatter_add %h, %dst, %msg : (tensor<?x4xf32>, tensor<?xi64>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// CHECK-LABEL: func.func @bool_entry
// CHECK-SAME: %arg0: tensor<?x8xi8>
// CHECK-SAME: -> (tensor<?x8xf32>, tensor<?x8xi8>)
// CHECK: %[[FLAGS:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<?x8xi8>) outs(%{{.*}} : tensor<?x8xi1>)
// CHECK: arith.cmpi ne, %{{.*}}, %c0_i8 : i8
// CHECK: linalg.generic {{.*}} ins(%[[FLAGS]], %arg1, %arg1 :
// CHECK: arith.select
// CHECK: %[[BYTES:.*]] = linalg.generic {{.*}} ins(%[[FLAGS]] : tensor<?x8xi1>) outs(%{{.*}} : tensor<?x8xi8>)
// CHECK: arith.extui %{{.*}} : i1 to i8
// CHECK: return %{{.*}}, %[[BYTES]]
func.func @bool_entry(%c: tensor<?x8xi1>, %a: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xi1>) attributes {kiln.entry} {
  %0 = kiln.where %c, %a, %a : (tensor<?x8xi1>, tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0, %c : tensor<?x8xf32>, tensor<?x8xi1>
}
