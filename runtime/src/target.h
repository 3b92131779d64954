/* What the runtime knows of the target it is compiled for. The runtime
 * bitcode is compiled once, for a generic x86-64; kilnc links it into each
 * model and replaces the body of kiln_target_f32_lanes with the model's
 * target's value (codegen/RuntimeLinker.cpp), after which the optimizer folds
 * every test of it, so a kernel shaped for another target is dropped from the
 * library. The runtime compiled natively (its unit tests) answers target.c's
 * default, which a test may change. */
#ifndef KILN_TARGET_H
#define KILN_TARGET_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* f32 lanes of the target's widest vector register: 16 with AVX-512, 8 with
 * AVX, 4 otherwise (codegen/ObjectEmitter.cpp's vectorWidth). */
int32_t kiln_target_f32_lanes(void);

/* Sets what kiln_target_f32_lanes answers where kilnc has not fixed it (the
 * runtime's unit tests, to run every kernel shape on one machine). */
void kiln_target_set_f32_lanes(int32_t lanes);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TARGET_H */
