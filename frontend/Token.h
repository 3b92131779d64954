//===- Token.h - Tokens of the Kiln language --------------------*- C++ -*-===//
//
// A token is a kind and the slice of the source buffer it covers; the slice's
// start is the token's location, so diagnostics point into the real buffer.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_FRONTEND_TOKEN_H
#define KILN_FRONTEND_TOKEN_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

namespace kiln {

enum class Tok {
  eof,
  unknown, // a byte that starts no token; the parser reports it

  identifier,
  integer, // 42
  number,  // 1.5, 2e-3 (anything with a '.' or an exponent)

  // Keywords.
  kw_module,
  kw_param,
  kw_fn,
  kw_export,
  kw_let,
  kw_return,
  kw_true,
  kw_false,
  kw_for,
  kw_import,
  kw_train,

  // Punctuation.
  l_paren,
  r_paren,
  l_brace,
  r_brace,
  l_square,
  r_square,
  comma,
  colon,
  semicolon,
  dot,
  equal,
  arrow, // ->
  plus,
  minus,
  star,
  slash,
  at,
  ellipsis,    // ...
  plus_equal,  // +=
  minus_equal, // -=
  star_equal,  // *=
  slash_equal, // /=
  string,      // "nn.kiln" (the spelling includes the quotes)
};

struct Token {
  Tok kind = Tok::eof;
  llvm::StringRef spelling;

  bool is(Tok k) const { return kind == k; }
  bool isNot(Tok k) const { return kind != k; }
  llvm::SMLoc getLoc() const { return llvm::SMLoc::getFromPointer(spelling.data()); }
};

/// How a token kind reads in a diagnostic: `'{'`, `identifier`, `end of file`.
llvm::StringRef describeTokenKind(Tok kind);

} // namespace kiln

#endif // KILN_FRONTEND_TOKEN_H
