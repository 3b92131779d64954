//===- KilnDialect.cpp - The kiln dialect ---------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnOps.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace kiln;

#include "dialects/Kiln/KilnDialect.cpp.inc"

namespace {
/// Kiln ops are pure functions of their operands (kiln.param names a
/// module-level parameter): any of them may be inlined anywhere.
struct KilnInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Operation *, bool) const final { return true; }
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final { return true; }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final { return true; }
};
} // namespace

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kiln/KilnOps.cpp.inc"
      >();
  addInterfaces<KilnInlinerInterface>();
}
