/* What the runtime knows of the target it is compiled for. The runtime
 * bitcode is compiled once, for a generic x86-64; kilnc links it into each
 * model and replaces the bodies of the functions below with the model's
 * target's values (codegen/RuntimeLinker.cpp), after which the optimizer
 * folds every test of them, so a kernel shaped for another target (or using
 * instructions it lacks) is dropped from the library. The runtime compiled
 * natively (its unit tests) answers target.c's defaults, which a test may
 * change. */
#ifndef KILN_TARGET_H
#define KILN_TARGET_H

#include <stdbool.h>
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

/* Whether the target has AVX512-BF16's dot product of bf16 pairs
 * (vdpbf16ps); without it the bf16 kernels compute the same products with f32
 * FMAs. */
bool kiln_target_has_bf16_dot(void);

/* Sets what kiln_target_has_bf16_dot answers where kilnc has not fixed it (a
 * test may turn it on only where the CPU has the instruction). */
void kiln_target_set_bf16_dot(bool has);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TARGET_H */
