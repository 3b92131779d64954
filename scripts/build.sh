#!/usr/bin/env bash
# Configures (once) and builds Kiln into ./build with clang-22, lld and Ninja.
# KILN_BUILD_DIR picks another tree and KILN_CMAKE_ARGS adds configure options
# (scripts/fuzz.sh and hardening.sh make their sanitizer trees this way);
# arguments go to `cmake --build` (e.g. --target kilnc).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build="${KILN_BUILD_DIR:-$root/build}"
if [[ ! -f "$build/build.ninja" ]]; then
  # shellcheck disable=SC2086 # KILN_CMAKE_ARGS holds several words
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    ${KILN_CMAKE_ARGS:-}
fi
cmake --build "$build" "$@"
