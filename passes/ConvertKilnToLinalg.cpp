//===- ConvertKilnToLinalg.cpp - kiln ops to linalg on tensors ------------===//
//
// Each kiln op becomes linalg (named ops where one fits, generics built by
// LinalgBuilders otherwise), tensor ops for layout, and math/arith bodies.
// The patterns live by op family in KilnToLinalg/.
//
// An entry's bool tensors cross the C API one byte per element, but a vector
// load or store of MLIR's i1 is bit-packed: entries take and return them as
// i8 here, compared with 0 on the way in and widened on the way out.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCONVERTTOLINALG
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// `type` with i1 elements replaced by i8, or null when it has none.
RankedTensorType asBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.getElementType().isInteger(1))
    return {};
  return tensor.clone(IntegerType::get(type.getContext(), 8));
}

/// Gives an entry's i1 arguments and results the i8 storage the C API uses:
/// a nonzero byte is true, and true is stored as 1.
void bytesAtEntryBoundary(func::FuncOp func) {
  if (!func->hasAttr(kEntryAttrName) || func.isExternal())
    return;
  Block &entry = func.getBody().front();
  OpBuilder b(func.getContext());
  b.setInsertionPointToStart(&entry);
  for (BlockArgument arg : entry.getArguments()) {
    RankedTensorType bytes = asBytes(arg.getType());
    if (!bytes)
      continue;
    auto boolType = cast<RankedTensorType>(arg.getType());
    SmallVector<OpOperand *> uses = llvm::to_vector(llvm::make_pointer_range(arg.getUses()));
    arg.setType(bytes);
    Value flags = buildElementwise(
        b, arg.getLoc(), boolType, {arg}, [](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value zero = arith::ConstantIntOp::create(nb, l, a[0].getType(), 0);
          return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ne, a[0], zero);
        });
    for (OpOperand *use : uses)
      use->set(flags);
  }
  func.walk([&](func::ReturnOp ret) {
    b.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands())
      if (RankedTensorType bytes = asBytes(operand.get().getType()))
        operand.set(buildElementwise(b, ret.getLoc(), bytes, {operand.get()},
                                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                                       return arith::ExtUIOp::create(nb, l, bytes.getElementType(),
                                                                     a[0]);
                                     }));
  });
  SmallVector<Type> results;
  for (Type type : func.getResultTypes())
    results.push_back(asBytes(type) ? Type(asBytes(type)) : type);
  func.setType(FunctionType::get(func.getContext(), entry.getArgumentTypes(), results));
}

struct ConvertToLinalgPass : impl::KilnConvertToLinalgBase<ConvertToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    bytesAtEntryBoundary(getOperation());
    RewritePatternSet patterns(&getContext());
    populateElementwisePatterns(patterns);
    populateNormalizationPatterns(patterns, onlineSoftmax);
    populateContractionPatterns(patterns);
    populateLayoutPatterns(patterns);
    populateIndexingPatterns(patterns);
    populateGradDecompositions(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Every kiln op but the kernel calls (kiln-select-kernels) must be gone;
    // a survivor is an op without a lowering.
    getOperation().walk([&](Operation *op) {
      if (isa<KilnDialect>(op->getDialect()) && !isa<KernelOp>(op)) {
        op->emitError("no lowering to linalg for this op");
        signalPassFailure();
      }
    });
  }
};

} // namespace
} // namespace kiln
