/* Error message slots. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The slot for calls that have no model to hold their message. */
static _Thread_local char tls_text[KILN_ERROR_CAP];

void kiln_error_slot_init(kiln_error_slot *slot) {
  atomic_flag_clear(&slot->lock);
  slot->text[0] = '\0';
}

int32_t kiln_errorf(kiln_error_slot *slot, int32_t status, const char *fmt, ...) {
  /* Format outside the lock; only the copy is guarded. */
  char text[KILN_ERROR_CAP];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  if (n < 0)
    snprintf(text, sizeof text, "(error message could not be formatted)");

  if (!slot) {
    memcpy(tls_text, text, sizeof text);
    return status;
  }
  while (atomic_flag_test_and_set_explicit(&slot->lock, memory_order_acquire)) {
  }
  memcpy(slot->text, text, sizeof text);
  atomic_flag_clear_explicit(&slot->lock, memory_order_release);
  return status;
}

const char *kiln_error_text(const kiln_error_slot *slot) {
  return slot ? slot->text : tls_text;
}
