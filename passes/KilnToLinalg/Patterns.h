//===- Patterns.h - kiln-to-linalg patterns, by op family -------*- C++ -*-===//
//
// The kiln-convert-to-linalg pass collects one pattern set per op family
// (one file each) and shares the float reductions that several families
// build on (softmax inside attention, means inside layer_norm).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_KILNTOLINALG_PATTERNS_H
#define KILN_PASSES_KILNTOLINALG_PATTERNS_H

#include "mlir/IR/PatternMatch.h"

namespace kiln {

/// add/sub/.../pow, unary math, gelu, clamp, where, cast.
void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
/// softmax, log_softmax, cross_entropy, reduce_*, layer_norm, kl_div,
/// l2_normalize, cosine_similarity.
/// `onlineSoftmax`: fused softmax-cross-entropy reads each row once (online
/// max and sum-exp) instead of twice; see KilnConvertToLinalg's option.
void populateNormalizationPatterns(mlir::RewritePatternSet &patterns, bool onlineSoftmax);
/// matmul, attention, conv2d.
void populateContractionPatterns(mlir::RewritePatternSet &patterns);
/// attention_grad, layer_norm_grad, rms_norm_grad and rms_norm as the kiln
/// ops of their `decompose`:
/// in kiln-convert-to-linalg, and in kiln-select-kernels where no kernel
/// takes them (so that their matmuls can still go to oneDNN).
void populateGradDecompositions(mlir::RewritePatternSet &patterns,
                                mlir::PatternBenefit benefit = 1);
/// dim, transpose, reshape, slice, select, concat, embedding.
void populateLayoutPatterns(mlir::RewritePatternSet &patterns);
/// argmax, arange, one_hot, full_like, index_select, scatter_add.
void populateIndexingPatterns(mlir::RewritePatternSet &patterns);

mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type, double value);
mlir::Type elementTypeOf(mlir::Value value);

/// Float sum / max / mean over `axes` (see buildReduction for keepDims).
mlir::Value buildSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     llvm::ArrayRef<int64_t> axes, bool keepDims);
mlir::Value buildMax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     llvm::ArrayRef<int64_t> axes, bool keepDims);
mlir::Value buildMean(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      llvm::ArrayRef<int64_t> axes, bool keepDims);
/// The numerically stable softmax of `x` along `axis`.
mlir::Value buildSoftmax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, int64_t axis);

} // namespace kiln

#endif // KILN_PASSES_KILNTOLINALG_PATTERNS_H
