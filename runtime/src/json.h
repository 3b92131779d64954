/* A small, strict JSON parser (RFC 8259) for the manifest and safetensors
 * headers. It never reads past the given length (no NUL needed), validates
 * UTF-8, rejects duplicate object keys and limits nesting depth. */
#ifndef KILN_JSON_H
#define KILN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_JSON_MAX_DEPTH 64

typedef enum kiln_json_kind {
  KILN_JSON_NULL,
  KILN_JSON_BOOL,
  KILN_JSON_INT,    /* no fraction or exponent, fits in int64 */
  KILN_JSON_NUMBER, /* any other number */
  KILN_JSON_STRING,
  KILN_JSON_ARRAY,
  KILN_JSON_OBJECT
} kiln_json_kind;

typedef struct kiln_json kiln_json;
typedef struct kiln_json_member kiln_json_member;

struct kiln_json {
  kiln_json_kind kind;
  size_t offset; /* byte offset of the value in the input, for messages */
  union {
    bool boolean;
    int64_t integer;
    double number; /* close to, not always exactly, the nearest double */
    struct {
      char *chars; /* decoded UTF-8, NUL-terminated; may hold NULs (\u0000) */
      size_t len;
    } string;
    struct {
      kiln_json *items;
      size_t count;
    } array;
    struct {
      kiln_json_member *members; /* in input order */
      size_t count;
    } object;
  } u;
};

struct kiln_json_member {
  char *key; /* like string.chars */
  size_t key_len;
  kiln_json value;
};

typedef enum kiln_json_status {
  KILN_JSON_OK,
  KILN_JSON_SYNTAX_ERROR,
  KILN_JSON_OUT_OF_MEMORY
} kiln_json_status;

typedef struct kiln_json_error {
  size_t offset;     /* where parsing stopped */
  char message[128]; /* e.g. "expected ',' or ']'" */
} kiln_json_error;

/* Parses exactly one value (surrounding whitespace allowed) from text[0..len).
 * On success the caller owns *out and frees it with kiln_json_free; on failure
 * *out is a null value and err (if not NULL) says where and why. */
kiln_json_status kiln_json_parse(const char *text, size_t len, kiln_json *out,
                                 kiln_json_error *err);

/* Frees what a value owns; the value becomes null. */
void kiln_json_free(kiln_json *value);

/* The member of an object named key (NUL-terminated), or NULL. */
const kiln_json *kiln_json_get(const kiln_json *object, const char *key);

/* Whether a string value or key equals s (NUL-terminated). */
bool kiln_json_equals(const char *chars, size_t len, const char *s);

#ifdef __cplusplus
}
#endif

#endif /* KILN_JSON_H */
