//===- KernelSelection.cpp - Route ops to native and oneDNN kernels -------===//
//
// Rewrites the kiln ops that a runtime kernel serves into kiln.kernel calls
// (see KilnSelectKernels in Passes.td). Everything here is a choice between
// two correct lowerings, so a pattern that does not fit simply declines and
// the op goes through linalg.
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnOps.h"
#include "dialects/Kiln/RuntimeKernels.h"
#include "passes/CostModel.h"
#include "passes/KilnToLinalg/Patterns.h"
#include "passes/LinalgBuilders.h"
#include "passes/Passes.h"
#include "runtime/include/kiln/abi.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSELECTKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool hasElementType(Value value, Type type) {
  auto tensor = dyn_cast<RankedTensorType>(value.getType());
  return tensor && tensor.getElementType() == type;
}

bool isF32(Value value) { return hasElementType(value, Float32Type::get(value.getContext())); }
bool isI64(Value value) { return hasElementType(value, IntegerType::get(value.getContext(), 64)); }
bool isI1(Value value) { return hasElementType(value, IntegerType::get(value.getContext(), 1)); }

/// The outs of a kernel standing for `op`: one uninitialized tensor per
/// result, dynamic sizes taken from `sources` as `buildEmpty` does.
SmallVector<Value> initsFor(OpBuilder &b, Operation *op, ValueRange sources = {}) {
  SmallVector<Value> inits;
  for (Type type : op->getResultTypes())
    inits.push_back(buildEmpty(b, op->getLoc(), cast<RankedTensorType>(type), sources));
  return inits;
}

/// An uninitialized tensor of `type` whose dim i has the size of dim
/// sizeSources[i].second of sizeSources[i].first (read only when dynamic).
Value emptyWithSizes(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<std::pair<Value, int64_t>> sizeSources) {
  SmallVector<Value> dynamic;
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamic.push_back(tensor::DimOp::create(b, loc, sizeSources[i].first, sizeSources[i].second));
  return tensor::EmptyOp::create(b, loc, type, dynamic);
}

/// Replaces `op` by a call of the runtime kernel `callee` writing `outputs`.
void replaceWithKernel(PatternRewriter &rewriter, Operation *op, StringRef callee,
                       ValueRange inputs, ValueRange outputs, ArrayRef<Attribute> scalars = {}) {
  auto kernel = KernelOp::create(rewriter, op->getLoc(), ValueRange(outputs).getTypes(),
                                 FlatSymbolRefAttr::get(rewriter.getContext(), callee), inputs,
                                 outputs, rewriter.getArrayAttr(scalars));
  rewriter.replaceOp(op, kernel.getResults());
}

//===----------------------------------------------------------------------===//
// Softmax + cross-entropy
//===----------------------------------------------------------------------===//

bool fitsSoftmaxCeKernel(Value logits, Value targets) {
  return isF32(logits) && isI64(targets) && cast<RankedTensorType>(logits.getType()).getRank() == 2;
}

struct SoftmaxCeToKernel : OpRewritePattern<SoftmaxCrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    if (!fitsSoftmaxCeKernel(op.getLogits(), op.getTargets()))
      return rewriter.notifyMatchFailure(op, "not f32 logits [N, C] with i64 targets");
    SmallVector<Value> outputs{
        buildEmpty(rewriter, op.getLoc(), cast<RankedTensorType>(op.getLoss().getType()), {})};
    if (Value lse = op.getLse())
      outputs.push_back(emptyWithSizes(rewriter, op.getLoc(), cast<RankedTensorType>(lse.getType()),
                                       {{op.getLogits(), 0}}));
    StringRef callee = op.getLse() ? kernels::softmax_ce_lse_f32 : kernels::softmax_ce_f32;
    replaceWithKernel(rewriter, op, callee, {op.getLogits(), op.getTargets()}, outputs);
    return success();
  }
};

struct SoftmaxCeGradToKernel : OpRewritePattern<SoftmaxCrossEntropyGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyGradOp op,
                                PatternRewriter &rewriter) const override {
    if (!fitsSoftmaxCeKernel(op.getLogits(), op.getTargets()))
      return rewriter.notifyMatchFailure(op, "not f32 logits [N, C] with i64 targets");
    // In place: the gradient overwrites the logits, which a train step
    // reads nowhere else (bufferization copies them first where it does).
    Value logits = op.getLogits();
    if (logits.getType() != op.getGrad().getType())
      logits = tensor::CastOp::create(rewriter, op.getLoc(), op.getGrad().getType(), logits);
    Value loss =
        buildEmpty(rewriter, op.getLoc(), cast<RankedTensorType>(op.getLoss().getType()), {});
    replaceWithKernel(rewriter, op, kernels::softmax_ce_grad_f32, {op.getTargets()},
                      {loss, logits});
    return success();
  }
};

struct SoftmaxKlDivToKernel : OpRewritePattern<SoftmaxKlDivOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxKlDivOp op, PatternRewriter &rewriter) const override {
    if (!isF32(op.getStudent()) || !isF32(op.getTeacher()))
      return rewriter.notifyMatchFailure(op, "not f32");
    replaceWithKernel(rewriter, op, kernels::softmax_kl_div_f32, {op.getStudent(), op.getTeacher()},
                      initsFor(rewriter, op),
                      {rewriter.getF64FloatAttr(op.getTemperature().convertToDouble())});
    return success();
  }
};

struct SoftmaxKlDivGradToKernel : OpRewritePattern<SoftmaxKlDivGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxKlDivGradOp op, PatternRewriter &rewriter) const override {
    if (!isF32(op.getStudent()) || !isF32(op.getTeacher()))
      return rewriter.notifyMatchFailure(op, "not f32");
    replaceWithKernel(rewriter, op, kernels::softmax_kl_div_grad_f32,
                      {op.getStudent(), op.getTeacher()}, initsFor(rewriter, op, op.getStudent()),
                      {rewriter.getF64FloatAttr(op.getTemperature().convertToDouble())});
    return success();
  }
};

struct DistillationToKernel : OpRewritePattern<DistillationLossOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DistillationLossOp op, PatternRewriter &rewriter) const override {
    if (!isF32(op.getStudent()) || !isF32(op.getTeacher()) || !isI64(op.getTargets()))
      return rewriter.notifyMatchFailure(op, "not f32 logits with i64 targets");
    replaceWithKernel(rewriter, op, kernels::distillation_f32,
                      {op.getStudent(), op.getTeacher(), op.getTargets()}, initsFor(rewriter, op),
                      {rewriter.getF64FloatAttr(op.getTemperature().convertToDouble())});
    return success();
  }
};

/// CLIP's fused losses (kiln.contrastive_cross_entropy, and in a train step
/// _grad and _grad_sum) on their kernel file: every operand an input, every
/// result an output.
template <typename ContrastiveOp> struct ContrastiveToKernel : OpRewritePattern<ContrastiveOp> {
  ContrastiveToKernel(MLIRContext *ctx, StringRef callee)
      : OpRewritePattern<ContrastiveOp>(ctx), callee(callee) {}
  LogicalResult matchAndRewrite(ContrastiveOp op, PatternRewriter &rewriter) const override {
    if (!fitsSoftmaxCeKernel(op.getLogits(), op.getTargets()))
      return rewriter.notifyMatchFailure(op, "not f32 logits [N, N] with i64 targets");
    replaceWithKernel(rewriter, op, callee, op->getOperands(),
                      initsFor(rewriter, op, op.getLogits()));
    return success();
  }
  StringRef callee;
};

//===----------------------------------------------------------------------===//
// Layer norm's and RMS norm's gradients
//===----------------------------------------------------------------------===//

/// kiln.layer_norm_grad and kiln.rms_norm_grad on their one kernel file.
template <typename GradOp> struct NormGradToKernel : OpRewritePattern<GradOp> {
  NormGradToKernel(MLIRContext *ctx, StringRef callee)
      : OpRewritePattern<GradOp>(ctx), callee(callee) {}
  LogicalResult matchAndRewrite(GradOp op, PatternRewriter &rewriter) const override {
    auto input = cast<RankedTensorType>(op.getInput().getType());
    if (!isF32(op.getInput()) || !isF32(op.getWeight()) || !isF32(op.getDout()) ||
        input.getRank() > KILN_KERNEL_MAX_RANK)
      return rewriter.notifyMatchFailure(op, "not f32 of rank <= 6");
    SmallVector<Value> outputs = initsFor(rewriter, op, op.getInput());
    replaceWithKernel(rewriter, op, callee, {op.getInput(), op.getWeight(), op.getDout()},
                      outputs, {rewriter.getF64FloatAttr(op.getEps().convertToDouble())});
    return success();
  }
  StringRef callee;
};

//===----------------------------------------------------------------------===//
// Scatter-add
//===----------------------------------------------------------------------===//

/// linalg has no scatter: its lowering of kiln.scatter_add compares every
/// row with every index (O(N E D)); the kernel adds each src row once. It
/// adds in place, with init as its out: bufferization writes an embedding
/// gradient's zeros straight into the gradient's buffer (and copies init
/// first only where init is read again).
struct ScatterAddToKernel : OpRewritePattern<ScatterAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterAddOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!isF32(op.getInit()) || !isF32(op.getSrc()) || !isI64(op.getIndices()) ||
        type.getRank() > 2)
      return rewriter.notifyMatchFailure(op, "not f32 rows of rank <= 2 with i64 indices");
    Value init = op.getInit();
    if (init.getType() != type)
      init = tensor::CastOp::create(rewriter, op.getLoc(), type, init);
    replaceWithKernel(rewriter, op, kernels::scatter_add_rows_f32, {op.getIndices(), op.getSrc()},
                      {init});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// The cost rule between the flash-attention kernel and the unfused chain
/// (two vectorized matmuls around a softmax). The kernel keeps 16 queries in
/// the lanes of a vector, so with fewer queries than that (decoding one token
/// at a time) most lanes idle and the chain's vector-matrix products are the
/// better use of the machine. From 16 queries up the kernel never forms the
/// S x T scores; bench/ measures Q-Former's 32 queries x 257 keys.
bool preferFlashAttention(int64_t queries) {
  return ShapedType::isDynamic(queries) || queries >= 16;
}

/// The attention kernels read one byte per mask flag; i1 tensors may be
/// bit-packed.
Value byteMask(OpBuilder &b, Location loc, Value mask) {
  auto maskType = cast<RankedTensorType>(mask.getType());
  return CastOp::create(b, loc, maskType.clone(b.getI8Type()), mask);
}

/// The attention kernels' trailing scalars: scale, causal, layout.
template <typename Op>
SmallVector<Attribute> attentionScalars(OpBuilder &b, Op op, int64_t layout) {
  return {b.getF64FloatAttr(op.getScale().convertToDouble()),
          b.getI64IntegerAttr(op.getCausal() ? 1 : 0), b.getI64IntegerAttr(layout)};
}

//===----------------------------------------------------------------------===//
// Attention operands in [B, S, H, D] (the layout bits of kernels.h)
//===----------------------------------------------------------------------===//
//
// Heads are split off a [B, S, H * D] projection by a reshape and a transpose
// to [B, H, S, D], and merged back by the inverse transpose; gradients do the
// same. The kernels read and write either order through strides, so such a
// transpose is absorbed into the kernel call instead of copying 2 x B S H D
// floats through memory (and holding the copy in the arena).

bool swapsHeadsAndSequence(TransposeOp transpose) {
  return transpose && transpose.getPermutation() == ArrayRef<int64_t>{0, 2, 1, 3};
}

/// The [B, S, H, D] tensor that `value` transposes, or null.
Value headsMajorSource(Value value) {
  auto transpose = value.getDefiningOp<TransposeOp>();
  return swapsHeadsAndSequence(transpose) ? transpose.getInput() : Value();
}

/// Where dim d of the [B, H, S, D] `value` can be read: from its [B, S, H, D]
/// source when it has one (dims 1 and 2 swapped), so that the transpose can die.
std::pair<Value, int64_t> bhsdDim(Value value, int64_t d) {
  if (Value source = headsMajorSource(value))
    return {source, d == 1 ? 2 : d == 2 ? 1 : d};
  return {value, d};
}

/// An input of an attention kernel: its [B, S, H, D] source with `bit` set in
/// layout when it has one, else itself.
Value attentionInput(Value value, int bit, int64_t &layout) {
  if (Value source = headsMajorSource(value)) {
    layout |= int64_t{1} << bit;
    return source;
  }
  return value;
}

/// The inputs the forward and backward attention kernels share (query, key,
/// value, then the bias or the byte mask) into `inputs`.
template <typename Op>
void attentionInputs(OpBuilder &b, Op op, SmallVectorImpl<Value> &inputs, int64_t &layout) {
  inputs.append({attentionInput(op.getQuery(), KILN_ATTENTION_LAYOUT_QUERY, layout),
                 attentionInput(op.getKey(), KILN_ATTENTION_LAYOUT_KEY, layout),
                 attentionInput(op.getValue(), KILN_ATTENTION_LAYOUT_VALUE, layout)});
  if (Value bias = op.getBias())
    inputs.push_back(bias);
  if (Value mask = op.getMask())
    inputs.push_back(byteMask(b, op.getLoc(), mask));
}

/// The attention kernel for `op`, forward or backward (`grad`), by its
/// variant (no mask, a mask or a bias), with `_lse` for the pair that passes
/// each query's logsumexp from the forward to the backward.
template <typename Op> StringRef attentionCallee(Op op, bool grad, bool withLse) {
  static constexpr StringLiteral kCallees[2][3][2] = {
      {{kernels::attention_f32, kernels::attention_lse_f32},
       {kernels::attention_masked_f32, kernels::attention_masked_lse_f32},
       {kernels::attention_bias_f32, kernels::attention_bias_lse_f32}},
      {{kernels::attention_grad_f32, kernels::attention_grad_lse_f32},
       {kernels::attention_grad_masked_f32, kernels::attention_grad_masked_lse_f32},
       {kernels::attention_grad_bias_f32, kernels::attention_grad_bias_lse_f32}}};
  int variant = op.getBias() ? 2 : op.getMask() ? 1 : 0;
  return kCallees[grad][variant][withLse];
}

/// Whether the attention kernels serve `op` (f32, a mask or a bias, not both).
template <typename Op>
bool fitsAttentionKernel(Op op) {
  return llvm::all_of(op->getOperands(), [](Value v) { return isF32(v) || isI1(v); }) &&
         !(op.getMask() && op.getBias());
}

/// A train step's backward of `op` (its result's cotangent rule, same
/// operands and attributes) on the kernel: the forward then saves each
/// query's logsumexp for it.
AttentionGradOp backwardOnKernel(AttentionOp op) {
  for (Operation *user : op.getResult().getUsers()) {
    auto grad = dyn_cast<AttentionGradOp>(user);
    if (grad && grad.getOut() == op.getResult() && grad.getQuery() == op.getQuery() &&
        grad.getKey() == op.getKey() && grad.getValue() == op.getValue() &&
        grad.getMask() == op.getMask() && grad.getBias() == op.getBias() &&
        grad.getScale() == op.getScale() && grad.getCausal() == op.getCausal() &&
        fitsAttentionKernel(grad))
      return grad;
  }
  return {};
}

/// The logsumexp the forward _lse kernel saved for `op`, whose attention
/// inputs are `inputs` and `out` the forward's output as the kernel wrote it.
Value savedLogsumexp(AttentionGradOp op, ArrayRef<Value> inputs, Value out) {
  auto forward = out.getDefiningOp<KernelOp>();
  if (!forward || forward.getNumResults() != 2 || out != forward.getResult(0) ||
      !forward.getCallee().ends_with("_lse_f32") || forward.getInputs().size() != inputs.size())
    return {};
  // The same operands: query, key, value and a bias as they are, a mask
  // through its byte cast.
  for (auto [mine, theirs] : llvm::zip(inputs, forward.getInputs())) {
    if (mine == theirs)
      continue;
    auto a = mine.getDefiningOp<CastOp>(), b = theirs.getDefiningOp<CastOp>();
    if (!a || !b || a.getInput() != b.getInput())
      return {};
  }
  ArrayAttr scalars = forward.getScalars();
  if (cast<FloatAttr>(scalars[0]).getValueAsDouble() != op.getScale().convertToDouble() ||
      cast<IntegerAttr>(scalars[1]).getInt() != (op.getCausal() ? 1 : 0))
    return {};
  return forward.getResult(1);
}

/// Replaces `op` by a kernel call writing `results` ([B, H, S, *] values of
/// `op`, sized by `sizes`: per result, four (value, dim) pairs). A result that
/// some user transposes to [B, S, H, *] is written in that order (bit
/// firstOutputBit + i of layout): those users take the kernel's result, the
/// others a transpose of it back (which another kernel may absorb in turn).
void replaceWithAttentionKernel(PatternRewriter &rewriter, Operation *op, StringRef callee,
                                ValueRange inputs,
                                ArrayRef<SmallVector<std::pair<Value, int64_t>, 4>> sizes,
                                int firstOutputBit, int64_t layout,
                                function_ref<SmallVector<Attribute>(int64_t)> scalars,
                                ArrayRef<std::pair<Value, int64_t>> lseSizes = {}) {
  Location loc = op->getLoc();
  SmallVector<bool> swapped;
  SmallVector<Value> outputs;
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    bool swap = llvm::any_of(result.getUsers(), [](Operation *user) {
      return swapsHeadsAndSequence(dyn_cast<TransposeOp>(user));
    });
    swapped.push_back(swap);
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<std::pair<Value, int64_t>, 4> dims = sizes[i];
    if (swap) {
      layout |= int64_t{1} << (firstOutputBit + i);
      SmallVector<int64_t> shape(type.getShape());
      std::swap(shape[1], shape[2]);
      std::swap(dims[1], dims[2]);
      type = RankedTensorType::get(shape, type.getElementType());
    }
    outputs.push_back(emptyWithSizes(rewriter, loc, type, dims));
  }
  // The forward's saved logsumexp [B, H, S], an extra output no user of
  // `op` reads but the backward's kernel.
  if (!lseSizes.empty()) {
    auto queryType = cast<RankedTensorType>(op->getResult(0).getType());
    auto lseType = RankedTensorType::get(queryType.getShape().take_front(3),
                                         queryType.getElementType());
    outputs.push_back(emptyWithSizes(rewriter, loc, lseType, lseSizes));
  }
  auto kernel = KernelOp::create(rewriter, loc, ValueRange(outputs).getTypes(),
                                 FlatSymbolRefAttr::get(rewriter.getContext(), callee), inputs,
                                 outputs, rewriter.getArrayAttr(scalars(layout)));
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    Value written = kernel.getResult(i);
    if (!swapped[i]) {
      rewriter.replaceAllUsesWith(result, written);
      continue;
    }
    Value back;
    for (Operation *user : llvm::make_early_inc_range(result.getUsers())) {
      auto transpose = dyn_cast<TransposeOp>(user);
      if (swapsHeadsAndSequence(transpose) && transpose.getType() == written.getType()) {
        rewriter.replaceOp(transpose, written);
        continue;
      }
      if (!back)
        back = TransposeOp::create(rewriter, loc, result.getType(), written,
                                   ArrayRef<int64_t>{0, 2, 1, 3});
      rewriter.modifyOpInPlace(user, [&] { user->replaceUsesOfWith(result, back); });
    }
  }
  rewriter.eraseOp(op);
}

struct AttentionToKernel : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op, PatternRewriter &rewriter) const override {
    if (!fitsAttentionKernel(op))
      return rewriter.notifyMatchFailure(op, "not f32, or a mask and a bias");
    auto query = cast<RankedTensorType>(op.getQuery().getType());
    if (!preferFlashAttention(query.getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "the cost rule prefers the unfused chain");
    bool saveLse = static_cast<bool>(backwardOnKernel(op));
    int64_t layout = 0;
    SmallVector<Value> inputs;
    attentionInputs(rewriter, op, inputs, layout);
    StringRef callee = attentionCallee(op, /*grad=*/false, saveLse);
    SmallVector<std::pair<Value, int64_t>, 4> outSizes{
        bhsdDim(op.getQuery(), 0), bhsdDim(op.getQuery(), 1), bhsdDim(op.getQuery(), 2),
        bhsdDim(op.getValue(), 3)};
    SmallVector<std::pair<Value, int64_t>, 3> lseSizes(outSizes.begin(), outSizes.begin() + 3);
    replaceWithAttentionKernel(
        rewriter, op, callee, inputs, {outSizes}, /*firstOutputBit=*/KILN_ATTENTION_LAYOUT_OUT,
        layout, [&](int64_t bits) { return attentionScalars(rewriter, op, bits); },
        saveLse ? lseSizes : ArrayRef<std::pair<Value, int64_t>>());
    return success();
  }
};

/// Attention's backward on the flash-style kernel: every shape the forward
/// kernel takes (a mask or a bias, not both), whatever the number of
/// queries (the decomposition's [S, T] products are no cheaper).
struct AttentionGradToKernel : OpRewritePattern<AttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionGradOp op, PatternRewriter &rewriter) const override {
    if (!fitsAttentionKernel(op))
      return rewriter.notifyMatchFailure(op, "not f32, or a mask and a bias");
    int64_t layout = 0;
    SmallVector<Value> inputs;
    attentionInputs(rewriter, op, inputs, layout);
    Value out = attentionInput(op.getOut(), KILN_ATTENTION_LAYOUT_OUT, layout);
    Value lse = savedLogsumexp(op, inputs, out);
    StringRef callee = attentionCallee(op, /*grad=*/true, bool(lse));
    inputs.append({out, attentionInput(op.getDout(), KILN_ATTENTION_LAYOUT_DOUT, layout)});
    if (lse)
      inputs.push_back(lse);
    SmallVector<SmallVector<std::pair<Value, int64_t>, 4>, 3> sizes;
    for (Value like : {op.getQuery(), op.getKey(), op.getValue()})
      sizes.push_back({bhsdDim(like, 0), bhsdDim(like, 1), bhsdDim(like, 2), bhsdDim(like, 3)});
    replaceWithAttentionKernel(rewriter, op, callee, inputs, sizes,
                               /*firstOutputBit=*/KILN_ATTENTION_LAYOUT_DQUERY, layout,
                               [&](int64_t bits) { return attentionScalars(rewriter, op, bits); });
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Matmuls on a kernel: oneDNN's or Kiln's, in f32 or bf16
//===----------------------------------------------------------------------===//

std::optional<int64_t> activationCode(StringRef activation) {
  return llvm::StringSwitch<std::optional<int64_t>>(activation)
      .Case("none", KILN_ACTIVATION_NONE)
      .Case("relu", KILN_ACTIVATION_RELU)
      .Case("gelu_erf", KILN_ACTIVATION_GELU_ERF)
      .Case("gelu_tanh", KILN_ACTIVATION_GELU_TANH)
      .Case("sigmoid", KILN_ACTIVATION_SIGMOID)
      .Case("silu", KILN_ACTIVATION_SILU)
      .Case("quick_gelu", KILN_ACTIVATION_QUICK_GELU)
      .Default(std::nullopt);
}

/// `value` = transpose(source) swapping the last two dims: returns source.
Value transposedSource(Value value) {
  auto transpose = value.getDefiningOp<TransposeOp>();
  if (!transpose)
    return {};
  ArrayRef<int64_t> perm = transpose.getPermutation();
  int64_t rank = perm.size();
  if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
    return {};
  for (int64_t i = 0; i + 2 < rank; ++i)
    if (perm[i] != i)
      return {};
  return transpose.getInput();
}

/// Whether a product is worth a kernel call rather than a tile loop inlined
/// in the entry (CostModel.h).
bool worthKernelCall(RankedTensorType result, int64_t depth) {
  return matmulFlops(result, depth) >= double(kMinMatmulKernelFlops);
}

bool fitsMatmulKernel(Value lhs, Value rhs, Value result) {
  auto rank = [](Value v) { return cast<RankedTensorType>(v.getType()).getRank(); };
  return isF32(lhs) && isF32(rhs) && isF32(result) && rank(lhs) >= 2 && rank(lhs) <= 4 &&
         rank(rhs) >= 2 && rank(rhs) <= 4;
}

/// The matmul kernels of one library: oneDNN's and Kiln's own take the same
/// operands and flags (kiln/kernels.def).
struct MatmulKernels {
  StringLiteral plain, bias, residual, biasResidual;

  StringRef pick(bool hasBias, bool hasResidual) const {
    return hasBias ? (hasResidual ? biasResidual : bias) : (hasResidual ? residual : plain);
  }
};
constexpr MatmulKernels kOneDnnMatmuls{kernels::dnnl_matmul_f32, kernels::dnnl_matmul_bias_f32,
                                       kernels::dnnl_matmul_residual_f32,
                                       kernels::dnnl_matmul_bias_residual_f32};
constexpr MatmulKernels kNativeMatmuls{kernels::native_matmul_f32, kernels::native_matmul_bias_f32,
                                       kernels::native_matmul_residual_f32,
                                       kernels::native_matmul_bias_residual_f32};
constexpr MatmulKernels kNativeBf16Matmuls{
    kernels::native_bf16_matmul_f32, kernels::native_bf16_matmul_bias_f32,
    kernels::native_bf16_matmul_residual_f32, kernels::native_bf16_matmul_bias_residual_f32};

/// bf16: Kiln's bf16 kernel; else native: Kiln's kernel; onednn and auto:
/// oneDNN's. Except under onednn, a product too small to amortize a call
/// stays in linalg (in f32).
struct MatmulChoice {
  Backend backend;
  Precision precision;

  const MatmulKernels &kernels() const {
    if (precision == Precision::BF16)
      return kNativeBf16Matmuls;
    return backend == Backend::Native ? kNativeMatmuls : kOneDnnMatmuls;
  }
  bool wants(RankedTensorType result, int64_t depth) const {
    return backend == Backend::OneDnn || worthKernelCall(result, depth);
  }
};

struct MatmulToKernel : OpRewritePattern<MatmulOp> {
  MatmulToKernel(MLIRContext *context, MatmulChoice choice)
      : OpRewritePattern(context), choice(choice) {}
  LogicalResult matchAndRewrite(MatmulOp op, PatternRewriter &rewriter) const override {
    if (!fitsMatmulKernel(op.getLhs(), op.getRhs(), op.getResult()))
      return rewriter.notifyMatchFailure(op, "not an f32 matmul of rank 2-4");
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    if (!choice.wants(resultType, lhsType.getShape().back()))
      return rewriter.notifyMatchFailure(op, "too small for a kernel call");
    int64_t flags = 0;
    Value lhs = op.getLhs(), rhs = op.getRhs();
    if (Value source = transposedSource(lhs)) {
      lhs = source;
      flags |= KILN_MATMUL_TRANSPOSE_A;
    }
    if (Value source = transposedSource(rhs)) {
      rhs = source;
      flags |= KILN_MATMUL_TRANSPOSE_B;
    }
    Location loc = op.getLoc();
    Value init = emptyMatmulResult(rewriter, loc, op.getLhs(), op.getRhs(), resultType);
    replaceWithKernel(rewriter, op, choice.kernels().plain, {lhs, rhs}, init,
                      {rewriter.getI64IntegerAttr(flags)});
    return success();
  }

  /// The result's dynamic sizes: batch dims from whichever operand has them
  /// (right-aligned), M from lhs, N from rhs.
  static Value emptyMatmulResult(OpBuilder &b, Location loc, Value lhs, Value rhs,
                                 RankedTensorType type) {
    int64_t rank = type.getRank();
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    SmallVector<std::pair<Value, int64_t>> sources;
    for (int64_t i = 0; i < rank; ++i) {
      if (i == rank - 2) {
        sources.push_back({lhs, lhsType.getRank() - 2});
      } else if (i == rank - 1) {
        sources.push_back({rhs, rhsType.getRank() - 1});
      } else {
        // A batch dim: take it from an operand where it is not a broadcast 1.
        // A batch dim: from an operand where it is not a broadcast 1, else
        // from whichever operand has it at all.
        int64_t fromLhs = i - (rank - lhsType.getRank());
        int64_t fromRhs = i - (rank - rhsType.getRank());
        bool rhsHas = fromRhs >= 0;
        bool takeLhs = fromLhs >= 0 && (lhsType.getDimSize(fromLhs) != 1 || !rhsHas);
        sources.push_back(takeLhs ? std::make_pair(lhs, fromLhs) : std::make_pair(rhs, fromRhs));
      }
    }
    return emptyWithSizes(b, loc, type, sources);
  }

  MatmulChoice choice;
};

struct FusedLinearToKernel : OpRewritePattern<FusedLinearOp> {
  FusedLinearToKernel(MLIRContext *context, MatmulChoice choice)
      : OpRewritePattern(context), choice(choice) {}
  LogicalResult matchAndRewrite(FusedLinearOp op, PatternRewriter &rewriter) const override {
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    if (!choice.wants(cast<RankedTensorType>(op.getResult().getType()),
                      inputType.getShape().back()))
      return rewriter.notifyMatchFailure(op, "too small for a kernel call");
    std::optional<int64_t> activation = activationCode(op.getActivation());
    if (!activation || !isF32(op.getInput()) || !isF32(op.getWeight()) || inputType.getRank() < 2 ||
        inputType.getRank() > 4 || (op.getBias() && !isF32(op.getBias())) ||
        (op.getResidual() && !isF32(op.getResidual())))
      return rewriter.notifyMatchFailure(op, "not an f32 linear a matmul kernel takes");
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    SmallVector<std::pair<Value, int64_t>> sources;
    for (int64_t i = 0; i + 1 < resultType.getRank(); ++i)
      sources.push_back({op.getInput(), i});
    sources.push_back({op.getWeight(), 0});
    Value init = emptyWithSizes(rewriter, loc, resultType, sources);
    SmallVector<Value> inputs{op.getInput(), op.getWeight()};
    if (Value bias = op.getBias())
      inputs.push_back(bias);
    if (Value residual = op.getResidual())
      inputs.push_back(residual);
    StringRef callee = choice.kernels().pick(bool(op.getBias()), bool(op.getResidual()));
    int64_t flags = KILN_MATMUL_TRANSPOSE_B | (*activation << KILN_MATMUL_ACTIVATION_SHIFT);
    replaceWithKernel(rewriter, op, callee, inputs, init, {rewriter.getI64IntegerAttr(flags)});
    return success();
  }

  MatmulChoice choice;
};

//===----------------------------------------------------------------------===//
// Softmax and layer norm on oneDNN
//===----------------------------------------------------------------------===//

/// `auto` keeps softmax and layer_norm in Kiln's vectorized loops: they are
/// memory-bound passes over a row that the native code fuses with their
/// neighbours, where a library call would write its result out and read it
/// back (bench/README.md compares the two on CLIP).
struct SoftmaxToOneDnn : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!isF32(op.getInput()) || type.getRank() > KILN_KERNEL_MAX_RANK)
      return rewriter.notifyMatchFailure(op, "not f32 of rank <= 6");
    replaceWithKernel(rewriter, op, kernels::dnnl_softmax_f32, {op.getInput()},
                      initsFor(rewriter, op, op.getInput()),
                      {rewriter.getI64IntegerAttr(int64_t(op.getAxis()))});
    return success();
  }
};

struct LayerNormToOneDnn : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto weight = cast<RankedTensorType>(op.getWeight().getType());
    auto bias = cast<RankedTensorType>(op.getBias().getType());
    // The kernel takes weight and bias as [C] vectors (not broadcast shapes).
    if (!isF32(op.getInput()) || !isF32(op.getWeight()) || !isF32(op.getBias()) ||
        type.getRank() > KILN_KERNEL_MAX_RANK || weight.getRank() != 1 || bias.getRank() != 1)
      return rewriter.notifyMatchFailure(op, "not f32 of rank <= 6 with [C] weight and bias");
    replaceWithKernel(rewriter, op, kernels::dnnl_layer_norm_f32,
                      {op.getInput(), op.getWeight(), op.getBias()},
                      initsFor(rewriter, op, op.getInput()),
                      {rewriter.getF64FloatAttr(op.getEps().convertToDouble())});
    return success();
  }
};

/// conv2d on oneDNN under onednn and auto: Kiln's own lowering is a scalar
/// loop nest (a patch embedding of 8 images took 0.44 ms there).
struct Conv2DToOneDnn : OpRewritePattern<Conv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DOp op, PatternRewriter &rewriter) const override {
    if (!isF32(op.getInput()) || !isF32(op.getWeight()) || !isF32(op.getBias()))
      return rewriter.notifyMatchFailure(op, "not f32");
    // Only the batch can be dynamic (conv2d's verifier wants static spatial
    // dims and weight), and it is the input's.
    ArrayRef<int64_t> strides = op.getStrides();
    replaceWithKernel(
        rewriter, op, kernels::dnnl_conv2d_f32, {op.getInput(), op.getWeight(), op.getBias()},
        initsFor(rewriter, op, op.getInput()),
        {rewriter.getI64IntegerAttr(strides[0]), rewriter.getI64IntegerAttr(strides[1])});
    return success();
  }
};

/// Under native, a patch embedding (a conv2d whose strides equal its kernel,
/// over an image the patches tile exactly: CLIP's and ViT's) becomes a linear
/// layer on the image's patches, which the matmul kernel then takes; Kiln's
/// own conv2d lowering is a scalar loop nest. [B, C, H, W] is viewed as
/// [B, C, Ho, KH, Wo, KW], transposed to [B, Ho, Wo, C, KH, KW] (the one copy)
/// and flattened to [B, Ho Wo, C KH KW]; its product with the [O, C KH KW]
/// weight plus the bias, [B, Ho Wo, O], is transposed to [B, O, Ho Wo] and
/// viewed as [B, O, Ho, Wo].
struct PatchEmbeddingToLinear : OpRewritePattern<Conv2DOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Conv2DOp op, PatternRewriter &rewriter) const override {
    auto input = cast<RankedTensorType>(op.getInput().getType());
    auto weight = cast<RankedTensorType>(op.getWeight().getType());
    auto result = cast<RankedTensorType>(op.getType());
    if (!isF32(op.getInput()) || !isF32(op.getWeight()) || !isF32(op.getBias()) ||
        !weight.hasStaticShape() || input.getRank() != 4 ||
        llvm::any_of(input.getShape().drop_front(), ShapedType::isDynamic))
      return rewriter.notifyMatchFailure(op, "not f32 with static channels and image");
    int64_t c = input.getDimSize(1), h = input.getDimSize(2), w = input.getDimSize(3);
    int64_t o = weight.getDimSize(0), kh = weight.getDimSize(2), kw = weight.getDimSize(3);
    ArrayRef<int64_t> strides = op.getStrides();
    if (strides[0] != kh || strides[1] != kw || h % kh != 0 || w % kw != 0)
      return rewriter.notifyMatchFailure(op, "not a patch embedding that tiles the image");
    int64_t ho = h / kh, wo = w / kw;
    Location loc = op.getLoc();
    Type f32 = input.getElementType();
    int64_t batch = input.getDimSize(0);
    SmallVector<Value> batchSize;
    if (ShapedType::isDynamic(batch))
      batchSize.push_back(DimOp::create(rewriter, loc, op.getInput(), 0));
    auto tensor = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, f32); };
    Value split = ReshapeOp::create(rewriter, loc, tensor({batch, c, ho, kh, wo, kw}),
                                    op.getInput(), batchSize);
    Value patches = TransposeOp::create(rewriter, loc, tensor({batch, ho, wo, c, kh, kw}), split,
                                        ArrayRef<int64_t>{0, 2, 4, 1, 3, 5});
    Value rows =
        ReshapeOp::create(rewriter, loc, tensor({batch, ho * wo, c * kh * kw}), patches, batchSize);
    Value flatWeight =
        ReshapeOp::create(rewriter, loc, tensor({o, c * kh * kw}), op.getWeight(), ValueRange{});
    Value linear = FusedLinearOp::create(rewriter, loc, tensor({batch, ho * wo, o}), rows,
                                         flatWeight, op.getBias(), Value(), "none");
    Value channelsFirst = TransposeOp::create(rewriter, loc, tensor({batch, o, ho * wo}), linear,
                                              ArrayRef<int64_t>{0, 2, 1});
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, result, channelsFirst, batchSize);
    return success();
  }
};

struct SelectKernelsPass : impl::KilnSelectKernelsBase<SelectKernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    if (fusedKernels) {
      patterns.add<SoftmaxCeToKernel, SoftmaxCeGradToKernel, SoftmaxKlDivToKernel,
                   SoftmaxKlDivGradToKernel,
                   DistillationToKernel, AttentionToKernel, AttentionGradToKernel>(
          &getContext());
      patterns.add<ContrastiveToKernel<ContrastiveCrossEntropyOp>>(&getContext(),
                                                                   kernels::contrastive_ce_f32);
      patterns.add<ContrastiveToKernel<ContrastiveCrossEntropyGradOp>>(
          &getContext(), kernels::contrastive_ce_grad_f32);
      patterns.add<ContrastiveToKernel<ContrastiveCrossEntropyGradSumOp>>(
          &getContext(), kernels::contrastive_ce_grad_sum_f32);
      patterns.add<NormGradToKernel<LayerNormGradOp>>(&getContext(), kernels::layer_norm_grad_f32);
      patterns.add<NormGradToKernel<RmsNormGradOp>>(&getContext(), kernels::rms_norm_grad_f32);
      // Where no kernel takes a gradient op, its decomposition's matmuls
      // can still go to oneDNN.
      populateGradDecompositions(patterns, /*benefit=*/0);
    }
    // Not a fusion: linalg has no linear-time scatter.
    patterns.add<ScatterAddToKernel>(&getContext());
    patterns.add<MatmulToKernel, FusedLinearToKernel>(&getContext(),
                                                      MatmulChoice{backend, precision});
    if (backend != Backend::Native)
      patterns.add<Conv2DToOneDnn>(&getContext());
    else
      patterns.add<PatchEmbeddingToLinear>(&getContext());
    if (backend == Backend::OneDnn)
      patterns.add<SoftmaxToOneDnn, LayerNormToOneDnn>(&getContext());
    // Top down: a forward attention chooses its output's layout, and saves
    // its logsumexp, before the backward kernel that reads them is made
    // (replaceWithAttentionKernel, savedLogsumexp).
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal();
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
} // namespace kiln
