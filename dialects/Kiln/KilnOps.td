#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "KilnDialect.td"
include "KilnInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Kiln_Tensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

// Ops that declare their vector-Jacobian product (KilnGradients.cpp).
defvar Differentiable = DeclareOpInterfaceMethods<Kiln_DifferentiableOpInterface>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def Kiln_ParameterOp : Kiln_Op<"parameter", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "Declares a model parameter (a weight tensor loaded at create time)";
  let description = [{
    A named, statically shaped tensor the runtime binds from the weights file.
    The name is the PyTorch `state_dict` path, e.g. `fc1.weight`. Parameters are
    never materialized as IR constants.

    ```mlir
    kiln.parameter @"fc1.weight" : tensor<128x64xf32>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, TypeAttrOf<Kiln_Tensor>:$type);
  let assemblyFormat = "$sym_name attr-dict `:` $type";
  let hasVerifier = 1;
}

def Kiln_ParamOp : Kiln_Op<"param", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a model parameter";
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

class Kiln_BinaryOp<string mnemonic, string what, Type tensor = Kiln_Tensor>
    : Kiln_Op<mnemonic, [Pure, Differentiable]> {
  let summary = what # " with NumPy broadcasting";
  let arguments = (ins tensor:$lhs, tensor:$rhs);
  let results = (outs tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "Elementwise addition">;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "Elementwise subtraction">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "Elementwise multiplication">;
def Kiln_DivOp : Kiln_BinaryOp<"div", "Elementwise division">;
def Kiln_MaxOp : Kiln_BinaryOp<"max", "Elementwise maximum">;
def Kiln_MinOp : Kiln_BinaryOp<"min", "Elementwise minimum">;
def Kiln_PowOp : Kiln_BinaryOp<"pow", "Elementwise power, lhs ** rhs", Kiln_FloatTensor>;

class Kiln_UnaryOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = what;
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "Elementwise negation">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "Rectified linear unit, max(x, 0)">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "Logistic sigmoid, 1 / (1 + exp(-x))">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "Hyperbolic tangent">;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "Natural exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "Natural logarithm">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "Square root">;
def Kiln_RsqrtOp : Kiln_UnaryOp<"rsqrt", "Reciprocal square root, 1 / sqrt(x)">;
def Kiln_SinOp : Kiln_UnaryOp<"sin", "Sine (radians)">;
def Kiln_CosOp : Kiln_UnaryOp<"cos", "Cosine (radians)">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "Absolute value">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "Gauss error function">;

def Kiln_GeluOp : Kiln_Op<"gelu", [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate` is `"none"` (exact: `x * (1 + erf(x / sqrt(2))) / 2`) or
    `"tanh"` (`x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) / 2`), as
    PyTorch's `F.gelu`.
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_ClampOp : Kiln_Op<"clamp", [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = "Clamps every element to [min, max]";
  let arguments = (ins Kiln_FloatTensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input `min` `=` $min `max` `=` $max attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_WhereOp : Kiln_Op<"where", [Pure, Differentiable]> {
  let summary = "Elementwise choice: cond ? lhs : rhs, with NumPy broadcasting";
  let arguments = (ins RankedTensorOf<[I1]>:$cond, Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$cond `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_CompareOp : Kiln_Op<"compare", [Pure]> {
  let summary = "Elementwise comparison with NumPy broadcasting, giving booleans";
  let description = [{
    `predicate` is one of `lt`, `le`, `gt`, `ge`, `eq`, `ne`; floats compare
    ordered (a NaN compares false, except under `ne`), integers signed.
    Gradient rules use it to route cotangents (`relu`, `maximum`, `clamp`).
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs, StrAttr:$predicate);
  let results = (outs RankedTensorOf<[I1]>:$result);
  let assemblyFormat =
      "$predicate `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure, Differentiable]> {
  let summary = "Converts every element to the result's element type";
  let description = [{
    Float to integer truncates toward zero (C's conversion); integer to
    float rounds to nearest; `i1` converts as 0 or 1; integers widen by sign
    extension and narrow by truncation.
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalizations along an axis
//===----------------------------------------------------------------------===//

class Kiln_AxisOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = what;
  let description = [{
    `axis` is a non-negative dimension index of the input (the frontend
    resolves negative axes).
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_AxisOp<"softmax", "Softmax along one axis">;
def Kiln_LogSoftmaxOp : Kiln_AxisOp<"log_softmax", "Log-softmax along one axis">;

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure, Differentiable]> {
  let summary = "Layer normalization over the last dim";
  let description = [{
    `x: [..., D]`, `weight: [D]`, `bias: [D]`:
    `(x - mean) / sqrt(var + eps) * weight + bias` with the biased variance,
    as PyTorch's `F.layer_norm(x, (D,), weight, bias, eps)`.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$bias, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias `eps` `=` $eps attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RmsNormOp : Kiln_Op<"rms_norm", [Pure, Differentiable]> {
  let summary = "Root-mean-square normalization over the last dim";
  let description = [{
    `x: [..., D]`, `weight: [D]`: `x / sqrt(mean(x^2) + eps) * weight`, as
    LLaMA's `LlamaRMSNorm` and PyTorch's `F.rms_norm(x, (D,), weight, eps)`.
    Lowered as the kiln ops of `decompose`; its gradient is one
    kiln.rms_norm_grad.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `eps` `=` $eps attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// The same result from kiln ops: {result}.
    std::array<::mlir::Value, 1> decompose(::mlir::OpBuilder &b);
  }];
  let hasVerifier = 1;
}

def Kiln_RmsNormGradOp : Kiln_Op<"rms_norm_grad", [Pure]> {
  let summary = "The gradients of kiln.rms_norm";
  let description = [{
    Given rms_norm's `input: [..., D]`, `weight: [D]` and `eps`, and the
    cotangent `dout` of its result: the cotangents of the input (its type)
    and of the weight (the weight's type). The native kernel recomputes each
    row's 1 / rms and reads `input` and `dout` once more for the result.
    Elsewhere it decomposes into kiln ops (`decompose`).
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$dout, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$dinput, Kiln_FloatTensor:$dweight);
  let assemblyFormat = "$input `,` $weight `,` $dout `eps` `=` $eps attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// The same gradients from kiln ops: {dinput, dweight}.
    std::array<::mlir::Value, 2> decompose(::mlir::OpBuilder &b);
  }];
  let hasVerifier = 1;
}

def Kiln_LayerNormGradOp : Kiln_Op<"layer_norm_grad", [Pure]> {
  let summary = "The gradients of kiln.layer_norm";
  let description = [{
    Given layer_norm's `input: [..., D]`, `weight: [D]` and `eps`, and the
    cotangent `dout` of its result: the cotangents of the input (its type)
    and of the weight and bias (the weight's type). Made by layer_norm's
    gradient rule; the native kernel recomputes each row's mean and
    reciprocal deviation and reads `input` and `dout` once. Elsewhere it
    decomposes into kiln ops (`decompose`).
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$dout, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$dinput, Kiln_FloatTensor:$dweight,
                      Kiln_FloatTensor:$dbias);
  let assemblyFormat = "$input `,` $weight `,` $dout `eps` `=` $eps attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// The same gradients from kiln ops: {dinput, dweight, dbias}.
    std::array<::mlir::Value, 3> decompose(::mlir::OpBuilder &b);
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

def Kiln_MatmulOp : Kiln_Op<"matmul", [Pure, Differentiable]> {
  let summary = "Matrix product, batched with NumPy broadcasting";
  let description = [{
    `[..., M, K] x [..., K, N] -> [..., M, N]`, both of rank >= 2. The batch
    dims (all but the last two) broadcast as NumPy's: `[B, S, D] x [D, E]`,
    `[B, H, S, D] x [B, H, D, T]`, `[B, 1, S, D] x [H, D, T]`.
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_FusedLinearOp : Kiln_Op<"fused_linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "A linear layer with its epilogue: act(x @ transpose(w) + bias) + residual";
  let description = [{
    `input: [..., K]`, `weight: [O, K]` (PyTorch's Linear layout), optional
    `bias: [O]` and `residual` of the result's type -> `[..., O]`:
    `activation(input @ transpose(weight) + bias) + residual`, the
    activation one of `none`, `relu`, `gelu_erf`, `gelu_tanh`, `sigmoid`,
    `silu` (x sigmoid(x)), `quick_gelu` (x sigmoid(1.702 x)).
    Made by `kiln-fuse-linear` so that the epilogue can run on the matmul's
    tiles; its numerics are those of the unfused ops.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Optional<Kiln_FloatTensor>:$bias, Optional<Kiln_FloatTensor>:$residual,
                       DefaultValuedStrAttr<StrAttr, "none">:$activation);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`bias` $bias^)? (`residual` $residual^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, Differentiable]> {
  let summary = "Permutes the dims of a tensor";
  let description = [{
    `result.shape[i] = input.shape[permutation[i]]`.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$input $permutation attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kiln_DimOp : Kiln_Op<"dim", [Pure]> {
  let summary = "The size of one dim of a tensor, as an index";
  let description = [{
    Gives ops with symbolic result dims (`kiln.reshape`, `kiln.arange`) their
    run-time sizes; the frontend takes it from a value that carries the
    symbol.
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$index);
  let results = (outs Index:$result);
  let assemblyFormat = "$input `,` $index attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure, Differentiable]> {
  let summary = "Reinterprets a tensor's elements (row-major) with another shape";
  let description = [{
    `sizes` gives the result's dynamic dims in order. When both shapes are
    static their element counts must be equal; with dynamic dims the frontend
    has checked that the symbolic dims match.
  }];
  let arguments = (ins Kiln_Tensor:$input, Variadic<Index>:$sizes);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$input (`[` $sizes^ `]`)? attr-dict `:` functional-type($input, $result)";
  let extraClassDeclaration = [{
    /// `x` with its first `count` dims merged into one, symbolic when any of
    /// them is: flattenFront(x: [B, S, D], 2) is [B * S, D].
    static ReshapeOp flattenFront(::mlir::OpBuilder &b, ::mlir::Location loc, ::mlir::Value x,
                                  int64_t count);
  }];
  let hasVerifier = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure, Differentiable]> {
  let summary = "The elements [start, end) along one axis";
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, I64Attr:$start, I64Attr:$end);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis `start` `=` $start `end` `=` $end attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SelectOp : Kiln_Op<"select", [Pure, Differentiable]> {
  let summary = "One index along an axis, dropping that axis (x[:, i])";
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, I64Attr:$index);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis `index` `=` $index attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, Differentiable]> {
  let summary = "Concatenates tensors along one axis";
  let description = [{
    All inputs have the result's rank and element type and agree on every
    dim but `axis`; the result's `axis` dim is the sum.
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$inputs `axis` `=` $axis attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def Kiln_EmbeddingOp : Kiln_Op<"embedding", [Pure, Differentiable]> {
  let summary = "Row lookup: result[..., :] = weight[ids[...], :]";
  let description = [{
    `weight: [N, D]`, integer `ids: [...]` -> `[..., D]`, as `F.embedding`.
    An id outside `[0, N)` gives a row of NaN instead of reading out of
    bounds.
  }];
  let arguments = (ins Kiln_FloatTensor:$weight, Kiln_IntTensor:$ids);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$weight `,` $ids attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention and convolution
//===----------------------------------------------------------------------===//

def Kiln_AttentionOp : Kiln_Op<"attention", [Pure, AttrSizedOperandSegments, Differentiable]> {
  let summary = "Scaled dot-product attention";
  let description = [{
    `query: [B, H, S, D]`, `key: [B, H, T, D]`, `value: [B, H, T, E]` ->
    `[B, H, S, E]`: `softmax(scale * query @ key^T + bias + masks) @ value`,
    the softmax over T. `causal` hides key positions `t > s`; the optional
    `mask: i1[B, T]` is a key-padding mask (true = attend); the optional
    `bias` (the scores' element type, rank <= 4, broadcasting to
    `[B, H, S, T]` from the right) is added to the scaled scores, as an
    additive 0 / -inf mask or a positional bias is. A row with every key
    hidden gives NaN, as PyTorch's `scaled_dot_product_attention` does.
    Lowered to the flash-attention kernel or by decomposition.
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                       Kiln_FloatTensor:$value, Optional<RankedTensorOf<[I1]>>:$mask,
                       Optional<Kiln_FloatTensor>:$bias,
                       F64Attr:$scale, DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value (`mask` $mask^)? (`bias` $bias^)? "
                       "`scale` `=` $scale attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_AttentionGradOp : Kiln_Op<"attention_grad", [Pure, AttrSizedOperandSegments]> {
  let summary = "The gradients of kiln.attention with respect to query, key and value";
  let description = [{
    Given `kiln.attention`'s operands and attributes, its result `out` and
    the cotangent `dout` of that result (both `[B, H, S, E]`), the
    cotangents of `query`, `key` and `value`, of their types. Made by
    attention's gradient rule; the native kernel works a block of queries
    against a block of keys at a time from the recomputed logsumexp, never
    forming the `[S, T]` probabilities. Elsewhere it decomposes into kiln
    ops (`decompose`), which do form them.
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                       Kiln_FloatTensor:$value, Kiln_FloatTensor:$out,
                       Kiln_FloatTensor:$dout, Optional<RankedTensorOf<[I1]>>:$mask,
                       Optional<Kiln_FloatTensor>:$bias,
                       F64Attr:$scale, DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Kiln_FloatTensor:$dquery, Kiln_FloatTensor:$dkey,
                      Kiln_FloatTensor:$dvalue);
  let assemblyFormat = "$query `,` $key `,` $value `,` $out `,` $dout (`mask` $mask^)? "
                       "(`bias` $bias^)? `scale` `=` $scale attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// The same gradients from kiln ops, through the [B, H, S, T]
    /// probabilities: {dquery, dkey, dvalue, dscores}, dscores being the
    /// cotangent of the biased, scaled scores (the bias's, before undoing
    /// its broadcast).
    std::array<::mlir::Value, 4> decompose(::mlir::OpBuilder &b);
  }];
  let hasVerifier = 1;
}

def Kiln_Conv2DOp : Kiln_Op<"conv2d", [Pure, Differentiable]> {
  let summary = "2-D convolution (NCHW input, OIHW weight), no padding";
  let description = [{
    `input: [B, C, H, W]`, `weight: [O, C, KH, KW]`, `bias: [O]` ->
    `[B, O, (H - KH) / SH + 1, (W - KW) / SW + 1]`, as `F.conv2d` with
    `padding=0`. With stride = kernel it is a patch embedding.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$bias, DenseI64ArrayAttr:$strides);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias `strides` `=` $strides attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, Differentiable]> {
  let summary = what # " over the given axes";
  let description = [{
    `axes` are distinct, sorted, non-negative dims of the input. With
    `keep_dims` the reduced dims stay as size 1; otherwise they are dropped.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "false">:$keep_dims);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input `axes` `=` $axes attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "Sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "Mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "Maximum">;

def Kiln_CountOp : Kiln_Op<"count", [Pure]> {
  let summary = "How many elements lie along the given axes, as a float scalar";
  let description = [{
    The product of the input's sizes along `axes` (all of them when `axes`
    is empty), converted to the result's element type: the `N` by which a
    mean's gradient divides when some of those sizes are symbolic.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input `axes` `=` $axes attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Kiln_CrossEntropyOp : Kiln_Op<"cross_entropy", [Pure, Differentiable]> {
  let summary = "Mean cross-entropy of logits against integer class targets";
  let description = [{
    `logits: [N, C]` (unnormalized), `targets: [N]` integer class indices.
    Result: the scalar `mean_n(logsumexp(logits[n, :]) - logits[n, targets[n]])`.
    A target outside `[0, C)` yields NaN rather than reading out of bounds.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxCrossEntropyOp : Kiln_Op<"softmax_cross_entropy", [Pure]> {
  let summary = "Fused softmax and cross-entropy: one pass over each row of logits";
  let description = [{
    `logits: [N, C]`, integer `targets: [N]` -> `loss`, the scalar
    `mean_n(lse_n - logits[n, targets[n]])` with `lse_n = logsumexp(logits[n, :])`,
    exactly `kiln.cross_entropy`. With `with_lse` it also returns `lse: [N]`
    for a later backward (`softmax = exp(logits - lse)`). Made by
    `kiln-fuse-softmax-cross-entropy`; lowered with an online max and
    sum-exp, so each row is read once and no probabilities are stored.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets,
                       UnitAttr:$with_lse);
  let results = (outs Kiln_FloatTensor:$loss, Optional<Kiln_FloatTensor>:$lse);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxCrossEntropyGradOp : Kiln_Op<"softmax_cross_entropy_grad", [Pure]> {
  let summary = "Fused cross-entropy and its gradient with respect to the logits";
  let description = [{
    `logits: [N, C]`, integer `targets: [N]` -> `loss` (exactly
    `kiln.cross_entropy`) and `grad: [N, C] = softmax(logits) - one_hot(targets, C)`,
    the gradient of the summed loss (a row whose target is out of range gets
    the softmax alone). Made by `kiln-fuse-softmax-cross-entropy` when a
    function computes both; the native kernel reads each row of logits from
    memory once and writes the gradient while the row is still in cache.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets);
  let results = (outs Kiln_FloatTensor:$loss, Kiln_FloatTensor:$grad);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxKlDivOp : Kiln_Op<"softmax_kl_div", [Pure]> {
  let summary = "Fused distillation loss: KL between temperature softmaxes";
  let description = [{
    `student`, `teacher: [N, C]` -> the scalar
    `kl_div(log_softmax(student / T, axis = 1), softmax(teacher / T, axis = 1))`
    (batchmean), T = `temperature` > 0. Made by
    `kiln-fuse-softmax-cross-entropy` from that spelled-out form; the native
    kernel reads each row of both once and stores no probabilities.
  }];
  let arguments = (ins Kiln_FloatTensor:$student, Kiln_FloatTensor:$teacher,
                       F64Attr:$temperature);
  let results = (outs Kiln_FloatTensor:$loss);
  let assemblyFormat = "$student `,` $teacher `temperature` `=` $temperature attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxKlDivGradOp : Kiln_Op<"softmax_kl_div_grad", [Pure]> {
  let summary = "Fused distillation loss and its gradient in the student";
  let description = [{
    `student`, `teacher: [N, C]` -> `loss`, exactly
    `kiln.softmax_kl_div(student, teacher) {temperature}`, and `grad =
    softmax(student / T, axis = 1) - softmax(teacher / T, axis = 1)`, the
    gradient of `N * T * loss` in the student. Made by
    `kiln-fuse-softmax-cross-entropy` from a train step's forward KL and the
    backward autodiff builds for it; the native kernel reads each row of both
    once for the loss and once more for the gradient, storing no
    probabilities.
  }];
  let arguments = (ins Kiln_FloatTensor:$student, Kiln_FloatTensor:$teacher,
                       F64Attr:$temperature);
  let results = (outs Kiln_FloatTensor:$loss, Kiln_FloatTensor:$grad);
  let assemblyFormat = "$student `,` $teacher `temperature` `=` $temperature attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_DistillationLossOp : Kiln_Op<"distillation_loss", [Pure]> {
  let summary = "Fused distillation terms: the temperature KL and the hard-label cross-entropy";
  let description = [{
    `student`, `teacher: [N, C]`, integer `targets: [N]` -> `soft`, exactly
    `kiln.softmax_kl_div(student, teacher) {temperature}`, and `hard`, exactly
    `kiln.cross_entropy(student, targets)`. Made by
    `kiln-fuse-softmax-cross-entropy` when a function computes both on the
    same student logits; the native kernel reads each row of both once.
  }];
  let arguments = (ins Kiln_FloatTensor:$student, Kiln_FloatTensor:$teacher,
                       Kiln_IntTensor:$targets, F64Attr:$temperature);
  let results = (outs Kiln_FloatTensor:$soft, Kiln_FloatTensor:$hard);
  let assemblyFormat = "$student `,` $teacher `,` $targets `temperature` `=` $temperature "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ContrastiveCrossEntropyOp : Kiln_Op<"contrastive_cross_entropy", [Pure]> {
  let summary = "Fused cross-entropy over a similarity matrix in both directions";
  let description = [{
    `logits: [N, N]`, integer `targets: [N]` -> `row_loss =
    cross_entropy(logits, targets)` and `col_loss =
    cross_entropy(transpose(logits), targets)`: CLIP's loss is their mean.
    Made by `kiln-fuse-softmax-cross-entropy`; the native kernel reads the
    matrix once, keeping running column maxima and sums, and never builds the
    transpose.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets);
  let results = (outs Kiln_FloatTensor:$row_loss, Kiln_FloatTensor:$col_loss);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ContrastiveCrossEntropyGradOp : Kiln_Op<"contrastive_cross_entropy_grad", [Pure]> {
  let summary = "CLIP's two cross-entropies and their gradients, in the matrix's layout";
  let description = [{
    `logits: [N, N]`, integer `targets: [N]` -> `row_loss` and `col_loss` as
    kiln.contrastive_cross_entropy gives them, `row_grad = softmax(logits,
    axis = 1) - one_hot(targets)` and `col_grad = softmax(logits, axis = 0) -
    transpose(one_hot(targets))`, both [N, N] like the logits. Made by
    `kiln-fuse-softmax-cross-entropy` from a train step's two
    softmax-cross-entropy gradients of S and of S^T; the native kernel reads
    the matrix without building its transpose.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets);
  let results = (outs Kiln_FloatTensor:$row_loss, Kiln_FloatTensor:$col_loss,
                      Kiln_FloatTensor:$row_grad, Kiln_FloatTensor:$col_grad);
  let assemblyFormat =
      "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ContrastiveCrossEntropyGradSumOp
    : Kiln_Op<"contrastive_cross_entropy_grad_sum", [Pure]> {
  let summary = "CLIP's two cross-entropies and their gradients' weighted sum";
  let description = [{
    As kiln.contrastive_cross_entropy_grad, but one gradient: `grad =
    row_scale * row_grad + col_scale * col_grad` (scalars), the gradient of
    `row_scale * N * row_loss + col_scale * N * col_loss` in the logits. Made
    by `kiln-fuse-softmax-cross-entropy` where a train step only adds the two
    scaled gradients: one [N, N] buffer fewer.
  }];
  let arguments = (ins Kiln_FloatTensor:$logits, Kiln_IntTensor:$targets,
                       Kiln_FloatTensor:$row_scale, Kiln_FloatTensor:$col_scale);
  let results = (outs Kiln_FloatTensor:$row_loss, Kiln_FloatTensor:$col_loss,
                      Kiln_FloatTensor:$grad);
  let assemblyFormat =
      "$logits `,` $targets `,` $row_scale `,` $col_scale attr-dict `:` "
      "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Losses and similarities
//===----------------------------------------------------------------------===//

def Kiln_KlDivOp : Kiln_Op<"kl_div", [Pure, Differentiable]> {
  let summary = "KL divergence with batchmean reduction";
  let description = [{
    `log_input` and `target` of one shape `[N, ...]` -> the scalar
    `sum(target * (log(target) - log_input)) / N`, a term being 0 where
    `target == 0`; as `F.kl_div(log_input, target, reduction="batchmean")`.
  }];
  let arguments = (ins Kiln_FloatTensor:$log_input, Kiln_FloatTensor:$target);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$log_input `,` $target attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_L2NormalizeOp : Kiln_Op<"l2_normalize", [Pure, SameOperandsAndResultType, Differentiable]> {
  let summary = "Divides by the L2 norm along one axis";
  let description = [{
    `x / max(sqrt(sum(x^2, axis)), eps)`, as `F.normalize(x, p=2, dim=axis, eps=eps)`.
    `axis` is a non-negative dim of the input.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis, F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis `eps` `=` $eps attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_CosineSimilarityOp : Kiln_Op<"cosine_similarity", [Pure, Differentiable]> {
  let summary = "Cosine similarity along one axis, with NumPy broadcasting";
  let description = [{
    `sum(lhs / max(|lhs|, eps) * rhs / max(|rhs|, eps), axis)`, norms along
    `axis`: `F.cosine_similarity` as PyTorch 1.13 computes it (each norm
    clamped on its own). Both operands have the same rank and equal sizes
    along `axis`; the other dims broadcast. The result drops `axis`.
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs, I64Attr:$axis,
                       F64Attr:$eps);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs `axis` `=` $axis `eps` `=` $eps attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Index computations and constructors
//===----------------------------------------------------------------------===//

def Kiln_ArgmaxOp : Kiln_Op<"argmax", [Pure]> {
  let summary = "The index of the first maximum along one axis";
  let description = [{
    Drops `axis`; the result is `i64`. A NaN counts as larger than every
    number (the first NaN wins), as `torch.argmax`.
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$input `axis` `=` $axis attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ArangeOp : Kiln_Op<"arange", [Pure]> {
  let summary = "The integers 0, 1, ..., n - 1";
  let description = [{
    A static `n` is the result's size; a dynamic one is given by `size`
    (a `kiln.dim` of a value that carries the symbol).
  }];
  let arguments = (ins Optional<Index>:$size);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "(`[` $size^ `]`)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_OneHotOp : Kiln_Op<"one_hot", [Pure]> {
  let summary = "One-hot encoding of integer class ids";
  let description = [{
    `ids: [...]` -> `[..., C]` with `C` the result's static last dim:
    `result[..., c] = ids[...] == c ? 1 : 0`. An id outside `[0, C)` gives
    a row of zeros (PyTorch raises an error instead).
  }];
  let arguments = (ins Kiln_IntTensor:$ids);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$ids attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_FullLikeOp : Kiln_Op<"full_like", [Pure, Differentiable]> {
  let summary = "A tensor of the input's type with every element `value`";
  let description = [{
    `zeros_like`, `ones_like` and `full_like`; for an integer element type
    `value` must be an integer.
  }];
  let arguments = (ins Kiln_Tensor:$input, F64Attr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `value` `=` $value attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gather and scatter
//===----------------------------------------------------------------------===//

def Kiln_IndexSelectOp : Kiln_Op<"index_select", [Pure, Differentiable]> {
  let summary = "Gathers slices along one axis: result[.., e, ..] = input[.., indices[e], ..]";
  let description = [{
    `indices: [E]` integer; the result is the input with dim `axis` replaced
    by `E`, as `torch.index_select`. An index outside `[0, size)` gives NaN
    there instead of reading out of bounds (as `kiln.embedding`).
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_IntTensor:$indices, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $indices `axis` `=` $axis attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ScatterAddOp : Kiln_Op<"scatter_add", [Pure, Differentiable]> {
  let summary = "Adds rows of src into init at the given row indices";
  let description = [{
    `init: [N, ...]`, integer `indices: [E]`, `src: [E, ...]` -> `[N, ...]`:
    `result = init; result[indices[e]] += src[e]` for every `e`, duplicates
    accumulating (`index_add_` along dim 0). An index outside `[0, N)` is
    skipped.
  }];
  let arguments = (ins Kiln_FloatTensor:$init, Kiln_IntTensor:$indices,
                       Kiln_FloatTensor:$src);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$init `,` $indices `,` $src attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Native kernels
//===----------------------------------------------------------------------===//

def Kiln_KernelOp : Kiln_Op<"kernel", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>, DestinationStyleOpInterface]> {
  let summary = "A call to one of the runtime's native kernels, in destination style";
  let description = [{
    Runs the runtime function `callee` (runtime/src/kernels.h) on `ins`,
    writing `outs`, then the `scalars` (integer attributes become `i64`,
    float attributes `f64` arguments). Like a linalg op it works on tensors,
    where each `outs` tensor is the initial value of the result of the same
    index, and on memrefs, where it has no results. `kiln-select-kernels`
    makes it from the ops a kernel serves; bufferization turns the tensor form
    into the memref form; `kiln-lower-kernels` turns that into a `func.call`
    passing each memref as an unranked memref.

    ```mlir
    %loss = kiln.kernel @kiln_rt_softmax_ce_f32
        ins(%logits, %targets : tensor<?x32000xf32>, tensor<?xi64>)
        outs(%init : tensor<f32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       Variadic<AnyTypeOf<[AnyRankedTensor, AnyMemRef]>>:$inputs,
                       Variadic<AnyTypeOf<[AnyRankedTensor, AnyMemRef]>>:$outputs,
                       DefaultValuedAttr<ArrayAttr, "{}">:$scalars);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $callee (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)`
    (`scalars` $scalars^)? attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getOutputsMutable(); }
  }];
  let hasVerifier = 1;
}

#endif // KILN_OPS_TD
