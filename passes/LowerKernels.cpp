//===- LowerKernels.cpp - kiln.kernel on memrefs to runtime calls ---------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNLOWERKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct LowerKernelsPass : impl::KilnLowerKernelsBase<LowerKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<KernelOp> kernels;
    module.walk([&](KernelOp op) { kernels.push_back(op); });
    for (KernelOp op : kernels)
      if (failed(lower(op, symbols)))
        return signalPassFailure();
  }

  LogicalResult lower(KernelOp op, SymbolTable &symbols) {
    if (op->getNumResults() > 0)
      return op.emitOpError("is still on tensors: bufferize before kiln-lower-kernels");
    Location loc = op.getLoc();
    OpBuilder b(op);
    SmallVector<Value> args;
    for (Value operand : op->getOperands()) {
      auto type = cast<MemRefType>(operand.getType());
      auto unranked = UnrankedMemRefType::get(type.getElementType(), type.getMemorySpace());
      args.push_back(memref::CastOp::create(b, loc, unranked, operand));
    }
    for (Attribute scalar : op.getScalars()) {
      if (auto integer = dyn_cast<IntegerAttr>(scalar)) {
        // Flags and unsigned values widen with zeros, signed ones with their sign.
        const APInt &value = integer.getValue();
        bool zeroExtend = integer.getType().isUnsignedInteger() || value.getBitWidth() == 1;
        int64_t wide = zeroExtend ? int64_t(value.getZExtValue()) : value.getSExtValue();
        args.push_back(arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(wide)));
      }
      else
        args.push_back(arith::ConstantOp::create(
            b, loc, b.getF64FloatAttr(cast<FloatAttr>(scalar).getValueAsDouble())));
    }
    auto type = FunctionType::get(op.getContext(), ValueRange(args).getTypes(), {});
    StringRef name = op.getCallee();
    Operation *existing = symbols.lookup(name);
    auto callee = dyn_cast_or_null<func::FuncOp>(existing);
    if (existing && !callee)
      return op.emitOpError("calls @") << name << ", which names something other than a function";
    if (!callee) {
      OpBuilder top = OpBuilder::atBlockBegin(getOperation().getBody());
      callee = func::FuncOp::create(top, loc, name, type);
      callee.setPrivate();
      symbols.insert(callee);
    } else if (callee.getFunctionType() != type) {
      return op.emitOpError("calls @") << name << " as " << type << " but it is declared as "
                                       << callee.getFunctionType();
    }
    func::CallOp::create(b, loc, callee, args);
    op.erase();
    return success();
  }
};

} // namespace
} // namespace kiln
