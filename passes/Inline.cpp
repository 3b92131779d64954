//===- Inline.cpp - Inlines outlined method functions by a size rule ------===//
//
// The frontend keeps every module method a function; this pass decides which
// calls to replace by the body (see Passes.td for the rule). Callees are
// visited before their callers, so a function's size is measured after its
// own small callees were inlined into it.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/MethodFunctions.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/Inliner.h"
#include "mlir/Transforms/InliningUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNINLINE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

int64_t countOps(func::FuncOp func) {
  int64_t count = 0;
  func.walk([&](Operation *op) { count += op != func.getOperation(); });
  return count;
}

struct InlinePass : impl::KilnInlineBase<InlinePass> {
  using Base::Base;

  void runOnOperation() override {
    if (mode != "always" && mode != "never" && mode != "auto") {
      getOperation().emitError("kiln-inline: unknown mode '")
          << mode << "': expected always, never or auto";
      return signalPassFailure();
    }
    if (mode == "never")
      return;
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SymbolTableCollection collection;
    SymbolUserMap users(collection, module);
    InlinerInterface interface(&getContext());
    InlinerConfig config;

    for (func::FuncOp callee : calleesFirst(module, symbols)) {
      if (!callee.isPrivate() || callee.isExternal() || callee->hasAttr(kEntryAttrName))
        continue;
      SmallVector<func::CallOp> calls;
      for (Operation *user : users.getUsers(callee))
        if (auto call = dyn_cast<func::CallOp>(user))
          calls.push_back(call);
      int64_t size = countOps(callee);
      bool small = size <= maxOps && size * int64_t(calls.size()) <= maxGrowth;
      bool inlineAll = mode == "always" || calls.size() <= 1 || small;
      if (!inlineAll) {
        // Kept for its many callers: LLVM's inliner, which sees a small
        // body, must not copy it back into them either.
        if (size <= maxOps)
          callee.setNoInline(true);
        continue;
      }
      for (func::CallOp call : calls) {
        if (failed(inlineCall(interface, config.getCloneCallback(), call, callee,
                              &callee.getBody()))) {
          call.emitError("cannot inline '") << callee.getSymName() << "'";
          return signalPassFailure();
        }
        call.erase();
      }
      if (users.getUsers(callee).size() == calls.size())
        callee.erase();
    }
  }
};

} // namespace
} // namespace kiln
