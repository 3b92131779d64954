/* A strict, bounds-checked JSON parser. Recursive descent; recursion depth is
 * bounded by KILN_JSON_MAX_DEPTH so hostile input cannot exhaust the stack. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "utf8.h"

typedef struct parser {
  const unsigned char *begin;
  const unsigned char *p; /* next unread byte; always <= end */
  const unsigned char *end;
  int depth;
  kiln_json_status status; /* first failure; KILN_JSON_OK while none */
  kiln_json_error *err;
} parser;

static bool fail_at(parser *ps, const unsigned char *at, kiln_json_status status,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static bool fail_at(parser *ps, const unsigned char *at, kiln_json_status status,
                    const char *fmt, ...) {
  if (ps->status != KILN_JSON_OK)
    return false;
  ps->status = status;
  if (ps->err) {
    ps->err->offset = (size_t)(at - ps->begin);
    va_list args;
    va_start(args, fmt);
    vsnprintf(ps->err->message, sizeof ps->err->message, fmt, args);
    va_end(args);
  }
  return false;
}

#define SYNTAX(ps, at, ...) fail_at(ps, at, KILN_JSON_SYNTAX_ERROR, __VA_ARGS__)
#define NOMEM(ps) fail_at(ps, (ps)->p, KILN_JSON_OUT_OF_MEMORY, "out of memory")

static void skip_ws(parser *ps) {
  while (ps->p < ps->end &&
         (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ++ps->p;
}

/* Consumes the literal word (e.g. "true") or fails. */
static bool expect_word(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return SYNTAX(ps, ps->p, "invalid literal (expected '%s')", word);
  ps->p += n;
  return true;
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* 10^e for 0 <= e, by squaring; inf once it exceeds the double range. */
static double pow10_pos(int e) {
  double result = 1.0, base = 10.0;
  while (e > 0) {
    if (e & 1)
      result *= base;
    base *= base;
    e >>= 1;
  }
  return result;
}

/* Numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Integers that fit
 * in int64 are exact. Others are converted without strtod, whose decimal
 * point depends on the host program's locale; the result may differ from the
 * correctly rounded double in the last bits (the runtime needs none). */
static bool parse_number(parser *ps, kiln_json *out) {
  const unsigned char *start = ps->p;
  bool negative = false;
  if (ps->p < ps->end && *ps->p == '-') {
    negative = true;
    ++ps->p;
  }
  if (ps->p >= ps->end || !is_digit(*ps->p))
    return SYNTAX(ps, ps->p, "invalid number");

  uint64_t mantissa = 0;  /* first 19 significant digits */
  int dropped = 0;        /* integer digits beyond those */
  bool int_overflow = false;
  uint64_t magnitude = 0; /* the exact integer, while it fits */
  if (*ps->p == '0') {
    ++ps->p;
    if (ps->p < ps->end && is_digit(*ps->p))
      return SYNTAX(ps, ps->p, "leading zeros are not allowed");
  } else {
    int digits = 0;
    while (ps->p < ps->end && is_digit(*ps->p)) {
      unsigned d = (unsigned)(*ps->p - '0');
      if (__builtin_mul_overflow(magnitude, 10u, &magnitude) ||
          __builtin_add_overflow(magnitude, d, &magnitude))
        int_overflow = true;
      if (digits < 19) {
        mantissa = mantissa * 10u + d;
        ++digits;
      } else {
        ++dropped;
      }
      ++ps->p;
    }
  }

  int exponent = dropped; /* decimal exponent applied to mantissa */
  bool is_integer = true;
  if (ps->p < ps->end && *ps->p == '.') {
    is_integer = false;
    ++ps->p;
    if (ps->p >= ps->end || !is_digit(*ps->p))
      return SYNTAX(ps, ps->p, "expected a digit after '.'");
    while (ps->p < ps->end && is_digit(*ps->p)) {
      if (mantissa < UINT64_C(1000000000000000000)) {
        mantissa = mantissa * 10u + (unsigned)(*ps->p - '0');
        --exponent;
      }
      ++ps->p;
    }
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    is_integer = false;
    ++ps->p;
    bool exp_negative = false;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
      exp_negative = *ps->p++ == '-';
    if (ps->p >= ps->end || !is_digit(*ps->p))
      return SYNTAX(ps, ps->p, "expected a digit in the exponent");
    int e = 0;
    while (ps->p < ps->end && is_digit(*ps->p)) {
      if (e < 100000) /* saturate: beyond this the value is 0 or inf anyway */
        e = e * 10 + (*ps->p - '0');
      ++ps->p;
    }
    exponent += exp_negative ? -e : e;
  }

  out->offset = (size_t)(start - ps->begin);
  if (is_integer && !int_overflow &&
      magnitude <= (negative ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX)) {
    out->kind = KILN_JSON_INT;
    /* -2^63 has no positive int64; negate in unsigned arithmetic. */
    out->u.integer = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return true;
  }
  double value = (double)mantissa;
  if (mantissa != 0 && exponent > 0) {
    value *= pow10_pos(exponent > 400 ? 400 : exponent);
  } else if (mantissa != 0 && exponent < 0) {
    /* Two steps so 1e-320 style values degrade gracefully, not to 0 early. */
    int e = -exponent > 700 ? 700 : -exponent;
    int first = e > 300 ? 300 : e;
    value = value / pow10_pos(first) / pow10_pos(e - first);
  }
  if (value > 1.7976931348623157e308)
    return SYNTAX(ps, start, "number is out of range");
  out->kind = KILN_JSON_NUMBER;
  out->u.number = negative ? -value : value;
  return true;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at ps->p. */
static bool read_hex4(parser *ps, unsigned *out) {
  if (ps->end - ps->p < 4)
    return SYNTAX(ps, ps->p, "truncated \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; ++i) {
    int h = hex_value(ps->p[i]);
    if (h < 0)
      return SYNTAX(ps, ps->p + i, "invalid hex digit in \\u escape");
    v = v << 4 | (unsigned)h;
  }
  ps->p += 4;
  *out = v;
  return true;
}

/* A string starting at the opening quote. Two passes: find the closing quote
 * to size the buffer (decoding never grows the text), then decode and validate. */
static bool parse_string(parser *ps, char **chars, size_t *len) {
  const unsigned char *open = ps->p++;
  const unsigned char *q = ps->p;
  while (q < ps->end && *q != '"')
    q += (*q == '\\' && ps->end - q > 1) ? 2 : 1;
  if (q >= ps->end)
    return SYNTAX(ps, open, "unterminated string");

  char *buf = kiln_malloc((size_t)(q - ps->p) + 1);
  if (!buf)
    return NOMEM(ps);
  size_t n = 0;
  while (ps->p < q) {
    unsigned char c = *ps->p;
    if (c < 0x20) {
      SYNTAX(ps, ps->p, "control character in string");
      goto fail;
    }
    if (c != '\\') {
      size_t k = kiln_utf8_length(ps->p, q);
      if (k == 0) {
        SYNTAX(ps, ps->p, "invalid UTF-8 in string");
        goto fail;
      }
      memcpy(buf + n, ps->p, k);
      n += k;
      ps->p += k;
      continue;
    }
    const unsigned char *escape = ps->p++;
    switch (*ps->p++) { /* the first pass guarantees a byte after '\' */
    case '"': buf[n++] = '"'; break;
    case '\\': buf[n++] = '\\'; break;
    case '/': buf[n++] = '/'; break;
    case 'b': buf[n++] = '\b'; break;
    case 'f': buf[n++] = '\f'; break;
    case 'n': buf[n++] = '\n'; break;
    case 'r': buf[n++] = '\r'; break;
    case 't': buf[n++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (!read_hex4(ps, &cp))
        goto fail;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        SYNTAX(ps, escape, "unpaired low surrogate in \\u escape");
        goto fail;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned low;
        if (q - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
          SYNTAX(ps, escape, "unpaired high surrogate in \\u escape");
          goto fail;
        }
        ps->p += 2;
        if (!read_hex4(ps, &low))
          goto fail;
        if (low < 0xDC00 || low > 0xDFFF) {
          SYNTAX(ps, escape, "unpaired high surrogate in \\u escape");
          goto fail;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      n += kiln_utf8_encode(buf + n, cp);
      break;
    }
    default:
      SYNTAX(ps, escape, "invalid escape in string");
      goto fail;
    }
  }
  /* Escapes never run past q: q is a '"', which no escape accepts as a hex
   * digit, and the byte after a '\' before q is itself before q. */
  ++ps->p; /* closing quote */
  buf[n] = '\0';
  *chars = buf;
  *len = n;
  return true;
fail:
  kiln_free(buf);
  return false;
}

static bool parse_value(parser *ps, kiln_json *out);

/* Grows *items (element size elem) so that one more fits. */
static bool reserve(parser *ps, void **items, size_t count, size_t *cap, size_t elem) {
  if (count < *cap)
    return true;
  size_t new_cap = *cap ? *cap * 2 : 4;
  if (new_cap > SIZE_MAX / elem)
    return NOMEM(ps);
  void *grown = kiln_realloc(*items, new_cap * elem);
  if (!grown)
    return NOMEM(ps);
  *items = grown;
  *cap = new_cap;
  return true;
}

static bool parse_array(parser *ps, kiln_json *out) {
  ++ps->p; /* '[' */
  out->kind = KILN_JSON_ARRAY;
  size_t cap = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ++ps->p;
    return true;
  }
  for (;;) {
    if (!reserve(ps, (void **)&out->u.array.items, out->u.array.count, &cap,
                 sizeof(kiln_json)))
      return false;
    kiln_json *item = &out->u.array.items[out->u.array.count];
    memset(item, 0, sizeof *item);
    ++out->u.array.count; /* counted now so kiln_json_free sees a partial item */
    if (!parse_value(ps, item))
      return false;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ++ps->p;
      continue;
    }
    if (ps->p < ps->end && *ps->p == ']') {
      ++ps->p;
      return true;
    }
    return SYNTAX(ps, ps->p, "expected ',' or ']' in array");
  }
}

static int compare_members(const void *a, const void *b) {
  const kiln_json_member *x = *(const kiln_json_member *const *)a;
  const kiln_json_member *y = *(const kiln_json_member *const *)b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  if (c != 0)
    return c;
  return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Rejects duplicate keys: sort pointers to the members, compare neighbours. */
static bool check_unique_keys(parser *ps, const kiln_json *obj) {
  size_t count = obj->u.object.count;
  if (count < 2)
    return true;
  const kiln_json_member **sorted = kiln_malloc(count * sizeof *sorted);
  if (!sorted)
    return NOMEM(ps);
  for (size_t i = 0; i < count; ++i)
    sorted[i] = &obj->u.object.members[i];
  qsort(sorted, count, sizeof *sorted, compare_members);
  bool ok = true;
  for (size_t i = 1; i < count && ok; ++i)
    if (compare_members(&sorted[i - 1], &sorted[i]) == 0) {
      const kiln_json_member *dup = sorted[i] > sorted[i - 1] ? sorted[i] : sorted[i - 1];
      ok = SYNTAX(ps, ps->begin + dup->value.offset, "duplicate key \"%.60s\"", dup->key);
    }
  kiln_free(sorted);
  return ok;
}

static bool parse_object(parser *ps, kiln_json *out) {
  ++ps->p; /* '{' */
  out->kind = KILN_JSON_OBJECT;
  size_t cap = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ++ps->p;
    return true;
  }
  for (;;) {
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
      return SYNTAX(ps, ps->p, "expected a string key in object");
    if (!reserve(ps, (void **)&out->u.object.members, out->u.object.count, &cap,
                 sizeof(kiln_json_member)))
      return false;
    kiln_json_member *m = &out->u.object.members[out->u.object.count];
    memset(m, 0, sizeof *m);
    ++out->u.object.count;
    if (!parse_string(ps, &m->key, &m->key_len))
      return false;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
      return SYNTAX(ps, ps->p, "expected ':' after object key");
    ++ps->p;
    if (!parse_value(ps, &m->value))
      return false;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ++ps->p;
      continue;
    }
    if (ps->p < ps->end && *ps->p == '}') {
      ++ps->p;
      return check_unique_keys(ps, out);
    }
    return SYNTAX(ps, ps->p, "expected ',' or '}' in object");
  }
}

static bool parse_value(parser *ps, kiln_json *out) {
  skip_ws(ps);
  out->offset = (size_t)(ps->p - ps->begin);
  if (ps->p >= ps->end)
    return SYNTAX(ps, ps->p, "unexpected end of input");
  switch (*ps->p) {
  case '{':
  case '[': {
    if (ps->depth >= KILN_JSON_MAX_DEPTH)
      return SYNTAX(ps, ps->p, "nesting deeper than %d", KILN_JSON_MAX_DEPTH);
    ++ps->depth;
    bool ok = *ps->p == '{' ? parse_object(ps, out) : parse_array(ps, out);
    --ps->depth;
    return ok;
  }
  case '"':
    out->kind = KILN_JSON_STRING;
    return parse_string(ps, &out->u.string.chars, &out->u.string.len);
  case 't':
  case 'f':
    out->kind = KILN_JSON_BOOL;
    out->u.boolean = *ps->p == 't';
    return expect_word(ps, out->u.boolean ? "true" : "false");
  case 'n':
    out->kind = KILN_JSON_NULL;
    return expect_word(ps, "null");
  default:
    if (*ps->p == '-' || is_digit(*ps->p))
      return parse_number(ps, out);
    return SYNTAX(ps, ps->p, "unexpected character '%c'",
                  *ps->p >= 0x20 && *ps->p < 0x7F ? *ps->p : '?');
  }
}

kiln_json_status kiln_json_parse(const char *text, size_t len, kiln_json *out,
                                 kiln_json_error *err) {
  memset(out, 0, sizeof *out);
  if (err) {
    err->offset = 0;
    err->message[0] = '\0';
  }
  const unsigned char *begin = (const unsigned char *)(text ? text : "");
  parser ps = {begin, begin, begin + (text ? len : 0), 0, KILN_JSON_OK, err};
  if (parse_value(&ps, out)) {
    skip_ws(&ps);
    if (ps.p != ps.end)
      SYNTAX(&ps, ps.p, "unexpected data after the JSON value");
  }
  if (ps.status != KILN_JSON_OK)
    kiln_json_free(out);
  return ps.status;
}

void kiln_json_free(kiln_json *value) {
  switch (value->kind) {
  case KILN_JSON_STRING:
    kiln_free(value->u.string.chars);
    break;
  case KILN_JSON_ARRAY:
    for (size_t i = 0; i < value->u.array.count; ++i)
      kiln_json_free(&value->u.array.items[i]);
    kiln_free(value->u.array.items);
    break;
  case KILN_JSON_OBJECT:
    for (size_t i = 0; i < value->u.object.count; ++i) {
      kiln_free(value->u.object.members[i].key);
      kiln_json_free(&value->u.object.members[i].value);
    }
    kiln_free(value->u.object.members);
    break;
  default:
    break;
  }
  memset(value, 0, sizeof *value);
}

bool kiln_json_equals(const char *chars, size_t len, const char *s) {
  return strlen(s) == len && memcmp(chars, s, len) == 0;
}

const kiln_json *kiln_json_get(const kiln_json *object, const char *key) {
  if (object->kind != KILN_JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < object->u.object.count; ++i) {
    const kiln_json_member *m = &object->u.object.members[i];
    if (kiln_json_equals(m->key, m->key_len, key))
      return &m->value;
  }
  return NULL;
}
