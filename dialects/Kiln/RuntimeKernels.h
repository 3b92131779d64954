//===- RuntimeKernels.h - The kernels kiln.kernel may call ------*- C++ -*-===//
//
// The compiler's view of runtime/include/kiln/kernels.def: each kernel's
// name, operand counts and scalar kinds, as the runtime declares them.
// kiln.kernel's verifier checks every call against it, kernel selection names
// kernels through `kernels::` (a misspelt name does not compile), and the
// model interface asks it which calls can be prepared at create time and
// which pack the weights they multiply by.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_RUNTIMEKERNELS_H
#define KILN_DIALECTS_KILN_RUNTIMEKERNELS_H

#include "llvm/ADT/StringRef.h"

namespace kiln {

struct RuntimeKernel {
  llvm::StringLiteral name;    // the C function, "kiln_rt_<name>"
  unsigned inputs, outputs;    // tensor operands, in this order
  llvm::StringLiteral scalars; // after them: 'i' an int64_t, 'f' a double
  bool preparable;             // its oneDNN primitive can be made at create time
  bool packsWeights;           // packs its operand 1 once when that is a weight
};

/// The kernel whose C function is `name`, or null.
const RuntimeKernel *lookupRuntimeKernel(llvm::StringRef name);

/// Each kernel's C function name: kernels::softmax_ce_f32 = "kiln_rt_softmax_ce_f32".
namespace kernels {
#define KILN_KERNEL(name, inputs, outputs, scalars)                                                \
  inline constexpr llvm::StringLiteral name = "kiln_rt_" #name;
#include "runtime/include/kiln/kernels.def"
} // namespace kernels

} // namespace kiln

#endif // KILN_DIALECTS_KILN_RUNTIMEKERNELS_H
