#ifndef KILN_PASSES_TD
#define KILN_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnParamsToArguments : Pass<"kiln-params-to-arguments", "::mlir::ModuleOp"> {
  let summary = "Turns kiln.param reads into leading arguments of every entry";
  let description = [{
    Every entry (`func.func` with `kiln.entry`) gains one leading tensor argument
    per `kiln.parameter`, in declaration order, tagged `kiln.param = "<name>"`.
    `kiln.param` reads become those arguments and the declarations are erased.
    This is the calling convention the runtime uses: parameters are ordinary
    buffers it binds from the weights file.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def KilnConvertToLinalg : Pass<"kiln-convert-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Lowers kiln ops to linalg, tensor, arith and math on tensors";
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def KilnTileAndVectorize : Pass<"kiln-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tiles linalg ops to host-vector-sized tiles and vectorizes them";
  let description = [{
    Each linalg op on tensors is tiled with scf.for so that its innermost
    parallel dim is processed `vector-width` elements at a time (masked at the
    boundary), then vectorized with linalg's vectorizer. Contractions are then
    folded into `vector.contract` (lowered later to outer-product FMAs). Ops
    the vectorizer cannot handle are left as they are (scalar loops later).
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "Elements per vector along the innermost parallel dim (16 x f32 = AVX-512)">,
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"4",
           "Rows of a matmul computed together (register blocking)">,
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::affine::AffineDialect", "::mlir::tensor::TensorDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "Replaces transcendental math ops with polynomial approximations";
  let description = [{
    LLVM has no vector libm here: a `math.exp` on `vector<16xf32>` would become
    sixteen `expf` calls. MLIR's polynomial forms (within a few ulp in f32)
    stay in vector registers. Applies to exp, expm1, log, log1p, log2, tanh, erf.
  }];
  let dependentDialects = ["::mlir::math::MathDialect", "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect", "::mlir::LLVM::LLVMDialect"];
}

def KilnPlanArena : Pass<"kiln-plan-arena", "::mlir::ModuleOp"> {
  let summary = "Places every buffer an entry allocates into one arena argument";
  let description = [{
    Runs on bufferized entries. Each `memref.alloc` becomes a `memref.view` into
    a new leading `memref<?xi8>` argument. Offsets come from a liveness-based
    first-fit packing, done separately for each product of symbolic dims (a
    buffer of `B x 128` f32 and one of `B x 64` share the `B` group). The arena
    size, as a sum of `coeff * product(symbols)` terms, is recorded on the entry
    as `kiln.arena` for the runtime and the generated header.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_TD
