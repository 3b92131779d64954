//===- MethodFunctions.cpp - What the passes ask of method functions ------===//
#include "passes/MethodFunctions.h"

#include "dialects/Kiln/KilnDialect.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kiln {

SmallVector<ArgDim, 2> argDimsNamed(func::FuncOp func, StringRef symbol, unsigned firstArg) {
  SmallVector<ArgDim, 2> found;
  for (unsigned i = firstArg; i < func.getNumArguments(); ++i) {
    auto dims = func.getArgAttrOfType<ArrayAttr>(i, kDimsAttrName);
    if (!dims)
      continue;
    for (auto [d, dim] : llvm::enumerate(dims))
      if (auto name = dyn_cast<StringAttr>(dim); name && name.getValue() == symbol)
        found.push_back({i, static_cast<unsigned>(d)});
  }
  return found;
}

SmallVector<func::FuncOp> calleesFirst(ModuleOp module, SymbolTable &symbols) {
  llvm::SetVector<Operation *> done;
  SmallVector<func::FuncOp> order;
  DenseSet<Operation *> onStack;
  std::function<void(func::FuncOp)> visit = [&](func::FuncOp func) {
    if (done.contains(func) || !onStack.insert(func).second)
      return;
    func.walk([&](func::CallOp call) {
      if (auto callee = symbols.lookup<func::FuncOp>(call.getCallee()))
        visit(callee);
    });
    onStack.erase(func);
    if (done.insert(func))
      order.push_back(func);
  };
  for (auto func : module.getOps<func::FuncOp>())
    visit(func);
  return order;
}

} // namespace kiln
