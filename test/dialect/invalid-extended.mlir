// RUN: %kiln-opt %s -split-input-file -verify-diagnostics
// The verifiers of the ops beyond the foundation: every rank, shape and
// element-type rule, each message naming the shapes involved.

func.func @gelu_mode(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.gelu' op approximate must be "none" or "tanh", got "fast"}}
  %0 = kiln.gelu %x {approximate = "fast"} : tensor<4xf32>
  return
}

// -----

func.func @pow_int(%x: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.pow' op operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.pow %x, %x : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @pow_shapes(%x: tensor<4x3xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.pow' op operand shapes [4, 3] and [4] are not broadcast-compatible}}
  %0 = kiln.pow %x, %y : (tensor<4x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @clamp_order(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.clamp' op min 2.000000e+00 is greater than max 1.000000e+00}}
  %0 = kiln.clamp %x min = 2.0 max = 1.0 : tensor<4xf32>
  return
}

// -----

func.func @where_cond(%c: tensor<3xi1>, %x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.where' op condition shape [3] and value shape [4] are not broadcast-compatible}}
  %0 = kiln.where %c, %x, %x : (tensor<3xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @where_types(%c: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.where' op operand element types differ: f32[4] and i64[4]}}
  %0 = kiln.where %c, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @where_shapes(%c: tensor<4xi1>, %x: tensor<4x3xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.where' op operand shapes [4, 3] and [4] are not broadcast-compatible}}
  %0 = kiln.where %c, %x, %y : (tensor<4xi1>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @cast_shape(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.cast' op result shape [5] differs from the input shape [4]}}
  %0 = kiln.cast %x : (tensor<4xf32>) -> tensor<5xi64>
  return
}

// -----

func.func @cast_i1(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.cast' op cannot cast to i1 (compare instead): f32[4] to i1[4]}}
  %0 = kiln.cast %x : (tensor<4xf32>) -> tensor<4xi1>
  return
}

// -----

func.func @cast_float(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.cast' op float to float casts are not supported: f32[4] to f16[4]}}
  %0 = kiln.cast %x : (tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

func.func @layer_norm_weight(%x: tensor<?x8xf32>, %w: tensor<4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.layer_norm' op weight must be f32[8] for input f32[?, 8], got f32[4]}}
  %0 = kiln.layer_norm %x, %w, %b eps = 1.0e-5 : (tensor<?x8xf32>, tensor<4xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @layer_norm_bias(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<8x1xf32>) {
  // expected-error @+1 {{'kiln.layer_norm' op bias must be f32[8] for input f32[?, 8], got f32[8, 1]}}
  %0 = kiln.layer_norm %x, %w, %b eps = 1.0e-5 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8x1xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<?x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.rms_norm' op weight must be f32[8] for input f32[?, 8], got f32[4]}}
  %0 = kiln.rms_norm %x, %w eps = 1.0e-6 : (tensor<?x8xf32>, tensor<4xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @rms_norm_grad_results(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.rms_norm_grad' op results must have the types of input, then weight}}
  %0:2 = kiln.rms_norm_grad %x, %w, %x eps = 1.0e-6 : (tensor<?x8xf32>, tensor<8xf32>, tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<4xf32>)
  return
}

// -----

func.func @layer_norm_rank(%x: tensor<f32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.layer_norm' op input must have rank >= 1, got f32[]}}
  %0 = kiln.layer_norm %x, %w, %w eps = 1.0e-5 : (tensor<f32>, tensor<8xf32>, tensor<8xf32>) -> tensor<f32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.layer_norm' op eps must not be negative}}
  %0 = kiln.layer_norm %x, %x, %x eps = -1.0 : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @embedding_rank(%w: tensor<10xf32>, %ids: tensor<3xi64>) {
  // expected-error @+1 {{'kiln.embedding' op weight must be [N, D], got f32[10]}}
  %0 = kiln.embedding %w, %ids : (tensor<10xf32>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @embedding_result(%w: tensor<10x8xf32>, %ids: tensor<3xi64>) {
  // expected-error @+1 {{'kiln.embedding' op result shape [3, 4] differs from the expected [3, 8]}}
  %0 = kiln.embedding %w, %ids : (tensor<10x8xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  return
}

// -----

func.func @embedding_ids(%w: tensor<10x8xf32>, %ids: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.embedding' op operand #1 must be ranked tensor of signless integer values}}
  %0 = kiln.embedding %w, %ids : (tensor<10x8xf32>, tensor<3xf32>) -> tensor<3x8xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<5x4x6xf32>) {
  // expected-error @+1 {{'kiln.matmul' op batch dims of [2, 3, 4] and [5, 4, 6] are not broadcast-compatible}}
  %0 = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<5x4x6xf32>) -> tensor<2x3x6xf32>
  return
}

// -----

func.func @matmul_broadcast_result(%a: tensor<2x3x4xf32>, %b: tensor<4x6xf32>) {
  // expected-error @+1 {{'kiln.matmul' op result shape [3, 6] differs from the expected [2, 3, 6]}}
  %0 = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x6xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @dim_range(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.dim' op axis 1 is out of range for f32[4]}}
  %0 = kiln.dim %x, 1 : tensor<4xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<4x6xf32>) {
  // expected-error @+1 {{'kiln.reshape' op cannot reshape [4, 6] (24 elements) to [5, 5] (25 elements)}}
  %0 = kiln.reshape %x : (tensor<4x6xf32>) -> tensor<5x5xf32>
  return
}

// -----

func.func @reshape_sizes(%x: tensor<?x6xf32>) {
  // expected-error @+1 {{'kiln.reshape' op has 0 sizes for the 1 dynamic dims of [?, 2, 3]}}
  %0 = kiln.reshape %x : (tensor<?x6xf32>) -> tensor<?x2x3xf32>
  return
}

// -----

func.func @reshape_static(%x: tensor<4x6xf32>, %n: index) {
  // expected-error @+1 {{'kiln.reshape' op cannot reshape the static [4, 6] to the dynamic [?, 6]}}
  %0 = kiln.reshape %x [%n] : (tensor<4x6xf32>) -> tensor<?x6xf32>
  return
}

// -----

func.func @reshape_type(%x: tensor<4x6xf32>) {
  // expected-error @+1 {{'kiln.reshape' op result element type 'i64' differs from operand element type 'f32'}}
  %0 = kiln.reshape %x : (tensor<4x6xf32>) -> tensor<24xi64>
  return
}

// -----

func.func @slice_range(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'kiln.slice' op slice [2, 5) of axis 1 is out of range for f32[?, 4]}}
  %0 = kiln.slice %x axis = 1 start = 2 end = 5 : (tensor<?x4xf32>) -> tensor<?x3xf32>
  return
}

// -----

func.func @slice_axis(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'kiln.slice' op axis 2 is out of range for f32[?, 4]}}
  %0 = kiln.slice %x axis = 2 start = 0 end = 1 : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @slice_result(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'kiln.slice' op result shape [?, 3] differs from the expected [?, 2]}}
  %0 = kiln.slice %x axis = 1 start = 1 end = 3 : (tensor<?x4xf32>) -> tensor<?x3xf32>
  return
}

// -----

func.func @select_range(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'kiln.select' op index 4 of axis 1 is out of range for f32[?, 4]}}
  %0 = kiln.select %x axis = 1 index = 4 : (tensor<?x4xf32>) -> tensor<?xf32>
  return
}

// -----

func.func @select_result(%x: tensor<?x4xf32>) {
  // expected-error @+1 {{'kiln.select' op result shape [?, 4] differs from the expected [?]}}
  %0 = kiln.select %x axis = 1 index = 0 : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<?x3x8xf32>, %b: tensor<?x2x4xf32>) {
  // expected-error @+1 {{'kiln.concat' op inputs f32[?, 3, 8] and f32[?, 2, 4] differ in element type, rank or a dim other than axis 1}}
  %0 = kiln.concat %a, %b axis = 1 : (tensor<?x3x8xf32>, tensor<?x2x4xf32>) -> tensor<?x5x8xf32>
  return
}

// -----

func.func @concat_result(%a: tensor<?x3x8xf32>, %b: tensor<?x2x8xf32>) {
  // expected-error @+1 {{'kiln.concat' op result shape [?, 6, 8] differs from the expected [?, 5, 8]}}
  %0 = kiln.concat %a, %b axis = 1 : (tensor<?x3x8xf32>, tensor<?x2x8xf32>) -> tensor<?x6x8xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'kiln.attention' op query, key and value must be [B, H, S, D], [B, H, T, D], [B, H, T, E], got f32[2, 3, 4], f32[2, 3, 4], f32[2, 3, 4]}}
  %0 = kiln.attention %q, %q, %q scale = 1.0 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @attention_qk(%q: tensor<2x4x5x8xf32>, %k: tensor<2x4x6x16xf32>) {
  // expected-error @+1 {{'kiln.attention' op query [2, 4, 5, 8] and key [2, 4, 6, 16] differ in batch, heads or head dim}}
  %0 = kiln.attention %q, %k, %k scale = 1.0 : (tensor<2x4x5x8xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x16xf32>) -> tensor<2x4x5x16xf32>
  return
}

// -----

func.func @attention_kv(%q: tensor<2x4x5x8xf32>, %k: tensor<2x4x6x8xf32>, %v: tensor<2x4x7x8xf32>) {
  // expected-error @+1 {{'kiln.attention' op key [2, 4, 6, 8] and value [2, 4, 7, 8] differ in batch, heads or length}}
  %0 = kiln.attention %q, %k, %v scale = 1.0 : (tensor<2x4x5x8xf32>, tensor<2x4x6x8xf32>, tensor<2x4x7x8xf32>) -> tensor<2x4x5x8xf32>
  return
}

// -----

func.func @attention_mask(%q: tensor<2x4x5x8xf32>, %m: tensor<2x5xi1>, %k: tensor<2x4x6x8xf32>) {
  // expected-error @+1 {{'kiln.attention' op mask [2, 5] must be [B, T] = [2, 6] for key [2, 4, 6, 8]}}
  %0 = kiln.attention %q, %k, %k mask %m scale = 1.0 : (tensor<2x4x5x8xf32>, tensor<2x4x6x8xf32>, tensor<2x4x6x8xf32>, tensor<2x5xi1>) -> tensor<2x4x5x8xf32>
  return
}

// -----

func.func @attention_types(%q: tensor<2x4x5x8xf32>, %k: tensor<2x4x6x8xf16>) {
  // expected-error @+1 {{'kiln.attention' op element types differ: f32[2, 4, 5, 8], f16[2, 4, 6, 8], f16[2, 4, 6, 8]}}
  %0 = kiln.attention %q, %k, %k scale = 1.0 : (tensor<2x4x5x8xf32>, tensor<2x4x6x8xf16>, tensor<2x4x6x8xf16>) -> tensor<2x4x5x8xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<3x8x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op input, weight and bias must be [B, C, H, W], [O, C, KH, KW], [O], got f32[3, 8, 8], f32[4, 3, 4, 4], f32[4]}}
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<3x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<4x2x2xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<?x2x8x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op channels differ: input [?, 2, 8, 8], weight [4, 3, 4, 4], bias [4]}}
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<?x2x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x2x2xf32>
  return
}

// -----

func.func @conv_strides(%x: tensor<?x3x8x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op strides must be two positive integers}}
  %0 = kiln.conv2d %x, %w, %b strides = [0, 4] : (tensor<?x3x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x2x2xf32>
  return
}

// -----

func.func @conv_kernel(%x: tensor<?x3x2x2xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op kernel [4, 3, 4, 4] is larger than the input [?, 3, 2, 2]}}
  %0 = kiln.conv2d %x, %w, %b strides = [1, 1] : (tensor<?x3x2x2xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x1x1xf32>
  return
}

// -----

func.func @conv_static(%x: tensor<?x3x?x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op weight and the spatial dims of the input must be static, got f32[?, 3, ?, 8] and f32[4, 3, 4, 4]}}
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<?x3x?x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x?x2xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<?x3x8x8xf32>, %w: tensor<4x3x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.conv2d' op result shape [?, 4, 5, 5] differs from the expected [?, 4, 2, 2]}}
  %0 = kiln.conv2d %x, %w, %b strides = [4, 4] : (tensor<?x3x8x8xf32>, tensor<4x3x4x4xf32>, tensor<4xf32>) -> tensor<?x4x5x5xf32>
  return
}

// -----

func.func @kl_div_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'kiln.kl_div' op log_input must have rank >= 1, got f32[]}}
  %0 = kiln.kl_div %x, %x : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @kl_div_shapes(%x: tensor<4x10xf32>, %t: tensor<4x9xf32>) {
  // expected-error @+1 {{'kiln.kl_div' op log_input f32[4, 10] and target f32[4, 9] differ in shape or element type}}
  %0 = kiln.kl_div %x, %t : (tensor<4x10xf32>, tensor<4x9xf32>) -> tensor<f32>
  return
}

// -----

func.func @kl_div_result(%x: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.kl_div' op result shape [4] differs from the expected []}}
  %0 = kiln.kl_div %x, %x : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @l2_normalize_axis(%x: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.l2_normalize' op axis 2 is out of range for f32[4, 10]}}
  %0 = kiln.l2_normalize %x axis = 2 eps = 1.0e-12 : tensor<4x10xf32>
  return
}

// -----

func.func @l2_normalize_eps(%x: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.l2_normalize' op eps must not be negative}}
  %0 = kiln.l2_normalize %x axis = 1 eps = -1.0 : tensor<4x10xf32>
  return
}

// -----

func.func @cosine_rank(%a: tensor<4x10xf32>, %b: tensor<10xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op operands f32[4, 10] and f32[10] differ in element type or rank}}
  %0 = kiln.cosine_similarity %a, %b axis = 1 eps = 1.0e-8 : (tensor<4x10xf32>, tensor<10xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cosine_axis(%a: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op axis 2 is out of range for f32[4, 10]}}
  %0 = kiln.cosine_similarity %a, %a axis = 2 eps = 1.0e-8 : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cosine_along_axis(%a: tensor<4x10xf32>, %b: tensor<4x1xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op operands [4, 10] and [4, 1] differ along axis 1}}
  %0 = kiln.cosine_similarity %a, %b axis = 1 eps = 1.0e-8 : (tensor<4x10xf32>, tensor<4x1xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cosine_broadcast(%a: tensor<4x10xf32>, %b: tensor<3x10xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op operand shapes [4, 10] and [3, 10] are not broadcast-compatible}}
  %0 = kiln.cosine_similarity %a, %b axis = 1 eps = 1.0e-8 : (tensor<4x10xf32>, tensor<3x10xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cosine_eps(%a: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op eps must not be negative}}
  %0 = kiln.cosine_similarity %a, %a axis = 1 eps = -1.0 : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @cosine_result(%a: tensor<4x10xf32>) {
  // expected-error @+1 {{'kiln.cosine_similarity' op result shape [10] differs from the expected [4]}}
  %0 = kiln.cosine_similarity %a, %a axis = 1 eps = 1.0e-8 : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<10xf32>
  return
}

// -----

func.func @argmax_axis(%x: tensor<4x7xf32>) {
  // expected-error @+1 {{'kiln.argmax' op axis -1 is out of range for f32[4, 7]}}
  %0 = kiln.argmax %x axis = -1 : (tensor<4x7xf32>) -> tensor<4xi64>
  return
}

// -----

func.func @argmax_result(%x: tensor<4x7xf32>) {
  // expected-error @+1 {{'kiln.argmax' op result shape [7] differs from the expected [4]}}
  %0 = kiln.argmax %x axis = 1 : (tensor<4x7xf32>) -> tensor<7xi64>
  return
}

// -----

func.func @argmax_type(%x: tensor<4x7xf32>) {
  // expected-error @+1 {{'kiln.argmax' op result #0 must be ranked tensor of 64-bit signless integer values}}
  %0 = kiln.argmax %x axis = 1 : (tensor<4x7xf32>) -> tensor<4xi32>
  return
}

// -----

func.func @arange_rank() {
  // expected-error @+1 {{'kiln.arange' op result must have rank 1, got i64[2, 3]}}
  %0 = kiln.arange : tensor<2x3xi64>
  return
}

// -----

func.func @arange_size() {
  // expected-error @+1 {{'kiln.arange' op needs a size operand exactly when the result i64[?] is dynamic}}
  %0 = kiln.arange : tensor<?xi64>
  return
}

// -----

func.func @one_hot_classes(%ids: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op result f32[4, ?] must be ids' shape [4] and a static number of classes}}
  %0 = kiln.one_hot %ids : (tensor<4xi64>) -> tensor<4x?xf32>
  return
}

// -----

func.func @one_hot_shape(%ids: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.one_hot' op result shape [3, 5] differs from the expected [4, 5]}}
  %0 = kiln.one_hot %ids : (tensor<4xi64>) -> tensor<3x5xf32>
  return
}

// -----

func.func @full_like_int(%x: tensor<4xi64>) {
  // expected-error @+1 {{'kiln.full_like' op value 2.500000e+00 is not an integer for i64[4]}}
  %0 = kiln.full_like %x value = 2.5 : (tensor<4xi64>) -> tensor<4xi64>
  return
}

// -----

func.func @full_like_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.full_like' op result element type 'i64' differs from operand element type 'f32'}}
  %0 = kiln.full_like %x value = 2.0 : (tensor<4xf32>) -> tensor<4xi64>
  return
}

// -----

func.func @index_select_axis(%x: tensor<5x4xf32>, %i: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.index_select' op axis 2 is out of range for f32[5, 4]}}
  %0 = kiln.index_select %x, %i axis = 2 : (tensor<5x4xf32>, tensor<8xi64>) -> tensor<8x4xf32>
  return
}

// -----

func.func @index_select_indices(%x: tensor<5x4xf32>, %i: tensor<2x8xi64>) {
  // expected-error @+1 {{'kiln.index_select' op indices must be [E], got i64[2, 8]}}
  %0 = kiln.index_select %x, %i axis = 0 : (tensor<5x4xf32>, tensor<2x8xi64>) -> tensor<8x4xf32>
  return
}

// -----

func.func @index_select_result(%x: tensor<5x4xf32>, %i: tensor<8xi64>) {
  // expected-error @+1 {{'kiln.index_select' op result shape [5, 4] differs from the expected [8, 4]}}
  %0 = kiln.index_select %x, %i axis = 0 : (tensor<5x4xf32>, tensor<8xi64>) -> tensor<5x4xf32>
  return
}

// -----

func.func @scatter_add_init(%x: tensor<f32>, %i: tensor<8xi64>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'kiln.scatter_add' op init must be [N, ...], got f32[]}}
  %0 = kiln.scatter_add %x, %i, %s : (tensor<f32>, tensor<8xi64>, tensor<8xf32>) -> tensor<f32>
  return
}

// -----

func.func @scatter_add_indices(%x: tensor<5x4xf32>, %i: tensor<2x8xi64>, %s: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_add' op indices must be [E], got i64[2, 8]}}
  %0 = kiln.scatter_add %x, %i, %s : (tensor<5x4xf32>, tensor<2x8xi64>, tensor<8x4xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @scatter_add_src(%x: tensor<5x4xf32>, %i: tensor<8xi64>, %s: tensor<8x3xf32>) {
  // expected-error @+1 {{'kiln.scatter_add' op src f32[8, 3] must be [E, ...] for indices i64[8] and init f32[5, 4]}}
  %0 = kiln.scatter_add %x, %i, %s : (tensor<5x4xf32>, tensor<8xi64>, tensor<8x3xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @scatter_add_edges(%x: tensor<5x4xf32>, %i: tensor<8xi64>, %s: tensor<7x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_add' op src f32[7, 4] must be [E, ...] for indices i64[8] and init f32[5, 4]}}
  %0 = kiln.scatter_add %x, %i, %s : (tensor<5x4xf32>, tensor<8xi64>, tensor<7x4xf32>) -> tensor<5x4xf32>
  return
}

// -----

func.func @scatter_add_result(%x: tensor<5x4xf32>, %i: tensor<8xi64>, %s: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.scatter_add' op result shape [8, 4] differs from the expected [5, 4]}}
  %0 = kiln.scatter_add %x, %i, %s : (tensor<5x4xf32>, tensor<8xi64>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @slice_negative_start(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.slice' op slice [-1, 2) of axis 0 is out of range for f32[8, 4]}}
  %0 = "kiln.slice"(%a) {axis = 0 : i64, start = -1 : i64, end = 2 : i64} : (tensor<8x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @select_negative(%a: tensor<8x4xf32>) {
  // expected-error @+1 {{'kiln.select' op index -2 of axis 1 is out of range for f32[8, 4]}}
  %0 = "kiln.select"(%a) {axis = 1 : i64, index = -2 : i64} : (tensor<8x4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @compare_predicate(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kiln.compare' op predicate must be one of lt, le, gt, ge, eq, ne; got "greater"}}
  %0 = kiln.compare "greater", %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  return
}

// -----

func.func @compare_shapes(%x: tensor<4xf32>, %y: tensor<3xf32>) {
  // expected-error @+1 {{'kiln.compare' op operand shapes [4] and [3] are not broadcast-compatible}}
  %0 = kiln.compare "lt", %x, %y : (tensor<4xf32>, tensor<3xf32>) -> tensor<4xi1>
  return
}

// -----

func.func @count_axes(%x: tensor<4x5xf32>) {
  // expected-error @+1 {{'kiln.count' op axes must be sorted, distinct dims of f32[4, 5]}}
  %0 = kiln.count %x axes = [1, 0] : (tensor<4x5xf32>) -> tensor<f32>
  return
}
