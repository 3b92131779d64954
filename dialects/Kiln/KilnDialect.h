//===- KilnDialect.h - The kiln dialect -------------------------*- C++ -*-===//
#ifndef KILN_DIALECTS_KILN_KILNDIALECT_H
#define KILN_DIALECTS_KILN_KILNDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Kiln/KilnDialect.h.inc"

namespace kiln {
/// Attribute names the frontend, the passes and codegen agree on.
/// `kiln.model` on the module names the model (the C symbol prefix);
/// `kiln.entry` on a func.func marks an exported entry point.
inline constexpr llvm::StringLiteral kModelAttrName = "kiln.model";
inline constexpr llvm::StringLiteral kEntryAttrName = "kiln.entry";
/// Per-argument / per-result attribute carrying the source-level name
/// (`x`, `y`) and the symbolic dims (`["B", 64]`) of an entry's tensors.
inline constexpr llvm::StringLiteral kArgNameAttrName = "kiln.name";
inline constexpr llvm::StringLiteral kDimsAttrName = "kiln.dims";
/// Per-argument attribute naming the parameter an argument carries: its
/// `state_dict` path on an entry, its path within the module on a method's
/// outlined function (`attn.q_proj.weight`).
inline constexpr llvm::StringLiteral kParamAttrName = "kiln.param";
/// On a train entry: `{params = ["fc1.weight", ...], frozen = [...],
/// optimizer = "adamw", ...}`, the parameters it trains, those a `freeze:`
/// pattern matched, and its optimizer's settings. After
/// kiln-autodiff the entry returns the loss and then one gradient per listed
/// parameter, each result tagged `kiln.grad` with the parameter's path.
inline constexpr llvm::StringLiteral kTrainAttrName = "kiln.train";
inline constexpr llvm::StringLiteral kGradAttrName = "kiln.grad";
/// On the module: what the code is compiled for, `{cpu = "x86-64-v3",
/// vector_width = 8 : i64}` (kilnc sets it from --mcpu / --mattr), read by
/// the passes whose choices depend on the target (kiln-tile-and-vectorize).
inline constexpr llvm::StringLiteral kTargetAttrName = "kiln.target";
inline constexpr llvm::StringLiteral kTargetCpuName = "cpu";
inline constexpr llvm::StringLiteral kTargetVectorWidthName = "vector_width";
/// On the module, on the GPU target (kiln-gpu-launch-to-runtime): the
/// kernels the host launches, `[@binary::@kernel, ...]`, numbered in order;
/// kiln_rt_gpu_launch's first argument is an index into it.
inline constexpr llvm::StringLiteral kGpuKernelsAttrName = "kiln.gpu_kernels";
/// The one gpu.module that holds a model's kernels (kiln-gpu-merge-kernels).
inline constexpr llvm::StringLiteral kGpuKernelsModuleName = "kiln_kernels";
} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNDIALECT_H
