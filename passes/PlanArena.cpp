//===- PlanArena.cpp - One arena for all of an entry's buffers ------------===//
//
// After bufferization an entry allocates its intermediate buffers with
// memref.alloc. The runtime instead hands every call one arena, sized from
// the entry's symbolic dims. This pass
//  1. sizes each allocation as `coeff * product(symbols)` bytes, tracing every
//     dynamic dim back to the entry argument dim it came from (`kiln.dims`);
//  2. groups allocations by that product of symbols ("monomial") and packs each
//     group first-fit by liveness in the entry block (buffers whose lifetimes
//     do not overlap share bytes);
//  3. lays the groups out one after another and rewrites every alloc as a
//     memref.view of a new leading `memref<?xi8>` arena argument;
//  4. records the arena's size terms on the entry as `kiln.arena`.
//
// Private functions (module methods kept as functions) are planned the same
// way, callees first. A call's frame is the callee's arena with its symbols
// read at the call; all of a function's calls share one frame region after
// its own groups (calls run one at a time), sized by the largest coefficient
// each product of symbols has among the calls. A callee's scratch is planned
// once, however many layers call it.
//
// A train entry also records where its gradients may go (kiln.grad_space):
// each gradient output's first use, and the arena spans in use at or after
// the first of them. The runtime places the gradients of a step in the
// arena's bytes that are dead by the time each is first written, once the
// symbolic dims are known (runtime/src/grad_layout.c).
//
//===----------------------------------------------------------------------===//
#include "dialects/Kiln/KilnDialect.h"
#include "passes/MethodFunctions.h"
#include "passes/Passes.h"
#include "runtime/include/kiln/abi.h"

#include "mlir/Interfaces/ViewLikeInterface.h"
#include <map>

namespace kiln {
#define GEN_PASS_DEF_KILNPLANARENA
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr int64_t kAlignment = KILN_ARENA_ALIGN;
/// How many buffers and views a dim is followed through to an argument.
constexpr unsigned kMaxTraceDepth = 16;

using Monomial = SmallVector<std::string, 2>; // sorted symbol names
/// An arena size: bytes per unit of each product of symbols.
using Polynomial = std::map<Monomial, int64_t>;

struct Buffer {
  memref::AllocOp alloc;
  Monomial monomial;
  int64_t coeff = 0;           // bytes per unit of the monomial, a multiple of 64
  unsigned start = 0, end = 0; // positions in the entry block, inclusive
  int64_t offset = 0;          // in bytes per unit of the monomial
};

/// A size in terms of the entry's symbols: coeff * product(monomial).
struct Term {
  int64_t coeff = 1;
  Monomial monomial;
  Term &operator*=(const Term &other) {
    coeff *= other.coeff;
    monomial.append(other.monomial.begin(), other.monomial.end());
    return *this;
  }
};

/// Finds, for each dynamic dim value of the entry, the product of symbols it
/// stands for.
class SymbolTracer {
public:
  explicit SymbolTracer(func::FuncOp func) : func(func) {}

  /// The size `value` is: `memref.dim` of an argument whose `kiln.dims` names
  /// a symbol there, or of a buffer or view whose size at that dim is itself
  /// traceable (bufferization copies a view's size that way, e.g.
  /// `memref.dim` of an `expand_shape` of an alloc); a constant; or a product
  /// of those (a gradient flattening [B, S] tokens into B * S rows).
  std::optional<Term> trace(Value value, unsigned depth = 0) {
    if (depth > kMaxTraceDepth)
      return std::nullopt;
    if (std::optional<int64_t> constant = getConstantIntValue(value))
      return Term{*constant, {}};
    if (auto mul = value.getDefiningOp<arith::MulIOp>()) {
      std::optional<Term> lhs = trace(mul.getLhs(), depth + 1);
      std::optional<Term> rhs = lhs ? trace(mul.getRhs(), depth + 1) : std::nullopt;
      if (!rhs)
        return std::nullopt;
      return *lhs *= *rhs;
    }
    // Canonicalization turns such products into affine.apply (s0 * 16).
    if (auto apply = value.getDefiningOp<affine::AffineApplyOp>())
      return traceAffine(apply.getAffineMap().getResult(0), apply, depth + 1);
    auto dim = value.getDefiningOp<memref::DimOp>();
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!index)
      return std::nullopt;
    return traceDim(dim.getSource(), *index, depth);
  }

  /// A product of an affine.apply's operands and constants.
  std::optional<Term> traceAffine(AffineExpr expr, affine::AffineApplyOp apply, unsigned depth) {
    if (auto constant = dyn_cast<AffineConstantExpr>(expr))
      return Term{constant.getValue(), {}};
    if (auto dim = dyn_cast<AffineDimExpr>(expr))
      return trace(apply.getMapOperands()[dim.getPosition()], depth);
    if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
      return trace(apply.getMapOperands()[apply.getAffineMap().getNumDims() + symbol.getPosition()],
                   depth);
    auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
    if (!binary || binary.getKind() != AffineExprKind::Mul)
      return std::nullopt;
    std::optional<Term> lhs = traceAffine(binary.getLHS(), apply, depth);
    std::optional<Term> rhs = lhs ? traceAffine(binary.getRHS(), apply, depth) : std::nullopt;
    if (!rhs)
      return std::nullopt;
    return *lhs *= *rhs;
  }

  /// The size that dim `index` of the memref `source` stands for.
  std::optional<Term> traceDim(Value source, int64_t index, unsigned depth) {
    if (depth > kMaxTraceDepth)
      return std::nullopt;
    if (auto alloc = source.getDefiningOp<memref::AllocOp>()) {
      if (!alloc.getType().isDynamicDim(index))
        return std::nullopt;
      unsigned position = alloc.getType().getDynamicDimIndex(index);
      return trace(alloc.getDynamicSizes()[position], depth + 1);
    }
    if (auto expand = source.getDefiningOp<memref::ExpandShapeOp>()) {
      OpFoldResult size = expand.getMixedOutputShape()[index];
      if (auto sizeValue = dyn_cast<Value>(size))
        return trace(sizeValue, depth + 1);
      return std::nullopt;
    }
    if (auto collapse = source.getDefiningOp<memref::CollapseShapeOp>()) {
      // A collapsed dim is its group's product.
      MemRefType srcType = collapse.getSrcType();
      // Held here: a range-for over an element of the returned temporary
      // would read it after its destruction (C++20).
      SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
      Term product;
      for (int64_t d : groups[index]) {
        if (!srcType.isDynamicDim(d)) {
          product.coeff *= srcType.getDimSize(d);
          continue;
        }
        std::optional<Term> factor = traceDim(collapse.getSrc(), d, depth + 1);
        if (!factor)
          return std::nullopt;
        product *= *factor;
      }
      return product;
    }
    if (auto cast = source.getDefiningOp<memref::CastOp>())
      return traceDim(cast.getSource(), index, depth + 1);
    if (auto subview = source.getDefiningOp<memref::SubViewOp>()) {
      // A slice's size (`past[:, 0]` keeps `T` whole); dims the subview
      // drops are skipped when counting.
      llvm::SmallBitVector dropped = subview.getDroppedDims();
      SmallVector<OpFoldResult> sizes = subview.getMixedSizes();
      for (unsigned d = 0, kept = 0; d < sizes.size(); ++d) {
        if (dropped.test(d))
          continue;
        if (kept++ != index)
          continue;
        if (auto sizeValue = dyn_cast<Value>(sizes[d]))
          return trace(sizeValue, depth + 1);
        return std::nullopt;
      }
      return std::nullopt;
    }
    auto arg = dyn_cast<BlockArgument>(source);
    if (!arg || arg.getOwner() != &func.getBody().front())
      return std::nullopt;
    auto dims = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), kDimsAttrName);
    if (!dims || index >= static_cast<int64_t>(dims.size()))
      return std::nullopt;
    if (auto name = dyn_cast<StringAttr>(dims[index]))
      return Term{1, {name.str()}};
    return std::nullopt;
  }

  /// An index value equal to `symbol`, created at the top of the entry.
  Value materialize(OpBuilder &b, StringRef symbol) {
    if (Value cached = values.lookup(symbol))
      return cached;
    SmallVector<ArgDim, 2> named = argDimsNamed(func, symbol);
    assert(!named.empty() && "symbol traced from an argument must be found again");
    Block &entry = func.getBody().front();
    BlockArgument arg = entry.getArgument(named.front().arg);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    Value v = memref::DimOp::create(b, arg.getLoc(), arg, named.front().dim);
    values[symbol] = v;
    return v;
  }

private:
  func::FuncOp func;
  llvm::StringMap<Value> values;
};

/// The position of `op`'s ancestor in `block`.
unsigned positionIn(Block &block, Operation *op, const DenseMap<Operation *, unsigned> &positions) {
  Operation *ancestor = block.findAncestorOpInBlock(*op);
  return positions.lookup(ancestor);
}

/// Last position at which `value` or any view of it is used.
unsigned lastUse(Block &block, Value value, const DenseMap<Operation *, unsigned> &positions) {
  unsigned last = 0;
  SmallVector<Value> worklist{value};
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    for (Operation *user : current.getUsers()) {
      last = std::max(last, positionIn(block, user, positions));
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == current)
          llvm::append_range(worklist, user->getResults());
    }
  }
  return last;
}

/// First-fit: each buffer, largest first, goes to the lowest offset where it
/// overlaps no already-placed buffer that is live at the same time.
int64_t packGroup(MutableArrayRef<Buffer *> group) {
  // Largest first; ties in program order, so the plan is deterministic.
  llvm::sort(group, [](Buffer *a, Buffer *b) {
    return a->coeff != b->coeff ? a->coeff > b->coeff : a->start < b->start;
  });
  SmallVector<Buffer *> placed;
  int64_t peak = 0;
  for (Buffer *buffer : group) {
    SmallVector<std::pair<int64_t, int64_t>> busy;
    for (Buffer *other : placed)
      if (other->start <= buffer->end && buffer->start <= other->end)
        busy.push_back({other->offset, other->offset + other->coeff});
    llvm::sort(busy);
    int64_t offset = 0;
    for (auto [begin, end] : busy) {
      if (offset + buffer->coeff <= begin)
        break;
      offset = std::max(offset, end);
    }
    buffer->offset = offset;
    peak = std::max(peak, offset + buffer->coeff);
    placed.push_back(buffer);
  }
  return peak;
}

/// A polynomial as the manifest's list of {coeff, symbols} terms.
ArrayAttr termsAttr(OpBuilder &b, const Polynomial &polynomial) {
  SmallVector<Attribute> terms;
  for (const auto &[monomial, coeff] : polynomial) {
    if (coeff == 0)
      continue;
    SmallVector<Attribute> names;
    for (const std::string &symbol : monomial)
      names.push_back(b.getStringAttr(symbol));
    terms.push_back(b.getDictionaryAttr({b.getNamedAttr("coeff", b.getI64IntegerAttr(coeff)),
                                         b.getNamedAttr("symbols", b.getArrayAttr(names))}));
  }
  return b.getArrayAttr(terms);
}

/// Bytes [offset, offset + size) of the arena, in use until position `last`.
struct ArenaSpan {
  Polynomial offset, size;
  unsigned last = 0;
};

/// Where each gradient output of a train entry is first used, in argument
/// order; one never used is free from the end of the block on.
SmallVector<int64_t> gradBirths(func::FuncOp func, Block &block,
                                const DenseMap<Operation *, unsigned> &positions) {
  SmallVector<int64_t> births;
  for (BlockArgument arg : block.getArguments()) {
    if (!func.getArgAttr(arg.getArgNumber(), kGradAttrName))
      continue;
    std::optional<unsigned> first;
    for (Operation *user : arg.getUsers()) {
      unsigned position = positionIn(block, user, positions);
      first = first ? std::min(*first, position) : position;
    }
    births.push_back(first.value_or(positions.size()));
  }
  return births;
}

/// kiln.grad_space of a train entry: `births`, the position of each gradient
/// output's first use (in argument order), and `busy`, the spans still in use
/// at or after the earliest birth. A gradient may take any bytes no span
/// with `last` at or after its birth covers. With `offsets` (an entry whose
/// sizes are all static, planned with its gradients) each gradient's place.
DictionaryAttr gradSpaceAttr(OpBuilder &b, ArrayRef<int64_t> births, ArrayRef<ArenaSpan> spans,
                             ArrayRef<int64_t> offsets) {
  int64_t earliest = births.empty() ? 0 : *llvm::min_element(births);
  SmallVector<Attribute> busy;
  for (const ArenaSpan &span : spans) {
    if (span.last < earliest)
      continue;
    busy.push_back(b.getDictionaryAttr({b.getNamedAttr("offset", termsAttr(b, span.offset)),
                                        b.getNamedAttr("size", termsAttr(b, span.size)),
                                        b.getNamedAttr("last", b.getI64IntegerAttr(span.last))}));
  }
  SmallVector<NamedAttribute> fields{b.getNamedAttr("births", b.getDenseI64ArrayAttr(births)),
                                     b.getNamedAttr("busy", b.getArrayAttr(busy))};
  if (!offsets.empty())
    fields.push_back(b.getNamedAttr("offsets", b.getDenseI64ArrayAttr(offsets)));
  return b.getDictionaryAttr(fields);
}

/// A function planned: its arena size in its own symbols.
struct Plan {
  Polynomial size;
};

/// The calls of planned functions in `func`, with each call's frame size in
/// `func`'s symbols.
struct CallFrame {
  func::CallOp call;
  Polynomial size;
};

/// Reads the callee's arena size at `call`: each callee symbol becomes the
/// caller's size of the argument dim that symbol names.
FailureOr<Polynomial> frameAtCall(func::CallOp call, func::FuncOp callee, const Plan &plan,
                                  SymbolTracer &tracer) {
  Polynomial size;
  for (const auto &[monomial, coeff] : plan.size) {
    Monomial mapped;
    int64_t scaled = coeff;
    for (const std::string &symbol : monomial) {
      std::optional<Term> found;
      // The callee's arena argument (0) has no operand at the call yet.
      for (ArgDim source : argDimsNamed(callee, symbol, /*firstArg=*/1)) {
        Value operand = call.getOperand(source.arg - 1);
        auto type = cast<MemRefType>(operand.getType());
        if (!type.isDynamicDim(source.dim))
          found = Term{type.getDimSize(source.dim), {}};
        else
          found = tracer.traceDim(operand, source.dim, 0);
        if (found)
          break;
      }
      if (!found)
        return call.emitOpError("passes a size for '")
               << symbol << "' of '" << callee.getSymName()
               << "' that is not a symbolic dim of the caller's arguments";
      scaled *= found->coeff;
      mapped.append(found->monomial.begin(), found->monomial.end());
    }
    llvm::sort(mapped);
    size[mapped] += scaled;
  }
  return size;
}

struct PlanArenaPass : impl::KilnPlanArenaBase<PlanArenaPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // Callees first: a call's frame is its callee's finished plan.
    SmallVector<func::FuncOp> order = calleesFirst(module, symbols);

    DenseMap<Operation *, Plan> plans;
    for (func::FuncOp func : order) {
      if (func.isExternal() || !(func->hasAttr(kEntryAttrName) || func.isPrivate()))
        continue;
      FailureOr<Plan> plan = planFunction(func, symbols, plans);
      if (failed(plan))
        return signalPassFailure();
      plans[func] = std::move(*plan);
    }
  }

  FailureOr<Plan> planFunction(func::FuncOp func, SymbolTable &symbols,
                               const DenseMap<Operation *, Plan> &plans) {
    Block &block = func.getBody().front();
    DenseMap<Operation *, unsigned> positions;
    for (auto [i, op] : llvm::enumerate(block))
      positions[&op] = i;

    SymbolTracer tracer(func);
    std::vector<Buffer> buffers;
    std::vector<CallFrame> calls;
    WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
      if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        auto plan = callee ? plans.find(callee) : plans.end();
        if (plan == plans.end())
          return WalkResult::advance(); // a runtime function
        if (call->getBlock() != &block)
          return call.emitOpError("calls inside a loop or region; "
                                  "the arena planner only places entry-level frames");
        FailureOr<Polynomial> size = frameAtCall(call, callee, plan->second, tracer);
        if (failed(size))
          return WalkResult::interrupt();
        calls.push_back({call, std::move(*size)});
        return WalkResult::advance();
      }
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        return WalkResult::advance();
      if (alloc->getBlock() != &block)
        return alloc.emitOpError("allocates inside a loop or region; "
                                 "the arena planner only places entry-level buffers");
      MemRefType type = alloc.getType();
      if (!type.getLayout().isIdentity())
        return alloc.emitOpError("has a non-identity layout");
      Buffer buffer;
      buffer.alloc = alloc;
      // An i1 element takes one byte in memory, as in MLIR's LLVM lowering.
      int64_t bytes = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
      for (int64_t d : type.getShape())
        if (!ShapedType::isDynamic(d))
          bytes *= d;
      for (Value size : alloc.getDynamicSizes()) {
        std::optional<Term> term = tracer.trace(size);
        if (!term)
          return alloc.emitOpError("has a dynamic size that is not a symbolic "
                                   "dim of the function's arguments");
        bytes *= term->coeff;
        buffer.monomial.append(term->monomial.begin(), term->monomial.end());
      }
      llvm::sort(buffer.monomial);
      buffer.coeff = llvm::alignTo(std::max<int64_t>(bytes, 1), kAlignment);
      buffer.start = positions.lookup(alloc);
      buffer.end = lastUse(block, alloc.getResult(), positions);
      buffers.push_back(std::move(buffer));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    // A train entry whose buffers are all of static size (and that calls no
    // planned function) packs its gradients with them, each live from its
    // birth to the end: the runtime then uses those places as they are.
    bool train = func->hasAttr(kTrainAttrName);
    SmallVector<int64_t> births = train ? gradBirths(func, block, positions) : SmallVector<int64_t>();
    bool jointGrads = train && calls.empty() &&
                      llvm::all_of(buffers, [](const Buffer &b) { return b.monomial.empty(); });
    size_t numAllocs = buffers.size();
    if (jointGrads) {
      unsigned next = 0;
      for (BlockArgument arg : block.getArguments()) {
        if (!func.getArgAttr(arg.getArgNumber(), kGradAttrName))
          continue;
        auto type = cast<MemRefType>(arg.getType());
        Buffer &grad = buffers.emplace_back();
        grad.coeff = llvm::alignTo(
            std::max<int64_t>(type.getNumElements() * llvm::divideCeil(type.getElementTypeBitWidth(), 8), 1),
            kAlignment);
        grad.start = births[next++];
        grad.end = positions.size();
      }
    }
    std::map<Monomial, SmallVector<Buffer *>> groups;
    for (Buffer &buffer : buffers)
      groups[buffer.monomial].push_back(&buffer);
    // One region for all frames: per product of symbols, the largest
    // coefficient any call needs (an upper bound of every call's size, as
    // sizes are at least 1).
    Polynomial frames;
    for (const CallFrame &frame : calls)
      for (const auto &[monomial, coeff] : frame.size)
        frames[monomial] = std::max(frames[monomial], coeff);

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    if (failed(func.insertArgument(
            0, arenaType, b.getDictionaryAttr({b.getNamedAttr("kiln.arena", b.getUnitAttr())}),
            loc)))
      return failure();
    Value arena = func.getArgument(0);

    // Groups are laid out in order (constants first); each group's base is
    // the running sum of the previous groups' sizes.
    b.setInsertionPointToStart(&block);
    Value base = arith::ConstantIndexOp::create(b, loc, 0);
    auto unitOf = [&](const Monomial &monomial) {
      Value unit = arith::ConstantIndexOp::create(b, loc, 1);
      for (const std::string &symbol : monomial)
        unit = b.createOrFold<arith::MulIOp>(loc, unit, tracer.materialize(b, symbol));
      return unit;
    };
    auto scaled = [&](Value unit, int64_t coeff) {
      return b.createOrFold<arith::MulIOp>(loc, unit,
                                           arith::ConstantIndexOp::create(b, loc, coeff));
    };
    Plan plan;
    // Where each buffer went, for a train entry's gradient space.
    SmallVector<ArenaSpan> spans;
    for (auto &[monomial, group] : groups) {
      int64_t peak = packGroup(group);
      for (Buffer *buffer : group) {
        if (!buffer->alloc)
          continue; // a gradient planned with the buffers
        ArenaSpan &span = spans.emplace_back();
        span.offset = plan.size;
        span.offset[monomial] += buffer->offset;
        span.size[monomial] = buffer->coeff;
        span.last = buffer->end;
      }
      Value unit = unitOf(monomial);
      for (Buffer *buffer : group) {
        if (!buffer->alloc)
          continue;
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(buffer->alloc);
        Value offset = b.createOrFold<arith::AddIOp>(loc, base, scaled(unit, buffer->offset));
        auto view = memref::ViewOp::create(b, buffer->alloc.getLoc(), buffer->alloc.getType(),
                                           arena, offset, buffer->alloc.getDynamicSizes());
        buffer->alloc.replaceAllUsesWith(view.getResult());
      }
      base = b.createOrFold<arith::AddIOp>(loc, base, scaled(unit, peak));
      plan.size[monomial] += peak;
    }
    // Each call gets the frame region, viewed at its own size.
    for (CallFrame &frame : calls) {
      Value size = arith::ConstantIndexOp::create(b, loc, 0);
      for (const auto &[monomial, coeff] : frame.size)
        size = b.createOrFold<arith::AddIOp>(loc, size, scaled(unitOf(monomial), coeff));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(frame.call);
      auto view =
          memref::ViewOp::create(b, frame.call.getLoc(), arenaType, arena, base, ValueRange{size});
      frame.call->insertOperands(0, {view.getResult()});
    }
    if (!calls.empty()) {
      ArenaSpan &span = spans.emplace_back();
      span.offset = plan.size;
      span.size = frames;
      for (const CallFrame &frame : calls)
        span.last = std::max(span.last, positions.lookup(frame.call));
    }
    for (const auto &[monomial, coeff] : frames)
      plan.size[monomial] += coeff;
    if (train) {
      // The static group is the first (constants first), at offset 0.
      SmallVector<int64_t> offsets;
      for (size_t i = numAllocs; i < buffers.size(); ++i)
        offsets.push_back(buffers[i].offset);
      func->setAttr("kiln.grad_space", gradSpaceAttr(b, births, spans, offsets));
    }

    // Erased only now: the builder's insertion point may sit on an alloc.
    for (Buffer &buffer : buffers)
      if (buffer.alloc)
        buffer.alloc.erase();
    func->setAttr("kiln.arena", termsAttr(b, plan.size));
    return plan;
  }
};

} // namespace
} // namespace kiln
