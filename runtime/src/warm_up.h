/* What create does so that a model's first call costs about what the next
 * ones do (issue 11: measured on CLIP ViT-B/32 at B = 1, the first call took
 * 2-4.6x a steady one, nearly all of it page faults): the weights' pages are
 * read in and mapped, and the arena of the entries whose size does not depend
 * on symbolic dims is allocated and written once. oneDNN's primitives for
 * static shapes are made beside it (prepare.h). */
#ifndef KILN_WARM_UP_H
#define KILN_WARM_UP_H

#include "model.h"

/* Best effort: an arena that cannot be had now is left to the first call,
 * which reports the failure then. */
void kiln_warm_up(kiln_model *m);

#endif /* KILN_WARM_UP_H */
