// RUN: %kiln-opt %s -split-input-file -verify-diagnostics
// The verifiers of kiln.kernel (one form, tensors or memrefs; at least one
// output; integer or float scalars; results matching the tensor outs; a
// callee of runtime/include/kiln/kernels.def with its operand counts and
// scalar kinds) and of
// kiln.softmax_cross_entropy_grad (logits [N, C], targets [N], a scalar loss
// and a gradient of the logits' type).

func.func @kernel_mixed_ins(%x: memref<4xf32>, %l: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op mixes tensor and memref operands}}
  %0 = kiln.kernel @k ins(%x : memref<4xf32>) outs(%l : tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_mixed_outs(%x: memref<4xf32>, %y: tensor<4xf32>, %l: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op mixes tensor and memref operands}}
  kiln.kernel @k ins(%x, %y : memref<4xf32>, tensor<4xf32>) outs(%l : memref<4xf32>)
  return
}

// -----

func.func @kernel_no_outputs(%x: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op has no outputs}}
  "kiln.kernel"(%x) <{callee = @k, operandSegmentSizes = array<i32: 1, 0>}> : (memref<4xf32>) -> ()
  return
}

// -----

func.func @kernel_string_scalar(%x: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op scalar "causal" is neither an integer nor a float}}
  kiln.kernel @k outs(%x : memref<4xf32>) scalars [1, "causal"]
  return
}

// -----

func.func @kernel_array_scalar(%x: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op scalar [1, 2] is neither an integer nor a float}}
  kiln.kernel @k outs(%x : memref<4xf32>) scalars [[1, 2]]
  return
}

// -----

func.func @kernel_non_shaped(%n: i64, %x: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op operand #0 must be variadic of ranked tensor of any type values or memref of any type values, but got 'i64'}}
  kiln.kernel @k ins(%n : i64) outs(%x : memref<4xf32>)
  return
}

// -----

// On tensors each out has a result of its type...
func.func @kernel_missing_result(%x: tensor<4xf32>, %l: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op expected the number of tensor results (0) to be equal to the number of output tensors (1)}}
  kiln.kernel @kiln_rt_dnnl_softmax_f32 ins(%x : tensor<4xf32>) outs(%l : tensor<4xf32>) scalars [0]
  return
}

// -----

func.func @kernel_result_type(%x: tensor<4xf32>, %l: tensor<4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'kiln.kernel' op expected type of operand #1 ('tensor<4xf32>') to match type of corresponding result ('tensor<8xf32>')}}
  %0 = kiln.kernel @kiln_rt_dnnl_softmax_f32 ins(%x : tensor<4xf32>) outs(%l : tensor<4xf32>) scalars [0] -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// ...and on memrefs there are none.
func.func @kernel_memref_result(%x: memref<4xf32>, %l: memref<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'kiln.kernel' op expected the number of tensor results (1) to be equal to the number of output tensors (0)}}
  %0 = kiln.kernel @kiln_rt_dnnl_softmax_f32 ins(%x : memref<4xf32>) outs(%l : memref<4xf32>) scalars [0] -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @kernel_unknown(%x: memref<4xf32>, %l: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op calls @kiln_rt_softmax_f32, which is not a runtime kernel (runtime/include/kiln/kernels.def)}}
  kiln.kernel @kiln_rt_softmax_f32 ins(%x : memref<4xf32>) outs(%l : memref<4xf32>)
  return
}

// -----

func.func @kernel_operand_counts(%x: memref<4x10xf32>, %t: memref<4xi64>, %l: memref<f32>, %lse: memref<4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op @kiln_rt_softmax_ce_f32 takes 2 inputs and 1 outputs, not 2 and 2}}
  kiln.kernel @kiln_rt_softmax_ce_f32 ins(%x, %t : memref<4x10xf32>, memref<4xi64>) outs(%l, %lse : memref<f32>, memref<4xf32>)
  return
}

// -----

func.func @kernel_scalar_kind(%a: memref<8x8xf32>, %c: memref<8x8xf32>) {
  // expected-error @+1 {{'kiln.kernel' op @kiln_rt_dnnl_matmul_f32 takes the scalars "i" ('i' an integer, 'f' a float), not [2.000000e+00]}}
  kiln.kernel @kiln_rt_dnnl_matmul_f32 ins(%a, %a : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) scalars [2.0]
  return
}

// -----

func.func @kernel_scalar_count(%q: memref<1x1x4x4xf32>) {
  // expected-error @+1 {{'kiln.kernel' op @kiln_rt_attention_f32 takes the scalars "fii" ('i' an integer, 'f' a float), not [1.250000e-01, 1]}}
  kiln.kernel @kiln_rt_attention_f32 ins(%q, %q, %q : memref<1x1x4x4xf32>, memref<1x1x4x4xf32>, memref<1x1x4x4xf32>) outs(%q : memref<1x1x4x4xf32>) scalars [0.125, 1]
  return
}

// -----

func.func @grad_logits_rank(%x: tensor<4x10x2xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op logits must be [N, C], got f32[4, 10, 2]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10x2xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x10x2xf32>)
  return
}

// -----

func.func @grad_targets_rank(%x: tensor<4x10xf32>, %t: tensor<4x1xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op targets must be [N], got i64[4, 1]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4x1xi64>) -> (tensor<f32>, tensor<4x10xf32>)
  return
}

// -----

func.func @grad_targets_float(%x: tensor<4x10xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op operand #1 must be ranked tensor of signless integer values, but got 'tensor<4xf32>'}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4xf32>) -> (tensor<f32>, tensor<4x10xf32>)
  return
}

// -----

func.func @grad_batch(%x: tensor<4x10xf32>, %t: tensor<5xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op batch sizes differ: logits f32[4, 10], targets i64[5]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<5xi64>) -> (tensor<f32>, tensor<4x10xf32>)
  return
}

// -----

func.func @grad_loss_rank(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op loss must be a scalar of the logits' element type, got f32[4]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<4xf32>, tensor<4x10xf32>)
  return
}

// -----

func.func @grad_loss_element_type(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op loss must be a scalar of the logits' element type, got f16[]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f16>, tensor<4x10xf32>)
  return
}

// -----

func.func @grad_shape(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op grad must have the logits' type f32[4, 10], got f32[4, 11]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x11xf32>)
  return
}

// -----

func.func @grad_element_type(%x: tensor<4x10xf32>, %t: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.softmax_cross_entropy_grad' op grad must have the logits' type f32[4, 10], got f16[4, 10]}}
  %0, %1 = kiln.softmax_cross_entropy_grad %x, %t : (tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x10xf16>)
  return
}

// -----

func.func @kernel_unranked(%x: memref<*xf32>, %l: memref<f32>) {
  // expected-error @+1 {{'kiln.kernel' op operand #0 must be variadic of ranked tensor of any type values or memref of any type values, but got 'memref<*xf32>'}}
  kiln.kernel @k ins(%x : memref<*xf32>) outs(%l : memref<f32>)
  return
}

// -----

func.func @kl_div_temperature(%s: tensor<4x10xf32>, %t: tensor<4x10xf32>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.softmax_kl_div' op temperature must be positive, got 0}}
  %0 = kiln.softmax_kl_div %s, %t temperature = 0.0 : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @kl_div_shapes(%s: tensor<4x10xf32>, %t: tensor<4x12xf32>) -> tensor<f32> {
  // expected-error @+1 {{'kiln.softmax_kl_div' op student and teacher must be [N, C] of one type, got}}
  %0 = kiln.softmax_kl_div %s, %t temperature = 2.0 : (tensor<4x10xf32>, tensor<4x12xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @contrastive_not_square(%s: tensor<4x5xf32>, %t: tensor<4xi64>) -> (tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{'kiln.contrastive_cross_entropy' op logits must be square [N, N], got}}
  %0:2 = kiln.contrastive_cross_entropy %s, %t : (tensor<4x5xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<f32>)
  return %0#0, %0#1 : tensor<f32>, tensor<f32>
}

// -----

func.func @distillation_targets(%s: tensor<4x10xf32>, %t: tensor<4x10xf32>, %y: tensor<5xi64>) -> (tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{'kiln.distillation_loss' op batch sizes differ: logits}}
  %0:2 = kiln.distillation_loss %s, %t, %y temperature = 2.0 : (tensor<4x10xf32>, tensor<4x10xf32>, tensor<5xi64>) -> (tensor<f32>, tensor<f32>)
  return %0#0, %0#1 : tensor<f32>, tensor<f32>
}

// -----

func.func @distillation_temperature(%s: tensor<4x10xf32>, %t: tensor<4x10xf32>, %y: tensor<4xi64>) -> (tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{'kiln.distillation_loss' op temperature must be positive, got -1}}
  %0:2 = kiln.distillation_loss %s, %t, %y temperature = -1.0 : (tensor<4x10xf32>, tensor<4x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<f32>)
  return %0#0, %0#1 : tensor<f32>, tensor<f32>
}

// -----

func.func @attention_bias_shape(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x12x16xf32>, %b: tensor<8x13xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{'kiln.attention' op bias f32[8, 13] must broadcast to the scores [2, 4, 8, 12] and have the query's element type}}
  %0 = kiln.attention %q, %k, %k bias %b scale = 0.25 : (tensor<2x4x8x16xf32>, tensor<2x4x12x16xf32>, tensor<2x4x12x16xf32>, tensor<8x13xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

func.func @softmax_kl_div_grad_type(%s: tensor<?x8xf32>, %t: tensor<?x8xf32>) {
  // expected-error @+1 {{'kiln.softmax_kl_div_grad' op grad must have the student's type f32[?, 8], got f32[?, 4]}}
  %0:2 = kiln.softmax_kl_div_grad %s, %t temperature = 2.0 : (tensor<?x8xf32>, tensor<?x8xf32>) -> (tensor<f32>, tensor<?x4xf32>)
  return
}

// -----

func.func @contrastive_grad_type(%s: tensor<8x8xf32>, %t: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.contrastive_cross_entropy_grad' op gradients must have the logits' type f32[8, 8]}}
  %0:4 = kiln.contrastive_cross_entropy_grad %s, %t : (tensor<8x8xf32>, tensor<8xi64>) -> (tensor<f32>, tensor<f32>, tensor<8x8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @contrastive_grad_sum_scale(%s: tensor<8x8xf32>, %t: tensor<8xi64>, %a: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.contrastive_cross_entropy_grad_sum' op scales must be scalars of the logits' element type}}
  %0:3 = kiln.contrastive_cross_entropy_grad_sum %s, %t, %a, %a : (tensor<8x8xf32>, tensor<8xi64>, tensor<8xf32>, tensor<8xf32>) -> (tensor<f32>, tensor<f32>, tensor<8x8xf32>)
  return
}
