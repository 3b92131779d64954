#!/usr/bin/env bash
# Builds everything and runs the whole test suite (lit, gtest, end-to-end) via
# ctest; then, unless ctest was given arguments or KILN_HARDENING=0, the
# hardening checks (scripts/hardening.sh: fuzzing and the sanitizers,
# docs/reliability.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
(cd "${KILN_BUILD_DIR:-$root/build}" && ctest --output-on-failure "$@")
if (($# == 0)) && [[ "${KILN_HARDENING:-1}" == 1 ]]; then
  "$root/scripts/hardening.sh"
fi
