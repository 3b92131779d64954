//===- CppHeaderWriter.h - The generated NAME.hpp ---------------*- C++ -*-===//
#ifndef KILN_CODEGEN_CPPHEADERWRITER_H
#define KILN_CODEGEN_CPPHEADERWRITER_H

#include "codegen/ModelInterface.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

/// Writes NAME.hpp, a C++20 layer over NAME.h (kilnc --cpp-header): a
/// move-only `NAME::model` owning the handle, one method per entry taking
/// std::span and checking each span's size against the entry's shapes, and
/// failures thrown as `NAME::error` with the status and message.
void writeCppHeader(const ModelInterface &model, llvm::StringRef sourceName,
                    llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_CODEGEN_CPPHEADERWRITER_H
