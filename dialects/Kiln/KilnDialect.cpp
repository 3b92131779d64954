//===- KilnDialect.cpp - The kiln dialect ---------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnOps.h"

using namespace mlir;
using namespace kiln;

#include "dialects/Kiln/KilnDialect.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kiln/KilnOps.cpp.inc"
      >();
}
