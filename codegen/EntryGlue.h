//===- EntryGlue.h - The C API around compiled entries ----------*- C++ -*-===//
#ifndef KILN_CODEGEN_ENTRYGLUE_H
#define KILN_CODEGEN_ENTRYGLUE_H

#include "codegen/ModelInterface.h"
#include "llvm/IR/Module.h"

namespace kiln {

/// Adds to `module` (the translated entries, which have `_mlir_ciface_<entry>`
/// wrappers) what turns them into the library of docs/abi.md:
///  - the manifest as a constant string and a table of packed entry points
///    `void(void **descriptors)` that unpack descriptors into the ciface call;
///  - the public functions NAME_create/_destroy/_last_error/_<entry>, thin
///    wrappers that pack their pointer arguments and call the runtime.
/// Returns the names of the public functions.
std::vector<std::string> addEntryGlue(llvm::Module &module, const ModelInterface &model);

} // namespace kiln

#endif // KILN_CODEGEN_ENTRYGLUE_H
