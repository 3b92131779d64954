/* The target's defaults; see target.h. */
#include "target.h"

/* Not const: the bitcode must not fold it before kilnc has set it. */
int32_t kiln_target_f32_lanes = 16;
