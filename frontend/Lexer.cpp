//===- Lexer.cpp - Splits Kiln source into tokens -------------------------===//
#include "frontend/Lexer.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ErrorHandling.h"

using namespace kiln;

static bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }
static bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }

void Lexer::skipWhitespaceAndComments() {
  while (cur != end) {
    char c = *cur;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++cur;
    } else if (c == '/' && cur + 1 != end && cur[1] == '/') {
      while (cur != end && *cur != '\n')
        ++cur;
    } else {
      return;
    }
  }
}

Token Lexer::lex() {
  skipWhitespaceAndComments();
  const char *start = cur;
  if (cur == end)
    return make(Tok::eof, start);

  char c = *cur++;
  if (isIdentStart(c))
    return lexIdentifierOrKeyword(start);
  if (isDigit(c))
    return lexNumber(start);
  // `.5` is a number, `a.b` is a member access.
  if (c == '.' && cur != end && isDigit(*cur))
    return lexNumber(start);

  switch (c) {
  case '(':
    return make(Tok::l_paren, start);
  case ')':
    return make(Tok::r_paren, start);
  case '{':
    return make(Tok::l_brace, start);
  case '}':
    return make(Tok::r_brace, start);
  case '[':
    return make(Tok::l_square, start);
  case ']':
    return make(Tok::r_square, start);
  case ',':
    return make(Tok::comma, start);
  case ':':
    return make(Tok::colon, start);
  case ';':
    return make(Tok::semicolon, start);
  case '.':
    if (end - cur >= 2 && cur[0] == '.' && cur[1] == '.') {
      cur += 2;
      return make(Tok::ellipsis, start);
    }
    return make(Tok::dot, start);
  case '=':
    return make(Tok::equal, start);
  case '+':
    return makeCompound(Tok::plus, Tok::plus_equal, start);
  case '*':
    return makeCompound(Tok::star, Tok::star_equal, start);
  case '/':
    return makeCompound(Tok::slash, Tok::slash_equal, start);
  case '@':
    return make(Tok::at, start);
  case '"':
    return lexString(start);
  case '-':
    if (cur != end && *cur == '>') {
      ++cur;
      return make(Tok::arrow, start);
    }
    return makeCompound(Tok::minus, Tok::minus_equal, start);
  default:
    return make(Tok::unknown, start);
  }
}

Token Lexer::lexIdentifierOrKeyword(const char *start) {
  while (cur != end && isIdentChar(*cur))
    ++cur;
  llvm::StringRef text(start, cur - start);
  Tok kind = llvm::StringSwitch<Tok>(text)
                 .Case("module", Tok::kw_module)
                 .Case("param", Tok::kw_param)
                 .Case("fn", Tok::kw_fn)
                 .Case("export", Tok::kw_export)
                 .Case("train", Tok::kw_train)
                 .Case("let", Tok::kw_let)
                 .Case("return", Tok::kw_return)
                 .Case("true", Tok::kw_true)
                 .Case("false", Tok::kw_false)
                 .Case("for", Tok::kw_for)
                 .Case("import", Tok::kw_import)
                 .Default(Tok::identifier);
  return make(kind, start);
}

Token Lexer::makeCompound(Tok plain, Tok withEqual, const char *start) {
  if (cur != end && *cur == '=') {
    ++cur;
    return make(withEqual, start);
  }
  return make(plain, start);
}

/// A string runs to the next `"` on the same line; no escapes (import paths
/// need none). An unterminated one is an `unknown` token the parser reports.
Token Lexer::lexString(const char *start) {
  while (cur != end && *cur != '"' && *cur != '\n')
    ++cur;
  if (cur == end || *cur != '"') {
    cur = start + 1;
    return make(Tok::unknown, start);
  }
  ++cur;
  return make(Tok::string, start);
}

/// Integers are digits only; a '.', or an exponent makes a float. Malformed
/// spellings (`1e`, `1.2.3` is two tokens) are left to the parser's
/// conversion, which reports them with the whole spelling.
Token Lexer::lexNumber(const char *start) {
  bool isFloat = *start == '.';
  while (cur != end && isDigit(*cur))
    ++cur;
  if (!isFloat && cur != end && *cur == '.' && !(cur + 1 != end && isIdentStart(cur[1]))) {
    // `1.` and `1.5` are floats; `x.1` never reaches here.
    isFloat = true;
    ++cur;
    while (cur != end && isDigit(*cur))
      ++cur;
  }
  if (cur != end && (*cur == 'e' || *cur == 'E')) {
    isFloat = true;
    ++cur;
    if (cur != end && (*cur == '+' || *cur == '-'))
      ++cur;
    while (cur != end && isDigit(*cur))
      ++cur;
  }
  // Swallow trailing identifier characters (`12abc`) so the parser reports
  // one malformed number instead of a number and a stray identifier.
  while (cur != end && isIdentChar(*cur))
    ++cur;
  return make(isFloat ? Tok::number : Tok::integer, start);
}

llvm::StringRef kiln::describeTokenKind(Tok kind) {
  switch (kind) {
  case Tok::eof:
    return "end of file";
  case Tok::unknown:
    return "invalid character";
  case Tok::identifier:
    return "identifier";
  case Tok::integer:
    return "integer";
  case Tok::number:
    return "number";
  case Tok::kw_module:
    return "'module'";
  case Tok::kw_param:
    return "'param'";
  case Tok::kw_fn:
    return "'fn'";
  case Tok::kw_export:
    return "'export'";
  case Tok::kw_train:
    return "'train'";
  case Tok::kw_let:
    return "'let'";
  case Tok::kw_return:
    return "'return'";
  case Tok::kw_true:
    return "'true'";
  case Tok::kw_false:
    return "'false'";
  case Tok::kw_for:
    return "'for'";
  case Tok::kw_import:
    return "'import'";
  case Tok::l_paren:
    return "'('";
  case Tok::r_paren:
    return "')'";
  case Tok::l_brace:
    return "'{'";
  case Tok::r_brace:
    return "'}'";
  case Tok::l_square:
    return "'['";
  case Tok::r_square:
    return "']'";
  case Tok::comma:
    return "','";
  case Tok::colon:
    return "':'";
  case Tok::semicolon:
    return "';'";
  case Tok::dot:
    return "'.'";
  case Tok::equal:
    return "'='";
  case Tok::arrow:
    return "'->'";
  case Tok::plus:
    return "'+'";
  case Tok::minus:
    return "'-'";
  case Tok::star:
    return "'*'";
  case Tok::slash:
    return "'/'";
  case Tok::at:
    return "'@'";
  case Tok::ellipsis:
    return "'...'";
  case Tok::plus_equal:
    return "'+='";
  case Tok::minus_equal:
    return "'-='";
  case Tok::star_equal:
    return "'*='";
  case Tok::slash_equal:
    return "'/='";
  case Tok::string:
    return "string";
  }
  llvm_unreachable("unknown token kind");
}
