//===- Pipelines.cpp - The native CPU lowering, stage by stage ------------===//
//
// Read top to bottom, this is the whole road from kiln ops to the LLVM
// dialect. Upstream passes are named by their registered names so that each
// line can be copied into an mlir-opt/kiln-opt command to reproduce a stage.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {
namespace {
void addUpstream(OpPassManager &pm, StringRef pipeline) {
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    llvm::report_fatal_error(llvm::Twine("bad built-in pipeline '") + pipeline + "': " + error);
}
} // namespace

void addFusionPasses(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnFuseSoftmaxCrossEntropy());
  pm.addNestedPass<func::FuncOp>(createKilnFuseAttention());
  // kiln-fuse-linear is not in the pipeline yet: its lowering goes back
  // through the unfused chain, which gives no speed-up, and the reordered ops
  // made one-shot bufferization ~3x slower on CLIP (16 s -> 53 s). It joins
  // once fused_linear has its tiled epilogue lowering.
}

void addKilnToLinalgPasses(OpPassManager &pm) {
  pm.addPass(createKilnParamsToArguments());
  pm.addNestedPass<func::FuncOp>(createKilnConvertToLinalg());
  addUpstream(pm, "canonicalize,cse,func.func(linalg-fuse-elementwise-ops),"
                  "canonicalize,cse");
}

void addVectorizationPasses(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnTileAndVectorize());
  addUpstream(pm, "canonicalize,cse");
}

void addBufferizationPasses(OpPassManager &pm) {
  // Results become caller-provided out-params (the runtime passes the user's
  // output buffers); every remaining allocation is placed in the arena.
  addUpstream(pm, "eliminate-empty-tensors,"
                  "one-shot-bufferize{bufferize-function-boundaries=1 "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,cse,"
                  "buffer-results-to-out-params{hoist-static-allocs=1 "
                  "hoist-dynamic-allocs=1 modify-public-functions=1},"
                  "canonicalize,cse");
  pm.addPass(createKilnPlanArena());
  addUpstream(pm, "canonicalize,cse");
}

void addLowerToLLVMPasses(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createKilnApproximateMath());
  addUpstream(
      pm,
      "func.func(lower-vector-mask,lower-vector-multi-reduction),"
      "convert-vector-to-scf{full-unroll=1},"
      "convert-linalg-to-loops,"
      "lower-affine,convert-scf-to-cf,canonicalize,cse,"
      "convert-vector-to-llvm{reassociate-fp-reductions=1 vector-contract-lowering=outerproduct},"
      "convert-math-to-llvm,expand-strided-metadata,lower-affine,"
      "finalize-memref-to-llvm,"
      "convert-func-to-llvm,convert-arith-to-llvm,convert-cf-to-llvm,"
      "convert-index-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts,"
      "canonicalize,cse");
}

void registerKilnPipelines() {
  PassPipelineRegistration<>("kiln-fuse", "kiln ops to fused kiln ops", addFusionPasses);
  PassPipelineRegistration<>("kiln-to-linalg", "kiln ops to linalg on tensors",
                             addKilnToLinalgPasses);
  PassPipelineRegistration<>("kiln-vectorize", "tile and vectorize linalg ops",
                             addVectorizationPasses);
  PassPipelineRegistration<>("kiln-bufferize", "bufferize and plan buffers into the arena",
                             addBufferizationPasses);
  PassPipelineRegistration<>("kiln-to-llvm", "lower to the LLVM dialect", addLowerToLLVMPasses);
}

} // namespace kiln
