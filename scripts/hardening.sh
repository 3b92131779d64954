#!/usr/bin/env bash
# The hardening checks (docs/reliability.md), run by scripts/test.sh after the
# test suite and by CI:
#  1. the fuzz targets (scripts/fuzz.sh: ASan + UBSan in build-fuzz/), each
#     starting from its committed corpus, so every input that ever failed runs
#     again, then mutating for KILN_FUZZ_SECONDS (default 30) per target;
#  2. the runtime's unit tests under ASan + UBSan;
#  3. end-to-end tests whose generated libraries link that sanitized runtime
#     (the main build's kilnc, --runtime-bitcode) and whose drivers are built
#     with the same sanitizers;
#  4. the concurrency test with the runtime under ThreadSanitizer
#     (build-tsan/, only the runtime's bitcode is built there).
# Set KILN_HARDENING_TSAN=0 to skip 4.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
main_build=${KILN_BUILD_DIR:-$root/build}
fuzz_build=${KILN_FUZZ_BUILD_DIR:-$root/build-fuzz}
tsan_build=${KILN_TSAN_BUILD_DIR:-$root/build-tsan}
lit=/usr/lib/llvm-22/bin/lit

echo "hardening: 1. fuzz targets"
"$root/scripts/fuzz.sh" --time="${KILN_FUZZ_SECONDS:-30}"

echo "hardening: 2. runtime unit tests under ASan + UBSan"
cmake --build "$fuzz_build" --target KilnRuntimeTests kiln_runtime_bitcode
ASAN_OPTIONS=detect_leaks=1 "$fuzz_build/test/runtime/KilnRuntimeTests" \
  --gtest_filter='-ParallelEnv.*' --gtest_brief=1

# The end-to-end tests that exercise the runtime most: the C API's checks,
# weights loading, training, oneDNN and fused kernels, threads.
e2e='e2e/(api-misuse|bad-weights|mlp|train-mlp|seed-clip|fused-kernels|save-weights|prepare|concurrency)\.test'
echo "hardening: 3. end-to-end tests with the runtime under ASan + UBSan"
"$lit" -s "$fuzz_build/test" --filter "$e2e" \
  -D kilnc="$main_build/bin/kilnc --runtime-bitcode=$fuzz_build/runtime/kiln_runtime.bc"

if [[ "${KILN_HARDENING_TSAN:-1}" == 1 ]]; then
  echo "hardening: 4. the concurrency test with the runtime under ThreadSanitizer"
  KILN_BUILD_DIR="$tsan_build" KILN_CMAKE_ARGS="-DKILN_SANITIZE=thread" \
    "$root/scripts/build.sh" --target kiln_runtime_bitcode
  "$lit" -s "$tsan_build/test" --filter 'e2e/concurrency\.test' \
    -D kilnc="$main_build/bin/kilnc --runtime-bitcode=$tsan_build/runtime/kiln_runtime.bc"
fi
echo "hardening: passed"
