#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Graph-level tensor ops of the Kiln deep-learning compiler";
  let description = [{
    Ops on ranked tensors that mirror the Kiln language's builtins one to one
    (`kiln.softmax`, `kiln.cross_entropy`, `kiln.matmul`, ...), so that fusion
    passes match whole ops rather than chains of primitives. Model parameters are
    module-level `kiln.parameter` symbols read with `kiln.param`. Every op's
    verifier checks ranks, shapes and element types.
  }];
  let cppNamespace = "::kiln";
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect"];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_DIALECT_TD
