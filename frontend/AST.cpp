//===- AST.cpp - Printing the Kiln AST ------------------------------------===//
//
// `kilnc --emit=ast` output: one node a line, indented by depth, each with
// its `@line:col`. Types and dims are printed back as source.
//
//===----------------------------------------------------------------------===//
#include "frontend/AST.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

llvm::StringRef kiln::getBinaryOpSpelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::MatMul:
    return "@";
  }
  llvm_unreachable("unknown binary op");
}

PathPart::~PathPart() = default;

llvm::StringRef kiln::getCtorTypeName(CtorType type) {
  switch (type) {
  case CtorType::Int:
    return "int";
  case CtorType::Float:
    return "float";
  case CtorType::Bool:
    return "bool";
  }
  llvm_unreachable("unknown constructor argument type");
}

static void printPath(llvm::ArrayRef<PathPart> path, llvm::raw_ostream &os) {
  llvm::interleave(
      path, os,
      [&](const PathPart &part) {
        os << part.name;
        if (part.index) {
          os << '[';
          printExpr(*part.index, os);
          os << ']';
        }
      },
      ".");
}

std::string CallExprAST::getCalleeName() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  printPath(callee, os);
  return text;
}

llvm::SMLoc ExprAST::getStartLoc() const {
  const ExprAST *expr = this;
  while (auto *binary = llvm::dyn_cast<BinaryExprAST>(expr))
    expr = &binary->getLHS();
  // Parentheses leave no node, so `(a + b) * c` starts at `a`; close enough.
  return expr->getLoc();
}

bool FnDecl::isRankGeneric() const {
  return llvm::any_of(args, [](const FnArg &arg) { return arg.type.hasEllipsis(); });
}

unsigned ModuleDecl::getNumRequiredCtorParams() const {
  return llvm::count_if(ctorParams, [](const CtorParam &param) { return !param.defaultValue; });
}

bool ModuleDecl::hasExports() const {
  return llvm::any_of(members, [](const std::unique_ptr<MemberDecl> &member) {
    auto *fn = llvm::dyn_cast<FnDecl>(member.get());
    return (fn && fn->isExport()) || llvm::isa<TrainDecl>(member.get());
  });
}

/// Binding strength, to print only the parentheses the source needed.
static int getPrecedence(const ExprAST &expr) {
  auto *binary = llvm::dyn_cast<BinaryExprAST>(&expr);
  if (!binary)
    return 100;
  switch (binary->getOp()) {
  case BinaryOp::Add:
  case BinaryOp::Sub:
    return 10;
  case BinaryOp::Mul:
  case BinaryOp::Div:
    return 20;
  case BinaryOp::MatMul:
    return 30;
  }
  llvm_unreachable("unknown binary op");
}

void kiln::printExpr(const ExprAST &expr, llvm::raw_ostream &os) {
  switch (expr.getKind()) {
  case ExprAST::Expr_Integer:
    os << llvm::cast<IntegerExprAST>(expr).getValue();
    return;
  case ExprAST::Expr_Float:
    os << llvm::cast<FloatExprAST>(expr).getSpelling();
    return;
  case ExprAST::Expr_Bool:
    os << (llvm::cast<BoolExprAST>(expr).getValue() ? "true" : "false");
    return;
  case ExprAST::Expr_Name:
    printPath(llvm::cast<NameExprAST>(expr).getPath(), os);
    return;
  case ExprAST::Expr_Unary: {
    const ExprAST &operand = llvm::cast<UnaryExprAST>(expr).getOperand();
    bool parens = llvm::isa<BinaryExprAST>(operand);
    os << '-' << (parens ? "(" : "");
    printExpr(operand, os);
    os << (parens ? ")" : "");
    return;
  }
  case ExprAST::Expr_Binary: {
    auto &binary = llvm::cast<BinaryExprAST>(expr);
    int precedence = getPrecedence(binary);
    // Left-associative: the right operand needs parentheses at equal
    // precedence, the left one only at lower precedence.
    bool lhsParens = getPrecedence(binary.getLHS()) < precedence;
    bool rhsParens = getPrecedence(binary.getRHS()) <= precedence;
    os << (lhsParens ? "(" : "");
    printExpr(binary.getLHS(), os);
    os << (lhsParens ? ")" : "") << ' ' << getBinaryOpSpelling(binary.getOp()) << ' '
       << (rhsParens ? "(" : "");
    printExpr(binary.getRHS(), os);
    os << (rhsParens ? ")" : "");
    return;
  }
  case ExprAST::Expr_Call: {
    auto &call = llvm::cast<CallExprAST>(expr);
    os << call.getCalleeName() << '(';
    bool first = true;
    for (const ExprPtr &arg : call.getArgs()) {
      os << (first ? "" : ", ");
      printExpr(*arg, os);
      first = false;
    }
    for (const KeywordArg &arg : call.getKeywordArgs()) {
      os << (first ? "" : ", ") << arg.name.name << '=';
      printExpr(*arg.value, os);
      first = false;
    }
    os << ')';
    return;
  }
  }
  llvm_unreachable("unknown expression kind");
}

namespace {
class ASTDumper {
public:
  ASTDumper(llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os) : sourceMgr(sourceMgr), os(os) {}

  void dump(const FileAST &file) {
    for (const ImportDecl &import : file.imports) {
      line() << "import \"" << import.path << "\"";
      loc(import.loc);
    }
    for (const auto &module : file.modules)
      dump(*module);
  }

private:
  /// Opens a node's line; the caller writes the rest and ends it with loc().
  llvm::raw_ostream &line() { return os.indent(indent * 2); }
  void loc(llvm::SMLoc where) {
    auto [lineNo, col] = sourceMgr.getLineAndColumn(where);
    os << " @" << lineNo << ':' << col << '\n';
  }
  void type(const TypeAST &type) {
    os << getElementTypeName(type.element);
    if (type.dims.empty() && !type.hasEllipsis())
      return;
    os << '[';
    if (type.hasEllipsis())
      os << (type.dims.empty() ? "..." : "..., ");
    llvm::interleaveComma(type.dims, os, [&](const ExprPtr &dim) { printExpr(*dim, os); });
    os << ']';
  }

  struct Nested {
    explicit Nested(unsigned &indent) : indent(indent) { ++indent; }
    ~Nested() { --indent; }
    unsigned &indent;
  };

  void dump(const ModuleDecl &module) {
    line() << "module " << module.getName();
    if (!module.getCtorParams().empty()) {
      os << '(';
      llvm::interleaveComma(module.getCtorParams(), os, [&](const CtorParam &p) {
        os << p.name.name << ": " << getCtorTypeName(p.type);
        if (p.defaultValue) {
          os << " = ";
          printExpr(*p.defaultValue, os);
        }
      });
      os << ')';
    }
    loc(module.getLoc());
    Nested nested(indent);
    for (const auto &member : module.getMembers())
      dump(*member);
  }

  void dump(const MemberDecl &member) {
    if (auto *param = llvm::dyn_cast<ParamDecl>(&member)) {
      line() << "param " << param->getName() << ": ";
      type(param->getType());
      loc(param->getLoc());
    } else if (auto *instance = llvm::dyn_cast<InstanceDecl>(&member)) {
      line() << "instance " << instance->getName() << " = " << instance->getModuleName().name;
      if (const ExprAST *count = instance->getCount()) {
        os << " x ";
        printExpr(*count, os);
      }
      loc(instance->getLoc());
      Nested nested(indent);
      dumpArgs(instance->getArgs(), instance->getKeywordArgs());
    } else if (auto *train = llvm::dyn_cast<TrainDecl>(&member)) {
      dump(*train);
    } else {
      dump(llvm::cast<FnDecl>(member));
    }
  }

  void dump(const TrainDecl &train) {
    line() << "train " << train.getName();
    loc(train.getLoc());
    Nested nested(indent);
    if (train.loss)
      line() << "loss " << train.loss->name;
    if (train.optimizer) {
      line() << "optimizer " << train.optimizer->name;
      Nested args(indent);
      dumpArgs({}, train.optimizerArgs);
    }
    for (auto [what, patterns] : {std::pair{"freeze", &train.freeze}, {"train", &train.train}})
      for (const StringLit &pattern : *patterns)
        line() << what << " \"" << pattern.value << "\"";
    if (train.clipGradNorm) {
      line() << "clip_grad_norm ";
      printExpr(*train.clipGradNorm, os);
    }
  }

  void dump(const FnDecl &fn) {
    line() << (fn.isExport() ? "export fn " : "fn ") << fn.getName();
    loc(fn.getLoc());
    Nested nested(indent);
    for (const FnArg &arg : fn.getArgs()) {
      line() << "arg " << arg.name.name << ": ";
      type(arg.type);
      loc(arg.name.loc);
    }
    for (const TypeAST &result : fn.getResults()) {
      line() << "result ";
      type(result);
      loc(result.loc);
    }
    for (const auto &stmt : fn.getBody())
      dump(*stmt);
  }

  void dump(const StmtAST &stmt) {
    if (auto *let = llvm::dyn_cast<LetStmtAST>(&stmt)) {
      line() << "let ";
      llvm::interleaveComma(let->getNames(), os, [&](const Ident &name) { os << name.name; });
      if (const TypeAST *annotation = let->getType()) {
        os << ": ";
        type(*annotation);
      }
      loc(let->getLoc());
      Nested nested(indent);
      dump(let->getValue());
      return;
    }
    if (auto *assign = llvm::dyn_cast<AssignStmtAST>(&stmt)) {
      line() << "assign " << assign->getName().name;
      loc(assign->getLoc());
      Nested nested(indent);
      dump(assign->getValue());
      return;
    }
    if (auto *loop = llvm::dyn_cast<ForStmtAST>(&stmt)) {
      line() << "for " << loop->getVar().name << " in ";
      printPath(loop->getList(), os);
      const auto &range = loop->getRange();
      if (range)
        os << "[" << (range->start ? "start" : "") << ":" << (range->end ? "end" : "") << "]";
      loc(loop->getLoc());
      Nested nested(indent);
      if (range && range->start)
        dump(*range->start);
      if (range && range->end)
        dump(*range->end);
      for (const StmtPtr &inner : loop->getBody())
        dump(*inner);
      return;
    }
    auto &ret = llvm::cast<ReturnStmtAST>(stmt);
    line() << "return";
    loc(ret.getLoc());
    Nested nested(indent);
    for (const ExprPtr &value : ret.getValues())
      dump(*value);
  }

  void dumpArgs(llvm::ArrayRef<ExprPtr> args, llvm::ArrayRef<KeywordArg> keywordArgs) {
    for (const ExprPtr &arg : args)
      dump(*arg);
    for (const KeywordArg &arg : keywordArgs) {
      line() << "keyword " << arg.name.name;
      loc(arg.name.loc);
      Nested nested(indent);
      dump(*arg.value);
    }
  }

  void dump(const ExprAST &expr) {
    switch (expr.getKind()) {
    case ExprAST::Expr_Integer:
      line() << "integer " << llvm::cast<IntegerExprAST>(expr).getValue();
      break;
    case ExprAST::Expr_Float:
      line() << "float " << llvm::cast<FloatExprAST>(expr).getSpelling();
      break;
    case ExprAST::Expr_Bool:
      line() << "bool " << (llvm::cast<BoolExprAST>(expr).getValue() ? "true" : "false");
      break;
    case ExprAST::Expr_Name:
      line() << "name ";
      printPath(llvm::cast<NameExprAST>(expr).getPath(), os);
      break;
    case ExprAST::Expr_Unary: {
      line() << "negate";
      loc(expr.getLoc());
      Nested nested(indent);
      dump(llvm::cast<UnaryExprAST>(expr).getOperand());
      return;
    }
    case ExprAST::Expr_Binary: {
      auto &binary = llvm::cast<BinaryExprAST>(expr);
      line() << "binary '" << getBinaryOpSpelling(binary.getOp()) << "'";
      loc(expr.getLoc());
      Nested nested(indent);
      dump(binary.getLHS());
      dump(binary.getRHS());
      return;
    }
    case ExprAST::Expr_Call: {
      auto &call = llvm::cast<CallExprAST>(expr);
      line() << "call " << call.getCalleeName();
      loc(expr.getLoc());
      Nested nested(indent);
      dumpArgs(call.getArgs(), call.getKeywordArgs());
      return;
    }
    }
    loc(expr.getLoc());
  }

  llvm::SourceMgr &sourceMgr;
  llvm::raw_ostream &os;
  unsigned indent = 0;
};
} // namespace

void kiln::dumpAST(const FileAST &file, llvm::SourceMgr &sourceMgr, llvm::raw_ostream &os) {
  ASTDumper(sourceMgr, os).dump(file);
}
