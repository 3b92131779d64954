//===- Lexer.h - Splits Kiln source into tokens -----------------*- C++ -*-===//
//
// A hand-written lexer with one character of lookahead, in the style of
// MLIR's Toy tutorial. It never fails: a byte that starts no token becomes a
// Tok::unknown token, and the parser decides whether (and how) to report it,
// so that skipping over garbage during error recovery stays quiet.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_LEXER_H
#define KILN_FRONTEND_LEXER_H

#include "frontend/Token.h"

namespace kiln {

class Lexer {
public:
  /// Lexes [buffer.begin(), buffer.end()); embedded NUL bytes are ordinary
  /// (unknown) bytes, not terminators. A UTF-8 byte order mark is skipped.
  explicit Lexer(llvm::StringRef buffer) : cur(buffer.begin()), end(buffer.end()) {
    if (buffer.starts_with("\xEF\xBB\xBF"))
      cur += 3;
  }

  /// Returns the next token; Tok::eof forever once the buffer is consumed.
  Token lex();

private:
  Token make(Tok kind, const char *start) const {
    return Token{kind, llvm::StringRef(start, cur - start)};
  }
  void skipWhitespaceAndComments();
  Token lexIdentifierOrKeyword(const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  /// `plain`, or `withEqual` when an '=' follows (`+` vs `+=`).
  Token makeCompound(Tok plain, Tok withEqual, const char *start);

  const char *cur;
  const char *end;
};

} // namespace kiln

#endif // KILN_FRONTEND_LEXER_H
