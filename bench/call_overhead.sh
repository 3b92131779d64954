#!/usr/bin/env bash
# What a call costs beyond its arithmetic (issue 11, item 5): bench/overhead/
# call.kiln's two tiny entries timed over a million calls (best of 5 rounds,
# one pinned thread), then the heap bytes 2,000 warm calls allocate, metered by
# bench/train/heap_meter.c (preloaded). About ten seconds.
#
#   bench/call_overhead.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kilnc=${KILNC:-$root/build/bin/kilnc}
work=${KILN_OVERHEAD_DIR:-$root/build-bench/overhead}
cc=${CC:-clang-22}
mkdir -p "$work"
[[ -x "$kilnc" ]] || "$root/scripts/build.sh"
"$kilnc" "$root/bench/overhead/call.kiln" -o "$work"
"$cc" -std=c11 -O2 -I"$work" "$root/bench/overhead/overhead.c" -L"$work" -lcall -ldnnl -lgomp \
  -lm -o "$work/overhead"
"$cc" -O2 -shared -fPIC "$root/bench/train/heap_meter.c" -o "$work/libheap_meter.so"
export OMP_PROC_BIND=close OMP_PLACES=cores
LD_PRELOAD=$work/libheap_meter.so "$work/overhead" "$root/test/e2e/Inputs/ops/empty.safetensors"
