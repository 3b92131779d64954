/* What the runtime knows of the target it is compiled for. The runtime
 * bitcode is compiled once, for a generic x86-64; kilnc links it into each
 * model and sets these values for the model's target
 * (codegen/RuntimeLinker.cpp), after which the optimizer folds every test of
 * them, so a kernel shaped for another target is dropped from the library.
 * The runtime compiled natively (its unit tests) keeps the defaults of
 * target.c, which a test may change. */
#ifndef KILN_TARGET_H
#define KILN_TARGET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* f32 lanes of the target's widest vector register: 16 with AVX-512, 8 with
 * AVX, 4 otherwise (codegen/ObjectEmitter.cpp's vectorWidth). */
extern int32_t kiln_target_f32_lanes;

#ifdef __cplusplus
}
#endif

#endif /* KILN_TARGET_H */
