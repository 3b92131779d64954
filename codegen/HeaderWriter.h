//===- HeaderWriter.h - The generated NAME.h --------------------*- C++ -*-===//
#ifndef KILN_CODEGEN_HEADERWRITER_H
#define KILN_CODEGEN_HEADERWRITER_H

#include "codegen/ModelInterface.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

/// The C element type of a dtype in the generated headers (bool is uint8_t,
/// f16 and bf16 their uint16_t bit patterns).
std::string cType(llvm::StringRef dtype);

/// Writes the C header of a generated library: status codes, the opaque model
/// type, create/destroy/last_error, one function per entry, and shape and
/// arena-size macros. `sourceName` is mentioned in the banner.
void writeHeader(const ModelInterface &model, llvm::StringRef sourceName, llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_CODEGEN_HEADERWRITER_H
