//===- ParseExpr.cpp - Parsing Kiln expressions ---------------------------===//
//
// The expression half of the parser (Parser.cpp has modules, members,
// types and statements):
//
//   expr      ::= expr ('+' | '-') term | term
//   term      ::= term ('*' | '/') matmul | matmul
//   matmul    ::= matmul '@' unary | unary
//   unary     ::= '-' unary | primary
//   primary   ::= INTEGER | NUMBER | 'true' | 'false' | '(' expr ')'
//               | IDENT ('.' IDENT)* ('(' args ')')?
//   args      ::= (expr | IDENT '=' expr),*     (positional ones first)
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include "llvm/ADT/StringExtras.h"
#include <cfloat>
#include <cmath>

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;

namespace {
/// Bounds the parser's own recursion (parentheses, unary minus, call args).
class NestingGuard {
public:
  explicit NestingGuard(unsigned &nesting) : nesting(nesting) { ++nesting; }
  ~NestingGuard() { --nesting; }

private:
  unsigned &nesting;
};
} // namespace

ExprPtr Parser::checkDepth(ExprPtr expr) {
  if (expr->getDepth() <= kMaxExprDepth)
    return expr;
  error(expr->getLoc(), "expression is nested too deeply (more than " +
                            llvm::Twine(kMaxExprDepth) + " levels)");
  return nullptr;
}

/// Binding strength of a binary operator; -1 for any other token. `@` binds
/// tighter than `*`, which binds tighter than `+` (as in NumPy code, where
/// `x @ w + b` and `2 * x @ w` mean what they look like).
static int getPrecedence(Tok kind, BinaryOp &op) {
  switch (kind) {
  case Tok::plus: op = BinaryOp::Add; return 10;
  case Tok::minus: op = BinaryOp::Sub; return 10;
  case Tok::star: op = BinaryOp::Mul; return 20;
  case Tok::slash: op = BinaryOp::Div; return 20;
  case Tok::at: op = BinaryOp::MatMul; return 30;
  default: return -1;
  }
}

ExprPtr Parser::parseExpr() {
  NestingGuard guard(nesting);
  if (nesting > kMaxExprDepth) {
    error(tok.getLoc(), "expression is nested too deeply (more than " +
                            llvm::Twine(kMaxExprDepth) + " levels)");
    return nullptr;
  }
  ExprPtr lhs = parseUnary();
  if (!lhs)
    return nullptr;
  return parseBinaryRHS(0, std::move(lhs));
}

/// Precedence climbing as in Toy; recursion depth is bounded by the number
/// of precedence levels, chain length by checkDepth.
ExprPtr Parser::parseBinaryRHS(int minPrecedence, ExprPtr lhs) {
  while (true) {
    BinaryOp op;
    int precedence = getPrecedence(tok.kind, op);
    if (precedence < minPrecedence)
      return lhs;
    SMLoc opLoc = tok.getLoc();
    consume();
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    BinaryOp nextOp;
    if (precedence < getPrecedence(tok.kind, nextOp)) {
      rhs = parseBinaryRHS(precedence + 1, std::move(rhs));
      if (!rhs)
        return nullptr;
    }
    lhs = checkDepth(std::make_unique<BinaryExprAST>(opLoc, op, std::move(lhs),
                                                     std::move(rhs)));
    if (!lhs)
      return nullptr;
  }
}

ExprPtr Parser::parseUnary() {
  if (tok.isNot(Tok::minus))
    return parsePrimary();
  NestingGuard guard(nesting);
  SMLoc loc = tok.getLoc();
  consume();
  if (nesting > kMaxExprDepth) {
    error(loc, "expression is nested too deeply (more than " +
                   llvm::Twine(kMaxExprDepth) + " levels)");
    return nullptr;
  }
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  return checkDepth(std::make_unique<UnaryExprAST>(loc, std::move(operand)));
}

ExprPtr Parser::parsePrimary() {
  switch (tok.kind) {
  case Tok::integer:
  case Tok::number:
    return parseNumber();
  case Tok::kw_true:
  case Tok::kw_false: {
    auto expr = std::make_unique<BoolExprAST>(tok.getLoc(), tok.is(Tok::kw_true));
    consume();
    return expr;
  }
  case Tok::identifier:
    return parseNameOrCall();
  case Tok::l_paren: {
    SMLoc lparen = tok.getLoc();
    consume();
    ExprPtr inner = parseExpr();
    if (!inner)
      return nullptr;
    if (tok.isNot(Tok::r_paren)) {
      errorExpected("')'");
      note(lparen, "to match this '('");
      return nullptr;
    }
    consume();
    return inner;
  }
  default:
    errorExpected("an expression");
    return nullptr;
  }
}

ExprPtr Parser::parseNumber() {
  SMLoc loc = tok.getLoc();
  StringRef spelling = tok.spelling;
  bool isInteger = tok.is(Tok::integer);
  consume();
  if (isInteger) {
    uint64_t value;
    if (spelling.getAsInteger(10, value)) {
      bool allDigits = llvm::all_of(spelling, llvm::isDigit);
      error(loc, allDigits ? "integer literal '" + spelling + "' is too large"
                           : "invalid number '" + spelling + "'");
      return nullptr;
    }
    if (value > static_cast<uint64_t>(INT64_MAX)) {
      error(loc, "integer literal '" + spelling + "' is too large");
      return nullptr;
    }
    return std::make_unique<IntegerExprAST>(loc, static_cast<int64_t>(value));
  }
  double value;
  if (spelling.getAsDouble(value)) {
    error(loc, "invalid number '" + spelling + "'");
    return nullptr;
  }
  // Literals are f32 (the only float element type so far).
  if (!std::isfinite(value) || std::fabs(value) > FLT_MAX) {
    error(loc, "floating-point literal '" + spelling +
                   "' is out of range for f32");
    return nullptr;
  }
  return std::make_unique<FloatExprAST>(loc, value, spelling);
}

ExprPtr Parser::parseNameOrCall() {
  llvm::SmallVector<Ident, 1> path;
  path.push_back(Ident{tok.spelling, tok.getLoc()});
  consume();
  while (consumeIf(Tok::dot)) {
    Ident member;
    if (!parseIdent(member, "a member name after '.'"))
      return nullptr;
    path.push_back(member);
  }
  if (tok.isNot(Tok::l_paren))
    return std::make_unique<NameExprAST>(std::move(path));
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> keywordArgs;
  unsigned depth = 0;
  if (!parseCallArgs(args, keywordArgs, depth))
    return nullptr;
  return checkDepth(std::make_unique<CallExprAST>(
      std::move(path), std::move(args), std::move(keywordArgs), depth + 1));
}

/// `(x, axis=-1)`: positional arguments, then keyword arguments. `depth` is
/// set to the deepest argument's depth.
bool Parser::parseCallArgs(std::vector<ExprPtr> &args,
                           std::vector<KeywordArg> &keywordArgs,
                           unsigned &depth) {
  SMLoc lparen = tok.getLoc();
  consume(); // '('
  while (!consumeIf(Tok::r_paren)) {
    ExprPtr value;
    if (tok.is(Tok::identifier) && peek().is(Tok::equal)) {
      Ident name{tok.spelling, tok.getLoc()};
      consume();
      consume(); // '='
      value = parseExpr();
      if (!value)
        return false;
      depth = std::max(depth, value->getDepth());
      keywordArgs.push_back(KeywordArg{name, std::move(value)});
    } else {
      if (!keywordArgs.empty()) {
        error(tok.getLoc(), "positional argument after keyword argument '" +
                                keywordArgs.back().name.name + "'");
        return false;
      }
      value = parseExpr();
      if (!value)
        return false;
      depth = std::max(depth, value->getDepth());
      args.push_back(std::move(value));
    }
    if (!consumeIf(Tok::comma) && tok.isNot(Tok::r_paren)) {
      errorExpected("',' or ')' in argument list");
      note(lparen, "to match this '('");
      return false;
    }
  }
  return true;
}
