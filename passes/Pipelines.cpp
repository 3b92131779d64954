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
  // GPU kernels are generated from linalg, where fused_linear would only be
  // unfused again.
  if (options.targetsGpu())
    return;
  // Linear epilogues fuse only where a matmul kernel takes them (oneDNN's
  // post-ops, Kiln's tile epilogue): lowered through linalg, fused_linear goes
  // back through the unfused chain (no gain), and the reordered ops made
  // one-shot bufferization ~3x slower on CLIP.
  pm.addNestedPass<func::FuncOp>(createKilnFuseLinear(
      {/*minFlops=*/options.backend == Backend::OneDnn ? 0 : kMinMatmulKernelFlops}));
}

void addKilnToLinalgPasses(OpPassManager &pm, const PipelineOptions &options) {
  pm.addPass(createKilnParamsToArguments());
  // The runtime's kernels run on the host: on the GPU everything is
  // generated.
  if (!options.targetsGpu())
    pm.addNestedPass<func::FuncOp>(
        createKilnSelectKernels({/*backend=*/options.backend, /*precision=*/options.precision,
                                 /*fusedKernels=*/options.fusion}));
  pm.addNestedPass<func::FuncOp>(createKilnConvertToLinalg());
  addUpstream(pm, "canonicalize,cse,func.func(linalg-fuse-elementwise-ops),"
                  "canonicalize,cse");
  // After fusion, so that only the chains' last ops are left to place.
  pm.addNestedPass<func::FuncOp>(createKilnElementwiseInPlace());
}

void addVectorizationPasses(OpPassManager &pm, const PipelineOptions &options) {
  // GPU code is tiled after bufferization, when loops are mapped to threads.
  if (options.targetsGpu())
    return;
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

void addGpuLoopPasses(OpPassManager &pm, const PipelineOptions &) {
  // Every buffer access becomes a parallel loop nest, tiled into blocks of
  // up to 256 threads.
  pm.addNestedPass<func::FuncOp>(createKilnGpuPrepare());
  addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
  pm.addNestedPass<func::FuncOp>(createKilnGpuTileLoops());
}

void addGpuMappingPasses(OpPassManager &pm, const PipelineOptions &options) {
  // The tiles map to blocks, the points to threads (the innermost dim to
  // x), and each nest is outlined into a kernel that the host launches.
  addGpuLoopPasses(pm, options);
  addUpstream(pm, "func.func(gpu-map-parallel-loops{mapping-policy=innermost-first},"
                  "convert-parallel-loops-to-gpu),"
                  "canonicalize,cse,gpu-launch-sink-index-computations,gpu-kernel-outlining,"
                  "canonicalize,cse");
  pm.addPass(createKilnGpuMergeKernels());
  pm.addPass(createKilnGpuCheckHost());
}

void addGpuToNvvmPasses(OpPassManager &pm, const PipelineOptions &options) {
  // PTX 8.0 (CUDA 12) at least: sm_90 needs it, and the default (6.0) is
  // older than CUDA 13's ptxas accepts.
  addUpstream(pm, "lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=" + options.gpuChip +
                      " features=+ptx80 O=3},"
                      "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
                      "reconcile-unrealized-casts)");
}

void addGpuBinaryPasses(OpPassManager &pm, const PipelineOptions &options) {
  addUpstream(pm, "gpu-module-to-binary{format=isa toolkit=" + options.cudaPath + "}");
  pm.addPass(createKilnGpuLaunchToRuntime());
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
  Option<std::string> gpuChip{*this, "gpu-chip",
                              llvm::cl::desc("The NVIDIA GPU (sm_80, sm_90); empty: the host"),
                              llvm::cl::init("")};
  Option<std::string> cudaPath{*this, "cuda-path",
                               llvm::cl::desc("The CUDA toolkit whose libdevice kernels link"),
                               llvm::cl::init("/usr/local/cuda")};
};

template <void (*addPasses)(OpPassManager &, const PipelineOptions &)>
void registerStage(StringRef name, StringRef description) {
  PassPipelineRegistration<PipelineCliOptions>(
      name, description, [](OpPassManager &pm, const PipelineCliOptions &cli) {
        addPasses(pm, PipelineOptions{cli.backend, cli.precision, cli.fusion, cli.inlining,
                                      cli.gpuChip, cli.cudaPath});
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
  registerStage<addGpuMappingPasses>("kiln-gpu-map", "parallel loops to GPU kernels, outlined");
  registerStage<addGpuToNvvmPasses>("kiln-gpu-to-nvvm", "GPU kernels to NVVM (gpu-chip option)");
  registerStage<addGpuBinaryPasses>("kiln-gpu-binary",
                                    "GPU kernels to PTX, launches to runtime calls");
  registerStage<addLowerToLLVMPasses>("kiln-to-llvm", "lower to the LLVM dialect");
}

} // namespace kiln
