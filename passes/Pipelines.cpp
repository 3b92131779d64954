//===- Pipelines.cpp - The native CPU lowering, stage by stage ------------===//
//
// Read top to bottom, this is the whole road from kiln ops to the LLVM
// dialect. Upstream passes are named by their registered names so that each
// line can be copied into an mlir-opt/kiln-opt command to reproduce a stage.
//
//===----------------------------------------------------------------------===//
#include "passes/CostModel.h"
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

void addInlinePasses(OpPassManager &pm, const PipelineOptions &options) {
  // Small method bodies are inlined before anything else, so fusions see
  // across them.
  pm.addPass(createKilnInline({/*mode=*/options.inlining}));
  // Train entries get their backward pass, and backward functions called
  // once are inlined like any other.
  pm.addPass(createKilnAutodiff());
  pm.addPass(createKilnInline({/*mode=*/options.inlining}));
}

void addFusionPasses(OpPassManager &pm, const PipelineOptions &options) {
  if (!options.fusion)
    return;
  pm.addNestedPass<func::FuncOp>(createKilnFuseSoftmaxCrossEntropy());
  pm.addNestedPass<func::FuncOp>(createKilnFuseAttention());
  // Linear epilogues fuse only where a matmul kernel takes them (oneDNN's
  // post-ops, Kiln's tile epilogue): lowered through linalg, fused_linear goes
  // back through the unfused chain (no gain), and the reordered ops made
  // one-shot bufferization ~3x slower on CLIP.
  pm.addNestedPass<func::FuncOp>(createKilnFuseLinear(
      {/*minFlops=*/options.backend == Backend::OneDnn ? 0 : kMinMatmulKernelFlops}));
}

void addKilnToLinalgPasses(OpPassManager &pm, const PipelineOptions &options) {
  pm.addPass(createKilnParamsToArguments());
  pm.addNestedPass<func::FuncOp>(
      createKilnSelectKernels({/*backend=*/options.backend, /*precision=*/options.precision,
                               /*fusedKernels=*/options.fusion}));
  pm.addNestedPass<func::FuncOp>(createKilnConvertToLinalg());
  addUpstream(pm, "canonicalize,cse,func.func(linalg-fuse-elementwise-ops),"
                  "canonicalize,cse");
  // After fusion, so that only the chains' last ops are left to place.
  pm.addNestedPass<func::FuncOp>(createKilnElementwiseInPlace());
}

void addVectorizationPasses(OpPassManager &pm, const PipelineOptions &) {
  pm.addNestedPass<func::FuncOp>(createKilnTileAndVectorize());
  // Sizes of tiled results read back from the arguments, not through chains
  // of loops: one-shot bufferization's slice analysis grows with each link
  // of such a chain, and the arena planner traces sizes to arguments.
  addUpstream(pm, "canonicalize,func.func(scf-for-loop-canonicalization),"
                  "resolve-ranked-shaped-type-result-dims,canonicalize,cse");
}

void addBufferizationPasses(OpPassManager &pm, const PipelineOptions &) {
  // Results become caller-provided out-params (the runtime passes the user's
  // output buffers, a caller those of its calls); every remaining
  // allocation is placed in the arena.
  addUpstream(pm, "eliminate-empty-tensors,"
                  "one-shot-bufferize{bufferize-function-boundaries=1 "
                  "function-boundary-type-conversion=identity-layout-map},"
                  "canonicalize,cse");
  // Method functions' results first: upstream cannot size dynamic ones.
  pm.addPass(createKilnCallResultsToOutParams());
  addUpstream(pm, "buffer-results-to-out-params{hoist-static-allocs=1 "
                  "hoist-dynamic-allocs=1 modify-public-functions=1},"
                  "canonicalize,cse");
  pm.addPass(createKilnPlanArena());
  addUpstream(pm, "canonicalize,cse");
}

void addLowerToLLVMPasses(OpPassManager &pm, const PipelineOptions &) {
  pm.addPass(createKilnLowerKernels());
  pm.addNestedPass<func::FuncOp>(createKilnApproximateMath());
  pm.addNestedPass<func::FuncOp>(createKilnExpandShapeToReinterpretCast());
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

namespace {
/// PipelineOptions as kiln-opt pipeline options.
struct PipelineCliOptions : PassPipelineOptions<PipelineCliOptions> {
  Option<Backend> backend{*this, "backend", llvm::cl::desc("Where matmuls go"),
                          llvm::cl::init(Backend::Auto), llvm::cl::values(KILN_BACKEND_VALUES)};
  Option<Precision> precision{
      *this, "precision", llvm::cl::desc("What matmuls multiply in: f32 or bf16"),
      llvm::cl::init(Precision::F32), llvm::cl::values(KILN_PRECISION_VALUES)};
  Option<bool> fusion{*this, "fusion", llvm::cl::desc("Fusion passes and fused kernels"),
                      llvm::cl::init(true)};
  Option<std::string> inlining{*this, "inline",
                               llvm::cl::desc("Inline method functions: always, never or auto"),
                               llvm::cl::init("auto")};
};

template <void (*addPasses)(OpPassManager &, const PipelineOptions &)>
void registerStage(StringRef name, StringRef description) {
  PassPipelineRegistration<PipelineCliOptions>(
      name, description, [](OpPassManager &pm, const PipelineCliOptions &cli) {
        addPasses(pm, PipelineOptions{cli.backend, cli.precision, cli.fusion, cli.inlining});
      });
}
} // namespace

void registerKilnPipelines() {
  registerStage<addInlinePasses>("kiln-inline-methods",
                                 "inline method functions (the `inline` option)");
  registerStage<addFusionPasses>("kiln-fuse", "kiln ops to fused kiln ops");
  registerStage<addKilnToLinalgPasses>("kiln-to-linalg",
                                       "kernels selected, other kiln ops to linalg on tensors");
  registerStage<addVectorizationPasses>("kiln-vectorize", "tile and vectorize linalg ops");
  registerStage<addBufferizationPasses>("kiln-bufferize",
                                        "bufferize and plan buffers into the arena");
  registerStage<addLowerToLLVMPasses>("kiln-to-llvm", "lower to the LLVM dialect");
}

} // namespace kiln
