#ifndef KILN_INTERFACES_TD
#define KILN_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Kiln_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op whose vector-Jacobian product is known. Reverse-mode autodiff
    (`kiln-autodiff`) walks a function backwards and asks each op for the
    cotangents of its operands given those of its results. The rule of each
    op lives beside its shape rule (KilnGradients.cpp), written with kiln
    ops, so the backward graph goes through the same fusions and kernels as
    the forward one.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds, at the builder's insertion point (after the op), the
        cotangent of every operand. `resultGrads` has one entry per result,
        null where no cotangent flows into it (it is zero). Fills
        `operandGrads` with one entry per operand: null where the operand
        has no gradient (integer and boolean operands, or a gradient that is
        zero). A cotangent may have a broadcast-compatible type rather than
        the operand's exact one only where the operand's dims are dynamic.
      }],
      "::llvm::LogicalResult", "buildVjp",
      (ins "::mlir::OpBuilder &":$builder, "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

#endif // KILN_INTERFACES_TD
