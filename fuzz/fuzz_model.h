/* The model the runtime fuzz targets create: a manifest shaped like the
 * compiler's (docs/abi.md) with parameters of several dtypes and ranks, and
 * entries that check what the runtime hands them (descriptor sizes, strides,
 * alignment, the arena's promised size) and touch every byte of it, so a
 * wrong descriptor shows up under ASan. */
#ifndef KILN_FUZZ_MODEL_H
#define KILN_FUZZ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/runtime.h"

#define KILN_FUZZ_NUM_ENTRIES 3

extern const char kiln_fuzz_manifest[];
extern const kiln_entry_fn kiln_fuzz_entries[KILN_FUZZ_NUM_ENTRIES];

/* Set by the entry fuzzer: the dims the next call binds, to check against. */
extern int64_t kiln_fuzz_expected_dims[2];
/* How many entry calls the runtime made. */
extern long kiln_fuzz_entry_calls;

/* A valid weights file for the manifest (malloc'd; *size its length). */
unsigned char *kiln_fuzz_weights(size_t *size);

/* Creates the model (one thread) from a weights file holding bytes[0..size),
 * an in-memory file (memfd) so that the mapping code runs as for a real one.
 * Returns kiln_rt_create's status, or -1 when no in-memory file can be made. */
int32_t kiln_fuzz_create(const unsigned char *bytes, size_t size, kiln_model **model);

/* Prints why and aborts: the fuzzer records the input. */
_Noreturn void kiln_fuzz_fail(const char *why);

#endif /* KILN_FUZZ_MODEL_H */
