/* Create-time preparation of a model's library kernels (prepare.c). */
#ifndef KILN_PREPARE_H
#define KILN_PREPARE_H

#include <stdint.h>

#include "manifest.h"

/* Makes the primitives of the manifest's "prepare" list for `threads`
 * threads (the model's count, part of each primitive's cache key), and runs
 * each once on zeros. Best effort: a call that cannot be prepared makes its
 * primitive when first run. */
void kiln_prepare_kernels(const kiln_manifest *m, int32_t threads);

#endif /* KILN_PREPARE_H */
