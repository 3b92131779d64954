//===- MLIRGen.h - Checks shapes and emits the kiln dialect -----*- C++ -*-===//
//
// Generation walks the instance tree from the top module. Every method of
// every instance is first checked on its own, with its declared signature
// and its symbolic dims free (like a function body in C): errors are
// reported once, in the method's own terms (`f32[B, 64]`). A call site only
// unifies the arguments with the callee's signature. The shape rules are
// monotone under substituting dims for symbols, so a body that checked on its
// own cannot fail at any call.
//
// Checking a method on its own emits it into a scratch function that is
// thrown away; calls in it yield placeholders of the result types, so each
// body is checked once. Entries are emitted into the module only once every
// method has passed. A method call there becomes a func.call of a private
// function emitted once per (module key, method, argument types), like a
// C++ template instantiated per type: a symbol the caller binds to a static
// size is static in it, one bound to a symbol stays symbolic. The callee
// takes the parameters it reads as trailing arguments, so the twelve blocks
// of a ViT share one body and each call passes its own layer's weights.
// Inlining is a later pass (kiln-inline).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_MLIRGEN_H
#define KILN_FRONTEND_MLIRGEN_H

#include "frontend/Builtins.h"
#include "frontend/Instance.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace kiln {

/// A scalar literal not yet given an element type: it takes the element type
/// of whatever it meets (`x * 2` with x: i64 is an i64 2), else f32.
struct Literal {
  bool isFloat;
  double floatValue;
  int64_t intValue;
  double asDouble() const { return isFloat ? floatValue : double(intValue); }
};

/// An evaluated expression: an SSA value and its Kiln type, or a literal.
struct TypedValue {
  mlir::Value value;
  TensorType type;
  std::optional<Literal> literal;
  /// Where the value was declared when it is a plain name (a param, an
  /// argument): errors about it add "note: 'weight' declared here".
  llvm::StringRef declName;
  llvm::SMLoc declLoc;
};

/// A checked value, or std::nullopt once an error about it was reported;
/// expressions using it fail quietly, so one mistake gives one message.
using MaybeValue = std::optional<TypedValue>;

/// The broadcasting binary ops: the four operators and maximum/minimum.
enum class Elementwise { Add, Sub, Mul, Div, Max, Min };

/// A method's declared signature, evaluated in an instance. For a method
/// with `...` dims, `args` and `results` hold the fixed dims until the
/// signature is expanded for one rank (`leadingRank`).
struct Signature {
  llvm::SmallVector<TensorType, 4> args;
  llvm::SmallVector<TensorType, 1> results;
  llvm::SmallVector<bool, 4> argHasEllipsis;
  llvm::SmallVector<bool, 1> resultHasEllipsis;
  std::optional<unsigned> leadingRank;
};

class MLIRGen {
  /// The type rules of the builtins beyond the operators (BuiltinGen.cpp).
  friend class BuiltinGen;

public:
  MLIRGen(mlir::MLIRContext &context, Diagnostics &diags);

  /// Emits the model rooted at `top` with its constructor arguments' values
  /// from `settings` or their defaults; null after reporting errors.
  mlir::OwningOpRef<mlir::ModuleOp> emitModel(const ModuleDecl &top, const Settings &settings,
                                              llvm::StringRef modelName);

private:
  /// What a frame's body is emitted for.
  enum class FrameKind {
    Entry,    ///< an `export fn`: parameters are read with kiln.param
    Check,    ///< a method checked on its own, thrown away
    Outlined, ///< a method's private function: parameters are arguments
  };

  /// A method's private function, emitted once per key.
  struct OutlinedFn {
    mlir::func::FuncOp func;
    /// The parameters it takes after its data arguments: indices into its
    /// instance's collectParams() order (the same in every instance with the
    /// same key).
    llvm::SmallVector<unsigned, 8> params;
    /// Result types in the callee's own symbols.
    llvm::SmallVector<TensorType, 1> results;
  };

  /// One function body being emitted.
  struct Frame {
    const Instance *instance;
    const FnDecl *fn;
    const Signature *signature;
    /// Callee symbol -> dim in the namespace of the function being emitted.
    llvm::StringMap<Dim> symbols;
    llvm::StringMap<MaybeValue> locals;
    FrameKind kind;
    /// The iteration each enclosing `for` loop is in.
    llvm::DenseMap<const ForStmtAST *, int64_t> loopIndex{};
    /// Names a block's `let`s shadowed, restored when the block ends;
    /// innermost block last.
    struct Scope {
      llvm::StringMap<std::optional<MaybeValue>> shadowed;
    };
    llvm::SmallVector<Scope, 2> scopes{};
    /// Outlined frames: the instance's parameters by collectParams() index,
    /// and the argument each one read so far arrived in.
    llvm::DenseMap<const InstanceParam *, unsigned> paramIndex{};
    OutlinedFn *outlined = nullptr;
  };

  /// The frame of a function emitted on its own (an entry, or a method
  /// being checked): free symbols, arguments from `entry`.
  Frame makeOwnFrame(const Instance &instance, const FnDecl &fn, const Signature &signature,
                     mlir::Block &entry, FrameKind kind);
  /// The private function of `fn` in `instance` for the caller's bindings
  /// of its symbols, emitted on first use.
  OutlinedFn &getOutlined(const Instance &instance, const FnDecl &fn, const Signature &signature,
                          const llvm::StringMap<Dim> &bindings);
  /// The value of `param` in the current frame: a kiln.param read in an
  /// entry, an argument of an outlined function (added on first use).
  mlir::Value getParamValue(const InstanceParam &param, llvm::SMLoc loc);

  // Model-level steps (MLIRGen.cpp).
  void emitParameters(const Instance &root);
  /// Emits `fn` of the top instance as the entry `name`; null after an error.
  mlir::func::FuncOp emitEntry(const Instance &root, const FnDecl &fn, llvm::StringRef name);
  /// Emits a train entry: its loss method as an entry, tagged with the
  /// parameters it trains and its optimizer (kiln.train; TrainGen.cpp).
  void emitTrain(const Instance &root, const TrainDecl &train);
  /// Checks `fn` of `instance` on its own, once per instance key (and per
  /// leading rank for a method with `...` dims).
  bool ensureChecked(const Instance &instance, const FnDecl &fn,
                     std::optional<unsigned> leadingRank = std::nullopt);
  void checkAllMethods(const Instance &instance);
  /// The signature of `fn` in `instance`; for a method with `...`, expanded
  /// with `leadingRank` leading dims.
  const Signature *getSignature(const Instance &instance, const FnDecl &fn,
                                std::optional<unsigned> leadingRank = std::nullopt);
  /// The instance a resolved path reaches from the current frame's;
  /// reports an index out of range and returns null.
  const Instance *walkInstances(llvm::ArrayRef<InstanceStep> steps, llvm::SMLoc loc);

  // Bodies and statements (MLIRGen.cpp).
  std::optional<llvm::SmallVector<TypedValue, 1>> emitBody(Frame &frame);
  /// Emits a block's statements; the values of its `return`, if it has
  /// one and it succeeded.
  std::optional<llvm::SmallVector<TypedValue, 1>> emitStatements(llvm::ArrayRef<StmtPtr> body);
  bool emitLet(const LetStmtAST &let);
  void emitAssign(const AssignStmtAST &assign);
  void emitFor(const ForStmtAST &loop);
  /// Binds `name` in the current frame, remembering what it shadowed when
  /// inside a block.
  void bindLocal(llvm::StringRef name, MaybeValue value, bool declares);
  std::optional<llvm::SmallVector<TypedValue, 1>> emitReturn(const ReturnStmtAST &ret);
  /// Checks `value` against a declared type (after substituting the frame's
  /// symbols) and materializes literals; reports "expected T, got U".
  MaybeValue coerce(TypedValue value, const TensorType &declared, llvm::SMLoc loc,
                    const llvm::Twine &what);

  // Expressions (MLIRGen.cpp).
  MaybeValue emitExpr(const ExprAST &expr);
  std::optional<llvm::SmallVector<TypedValue, 1>> emitMulti(const ExprAST &expr);
  MaybeValue emitName(const NameExprAST &name);
  std::optional<llvm::SmallVector<TypedValue, 1>> emitMethodCall(const CallExprAST &call);

  // Operators and builtins (OpGen.cpp).
  MaybeValue emitUnary(const UnaryExprAST &expr);
  MaybeValue emitElementwise(Elementwise op, TypedValue lhs, TypedValue rhs, llvm::SMLoc loc,
                             llvm::StringRef spelling);
  MaybeValue emitMatmul(TypedValue lhs, TypedValue rhs, llvm::SMLoc loc, llvm::StringRef spelling);
  MaybeValue emitBuiltin(const CallExprAST &call);
  MaybeValue emitAxisOp(const CallExprAST &call, TypedValue input);
  MaybeValue emitReduce(const CallExprAST &call, TypedValue input);
  MaybeValue emitTranspose(const CallExprAST &call, TypedValue input);
  MaybeValue emitCrossEntropy(const CallExprAST &call, TypedValue logits, TypedValue targets);
  /// An Int parameter of a builtin: its argument or default.
  std::optional<int64_t> getStaticArg(const CallExprAST &call, unsigned index);
  /// Turns a literal into an arith.constant of `element` (a rank-0 tensor).
  MaybeValue materialize(TypedValue value, ElementType element, llvm::SMLoc loc);
  /// Materializes a literal met alone (f32 by default).
  MaybeValue materializeDefault(TypedValue value, llvm::SMLoc loc);
  /// "note: 'weight' declared here" for operands that are plain names.
  void noteOperands(llvm::ArrayRef<const TypedValue *> operands);

  // Helpers.
  Frame &frame() { return *frames.back(); }
  mlir::Location getLoc(llvm::SMLoc loc);
  TensorType substitute(const TensorType &type) const;

  mlir::MLIRContext &context;
  Diagnostics &diags;
  mlir::OpBuilder builder;
  mlir::ModuleOp module;

  llvm::SmallVector<Frame *, 8> frames;
  enum class CheckState { InProgress, Ok, Failed };
  llvm::StringMap<CheckState> checkStates;
  llvm::StringMap<std::optional<Signature>> signatures;
  /// Outlined functions by instance key, method and argument types.
  llvm::StringMap<std::unique_ptr<OutlinedFn>> outlinedFns;
  /// How many functions were named after each method, for unique names.
  llvm::StringMap<unsigned> outlinedNames;
  /// Expressions evaluated so far: bounds the work that inlining can cause.
  uint64_t workDone = 0;
  bool reportedTooLarge = false;
};

} // namespace kiln

#endif // KILN_FRONTEND_MLIRGEN_H
