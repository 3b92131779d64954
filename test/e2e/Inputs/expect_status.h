/* expect_status.h: the misuse tests' check of one generated-API call: prints
 * what was tried, the status and the message (for FileCheck), and counts a
 * status other than the expected one. Header-only, for one test program. */
#ifndef KILN_TEST_EXPECT_STATUS_H
#define KILN_TEST_EXPECT_STATUS_H

#include <stdio.h>

static int failures = 0;

static void expect(const char *what, int status, int expected, const char *message) {
  printf("%s: status %d: %s\n", what, status, message);
  if (status != expected) {
    printf("  FAILED: expected status %d\n", expected);
    ++failures;
  }
}

#endif /* KILN_TEST_EXPECT_STATUS_H */
