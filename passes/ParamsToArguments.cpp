//===- ParamsToArguments.cpp - Parameters become entry arguments ----------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPARAMSTOARGUMENTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// One-shot bufferization's mark of a function argument it may write.
constexpr llvm::StringLiteral kWritableAttrName = "bufferization.writable";

struct ParamsToArgumentsPass : impl::KilnParamsToArgumentsBase<ParamsToArgumentsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ParameterOp> params(module.getOps<ParameterOp>());

    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func->hasAttr(kEntryAttrName) || func.isExternal())
        continue;
      // Insert one leading argument per parameter, in declaration order.
      SmallVector<unsigned> positions(params.size(), 0);
      SmallVector<Type> types;
      SmallVector<DictionaryAttr> attrs;
      SmallVector<Location> locs;
      llvm::StringMap<unsigned> indexOf;
      for (auto [i, param] : llvm::enumerate(params)) {
        types.push_back(param.getType());
        attrs.push_back(DictionaryAttr::get(
            &getContext(), {NamedAttribute(StringAttr::get(&getContext(), kParamAttrName),
                                           param.getSymNameAttr())}));
        locs.push_back(param.getLoc());
        indexOf[param.getSymName()] = i;
      }
      if (failed(func.insertArguments(positions, types, attrs, locs)))
        return signalPassFailure();

      func.walk([&](ParamOp read) {
        read.replaceAllUsesWith(func.getArgument(indexOf.at(read.getName())));
        read.erase();
      });
      // The weights and the caller's inputs are read-only: an op that
      // updates its operand in place (a kernel whose out is an operand)
      // gets a copy of such an argument from bufferization.
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        func.setArgAttr(i, kWritableAttrName, BoolAttr::get(&getContext(), false));
    }
    // Reads outside entries have nothing to bind to: leave them for the
    // verifier of the next stage to report.
    for (ParameterOp param : params) {
      bool used = false;
      module.walk([&](ParamOp read) { used |= read.getName() == param.getSymName(); });
      if (!used)
        param.erase();
    }
  }
};

} // namespace
} // namespace kiln
