//===- AST.h - Abstract syntax tree of the Kiln language --------*- C++ -*-===//
//
// The parser builds this tree; Sema fills in the `resolved*` fields (what a
// name refers to, which argument binds which parameter) so that MLIR
// generation never looks a name up twice. Nodes use LLVM-style RTTI
// (`classof`), and every node carries the source location of its first
// token. Names are StringRefs into the source buffer, which outlives the tree.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_AST_H
#define KILN_FRONTEND_AST_H

#include "frontend/TensorType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/SMLoc.h"
#include <memory>
#include <optional>
#include <vector>

namespace llvm {
class raw_ostream;
class SourceMgr;
} // namespace llvm

namespace kiln {

struct BuiltinInfo;
class FnDecl;
class InstanceDecl;
class ModuleDecl;
class ParamDecl;

/// A name and where it is written.
struct Ident {
  llvm::StringRef name;
  llvm::SMLoc loc;
};

class ExprAST;
class ForStmtAST;

/// One step of a dotted path: `fc1`, or an element of a list of instances
/// (`layers[0]`, whose index is a compile-time integer).
struct PathPart {
  llvm::StringRef name;
  llvm::SMLoc loc;
  std::unique_ptr<ExprAST> index; // null unless `name[index]`

  PathPart(llvm::StringRef name, llvm::SMLoc loc) : name(name), loc(loc) {}
  explicit PathPart(const Ident &ident) : name(ident.name), loc(ident.loc) {}
  PathPart(PathPart &&) = default;
  PathPart &operator=(PathPart &&) = default;
  ~PathPart();
};

/// One instance walked by a resolved path: a single instance, or an element
/// of a list chosen by a compile-time index or by the current iteration of
/// a `for` loop over the list.
struct InstanceStep {
  const InstanceDecl *decl = nullptr;
  const ExprAST *index = nullptr;
  const ForStmtAST *loop = nullptr;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class ExprAST {
public:
  enum Kind { Expr_Integer, Expr_Float, Expr_Bool, Expr_Name, Expr_Unary, Expr_Binary, Expr_Call };

  ExprAST(Kind kind, llvm::SMLoc loc, unsigned depth = 1) : kind(kind), loc(loc), depth(depth) {}
  virtual ~ExprAST() = default;

  Kind getKind() const { return kind; }
  llvm::SMLoc getLoc() const { return loc; }
  /// Height of the tree below this node. The parser bounds it so that the
  /// recursive walks of Sema and MLIRGen cannot overflow the stack.
  unsigned getDepth() const { return depth; }
  /// Where the expression's text starts: a binary expression's location is
  /// its operator, but "this value has the wrong type" points at its start.
  llvm::SMLoc getStartLoc() const;

private:
  const Kind kind;
  llvm::SMLoc loc;
  unsigned depth;
};

using ExprPtr = std::unique_ptr<ExprAST>;

class IntegerExprAST : public ExprAST {
public:
  IntegerExprAST(llvm::SMLoc loc, int64_t value) : ExprAST(Expr_Integer, loc), value(value) {}
  int64_t getValue() const { return value; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Integer; }

private:
  int64_t value;
};

class FloatExprAST : public ExprAST {
public:
  FloatExprAST(llvm::SMLoc loc, double value, llvm::StringRef spelling)
      : ExprAST(Expr_Float, loc), value(value), spelling(spelling) {}
  double getValue() const { return value; }
  /// As written, for printing back.
  llvm::StringRef getSpelling() const { return spelling; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Float; }

private:
  double value;
  llvm::StringRef spelling;
};

class BoolExprAST : public ExprAST {
public:
  BoolExprAST(llvm::SMLoc loc, bool value) : ExprAST(Expr_Bool, loc), value(value) {}
  bool getValue() const { return value; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Bool; }

private:
  bool value;
};

/// A (possibly dotted) name used as a value: `x`, `weight`, `fc1.bias`,
/// `layers[0].ln1.weight`.
class NameExprAST : public ExprAST {
public:
  NameExprAST(llvm::SmallVector<PathPart, 1> path)
      : ExprAST(Expr_Name, path.front().loc), path(std::move(path)) {}
  llvm::ArrayRef<PathPart> getPath() const { return path; }
  /// The last component, for messages.
  llvm::StringRef getName() const { return path.back().name; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Name; }

  /// Set by Sema. `DimSymbol` is a symbolic dim inside a type (`B`).
  enum class Resolution { Unresolved, Local, Param, CtorArg, DimSymbol };
  Resolution resolution = Resolution::Unresolved;
  /// Param: the instances walked from the enclosing module, and the param.
  llvm::SmallVector<InstanceStep, 2> resolvedInstances;
  const ParamDecl *resolvedParam = nullptr;
  /// CtorArg: the index of the constructor argument.
  unsigned resolvedCtorArg = 0;

private:
  llvm::SmallVector<PathPart, 1> path;
};

class UnaryExprAST : public ExprAST {
public:
  UnaryExprAST(llvm::SMLoc loc, ExprPtr operand)
      : ExprAST(Expr_Unary, loc, operand->getDepth() + 1), operand(std::move(operand)) {}
  /// Only negation exists.
  const ExprAST &getOperand() const { return *operand; }
  ExprAST &getOperand() { return *operand; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Unary; }

private:
  ExprPtr operand;
};

enum class BinaryOp { Add, Sub, Mul, Div, MatMul };
llvm::StringRef getBinaryOpSpelling(BinaryOp op);

class BinaryExprAST : public ExprAST {
public:
  /// `loc` is the operator's location: that is where an error about the
  /// operation points.
  BinaryExprAST(llvm::SMLoc loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : ExprAST(Expr_Binary, loc, std::max(lhs->getDepth(), rhs->getDepth()) + 1), op(op),
        lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  BinaryOp getOp() const { return op; }
  const ExprAST &getLHS() const { return *lhs; }
  const ExprAST &getRHS() const { return *rhs; }
  ExprAST &getLHS() { return *lhs; }
  ExprAST &getRHS() { return *rhs; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Binary; }

private:
  BinaryOp op;
  ExprPtr lhs, rhs;
};

struct KeywordArg {
  Ident name;
  ExprPtr value;
};

/// `relu(x)`, `fc1(x)`, `fc1.forward(x)`, `softmax(x, axis=-1)`,
/// `layers[1](x)`.
class CallExprAST : public ExprAST {
public:
  CallExprAST(llvm::SmallVector<PathPart, 1> callee, std::vector<ExprPtr> args,
              std::vector<KeywordArg> keywordArgs, unsigned depth)
      : ExprAST(Expr_Call, callee.front().loc, depth), callee(std::move(callee)),
        args(std::move(args)), keywordArgs(std::move(keywordArgs)) {}
  llvm::ArrayRef<PathPart> getCallee() const { return callee; }
  /// `fc1.forward` for messages.
  std::string getCalleeName() const;
  llvm::ArrayRef<ExprPtr> getArgs() const { return args; }
  llvm::ArrayRef<KeywordArg> getKeywordArgs() const { return keywordArgs; }
  static bool classof(const ExprAST *e) { return e->getKind() == Expr_Call; }

  /// Set by Sema: either a builtin, or a method of the enclosing module or
  /// of an instance reached through `resolvedInstances`.
  const BuiltinInfo *resolvedBuiltin = nullptr;
  llvm::SmallVector<InstanceStep, 2> resolvedInstances;
  const FnDecl *resolvedMethod = nullptr;
  /// One entry per parameter of the callee, in declaration order: the
  /// argument bound to it, or null where the builtin's default applies.
  llvm::SmallVector<ExprAST *, 4> boundArgs;
  /// Set by the parser for calls it wrote itself (`x[:, 0]` is
  /// `select(x, 1, 0)`): they name a builtin even where a method of the
  /// same name exists.
  bool isSugar = false;

private:
  llvm::SmallVector<PathPart, 1> callee;
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> keywordArgs;
};

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

/// `f32[B, in_features * 2]` or `f32`. Dims are expressions over integer
/// literals and constructor arguments; a lone other name is a symbolic dim.
struct TypeAST {
  llvm::SMLoc loc;
  ElementType element = ElementType::f32;
  /// Valid for `f32[..., D]`: any number of leading dims (methods only).
  llvm::SMLoc ellipsisLoc;
  std::vector<ExprPtr> dims;
  bool hasEllipsis() const { return ellipsisLoc.isValid(); }
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

class StmtAST {
public:
  enum Kind { Stmt_Let, Stmt_Return, Stmt_Assign, Stmt_For };
  StmtAST(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  virtual ~StmtAST() = default;
  Kind getKind() const { return kind; }
  llvm::SMLoc getLoc() const { return loc; }

private:
  const Kind kind;
  llvm::SMLoc loc;
};

/// `let h = e`, `let h: f32[B, 64] = e`, `let a, b = m(x)`.
class LetStmtAST : public StmtAST {
public:
  LetStmtAST(llvm::SMLoc loc, llvm::SmallVector<Ident, 1> names, std::unique_ptr<TypeAST> type,
             ExprPtr value)
      : StmtAST(Stmt_Let, loc), names(std::move(names)), type(std::move(type)),
        value(std::move(value)) {}
  llvm::ArrayRef<Ident> getNames() const { return names; }
  const TypeAST *getType() const { return type.get(); }
  const ExprAST &getValue() const { return *value; }
  ExprAST &getValue() { return *value; }
  static bool classof(const StmtAST *s) { return s->getKind() == Stmt_Let; }

private:
  llvm::SmallVector<Ident, 1> names;
  std::unique_ptr<TypeAST> type;
  ExprPtr value;
};

/// `return e` or `return a, b`.
class ReturnStmtAST : public StmtAST {
public:
  ReturnStmtAST(llvm::SMLoc loc, std::vector<ExprPtr> values)
      : StmtAST(Stmt_Return, loc), values(std::move(values)) {}
  llvm::ArrayRef<ExprPtr> getValues() const { return values; }
  static bool classof(const StmtAST *s) { return s->getKind() == Stmt_Return; }

private:
  std::vector<ExprPtr> values;
};

using StmtPtr = std::unique_ptr<StmtAST>;

/// `x = e`, and `x += e` (parsed as `x = x + e`): rebinds an existing name.
class AssignStmtAST : public StmtAST {
public:
  AssignStmtAST(Ident name, ExprPtr value)
      : StmtAST(Stmt_Assign, name.loc), name(name), value(std::move(value)) {}
  const Ident &getName() const { return name; }
  const ExprAST &getValue() const { return *value; }
  ExprAST &getValue() { return *value; }
  static bool classof(const StmtAST *s) { return s->getKind() == Stmt_Assign; }

private:
  Ident name;
  ExprPtr value;
};

/// `for layer in layers { ... }`: unrolled over a list of instances, or over
/// a range of it (`layers[1:]`, `layers[:depth / 2]`).
class ForStmtAST : public StmtAST {
public:
  /// A `[start:end]` after the list; either bound may be omitted.
  struct Range {
    llvm::SMLoc loc;
    ExprPtr start, end;
  };

  ForStmtAST(llvm::SMLoc loc, Ident var, llvm::SmallVector<PathPart, 1> list,
             std::optional<Range> range, std::vector<StmtPtr> body)
      : StmtAST(Stmt_For, loc), var(var), list(std::move(list)), range(std::move(range)),
        body(std::move(body)) {}
  const Ident &getVar() const { return var; }
  llvm::ArrayRef<PathPart> getList() const { return list; }
  const std::optional<Range> &getRange() const { return range; }
  llvm::ArrayRef<StmtPtr> getBody() const { return body; }
  static bool classof(const StmtAST *s) { return s->getKind() == Stmt_For; }

  /// Set by Sema: the instances walked to the list; the last step is the
  /// list itself, indexed by this loop.
  llvm::SmallVector<InstanceStep, 2> resolvedList;

private:
  Ident var;
  llvm::SmallVector<PathPart, 1> list;
  std::optional<Range> range;
  std::vector<StmtPtr> body;
};

//===----------------------------------------------------------------------===//
// Module members
//===----------------------------------------------------------------------===//

/// A member of a module: a parameter, a sub-module instance or a method.
/// Members share one namespace per module.
class MemberDecl {
public:
  enum Kind { Member_Param, Member_Instance, Member_Fn, Member_Train };
  MemberDecl(Kind kind, Ident name) : kind(kind), name(name) {}
  virtual ~MemberDecl() = default;
  Kind getKind() const { return kind; }
  const Ident &getIdent() const { return name; }
  llvm::StringRef getName() const { return name.name; }
  llvm::SMLoc getLoc() const { return name.loc; }

private:
  const Kind kind;
  Ident name;
};

/// `param weight: f32[out_features, in_features]`.
class ParamDecl : public MemberDecl {
public:
  ParamDecl(Ident name, TypeAST type) : MemberDecl(Member_Param, name), type(std::move(type)) {}
  const TypeAST &getType() const { return type; }
  static bool classof(const MemberDecl *d) { return d->getKind() == Member_Param; }

private:
  TypeAST type;
};

/// `fc1 = Linear(64, 128)`, or a list `layers = [Block(64); 2]` whose
/// elements are named `layers.0`, `layers.1` (like `nn.ModuleList`).
class InstanceDecl : public MemberDecl {
public:
  InstanceDecl(Ident name, Ident moduleName, std::vector<ExprPtr> args,
               std::vector<KeywordArg> keywordArgs, ExprPtr count = nullptr)
      : MemberDecl(Member_Instance, name), moduleName(moduleName), args(std::move(args)),
        keywordArgs(std::move(keywordArgs)), count(std::move(count)) {}
  const Ident &getModuleName() const { return moduleName; }
  llvm::ArrayRef<ExprPtr> getArgs() const { return args; }
  llvm::ArrayRef<KeywordArg> getKeywordArgs() const { return keywordArgs; }
  bool isList() const { return count != nullptr; }
  /// The list's length, a compile-time integer; null for a single instance.
  const ExprAST *getCount() const { return count.get(); }
  ExprAST *getCount() { return count.get(); }
  static bool classof(const MemberDecl *d) { return d->getKind() == Member_Instance; }

  /// Set by Sema: the instantiated module, and the argument bound to each of
  /// its constructor parameters.
  const ModuleDecl *resolvedModule = nullptr;
  llvm::SmallVector<ExprAST *, 4> boundArgs;

private:
  Ident moduleName;
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> keywordArgs;
  ExprPtr count;
};

struct FnArg {
  Ident name;
  TypeAST type;
};

/// `fn forward(x: f32[B, 64]) -> f32[B, 10] { ... }`, optionally `export`.
class FnDecl : public MemberDecl {
public:
  FnDecl(Ident name, bool isExport, std::vector<FnArg> args, std::vector<TypeAST> results,
         std::vector<StmtPtr> body, llvm::SMLoc endLoc)
      : MemberDecl(Member_Fn, name), exported(isExport), args(std::move(args)),
        results(std::move(results)), body(std::move(body)), endLoc(endLoc) {}
  bool isExport() const { return exported; }
  llvm::ArrayRef<FnArg> getArgs() const { return args; }
  llvm::ArrayRef<TypeAST> getResults() const { return results; }
  llvm::ArrayRef<StmtPtr> getBody() const { return body; }
  /// True if an argument type starts with `...`: such a method is checked
  /// at each rank it is called with, and cannot be exported.
  bool isRankGeneric() const;
  /// The closing brace.
  llvm::SMLoc getEndLoc() const { return endLoc; }
  static bool classof(const MemberDecl *d) { return d->getKind() == Member_Fn; }

private:
  bool exported;
  std::vector<FnArg> args;
  std::vector<TypeAST> results;
  std::vector<StmtPtr> body;
  llvm::SMLoc endLoc;
};

/// A quoted string with its location (the quotes dropped).
struct StringLit {
  llvm::StringRef value;
  llvm::SMLoc loc;
};

/// A train entry:
///
///   train fit {
///     loss: loss                                   // a method returning f32
///     optimizer: adamw(weight_decay = 0.01)        // sgd, adam or adamw
///     freeze: "vision.*"                           // or train: "head.*"
///     clip_grad_norm: 1.0                          // optional
///   }
///
/// It takes the loss method's arguments; the learning rate is a run-time
/// argument of each call.
class TrainDecl : public MemberDecl {
public:
  explicit TrainDecl(Ident name) : MemberDecl(Member_Train, name) {}
  static bool classof(const MemberDecl *d) { return d->getKind() == Member_Train; }

  std::optional<Ident> loss;
  std::optional<Ident> optimizer;
  std::vector<KeywordArg> optimizerArgs;
  std::vector<StringLit> freeze, train;
  ExprPtr clipGradNorm;
  llvm::SMLoc clipLoc;

  /// Set by Sema: the loss method, and every setting of the optimizer in the
  /// order of its table (SemaTrain.cpp), defaults filled in.
  const FnDecl *resolvedLoss = nullptr;
  std::vector<std::pair<llvm::StringRef, double>> resolvedSettings;
  std::optional<double> resolvedClipNorm;
};

//===----------------------------------------------------------------------===//
// Modules and files
//===----------------------------------------------------------------------===//

/// The type of a constructor argument: a compile-time value.
enum class CtorType { Int, Float, Bool };
llvm::StringRef getCtorTypeName(CtorType type);

/// `heads: int`, `eps: float = 1e-5`, `kv_dim: int = d`.
struct CtorParam {
  Ident name;
  CtorType type = CtorType::Int;
  llvm::SMLoc typeLoc;
  /// Evaluated in the module itself, over the arguments before this one.
  ExprPtr defaultValue;
};

/// `module Linear(in_features: int, out_features: int) { ... }`.
class ModuleDecl {
public:
  ModuleDecl(Ident name, std::vector<CtorParam> ctorParams,
             std::vector<std::unique_ptr<MemberDecl>> members)
      : name(name), ctorParams(std::move(ctorParams)), members(std::move(members)) {}
  const Ident &getIdent() const { return name; }
  llvm::StringRef getName() const { return name.name; }
  llvm::SMLoc getLoc() const { return name.loc; }
  llvm::ArrayRef<CtorParam> getCtorParams() const { return ctorParams; }
  /// How many constructor arguments have no default.
  unsigned getNumRequiredCtorParams() const;
  llvm::ArrayRef<std::unique_ptr<MemberDecl>> getMembers() const { return members; }
  bool hasExports() const;

  /// Filled by Sema: members and constructor parameters by name.
  llvm::StringMap<const MemberDecl *> memberTable;
  llvm::StringMap<unsigned> ctorParamIndex;
  const MemberDecl *lookupMember(llvm::StringRef n) const { return memberTable.lookup(n); }
  std::optional<unsigned> lookupCtorParam(llvm::StringRef n) const {
    auto it = ctorParamIndex.find(n);
    if (it == ctorParamIndex.end())
      return std::nullopt;
    return it->second;
  }

private:
  Ident name;
  std::vector<CtorParam> ctorParams;
  std::vector<std::unique_ptr<MemberDecl>> members;
};

/// `import "nn.kiln"`; the path is without the quotes.
struct ImportDecl {
  llvm::StringRef path;
  llvm::SMLoc loc;
};

/// One parsed file; after loading (Import.cpp), the main file's FileAST
/// also owns the modules of every file it imports, imported ones first.
struct FileAST {
  std::vector<ImportDecl> imports;
  std::vector<std::unique_ptr<ModuleDecl>> modules;
  /// How many of `modules`, at the end, come from the main file: the
  /// default top module is chosen among them.
  size_t numMainModules = 0;
};

/// Prints the tree, indented, one node a line with its `line:col`.
void dumpAST(const FileAST &file, llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os);

/// Writes an expression back as source (used for dims in dumps and notes).
void printExpr(const ExprAST &expr, llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_FRONTEND_AST_H
