#!/usr/bin/env bash
# Every example's driver (inference and training) under Valgrind's memcheck
# (docs/reliability.md): no invalid access, no use of uninitialized values, no
# memory definitely lost after destroy. The libraries are compiled for
# x86-64-v3 (AVX2), since Valgrind cannot run AVX-512 code; oneDNN picks its
# kernels from the CPU Valgrind reports; test/valgrind.supp drops oneDNN's JIT
# code reading whole vectors at the ends of its own buffers. Superblocks are
# kept small (--vex-guest-max-insns): the generated kernels' long straight
# runs otherwise exhaust Valgrind's translation storage. About 5 minutes on
# 2 cores.
#
#   scripts/valgrind.sh [lit filter regex]     (default: every example driver)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KILN_BUILD_DIR:-$root/build}
filter=${1:-'e2e/(mlp|seed-[a-z]+|train-[a-z-]+)\.test'}
command -v valgrind >/dev/null || {
  echo "valgrind: not installed (apt-get install valgrind)" >&2
  exit 1
}
"$root/scripts/build.sh"
# --errors-for-leak-kinds=definite: OpenMP's and oneDNN's process-wide pools
# are still reachable at exit, which is not a leak.
memcheck="valgrind --tool=memcheck --error-exitcode=97 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --quiet \
--vex-guest-max-insns=25 --vex-guest-chase=no --suppressions=$root/test/valgrind.supp"
/usr/lib/llvm-22/bin/lit -sv "$build/test" --filter "$filter" \
  -D run="$memcheck" -D kilnc="$build/bin/kilnc --mcpu=x86-64-v3"
