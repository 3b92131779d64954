/* Zeroed allocations for the big, long-lived buffers of a model (gradients,
 * optimizer moments, the arena, trained weights). Sizes of 2 MiB and more are
 * anonymous mappings advised to use transparent huge pages: a train step
 * writes all of them, and one fault per 2 MiB instead of per 4 KiB page
 * matters (a 135 M-parameter model's first step took 19 s here, mostly in
 * page faults). Smaller sizes come from calloc. */
#ifndef KILN_LARGE_ALLOC_H
#define KILN_LARGE_ALLOC_H

#include <stddef.h>

/* bytes zeroed bytes aligned to at least 64, or NULL. */
void *kiln_large_alloc(size_t bytes);
/* Frees p from kiln_large_alloc(bytes); p may be NULL. */
void kiln_large_free(void *p, size_t bytes);

#endif /* KILN_LARGE_ALLOC_H */
