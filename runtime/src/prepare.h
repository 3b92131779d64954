/* Create-time preparation of a model's library kernels (prepare.c). */
#ifndef KILN_PREPARE_H
#define KILN_PREPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

/* Makes the primitives of the manifest's "prepare" list for `threads`
 * threads (the model's count, part of each primitive's cache key), and runs
 * each once on zeros; packs the weights (weights[p]: parameter p's data) of
 * the listed packing kernel calls. Best effort: a call that cannot be
 * prepared makes its primitive, or packs its weight, when first run. */
void kiln_prepare_kernels(const kiln_manifest *m, const void *const *weights, int32_t threads);

/* While set on this thread, kernels only prepare (oneDNN's make their
 * primitive, the packing kernels pack a weight b) and compute nothing, so
 * the descriptors of their other operands may point at no data. */
void kiln_set_prepare_only(bool on);
bool kiln_prepare_only(void);

#endif /* KILN_PREPARE_H */
