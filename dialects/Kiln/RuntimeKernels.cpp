//===- RuntimeKernels.cpp - The kernels kiln.kernel may call --------------===//
#include "dialects/Kiln/RuntimeKernels.h"

#include "llvm/ADT/STLExtras.h"

namespace kiln {
namespace {

constexpr RuntimeKernel kKernels[] = {
#define KILN_KERNEL(name, inputs, outputs, scalars)                                                \
  {kernels::name, inputs, outputs, scalars, /*preparable=*/false, /*packsWeights=*/false},
#define KILN_PREPARABLE_KERNEL(name, inputs, outputs, scalars)                                     \
  {kernels::name, inputs, outputs, scalars, /*preparable=*/true, /*packsWeights=*/false},
#define KILN_PACKING_KERNEL(name, inputs, outputs, scalars)                                        \
  {kernels::name, inputs, outputs, scalars, /*preparable=*/false, /*packsWeights=*/true},
#include "runtime/include/kiln/kernels.def"
};

} // namespace

const RuntimeKernel *lookupRuntimeKernel(llvm::StringRef name) {
  const RuntimeKernel *found =
      llvm::find_if(kKernels, [&](const RuntimeKernel &k) { return k.name == name; });
  return found == std::end(kKernels) ? nullptr : found;
}

} // namespace kiln
