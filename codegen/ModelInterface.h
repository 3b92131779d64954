//===- ModelInterface.h - What a compiled model exposes ---------*- C++ -*-===//
//
// The contract between the compiled code, the runtime and the user: the
// parameters, each entry's tensors with their symbolic dims, and each entry's
// arena size. Read from the kiln-level module (and, for the arena, the
// bufferized one); written out as the runtime's JSON manifest and as the
// generated C header.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_MODELINTERFACE_H
#define KILN_CODEGEN_MODELINTERFACE_H

#include "codegen/GpuProgram.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace kiln {

/// A dim is a size or the name of a symbolic dim bound at call time.
using Dim = std::variant<int64_t, std::string>;

struct TensorSpec {
  std::string name;
  std::string dtype; // f32 f64 f16 bf16 i64 i32 i8 bool
  std::vector<Dim> dims;
  /// An input whose values are class indices (a cross_entropy's targets):
  /// each must lie in [0, classes), checked at every call.
  std::optional<int64_t> classes;
};

/// `coeff * product(symbols)` bytes.
struct ArenaTerm {
  int64_t coeff = 0;
  std::vector<std::string> symbols;
};

/// Arena bytes [offset, offset + size) in use until position `last` of the
/// entry's body.
struct ArenaSpan {
  std::vector<ArenaTerm> offset, size;
  int64_t last = 0;
};

/// Where a train step may put its gradients (PlanArena's kiln.grad_space):
/// gradient i is first written at position births[i] and may take arena bytes
/// that no span still in use then covers.
struct GradSpace {
  std::vector<int64_t> births;
  std::vector<ArenaSpan> busy;
  /// For an entry planned with its gradients: each one's arena offset.
  std::vector<int64_t> offsets;
};

/// What makes an entry a train entry (docs/abi.md, "Training"): its outputs
/// are the loss and then the gradient of each trained parameter, in `params`
/// order, which is also their order in the flat gradient buffer.
struct TrainSpec {
  std::string optimizer; // sgd, adam or adamw
  /// The optimizer's settings by PyTorch's names (momentum, beta1, ...).
  std::vector<std::pair<std::string, double>> settings;
  std::optional<double> clipGradNorm;
  std::vector<unsigned> params; // indices into ModelInterface::params
  int64_t numGrads = 0;         // values in the gradient buffer
  GradSpace gradSpace;          // from the bufferized module
};

struct EntrySpec {
  std::string name;
  std::vector<std::string> symbols; // in order of first appearance
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<ArenaTerm> arena;
  std::optional<TrainSpec> train;
};

/// A kernel call the runtime prepares at create time (runtime/src/prepare.c):
/// a oneDNN kernel call with static, dense operands, whose primitive it
/// makes, or a packing kernel's call on a parameter, which it packs.
struct PreparedKernel {
  std::string kernel;
  std::vector<std::vector<int64_t>> operandShapes;
  std::vector<std::variant<int64_t, double>> scalars;
  /// The parameter a packing kernel's operand 1 (b) is in this call.
  std::optional<unsigned> weightParam;
  bool operator==(const PreparedKernel &other) const = default;
};

/// A model whose entries `prefill` and `decode_step` make a generation pair
/// gets a key/value cache API (docs/abi.md, "Generation").
struct GenerationSpec {
  unsigned prefill = 0, decode = 0; // indices into `entries`
  /// prefill's symbols other than the batch, in order: the C caller's.
  std::vector<std::string> prefillDims;
  /// The batch symbol and the tensor of one cache position (`rest`).
  std::string batch;
  std::vector<Dim> position;
};

struct ModelInterface {
  std::string modelName;
  std::vector<TensorSpec> params;
  std::vector<EntrySpec> entries;
  std::optional<GenerationSpec> generation;
  /// The size of the weights file compiled into the library (kilnc
  /// --embed-weights), which NAME_create then accepts no path for.
  std::optional<uint64_t> embeddedWeightsSize;
  /// The NVIDIA GPU the model is compiled for (sm_80), empty for the host;
  /// its kernels once compiled.
  std::string gpuChip;
  std::optional<GpuProgram> gpu;

  /// Reads parameters and entries from a module in the kiln dialect.
  static mlir::FailureOr<ModelInterface> fromKilnModule(mlir::ModuleOp module);
  /// Marks the inputs of each entry that are a cross_entropy's targets (seen
  /// through reshapes) with the logits' class count, from the module after
  /// inlining and autodiff.
  void readClassInputs(mlir::ModuleOp module);
  /// Reads each entry's `kiln.arena` terms (and a train entry's
  /// `kiln.grad_space`) from the bufferized module.
  mlir::LogicalResult readArenaPlan(mlir::ModuleOp module);

  /// Library kernel calls whose primitives can be made at create time.
  std::vector<PreparedKernel> prepared;

  /// Collects `prepared` from the bufferized module: every memref-form
  /// kiln.kernel calling a oneDNN kernel whose operands are static and dense,
  /// and every call of a packing kernel whose b is a parameter (through the
  /// calls of the function it is in) once per such parameter.
  void readPreparedKernels(mlir::ModuleOp module);

  /// The JSON manifest the runtime parses (docs/abi.md).
  std::string manifestJson() const;
};

/// The dtype name of an MLIR element type, or "" if Kiln has no C type for it.
std::string dtypeName(mlir::Type elementType);

/// `[B, 64]`: dims as the header and the messages write them.
std::string formatDims(const std::vector<Dim> &dims);

} // namespace kiln

#endif // KILN_CODEGEN_MODELINTERFACE_H
