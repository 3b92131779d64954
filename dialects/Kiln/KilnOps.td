#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "KilnDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Kiln_Tensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

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

class Kiln_BinaryOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure]> {
  let summary = what # " with NumPy broadcasting";
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
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

class Kiln_UnaryOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
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

//===----------------------------------------------------------------------===//
// Normalizations along an axis
//===----------------------------------------------------------------------===//

class Kiln_AxisOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
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

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

def Kiln_MatmulOp : Kiln_Op<"matmul", [Pure]> {
  let summary = "Matrix product, optionally batched";
  let description = [{
    `[M, K] x [K, N] -> [M, N]`; with rank > 2 the leading (batch) dims of both
    operands must be equal: `[..., M, K] x [..., K, N] -> [..., M, N]`.
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_FloatTensor:$rhs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure]> {
  let summary = "Permutes the dims of a tensor";
  let description = [{
    `result.shape[i] = input.shape[permutation[i]]`.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat =
      "$input $permutation attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure]> {
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

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Kiln_CrossEntropyOp : Kiln_Op<"cross_entropy", [Pure]> {
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

#endif // KILN_OPS_TD
