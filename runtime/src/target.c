/* The target's defaults; see target.h. */
#include "target.h"

static int32_t f32_lanes = 16;

int32_t kiln_target_f32_lanes(void) { return f32_lanes; }

void kiln_target_set_f32_lanes(int32_t lanes) { f32_lanes = lanes; }

static bool bf16_dot = false;

bool kiln_target_has_bf16_dot(void) { return bf16_dot; }

void kiln_target_set_bf16_dot(bool has) { bf16_dot = has; }
