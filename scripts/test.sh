#!/usr/bin/env bash
# Builds everything and runs the whole test suite (lit, gtest, end-to-end) via ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
cd "${KILN_BUILD_DIR:-$root/build}"
ctest --output-on-failure "$@"
