//===- Passes.h - Kiln's passes and pipelines -------------------*- C++ -*-===//
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "passes/PipelineOptions.h"

namespace kiln {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The stages of the CPU pipeline, in order. kilnc's --emit=<stage> stops
/// after the named one; each is also a kiln-opt pipeline taking the options
/// above (`-kiln-to-linalg='backend=onednn'`).
///  kiln:       the frontend's method functions, inlined by kiln-inline, and
///              train entries differentiated by kiln-autodiff
///  fused:      kiln -> kiln with fused ops (softmax + cross-entropy, ...)
///  linalg:     kernels selected (kiln.kernel), the rest to linalg on tensors
///  vector:     tiled and vectorized for the host
///  bufferized: memrefs, results as out-params, buffers planned into the arena
///  llvm-mlir:  the LLVM dialect, kernels as calls into the runtime
/// With a GPU target (PipelineOptions::gpuChip), vectorize does nothing and
/// three stages come between bufferized and llvm-mlir:
///  gpu:        parallel loops (addGpuLoopPasses) mapped to blocks and
///              threads, outlined kernels
///  nvvm:       kernels in the NVVM and LLVM dialects
///  ptx:        kernels compiled to PTX (gpu.binary), launches as runtime calls
void addInlinePasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addFusionPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addKilnToLinalgPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addVectorizationPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addBufferizationPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addGpuLoopPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addGpuMappingPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addGpuToNvvmPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addGpuBinaryPasses(mlir::OpPassManager &pm, const PipelineOptions &options);
void addLowerToLLVMPasses(mlir::OpPassManager &pm, const PipelineOptions &options);

/// Every dialect (with its interface models) that Kiln's pipelines touch.
void registerDialects(mlir::DialectRegistry &registry);

/// Attaches one-shot bufferization's interface to kiln.kernel.
void registerKernelBufferization(mlir::DialectRegistry &registry);

/// Kiln's passes, its pipelines and upstream MLIR's passes.
void registerPasses();

/// Registers the stages above as named kiln-opt pipelines
/// (`kiln-inline-methods`, `kiln-fuse`, `kiln-to-linalg`, `kiln-vectorize`, `kiln-bufferize`,
/// `kiln-gpu-map`, `kiln-gpu-to-nvvm`, `kiln-gpu-binary`, `kiln-to-llvm`).
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_PASSES_PASSES_H
