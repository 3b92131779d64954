//===- Builtins.h - The builtin functions of Kiln ---------------*- C++ -*-===//
//
// One table describes every builtin's parameters, so that Sema checks calls
// (argument counts, keywords, which arguments must be compile-time constants)
// and MLIRGen reads the bound arguments the same way for all of them.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_BUILTINS_H
#define KILN_FRONTEND_BUILTINS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <optional>

namespace kiln {

enum class BuiltinKind {
  Relu,
  Sigmoid,
  Tanh,
  Exp,
  Log,
  Sqrt,
  Softmax,
  LogSoftmax,
  CrossEntropy,
  Sum,
  Mean,
  Max,
  Transpose,
  Matmul,
  Maximum,
  Minimum,
  // Elementwise (BuiltinGen.cpp).
  Gelu,
  GeluTanh,
  Rsqrt,
  Abs,
  Sin,
  Cos,
  Pow,
  Clamp,
  Where,
  ToF32,
  ToI64,
  ToI32,
  // Normalization and lookup.
  LayerNorm,
  RmsNorm,
  Embedding,
  // Layout.
  Reshape,
  Permute,
  Slice,
  Select,
  Concat,
  // Attention and convolution.
  Attention,
  Conv2D,
  // Losses and similarities.
  KlDiv,
  L2Normalize,
  CosineSimilarity,
  // Index computations and constructors.
  Argmax,
  Arange,
  OneHot,
  ZerosLike,
  OnesLike,
  FullLike,
  // Gather and scatter.
  IndexSelect,
  ScatterAdd,
  SegmentSum,
};

struct BuiltinParam {
  enum Kind {
    Tensor, // any tensor expression
    Int,    // a compile-time integer: literals and constructor arguments
    Bool,   // `true` or `false`
    Float,  // a compile-time number (a literal, `-1e-5`), read as a double
    Dim,    // a dim: a compile-time integer, or a symbolic dim of the signature
  };
  llvm::StringRef name;
  Kind kind;
  bool required;
  /// The value of an omitted Int/Bool parameter; std::nullopt means the
  /// builtin treats "omitted" specially (e.g. `sum` without `axis` reduces
  /// every dim). A variadic builtin (`reshape(x, B, S, 4, 16)`) lists its
  /// trailing parameters as optional ones without defaults: `d0`, `d1`, ...
  std::optional<int64_t> defaultValue;
};

struct BuiltinInfo {
  llvm::StringRef name;
  BuiltinKind kind;
  llvm::ArrayRef<BuiltinParam> params;
  /// How the builtin is written in docs and notes: `softmax(x, axis=-1)`.
  llvm::StringRef synopsis;
};

const BuiltinInfo *lookupBuiltin(llvm::StringRef name);
llvm::ArrayRef<BuiltinInfo> getBuiltins();

} // namespace kiln

#endif // KILN_FRONTEND_BUILTINS_H
