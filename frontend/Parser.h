//===- Parser.h - Recursive-descent parser for Kiln -------------*- C++ -*-===//
//
// One parseX() per production, as in MLIR's Toy tutorial: each returns the
// node, or reports an error and returns null. After an error the parser
// resynchronizes at the next member (`param`, `fn`, `name =`) or statement
// (`let`, `return`), so one mistake yields one message and the rest of the
// file is still checked. It never reads past the buffer, bounds its
// recursion, and stops after the diagnostics' error limit.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_PARSER_H
#define KILN_FRONTEND_PARSER_H

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Lexer.h"

namespace kiln {

class Parser {
public:
  Parser(Lexer &lexer, Diagnostics &diags) : lexer(lexer), diags(diags) { tok = lexer.lex(); }

  /// Parses the whole buffer. Returns the modules parsed; callers must check
  /// the diagnostics for errors before trusting the tree.
  std::unique_ptr<FileAST> parseFile();

  /// Deeper expressions are rejected (a guard for the recursive walks).
  static constexpr unsigned kMaxExprDepth = 200;
  /// Deeper `for` nests are rejected, for the same reason.
  static constexpr unsigned kMaxLoopDepth = 32;

private:
  // Productions.
  bool parseImport(FileAST &file);
  std::unique_ptr<ModuleDecl> parseModule();
  bool parseCtorParams(std::vector<CtorParam> &params);
  std::unique_ptr<MemberDecl> parseMember();
  std::unique_ptr<ParamDecl> parseParamDecl();
  std::unique_ptr<InstanceDecl> parseInstanceDecl();
  std::unique_ptr<FnDecl> parseFnDecl();
  std::unique_ptr<TrainDecl> parseTrainDecl();
  bool parseTrainField(TrainDecl &train);
  bool parseFnArgs(std::vector<FnArg> &args);
  bool parseResultTypes(std::vector<TypeAST> &results);
  std::optional<TypeAST> parseType();
  /// `{ stmt* }`: the body of function `fnName`, or of a `for` loop if
  /// `fnName` is empty.
  bool parseBlock(std::vector<StmtPtr> &body, llvm::SMLoc &endLoc, llvm::StringRef fnName);
  StmtPtr parseStatement();
  std::unique_ptr<LetStmtAST> parseLet();
  std::unique_ptr<ReturnStmtAST> parseReturn();
  std::unique_ptr<AssignStmtAST> parseAssign();
  std::unique_ptr<ForStmtAST> parseFor();
  /// `a.b[0].c`; stops before a '[' that is not followed by '.' or '('
  /// (that one subscripts a tensor).
  bool parsePath(llvm::SmallVectorImpl<PathPart> &path);
  ExprPtr parseExpr();
  ExprPtr parseBinaryRHS(int minPrecedence, ExprPtr lhs);
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr parseNameOrCall();
  ExprPtr parseNumber();
  /// `x[:, 0, 1:4]` after `base`, written as select/slice builtin calls.
  ExprPtr parseSubscripts(ExprPtr base);
  bool parseCallArgs(std::vector<ExprPtr> &args, std::vector<KeywordArg> &keywordArgs,
                     unsigned &depth);
  bool parseIdent(Ident &ident, llvm::StringRef what);

  // Token handling.
  void consume() { tok = lexer.lex(); }
  bool consumeIf(Tok kind) {
    if (tok.isNot(kind))
      return false;
    consume();
    return true;
  }
  /// The `n`-th token after `tok`, without consuming anything.
  Token peek(unsigned n = 1) const {
    Lexer copy = lexer;
    Token next = copy.lex();
    while (--n)
      next = copy.lex();
    return next;
  }
  /// Consumes `kind` or reports "expected <what>, got <token>".
  bool expect(Tok kind, llvm::StringRef what);

  // Diagnostics.
  /// Reports unless an error was already reported at `loc` (a cascade).
  void error(llvm::SMLoc loc, const llvm::Twine &message);
  /// A note for the last error; dropped with it.
  void note(llvm::SMLoc loc, const llvm::Twine &message);
  /// "expected <what>, got <current token>" (or the invalid character).
  void errorExpected(llvm::StringRef what);
  /// Checks a freshly built node's depth; reports and returns null if deep.
  ExprPtr checkDepth(ExprPtr expr);

  // Recovery: skip to a token where parsing can resume.
  void skipToMember();
  void skipToStatement();
  void skipToModule();
  /// `param`, `fn`, `export` or `name =`, `ahead` tokens after `tok`.
  bool atMemberStart(unsigned ahead = 0) const;
  /// `name =` or `name +=` (and -= *= /=): an assignment statement.
  bool atAssignment() const;

  Lexer &lexer;
  Diagnostics &diags;
  Token tok;
  /// Current recursion depth of parseExpr / parseUnary.
  unsigned nesting = 0;
  /// Current depth of nested `for` loops.
  unsigned loopNesting = 0;
  /// Where the last syntax error was reported: a second error at the same
  /// token is a cascade, not news.
  const char *lastErrorPos = nullptr;
  bool suppressedLastError = false;
};

} // namespace kiln

#endif // KILN_FRONTEND_PARSER_H
