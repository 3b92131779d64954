/* UTF-8 encoding and validation for the JSON parser's strings. */
#ifndef KILN_UTF8_H
#define KILN_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes code point cp (<= U+10FFFF, not a surrogate) to dst, which has room
 * for 4 bytes; returns the number of bytes written. */
size_t kiln_utf8_encode(char *dst, uint32_t cp);

/* Length of the valid UTF-8 sequence at p (p < end), or 0 if it is invalid
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
size_t kiln_utf8_length(const unsigned char *p, const unsigned char *end);

#ifdef __cplusplus
}
#endif

#endif /* KILN_UTF8_H */
