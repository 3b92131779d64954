/* The per-model state of train entries (docs/abi.md, "Training"). C only. */
#ifndef KILN_TRAIN_H
#define KILN_TRAIN_H

#include <stdint.h>

typedef struct kiln_model kiln_model;
typedef struct kiln_train_state kiln_train_state;

/* Allocates the optimizer state and gradient buffer of every train entry of
 * the model (m->train_states); KILN_OUT_OF_MEMORY with a message otherwise. */
int32_t kiln_train_states_create(kiln_model *m);
void kiln_train_states_free(kiln_model *m);

#endif /* KILN_TRAIN_H */
