/* Error messages: every non-zero status leaves one. A model has its own slot;
 * calls without a model (create, invoke(NULL)) use a _Thread_local slot. */
#ifndef KILN_ERROR_H
#define KILN_ERROR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Messages longer than this are truncated. */
#define KILN_ERROR_CAP 1024

typedef struct kiln_error_slot kiln_error_slot;

/* Formats a message into slot (NULL: this thread's slot) and returns status. */
int32_t kiln_errorf(kiln_error_slot *slot, int32_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The slot's message (NULL: this thread's), "" when none; never NULL. */
const char *kiln_error_text(const kiln_error_slot *slot);

#ifndef __cplusplus
/* The definition needs <stdatomic.h>, which C++20 lacks; unit tests in C++
 * only use the functions above. */
#include <stdatomic.h>

struct kiln_error_slot {
  /* Guards text: several threads may fail on one model at once. A reader can
   * still see a message being replaced; last_error on a model shared between
   * threads reports whichever failure came last. */
  atomic_flag lock;
  char text[KILN_ERROR_CAP];
};

void kiln_error_slot_init(kiln_error_slot *slot);
#endif

#ifdef __cplusplus
}
#endif

#endif /* KILN_ERROR_H */
