//===- ParseExpr.cpp - Parsing Kiln expressions ---------------------------===//
//
// The expression half of the parser (Parser.cpp has modules, members,
// types and statements):
//
//   expr      ::= expr ('+' | '-') term | term
//   term      ::= term ('*' | '/') matmul | matmul
//   matmul    ::= matmul '@' unary | unary
//   unary     ::= '-' unary | postfix
//   postfix   ::= primary ('[' subscript,+ ']')*
//   primary   ::= INTEGER | NUMBER | 'true' | 'false' | '(' expr ')'
//               | path ('(' args ')')?
//   path      ::= IDENT ('[' expr ']')? ('.' IDENT ('[' expr ']')?)*
//   subscript ::= expr | expr? ':' expr?
//   args      ::= (expr | IDENT '=' expr),*     (positional ones first)
//
// A '[' inside a path indexes a list of instances (`layers[0].attn(x)`),
// one after a value subscripts a tensor (`x[:, 0]`); a '[' followed by '.'
// or '(' is the former. Tensor subscripts are sugar for the builtins
// `select(x, axis, index)` and `slice(x, axis, start, end)`.
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
  error(expr->getLoc(),
        "expression is nested too deeply (more than " + llvm::Twine(kMaxExprDepth) + " levels)");
  return nullptr;
}

/// Binding strength of a binary operator; -1 for any other token. `@` binds
/// tighter than `*`, which binds tighter than `+` (as in NumPy code, where
/// `x @ w + b` and `2 * x @ w` mean what they look like).
static int getPrecedence(Tok kind, BinaryOp &op) {
  switch (kind) {
  case Tok::plus:
    op = BinaryOp::Add;
    return 10;
  case Tok::minus:
    op = BinaryOp::Sub;
    return 10;
  case Tok::star:
    op = BinaryOp::Mul;
    return 20;
  case Tok::slash:
    op = BinaryOp::Div;
    return 20;
  case Tok::at:
    op = BinaryOp::MatMul;
    return 30;
  default:
    return -1;
  }
}

ExprPtr Parser::parseExpr() {
  NestingGuard guard(nesting);
  if (nesting > kMaxExprDepth) {
    error(tok.getLoc(),
          "expression is nested too deeply (more than " + llvm::Twine(kMaxExprDepth) + " levels)");
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
    lhs = checkDepth(std::make_unique<BinaryExprAST>(opLoc, op, std::move(lhs), std::move(rhs)));
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
    error(loc,
          "expression is nested too deeply (more than " + llvm::Twine(kMaxExprDepth) + " levels)");
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
    return parseSubscripts(std::move(inner));
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
    error(loc, "floating-point literal '" + spelling + "' is out of range for f32");
    return nullptr;
  }
  return std::make_unique<FloatExprAST>(loc, value, spelling);
}

/// Whether the '[' at `tok` indexes a list of instances: `[expr]` followed
/// by '.' or '('. Looks ahead without consuming (bounded by the nesting of
/// brackets inside).
static bool isPathIndex(const Lexer &lexer, Token tok) {
  Lexer copy = lexer;
  unsigned depth = 0;
  for (Token t = tok; t.isNot(Tok::eof); t = copy.lex()) {
    if (t.is(Tok::l_square) || t.is(Tok::l_paren))
      ++depth;
    else if (t.is(Tok::r_square) || t.is(Tok::r_paren)) {
      if (--depth == 0) {
        Token next = copy.lex();
        return t.is(Tok::r_square) && (next.is(Tok::dot) || next.is(Tok::l_paren));
      }
    } else if (depth == 1 && (t.is(Tok::colon) || t.is(Tok::comma))) {
      return false; // A slice or several subscripts: a tensor's.
    }
  }
  return false;
}

bool Parser::parsePath(llvm::SmallVectorImpl<PathPart> &path) {
  path.emplace_back(tok.spelling, tok.getLoc());
  consume();
  while (true) {
    if (tok.is(Tok::l_square) && isPathIndex(lexer, tok)) {
      SMLoc lsquare = tok.getLoc();
      consume();
      ExprPtr index = parseExpr();
      if (!index)
        return false;
      if (tok.isNot(Tok::r_square)) {
        errorExpected("']' after the index");
        note(lsquare, "to match this '['");
        return false;
      }
      consume();
      if (path.back().index) {
        error(lsquare, "'" + path.back().name +
                           "' is indexed twice; a list of modules has one "
                           "index");
        return false;
      }
      path.back().index = std::move(index);
      continue;
    }
    if (!consumeIf(Tok::dot))
      return true;
    Ident member;
    if (!parseIdent(member, "a member name after '.'"))
      return false;
    path.emplace_back(member);
  }
}

ExprPtr Parser::parseNameOrCall() {
  llvm::SmallVector<PathPart, 1> path;
  if (!parsePath(path))
    return nullptr;
  if (tok.isNot(Tok::l_paren))
    return parseSubscripts(std::make_unique<NameExprAST>(std::move(path)));
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> keywordArgs;
  unsigned depth = 0;
  if (!parseCallArgs(args, keywordArgs, depth))
    return nullptr;
  ExprPtr call = checkDepth(std::make_unique<CallExprAST>(std::move(path), std::move(args),
                                                          std::move(keywordArgs), depth + 1));
  if (!call)
    return nullptr;
  return parseSubscripts(std::move(call));
}

namespace {
/// One subscript: an index (`0`), or a range (`1:4`, `:`, `2:`).
struct Subscript {
  SMLoc loc;
  bool isRange = false;
  ExprPtr start, end;
};
} // namespace

/// Builds a builtin call the parser wrote: `select(base, axis, index)`.
static ExprPtr makeSugarCall(StringRef builtin, SMLoc loc, std::vector<ExprPtr> args) {
  unsigned depth = 0;
  for (const ExprPtr &arg : args)
    depth = std::max(depth, arg->getDepth());
  llvm::SmallVector<PathPart, 1> callee;
  callee.emplace_back(builtin, loc);
  auto call = std::make_unique<CallExprAST>(std::move(callee), std::move(args),
                                            std::vector<KeywordArg>(), depth + 1);
  call->isSugar = true;
  return call;
}

ExprPtr Parser::parseSubscripts(ExprPtr base) {
  while (tok.is(Tok::l_square)) {
    SMLoc lsquare = tok.getLoc();
    consume();
    std::vector<Subscript> subscripts;
    while (true) {
      Subscript sub;
      sub.loc = tok.getLoc();
      if (tok.isNot(Tok::colon)) {
        sub.start = parseExpr();
        if (!sub.start)
          return nullptr;
      }
      if (consumeIf(Tok::colon)) {
        sub.isRange = true;
        if (tok.isNot(Tok::comma) && tok.isNot(Tok::r_square)) {
          sub.end = parseExpr();
          if (!sub.end)
            return nullptr;
        }
      }
      subscripts.push_back(std::move(sub));
      if (consumeIf(Tok::comma))
        continue;
      if (tok.is(Tok::r_square))
        break;
      errorExpected("',' or ']' in a subscript");
      note(lsquare, "to match this '['");
      return nullptr;
    }
    consume(); // ']'
    // Left to right: a select drops its axis, a range keeps it.
    int64_t axis = 0;
    for (Subscript &sub : subscripts) {
      if (!sub.isRange) {
        std::vector<ExprPtr> args;
        args.push_back(std::move(base));
        args.push_back(std::make_unique<IntegerExprAST>(sub.loc, axis));
        args.push_back(std::move(sub.start));
        base = makeSugarCall("select", sub.loc, std::move(args));
      } else if (sub.start || sub.end) {
        std::vector<ExprPtr> args;
        args.push_back(std::move(base));
        args.push_back(std::make_unique<IntegerExprAST>(sub.loc, axis));
        if (!sub.start)
          sub.start = std::make_unique<IntegerExprAST>(sub.loc, 0);
        args.push_back(std::move(sub.start));
        // An omitted end is the builtin's default: to the end of the axis.
        if (sub.end)
          args.push_back(std::move(sub.end));
        base = makeSugarCall("slice", sub.loc, std::move(args));
        ++axis;
      } else {
        ++axis; // `:` keeps the whole axis.
      }
      base = checkDepth(std::move(base));
      if (!base)
        return nullptr;
    }
  }
  return base;
}

/// `(x, axis=-1)`: positional arguments, then keyword arguments. `depth` is
/// set to the deepest argument's depth.
bool Parser::parseCallArgs(std::vector<ExprPtr> &args, std::vector<KeywordArg> &keywordArgs,
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
        error(tok.getLoc(),
              "positional argument after keyword argument '" + keywordArgs.back().name.name + "'");
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
