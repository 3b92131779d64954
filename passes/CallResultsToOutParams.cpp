//===- CallResultsToOutParams.cpp - Callers provide callees' results ------===//
//
// A bufferized private function returns buffers it allocated. Turning them
// into caller-provided out-params puts every buffer of a call in its
// caller's frame, where the arena planner can place it by liveness, and
// leaves the callee's own frame with its scratch alone.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/MethodFunctions.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCALLRESULTSTOOUTPARAMS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// For each result, how a call computes each of its dynamic sizes.
FailureOr<SmallVector<SmallVector<ArgDim>>> resultSizeSources(func::FuncOp func) {
  SmallVector<SmallVector<ArgDim>> sources;
  for (auto [i, type] : llvm::enumerate(func.getResultTypes())) {
    auto memref = cast<MemRefType>(type);
    auto dims = func.getResultAttrOfType<ArrayAttr>(i, kDimsAttrName);
    SmallVector<ArgDim> &result = sources.emplace_back();
    for (int64_t d = 0; d < memref.getRank(); ++d) {
      if (!memref.isDynamicDim(d))
        continue;
      auto name = dims && d < static_cast<int64_t>(dims.size()) ? dyn_cast<StringAttr>(dims[d])
                                                                : StringAttr();
      SmallVector<ArgDim, 2> named =
          name ? argDimsNamed(func, name.getValue()) : SmallVector<ArgDim, 2>();
      if (named.empty())
        return func.emitOpError("result ")
               << i << " has a dynamic dim " << d
               << " that names no symbolic dim of the arguments (`kiln.dims`)";
      result.push_back(named.front());
    }
  }
  return sources;
}

LogicalResult convertCallee(func::FuncOp func, SymbolUserMap &users) {
  FailureOr<SmallVector<SmallVector<ArgDim>>> sources = resultSizeSources(func);
  if (failed(sources))
    return failure();
  unsigned numArgs = func.getNumArguments();
  SmallVector<Type> resultTypes(func.getResultTypes());

  // The callee: one out-param per result, named by the result's dims.
  for (auto [i, type] : llvm::enumerate(resultTypes)) {
    if (failed(func.insertArgument(numArgs + i, type, func.getResultAttrDict(i), func.getLoc())))
      return failure();
  }
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(ret);
  llvm::SmallPtrSet<Operation *, 4> adopted;
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    BlockArgument out = body.getArgument(numArgs + i);
    auto alloc = value.getDefiningOp<memref::AllocOp>();
    // A buffer allocated here for this result alone is the out-param itself.
    if (alloc && alloc->getBlock() == &body && alloc.getType() == out.getType() &&
        llvm::count(ret.getOperands(), value) == 1 && adopted.insert(alloc).second) {
      alloc.replaceAllUsesWith(out);
      continue;
    }
    memref::CopyOp::create(b, ret.getLoc(), value, out);
  }
  for (Operation *alloc : adopted)
    alloc->erase();
  func::ReturnOp::create(b, ret.getLoc());
  ret.erase();
  func.setType(FunctionType::get(func.getContext(), body.getArgumentTypes(), {}));
  func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});

  // The calls: the caller allocates, passes and then reads those buffers.
  for (Operation *user : llvm::to_vector(users.getUsers(func))) {
    auto call = dyn_cast<func::CallOp>(user);
    if (!call)
      return user->emitOpError("uses '") << func.getSymName() << "' other than by a call";
    OpBuilder cb(call);
    SmallVector<Value> operands(call.getOperands());
    SmallVector<Value> outs;
    for (auto [i, type] : llvm::enumerate(resultTypes)) {
      SmallVector<Value> sizes;
      for (ArgDim source : (*sources)[i])
        sizes.push_back(memref::DimOp::create(cb, call.getLoc(), operands[source.arg],
                                              static_cast<int64_t>(source.dim)));
      auto alloc = memref::AllocOp::create(cb, call.getLoc(), cast<MemRefType>(type), sizes,
                                           cb.getI64IntegerAttr(64));
      outs.push_back(alloc);
    }
    operands.append(outs);
    func::CallOp::create(cb, call.getLoc(), func.getSymName(), TypeRange{}, operands);
    call.replaceAllUsesWith(outs);
    call.erase();
  }
  return success();
}

struct CallResultsToOutParamsPass
    : impl::KilnCallResultsToOutParamsBase<CallResultsToOutParamsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbolTables;
    SymbolUserMap users(symbolTables, module);
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (!func.isPrivate() || func.isExternal() || func.getNumResults() == 0 ||
          !llvm::all_of(func.getResultTypes(), llvm::IsaPred<MemRefType>))
        continue;
      if (failed(convertCallee(func, users)))
        return signalPassFailure();
    }
  }
};

} // namespace
} // namespace kiln
