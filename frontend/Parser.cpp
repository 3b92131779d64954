//===- Parser.cpp - Recursive-descent parser for Kiln ---------------------===//
//
// Grammar (docs/language.md has the prose version):
//
//   file      ::= (import | module)*
//   import    ::= 'import' STRING
//   module    ::= 'module' IDENT ('(' ctorparam,* ')')? '{' member* '}'
//   ctorparam ::= IDENT ':' ('int' | 'float' | 'bool') ('=' expr)?
//   member    ::= 'param' IDENT ':' type
//               | IDENT '=' IDENT '(' args ')'
//               | IDENT '=' '[' IDENT '(' args ')' ';' expr ']'
//               | 'export'? 'fn' IDENT '(' (IDENT ':' type),* ')'
//                   '->' (type | '(' type,+ ')') block
//               | 'train' IDENT '{' field* '}'
//   field     ::= 'loss' ':' IDENT | 'optimizer' ':' IDENT ('(' args ')')?
//               | ('freeze' | 'train') ':' STRING (',' STRING)*
//               | 'clip_grad_norm' ':' expr
//   block     ::= '{' stmt* '}'
//   stmt      ::= 'let' IDENT (',' IDENT)* (':' type)? '=' expr ';'?
//               | IDENT ('=' | '+=' | '-=' | '*=' | '/=') expr ';'?
//               | 'for' IDENT 'in' path block
//               | 'return' expr (',' expr)* ';'?
//   type      ::= ELEMENT ('[' ('...' ',')? expr,* ']')?
//
// Expressions and call arguments are in ParseExpr.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;

namespace {
/// Upper bound on a type's rank; more is certainly a mistake (or garbage).
constexpr size_t kMaxRank = 16;
} // namespace

//===----------------------------------------------------------------------===//
// Diagnostics and recovery
//===----------------------------------------------------------------------===//

void Parser::error(SMLoc loc, const llvm::Twine &message) {
  if (loc.getPointer() == lastErrorPos) {
    suppressedLastError = true;
    return;
  }
  suppressedLastError = false;
  lastErrorPos = loc.getPointer();
  diags.error(loc, message);
}

void Parser::note(SMLoc loc, const llvm::Twine &message) {
  if (!suppressedLastError)
    diags.note(loc, message);
}

static std::string describeToken(const Token &tok) {
  switch (tok.kind) {
  case Tok::identifier:
    return ("identifier '" + tok.spelling + "'").str();
  case Tok::integer:
  case Tok::number:
    return ("number '" + tok.spelling + "'").str();
  default:
    return describeTokenKind(tok.kind).str();
  }
}

/// Printable ASCII as itself, anything else (random bytes, UTF-8) as \xNN so
/// the message itself stays valid text.
static std::string describeChar(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f)
    return std::string(1, c);
  std::string text;
  llvm::raw_string_ostream(text) << "\\x" << llvm::format_hex_no_prefix(byte, 2);
  return text;
}

void Parser::errorExpected(StringRef what) {
  if (tok.is(Tok::unknown)) {
    error(tok.getLoc(), "unexpected character '" + describeChar(tok.spelling.front()) + "'");
    return;
  }
  error(tok.getLoc(), "expected " + what + ", got " + describeToken(tok));
}

bool Parser::expect(Tok kind, StringRef what) {
  if (consumeIf(kind))
    return true;
  errorExpected(what);
  return false;
}

bool Parser::parseIdent(Ident &ident, StringRef what) {
  if (tok.isNot(Tok::identifier)) {
    errorExpected(what);
    return false;
  }
  ident = Ident{tok.spelling, tok.getLoc()};
  consume();
  return true;
}

bool Parser::atMemberStart(unsigned ahead) const {
  switch ((ahead ? peek(ahead) : tok).kind) {
  case Tok::kw_param:
  case Tok::kw_fn:
  case Tok::kw_export:
  case Tok::kw_train:
    return true;
  case Tok::identifier:
    return peek(ahead + 1).is(Tok::equal);
  default:
    return false;
  }
}

void Parser::skipToMember() {
  unsigned depth = 0;
  while (true) {
    switch (tok.kind) {
    case Tok::eof:
    case Tok::kw_module:
    case Tok::kw_param:
    case Tok::kw_fn:
    case Tok::kw_export:
    case Tok::kw_train:
      return;
    case Tok::l_brace:
      ++depth;
      break;
    case Tok::r_brace:
      // A `}` followed by a member closes a body whose `{` was missing, not
      // the module: skip it.
      if (depth == 0 && !atMemberStart(/*ahead=*/1))
        return;
      if (depth > 0)
        --depth;
      break;
    case Tok::identifier:
      if (depth == 0 && atMemberStart())
        return;
      break;
    default:
      break;
    }
    consume();
  }
}

void Parser::skipToStatement() {
  unsigned depth = 0;
  while (true) {
    switch (tok.kind) {
    case Tok::eof:
    case Tok::kw_module:
    case Tok::kw_param:
    case Tok::kw_fn:
    case Tok::kw_export:
    case Tok::kw_train:
    case Tok::kw_let:
    case Tok::kw_return:
    case Tok::kw_for:
      return;
    case Tok::l_brace:
      ++depth;
      break;
    case Tok::r_brace:
      if (depth == 0)
        return;
      --depth;
      break;
    default:
      break;
    }
    consume();
  }
}

void Parser::skipToModule() {
  while (tok.isNot(Tok::eof) && tok.isNot(Tok::kw_module) && tok.isNot(Tok::kw_import))
    consume();
}

bool Parser::atAssignment() const {
  if (tok.isNot(Tok::identifier))
    return false;
  switch (peek().kind) {
  case Tok::equal:
  case Tok::plus_equal:
  case Tok::minus_equal:
  case Tok::star_equal:
  case Tok::slash_equal:
    return true;
  default:
    return false;
  }
}

//===----------------------------------------------------------------------===//
// Modules and members
//===----------------------------------------------------------------------===//

std::unique_ptr<FileAST> Parser::parseFile() {
  auto file = std::make_unique<FileAST>();
  while (tok.isNot(Tok::eof) && !diags.shouldStop()) {
    if (tok.is(Tok::kw_module)) {
      if (auto module = parseModule())
        file->modules.push_back(std::move(module));
      else
        skipToModule();
      continue;
    }
    if (tok.is(Tok::kw_import)) {
      if (!parseImport(*file))
        skipToModule();
      continue;
    }
    errorExpected("'module'");
    consume(); // Progress even when the garbage starts with 'module'-less text.
    skipToModule();
  }
  return file;
}

bool Parser::parseImport(FileAST &file) {
  consume(); // 'import'
  if (tok.isNot(Tok::string)) {
    errorExpected("a file name in quotes after 'import'");
    return false;
  }
  StringRef path = tok.spelling.drop_front().drop_back();
  if (path.empty()) {
    error(tok.getLoc(), "empty file name in 'import'");
    return false;
  }
  file.imports.push_back(ImportDecl{path, tok.getLoc()});
  consume();
  consumeIf(Tok::semicolon);
  return true;
}

std::unique_ptr<ModuleDecl> Parser::parseModule() {
  consume(); // 'module'
  Ident name;
  if (!parseIdent(name, "a module name after 'module'"))
    return nullptr;
  std::vector<CtorParam> ctorParams;
  if (tok.is(Tok::l_paren) && !parseCtorParams(ctorParams))
    return nullptr;
  SMLoc lbrace = tok.getLoc();
  if (!expect(Tok::l_brace, ("'{' to start module '" + name.name + "'").str()))
    return nullptr;

  std::vector<std::unique_ptr<MemberDecl>> members;
  while (!consumeIf(Tok::r_brace)) {
    if (tok.is(Tok::eof) || tok.is(Tok::kw_module)) {
      error(tok.getLoc(), "expected '}' at end of module '" + name.name + "'");
      note(lbrace, "to match this '{'");
      return nullptr;
    }
    if (diags.shouldStop())
      return nullptr;
    const char *before = tok.spelling.data();
    if (auto member = parseMember()) {
      members.push_back(std::move(member));
      consumeIf(Tok::semicolon);
      continue;
    }
    if (tok.spelling.data() == before)
      consume();
    skipToMember();
  }
  return std::make_unique<ModuleDecl>(name, std::move(ctorParams), std::move(members));
}

/// `(in_features: int, eps: float = 1e-5, bias: bool = true)`. Once one
/// argument has a default, the ones after it need one too (as in Python).
bool Parser::parseCtorParams(std::vector<CtorParam> &params) {
  consume(); // '('
  std::optional<size_t> firstDefault;
  while (!consumeIf(Tok::r_paren)) {
    CtorParam param;
    Ident type;
    if (!parseIdent(param.name, "a constructor argument name") ||
        !expect(Tok::colon, "':' and a type ('int', 'float' or 'bool') after "
                            "constructor argument '" +
                                param.name.name.str() + "'") ||
        !parseIdent(type, "'int', 'float' or 'bool'"))
      return false;
    param.typeLoc = type.loc;
    if (type.name == "int") {
      param.type = CtorType::Int;
    } else if (type.name == "float") {
      param.type = CtorType::Float;
    } else if (type.name == "bool") {
      param.type = CtorType::Bool;
    } else {
      error(type.loc, "constructor argument '" + param.name.name +
                          "' must have type 'int', 'float' or 'bool', got '" + type.name + "'");
      return false;
    }
    if (consumeIf(Tok::equal)) {
      param.defaultValue = parseExpr();
      if (!param.defaultValue)
        return false;
    } else if (firstDefault) {
      error(param.name.loc, "constructor argument '" + param.name.name +
                                "' needs a default value: it follows '" +
                                params[*firstDefault].name.name + "', which has one");
      return false;
    }
    if (param.defaultValue && !firstDefault)
      firstDefault = params.size();
    params.push_back(std::move(param));
    if (!consumeIf(Tok::comma) && tok.isNot(Tok::r_paren)) {
      errorExpected("',' or ')' after constructor argument");
      return false;
    }
  }
  return true;
}

std::unique_ptr<MemberDecl> Parser::parseMember() {
  switch (tok.kind) {
  case Tok::kw_param:
    return parseParamDecl();
  case Tok::kw_fn:
  case Tok::kw_export:
    return parseFnDecl();
  case Tok::kw_train:
    return parseTrainDecl();
  case Tok::identifier:
    return parseInstanceDecl();
  case Tok::kw_let:
  case Tok::kw_return:
    error(tok.getLoc(), "'" + tok.spelling + "' is only allowed inside a function body");
    // Skip `let name` too: recovery would take `name = ...` for an instance.
    consume();
    if (tok.is(Tok::identifier))
      consume();
    return nullptr;
  default:
    errorExpected("'param', 'fn', 'export fn' or 'name = Module(...)'");
    return nullptr;
  }
}

std::unique_ptr<ParamDecl> Parser::parseParamDecl() {
  consume(); // 'param'
  Ident name;
  if (!parseIdent(name, "a parameter name after 'param'") ||
      !expect(Tok::colon, "':' and a type after parameter '" + name.name.str() + "'"))
    return nullptr;
  auto type = parseType();
  if (!type)
    return nullptr;
  return std::make_unique<ParamDecl>(name, std::move(*type));
}

std::unique_ptr<InstanceDecl> Parser::parseInstanceDecl() {
  Ident name = {tok.spelling, tok.getLoc()};
  consume();
  Ident moduleName;
  if (!expect(Tok::equal, "'=' after '" + name.name.str() +
                              "' (a member is 'param', 'fn' or "
                              "'name = Module(...)')"))
    return nullptr;
  // `[Block(64); 2]`: a list of instances.
  SMLoc lsquare = tok.getLoc();
  bool isList = consumeIf(Tok::l_square);
  if (!parseIdent(moduleName, isList ? "a module name after '['" : "a module name after '='"))
    return nullptr;
  if (tok.isNot(Tok::l_paren)) {
    errorExpected("'(' after module name '" + moduleName.name.str() + "'");
    return nullptr;
  }
  std::vector<ExprPtr> args;
  std::vector<KeywordArg> keywordArgs;
  unsigned depth = 0;
  if (!parseCallArgs(args, keywordArgs, depth))
    return nullptr;
  ExprPtr count;
  if (isList) {
    if (!expect(Tok::semicolon,
                "';' and the number of instances in '[" + moduleName.name.str() + "(...); n]'"))
      return nullptr;
    count = parseExpr();
    if (!count)
      return nullptr;
    if (tok.isNot(Tok::r_square)) {
      errorExpected("']' after the number of instances");
      note(lsquare, "to match this '['");
      return nullptr;
    }
    consume();
  }
  return std::make_unique<InstanceDecl>(name, moduleName, std::move(args), std::move(keywordArgs),
                                        std::move(count));
}

std::unique_ptr<FnDecl> Parser::parseFnDecl() {
  bool isExport = consumeIf(Tok::kw_export);
  Ident name;
  if (!expect(Tok::kw_fn, "'fn' after 'export'") ||
      !parseIdent(name, "a function name after 'fn'") ||
      !expect(Tok::l_paren, "'(' after function name '" + name.name.str() + "'"))
    return nullptr;
  std::vector<FnArg> args;
  if (!parseFnArgs(args) ||
      !expect(Tok::arrow, "'->' and the result type of '" + name.name.str() + "'"))
    return nullptr;
  std::vector<TypeAST> results;
  if (!parseResultTypes(results))
    return nullptr;
  std::vector<StmtPtr> body;
  SMLoc endLoc;
  if (!parseBlock(body, endLoc, name.name))
    return nullptr;
  return std::make_unique<FnDecl>(name, isExport, std::move(args), std::move(results),
                                  std::move(body), endLoc);
}

std::unique_ptr<TrainDecl> Parser::parseTrainDecl() {
  consume(); // 'train'
  Ident name;
  if (!parseIdent(name, "a train entry name after 'train'"))
    return nullptr;
  SMLoc lbrace = tok.getLoc();
  if (!expect(Tok::l_brace, "'{' after train entry '" + name.name.str() + "'"))
    return nullptr;
  auto train = std::make_unique<TrainDecl>(name);
  while (!consumeIf(Tok::r_brace)) {
    if (tok.is(Tok::eof)) {
      errorExpected("'}' at the end of train entry '" + name.name.str() + "'");
      note(lbrace, "to match this '{'");
      return nullptr;
    }
    if (!parseTrainField(*train)) {
      // Resume after the entry's closing brace.
      for (unsigned depth = 0; tok.isNot(Tok::eof); consume()) {
        if (tok.is(Tok::l_brace) || tok.is(Tok::l_paren))
          ++depth;
        else if ((tok.is(Tok::r_brace) || tok.is(Tok::r_paren)) && depth > 0)
          --depth;
        else if (tok.is(Tok::r_brace))
          break;
      }
      consumeIf(Tok::r_brace);
      return nullptr;
    }
  }
  return train;
}

/// One `field: value` line of a train entry.
bool Parser::parseTrainField(TrainDecl &train) {
  if (tok.isNot(Tok::identifier) && tok.isNot(Tok::kw_train)) {
    errorExpected("'loss', 'optimizer', 'freeze', 'train' or 'clip_grad_norm'");
    return false;
  }
  Ident field{tok.spelling, tok.getLoc()};
  consume();
  if (!expect(Tok::colon, "':' after '" + field.name.str() + "'"))
    return false;
  // A repeated setting is reported, and the last one counts.
  auto once = [&](bool seen) {
    if (seen)
      error(field.loc, "'" + field.name.str() + "' is given twice");
  };
  if (field.name == "loss") {
    once(train.loss.has_value());
    Ident loss;
    if (!parseIdent(loss, "the name of a method after 'loss:'"))
      return false;
    train.loss = loss;
    return true;
  }
  if (field.name == "optimizer") {
    once(train.optimizer.has_value());
    Ident optimizer;
    if (!parseIdent(optimizer, "sgd(...), adam(...) or adamw(...) after 'optimizer:'"))
      return false;
    train.optimizer = optimizer;
    train.optimizerArgs.clear();
    if (tok.isNot(Tok::l_paren))
      return true; // The defaults.
    std::vector<ExprPtr> positional;
    unsigned depth = 0;
    if (!parseCallArgs(positional, train.optimizerArgs, depth))
      return false;
    if (!positional.empty()) {
      error(positional.front()->getLoc(),
            "optimizer settings are named: write e.g. 'momentum = 0.9'");
      return false;
    }
    return true;
  }
  if (field.name == "freeze" || field.name == "train") {
    std::vector<StringLit> &patterns = field.name == "freeze" ? train.freeze : train.train;
    do {
      if (tok.isNot(Tok::string)) {
        errorExpected("a parameter path pattern in quotes, e.g. \"vision.*\"");
        return false;
      }
      patterns.push_back(StringLit{tok.spelling.drop_front().drop_back(), tok.getLoc()});
      consume();
    } while (consumeIf(Tok::comma));
    return true;
  }
  if (field.name == "clip_grad_norm") {
    once(train.clipGradNorm != nullptr);
    train.clipLoc = tok.getLoc();
    train.clipGradNorm = parseExpr();
    return train.clipGradNorm != nullptr;
  }
  error(field.loc, "unknown train setting '" + field.name.str() +
                       "': expected 'loss', 'optimizer', 'freeze', 'train' or 'clip_grad_norm'");
  return false;
}

/// `x: f32[B, 64], y: i64[B])` (the '(' is consumed).
bool Parser::parseFnArgs(std::vector<FnArg> &args) {
  while (!consumeIf(Tok::r_paren)) {
    Ident name;
    if (!parseIdent(name, "an argument name or ')'") ||
        !expect(Tok::colon, "':' and a type after argument '" + name.name.str() + "'"))
      return false;
    auto type = parseType();
    if (!type)
      return false;
    args.push_back(FnArg{name, std::move(*type)});
    if (!consumeIf(Tok::comma) && tok.isNot(Tok::r_paren)) {
      errorExpected("',' or ')' after argument '" + name.name.str() + "'");
      return false;
    }
  }
  return true;
}

bool Parser::parseResultTypes(std::vector<TypeAST> &results) {
  if (!consumeIf(Tok::l_paren)) {
    auto type = parseType();
    if (!type)
      return false;
    results.push_back(std::move(*type));
    return true;
  }
  do {
    auto type = parseType();
    if (!type)
      return false;
    results.push_back(std::move(*type));
  } while (consumeIf(Tok::comma) && tok.isNot(Tok::r_paren));
  return expect(Tok::r_paren, "',' or ')' after result type");
}

std::optional<TypeAST> Parser::parseType() {
  if (tok.isNot(Tok::identifier)) {
    errorExpected("a type such as 'f32[B, 64]'");
    return std::nullopt;
  }
  TypeAST type;
  type.loc = tok.getLoc();
  StringRef name = tok.spelling;
  auto element = parseElementTypeName(name);
  if (!element) {
    bool known = llvm::is_contained({"f64", "i8", "i16", "u8"}, name);
    error(tok.getLoc(), known ? "element type '" + name +
                                    "' is not supported (use f32, bf16, f16, "
                                    "i64, i32 or bool)"
                              : "unknown element type '" + name +
                                    "' (expected f32, bf16, f16, i64, i32 "
                                    "or bool)");
    return std::nullopt;
  }
  type.element = *element;
  consume();
  if (!consumeIf(Tok::l_square))
    return type;
  if (tok.is(Tok::ellipsis)) {
    type.ellipsisLoc = tok.getLoc();
    consume();
    if (!consumeIf(Tok::comma) && tok.isNot(Tok::r_square)) {
      errorExpected("',' or ']' after '...'");
      return std::nullopt;
    }
  }
  while (!consumeIf(Tok::r_square)) {
    if (tok.is(Tok::ellipsis)) {
      error(tok.getLoc(), "'...' can only be the first dim of a type");
      return std::nullopt;
    }
    ExprPtr dim = parseExpr();
    if (!dim)
      return std::nullopt;
    type.dims.push_back(std::move(dim));
    if (type.dims.size() > kMaxRank) {
      error(type.loc, "a tensor type has at most " + llvm::Twine(kMaxRank) + " dims");
      return std::nullopt;
    }
    if (!consumeIf(Tok::comma) && tok.isNot(Tok::r_square)) {
      errorExpected("',' or ']' in the dims of a type");
      return std::nullopt;
    }
  }
  return type;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::parseBlock(std::vector<StmtPtr> &body, SMLoc &endLoc, StringRef fnName) {
  SMLoc lbrace = tok.getLoc();
  std::string what = fnName.empty() ? "the 'for' loop" : ("function '" + fnName + "'").str();
  if (!expect(Tok::l_brace, fnName.empty() ? "'{' to start the body of the 'for' loop"
                                           : ("'{' to start the body of '" + fnName + "'").str()))
    return false;
  while (tok.isNot(Tok::r_brace)) {
    switch (tok.kind) {
    case Tok::eof:
    case Tok::kw_module:
    case Tok::kw_param:
    case Tok::kw_fn:
    case Tok::kw_export:
    case Tok::kw_import:
      error(tok.getLoc(), "expected '}' at end of " + what);
      note(lbrace, "to match this '{'");
      return false;
    default:
      break;
    }
    if (diags.shouldStop())
      return false;
    const char *before = tok.spelling.data();
    if (auto stmt = parseStatement()) {
      body.push_back(std::move(stmt));
      consumeIf(Tok::semicolon);
      continue;
    }
    if (tok.spelling.data() == before)
      consume();
    skipToStatement();
  }
  endLoc = tok.getLoc();
  consume(); // '}'
  return true;
}

StmtPtr Parser::parseStatement() {
  switch (tok.kind) {
  case Tok::kw_let:
    return parseLet();
  case Tok::kw_return:
    return parseReturn();
  case Tok::kw_for:
    return parseFor();
  default:
    if (atAssignment())
      return parseAssign();
    errorExpected("a statement ('let', 'for', 'return' or 'name = ...') or "
                  "'}'");
    return nullptr;
  }
}

std::unique_ptr<AssignStmtAST> Parser::parseAssign() {
  Ident name{tok.spelling, tok.getLoc()};
  consume();
  Token op = tok;
  consume(); // '=' or a compound assignment
  ExprPtr value = parseExpr();
  if (!value)
    return nullptr;
  std::optional<BinaryOp> binary;
  switch (op.kind) {
  case Tok::plus_equal:
    binary = BinaryOp::Add;
    break;
  case Tok::minus_equal:
    binary = BinaryOp::Sub;
    break;
  case Tok::star_equal:
    binary = BinaryOp::Mul;
    break;
  case Tok::slash_equal:
    binary = BinaryOp::Div;
    break;
  default:
    break;
  }
  if (binary) {
    // `x += e` is `x = x + (e)`; the '+' sits at the operator.
    llvm::SmallVector<PathPart, 1> path;
    path.emplace_back(name);
    value = checkDepth(std::make_unique<BinaryExprAST>(
        op.getLoc(), *binary, std::make_unique<NameExprAST>(std::move(path)), std::move(value)));
    if (!value)
      return nullptr;
  }
  return std::make_unique<AssignStmtAST>(name, std::move(value));
}

std::unique_ptr<ForStmtAST> Parser::parseFor() {
  SMLoc loc = tok.getLoc();
  consume(); // 'for'
  struct Guard {
    unsigned &depth;
    ~Guard() { --depth; }
  } guard{++loopNesting};
  if (loopNesting > kMaxLoopDepth) {
    error(loc, "'for' loops are nested too deeply (more than " + llvm::Twine(kMaxLoopDepth) +
                   " levels)");
    return nullptr;
  }
  Ident var;
  if (!parseIdent(var, "a loop variable after 'for'"))
    return nullptr;
  // `in` is a keyword only here, so it stays usable as a name elsewhere.
  if (tok.isNot(Tok::identifier) || tok.spelling != "in") {
    errorExpected("'in' after 'for " + var.name.str() + "'");
    return nullptr;
  }
  consume();
  if (tok.isNot(Tok::identifier)) {
    errorExpected("a list of modules after 'in'");
    return nullptr;
  }
  llvm::SmallVector<PathPart, 1> list;
  if (!parsePath(list))
    return nullptr;
  std::optional<ForStmtAST::Range> range;
  if (tok.is(Tok::l_square)) {
    // `layers[start:end]`: parsePath leaves a '[' with a ':' inside.
    range.emplace();
    range->loc = tok.getLoc();
    consume();
    if (tok.isNot(Tok::colon) && !(range->start = parseExpr()))
      return nullptr;
    if (!consumeIf(Tok::colon)) {
      errorExpected("':' in the range of the loop's list");
      return nullptr;
    }
    if (tok.isNot(Tok::r_square) && !(range->end = parseExpr()))
      return nullptr;
    if (!consumeIf(Tok::r_square)) {
      errorExpected("']' after the range");
      note(range->loc, "to match this '['");
      return nullptr;
    }
  }
  std::vector<StmtPtr> body;
  SMLoc endLoc;
  if (!parseBlock(body, endLoc, /*fnName=*/""))
    return nullptr;
  return std::make_unique<ForStmtAST>(loc, var, std::move(list), std::move(range),
                                      std::move(body));
}

std::unique_ptr<LetStmtAST> Parser::parseLet() {
  SMLoc loc = tok.getLoc();
  consume(); // 'let'
  llvm::SmallVector<Ident, 1> names;
  do {
    Ident name;
    if (!parseIdent(name, "a name after 'let'"))
      return nullptr;
    names.push_back(name);
  } while (consumeIf(Tok::comma));
  std::unique_ptr<TypeAST> type;
  if (tok.is(Tok::colon)) {
    if (names.size() != 1) {
      error(tok.getLoc(), "a type annotation needs a single name");
      return nullptr;
    }
    consume();
    auto parsed = parseType();
    if (!parsed)
      return nullptr;
    type = std::make_unique<TypeAST>(std::move(*parsed));
  }
  if (!expect(Tok::equal, "'=' after '" + names.back().name.str() + "'"))
    return nullptr;
  ExprPtr value = parseExpr();
  if (!value)
    return nullptr;
  return std::make_unique<LetStmtAST>(loc, std::move(names), std::move(type), std::move(value));
}

std::unique_ptr<ReturnStmtAST> Parser::parseReturn() {
  SMLoc loc = tok.getLoc();
  consume(); // 'return'
  std::vector<ExprPtr> values;
  do {
    ExprPtr value = parseExpr();
    if (!value)
      return nullptr;
    values.push_back(std::move(value));
  } while (consumeIf(Tok::comma));
  return std::make_unique<ReturnStmtAST>(loc, std::move(values));
}
