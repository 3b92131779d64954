//===- LaunchToRuntime.cpp - gpu.launch_func as a runtime call ------------===//
//
// Upstream's host lowering loads every GPU module in a global constructor and
// makes a stream per launch; a Kiln library loads its modules when a model
// is created (or says there is no device) and launches on the model's
// stream. So each launch becomes a call of kiln_rt_gpu_launch with the
// kernel's number and its parameters in the layout convert-gpu-to-nvvm gives
// the kernel (see KilnGpuLaunchToRuntime in Passes.td).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPULAUNCHTORUNTIME
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr StringLiteral kLaunchName = "kiln_rt_gpu_launch";

/// `value` widened or reinterpreted to the i64 a parameter slot holds.
Value toSlot(OpBuilder &b, Location loc, Value value) {
  Type i64 = b.getI64Type();
  Type type = value.getType();
  if (type.isIndex())
    return arith::IndexCastUIOp::create(b, loc, i64, value);
  if (auto floatType = dyn_cast<FloatType>(type))
    value = arith::BitcastOp::create(b, loc, b.getIntegerType(floatType.getWidth()), value);
  if (value.getType() == i64)
    return value;
  return arith::ExtUIOp::create(b, loc, i64, value);
}

/// The kernel parameters `operand` expands to, as convert-gpu-to-nvvm lays
/// out a memref: allocated and aligned pointers (the aligned one twice: the
/// kernel never reads the other), offset, sizes, strides.
void appendSlots(OpBuilder &b, Location loc, Value operand, SmallVectorImpl<Value> &slots) {
  if (!isa<MemRefType>(operand.getType())) {
    slots.push_back(toSlot(b, loc, operand));
    return;
  }
  Value aligned = toSlot(b, loc, memref::ExtractAlignedPointerAsIndexOp::create(b, loc, operand));
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, operand);
  slots.append({aligned, aligned, toSlot(b, loc, metadata.getOffset())});
  for (Value size : metadata.getSizes())
    slots.push_back(toSlot(b, loc, size));
  for (Value stride : metadata.getStrides())
    slots.push_back(toSlot(b, loc, stride));
}

func::FuncOp declareLaunch(ModuleOp module) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(kLaunchName))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  // (kernel, grid x/y/z, block x/y/z, parameter slots, their count)
  auto type = b.getFunctionType({i32, i64, i64, i64, i64, i64, i64, ptr, i32}, {});
  auto func = func::FuncOp::create(b, module.getLoc(), kLaunchName, type);
  func.setPrivate();
  return func;
}

struct KilnGpuLaunchToRuntime : impl::KilnGpuLaunchToRuntimeBase<KilnGpuLaunchToRuntime> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::LaunchFuncOp> launches;
    module.walk([&](gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    if (launches.empty())
      return;
    func::FuncOp launchFunc = declareLaunch(module);
    // Kernels numbered in the order of their first launch.
    SmallVector<Attribute> kernels;
    llvm::DenseMap<Attribute, int32_t> numbers;
    for (gpu::LaunchFuncOp launch : launches) {
      if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
          launch.getDynamicSharedMemorySize() || launch.hasClusterSize()) {
        launch.emitError("kiln-gpu-launch-to-runtime: async launches, dynamic shared memory "
                         "and clusters are not supported");
        return signalPassFailure();
      }
      auto [it, inserted] = numbers.try_emplace(launch.getKernelAttr(), kernels.size());
      if (inserted)
        kernels.push_back(launch.getKernelAttr());

      OpBuilder b(launch);
      Location loc = launch.getLoc();
      SmallVector<Value> slots;
      for (Value operand : launch.getKernelOperands())
        appendSlots(b, loc, operand, slots);
      auto slotType = MemRefType::get({static_cast<int64_t>(slots.size())}, b.getI64Type());
      Value buffer = memref::AllocaOp::create(b, loc, slotType);
      for (auto [i, slot] : llvm::enumerate(slots))
        memref::StoreOp::create(b, loc, slot, buffer,
                                ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      Value address =
          toSlot(b, loc, memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer));
      Value pointer =
          LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(&getContext()), address);

      gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
      gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
      SmallVector<Value> args{arith::ConstantIntOp::create(b, loc, b.getI32Type(), it->second)};
      for (Value size : {grid.x, grid.y, grid.z, block.x, block.y, block.z})
        args.push_back(toSlot(b, loc, size));
      args.push_back(pointer);
      args.push_back(arith::ConstantIntOp::create(b, loc, b.getI32Type(), slots.size()));
      func::CallOp::create(b, loc, launchFunc, args);
      launch.erase();
    }
    module->setAttr(kGpuKernelsAttrName, ArrayAttr::get(&getContext(), kernels));
  }
};

} // namespace
} // namespace kiln
